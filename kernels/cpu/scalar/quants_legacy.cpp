// The 32-element block types Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and the activation type Q8_1.
// Nibble layout of every 4/5-bit block: byte j holds element j in its low nibble and element
// j + 16 in its high nibble; Q5 blocks keep the fifth bit of element j in bit j of qh (a
// little-endian uint32).
//
// The quantizers compute the scale in float, quantize with that unrounded scale, and store it
// as half: this is llama.cpp's reference arithmetic, so the bytes match its files.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "cpu/quant_blocks.h"
#include "cpu/scalar/scalar_kernels.h"

namespace ember::cpu {

namespace {

// The element of largest magnitude, with its sign (the first one on ties).
float signed_absmax(const float *x, int n) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; ++j) {
        if (std::fabs(x[j]) > amax) {
            amax = std::fabs(x[j]);
            max = x[j];
        }
    }
    return max;
}

void min_max(const float *x, int n, float *lo, float *hi) {
    float mn = x[0], mx = x[0];
    for (int j = 1; j < n; ++j) {
        mn = std::min(mn, x[j]);
        mx = std::max(mx, x[j]);
    }
    *lo = mn;
    *hi = mx;
}

uint32_t load_u32(const uint8_t *p) {
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

void store_u32(uint8_t *p, uint32_t v) { std::memcpy(p, &v, sizeof v); }

// a * b rounded to float before anything is added to it. llama.cpp's codes are
// trunc(x * id + 0.5-ish) with the product rounded first; on FMA targets (AArch64) the compiler
// would otherwise fuse the multiply-add, round once, and flip codes that sit on a boundary.
float rounded_product(float a, float b) {
    volatile float p = a * b;
    return p;
}

// Sum of w_j * a_j over one 32-element block whose 4-bit codes are packed as described above;
// `offset` is subtracted from each code (8 for Q4_0, 0 for Q4_1).
int dot_nibbles(const uint8_t *qs, const int8_t *a, int offset) {
    int sum = 0;
    for (int j = 0; j < 16; ++j) {
        sum += ((qs[j] & 0xF) - offset) * a[j];
        sum += ((qs[j] >> 4) - offset) * a[j + 16];
    }
    return sum;
}

// Same for 5-bit codes (low nibbles in qs, fifth bits in qh).
int dot_5bit(const uint8_t *qs, uint32_t qh, const int8_t *a, int offset) {
    int sum = 0;
    for (int j = 0; j < 16; ++j) {
        const int lo = (qs[j] & 0xF) | static_cast<int>(((qh >> j) & 1u) << 4);
        const int hi = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
        sum += (lo - offset) * a[j] + (hi - offset) * a[j + 16];
    }
    return sum;
}

}  // namespace

// ---- Q4_0: x = d * (q - 8) ----

void dequantize_row_q4_0(const void *src, float *dst, int64_t n) {
    const block_q4_0 *b = static_cast<const block_q4_0 *>(src);
    for (int64_t i = 0; i < n / QK4_0; ++i, dst += QK4_0) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < 16; ++j) {
            dst[j] = static_cast<float>((b[i].qs[j] & 0xF) - 8) * d;
            dst[j + 16] = static_cast<float>((b[i].qs[j] >> 4) - 8) * d;
        }
    }
}

void quantize_row_q4_0(const float *src, void *dst, int64_t n, const float * /*importance*/) {
    block_q4_0 *b = static_cast<block_q4_0 *>(dst);
    for (int64_t i = 0; i < n / QK4_0; ++i, src += QK4_0) {
        // The extreme element maps to code 0 (-8), so the full range [-8, 7] is used.
        const float d = signed_absmax(src, QK4_0) / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = fp32_to_fp16(d);
        for (int j = 0; j < 16; ++j) {
            // Truncation of a value >= 0.5 is rounding to nearest.
            const int lo = std::min(15, static_cast<int>(static_cast<int8_t>(rounded_product(src[j], id) + 8.5f)));
            const int hi = std::min(15, static_cast<int>(static_cast<int8_t>(rounded_product(src[j + 16], id) + 8.5f)));
            b[i].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
        }
    }
}

void vec_dot_q4_0_q8_0(int64_t n, float *out, const void *weights, const void *activations) {
    const block_q4_0 *w = static_cast<const block_q4_0 *>(weights);
    const block_q8_0 *a = static_cast<const block_q8_0 *>(activations);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK4_0; ++i) {
        const int isum = dot_nibbles(w[i].qs, a[i].qs, 8);
        sum += static_cast<float>(isum) * (fp16_to_fp32(w[i].d) * fp16_to_fp32(a[i].d));
    }
    *out = sum;
}

// ---- Q4_1: x = d * q + m ----

