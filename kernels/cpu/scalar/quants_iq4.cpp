// IQ4_NL and IQ4_XS: 4-bit codes index a fixed non-uniform table of 16 levels (denser near
// zero, matching the bell shape of weights). IQ4_NL: blocks of 32 with one half scale.
// IQ4_XS: super-blocks of 256 = 8 sub-blocks of 32, each with a 6-bit signed scale relative to
// the half super-scale (low 4 bits in scales_l, high 2 bits in scales_h). Codes are packed as
// in Q4_0: byte j of a 32-block holds element j (low nibble) and element j + 16 (high nibble).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "cpu/quant_blocks.h"
#include "cpu/scalar/scalar_kernels.h"
#include "cpu/scalar/scale_search.h"

namespace ember::cpu {

const int8_t kIq4Levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

namespace {

void pack_codes32(const uint8_t *q, uint8_t *qs) {
    for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>(q[j] | (q[j + 16] << 4));
}

int dot_codes32(const uint8_t *qs, const int8_t *a) {
    int sum = 0;
    for (int j = 0; j < 16; ++j) sum += kIq4Levels[qs[j] & 0xF] * a[j] + kIq4Levels[qs[j] >> 4] * a[j + 16];
    return sum;
}

// Weighted squared error of 32 values coded against levels * ds, and the codes.
double code_block(const float *x, const float *w, float ds, uint8_t *q) {
    const float inv = ds != 0.0f ? 1.0f / ds : 0.0f;
    double err = 0.0;
    for (int i = 0; i < 32; ++i) {
        const int k = nearest_level(kIq4Levels, x[i] * inv);
        q[i] = static_cast<uint8_t>(k);
        const double e = static_cast<double>(ds * static_cast<float>(kIq4Levels[k])) - x[i];
        err += w[i] * e * e;
    }
    return err;
}

void weights(const float *importance, int64_t offset, int n, float *w) {
    for (int i = 0; i < n; ++i) w[i] = importance ? std::max(importance[offset + i], 1e-12f) : 1.0f;
}

}  // namespace

// ---- IQ4_NL ----

void dequantize_row_iq4_nl(const void *src, float *dst, int64_t n) {
    const block_iq4_nl *b = static_cast<const block_iq4_nl *>(src);
    for (int64_t i = 0; i < n / QK4_NL; ++i, dst += QK4_NL) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < 16; ++j) {
            dst[j] = d * static_cast<float>(kIq4Levels[b[i].qs[j] & 0xF]);
            dst[j + 16] = d * static_cast<float>(kIq4Levels[b[i].qs[j] >> 4]);
        }
    }
}

void quantize_row_iq4_nl(const float *src, void *dst, int64_t n, const float *importance) {
    block_iq4_nl *b = static_cast<block_iq4_nl *>(dst);
    float w[QK4_NL];
    uint8_t q[QK4_NL], trial[QK4_NL];
    for (int64_t i = 0; i < n / QK4_NL; ++i) {
        const float *x = src + i * QK4_NL;
        weights(importance, i * QK4_NL, QK4_NL, w);
        const float d = fit_scale_levels(QK4_NL, x, w, kIq4Levels, q);
        // The scale is stored as half: try the neighbouring halves too and keep the best.
        const uint16_t h0 = fp32_to_fp16(d);
        double best = -1.0;
        b[i].d = h0;
        for (int k = -3; k <= 3; ++k) {
            const uint16_t h = static_cast<uint16_t>(h0 + k);
            if (((h ^ h0) & 0x8000) || (h & 0x7c00) == 0x7c00) continue;  // keep sign, stay finite
            const double err = code_block(x, w, fp16_to_fp32(h), trial);
            if (best < 0.0 || err < best) {
                best = err;
                b[i].d = h;
                std::copy(trial, trial + QK4_NL, q);
            }
        }
        pack_codes32(q, b[i].qs);
    }
}

