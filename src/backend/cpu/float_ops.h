// The float ops of the forward pass (everything but weight matmuls and attention), written to
// round exactly as llama.cpp's CPU backend does on an AVX-512 machine, where the conformance
// references were made. Bit-exact activations matter because quantized models quantize them
// again before every matmul: a one-ulp difference can move a value across an int8 rounding
// boundary, and a few such flips per layer grow into percent-level logit differences on
// ill-conditioned positions. The results do not depend on the ISA level (std::fma is exact
// everywhere); the hot loops get FMA-vectorized clones on x86-64.
#pragma once

#include <cstdint>

#include "core/graph.h"

// Marks a function whose loops of std::fma should also be compiled for x86-64-v3 (AVX2+FMA),
// picked at load time when the CPU has it; elsewhere std::fma is a (correct, slower) call.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define EMBER_FMA_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
// The same with an AVX-512 clone too, for loops that need its 32 registers.
#define EMBER_WIDE_FMA_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define EMBER_FMA_CLONES
#define EMBER_WIDE_FMA_CLONES
#endif

namespace ember::backend {

// y = x / sqrt(mean(x²) + eps) * weight, the sum of squares of float products in double.
void rms_norm_row(const float *x, const float *weight, float *y, int64_t n, float eps);

// out = x with each head of each token rotated by its position (RopeParams). The cos/sin
// table of a position is built in float with theta advancing by base^(-2/n_rot) per pair;
// each rotated pair is (x0·c − x1·s, x0·s + x1·c) with the second product of each fused.
// freq_factors: n_rot/2 divisors of the angles (Llama 3.1 rope_freqs), nullable.
void rope_rows(const float *x, float *out, int64_t n_tokens, int64_t n_cols, const RopeParams &p,
               const int32_t *positions, const float *freq_factors);

// out = silu(gate) * up, silu(g) = g / (1 + e^-g); groups of 16 use exp_approx, a tail of
// fewer than 16 uses the libm exp (as llama.cpp's 16-lane loop and its scalar remainder).
void swiglu_row(const float *gate, const float *up, float *out, int64_t n);
// out = gelu(gate) * up, GELU with the tanh approximation looked up for the F16-rounded gate
// (the result rounded to F16, as llama.cpp's table); gelu(x) = 0 below -10 and x above 10.
void geglu_row(const float *gate, const float *up, float *out, int64_t n);
// out = act(gate) * up for the Glu op's activation.
void glu_row(Activation act, const float *gate, const float *up, float *out, int64_t n);
// x = softmax(x) in place: e^(x - max) (groups of 16 with exp_approx, a tail with the libm
// exp), summed in double, times 1/sum (llama.cpp's soft_max row).
void softmax_row(float *x, int64_t n);

}  // namespace ember::backend
