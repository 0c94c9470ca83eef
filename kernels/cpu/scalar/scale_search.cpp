#include "cpu/scalar/scale_search.h"

#include <algorithm>
#include <cmath>

#include "cpu/isa.h"

namespace ember::cpu {

namespace {

constexpr float kTiny = 1e-30f;

// The value of largest magnitude, with its sign.
float signed_absmax(int n, const float *x) {
    float amax = 0.0f, max = 0.0f;
    for (int i = 0; i < n; ++i) {
        if (std::fabs(x[i]) > amax) {
            amax = std::fabs(x[i]);
            max = x[i];
        }
    }
    return max;
}

// For codes q, the least-squares scale is sum(w x q) / sum(w q^2) and the error it leaves is
// sum(w x^2) - sum(w x q)^2 / sum(w q^2): maximizing num^2/den minimizes the error.
struct Fit {
    double num = 0.0, den = 0.0;
    double score() const { return den > 0.0 ? num * num / den : 0.0; }
};

Fit quantize_with(int n, const float *x, const float *w, int qmin, int qmax, float iscale, int8_t *q) {
    Fit f;
    for (int i = 0; i < n; ++i) {
        const int l = std::clamp(round_to_int(x[i] * iscale), qmin, qmax);
        q[i] = static_cast<int8_t>(l);
        f.num += static_cast<double>(w[i]) * x[i] * l;
        f.den += static_cast<double>(w[i]) * l * l;
    }
    return f;
}

Fit assign_levels(int n, const float *x, const float *w, const int8_t *levels, float iscale, uint8_t *q) {
    Fit f;
    for (int i = 0; i < n; ++i) {
        const int k = nearest_level(levels, x[i] * iscale);
        q[i] = static_cast<uint8_t>(k);
        f.num += static_cast<double>(w[i]) * x[i] * levels[k];
        f.den += static_cast<double>(w[i]) * levels[k] * levels[k];
    }
    return f;
}

// The candidate a "den > 0 and num^2/den > the best so far" scan keeps (-1: none) and its score.
// The scores come first, in a loop of their own: divisions that do not wait on the compares.
int best_fit(int k, const double *num, const double *den, double *best_score) {
    double score[kMaxCandidates];
    for (int j = 0; j < k; ++j) score[j] = num[j] * num[j] / den[j];
    int best = -1;
    for (int j = 0; j < k; ++j) {
        if (den[j] > 0.0 && score[j] > *best_score) {
            *best_score = score[j];
            best = j;
        }
    }
    return best;
}

int grid_code(float x, float iscale, float lo, int qmin, int qmax) {
    return std::clamp(round_to_int(iscale * (x - lo)), qmin, qmax);
}

}  // namespace

const ScaleSearchKernels &scale_search_kernels() {
    // The searches call this per sub-block and the level is fixed for the process: look the
    // table up once (a bad EMBER_ISA throws here, and the next call tries again).
    static const ScaleSearchKernels &kernels = isa_kernels(active_isa_level()).scale_search;
    return kernels;
}

int nearest_level(const int8_t *levels, float t) {
    // Binary search for the first level above t, then pick the closer neighbour.
    int lo = 0, hi = 16;
    while (lo < hi) {
        const int mid = (lo + hi) / 2;
        if (static_cast<float>(levels[mid]) < t) lo = mid + 1; else hi = mid;
    }
    if (lo == 0) return 0;
    if (lo == 16) return 15;
    return (t - levels[lo - 1] <= levels[lo] - t) ? lo - 1 : lo;
}

float fit_scale(int n, const float *x, const float *w, int qmin, int qmax, int8_t *q) {
    const float max = signed_absmax(n, x);
    if (std::fabs(max) < kTiny) {
        std::fill(q, q + n, int8_t{0});
        return 0.0f;
    }
    // Map the extreme value to either end of the code range, stretched by up to +-1 code.
    float iscale[42];
    int k = 0;
    for (const int end : {qmin, qmax}) {
        const float sign = end < 0 ? -1.0f : 1.0f;
        for (int j = -10; j <= 10; ++j) iscale[k++] = (static_cast<float>(end) + sign * 0.1f * static_cast<float>(j)) / max;
    }
    double swqq[42], swxq[42];
    scale_search_kernels().code_sums(n, x, w, 0.0f, qmin, qmax, iscale, k, nullptr, swqq, swxq);
    double best_score = -1.0;
    const int best = best_fit(k, swxq, swqq, &best_score);
    float best_d = best >= 0 ? static_cast<float>(swxq[best] / swqq[best]) : 0.0f;
    if (best >= 0)
        for (int i = 0; i < n; ++i) q[i] = static_cast<int8_t>(grid_code(x[i], iscale[best], 0.0f, qmin, qmax));
    int8_t trial[256];
    for (int iter = 0; iter < 4 && best_d != 0.0f; ++iter) {
        const Fit f = quantize_with(n, x, w, qmin, qmax, 1.0f / best_d, trial);
        if (!(f.den > 0.0 && f.score() > best_score * (1.0 + 1e-12))) break;
        best_score = f.score();
        best_d = static_cast<float>(f.num / f.den);
        std::copy(trial, trial + n, q);
    }
    return best_d;
}

namespace {

// Least squares for x ~ d*q + b from the sums of the codes; b is clamped to <= 0.
void affine_solve(double sw, double swx, double swq, double swqq, double swxq, float *d, float *b) {
    const double det = sw * swqq - swq * swq;
    double dd = 0.0, bb = 0.0;
    if (det > 0.0) {
        dd = (sw * swxq - swq * swx) / det;
        bb = (swqq * swx - swq * swxq) / det;
    }
    if (det <= 0.0 || bb > 0.0 || dd < 0.0) {
        bb = 0.0;
        dd = swqq > 0.0 ? std::max(0.0, swxq / swqq) : 0.0;
    }
    *d = static_cast<float>(dd);
    *b = static_cast<float>(bb);
}

}  // namespace

void fit_scale_min(int n, const float *x, const float *w, int qmax, uint8_t *q, float *d_out, float *m_out) {
    float lo = x[0], hi = x[0];
    for (int i = 1; i < n; ++i) {
        lo = std::min(lo, x[i]);
        hi = std::max(hi, x[i]);
    }
    lo = std::min(lo, 0.0f);  // the offset -m can only be <= 0
    if (hi - lo < kTiny) {
        std::fill(q, q + n, uint8_t{0});
        *d_out = 0.0f;
        *m_out = -lo;
        return;
    }
    double sw = 0.0, swx = 0.0;
    for (int i = 0; i < n; ++i) {
        sw += w[i];
        swx += static_cast<double>(w[i]) * x[i];
    }
    // 21 scales that map [lo, hi] onto the codes, each solved for its (d, b) and scored by the
    // error of the float (d, b) actually used; the first of the least errors wins.
    constexpr int kGrid = 21;
    float iscale[kGrid], d[kGrid], b[kGrid];
    double swq[kGrid], swqq[kGrid], swxq[kGrid], err[kGrid];
    for (int k = 0; k < kGrid; ++k)
        iscale[k] = (static_cast<float>(qmax) - 0.5f + 0.1f * static_cast<float>(k)) / (hi - lo);
    const ScaleSearchKernels &ss = scale_search_kernels();
    ss.code_sums(n, x, w, lo, 0, qmax, iscale, kGrid, swq, swqq, swxq);
    for (int k = 0; k < kGrid; ++k) affine_solve(sw, swx, swq[k], swqq[k], swxq[k], &d[k], &b[k]);
    ss.fit_errors(n, x, w, lo, 0, qmax, iscale, d, b, kGrid, err);
    const int best = first_least(err, kGrid);
    double best_err = err[best];
    float best_d = d[best], best_b = b[best];
    for (int i = 0; i < n; ++i) q[i] = static_cast<uint8_t>(grid_code(x[i], iscale[best], lo, 0, qmax));

    // Then alternate "best codes for this (d, b)" and "best (d, b) for these codes" while the
    // error falls. The error sum stops once it reaches the best (its terms are >= 0, so it
    // could only end >= the best: not better).
    uint8_t trial[256];
    for (int iter = 0; iter < 4 && best_d > 0.0f; ++iter) {
        const float inv = 1.0f / best_d;
        for (int i = 0; i < n; ++i) trial[i] = static_cast<uint8_t>(std::clamp(round_to_int((x[i] - best_b) * inv), 0, qmax));
        double tq = 0.0, tqq = 0.0, txq = 0.0;
        for (int i = 0; i < n; ++i) {
            tq += static_cast<double>(w[i]) * trial[i];
            tqq += static_cast<double>(w[i]) * trial[i] * trial[i];
            txq += static_cast<double>(w[i]) * x[i] * trial[i];
        }
        float td, tb;
        affine_solve(sw, swx, tq, tqq, txq, &td, &tb);
        double e2 = 0.0;
        for (int i = 0; i < n; ++i) {
            const double e = static_cast<double>(td) * trial[i] + tb - x[i];
            e2 += w[i] * e * e;
            if (e2 >= best_err) break;
        }
        if (!(e2 < best_err)) break;
        best_err = e2;
        best_d = td;
        best_b = tb;
        std::copy(trial, trial + n, q);
    }
    *d_out = best_d;
    *m_out = -best_b;
}

float fit_scale_levels(int n, const float *x, const float *w, const int8_t *levels, uint8_t *q) {
    const float max = signed_absmax(n, x);
    if (std::fabs(max) < kTiny) {
        const int zero = nearest_level(levels, 0.0f);
        std::fill(q, q + n, static_cast<uint8_t>(zero));
        return 0.0f;
    }
    float iscale[62];
    int k = 0;
    for (const int end : {static_cast<int>(levels[0]), static_cast<int>(levels[15])}) {
        const float sign = end < 0 ? -1.0f : 1.0f;
        for (int j = -15; j <= 15; ++j) iscale[k++] = (static_cast<float>(end) + sign * static_cast<float>(j)) / max;
    }
    double num[62], den[62];
    scale_search_kernels().level_sums(n, x, w, levels, iscale, k, num, den);
    double best_score = -1.0;
    const int best = best_fit(k, num, den, &best_score);
    float best_d = best >= 0 ? static_cast<float>(num[best] / den[best]) : 0.0f;
    if (best >= 0)
        for (int i = 0; i < n; ++i) q[i] = static_cast<uint8_t>(nearest_level(levels, x[i] * iscale[best]));
    uint8_t trial[256];
    for (int iter = 0; iter < 4 && best_d != 0.0f; ++iter) {
        const Fit f = assign_levels(n, x, w, levels, 1.0f / best_d, trial);
        if (!(f.den > 0.0 && f.score() > best_score * (1.0 + 1e-12))) break;
        best_score = f.score();
        best_d = static_cast<float>(f.num / f.den);
        std::copy(trial, trial + n, q);
    }
    return best_d;
}

// ---- the candidate loops' references ----

void code_sums_reference(int n, const float *x, const float *w, float lo, int qmin, int qmax, const float *iscale,
                         int k, double *swq, double *swqq, double *swxq) {
    for (int j = 0; j < k; ++j) {
        double sq = 0.0, sqq = 0.0, sxq = 0.0;
        for (int i = 0; i < n; ++i) {
            const int c = grid_code(x[i], iscale[j], lo, qmin, qmax);
            const double wc = static_cast<double>(w[i]) * c;
            sq += wc;
            sqq += wc * c;
            sxq += static_cast<double>(w[i]) * x[i] * c;
        }
        if (swq != nullptr) swq[j] = sq;
        swqq[j] = sqq;
        swxq[j] = sxq;
    }
}

void fit_errors_reference(int n, const float *x, const float *w, float lo, int qmin, int qmax, const float *iscale,
                          const float *d, const float *b, int k, double *err) {
    for (int j = 0; j < k; ++j) {
        double sum = 0.0;
        for (int i = 0; i < n; ++i) {
            const int c = grid_code(x[i], iscale[j], lo, qmin, qmax);
            const double e = static_cast<double>(d[j]) * c + b[j] - x[i];
            sum += w[i] * e * e;
        }
        err[j] = sum;
    }
}

void grid_errors_reference(int n, const float *x, const float *w, int qmin, int qmax, const float *ds, const float *dm,
                           const float *inv, int k, double *err) {
    for (int j = 0; j < k; ++j) {
        double sum = 0.0;
        for (int i = 0; i < n; ++i) {
            const int c = std::clamp(round_to_int((x[i] + dm[j]) * inv[j]), qmin, qmax);
            const double e = static_cast<double>(ds[j] * static_cast<float>(c) - dm[j]) - x[i];
            sum += w[i] * e * e;
        }
        err[j] = sum;
    }
}

void level_sums_reference(int n, const float *x, const float *w, const int8_t *levels, const float *iscale, int k,
                          double *num, double *den) {
    for (int j = 0; j < k; ++j) {
        double sn = 0.0, sd = 0.0;
        for (int i = 0; i < n; ++i) {
            const int c = levels[nearest_level(levels, x[i] * iscale[j])];
            sn += static_cast<double>(w[i]) * x[i] * c;
            sd += static_cast<double>(w[i]) * c * c;
        }
        num[j] = sn;
        den[j] = sd;
    }
}

}  // namespace ember::cpu
