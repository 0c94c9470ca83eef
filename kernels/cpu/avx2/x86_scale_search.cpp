// The quantizers' candidate loops (cpu/scalar/scale_search.h) with 8 candidates side by side in
// the lanes. Each lane does its candidate's reference arithmetic, value by value in the same
// order, and this file is built with -ffp-contract=off (no multiply and add fused), so every
// sum has the reference's bits and ember-quantize writes the same bytes at every level.
// AVX2 is also what the AVX-512 levels use: the lanes hold doubles, 4 per 256-bit vector.
#include <immintrin.h>

#include <algorithm>

#include "cpu/isa.h"
#include "cpu/scalar/scale_search.h"

namespace ember::cpu {

namespace {

// Lanes j..j+7 of a candidate parameter, the lanes past k repeating the last candidate.
__m256 candidate_lanes(const float *v, int j, int k) {
    if (j + 8 <= k) return _mm256_loadu_ps(v + j);
    alignas(32) float t[8];
    for (int l = 0; l < 8; ++l) t[l] = v[std::min(j + l, k - 1)];
    return _mm256_load_ps(t);
}

void store_candidates(double *out, int j, int k, __m256d lo, __m256d hi) {
    alignas(32) double t[8];
    _mm256_store_pd(t, lo);
    _mm256_store_pd(t + 4, hi);
    for (int l = 0; l < 8 && j + l < k; ++l) out[j + l] = t[l];
}

// clamp(round_to_int(v), qmin, qmax) per lane: CVTPS2DQ rounds in the current mode and gives
// INT_MIN out of range, exactly as the CVTSS2SI of round_to_int.
__m256i clamped_codes(__m256 v, __m256i qmin, __m256i qmax) {
    return _mm256_max_epi32(_mm256_min_epi32(_mm256_cvtps_epi32(v), qmax), qmin);
}

__m256d low_doubles(__m256i v) { return _mm256_cvtepi32_pd(_mm256_castsi256_si128(v)); }
__m256d high_doubles(__m256i v) { return _mm256_cvtepi32_pd(_mm256_extracti128_si256(v, 1)); }
__m256d low_doubles(__m256 v) { return _mm256_cvtps_pd(_mm256_castps256_ps128(v)); }
__m256d high_doubles(__m256 v) { return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)); }

// acc + (a * b) * b, and acc + a * b, unfused.
__m256d add_times2(__m256d acc, __m256d a, __m256d b) { return _mm256_add_pd(acc, _mm256_mul_pd(_mm256_mul_pd(a, b), b)); }
__m256d add_times(__m256d acc, __m256d a, __m256d b) { return _mm256_add_pd(acc, _mm256_mul_pd(a, b)); }

// The per-value terms every candidate shares, computed once per call (n <= 256).
struct ValueTerms {
    float shifted[256];  // x - lo
    double x[256], w[256], wx[256];
    ValueTerms(int n, const float *xs, const float *wt, float lo) {
        for (int i = 0; i < n; ++i) {
            shifted[i] = xs[i] - lo;
            x[i] = static_cast<double>(xs[i]);
            w[i] = static_cast<double>(wt[i]);
            wx[i] = static_cast<double>(wt[i]) * xs[i];
        }
    }
};

// swq may be null (the symmetric searches use only swqq and swxq): its sum is then skipped.
// With unit weights (kUnit: no importance matrix, the common case) w c = c and w c c = c^2 are
// integers, and so is every partial sum of them (far below 2^53): those double sums are exact,
// equal to int32 sums, which take half the vector work. sum(w x c) = sum(x c) still rounds at
// every step and stays a sequential double sum.
template <bool kWithSwq, bool kUnit>
void code_sums_lanes(int n, const ValueTerms &v, int qmin, int qmax, const float *iscale, int k, double *swq,
                     double *swqq, double *swxq) {
    const __m256i vmin = _mm256_set1_epi32(qmin), vmax = _mm256_set1_epi32(qmax);
    for (int j = 0; j < k; j += 8) {
        const __m256 is = candidate_lanes(iscale, j, k);
        __m256d q0 = _mm256_setzero_pd(), q1 = q0, qq0 = q0, qq1 = q0, xq0 = q0, xq1 = q0;
        __m256i q = _mm256_setzero_si256(), qq = q;  // kUnit's integer sums
        for (int i = 0; i < n; ++i) {
            const __m256i c = clamped_codes(_mm256_mul_ps(is, _mm256_broadcast_ss(&v.shifted[i])), vmin, vmax);
            const __m256d c0 = low_doubles(c), c1 = high_doubles(c);
            const __m256d wx = _mm256_broadcast_sd(&v.wx[i]);
            xq0 = add_times(xq0, wx, c0);
            xq1 = add_times(xq1, wx, c1);
            if constexpr (kUnit) {
                if (kWithSwq) q = _mm256_add_epi32(q, c);
                qq = _mm256_add_epi32(qq, _mm256_mullo_epi32(c, c));
            } else {
                const __m256d wd = _mm256_broadcast_sd(&v.w[i]);
                const __m256d wc0 = _mm256_mul_pd(wd, c0), wc1 = _mm256_mul_pd(wd, c1);
                if (kWithSwq) {
                    q0 = _mm256_add_pd(q0, wc0);
                    q1 = _mm256_add_pd(q1, wc1);
                }
                qq0 = add_times(qq0, wc0, c0);
                qq1 = add_times(qq1, wc1, c1);
            }
        }
        if constexpr (kUnit) {
            q0 = low_doubles(q), q1 = high_doubles(q);
            qq0 = low_doubles(qq), qq1 = high_doubles(qq);
        }
        if (kWithSwq) store_candidates(swq, j, k, q0, q1);
        store_candidates(swqq, j, k, qq0, qq1);
        store_candidates(swxq, j, k, xq0, xq1);
    }
}

