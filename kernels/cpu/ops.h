// The float row kernels the runtime calls outside the forward pass's exact float ops (those are
// in src/model/float_ops.h): the residual and bias add, and the half-precision row conversions
// of the KV cache.
#pragma once

#include <cstdint>

namespace ember::cpu {

// out = a + b, element by element (out may alias a or b).
void add(const float *a, const float *b, float *out, int64_t n);

// Conversions through the active ISA level (bit-exact IEEE half).
void fp16_to_fp32_row(const uint16_t *src, float *dst, int64_t n);
void fp32_to_fp16_row(const float *src, uint16_t *dst, int64_t n);

}  // namespace ember::cpu
