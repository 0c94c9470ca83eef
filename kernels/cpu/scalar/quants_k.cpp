// K-quants: 256-element super-blocks split into 16 sub-blocks of 16 (Q2_K, Q3_K, Q6_K) or 8 of
// 32 (Q4_K, Q5_K), each with its own integer scale (and min) relative to the super-block's half
// scale d (and dmin). Q8_K is their activation type.
//
// Code layouts, element index e in 0..255:
//   Q2_K / Q3_K low bits: byte qs[32*(e/128) + e%32], bits 2*((e%128)/32); Q3_K's third bit is
//     bit (e/32) of hmask[e%32] (set: code 0..3 as is; clear: code - 4).
//   Q4_K / Q5_K low nibble: qs[32*(e/64) + e%32], low nibble for e%64 < 32, high otherwise;
//     Q5_K's fifth bit is bit (e/32) of qh[e%32].
//   Q6_K low nibble: ql[64*(e/128) + e%64], low nibble for e%128 < 64, high otherwise; the two
//     high bits are bits 2*((e%128)/32) of qh[32*(e/128) + e%32].
// The scalar kernels decode a super-block into codes in element order, then loop simply.
//
// Dequantization is (d * sc) * q - (dmin * m) in float, as llama.cpp computes it. For Q2_K..Q5_K
// both products are exact (half d: 11 significant bits, sc <= 6 bits, q <= 5 bits), so a fused
// multiply-add gives the same bits and SIMD paths may use FMA. Q6_K's (d * sc) * q can round
// (11 + 8 + 6 bits): keep that order to stay bit-exact.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "cpu/isa.h"
#include "cpu/quant_blocks.h"
#include "cpu/scalar/scalar_kernels.h"
#include "cpu/scalar/scale_search.h"