bool unit_weights(int n, const float *w) {
    for (int i = 0; i < n; ++i)
        if (w[i] != 1.0f) return false;
    return true;
}

void code_sums_avx2(int n, const float *x, const float *w, float lo, int qmin, int qmax, const float *iscale, int k,
                    double *swq, double *swqq, double *swxq) {
    const ValueTerms v(n, x, w, lo);
    const bool unit = unit_weights(n, w);
    if (swq != nullptr)
        (unit ? code_sums_lanes<true, true> : code_sums_lanes<true, false>)(n, v, qmin, qmax, iscale, k, swq, swqq, swxq);
    else
        (unit ? code_sums_lanes<false, true> : code_sums_lanes<false, false>)(n, v, qmin, qmax, iscale, k, swq, swqq,
                                                                              swxq);
}

// err + (w e) e; with unit weights (w e) e = e e exactly, one multiply fewer.
template <bool kUnit>
__m256d add_weighted_square(__m256d err, __m256d w, __m256d e) {
    return kUnit ? _mm256_add_pd(err, _mm256_mul_pd(e, e)) : add_times2(err, w, e);
}

template <bool kUnit>
void fit_errors_lanes(int n, const ValueTerms &v, int qmin, int qmax, const float *iscale, const float *d,
                      const float *b, int k, double *err) {
    const __m256i vmin = _mm256_set1_epi32(qmin), vmax = _mm256_set1_epi32(qmax);
    for (int j = 0; j < k; j += 8) {
        const __m256 is = candidate_lanes(iscale, j, k), dv = candidate_lanes(d, j, k), bv = candidate_lanes(b, j, k);
        const __m256d d0 = low_doubles(dv), d1 = high_doubles(dv), b0 = low_doubles(bv), b1 = high_doubles(bv);
        __m256d e0 = _mm256_setzero_pd(), e1 = e0;
        for (int i = 0; i < n; ++i) {
            const __m256i c = clamped_codes(_mm256_mul_ps(is, _mm256_broadcast_ss(&v.shifted[i])), vmin, vmax);
            const __m256d xd = _mm256_broadcast_sd(&v.x[i]), wd = _mm256_broadcast_sd(&v.w[i]);
            // e = (d c + b) - x, then err += (w e) e
            const __m256d r0 = _mm256_sub_pd(_mm256_add_pd(_mm256_mul_pd(d0, low_doubles(c)), b0), xd);
            const __m256d r1 = _mm256_sub_pd(_mm256_add_pd(_mm256_mul_pd(d1, high_doubles(c)), b1), xd);
            e0 = add_weighted_square<kUnit>(e0, wd, r0);
            e1 = add_weighted_square<kUnit>(e1, wd, r1);
        }
        store_candidates(err, j, k, e0, e1);
    }
}

void fit_errors_avx2(int n, const float *x, const float *w, float lo, int qmin, int qmax, const float *iscale,
                     const float *d, const float *b, int k, double *err) {
    const ValueTerms v(n, x, w, lo);
    (unit_weights(n, w) ? fit_errors_lanes<true> : fit_errors_lanes<false>)(n, v, qmin, qmax, iscale, d, b, k, err);
}

