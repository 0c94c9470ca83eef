// The scalar reference kernels of every CPU tensor type: portable C++, no ISA flags. They are
// the rows of type_traits(), the fallback of every SIMD path and the yardstick the SIMD
// paths are tested against. Signatures match the function types of cpu/type_traits.h:
//   dequantize_row_X(src blocks, dst floats, n elements)           n a multiple of X's block
//   quantize_row_X(src floats, dst blocks, n, importance|nullptr)  importance: n per-column weights
//   vec_dot_X_Y(n, out, weight row of X, activation row of Y)      Y = X's vec_dot_type
// Dot products are exact integer sums inside each block, scaled by the blocks' float scales and
// accumulated in float (double for the float types), as llama.cpp's reference does.
#pragma once

#include <cstdint>

#include "core/tensor_type.h"
#include "cpu/type_traits.h"

namespace ember::cpu {

// Rounding of values already scaled into an int8 range (|x| < 2^22), as branch-free integer
// code so the activation quantizers' loops vectorize (std::round and std::nearbyint are libm
// calls on baseline x86-64). Exact: x - trunc(x) is representable. Neither adds to the product
// that produced x, so FMA contraction cannot change a result.
inline int round_half_away_small(float x) {  // std::round
    const int t = static_cast<int>(x);
    const float frac = x - static_cast<float>(t);
    return t + (frac >= 0.5f) - (frac <= -0.5f);
}
inline int round_half_even_small(float x) {  // std::nearbyint in the default rounding mode
    const int t = static_cast<int>(x);
    const float frac = x - static_cast<float>(t);
    const int odd = t & 1;
    return t + (frac > 0.5f) - (frac < -0.5f) + ((frac == 0.5f) & odd) - ((frac == -0.5f) & odd);
}

// ---- float types (float_types.cpp) ----
void dequantize_row_f32(const void *src, float *dst, int64_t n);
void quantize_row_f32(const float *src, void *dst, int64_t n, const float *importance);
void vec_dot_f32_f32(int64_t n, float *out, const void *weights, const void *activations);

void dequantize_row_f16(const void *src, float *dst, int64_t n);
void quantize_row_f16(const float *src, void *dst, int64_t n, const float *importance);  // RNE
void vec_dot_f16_f16(int64_t n, float *out, const void *weights, const void *activations);

void dequantize_row_bf16(const void *src, float *dst, int64_t n);
void quantize_row_bf16(const float *src, void *dst, int64_t n, const float *importance);  // RNE
void vec_dot_bf16_bf16(int64_t n, float *out, const void *weights, const void *activations);

// ---- 32-element legacy blocks (quants_legacy.cpp) ----
// The quantizers reproduce llama.cpp's bytes; `importance` is accepted and ignored (these
// formats have a closed-form scale).
void dequantize_row_q4_0(const void *src, float *dst, int64_t n);
void quantize_row_q4_0(const float *src, void *dst, int64_t n, const float *importance);
void vec_dot_q4_0_q8_0(int64_t n, float *out, const void *weights, const void *activations);

void dequantize_row_q4_1(const void *src, float *dst, int64_t n);
void quantize_row_q4_1(const float *src, void *dst, int64_t n, const float *importance);
void vec_dot_q4_1_q8_1(int64_t n, float *out, const void *weights, const void *activations);

void dequantize_row_q5_0(const void *src, float *dst, int64_t n);
void quantize_row_q5_0(const float *src, void *dst, int64_t n, const float *importance);
void vec_dot_q5_0_q8_0(int64_t n, float *out, const void *weights, const void *activations);

void dequantize_row_q5_1(const void *src, float *dst, int64_t n);
void quantize_row_q5_1(const float *src, void *dst, int64_t n, const float *importance);
void vec_dot_q5_1_q8_1(int64_t n, float *out, const void *weights, const void *activations);

// Q8_0 is both a weight type and the activation type of Q4_0, Q5_0, Q8_0 and IQ4_NL:
// d = amax/127 (stored as half), q = round-half-away(x / d).
void dequantize_row_q8_0(const void *src, float *dst, int64_t n);
void quantize_row_q8_0(const float *src, void *dst, int64_t n, const float *importance);
void vec_dot_q8_0_q8_0(int64_t n, float *out, const void *weights, const void *activations);

// Q8_1 (activations of Q4_1 / Q5_1): Q8_0 plus s = d * sum(q), so the weights' offset m
// contributes m * s without touching the 8-bit values.
void dequantize_row_q8_1(const void *src, float *dst, int64_t n);
void quantize_row_q8_1(const float *src, void *dst, int64_t n, const float *importance);

// ---- K-quants, 256-element super-blocks (quants_k.cpp) ----
// The quantizers search the sub-block scales (and mins) for the least importance-weighted
// squared error (importance nullptr: every column weighs 1), then the super-block scales.
void dequantize_row_q2_k(const void *src, float *dst, int64_t n);
void quantize_row_q2_k(const float *src, void *dst, int64_t n, const float *importance);
void vec_dot_q2_k_q8_k(int64_t n, float *out, const void *weights, const void *activations);

void dequantize_row_q3_k(const void *src, float *dst, int64_t n);
void quantize_row_q3_k(const float *src, void *dst, int64_t n, const float *importance);
void vec_dot_q3_k_q8_k(int64_t n, float *out, const void *weights, const void *activations);

void dequantize_row_q4_k(const void *src, float *dst, int64_t n);
void quantize_row_q4_k(const float *src, void *dst, int64_t n, const float *importance);
void vec_dot_q4_k_q8_k(int64_t n, float *out, const void *weights, const void *activations);

void dequantize_row_q5_k(const void *src, float *dst, int64_t n);
void quantize_row_q5_k(const float *src, void *dst, int64_t n, const float *importance);
void vec_dot_q5_k_q8_k(int64_t n, float *out, const void *weights, const void *activations);

void dequantize_row_q6_k(const void *src, float *dst, int64_t n);
void quantize_row_q6_k(const float *src, void *dst, int64_t n, const float *importance);
void vec_dot_q6_k_q8_k(int64_t n, float *out, const void *weights, const void *activations);

// Q8_K (activations of the K-quants and IQ4_XS): float d = max/-127 where max is the signed
// value of largest magnitude, q = round-half-even(x / d) capped at 127, bsums = sums of 16.
void dequantize_row_q8_k(const void *src, float *dst, int64_t n);
void quantize_row_q8_k(const float *src, void *dst, int64_t n, const float *importance);

// ---- non-linear 4-bit (quants_iq4.cpp) ----
// The 16 levels both IQ4 types index, in units of the block scale.
extern const int8_t kIq4Levels[16];

void dequantize_row_iq4_nl(const void *src, float *dst, int64_t n);
void quantize_row_iq4_nl(const float *src, void *dst, int64_t n, const float *importance);
void vec_dot_iq4_nl_q8_0(int64_t n, float *out, const void *weights, const void *activations);

void dequantize_row_iq4_xs(const void *src, float *dst, int64_t n);
void quantize_row_iq4_xs(const float *src, void *dst, int64_t n, const float *importance);
void vec_dot_iq4_xs_q8_k(int64_t n, float *out, const void *weights, const void *activations);

// ---- MXFP4 (quants_mxfp4.cpp) ----
// The E2M1 values doubled: 0, ±0.5, ±1, ±1.5, ±2, ±3, ±4, ±6 as 0, ±1, ... ±12.
extern const int8_t kMxfp4Values[16];
// The exponent puts the block's largest magnitude in [4, 8) times the half scale (the top
// code is 12), each value takes the nearest code (the first on a tie), as llama.cpp's
// reference quantizer; `importance` is not used (the format has no scale to fit).
void dequantize_row_mxfp4(const void *src, float *dst, int64_t n);
void quantize_row_mxfp4(const float *src, void *dst, int64_t n, const float *importance);
void vec_dot_mxfp4_q8_0(int64_t n, float *out, const void *weights, const void *activations);

// ---- K-quant scale packing, shared with SIMD paths ----
// Q4_K / Q5_K: sub-block j (0..7) of the 12 packed bytes -> 6-bit scale and 6-bit min.
inline void unpack_scale_min_k4(int j, const uint8_t *packed, uint8_t *scale, uint8_t *min) {
    if (j < 4) {
        *scale = packed[j] & 63;
        *min = packed[j + 4] & 63;
    } else {
        *scale = static_cast<uint8_t>((packed[j + 4] & 0xF) | ((packed[j - 4] >> 6) << 4));
        *min = static_cast<uint8_t>((packed[j + 4] >> 4) | ((packed[j] >> 6) << 4));
    }
}
// Q3_K: the 12 packed bytes -> 16 signed scales in [-32, 31].
inline void unpack_scales_q3_k(const uint8_t *packed, int8_t *scales) {
    for (int j = 0; j < 16; ++j) {
        const int low = j < 8 ? (packed[j] & 0xF) : (packed[j - 8] >> 4);
        const int high = (packed[8 + (j % 4)] >> (2 * (j / 4))) & 3;
        scales[j] = static_cast<int8_t>((low | (high << 4)) - 32);
    }
}

}  // namespace ember::cpu
