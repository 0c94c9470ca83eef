// Scale searches shared by the K-quant and IQ4 quantizers. Each fits one sub-block of n values
// x[i] with per-value weights w[i] (> 0) and picks the scale (and min) with the least weighted
// squared error sum_i w[i] * (x[i] - xhat[i])^2 among many candidates, then polishes it by
// alternating "best codes for this scale" and "best scale for these codes" steps.
#pragma once

#include <cmath>
#include <cstdint>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ember::cpu {

// x ~ d * q with integer q in [qmin, qmax] (qmin < 0 < qmax). Returns d (0 for an all-zero x),
// which may be negative: the sign picks which end of the asymmetric code range the largest
// value uses. Writes the codes to q.
float fit_scale(int n, const float *x, const float *w, int qmin, int qmax, int8_t *q);

// x ~ d * q - m with q in [0, qmax], d >= 0 and m >= 0 (the formats store the min unsigned,
// so a sub-block of positive values keeps m = 0).
void fit_scale_min(int n, const float *x, const float *w, int qmax, uint8_t *q, float *d, float *m);

// x ~ d * levels[q], q in [0, 16), levels sorted ascending. Returns d (may be negative).
float fit_scale_levels(int n, const float *x, const float *w, const int8_t *levels, uint8_t *q);

// Index of the level nearest to t (levels sorted ascending, 16 of them).
int nearest_level(const int8_t *levels, float t);

// Round to nearest, ties to even (the default FP environment), as an int. Inline: the
// quantizers call it for every candidate of every value (on x86 one CVTSS2SI, which rounds in
// the current mode as nearbyint does, instead of a libm call).
inline int round_to_int(float x) {
#if defined(__SSE2__)
    return _mm_cvtss_si32(_mm_set_ss(x));
#else
    return static_cast<int>(std::nearbyint(x));
#endif
}

}  // namespace ember::cpu