void dequantize_row_q4_1(const void *src, float *dst, int64_t n) {
    const block_q4_1 *b = static_cast<const block_q4_1 *>(src);
    for (int64_t i = 0; i < n / QK4_1; ++i, dst += QK4_1) {
        const float d = fp16_to_fp32(b[i].d);
        const float m = fp16_to_fp32(b[i].m);
        for (int j = 0; j < 16; ++j) {
            dst[j] = static_cast<float>(b[i].qs[j] & 0xF) * d + m;
            dst[j + 16] = static_cast<float>(b[i].qs[j] >> 4) * d + m;
        }
    }
}

void quantize_row_q4_1(const float *src, void *dst, int64_t n, const float * /*importance*/) {
    block_q4_1 *b = static_cast<block_q4_1 *>(dst);
    for (int64_t i = 0; i < n / QK4_1; ++i, src += QK4_1) {
        float lo, hi;
        min_max(src, QK4_1, &lo, &hi);
        const float d = (hi - lo) / 15.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = fp32_to_fp16(d);
        b[i].m = fp32_to_fp16(lo);
        for (int j = 0; j < 16; ++j) {
            const int q0 = std::min(15, static_cast<int>(static_cast<int8_t>(rounded_product(src[j] - lo, id) + 0.5f)));
            const int q1 = std::min(15, static_cast<int>(static_cast<int8_t>(rounded_product(src[j + 16] - lo, id) + 0.5f)));
            b[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
        }
    }
}

void vec_dot_q4_1_q8_1(int64_t n, float *out, const void *weights, const void *activations) {
    const block_q4_1 *w = static_cast<const block_q4_1 *>(weights);
    const block_q8_1 *a = static_cast<const block_q8_1 *>(activations);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK4_1; ++i) {
        const int isum = dot_nibbles(w[i].qs, a[i].qs, 0);
        sum += static_cast<float>(isum) * (fp16_to_fp32(w[i].d) * fp16_to_fp32(a[i].d)) +
               fp16_to_fp32(w[i].m) * fp16_to_fp32(a[i].s);
    }
    *out = sum;
}

// ---- Q5_0: x = d * (q - 16) ----

void dequantize_row_q5_0(const void *src, float *dst, int64_t n) {
    const block_q5_0 *b = static_cast<const block_q5_0 *>(src);
    for (int64_t i = 0; i < n / QK5_0; ++i, dst += QK5_0) {
        const float d = fp16_to_fp32(b[i].d);
        const uint32_t qh = load_u32(b[i].qh);
        for (int j = 0; j < 16; ++j) {
            const int lo = (b[i].qs[j] & 0xF) | static_cast<int>(((qh >> j) & 1u) << 4);
            const int hi = (b[i].qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
            dst[j] = static_cast<float>(lo - 16) * d;
            dst[j + 16] = static_cast<float>(hi - 16) * d;
        }
    }
}

void quantize_row_q5_0(const float *src, void *dst, int64_t n, const float * /*importance*/) {
    block_q5_0 *b = static_cast<block_q5_0 *>(dst);
    for (int64_t i = 0; i < n / QK5_0; ++i, src += QK5_0) {
        const float d = signed_absmax(src, QK5_0) / -16.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = fp32_to_fp16(d);
        uint32_t qh = 0;
        for (int j = 0; j < 16; ++j) {
            const int lo = std::min(31, static_cast<int>(static_cast<int8_t>(rounded_product(src[j], id) + 16.5f)));
            const int hi = std::min(31, static_cast<int>(static_cast<int8_t>(rounded_product(src[j + 16], id) + 16.5f)));
            b[i].qs[j] = static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
            qh |= static_cast<uint32_t>(lo >> 4) << j;
            qh |= static_cast<uint32_t>(hi >> 4) << (j + 16);
        }
        store_u32(b[i].qh, qh);
    }
}

void vec_dot_q5_0_q8_0(int64_t n, float *out, const void *weights, const void *activations) {
    const block_q5_0 *w = static_cast<const block_q5_0 *>(weights);
    const block_q8_0 *a = static_cast<const block_q8_0 *>(activations);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK5_0; ++i) {
        const int isum = dot_5bit(w[i].qs, load_u32(w[i].qh), a[i].qs, 16);
        sum += static_cast<float>(isum) * (fp16_to_fp32(w[i].d) * fp16_to_fp32(a[i].d));
    }
    *out = sum;
}

// ---- Q5_1: x = d * q + m ----

