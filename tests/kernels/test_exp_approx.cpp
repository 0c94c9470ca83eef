// The vectorized exp of the softmax and SiLU against its one-value reference: bit for bit, at
// every ISA level, for every kind of input (masked -inf, subnormal and zero results, overflow,
// NaN) and every position in a register or chunk, since prompt logits depend on it.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "cpu/exp_approx.h"
#include "cpu/isa.h"

namespace {

using namespace ember::cpu;

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

std::vector<float> exp_inputs() {
    const float inf = std::numeric_limits<float>::infinity();
    std::vector<float> x = {-inf, inf, std::nanf(""), 0.0f, -0.0f, 1.0f, -1.0f, 88.0f, 88.8f, 89.0f, 100.0f,
                            -87.0f, -87.4f, -88.0f, -95.0f, -103.0f, -103.9f, -104.0f, -104.5f, -105.0f, -120.0f,
                            -200.0f, -1e30f, 1e30f};
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> wide(-110.0f, 90.0f), near(-2.0f, 2.0f);
    for (int i = 0; i < 300; ++i) x.push_back(wide(rng));
    for (int i = 0; i < 200; ++i) x.push_back(near(rng));
    // Interleave masked entries the way a causal block has them.
    for (int i = 0; i < 40; ++i) x.push_back(i % 3 ? -inf : near(rng));
    // Each special value at every lane of a 16-float group.
    for (float special : {inf, -inf, std::nanf(""), -100.0f, 89.0f})
        for (int lane = 0; lane < 16; ++lane)
            for (int i = 0; i < 16; ++i) x.push_back(i == lane ? special : near(rng));
    return x;
}

void check_rows(const char *what, FloatRowFn rows) {
    const std::vector<float> x = exp_inputs();
    for (size_t n : {x.size(), size_t{1}, size_t{3}, size_t{4}, size_t{7}, size_t{8}, size_t{15}, size_t{16},
                     size_t{17}, size_t{33}}) {
        std::vector<float> y(n);
        rows(x.data(), y.data(), static_cast<int64_t>(n));
        for (size_t i = 0; i < n; ++i) {
            INFO(what << ": x = " << x[i] << ", n = " << n << ", i = " << i);
            CHECK(same_bits(y[i], exp_approx(x[i])));
        }
    }
    // In place (y == x), as the softmax calls it, from an unaligned start.
    std::vector<float> inplace = x;
    rows(inplace.data() + 1, inplace.data() + 1, static_cast<int64_t>(inplace.size() - 1));
    for (size_t i = 1; i < x.size(); ++i) {
        INFO(what << " in place: x = " << x[i]);
        CHECK(same_bits(inplace[i], exp_approx(x[i])));
    }
}

}  // namespace

TEST_CASE("exp_approx: the reference's special values", "[exp]") {
    CHECK(exp_approx(-std::numeric_limits<float>::infinity()) == 0.0f);
    CHECK(exp_approx(-104.5f) == 0.0f);
    CHECK(exp_approx(-100.0f) > 0.0f);  // subnormal, not flushed
    CHECK(std::isinf(exp_approx(89.0f)));
    CHECK(std::isnan(exp_approx(std::nanf(""))));
    CHECK(exp_approx(0.0f) == 1.0f);
    CHECK(std::fabs(exp_approx(1.0f) - 2.7182817f) <= 5e-7f);  // about 1.5 ulp
}

TEST_CASE("exp_approx_rows equals exp_approx bit for bit at every ISA level", "[exp]") {
    check_rows("scalar loop", exp_approx_rows_scalar);
    check_rows("active level", exp_approx_rows);
    int vectorized = 0;
    for (IsaLevel level : available_isa_levels()) {
        const FloatRowFn rows = isa_kernels(level).exp_rows;
        if (level == IsaLevel::Scalar) {
            CHECK(rows == nullptr);
            continue;
        }
        REQUIRE(rows != nullptr);  // every SIMD level has one (x86: from AVX2 up; AArch64: NEON)
        check_rows(isa_name(level), rows);
        ++vectorized;
    }
    CHECK(vectorized + 1 == static_cast<int>(available_isa_levels().size()));
}
