// Float kernels against straightforward double-precision references.
#include <catch2/catch.hpp>

#include <cmath>

#include "core/half.h"
#include "cpu/ops.h"
#include "kernel_test_util.h"

using namespace ember;
using namespace ember::cpu;
using namespace ember::test;

namespace {
double rel_err(double got, double want) { return std::fabs(got - want) / std::max(1e-6, std::fabs(want)); }
}  // namespace

TEST_CASE("rms_norm", "[ops]") {
    std::mt19937 rng(1);
    for (int64_t n : {1, 7, 64, 1000}) {
        const auto x = random_row(rng, n), wt = random_row(rng, n);
        double ss = 0.0;
        for (float v : x) ss += static_cast<double>(v) * v;
        const double s = 1.0 / std::sqrt(ss / static_cast<double>(n) + 1e-5);
        std::vector<float> y(static_cast<size_t>(n)), y2(static_cast<size_t>(n));
        rms_norm(x.data(), wt.data(), y.data(), n, 1e-5f);
        rms_norm(x.data(), nullptr, y2.data(), n, 1e-5f);
        for (size_t i = 0; i < y.size(); ++i) {
            CHECK(rel_err(y[i], x[i] * s * wt[i]) < 1e-5);
            CHECK(rel_err(y2[i], x[i] * s) < 1e-5);
        }
        std::vector<float> inplace = x;  // y may alias x
        rms_norm(inplace.data(), wt.data(), inplace.data(), n, 1e-5f);
        CHECK(inplace == y);
    }
}

TEST_CASE("softmax", "[ops]") {
    std::mt19937 rng(2);
    for (int64_t n : {1, 5, 33, 512}) {
        auto x = random_row(rng, n);
        x[0] = 80.0f;  // large values must not overflow
        std::vector<double> want(x.size());
        double mx = -INFINITY, sum = 0.0;
        for (float v : x) mx = std::max(mx, static_cast<double>(v));
        for (size_t i = 0; i < x.size(); ++i) sum += want[i] = std::exp(x[i] - mx);
        softmax(x.data(), n);
        for (size_t i = 0; i < x.size(); ++i) CHECK(std::fabs(x[i] - want[i] / sum) <= 1e-6 + 1e-5 * want[i] / sum);
    }
    float masked[4] = {1.0f, -INFINITY, 2.0f, -INFINITY};  // causal masks use -inf
    softmax(masked, 4);
    CHECK(masked[1] == 0.0f);
    CHECK(std::fabs(masked[0] + masked[2] - 1.0f) < 1e-6f);
}

TEST_CASE("swiglu, add, mul, scale", "[ops]") {
    std::mt19937 rng(3);
    const int64_t n = 77;
    const auto a = random_row(rng, n), b = random_row(rng, n);
    std::vector<float> out(static_cast<size_t>(n));
    swiglu(a.data(), b.data(), out.data(), n);
    for (size_t i = 0; i < out.size(); ++i) {
        const double g = a[i];
        CHECK(std::fabs(out[i] - g / (1.0 + std::exp(-g)) * b[i]) <= 1e-5 * (1.0 + std::fabs(g * b[i])));
    }
    add(a.data(), b.data(), out.data(), n);
    for (size_t i = 0; i < out.size(); ++i) CHECK(out[i] == a[i] + b[i]);
    mul(a.data(), b.data(), out.data(), n);
    for (size_t i = 0; i < out.size(); ++i) CHECK(out[i] == a[i] * b[i]);
    out = a;
    scale(out.data(), 0.125f, n);
    for (size_t i = 0; i < out.size(); ++i) CHECK(out[i] == a[i] * 0.125f);
}

