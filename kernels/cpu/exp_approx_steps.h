// exp_approx's steps, written once for a float and for an xsimd batch of floats (fma is
// std::fma or xsimd::fma by argument-dependent lookup), so every level computes the same
// roundings. Internal linkage: each ISA level's translation unit gets its own copy, compiled
// with its own flags.
#pragma once

#include <cmath>

namespace ember::cpu {
namespace {

using std::fma;

// round(x / ln2), as a float holding an integer.
template <class F>
inline F exp_exponent(const F &x) {
    constexpr float kShift = 0x1.8p23f;  // adding it rounds to an integer
    return fma(x, F(0x1.715476p+0f), F(kShift)) - F(kShift);
}

// e^b for b = x − n·ln2 (ln2 split in two parts), |b| <= ln2/2.
template <class F>
inline F exp_reduced(const F &x, const F &n) {
    const F b = fma(-n, F(0x1.7f7d1cp-20f), fma(-n, F(0x1.62e4p-1f), x));
    const F b2 = b * b;
    // 1 + c1·b + c2·b² + c3·b³ + c4·b⁴ + c5·b⁵, evaluated in pairs.
    const F hi = fma(F(0x1.0e4020p-7f), b, F(0x1.573e2ep-5f));  // c5·b + c4
    const F mid = fma(F(0x1.555e66p-3f), b, F(0x1.fffdb6p-2f));  // c3·b + c2
    const F lo = fma(F(0x1.ffffecp-1f), b, F(1.0f));            // c1·b + 1
    return fma(fma(hi, b2, mid), b2, lo);
}

// Where the vector path is exact: 2^n a normal float, or n so small that the result is 0
// (e^b < 2^0.5 and 2^-150 rounds to 0). `&`, not `&&`: no branches.
template <class F>
inline auto exp_scale_normal(const F &n) {
    return (n >= F(-126.0f)) & (n <= F(127.0f));
}
template <class F>
inline auto exp_underflows(const F &n) {
    return n <= F(-151.0f);
}

}  // namespace
}  // namespace ember::cpu
