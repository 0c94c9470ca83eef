// matmul at every level against y[t][o] = scalar vec_dot(W row o, quantized x row t), for odd
// shapes: one row, row counts off the tile, 1..65 tokens, padded strides, 1 and 2 threads.
#include <catch2/catch.hpp>

#include <cmath>

#include "core/error.h"
#include "core/half.h"
#include "cpu/matmul.h"
#include "kernel_test_util.h"

using namespace ember;
using namespace ember::cpu;
using namespace ember::test;

namespace {

struct Problem {
    TensorType type;
    int64_t n_in, n_out, n_tokens, ldx, ldy;
    std::vector<uint8_t> w;
    std::vector<float> x;
    std::vector<float> expect;  // n_tokens x n_out
    std::vector<double> tol;
};

Problem make_problem(std::mt19937 &rng, TensorType type, int64_t n_in, int64_t n_out, int64_t n_tokens) {
    Problem p{type, n_in, n_out, n_tokens, n_in + 3, n_out + 5, {}, {}, {}, {}};
    const TypeTraits *ref = type_traits(type);
    const size_t wrow = row_bytes(type, n_in);
    std::vector<std::vector<float>> wdeq;
    for (int64_t o = 0; o < n_out; ++o) {
        const auto wf = random_row(rng, n_in);
        const auto q = quantize(type, wf.data(), n_in);
        p.w.insert(p.w.end(), q.begin(), q.end());
        wdeq.push_back(dequantize(type, q.data(), n_in));
    }
    p.x.assign(static_cast<size_t>(n_tokens * p.ldx), 0.0f);
    p.expect.resize(static_cast<size_t>(n_tokens * n_out));
    p.tol.resize(p.expect.size());
    for (int64_t t = 0; t < n_tokens; ++t) {
        const auto xf = random_row(rng, n_in);
        std::copy(xf.begin(), xf.end(), p.x.begin() + t * p.ldx);
        const auto a = quantize(ref->vec_dot_type, xf.data(), n_in);
        const auto adeq = dequantize(ref->vec_dot_type, a.data(), n_in);
        for (int64_t o = 0; o < n_out; ++o) {
            const size_t k = static_cast<size_t>(t * n_out + o);
            ref->vec_dot(n_in, &p.expect[k], p.w.data() + o * wrow, a.data());
            double s = 0.0;
            for (int64_t i = 0; i < n_in; ++i)
                s += std::fabs(static_cast<double>(wdeq[static_cast<size_t>(o)][static_cast<size_t>(i)]) *
                               adeq[static_cast<size_t>(i)]);
            p.tol[k] = 1e-5 * s + 1e-30;
        }
    }
    return p;
}

// Q4_K and Q6_K round like llama.cpp on every x86 level (kernels/cpu/scalar/quants_k.cpp): their
// GEMV and GEMM results must equal the scalar reference bit for bit there.
bool bit_exact(TensorType type, IsaLevel level) {
    const bool x86 = level == IsaLevel::Scalar || level == IsaLevel::Avx2 || level == IsaLevel::Avx512 ||
                     level == IsaLevel::Avx512Vnni;
    return x86 && (type == TensorType::Q4_K || type == TensorType::Q6_K);
}

void check_matmul(const Problem &p, IsaLevel level, int n_threads) {
    const WeightView w{p.w.data(), p.type, p.n_in, p.n_out, row_bytes(p.type, p.n_in)};
    std::vector<float> y(static_cast<size_t>(p.n_tokens * p.ldy), NAN);
    matmul(level, w, p.x.data(), p.ldx, p.n_tokens, y.data(), p.ldy, n_threads);
    int bad = 0;
    for (int64_t t = 0; t < p.n_tokens; ++t)
        for (int64_t o = 0; o < p.n_out; ++o) {
            const size_t k = static_cast<size_t>(t * p.n_out + o);
            const float got = y[static_cast<size_t>(t * p.ldy + o)];
            const double tol = bit_exact(p.type, level) ? 0.0 : p.tol[k];
            if (!(std::fabs(static_cast<double>(got) - p.expect[k]) <= tol)) ++bad;
        }
    INFO(tensor_type_name(p.type) << " " << p.n_out << "x" << p.n_in << " tokens=" << p.n_tokens
                                  << " level=" << isa_name(level) << " threads=" << n_threads);
    CHECK(bad == 0);
}

}  // namespace