template <bool kUnit>
void grid_errors_lanes(int n, const float *x, const ValueTerms &v, int qmin, int qmax, const float *ds,
                       const float *dm, const float *inv, int k, double *err) {
    const __m256i vmin = _mm256_set1_epi32(qmin), vmax = _mm256_set1_epi32(qmax);
    for (int j = 0; j < k; j += 8) {
        const __m256 dsv = candidate_lanes(ds, j, k), dmv = candidate_lanes(dm, j, k), iv = candidate_lanes(inv, j, k);
        __m256d e0 = _mm256_setzero_pd(), e1 = e0;
        for (int i = 0; i < n; ++i) {
            const __m256i c = clamped_codes(_mm256_mul_ps(_mm256_add_ps(_mm256_broadcast_ss(&x[i]), dmv), iv), vmin, vmax);
            const __m256 xhat = _mm256_sub_ps(_mm256_mul_ps(dsv, _mm256_cvtepi32_ps(c)), dmv);
            const __m256d xd = _mm256_broadcast_sd(&v.x[i]), wd = _mm256_broadcast_sd(&v.w[i]);
            e0 = add_weighted_square<kUnit>(e0, wd, _mm256_sub_pd(low_doubles(xhat), xd));
            e1 = add_weighted_square<kUnit>(e1, wd, _mm256_sub_pd(high_doubles(xhat), xd));
        }
        store_candidates(err, j, k, e0, e1);
    }
}

void grid_errors_avx2(int n, const float *x, const float *w, int qmin, int qmax, const float *ds, const float *dm,
                      const float *inv, int k, double *err) {
    const ValueTerms v(n, x, w, 0.0f);
    (unit_weights(n, w) ? grid_errors_lanes<true> : grid_errors_lanes<false>)(n, x, v, qmin, qmax, ds, dm, inv, k, err);
}

// With unit weights den = sum(levels[c]^2) is a sum of integers below 2^24 all the way (levels
// within +-127, n <= 256), exact in float lanes: 8 per operation.
template <bool kUnit>
void level_sums_lanes(int n, const float *x, const ValueTerms &v, const int8_t *levels, const float *iscale, int k,
                      double *num, double *den) {
    float lv[16];
    for (int m = 0; m < 16; ++m) lv[m] = static_cast<float>(levels[m]);
    const __m256 low_table = _mm256_loadu_ps(lv), high_table = _mm256_loadu_ps(lv + 8);
    const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi32(1), fifteen = _mm256_set1_epi32(15),
                  seven = _mm256_set1_epi32(7);
    auto level_at = [&](__m256i idx) {
        const __m256 in_high = _mm256_castsi256_ps(_mm256_cmpgt_epi32(idx, seven));
        return _mm256_blendv_ps(_mm256_permutevar8x32_ps(low_table, idx), _mm256_permutevar8x32_ps(high_table, idx),
                                in_high);
    };
    for (int j = 0; j < k; j += 8) {
        const __m256 is = candidate_lanes(iscale, j, k);
        __m256d n0 = _mm256_setzero_pd(), n1 = n0, d0 = n0, d1 = n0;
        __m256 squares = _mm256_setzero_ps();
        for (int i = 0; i < n; ++i) {
            const __m256 t = _mm256_mul_ps(_mm256_broadcast_ss(&x[i]), is);
            // nearest_level: the number of levels below t (what its binary search finds; 0 for
            // a NaN), then the nearer of the two levels around it, the lower one on a tie.
            __m256i below = zero;
            for (int m = 0; m < 16; ++m)
                below = _mm256_sub_epi32(below, _mm256_castps_si256(_mm256_cmp_ps(_mm256_set1_ps(lv[m]), t, _CMP_LT_OQ)));
            const __m256 under = level_at(_mm256_max_epi32(_mm256_sub_epi32(below, one), zero));
            const __m256 over = level_at(_mm256_min_epi32(below, fifteen));
            const __m256 take_under = _mm256_cmp_ps(_mm256_sub_ps(t, under), _mm256_sub_ps(over, t), _CMP_LE_OQ);
            const __m256 c = _mm256_blendv_ps(over, under, take_under);
            const __m256d c0 = low_doubles(c), c1 = high_doubles(c);
            const __m256d wd = _mm256_broadcast_sd(&v.w[i]), wx = _mm256_broadcast_sd(&v.wx[i]);
            n0 = add_times(n0, wx, c0);
            n1 = add_times(n1, wx, c1);
            if (kUnit) {
                squares = _mm256_add_ps(squares, _mm256_mul_ps(c, c));
            } else {
                d0 = add_times2(d0, wd, c0);
                d1 = add_times2(d1, wd, c1);
            }
        }
        if (kUnit) {
            d0 = low_doubles(squares);
            d1 = high_doubles(squares);
        }
        store_candidates(num, j, k, n0, n1);
        store_candidates(den, j, k, d0, d1);
    }
}

void level_sums_avx2(int n, const float *x, const float *w, const int8_t *levels, const float *iscale, int k,
                     double *num, double *den) {
    const ValueTerms v(n, x, w, 0.0f);
    (unit_weights(n, w) ? level_sums_lanes<true> : level_sums_lanes<false>)(n, x, v, levels, iscale, k, num, den);
}

}  // namespace

void fill_avx2_scale_search(IsaKernels &k) {
    k.scale_search = ScaleSearchKernels{code_sums_avx2, fit_errors_avx2, grid_errors_avx2, level_sums_avx2};
}

}  // namespace ember::cpu
