// The scalar reference of decode attention over an F16 KV cache (cpu/ops.h), and the dispatch
// to the active level's kernels. The order of every operation is the reference engine's:
// its F16 dot product on 512-bit vectors (64 elements per step in four 16-lane accumulators)
// and its F16 accumulator, rounded after every scale and every multiply-add.
#include <cmath>

#include "core/half.h"
#include "cpu/isa.h"
#include "cpu/ops.h"

namespace ember::cpu {

namespace {

constexpr int kLanes = 16;

// Sum of 16 floats in the order of a 512-bit horizontal add: halves, quarters, then pairs.
float sum16(const float *x) {
    float h8[8], h4[4];
    for (int i = 0; i < 8; ++i) h8[i] = x[i] + x[i + 8];
    for (int i = 0; i < 4; ++i) h4[i] = h8[i] + h8[i + 4];
    return (h4[0] + h4[2]) + (h4[1] + h4[3]);
}

float round_to_half(float x) { return fp16_to_fp32(fp32_to_fp16(x)); }

}  // namespace

void half_cells_dot_scalar(const float *q, int64_t n_q, const uint16_t *k, int64_t stride, int64_t n,
                           const int32_t *cells, int64_t n_cells, float *dots) {
    const int64_t n64 = n - n % 64;
    for (int64_t h = 0; h < n_q; ++h)
        for (int64_t j = 0; j < n_cells; ++j) {
            const float *qh = q + h * n;
            const uint16_t *row = k + cells[j] * stride;
            float acc[4][kLanes] = {};
            for (int64_t i = 0; i < n64; i += 64)
                for (int a = 0; a < 4; ++a)
                    for (int l = 0; l < kLanes; ++l) {
                        const int64_t e = i + kLanes * a + l;
                        acc[a][l] = std::fma(qh[e], fp16_to_fp32(row[e]), acc[a][l]);
                    }
            for (int l = 0; l < kLanes; ++l) {
                acc[0][l] += acc[2][l];
                acc[1][l] += acc[3][l];
                acc[0][l] += acc[1][l];
            }
            // The rest one product at a time, in double (products of two halves are exact floats).
            double sum = n64 > 0 ? sum16(acc[0]) : 0.0f;
            for (int64_t i = n64; i < n; ++i) sum += static_cast<double>(qh[i] * fp16_to_fp32(row[i]));
            dots[h * n_cells + j] = static_cast<float>(sum);
        }
}

void half_cells_mad_scalar(const uint16_t *v, int64_t stride, int64_t n, const int32_t *cells, const float *rescale,
                           const float *weight, int64_t n_cells, int64_t n_q, float *acc) {
    for (int64_t h = 0; h < n_q; ++h)
        for (int64_t j = 0; j < n_cells; ++j) {
            const uint16_t *row = v + cells[j] * stride;
            const float r = rescale[h * n_cells + j], w = weight[h * n_cells + j];
            float *a = acc + h * n;
            if (r != 1.0f)
                for (int64_t i = 0; i < n; ++i) a[i] = round_to_half(a[i] * r);
            for (int64_t i = 0; i < n; ++i) a[i] = round_to_half(std::fma(fp16_to_fp32(row[i]), w, a[i]));
        }
}

void half_cells_dot(const float *q, int64_t n_q, const uint16_t *k, int64_t stride, int64_t n, const int32_t *cells,
                    int64_t n_cells, float *dots) {
    const HalfCellsDotFn f = isa_kernels(active_isa_level()).half_cells_dot;
    (f ? f : half_cells_dot_scalar)(q, n_q, k, stride, n, cells, n_cells, dots);
}

void half_cells_mad(const uint16_t *v, int64_t stride, int64_t n, const int32_t *cells, const float *rescale,
                    const float *weight, int64_t n_cells, int64_t n_q, float *acc) {
    const HalfCellsMadFn f = isa_kernels(active_isa_level()).half_cells_mad;
    (f ? f : half_cells_mad_scalar)(v, stride, n, cells, rescale, weight, n_cells, n_q, acc);
}

}  // namespace ember::cpu