void dequantize_row_q5_1(const void *src, float *dst, int64_t n) {
    const block_q5_1 *b = static_cast<const block_q5_1 *>(src);
    for (int64_t i = 0; i < n / QK5_1; ++i, dst += QK5_1) {
        const float d = fp16_to_fp32(b[i].d);
        const float m = fp16_to_fp32(b[i].m);
        const uint32_t qh = load_u32(b[i].qh);
        for (int j = 0; j < 16; ++j) {
            const int lo = (b[i].qs[j] & 0xF) | static_cast<int>(((qh >> j) & 1u) << 4);
            const int hi = (b[i].qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
            dst[j] = static_cast<float>(lo) * d + m;
            dst[j + 16] = static_cast<float>(hi) * d + m;
        }
    }
}

void quantize_row_q5_1(const float *src, void *dst, int64_t n, const float * /*importance*/) {
    block_q5_1 *b = static_cast<block_q5_1 *>(dst);
    for (int64_t i = 0; i < n / QK5_1; ++i, src += QK5_1) {
        float lo, hi;
        min_max(src, QK5_1, &lo, &hi);
        const float d = (hi - lo) / 31.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = fp32_to_fp16(d);
        b[i].m = fp32_to_fp16(lo);
        uint32_t qh = 0;
        for (int j = 0; j < 16; ++j) {
            const int q0 = static_cast<int>(static_cast<int8_t>(rounded_product(src[j] - lo, id) + 0.5f));
            const int q1 = static_cast<int>(static_cast<int8_t>(rounded_product(src[j + 16] - lo, id) + 0.5f));
            b[i].qs[j] = static_cast<uint8_t>((q0 & 0xF) | ((q1 & 0xF) << 4));
            qh |= static_cast<uint32_t>((q0 >> 4) & 1) << j;
            qh |= static_cast<uint32_t>((q1 >> 4) & 1) << (j + 16);
        }
        store_u32(b[i].qh, qh);
    }
}

void vec_dot_q5_1_q8_1(int64_t n, float *out, const void *weights, const void *activations) {
    const block_q5_1 *w = static_cast<const block_q5_1 *>(weights);
    const block_q8_1 *a = static_cast<const block_q8_1 *>(activations);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK5_1; ++i) {
        const int isum = dot_5bit(w[i].qs, load_u32(w[i].qh), a[i].qs, 0);
        sum += static_cast<float>(isum) * (fp16_to_fp32(w[i].d) * fp16_to_fp32(a[i].d)) +
               fp16_to_fp32(w[i].m) * fp16_to_fp32(a[i].s);
    }
    *out = sum;
}

// ---- Q8_0: x = d * q ----

void dequantize_row_q8_0(const void *src, float *dst, int64_t n) {
    const block_q8_0 *b = static_cast<const block_q8_0 *>(src);
    for (int64_t i = 0; i < n / QK8_0; ++i, dst += QK8_0) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < QK8_0; ++j) dst[j] = static_cast<float>(b[i].qs[j]) * d;
    }
}

void quantize_row_q8_0(const float *src, void *dst, int64_t n, const float * /*importance*/) {
    block_q8_0 *b = static_cast<block_q8_0 *>(dst);
    for (int64_t i = 0; i < n / QK8_0; ++i, src += QK8_0) {
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; ++j) amax = std::max(amax, std::fabs(src[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = fp32_to_fp16(d);
        for (int j = 0; j < QK8_0; ++j) b[i].qs[j] = static_cast<int8_t>(round_half_away_small(src[j] * id));
    }
}

void vec_dot_q8_0_q8_0(int64_t n, float *out, const void *weights, const void *activations) {
    const block_q8_0 *w = static_cast<const block_q8_0 *>(weights);
    const block_q8_0 *a = static_cast<const block_q8_0 *>(activations);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK8_0; ++i) {
        int isum = 0;
        for (int j = 0; j < QK8_0; ++j) isum += w[i].qs[j] * a[i].qs[j];
        sum += static_cast<float>(isum) * (fp16_to_fp32(w[i].d) * fp16_to_fp32(a[i].d));
    }
    *out = sum;
}

// ---- Q8_1: Q8_0 plus s = d * sum(q) ----

void dequantize_row_q8_1(const void *src, float *dst, int64_t n) {
    const block_q8_1 *b = static_cast<const block_q8_1 *>(src);
    for (int64_t i = 0; i < n / QK8_1; ++i, dst += QK8_1) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < QK8_1; ++j) dst[j] = static_cast<float>(b[i].qs[j]) * d;
    }
}

void quantize_row_q8_1(const float *src, void *dst, int64_t n, const float * /*importance*/) {
    block_q8_1 *b = static_cast<block_q8_1 *>(dst);
    for (int64_t i = 0; i < n / QK8_1; ++i, src += QK8_1) {
        float amax = 0.0f;
        for (int j = 0; j < QK8_1; ++j) amax = std::max(amax, std::fabs(src[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        int qsum = 0;
        for (int j = 0; j < QK8_1; ++j) {
            b[i].qs[j] = static_cast<int8_t>(round_half_away_small(src[j] * id));
            qsum += b[i].qs[j];
        }
        b[i].d = fp32_to_fp16(d);
        b[i].s = fp32_to_fp16(static_cast<float>(qsum) * d);  // with the unrounded d
    }
}

}  // namespace ember::cpu
