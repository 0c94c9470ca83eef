// Float kernels of the transformer (everything that is not a weight matmul). All buffers are
// float32 unless the name says otherwise.
#pragma once

#include <cstdint>

namespace ember::cpu {

// y = x / sqrt(mean(x^2) + eps) * weight  (weight may be nullptr: no scaling). y may alias x.
void rms_norm(const float *x, const float *weight, float *y, int64_t n, float eps);
// x = softmax(x) in place, numerically stable.
void softmax(float *x, int64_t n);
// out = silu(gate) * up
void swiglu(const float *gate, const float *up, float *out, int64_t n);
void add(const float *a, const float *b, float *out, int64_t n);
void mul(const float *a, const float *b, float *out, int64_t n);
void scale(float *x, float s, int64_t n);

enum class RopeStyle {
    Interleaved,  // pairs (2i, 2i+1): llama-family GGUF layout
    Neox,         // pairs (i, i + n_rot/2): qwen2 and other NEOX-style models
};
// Rotates the first n_rot dims of each of n_heads heads (head_dim floats apart) of x, in place,
// for position `pos`: theta_i = pos * freq_scale * freq_base^(-2i/n_rot) / freq_factors[i]
// (freq_factors nullable, n_rot/2 values: Llama-3.1 rope_freqs).
void rope(float *x, int64_t n_heads, int64_t head_dim, int64_t n_rot, int64_t pos, float freq_base,
          float freq_scale, const float *freq_factors, RopeStyle style);

// Conversions (bit-exact IEEE half; BF16 rounds to nearest even, keeping NaNs NaN).
void fp16_to_fp32_row(const uint16_t *src, float *dst, int64_t n);
void fp32_to_fp16_row(const float *src, uint16_t *dst, int64_t n);
void bf16_to_fp32_row(const uint16_t *src, float *dst, int64_t n);
void fp32_to_bf16_row(const float *src, uint16_t *dst, int64_t n);

}  // namespace ember::cpu
