#include "backend/cpu/float_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace ember::backend {

namespace {

// exp_approx in two steps, so that a loop of the first vectorizes: e^x = poly · 2^n.
// round(x / ln2), as a float holding an integer.
inline float exp_exponent(float x) {
    constexpr float kShift = 0x1.8p23f;  // adding it rounds to an integer
    return std::fma(x, 0x1.715476p+0f, kShift) - kShift;
}
// e^b for b = x − n·ln2 (ln2 split in two parts), |b| <= ln2/2.
inline float exp_reduced(float x, float n) {
    const float b = std::fma(-n, 0x1.7f7d1cp-20f, std::fma(-n, 0x1.62e4p-1f, x));
    const float b2 = b * b;
    // 1 + c1·b + c2·b² + c3·b³ + c4·b⁴ + c5·b⁵, evaluated in pairs.
    const float hi = std::fma(0x1.0e4020p-7f, b, 0x1.573e2ep-5f);  // c5·b + c4
    const float mid = std::fma(0x1.555e66p-3f, b, 0x1.fffdb6p-2f);  // c3·b + c2
    const float lo = std::fma(0x1.ffffecp-1f, b, 1.0f);            // c1·b + 1
    return std::fma(std::fma(hi, b2, mid), b2, lo);
}
// 2^n as a float for an integer n in [-126, 127].
inline float pow2(float n) {
    const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

// Where exp_approx_rows' vector path is exact: 2^n a normal float, or n so small that the
// result is 0 (e^b < 2^0.5 and 2^-150 rounds to 0). `&`/`|`, not `&&`/`||`: no branches.
inline bool exp_scale_normal(float n) { return (n >= -126.0f) & (n <= 127.0f); }
inline bool exp_underflows(float n) { return n <= -151.0f; }

inline float exp_poly(float x) {
    const float n = exp_exponent(x);
    if (std::isnan(n)) return n;
    if (std::fabs(n) > 192.0f) return n > 0.0f ? INFINITY : 0.0f;
    return std::ldexp(exp_reduced(x, n), static_cast<int>(n));  // one rounding, like a scalef
}

}  // namespace

float exp_approx(float x) { return exp_poly(x); }

EMBER_FMA_CLONES
void exp_approx_rows(const float *x, float *y, int64_t n) {
    // Vectorized where exact (exp_scale_normal, exp_underflows: masked scores, x = -inf, give
    // 0); the rare rest (subnormal results, overflow, NaN) is redone one by one. Chunks of 16
    // keep their inputs aside, so y may be x.
    constexpr int64_t kChunk = 16;
    for (int64_t i0 = 0; i0 < n; i0 += kChunk) {
        const int64_t m = std::min(kChunk, n - i0);
        float in[kChunk];
        std::memcpy(in, x + i0, static_cast<size_t>(m) * sizeof(float));
        int redo = 0;
        for (int64_t i = 0; i < m; ++i) {
            const float e = exp_exponent(in[i]);
            const bool normal = exp_scale_normal(e), zero = exp_underflows(e);
            redo |= !(normal | zero);
            const float r = exp_reduced(in[i], e) * pow2(normal ? e : 0.0f);
            y[i0 + i] = zero ? 0.0f : r;
        }
        if (redo == 0) continue;
        for (int64_t i = 0; i < m; ++i) {
            const float e = exp_exponent(in[i]);
            if (!exp_scale_normal(e) && !exp_underflows(e)) y[i0 + i] = exp_poly(in[i]);
        }
    }
}

void rms_norm_row(const float *x, const float *weight, float *y, int64_t n, float eps) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * x[i]);
    const float mean = static_cast<float>(sum / static_cast<double>(n));
    const float scale = 1.0f / std::sqrt(mean + eps);
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * weight[i];
}

namespace {

// cos/sin of each of the n_rot/2 rotation angles at position `pos`: [n_rot/2][2].
void rope_table(const RopeParams &p, const float *freq_factors, int32_t pos, std::vector<float> &cs) {
    const int64_t half = p.n_rot / 2;
    cs.resize(static_cast<size_t>(2 * half));
    const float theta_scale = std::pow(p.freq_base, -2.0f / static_cast<float>(p.n_rot));
    float theta = static_cast<float>(pos);
    for (int64_t i = 0; i < half; ++i) {
        const float ff = freq_factors != nullptr ? freq_factors[i] : 1.0f;
        const float angle = p.freq_scale * (theta / ff);
        cs[static_cast<size_t>(2 * i)] = std::cos(angle);
        cs[static_cast<size_t>(2 * i + 1)] = std::sin(angle);
        theta *= theta_scale;
    }
}

EMBER_FMA_CLONES
void rotate_heads(float *v, const float *cs, const RopeParams &p) {
    const int64_t half = p.n_rot / 2;
    const bool neox = p.kind == RopeKind::Neox;
    for (int64_t h = 0; h < p.n_heads; ++h, v += p.head_dim) {
        for (int64_t i = 0; i < half; ++i) {
            const float c = cs[2 * i], s = cs[2 * i + 1];
            float &a = v[neox ? i : 2 * i];
            float &b = v[neox ? i + half : 2 * i + 1];
            const float x0 = a, x1 = b;
            const float x1s = x1 * s, x1c = x1 * c;
            a = std::fma(x0, c, -x1s);
            b = std::fma(x0, s, x1c);
        }
    }
}

}  // namespace

void rope_rows(const float *x, float *out, int64_t n_tokens, int64_t n_cols, const RopeParams &p,
               const int32_t *positions, const float *freq_factors) {
    std::memcpy(out, x, static_cast<size_t>(n_tokens * n_cols) * sizeof(float));
    std::vector<float> cs;
    for (int64_t t = 0; t < n_tokens; ++t) {
        rope_table(p, freq_factors, positions[t], cs);
        rotate_heads(out + t * n_cols, cs.data(), p);
    }
}

EMBER_FMA_CLONES
void swiglu_row(const float *gate, const float *up, float *out, int64_t n) {
    const int64_t n16 = n - n % 16;
    float e[16];
    for (int64_t i0 = 0; i0 < n16; i0 += 16) {
        for (int64_t i = 0; i < 16; ++i) e[i] = 0.0f - gate[i0 + i];
        exp_approx_rows(e, e, 16);
        for (int64_t i = 0; i < 16; ++i) out[i0 + i] = gate[i0 + i] / (1.0f + e[i]) * up[i0 + i];
    }
    for (int64_t i = n16; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

}  // namespace ember::backend