TEST_CASE("matmul matches the scalar reference at every level", "[matmul]") {
    std::mt19937 rng(42);
    for (TensorType type : weight_types()) {
        const int64_t block = tensor_type_info(type).block_size;
        const int64_t n_in = block == 256 ? 512 : (block == 1 ? 70 : 96);
        // One row; a row count off the 16-row tile; GEMV and GEMM token counts up to 65.
        const Problem single = make_problem(rng, type, n_in, 1, 3);
        const Problem tall = make_problem(rng, type, n_in, 37, 65);
        for (IsaLevel level : available_isa_levels()) {
            check_matmul(single, level, 1);
            check_matmul(tall, level, 2);
        }
    }
}

TEST_CASE("matmul handles every token count from 1 to 65", "[matmul]") {
    // Token counts off the GEMM register tiles (3, 4 or 6 tokens, split evenly) and token block
    // (64), for every type and level; 11 rows = full 4-row tiles and a partial one, one full 8-row
    // (AVX2 row-lane) tile and a partial one, a partial 16-row (AVX-512 row-lane) tile.
    std::mt19937 rng(7);
    for (TensorType type : weight_types()) {
        const int64_t n_in = 256;
        for (int64_t n_tokens = 1; n_tokens <= 65; ++n_tokens) {
            const Problem p = make_problem(rng, type, n_in, 11, n_tokens);
            for (IsaLevel level : available_isa_levels()) check_matmul(p, level, n_tokens % 2 + 1);
        }
    }
}

TEST_CASE("matmul handles rows longer than one K-chunk", "[matmul]") {
    // The packed GEMM unpacks weights 1024 columns at a time: 1312 = 1024 + 288 (a last chunk
    // that is not a whole 64-element vector) and 1280 = 1024 + one 256-super-block; rows off the
    // 64-row block; token counts off the tile and the 64-token block.
    std::mt19937 rng(11);
    for (TensorType type : weight_types()) {
        const int64_t block = tensor_type_info(type).block_size;
        const int64_t n_in = block == 256 ? 1280 : 1312;
        for (auto [n_out, n_tokens] : {std::pair<int64_t, int64_t>{5, 2}, {67, 66}}) {
            const Problem p = make_problem(rng, type, n_in, n_out, n_tokens);
            for (IsaLevel level : available_isa_levels()) check_matmul(p, level, 2);
        }
    }
}

// Where a token's row must get the same bits alone (GEMV) as inside a batch (GEMM): the types
// that equal the scalar reference bit for bit, and on x86 every type with a row-lane GEMV, which
// does the arithmetic of the row-lane GEMM in the same order; and at every level a batch of up
// to kMaxGemvTokens of those types, which the row-lane GEMV computes itself.
bool batch_invariant(TensorType type, IsaLevel level, int64_t n_tokens) {
    const bool lanes = isa_kernels(level).gemv[static_cast<uint32_t>(type)].gemv != nullptr;
    const bool x86 = level == IsaLevel::Avx2 || level == IsaLevel::Avx512 || level == IsaLevel::Avx512Vnni;
    return bit_exact(type, level) || (lanes && (x86 || n_tokens <= kMaxGemvTokens));
}

