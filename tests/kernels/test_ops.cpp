// The float row kernels of cpu/ops.h: the add, and the half row conversions bit for bit.
#include <catch2/catch.hpp>

#include <cmath>

#include "core/half.h"
#include "cpu/ops.h"
#include "kernel_test_util.h"

using namespace ember;
using namespace ember::cpu;
using namespace ember::test;

TEST_CASE("add, also in place", "[ops]") {
    std::mt19937 rng(3);
    for (int64_t n : {1, 7, 77, 1000}) {
        const auto a = random_row(rng, n), b = random_row(rng, n);
        std::vector<float> out(static_cast<size_t>(n));
        add(a.data(), b.data(), out.data(), n);
        for (size_t i = 0; i < out.size(); ++i) CHECK(out[i] == a[i] + b[i]);
        std::vector<float> acc = a;  // the bias add: out is a
        add(acc.data(), b.data(), acc.data(), n);
        CHECK(acc == out);
    }
}

TEST_CASE("half row conversions are exact", "[ops]") {
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
    std::vector<uint16_t> h16(src.size());
    fp32_to_fp16_row(src.data(), h16.data(), static_cast<int64_t>(src.size()));
    for (size_t i = 0; i < src.size(); ++i) CHECK(h16[i] == fp32_to_fp16(src[i]));
}
