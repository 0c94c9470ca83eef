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

// The candidate loops, where the searches above spend their time. Each evaluates k candidates
// (k <= kMaxCandidates) over the same n values (n <= 256), and every candidate's sums run over the values
// in order exactly as the candidate alone would: a level may put candidates side by side in
// vector lanes (IsaKernels::scale_search) and must give the same bits as these references.
constexpr int kMaxCandidates = 64;
struct ScaleSearchKernels;
// The active ISA level's loops (cpu/isa.h).
const ScaleSearchKernels &scale_search_kernels();

// Codes c = clamp(round(iscale[j] * (x - lo)), qmin, qmax) and the least-squares sums
// swq = sum(w c), swqq = sum(w c c), swxq = sum(w x c) for candidate j (swq may be null: not
// needed).
void code_sums_reference(int n, const float *x, const float *w, float lo, int qmin, int qmax, const float *iscale,
                         int k, double *swq, double *swqq, double *swxq);
// sum(w e e), e = (d[j] c + b[j]) - x in double, with the codes of code_sums.
void fit_errors_reference(int n, const float *x, const float *w, float lo, int qmin, int qmax, const float *iscale,
                          const float *d, const float *b, int k, double *err);
// sum(w e e) for the stored form: codes c = clamp(round((x + dm[j]) * inv[j]), qmin, qmax),
// e = (ds[j] c - dm[j]) in float, minus x in double.
void grid_errors_reference(int n, const float *x, const float *w, int qmin, int qmax, const float *ds, const float *dm,
                           const float *inv, int k, double *err);
// Level codes c = nearest_level(levels, x * iscale[j]) and num = sum(w x levels[c]),
// den = sum(w levels[c]^2).
void level_sums_reference(int n, const float *x, const float *w, const int8_t *levels, const float *iscale, int k,
                          double *num, double *den);

// The index of the least of err[0..k) (k >= 1), the first on a tie: what a sequential "keep it
// if strictly better" scan keeps.
inline int first_least(const double *err, int k) {
    int best = 0;
    for (int j = 1; j < k; ++j)
        if (err[j] < err[best]) best = j;
    return best;
}

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
