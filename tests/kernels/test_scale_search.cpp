// The quantizers' candidate loops at every ISA level against their references, bit for bit:
// ember-quantize's output bytes must not depend on the level it ran at (the CLI test also
// compares whole files quantized with EMBER_ISA=scalar and the best level).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "cpu/isa.h"
#include "cpu/scalar/scale_search.h"

namespace {

using namespace ember::cpu;

bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof a) == 0; }

struct Case {
    std::vector<float> x, w;
    float lo = 0.0f, hi = 0.0f;
};

// Values of one sub-block: normal, all positive, with exact zeros and repeats, tiny, huge, or
// with infinities (codes out of range, errors that overflow).
Case make_case(std::mt19937 &rng, int n, int kind, bool unit_weights) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_real_distribution<float> importance(1e-3f, 10.0f), scale(0.01f, 5.0f);
    Case c;
    const float s = scale(rng);
    for (int i = 0; i < n; ++i) {
        float v = s * normal(rng);
        if (kind == 1) v = std::fabs(v);
        if (kind == 2 && i % 3 == 0) v = (i % 2) ? 0.0f : -0.0f;
        if (kind == 2 && i % 5 == 1) v = c.x.empty() ? v : c.x.back();
        if (kind == 3) v *= 1e-30f;
        if (kind == 4) v *= 1e30f;
        if (kind == 5 && i == n / 2) v = std::numeric_limits<float>::infinity();
        if (kind == 5 && i == n / 3) v = -std::numeric_limits<float>::infinity();
        c.x.push_back(v);
        c.w.push_back(unit_weights ? 1.0f : importance(rng));
    }
    c.lo = std::min(0.0f, *std::min_element(c.x.begin(), c.x.end()));
    c.hi = *std::max_element(c.x.begin(), c.x.end());
    return c;
}

// k candidate inverse scales as the searches make them (around qmax / range), and extremes:
// zero, negative, and large enough that the codes saturate or overflow int32.
std::vector<float> candidates(std::mt19937 &rng, const Case &c, int qmax, int k) {
    std::uniform_real_distribution<float> jitter(-1.5f, 1.5f);
    const float range = std::max(c.hi - c.lo, 1e-20f);
    std::vector<float> v;
    for (int j = 0; j < k; ++j) {
        float s = (static_cast<float>(qmax) + jitter(rng)) / range;
        if (j % 11 == 3) s = 0.0f;
        if (j % 13 == 5) s = -s;
        if (j % 17 == 7) s *= 1e12f;
        v.push_back(s);
    }
    return v;
}

const int kCounts[] = {1, 5, 7, 8, 9, 21, 25, 42, 62, kMaxCandidates};

}  // namespace

TEST_CASE("scale-search candidate loops equal their references at every level", "[scale-search]") {
    static const int8_t kLevels[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    std::mt19937 rng(2024);
    int compared = 0;
    for (IsaLevel level : available_isa_levels()) {
        const ScaleSearchKernels &s = isa_kernels(level).scale_search;
        REQUIRE(s.code_sums != nullptr);
        REQUIRE(s.fit_errors != nullptr);
        REQUIRE(s.grid_errors != nullptr);
        REQUIRE(s.level_sums != nullptr);
        for (int n : {16, 32}) {
            for (int kind = 0; kind < 6; ++kind) {
                for (bool unit : {true, false}) {
                    for (int k : kCounts) {
                        const Case c = make_case(rng, n, kind, unit);
                        for (const auto &[qmin, qmax] : {std::pair{0, 3}, std::pair{0, 15}, std::pair{0, 31},
                                                         std::pair{-4, 3}, std::pair{-32, 31}}) {
                            INFO(isa_name(level) << ": n " << n << ", kind " << kind << ", k " << k << ", codes ["
                                                 << qmin << ", " << qmax << "]");
                            const std::vector<float> is = candidates(rng, c, qmax, k);
                            const float lo = qmin < 0 ? 0.0f : c.lo;
                            std::vector<double> a(3 * k), b(3 * k);
                            code_sums_reference(n, c.x.data(), c.w.data(), lo, qmin, qmax, is.data(), k, &a[0], &a[k],
                                                &a[2 * k]);
                            s.code_sums(n, c.x.data(), c.w.data(), lo, qmin, qmax, is.data(), k, &b[0], &b[k], &b[2 * k]);
                            for (int j = 0; j < 3 * k; ++j) REQUIRE(same(a[j], b[j]));

                            // Per candidate (d, b) and the stored form's (d*s, dmin*m, 1/(d*s)).
                            std::vector<float> d(k), off(k), ds(k), dm(k), inv(k);
                            std::uniform_real_distribution<float> u(0.0f, 1.0f);
                            for (int j = 0; j < k; ++j) {
                                d[j] = is[j] != 0.0f ? 1.0f / is[j] : 0.0f;
                                off[j] = -u(rng) * std::fabs(c.lo);
                                ds[j] = d[j] * static_cast<float>(1 + j % 5);
                                dm[j] = j % 4 == 0 ? 0.0f : u(rng) * std::fabs(c.lo);
                                inv[j] = ds[j] != 0.0f ? 1.0f / ds[j] : 0.0f;
                            }
                            fit_errors_reference(n, c.x.data(), c.w.data(), lo, qmin, qmax, is.data(), d.data(), off.data(),
                                                 k, a.data());
                            s.fit_errors(n, c.x.data(), c.w.data(), lo, qmin, qmax, is.data(), d.data(), off.data(), k,
                                         b.data());
                            for (int j = 0; j < k; ++j) REQUIRE(same(a[j], b[j]));
                            grid_errors_reference(n, c.x.data(), c.w.data(), qmin, qmax, ds.data(), dm.data(), inv.data(),
                                                  k, a.data());
                            s.grid_errors(n, c.x.data(), c.w.data(), qmin, qmax, ds.data(), dm.data(), inv.data(), k,
                                          b.data());
                            for (int j = 0; j < k; ++j) REQUIRE(same(a[j], b[j]));
                            compared += 3;
                        }
                        // IQ4's level codes: the candidates as fit_scale_levels makes them,
                        // levels end / signed max, and the random ones.
                        std::vector<float> is = candidates(rng, c, 113, k);
                        for (int j = 0; j < k; j += 3) is[j] = static_cast<float>(j % 2 ? -127 + j : 113 - j) / c.hi;
                        std::vector<double> a(2 * k), b(2 * k);
                        level_sums_reference(n, c.x.data(), c.w.data(), kLevels, is.data(), k, &a[0], &a[k]);
                        s.level_sums(n, c.x.data(), c.w.data(), kLevels, is.data(), k, &b[0], &b[k]);
                        INFO(isa_name(level) << ": level sums, n " << n << ", kind " << kind << ", k " << k);
                        for (int j = 0; j < 2 * k; ++j) REQUIRE(same(a[j], b[j]));
                        ++compared;
                    }
                }
            }
        }
    }
    CHECK(compared == static_cast<int>(available_isa_levels().size()) * 2 * 6 * 2 * 10 * 16);
}

TEST_CASE("scale-search: a level with vector loops registers them", "[scale-search]") {
    // The AVX2 loops serve every x86 level; the others use the references.
    for (IsaLevel level : available_isa_levels()) {
        const ScaleSearchKernels &s = isa_kernels(level).scale_search;
        const bool x86 = level == IsaLevel::Avx2 || level == IsaLevel::Avx512 || level == IsaLevel::Avx512Vnni;
        INFO(isa_name(level));
        CHECK((s.level_sums != level_sums_reference) == x86);
        CHECK((s.code_sums != code_sums_reference) == x86);
    }
}