TEST_CASE("a token's row is the same alone and in a batch where the kernels promise it", "[matmul]") {
    // 2048 = two K-chunks; 43 rows = five full 8-row groups and a partial one (two full 16-row
    // groups and a partial one); 7 and 13 tokens
    // (the GEMV's batches: one pass, and a pass of 8 then one of 5) and 40 (the GEMM's).
    std::mt19937 rng(5);
    int checked = 0;
    for (int64_t n_tokens : {int64_t{7}, int64_t{13}, int64_t{40}}) {
        for (TensorType type : weight_types()) {
            const Problem p = make_problem(rng, type, 2048, 43, n_tokens);
            const WeightView w{p.w.data(), p.type, p.n_in, p.n_out, row_bytes(p.type, p.n_in)};
            for (IsaLevel level : available_isa_levels()) {
                if (!batch_invariant(type, level, n_tokens)) continue;
                std::vector<float> batch(static_cast<size_t>(p.n_tokens * p.ldy)), alone(static_cast<size_t>(p.n_out));
                matmul(level, w, p.x.data(), p.ldx, p.n_tokens, batch.data(), p.ldy, 2);
                int differ = 0;
                for (int64_t t = 0; t < p.n_tokens; ++t) {
                    matmul(level, w, p.x.data() + t * p.ldx, p.ldx, 1, alone.data(), p.n_out, 2);
                    for (int64_t o = 0; o < p.n_out; ++o)
                        differ += f32_to_bits(alone[static_cast<size_t>(o)]) != f32_to_bits(batch[static_cast<size_t>(t * p.ldy + o)]);
                }
                INFO(tensor_type_name(type) << " level=" << isa_name(level) << " tokens=" << n_tokens);
                CHECK(differ == 0);
                ++checked;
            }
        }
    }
    // The row-lane GEMV types (Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL, MXFP4, IQ4_XS, Q4_K, Q5_K) at
    // every size on every x86 level at least.
    if (isa_available(IsaLevel::Avx2)) CHECK(checked >= 27);
    if (isa_available(IsaLevel::Avx512Vnni)) CHECK(checked >= 81);
}

TEST_CASE("matmul rejects a row that is not whole blocks", "[matmul]") {
    std::vector<uint8_t> w(18 * 4);
    std::vector<float> x(48), y(4);
    const WeightView view{w.data(), TensorType::Q4_0, 48, 1, 18};
    CHECK_THROWS_AS(matmul(view, x.data(), 48, 1, y.data(), 1, 1), Error);
}

TEST_CASE("matmul_shared_input gives each matrix matmul's bits", "[matmul]") {
    // A group as the forward pass makes them (q/k/v, gate/up), with mixed types: row-lane GEMV,
    // per-row dot, F32 and super-block types, over one and several tokens and thread counts.
    std::mt19937 rng(9);
    const int64_t n_in = 512, n_tokens = 3;
    const std::vector<std::pair<TensorType, int64_t>> shapes{
        {TensorType::Q4_0, 43}, {TensorType::Q4_0, 16}, {TensorType::Q8_0, 9}, {TensorType::F32, 5}, {TensorType::Q4_K, 20}};
    std::vector<Problem> problems;
    std::vector<WeightView> views;
    for (const auto &[type, n_out] : shapes) problems.push_back(make_problem(rng, type, n_in, n_out, n_tokens));
    for (const Problem &p : problems) views.push_back({p.w.data(), p.type, p.n_in, p.n_out, row_bytes(p.type, p.n_in)});
    const Problem &first = problems[0];  // every matrix reads the first problem's activations
    for (int64_t tokens : {int64_t{1}, n_tokens})
        for (int threads : {1, 2, 3}) {
            std::vector<std::vector<float>> got(problems.size()), want(problems.size());
            std::vector<float *> outs;
            std::vector<int64_t> ldy;
            for (size_t i = 0; i < problems.size(); ++i) {
                const size_t size = static_cast<size_t>(tokens * problems[i].ldy);
                got[i].assign(size, NAN), want[i].assign(size, NAN);
                matmul(views[i], first.x.data(), first.ldx, tokens, want[i].data(), problems[i].ldy, threads);
                outs.push_back(got[i].data());
                ldy.push_back(problems[i].ldy);
            }
            matmul_shared_input(views.data(), views.size(), first.x.data(), first.ldx, tokens, outs.data(), ldy.data(), threads);
            for (size_t i = 0; i < problems.size(); ++i) {
                int differ = 0;
                for (int64_t t = 0; t < tokens; ++t)
                    for (int64_t o = 0; o < problems[i].n_out; ++o) {
                        const size_t k = static_cast<size_t>(t * problems[i].ldy + o);
                        differ += std::isnan(got[i][k]) || f32_to_bits(got[i][k]) != f32_to_bits(want[i][k]);
                    }
                INFO(tensor_type_name(problems[i].type) << " tokens=" << tokens << " threads=" << threads);
                CHECK(differ == 0);
            }
        }
}