TEST_CASE("rope rotates pairs by pos * base^(-2i/n_rot)", "[ops]") {
    std::mt19937 rng(4);
    const int64_t n_heads = 3, head_dim = 16, n_rot = 12, pos = 37;
    const float base = 10000.0f, fscale = 0.5f;
    std::vector<float> factors(static_cast<size_t>(n_rot / 2));
    for (size_t i = 0; i < factors.size(); ++i) factors[i] = 1.0f + 0.5f * static_cast<float>(i);
    for (RopeStyle style : {RopeStyle::Interleaved, RopeStyle::Neox}) {
        for (const float *ff : {static_cast<const float *>(nullptr), static_cast<const float *>(factors.data())}) {
            const auto x = random_row(rng, n_heads * head_dim);
            auto y = x;
            rope(y.data(), n_heads, head_dim, n_rot, pos, base, fscale, ff, style);
            for (int64_t h = 0; h < n_heads; ++h) {
                for (int64_t i = 0; i < n_rot / 2; ++i) {
                    const double theta = pos * fscale * std::pow(static_cast<double>(base), -2.0 * i / n_rot) /
                                         (ff ? ff[i] : 1.0);
                    const int64_t ia = style == RopeStyle::Interleaved ? 2 * i : i;
                    const int64_t ib = style == RopeStyle::Interleaved ? 2 * i + 1 : i + n_rot / 2;
                    const double x0 = x[static_cast<size_t>(h * head_dim + ia)], x1 = x[static_cast<size_t>(h * head_dim + ib)];
                    CHECK(std::fabs(y[static_cast<size_t>(h * head_dim + ia)] - (x0 * std::cos(theta) - x1 * std::sin(theta))) < 2e-4);
                    CHECK(std::fabs(y[static_cast<size_t>(h * head_dim + ib)] - (x0 * std::sin(theta) + x1 * std::cos(theta))) < 2e-4);
                }
                for (int64_t i = n_rot; i < head_dim; ++i)  // dims past n_rot are untouched
                    CHECK(y[static_cast<size_t>(h * head_dim + i)] == x[static_cast<size_t>(h * head_dim + i)]);
            }
        }
    }
}

TEST_CASE("half and bfloat16 row conversions are exact", "[ops]") {
    // Every half bit pattern (NaNs excepted: they only have to stay NaN).
    std::vector<uint16_t> h(65536);
    for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint16_t>(i);
    std::vector<float> f(h.size());
    fp16_to_fp32_row(h.data(), f.data(), static_cast<int64_t>(h.size()));
    std::vector<uint16_t> back(h.size());
    fp32_to_fp16_row(f.data(), back.data(), static_cast<int64_t>(f.size()));
    for (size_t i = 0; i < h.size(); ++i) {
        const float want = fp16_to_fp32(h[i]);
        if (std::isnan(want)) {
            CHECK(std::isnan(f[i]));
            CHECK(std::isnan(fp16_to_fp32(back[i])));
            continue;
        }
        CHECK(f32_to_bits(f[i]) == f32_to_bits(want));
        CHECK(back[i] == h[i]);
    }
    // Rounding of arbitrary floats, including ties, overflow and subnormals.
    std::mt19937 rng(5);
    std::uniform_int_distribution<uint32_t> bits;
    std::vector<float> src(4099);
    for (float &v : src) {
        v = bits_to_f32(bits(rng));
        if (std::isnan(v)) v = 1.0f;
        v = std::ldexp(std::fmod(v, 2.0f), static_cast<int>(bits(rng) % 50) - 30);
    }
    src[0] = 65520.0f, src[1] = 1.0009765625f + 0.00048828125f, src[2] = 5.96e-8f, src[3] = -0.0f;
    std::vector<uint16_t> h16(src.size()), b16(src.size());
    fp32_to_fp16_row(src.data(), h16.data(), static_cast<int64_t>(src.size()));
    fp32_to_bf16_row(src.data(), b16.data(), static_cast<int64_t>(src.size()));
    std::vector<float> bf(src.size());
    bf16_to_fp32_row(b16.data(), bf.data(), static_cast<int64_t>(src.size()));
    for (size_t i = 0; i < src.size(); ++i) {
        CHECK(h16[i] == fp32_to_fp16(src[i]));
        CHECK(b16[i] == fp32_to_bf16(src[i]));
        CHECK(f32_to_bits(bf[i]) == f32_to_bits(bf16_to_fp32(b16[i])));
    }
}
