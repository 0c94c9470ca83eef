// MXFP4: see quant_blocks.h for the layout; the reference quantizer and dot product.
#include <algorithm>
#include <cmath>

#include "core/half.h"
#include "cpu/quant_blocks.h"
#include "cpu/scalar/scalar_kernels.h"

namespace ember::cpu {

const int8_t kMxfp4Values[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

namespace {

// The code whose value times d is nearest x; the lowest code wins a tie.
uint8_t nearest_code(float x, float d) {
    uint8_t best = 0;
    float best_err = std::fabs(static_cast<float>(kMxfp4Values[0]) * d - x);
    for (uint8_t i = 1; i < 16; ++i) {
        const float err = std::fabs(static_cast<float>(kMxfp4Values[i]) * d - x);
        if (err < best_err) {
            best = i;
            best_err = err;
        }
    }
    return best;
}

}  // namespace

void dequantize_row_mxfp4(const void *src, float *dst, int64_t n) {
    const block_mxfp4 *b = static_cast<const block_mxfp4 *>(src);
    for (int64_t i = 0; i < n / QK_MXFP4; ++i, dst += QK_MXFP4) {
        const float d = e8m0_to_fp32_half(b[i].e);
        for (int j = 0; j < 16; ++j) {
            dst[j] = d * static_cast<float>(kMxfp4Values[b[i].qs[j] & 0xF]);
            dst[j + 16] = d * static_cast<float>(kMxfp4Values[b[i].qs[j] >> 4]);
        }
    }
}

void quantize_row_mxfp4(const float *src, void *dst, int64_t n, const float *) {
    block_mxfp4 *b = static_cast<block_mxfp4 *>(dst);
    for (int64_t i = 0; i < n / QK_MXFP4; ++i) {
        const float *x = src + i * QK_MXFP4;
        float amax = 0.0f;
        for (int j = 0; j < QK_MXFP4; ++j) amax = std::max(amax, std::fabs(x[j]));
        // floor(log2(amax)) - 2 + 127, kept in the byte's range for extreme inputs.
        const float e = amax > 0.0f ? std::floor(std::log2(amax)) - 2.0f + 127.0f : 0.0f;
        b[i].e = static_cast<uint8_t>(std::min(255.0f, std::max(0.0f, e)));
        const float d = e8m0_to_fp32_half(b[i].e);
        for (int j = 0; j < 16; ++j)
            b[i].qs[j] = static_cast<uint8_t>(nearest_code(x[j], d) | (nearest_code(x[j + 16], d) << 4));
    }
}

void vec_dot_mxfp4_q8_0(int64_t n, float *out, const void *weights_row, const void *activations) {
    const block_mxfp4 *w = static_cast<const block_mxfp4 *>(weights_row);
    const block_q8_0 *a = static_cast<const block_q8_0 *>(activations);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_MXFP4; ++i) {
        int isum = 0;
        for (int j = 0; j < 16; ++j)
            isum += kMxfp4Values[w[i].qs[j] & 0xF] * a[i].qs[j] + kMxfp4Values[w[i].qs[j] >> 4] * a[i].qs[j + 16];
        sum += (fp16_to_fp32(a[i].d) * e8m0_to_fp32_half(w[i].e)) * static_cast<float>(isum);
    }
    *out = sum;
}

}  // namespace ember::cpu