namespace ember::cpu {

namespace {

// ---- code decoding (element order) ----

void decode_q2_k(const block_q2_K &b, uint8_t *q) {
    for (int e = 0; e < QK_K; ++e) q[e] = (b.qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
}

// Signed codes in [-4, 3].
void decode_q3_k(const block_q3_K &b, int8_t *q) {
    for (int e = 0; e < QK_K; ++e) {
        const int low = (b.qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
        const int high = (b.hmask[e % 32] >> (e / 32)) & 1;
        q[e] = static_cast<int8_t>(low - (high ? 0 : 4));
    }
}

void decode_q4_k(const uint8_t *qs, uint8_t *q) {
    for (int e = 0; e < QK_K; ++e) {
        const uint8_t byte = qs[32 * (e / 64) + e % 32];
        q[e] = (e % 64) < 32 ? (byte & 0xF) : (byte >> 4);
    }
}

void decode_q5_k(const block_q5_K &b, uint8_t *q) {
    decode_q4_k(b.qs, q);
    for (int e = 0; e < QK_K; ++e) q[e] = static_cast<uint8_t>(q[e] | (((b.qh[e % 32] >> (e / 32)) & 1) << 4));
}

// Signed codes in [-32, 31].
void decode_q6_k(const block_q6_K &b, int8_t *q) {
    for (int e = 0; e < QK_K; ++e) {
        const uint8_t byte = b.ql[64 * (e / 128) + e % 64];
        const int low = (e % 128) < 64 ? (byte & 0xF) : (byte >> 4);
        const int high = (b.qh[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
        q[e] = static_cast<int8_t>((low | (high << 4)) - 32);
    }
}

// ---- code encoding (inverse of the above) ----

void encode_2bit(const uint8_t *q, uint8_t *qs) {  // Q2_K and Q3_K low bits, qs[64]
    std::memset(qs, 0, QK_K / 4);
    for (int e = 0; e < QK_K; ++e) qs[32 * (e / 128) + e % 32] |= static_cast<uint8_t>((q[e] & 3) << (2 * ((e % 128) / 32)));
}

void encode_4bit(const uint8_t *q, uint8_t *qs) {  // Q4_K and Q5_K low nibbles, qs[128]
    std::memset(qs, 0, QK_K / 2);
    for (int e = 0; e < QK_K; ++e) qs[32 * (e / 64) + e % 32] |= static_cast<uint8_t>((q[e] & 0xF) << ((e % 64) < 32 ? 0 : 4));
}

// Q4_K / Q5_K: 6-bit scales and mins of the 8 sub-blocks into 12 bytes (see unpack_scale_min_k4).
void pack_scale_min_k4(const uint8_t *sc, const uint8_t *mn, uint8_t *packed) {
    std::memset(packed, 0, K_SCALE_SIZE);
    for (int j = 0; j < 4; ++j) {
        packed[j] = sc[j];
        packed[j + 4] = mn[j];
    }
    for (int j = 4; j < 8; ++j) {
        packed[j + 4] = static_cast<uint8_t>((sc[j] & 0xF) | ((mn[j] & 0xF) << 4));
        packed[j - 4] = static_cast<uint8_t>(packed[j - 4] | ((sc[j] >> 4) << 6));
        packed[j] = static_cast<uint8_t>(packed[j] | ((mn[j] >> 4) << 6));
    }
}

// ---- quantization helpers ----

// Per-column weights of one super-block (all ones without an importance vector).
void block_weights(const float *importance, int64_t offset, float *w) {
    for (int i = 0; i < QK_K; ++i) w[i] = importance ? std::max(importance[offset + i], 1e-12f) : 1.0f;
}

// The signed value of largest magnitude.
float signed_absmax(const float *v, int n) {
    // Two passes: the largest magnitude (in 8 independent lanes, so that it vectorizes; max is
    // exact in any order), then the first value that has it. NaNs are skipped, as the strict
    // > of a one-pass search skips them.
    float lane[8] = {};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; ++l) lane[l] = std::max(lane[l], std::fabs(v[i + l]));
    for (; i < n; ++i) lane[0] = std::max(lane[0], std::fabs(v[i]));
    float amax = 0.0f;
    for (float m : lane) amax = std::max(amax, m);
    if (amax == 0.0f) return 0.0f;
    for (i = 0; i < n; ++i)
        if (std::fabs(v[i]) == amax) return v[i];
    return 0.0f;
}

// Affine sub-blocks (Q2_K, Q4_K, Q5_K): x ~ (d*sc) * q - (dmin*mn). Given the half super-scales,
// chooses each sub-block's integer scale and min (near the rounded fit, by exhaustive error) and
// its codes. `len` values per sub-block, `n_sub` sub-blocks, sc/mn in [0, smax], q in [0, qmax].
void finish_affine(const float *x, const float *w, int n_sub, int len, int qmax, int smax, const float *fit_d,
                   const float *fit_m, uint16_t *d_half, uint16_t *dmin_half, uint8_t *sc, uint8_t *mn, uint8_t *q) {
    float max_d = 0.0f, max_m = 0.0f;
    for (int j = 0; j < n_sub; ++j) {
        max_d = std::max(max_d, fit_d[j]);
        max_m = std::max(max_m, fit_m[j]);
    }
    *d_half = fp32_to_fp16(max_d / static_cast<float>(smax));
    *dmin_half = fp32_to_fp16(max_m / static_cast<float>(smax));
    const float d = fp16_to_fp32(*d_half), dmin = fp16_to_fp32(*dmin_half);
    for (int j = 0; j < n_sub; ++j) {
        const float *xs = x + j * len;
        const float *ws = w + j * len;
        const int s0 = d > 0.0f ? std::clamp(round_to_int(fit_d[j] / d), 0, smax) : 0;
        const int m0 = dmin > 0.0f ? std::clamp(round_to_int(fit_m[j] / dmin), 0, smax) : 0;
        // Every (scale, min) within 2 of the rounded fit, scored with exactly the dequantizer's
        // arithmetic, (d*s) * q - (dmin*m); the first of the least errors wins.
        float c_ds[25], c_dm[25], c_inv[25];
        uint8_t cand_s[25], cand_m[25];
        int k = 0;
        for (int s = std::max(0, s0 - 2); s <= std::min(smax, s0 + 2); ++s) {
            for (int m = std::max(0, m0 - 2); m <= std::min(smax, m0 + 2); ++m, ++k) {
                c_ds[k] = d * static_cast<float>(s);
                c_dm[k] = dmin * static_cast<float>(m);
                c_inv[k] = c_ds[k] > 0.0f ? 1.0f / c_ds[k] : 0.0f;
                cand_s[k] = static_cast<uint8_t>(s);
                cand_m[k] = static_cast<uint8_t>(m);
            }
        }
        double err[25];
        scale_search_kernels().grid_errors(len, xs, ws, 0, qmax, c_ds, c_dm, c_inv, k, err);
        const int best = first_least(err, k);
        sc[j] = cand_s[best];
        mn[j] = cand_m[best];
        const float ds = d * static_cast<float>(sc[j]), dm = dmin * static_cast<float>(mn[j]);
        const float inv = ds > 0.0f ? 1.0f / ds : 0.0f;
        for (int i = 0; i < len; ++i) q[j * len + i] = static_cast<uint8_t>(std::clamp(round_to_int((xs[i] + dm) * inv), 0, qmax));
    }
}

// Symmetric sub-blocks (Q3_K, Q6_K): x ~ (d*sc) * q with signed sc in [smin, smax] and q in
// [qmin, qmax]; d = the largest-magnitude fitted scale / smin, so it lands on the end with room.
void finish_symmetric(const float *x, const float *w, int n_sub, int len, int qmin, int qmax, int smin, int smax,
                      const float *fit_d, uint16_t *d_half, int *sc, int8_t *q) {
    *d_half = fp32_to_fp16(signed_absmax(fit_d, n_sub) / static_cast<float>(smin));
    const float d = fp16_to_fp32(*d_half);
    for (int j = 0; j < n_sub; ++j) {
        const float *xs = x + j * len;
        const float *ws = w + j * len;
        const int s0 = d != 0.0f ? std::clamp(round_to_int(fit_d[j] / d), smin, smax) : 0;
        // The scales within 2 of the rounded fit (a min of 0: x ~ (d*s) * q); the first of the
        // least errors wins.
        float c_ds[5], c_dm[5] = {}, c_inv[5];
        int k = 0;
        const int s_lo = std::max(smin, s0 - 2);
        for (int s = s_lo; s <= std::min(smax, s0 + 2); ++s, ++k) {
            c_ds[k] = d * static_cast<float>(s);
            c_inv[k] = c_ds[k] != 0.0f ? 1.0f / c_ds[k] : 0.0f;
        }
        double err[5];
        scale_search_kernels().grid_errors(len, xs, ws, qmin, qmax, c_ds, c_dm, c_inv, k, err);
        sc[j] = k > 0 ? s_lo + first_least(err, k) : 0;
        const float ds = d * static_cast<float>(sc[j]);
        const float inv = ds != 0.0f ? 1.0f / ds : 0.0f;
        for (int i = 0; i < len; ++i) q[j * len + i] = static_cast<int8_t>(std::clamp(round_to_int(xs[i] * inv), qmin, qmax));
    }
}

}  // namespace

// ---- Q2_K: 16 x 16, 2-bit codes, 4-bit scale and min per sub-block ----

void dequantize_row_q2_k(const void *src, float *dst, int64_t n) {
    const block_q2_K *b = static_cast<const block_q2_K *>(src);
    uint8_t q[QK_K];
    for (int64_t i = 0; i < n / QK_K; ++i, dst += QK_K) {
        const float d = fp16_to_fp32(b[i].d), dmin = fp16_to_fp32(b[i].dmin);
        decode_q2_k(b[i], q);
        for (int j = 0; j < 16; ++j) {
            const float dl = d * static_cast<float>(b[i].scales[j] & 0xF);
            const float ml = dmin * static_cast<float>(b[i].scales[j] >> 4);
            for (int l = 0; l < 16; ++l) dst[16 * j + l] = dl * static_cast<float>(q[16 * j + l]) - ml;
        }
    }
}

void quantize_row_q2_k(const float *src, void *dst, int64_t n, const float *importance) {
    block_q2_K *b = static_cast<block_q2_K *>(dst);
    float w[QK_K], fit_d[16], fit_m[16];
    uint8_t q[QK_K], sc[16], mn[16];
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float *x = src + i * QK_K;
        block_weights(importance, i * QK_K, w);
        for (int j = 0; j < 16; ++j) fit_scale_min(16, x + 16 * j, w + 16 * j, 3, q + 16 * j, &fit_d[j], &fit_m[j]);
        finish_affine(x, w, 16, 16, 3, 15, fit_d, fit_m, &b[i].d, &b[i].dmin, sc, mn, q);
        for (int j = 0; j < 16; ++j) b[i].scales[j] = static_cast<uint8_t>(sc[j] | (mn[j] << 4));
        encode_2bit(q, b[i].qs);
    }
}

void vec_dot_q2_k_q8_k(int64_t n, float *out, const void *weights, const void *activations) {
    const block_q2_K *w = static_cast<const block_q2_K *>(weights);
    const block_q8_K *a = static_cast<const block_q8_K *>(activations);
    uint8_t q[QK_K];
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        decode_q2_k(w[i], q);
        int isum = 0, msum = 0;
        for (int j = 0; j < 16; ++j) {
            int s = 0;
            for (int l = 0; l < 16; ++l) s += q[16 * j + l] * a[i].qs[16 * j + l];
            isum += (w[i].scales[j] & 0xF) * s;
            msum += (w[i].scales[j] >> 4) * a[i].bsums[j];
        }
        const float dall = a[i].d * fp16_to_fp32(w[i].d);
        const float dmin = a[i].d * fp16_to_fp32(w[i].dmin);
        sum += dall * static_cast<float>(isum) - dmin * static_cast<float>(msum);
    }
    *out = sum;
}

// ---- Q3_K: 16 x 16, 3-bit signed codes, 6-bit signed scales ----

void dequantize_row_q3_k(const void *src, float *dst, int64_t n) {
    const block_q3_K *b = static_cast<const block_q3_K *>(src);
    int8_t q[QK_K], scales[16];
    for (int64_t i = 0; i < n / QK_K; ++i, dst += QK_K) {
        const float d = fp16_to_fp32(b[i].d);
        decode_q3_k(b[i], q);
        unpack_scales_q3_k(b[i].scales, scales);
        for (int j = 0; j < 16; ++j) {
            const float dl = d * static_cast<float>(scales[j]);
            for (int l = 0; l < 16; ++l) dst[16 * j + l] = dl * static_cast<float>(q[16 * j + l]);
        }
    }
}

void quantize_row_q3_k(const float *src, void *dst, int64_t n, const float *importance) {
    block_q3_K *b = static_cast<block_q3_K *>(dst);
    float w[QK_K], fit_d[16];
    int8_t q[QK_K];
    int sc[16];
    uint8_t codes[QK_K];
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float *x = src + i * QK_K;
        block_weights(importance, i * QK_K, w);
        for (int j = 0; j < 16; ++j) fit_d[j] = fit_scale(16, x + 16 * j, w + 16 * j, -4, 3, q + 16 * j);
        finish_symmetric(x, w, 16, 16, -4, 3, -32, 31, fit_d, &b[i].d, sc, q);
        std::memset(b[i].scales, 0, sizeof b[i].scales);
        for (int j = 0; j < 16; ++j) {
            const int l = sc[j] + 32;
            b[i].scales[j % 8] = static_cast<uint8_t>(b[i].scales[j % 8] | ((l & 0xF) << (j < 8 ? 0 : 4)));
            b[i].scales[8 + j % 4] = static_cast<uint8_t>(b[i].scales[8 + j % 4] | ((l >> 4) << (2 * (j / 4))));
        }
        std::memset(b[i].hmask, 0, sizeof b[i].hmask);
        for (int e = 0; e < QK_K; ++e) {
            codes[e] = static_cast<uint8_t>(q[e] + 4);  // 0..7; bit 2 goes to hmask
            if (codes[e] & 4) b[i].hmask[e % 32] = static_cast<uint8_t>(b[i].hmask[e % 32] | (1 << (e / 32)));
        }
        encode_2bit(codes, b[i].qs);
    }
}

void vec_dot_q3_k_q8_k(int64_t n, float *out, const void *weights, const void *activations) {
    const block_q3_K *w = static_cast<const block_q3_K *>(weights);
    const block_q8_K *a = static_cast<const block_q8_K *>(activations);
    int8_t q[QK_K], scales[16];
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        decode_q3_k(w[i], q);
        unpack_scales_q3_k(w[i].scales, scales);
        int isum = 0;
        for (int j = 0; j < 16; ++j) {
            int s = 0;
            for (int l = 0; l < 16; ++l) s += q[16 * j + l] * a[i].qs[16 * j + l];
            isum += scales[j] * s;
        }
        sum += fp16_to_fp32(w[i].d) * a[i].d * static_cast<float>(isum);
    }
    *out = sum;
}

