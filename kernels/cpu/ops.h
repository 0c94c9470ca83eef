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
// at every level), for the n_q query heads that share one KV head (grouped-query attention:
// each cached row is read once for all of them). Cell c's row of the KV head starts at
// k + c * stride (or v + ...) and has n elements; cells lists the n_cells visible cells in the
// order they are visited. Per head h, arrays are [h * n_cells + j] (dots, rescale, weight) or
// [h * n + i] (q, acc).
// half_cells_dot: dots[h][j] = q[h] . k_row(cells[j]), q holding values representable in F16.
void half_cells_dot(const float *q, int64_t n_q, const uint16_t *k, int64_t stride, int64_t n, const int32_t *cells,
                    int64_t n_cells, float *dots);
// half_cells_mad: the F16 accumulators' online-softmax update, per head h, for j = 0 .. n_cells-1:
//     if rescale[h][j] != 1: acc[h] = F16(acc[h] * rescale[h][j]);
//     acc[h] = F16(v_row(cells[j]) * weight[h][j] + acc[h])   (a fused multiply-add)
// (acc holds F16 values as floats).
void half_cells_mad(const uint16_t *v, int64_t stride, int64_t n, const int32_t *cells, const float *rescale,
                    const float *weight, int64_t n_cells, int64_t n_q, float *acc);
// The scalar references of the two.
void half_cells_dot_scalar(const float *q, int64_t n_q, const uint16_t *k, int64_t stride, int64_t n,
                           const int32_t *cells, int64_t n_cells, float *dots);
void half_cells_mad_scalar(const uint16_t *v, int64_t stride, int64_t n, const int32_t *cells, const float *rescale,
                           const float *weight, int64_t n_cells, int64_t n_q, float *acc);

}  // namespace ember::cpu
