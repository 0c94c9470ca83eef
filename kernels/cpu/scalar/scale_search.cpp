#include "cpu/scalar/scale_search.h"

#include <algorithm>
#include <cmath>

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

}  // namespace

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
    int8_t trial[256];
    double best_score = -1.0;
    float best_d = 0.0f;
    // Map the extreme value to either end of the code range, stretched by up to +-1 code.
    for (const int end : {qmin, qmax}) {
        const float sign = end < 0 ? -1.0f : 1.0f;
        for (int k = -10; k <= 10; ++k) {
            const float iscale = (static_cast<float>(end) + sign * 0.1f * static_cast<float>(k)) / max;
            const Fit f = quantize_with(n, x, w, qmin, qmax, iscale, trial);
            if (f.den > 0.0 && f.score() > best_score) {
                best_score = f.score();
                best_d = static_cast<float>(f.num / f.den);
                std::copy(trial, trial + n, q);
            }
        }
    }
    for (int iter = 0; iter < 4 && best_d != 0.0f; ++iter) {
        const Fit f = quantize_with(n, x, w, qmin, qmax, 1.0f / best_d, trial);
        if (!(f.den > 0.0 && f.score() > best_score * (1.0 + 1e-12))) break;
        best_score = f.score();
        best_d = static_cast<float>(f.num / f.den);
        std::copy(trial, trial + n, q);
    }
    return best_d;
}

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
    uint8_t trial[256];
    double best_err = 0.0;
    float best_d = 0.0f, best_b = 0.0f;
    bool have = false;
    // Least squares for x ~ d*q + b given the codes; b is clamped to <= 0. The error sum stops
    // once it reaches `bound` (terms are >= 0, so it could only end >= bound: not better).
    auto solve = [&](const uint8_t *codes, float *d, float *b, double bound) {
        double swq = 0.0, swqq = 0.0, swxq = 0.0;
        for (int i = 0; i < n; ++i) {
            swq += static_cast<double>(w[i]) * codes[i];
            swqq += static_cast<double>(w[i]) * codes[i] * codes[i];
            swxq += static_cast<double>(w[i]) * x[i] * codes[i];
        }
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
        // Error of the float (d, b) actually used.
        double err = 0.0;
        for (int i = 0; i < n; ++i) {
            const double e = static_cast<double>(*d) * codes[i] + *b - x[i];
            err += w[i] * e * e;
            if (err >= bound) break;
        }
        return err;
    };
    auto consider = [&](const uint8_t *codes) {
        float d, b;
        const double err = solve(codes, &d, &b, have ? best_err : HUGE_VAL);
        if (!have || err < best_err) {
            have = true;
            best_err = err;
            best_d = d;
            best_b = b;
            std::copy(codes, codes + n, q);
            return true;
        }
        return false;
    };
    for (int k = 0; k <= 20; ++k) {
        const float iscale = (static_cast<float>(qmax) - 0.5f + 0.1f * static_cast<float>(k)) / (hi - lo);
        for (int i = 0; i < n; ++i) trial[i] = static_cast<uint8_t>(std::clamp(round_to_int(iscale * (x[i] - lo)), 0, qmax));
        consider(trial);
    }
    for (int iter = 0; iter < 4 && best_d > 0.0f; ++iter) {
        const float inv = 1.0f / best_d;
        for (int i = 0; i < n; ++i) trial[i] = static_cast<uint8_t>(std::clamp(round_to_int((x[i] - best_b) * inv), 0, qmax));
        if (!consider(trial)) break;
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
    uint8_t trial[256];
    double best_score = -1.0;
    float best_d = 0.0f;
    for (const int end : {static_cast<int>(levels[0]), static_cast<int>(levels[15])}) {
        const float sign = end < 0 ? -1.0f : 1.0f;
        for (int k = -15; k <= 15; ++k) {
            const float iscale = (static_cast<float>(end) + sign * static_cast<float>(k)) / max;
            const Fit f = assign_levels(n, x, w, levels, iscale, trial);
            if (f.den > 0.0 && f.score() > best_score) {
                best_score = f.score();
                best_d = static_cast<float>(f.num / f.den);
                std::copy(trial, trial + n, q);
            }
        }
    }
    for (int iter = 0; iter < 4 && best_d != 0.0f; ++iter) {
        const Fit f = assign_levels(n, x, w, levels, 1.0f / best_d, trial);
        if (!(f.den > 0.0 && f.score() > best_score * (1.0 + 1e-12))) break;
        best_score = f.score();
        best_d = static_cast<float>(f.num / f.den);
        std::copy(trial, trial + n, q);
    }
    return best_d;
}

}  // namespace ember::cpu