// ---- Q4_K: 8 x 32, 4-bit codes, 6-bit scale and min ----

void dequantize_row_q4_k(const void *src, float *dst, int64_t n) {
    const block_q4_K *b = static_cast<const block_q4_K *>(src);
    uint8_t q[QK_K];
    for (int64_t i = 0; i < n / QK_K; ++i, dst += QK_K) {
        const float d = fp16_to_fp32(b[i].d), dmin = fp16_to_fp32(b[i].dmin);
        decode_q4_k(b[i].qs, q);
        for (int j = 0; j < 8; ++j) {
            uint8_t sc, mn;
            unpack_scale_min_k4(j, b[i].scales, &sc, &mn);
            const float dl = d * static_cast<float>(sc), ml = dmin * static_cast<float>(mn);
            for (int l = 0; l < 32; ++l) dst[32 * j + l] = dl * static_cast<float>(q[32 * j + l]) - ml;
        }
    }
}

void quantize_row_q4_k(const float *src, void *dst, int64_t n, const float *importance) {
    block_q4_K *b = static_cast<block_q4_K *>(dst);
    float w[QK_K], fit_d[8], fit_m[8];
    uint8_t q[QK_K], sc[8], mn[8];
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float *x = src + i * QK_K;
        block_weights(importance, i * QK_K, w);
        for (int j = 0; j < 8; ++j) fit_scale_min(32, x + 32 * j, w + 32 * j, 15, q + 32 * j, &fit_d[j], &fit_m[j]);
        finish_affine(x, w, 8, 32, 15, 63, fit_d, fit_m, &b[i].d, &b[i].dmin, sc, mn, q);
        pack_scale_min_k4(sc, mn, b[i].scales);
        encode_4bit(q, b[i].qs);
    }
}

