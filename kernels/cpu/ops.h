// The float row kernels the runtime calls outside the forward pass's exact float ops (those are
// in src/model/float_ops.h): the residual and bias add, the half-precision row conversions of
// the KV cache, and the inner loops of decode attention over an F16 cache.
#pragma once

#include <cstdint>

namespace ember::cpu {

// out = a + b, element by element (out may alias a or b).
void add(const float *a, const float *b, float *out, int64_t n);

// Conversions through the active ISA level (bit-exact IEEE half).
void fp16_to_fp32_row(const uint16_t *src, float *dst, int64_t n);
void fp32_to_fp16_row(const float *src, uint16_t *dst, int64_t n);

// Decode attention over an F16 KV cache, in the reference engine's order (bit for bit the same
// at every level). Cell c's row of one KV head starts at k + c * stride (or v + ...) and has n
// elements; cells lists the n_cells visible cells in the order they are visited.
// half_cells_dot: dots[j] = q . k_row(cells[j]), q holding values representable in F16.
void half_cells_dot(const float *q, const uint16_t *k, int64_t stride, int64_t n, const int32_t *cells,
                    int64_t n_cells, float *dots);
// half_cells_mad: the F16 accumulator's online-softmax update, for j = 0 .. n_cells-1:
//     if rescale[j] != 1: acc = F16(acc * rescale[j]);   acc = F16(v_row(cells[j]) * weight[j] + acc)
// (a fused multiply-add; acc holds F16 values as floats).
void half_cells_mad(const uint16_t *v, int64_t stride, int64_t n, const int32_t *cells, const float *rescale,
                    const float *weight, int64_t n_cells, float *acc);
// The scalar references of the two.
void half_cells_dot_scalar(const float *q, const uint16_t *k, int64_t stride, int64_t n, const int32_t *cells,
                           int64_t n_cells, float *dots);
void half_cells_mad_scalar(const uint16_t *v, int64_t stride, int64_t n, const int32_t *cells, const float *rescale,
                           const float *weight, int64_t n_cells, float *acc);

}  // namespace ember::cpu
