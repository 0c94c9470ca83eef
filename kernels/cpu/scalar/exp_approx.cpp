#include "cpu/exp_approx.h"

#include <algorithm>
#include <cstring>

#include "cpu/exp_approx_steps.h"
#include "cpu/isa.h"

namespace ember::cpu {

namespace {

// 2^n as a float for an integer n in [-126, 127].
inline float pow2(float n) {
    const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

}  // namespace

float exp_approx(float x) {
    const float n = exp_exponent(x);
    if (std::isnan(n)) return n;
    if (std::fabs(n) > 192.0f) return n > 0.0f ? INFINITY : 0.0f;
    return std::ldexp(exp_reduced(x, n), static_cast<int>(n));  // one rounding, like a scalef
}

void exp_approx_rows_scalar(const float *x, float *y, int64_t n) {
    // Vectorizable where exact (exp_scale_normal, exp_underflows: masked scores, x = -inf, give
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
            if (!exp_scale_normal(e) && !exp_underflows(e)) y[i0 + i] = exp_approx(in[i]);
        }
    }
}

void exp_approx_rows(const float *x, float *y, int64_t n) {
    if (FloatRowFn f = isa_kernels(active_isa_level()).exp_rows) return f(x, y, n);
    exp_approx_rows_scalar(x, y, n);
}

}  // namespace ember::cpu