namespace {
// Q5_K, once the codes are decoded: exact integer sums per super-block, then float.
float dot_k4_block(uint16_t d, uint16_t dmin, const uint8_t *scales, const uint8_t *q, const block_q8_K &a) {
    int isum = 0, msum = 0;
    for (int j = 0; j < 8; ++j) {
        uint8_t sc, mn;
        unpack_scale_min_k4(j, scales, &sc, &mn);
        int s = 0;
        for (int l = 0; l < 32; ++l) s += q[32 * j + l] * a.qs[32 * j + l];
        isum += sc * s;
        msum += mn * (a.bsums[2 * j] + a.bsums[2 * j + 1]);
    }
    return fp16_to_fp32(d) * a.d * static_cast<float>(isum) - fp16_to_fp32(dmin) * a.d * static_cast<float>(msum);
}
}  // namespace

// Q4_K's dot rounds exactly as llama.cpp's interleaved Q4_K GEMM (the kernel behind its
// reference logits on AVX2+ CPUs): per 64 values an exact integer sum, scales and mins applied,
// then one FMA into the scale chain and one into the min chain; the two chains are subtracted
// once at the end. Every level reproduces this bit for bit (the integer parts are exact), so the
// logits do not depend on the ISA level.
void vec_dot_q4_k_q8_k(int64_t n, float *out, const void *weights, const void *activations) {
    const block_q4_K *w = static_cast<const block_q4_K *>(weights);
    const block_q8_K *a = static_cast<const block_q8_K *>(activations);
    uint8_t q[QK_K];
    float acc = 0.0f, acc_min = 0.0f;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        decode_q4_k(w[i].qs, q);
        const float ds = fp16_to_fp32(w[i].d) * a[i].d, dm = fp16_to_fp32(w[i].dmin) * a[i].d;
        for (int pair = 0; pair < 4; ++pair) {
            int isum = 0, msum = 0;
            for (int j = 2 * pair; j < 2 * pair + 2; ++j) {
                uint8_t sc, mn;
                unpack_scale_min_k4(j, w[i].scales, &sc, &mn);
                int s = 0;
                for (int l = 0; l < 32; ++l) s += q[32 * j + l] * a[i].qs[32 * j + l];
                isum += sc * s;
                msum += mn * (a[i].bsums[2 * j] + a[i].bsums[2 * j + 1]);
            }
            acc = std::fma(static_cast<float>(isum), ds, acc);
            acc_min = std::fma(static_cast<float>(msum), dm, acc_min);
        }
    }
    *out = acc - acc_min;
}

