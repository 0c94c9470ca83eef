// F32, F16 and BF16 rows: conversions and dot products. The dots accumulate in double, so the
// result depends only on the (exact) products, not on the summation order of a SIMD path.
#include <cstring>

#include "core/half.h"
#include "cpu/scalar/scalar_kernels.h"

namespace ember::cpu {

void dequantize_row_f32(const void *src, float *dst, int64_t n) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

void quantize_row_f32(const float *src, void *dst, int64_t n, const float * /*importance*/) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

void vec_dot_f32_f32(int64_t n, float *out, const void *weights, const void *activations) {
    const float *w = static_cast<const float *>(weights);
    const float *a = static_cast<const float *>(activations);
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(w[i] * a[i]);
    *out = static_cast<float>(sum);
}

void dequantize_row_f16(const void *src, float *dst, int64_t n) {
    const uint16_t *h = static_cast<const uint16_t *>(src);
    for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(h[i]);
}

void quantize_row_f16(const float *src, void *dst, int64_t n, const float * /*importance*/) {
    uint16_t *h = static_cast<uint16_t *>(dst);
    for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_fp16(src[i]);
}

void vec_dot_f16_f16(int64_t n, float *out, const void *weights, const void *activations) {
    const uint16_t *w = static_cast<const uint16_t *>(weights);
    const uint16_t *a = static_cast<const uint16_t *>(activations);
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(fp16_to_fp32(w[i]) * fp16_to_fp32(a[i]));
    *out = static_cast<float>(sum);
}

void dequantize_row_bf16(const void *src, float *dst, int64_t n) {
    const uint16_t *h = static_cast<const uint16_t *>(src);
    for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(h[i]);
}

void quantize_row_bf16(const float *src, void *dst, int64_t n, const float * /*importance*/) {
    uint16_t *h = static_cast<uint16_t *>(dst);
    for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_bf16(src[i]);
}

void vec_dot_bf16_bf16(int64_t n, float *out, const void *weights, const void *activations) {
    const uint16_t *w = static_cast<const uint16_t *>(weights);
    const uint16_t *a = static_cast<const uint16_t *>(activations);
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(bf16_to_fp32(w[i]) * bf16_to_fp32(a[i]));
    *out = static_cast<float>(sum);
}

}  // namespace ember::cpu