void vec_dot_iq4_nl_q8_0(int64_t n, float *out, const void *weights_row, const void *activations) {
    const block_iq4_nl *w = static_cast<const block_iq4_nl *>(weights_row);
    const block_q8_0 *a = static_cast<const block_q8_0 *>(activations);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK4_NL; ++i) {
        const int isum = dot_codes32(w[i].qs, a[i].qs);
        sum += static_cast<float>(isum) * (fp16_to_fp32(w[i].d) * fp16_to_fp32(a[i].d));
    }
    *out = sum;
}

// ---- IQ4_XS ----

namespace {
int iq4_xs_scale(const block_iq4_xs &b, int ib) {  // signed, in [-32, 31]
    const int low = (b.scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF;
    const int high = (b.scales_h >> (2 * ib)) & 3;
    return (low | (high << 4)) - 32;
}
}  // namespace

void dequantize_row_iq4_xs(const void *src, float *dst, int64_t n) {
    const block_iq4_xs *b = static_cast<const block_iq4_xs *>(src);
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = fp16_to_fp32(b[i].d);
        for (int ib = 0; ib < 8; ++ib, dst += 32) {
            const float dl = d * static_cast<float>(iq4_xs_scale(b[i], ib));
            const uint8_t *qs = b[i].qs + 16 * ib;
            for (int j = 0; j < 16; ++j) {
                dst[j] = dl * static_cast<float>(kIq4Levels[qs[j] & 0xF]);
                dst[j + 16] = dl * static_cast<float>(kIq4Levels[qs[j] >> 4]);
            }
        }
    }
}

void quantize_row_iq4_xs(const float *src, void *dst, int64_t n, const float *importance) {
    block_iq4_xs *b = static_cast<block_iq4_xs *>(dst);
    float w[QK_K], fit_d[8];
    uint8_t q[QK_K], trial[32];
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float *x = src + i * QK_K;
        weights(importance, i * QK_K, QK_K, w);
        float amax = 0.0f, max = 0.0f;
        for (int ib = 0; ib < 8; ++ib) {
            fit_d[ib] = fit_scale_levels(32, x + 32 * ib, w + 32 * ib, kIq4Levels, q + 32 * ib);
            if (std::fabs(fit_d[ib]) > amax) {
                amax = std::fabs(fit_d[ib]);
                max = fit_d[ib];
            }
        }
        // The largest sub-scale takes the code with room (-32), the rest round near it.
        b[i].d = fp32_to_fp16(max / -32.0f);
        const float d = fp16_to_fp32(b[i].d);
        b[i].scales_h = 0;
        std::memset(b[i].scales_l, 0, sizeof b[i].scales_l);
        for (int ib = 0; ib < 8; ++ib) {
            const int s0 = d != 0.0f ? std::clamp(round_to_int(fit_d[ib] / d), -32, 31) : 0;
            double best = -1.0;
            int best_s = s0;
            for (int s = std::max(-32, s0 - 2); s <= std::min(31, s0 + 2); ++s) {
                const double err = code_block(x + 32 * ib, w + 32 * ib, d * static_cast<float>(s), trial);
                if (best < 0.0 || err < best) {
                    best = err;
                    best_s = s;
                    std::copy(trial, trial + 32, q + 32 * ib);
                }
            }
            const int l = best_s + 32;
            b[i].scales_l[ib / 2] = static_cast<uint8_t>(b[i].scales_l[ib / 2] | ((l & 0xF) << (4 * (ib % 2))));
            b[i].scales_h = static_cast<uint16_t>(b[i].scales_h | ((l >> 4) << (2 * ib)));
            pack_codes32(q + 32 * ib, b[i].qs + 16 * ib);
        }
    }
}

void vec_dot_iq4_xs_q8_k(int64_t n, float *out, const void *weights_row, const void *activations) {
    const block_iq4_xs *w = static_cast<const block_iq4_xs *>(weights_row);
    const block_q8_K *a = static_cast<const block_q8_K *>(activations);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        int isum = 0;
        for (int ib = 0; ib < 8; ++ib) isum += iq4_xs_scale(w[i], ib) * dot_codes32(w[i].qs + 16 * ib, a[i].qs + 32 * ib);
        sum += fp16_to_fp32(w[i].d) * a[i].d * static_cast<float>(isum);
    }
    *out = sum;
}

}  // namespace ember::cpu