// ---- Q5_K: 8 x 32, 5-bit codes, 6-bit scale and min ----

void dequantize_row_q5_k(const void *src, float *dst, int64_t n) {
    const block_q5_K *b = static_cast<const block_q5_K *>(src);
    uint8_t q[QK_K];
    for (int64_t i = 0; i < n / QK_K; ++i, dst += QK_K) {
        const float d = fp16_to_fp32(b[i].d), dmin = fp16_to_fp32(b[i].dmin);
        decode_q5_k(b[i], q);
        for (int j = 0; j < 8; ++j) {
            uint8_t sc, mn;
            unpack_scale_min_k4(j, b[i].scales, &sc, &mn);
            const float dl = d * static_cast<float>(sc), ml = dmin * static_cast<float>(mn);
            for (int l = 0; l < 32; ++l) dst[32 * j + l] = dl * static_cast<float>(q[32 * j + l]) - ml;
        }
    }
}

void quantize_row_q5_k(const float *src, void *dst, int64_t n, const float *importance) {
    block_q5_K *b = static_cast<block_q5_K *>(dst);
    float w[QK_K], fit_d[8], fit_m[8];
    uint8_t q[QK_K], sc[8], mn[8];
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float *x = src + i * QK_K;
        block_weights(importance, i * QK_K, w);
        for (int j = 0; j < 8; ++j) fit_scale_min(32, x + 32 * j, w + 32 * j, 31, q + 32 * j, &fit_d[j], &fit_m[j]);
        finish_affine(x, w, 8, 32, 31, 63, fit_d, fit_m, &b[i].d, &b[i].dmin, sc, mn, q);
        pack_scale_min_k4(sc, mn, b[i].scales);
        encode_4bit(q, b[i].qs);
        std::memset(b[i].qh, 0, sizeof b[i].qh);
        for (int e = 0; e < QK_K; ++e) b[i].qh[e % 32] = static_cast<uint8_t>(b[i].qh[e % 32] | ((q[e] >> 4) << (e / 32)));
    }
}

