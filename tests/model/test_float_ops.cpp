// The vectorized exp of the softmax and SiLU against its one-value form: bit for bit, for
// every kind of input (masked -inf, subnormal and zero results, overflow, NaN) and every
// chunk position, since prompt logits depend on it.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "backend/cpu/float_ops.h"

namespace {

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

TEST_CASE("exp_approx_rows equals exp_approx bit for bit", "[float_ops]") {
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

    for (size_t n : {x.size(), size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{33}}) {
        std::vector<float> y(n);
        ember::backend::exp_approx_rows(x.data(), y.data(), static_cast<int64_t>(n));
        for (size_t i = 0; i < n; ++i) {
            INFO("x = " << x[i] << ", n = " << n);
            CHECK(same_bits(y[i], ember::backend::exp_approx(x[i])));
        }
    }
    // In place (y == x), as the softmax calls it.
    std::vector<float> inplace = x;
    ember::backend::exp_approx_rows(inplace.data(), inplace.data(), static_cast<int64_t>(inplace.size()));
    for (size_t i = 0; i < x.size(); ++i) CHECK(same_bits(inplace[i], ember::backend::exp_approx(x[i])));
    CHECK(ember::backend::exp_approx(-inf) == 0.0f);
    CHECK(ember::backend::exp_approx(-104.5f) == 0.0f);
    CHECK(ember::backend::exp_approx(-100.0f) > 0.0f);  // subnormal, not flushed
}
