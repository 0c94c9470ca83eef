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

namespace {

// A KV head's rows of an F16 cache, `stride` elements apart, and n_q queries of F16 values.
struct HalfCells {
    int64_t n, n_q, stride, n_kv;
    std::vector<uint16_t> k, v;
    std::vector<float> q;        // [n_q][n]
    std::vector<int32_t> cells;  // the visible ones, ascending
    std::vector<float> rescale, weight;  // [n_q][cells]
};

HalfCells random_half_cells(std::mt19937 &rng, int64_t n, int64_t n_q) {
    HalfCells c{n, n_q, 3 * n + 8, 150, {}, {}, {}, {}, {}, {}};
    auto fill = [&](std::vector<uint16_t> &rows) {
        const auto x = random_row(rng, c.stride * c.n_kv);
        rows.resize(x.size());
        fp32_to_fp16_row(x.data(), rows.data(), static_cast<int64_t>(x.size()));
    };
    fill(c.k), fill(c.v);
    c.q = random_row(rng, n * n_q);
    for (float &x : c.q) x = fp16_to_fp32(fp32_to_fp16(x));
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    for (int32_t i = 0; i < c.n_kv; ++i)
        if (u(rng) < 0.7f) c.cells.push_back(i);
    for (int64_t h = 0; h < n_q; ++h)
        for (size_t j = 0; j < c.cells.size(); ++j) {
            const bool new_max = j == 0 || u(rng) < 0.1f;  // as an online softmax: a few new maxima
            c.rescale.push_back(j == 0 ? 0.0f : new_max ? u(rng) : 1.0f);
            c.weight.push_back(new_max ? 1.0f : u(rng));
        }
    return c;
}

}  // namespace

TEST_CASE("decode attention over an F16 cache: every level gives the scalar reference's bits", "[ops][attention]") {
    std::mt19937 rng(11);
    int vectorized = 0;
    for (int64_t n : {8, 40, 64, 72, 80, 96, 100, 128, 256})
        for (int64_t n_q : {1, 3, 4, 5, 8}) {
            const HalfCells c = random_half_cells(rng, n, n_q);
            const int64_t m = static_cast<int64_t>(c.cells.size());
            const uint16_t *k = c.k.data() + n, *v = c.v.data() + n;  // the second KV head
            std::vector<float> want_dots(static_cast<size_t>(n_q * m)), want_acc(static_cast<size_t>(n_q * n), 0.0f);
            half_cells_dot_scalar(c.q.data(), n_q, k, c.stride, n, c.cells.data(), m, want_dots.data());
            half_cells_mad_scalar(v, c.stride, n, c.cells.data(), c.rescale.data(), c.weight.data(), m, n_q,
                                  want_acc.data());

            // The reference itself: the dots within float rounding of exact ones, the accumulator
            // within F16 rounding of an F32 one.
            for (int64_t h = 0; h < n_q; ++h) {
                for (int64_t j = 0; j < m; ++j) {
                    double exact = 0.0, scale = 0.0;
                    for (int64_t i = 0; i < n; ++i) {
                        const double p = c.q[static_cast<size_t>(h * n + i)] * fp16_to_fp32(k[c.cells[static_cast<size_t>(j)] * c.stride + i]);
                        exact += p, scale += std::fabs(p);
                    }
                    CHECK(std::fabs(want_dots[static_cast<size_t>(h * m + j)] - exact) <= 1e-6 * scale);
                }
                std::vector<double> f32_acc(static_cast<size_t>(n), 0.0);
                for (int64_t j = 0; j < m; ++j)
                    for (int64_t i = 0; i < n; ++i)
                        f32_acc[static_cast<size_t>(i)] = f32_acc[static_cast<size_t>(i)] * c.rescale[static_cast<size_t>(h * m + j)] +
                                                          c.weight[static_cast<size_t>(h * m + j)] *
                                                              fp16_to_fp32(v[c.cells[static_cast<size_t>(j)] * c.stride + i]);
                double err = 0.0, norm = 0.0;
                for (int64_t i = 0; i < n; ++i) {
                    err += std::pow(want_acc[static_cast<size_t>(h * n + i)] - f32_acc[static_cast<size_t>(i)], 2);
                    norm += std::pow(f32_acc[static_cast<size_t>(i)], 2);
                }
                CHECK(std::sqrt(err / norm) < 5e-3);
            }

            for (IsaLevel level : available_isa_levels()) {
                const IsaKernels &kernels = isa_kernels(level);
                if (level == IsaLevel::Scalar) {
                    CHECK(kernels.half_cells_dot == nullptr);
                    CHECK(kernels.half_cells_mad == nullptr);
                    continue;
                }
                INFO("level " << isa_name(level) << ", n " << n << ", heads " << n_q);
                REQUIRE(kernels.half_cells_dot != nullptr);
                REQUIRE(kernels.half_cells_mad != nullptr);
                std::vector<float> dots(want_dots.size()), acc(want_acc.size(), 0.0f);
                kernels.half_cells_dot(c.q.data(), n_q, k, c.stride, n, c.cells.data(), m, dots.data());
                kernels.half_cells_mad(v, c.stride, n, c.cells.data(), c.rescale.data(), c.weight.data(), m, n_q, acc.data());
                int differ = 0;
                for (size_t j = 0; j < dots.size(); ++j) differ += f32_to_bits(dots[j]) != f32_to_bits(want_dots[j]);
                for (size_t i = 0; i < acc.size(); ++i) differ += f32_to_bits(acc[i]) != f32_to_bits(want_acc[i]);
                CHECK(differ == 0);
                if (n == 8 && n_q == 1) ++vectorized;
            }
        }
    CHECK(vectorized + 1 == static_cast<int>(available_isa_levels().size()));
}