void vec_dot_q5_k_q8_k(int64_t n, float *out, const void *weights, const void *activations) {
    const block_q5_K *w = static_cast<const block_q5_K *>(weights);
    const block_q8_K *a = static_cast<const block_q8_K *>(activations);
    uint8_t q[QK_K];
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        decode_q5_k(w[i], q);
        sum += dot_k4_block(w[i].d, w[i].dmin, w[i].scales, q, a[i]);
    }
    *out = sum;
}

// ---- Q6_K: 16 x 16, 6-bit signed codes, 8-bit signed scales ----

void dequantize_row_q6_k(const void *src, float *dst, int64_t n) {
    const block_q6_K *b = static_cast<const block_q6_K *>(src);
    int8_t q[QK_K];
    for (int64_t i = 0; i < n / QK_K; ++i, dst += QK_K) {
        const float d = fp16_to_fp32(b[i].d);
        decode_q6_k(b[i], q);
        for (int j = 0; j < 16; ++j) {
            const float dl = d * static_cast<float>(b[i].scales[j]);
            for (int l = 0; l < 16; ++l) dst[16 * j + l] = dl * static_cast<float>(q[16 * j + l]);
        }
    }
}

void quantize_row_q6_k(const float *src, void *dst, int64_t n, const float *importance) {
    block_q6_K *b = static_cast<block_q6_K *>(dst);
    float w[QK_K], fit_d[16];
    int8_t q[QK_K];
    int sc[16];
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float *x = src + i * QK_K;
        block_weights(importance, i * QK_K, w);
        for (int j = 0; j < 16; ++j) fit_d[j] = fit_scale(16, x + 16 * j, w + 16 * j, -32, 31, q + 16 * j);
        finish_symmetric(x, w, 16, 16, -32, 31, -128, 127, fit_d, &b[i].d, sc, q);
        for (int j = 0; j < 16; ++j) b[i].scales[j] = static_cast<int8_t>(sc[j]);
        // Per 128 values, value r's low 4 bits go to ql[r % 64] (the high nibble for r >= 64)
        // and its top 2 bits to qh[r % 32] at bit 2 * (r / 32).
        for (int h = 0; h < 2; ++h) {
            const int8_t *v = q + 128 * h;
            for (int e = 0; e < 32; ++e) {
                const int l0 = v[e] + 32, l1 = v[e + 32] + 32, l2 = v[e + 64] + 32, l3 = v[e + 96] + 32;  // 0..63
                b[i].ql[64 * h + e] = static_cast<uint8_t>((l0 & 0xF) | ((l2 & 0xF) << 4));
                b[i].ql[64 * h + 32 + e] = static_cast<uint8_t>((l1 & 0xF) | ((l3 & 0xF) << 4));
                b[i].qh[32 * h + e] = static_cast<uint8_t>((l0 >> 4) | ((l1 >> 4) << 2) | ((l2 >> 4) << 4) | ((l3 >> 4) << 6));
            }
        }
    }
}

// Q6_K's dot rounds exactly as llama.cpp's x86 Q6_K dot (its reference logits use it): 8 integer
// lanes, lane l holding values 4l..4l+3 of every 32 (codes 0..63, scales applied) minus 32 times
// the scaled activation sums of 16-groups 2l and 2l+1 (the -32 offset); per super-block one FMA
// per lane; then the lanes are summed pairwise as (0+4 + 2+6) + (1+5 + 3+7).
void vec_dot_q6_k_q8_k(int64_t n, float *out, const void *weights, const void *activations) {
    const block_q6_K *w = static_cast<const block_q6_K *>(weights);
    const block_q8_K *a = static_cast<const block_q8_K *>(activations);
    int8_t q[QK_K];
    float acc[8] = {};
    for (int64_t i = 0; i < n / QK_K; ++i) {
        decode_q6_k(w[i], q);
        const float d = a[i].d * fp16_to_fp32(w[i].d);
        for (int lane = 0; lane < 8; ++lane) {
            int isum = 0;
            for (int g = 0; g < 8; ++g)
                for (int t = 0; t < 4; ++t) {
                    const int e = 32 * g + 4 * lane + t;
                    isum += w[i].scales[e / 16] * (q[e] + 32) * a[i].qs[e];
                }
            isum -= 32 * (a[i].bsums[2 * lane] * w[i].scales[2 * lane] + a[i].bsums[2 * lane + 1] * w[i].scales[2 * lane + 1]);
            acc[lane] = std::fma(d, static_cast<float>(isum), acc[lane]);
        }
    }
    const float r0 = acc[4] + acc[0], r1 = acc[5] + acc[1], r2 = acc[6] + acc[2], r3 = acc[7] + acc[3];
    *out = (r0 + r2) + (r1 + r3);
}

// ---- Q8_K: activations ----

void dequantize_row_q8_k(const void *src, float *dst, int64_t n) {
    const block_q8_K *b = static_cast<const block_q8_K *>(src);
    for (int64_t i = 0; i < n / QK_K; ++i, dst += QK_K) {
        for (int j = 0; j < QK_K; ++j) dst[j] = b[i].d * static_cast<float>(b[i].qs[j]);
    }
}

void quantize_row_q8_k(const float *src, void *dst, int64_t n, const float * /*importance*/) {
    block_q8_K *b = static_cast<block_q8_K *>(dst);
    for (int64_t i = 0; i < n / QK_K; ++i, src += QK_K) {
        const float max = signed_absmax(src, QK_K);
        if (max == 0.0f) {
            b[i].d = 0.0f;
            std::memset(b[i].qs, 0, sizeof b[i].qs);
            std::memset(b[i].bsums, 0, sizeof b[i].bsums);
            continue;
        }
        // The extreme value maps to -127; the rest round half to even into [-127, 127].
        const float iscale = -127.0f / max;
        for (int j = 0; j < QK_K; ++j) b[i].qs[j] = static_cast<int8_t>(std::min(127, round_half_even_small(iscale * src[j])));
        for (int j = 0; j < QK_K / 16; ++j) {
            int s = 0;
            for (int l = 0; l < 16; ++l) s += b[i].qs[16 * j + l];
            b[i].bsums[j] = static_cast<int16_t>(s);
        }
        b[i].d = 1.0f / iscale;
    }
}

}  // namespace ember::cpu
