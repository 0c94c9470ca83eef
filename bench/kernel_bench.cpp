// ember-kernel-bench: the CPU kernels per weight type and ISA level (Google Benchmark).
//   gemv/TYPE/LEVEL/OUTxIN/threads:T   one token (token generation); counter GBps = weight
//                                      bytes streamed per second (1e9 bytes)
//   gemv/TYPE/LEVEL/OUTxIN/tokens:4/threads:T   4 tokens in one pass (a continuous-batching
//                                      decode step); GBps as above
//   gemm/TYPE/LEVEL/OUTxIN/tokens:N/threads:T   N tokens (prompt processing); counter GFLOPS =
//                                      2*OUT*IN*N per second (1e9)
//   bandwidth/read/threads:T           a streaming sum over 256 MiB: the machine's read bandwidth
//   exp/LEVEL/n:N                      exp_approx over N floats (softmax scores, SiLU); counter
//                                      Gvals = values per second (1e9)
//   peak/...                           the AVX2 GEMM step's int8 throughput ceiling
//                                      (int8_dot_peak.cpp)
// Shapes: 2048x2048 and 5632x2048 (GEMV) / 2048x2048 (GEMM), which the L3 cache holds, and a
// model-sized 14336x4096, which it does not.
// Filter with --benchmark_filter (see RESULTS.md for the runs behind the table).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "cpu/exp_approx.h"
#include "cpu/isa.h"
#include "cpu/matmul.h"
#include "cpu/type_traits.h"

namespace {

using ember::TensorType;
using namespace ember::cpu;

const TensorType kTypes[] = {TensorType::Q4_0, TensorType::Q8_0, TensorType::Q4_K, TensorType::Q6_K,
                             TensorType::Q4_1, TensorType::Q5_0, TensorType::Q5_1, TensorType::Q2_K,
                             TensorType::Q3_K, TensorType::Q5_K, TensorType::IQ4_NL, TensorType::IQ4_XS,
                             TensorType::MXFP4, TensorType::F16, TensorType::BF16, TensorType::F32};

// A weight matrix of n_out rows: 64 distinct quantized random rows repeated, so building it is
// quick while every row still lives at its own address (the matmul streams all of it).
struct Matrix {
    std::vector<uint8_t> data;
    WeightView view;
};

const Matrix &weights(TensorType type, int64_t n_out, int64_t n_in) {
    static std::map<std::tuple<uint32_t, int64_t, int64_t>, std::unique_ptr<Matrix>> cache;
    auto &slot = cache[{static_cast<uint32_t>(type), n_out, n_in}];
    if (slot) return *slot;
    uint64_t row_bytes = 0;
    ember::tensor_row_bytes(type, static_cast<uint64_t>(n_in), &row_bytes);
    const TypeTraits *tr = type_traits(type);
    std::mt19937 rng(static_cast<uint32_t>(type));
    std::normal_distribution<float> normal(0.0f, 1.0f);
    constexpr int64_t kDistinct = 64;
    std::vector<uint8_t> distinct(static_cast<size_t>(row_bytes * kDistinct));
    std::vector<float> row(static_cast<size_t>(n_in));
    for (int64_t r = 0; r < kDistinct; ++r) {
        for (float &v : row) v = normal(rng);
        tr->quantize_row(row.data(), distinct.data() + r * row_bytes, n_in, nullptr);
    }
    slot = std::make_unique<Matrix>();
    slot->data.resize(static_cast<size_t>(row_bytes * static_cast<uint64_t>(n_out)));
    for (int64_t o = 0; o < n_out; ++o)
        std::copy_n(distinct.data() + (o % kDistinct) * row_bytes, row_bytes, slot->data.data() + o * row_bytes);
    slot->view = WeightView{slot->data.data(), type, n_in, n_out, static_cast<size_t>(row_bytes)};
    return *slot;
}

std::vector<float> activations(int64_t n_tokens, int64_t n_in) {
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(n_tokens * n_in));
    for (float &v : x) v = normal(rng);
    return x;
}

void bench_matmul(benchmark::State &state, IsaLevel level, TensorType type, int64_t n_out, int64_t n_in,
                  int64_t n_tokens, int n_threads) {
    const Matrix &w = weights(type, n_out, n_in);
    const std::vector<float> x = activations(n_tokens, n_in);
    std::vector<float> y(static_cast<size_t>(n_tokens * n_out));
    for (auto _ : state) {
        matmul(level, w.view, x.data(), n_in, n_tokens, y.data(), n_out, n_threads);
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    using C = benchmark::Counter;
    if (n_tokens <= kMaxGemvTokens)
        state.counters["GBps"] = C(static_cast<double>(w.data.size()) * 1e-9, C::kIsIterationInvariantRate);
    state.counters["GFLOPS"] =
        C(2.0 * static_cast<double>(n_out * n_in * n_tokens) * 1e-9, C::kIsIterationInvariantRate);
}

// A decoded token's mixture-of-experts FFN: 8 of 256 experts (matrices of 512 x 1024, 74 MB in
// all in Q4_0, more than the L3 cache holds), chosen pseudo-randomly each iteration, each one
// GEMV on one thread: short matrices read cold from memory.
void bench_experts(benchmark::State &state, IsaLevel level, TensorType type) {
    constexpr int64_t kExperts = 256, kRows = 512, kIn = 1024, kUsed = 8;
    const Matrix &w = weights(type, kExperts * kRows, kIn);
    const std::vector<float> x = activations(1, kIn);
    std::vector<float> y(static_cast<size_t>(kRows));
    std::mt19937 rng(3);
    for (auto _ : state) {
        for (int64_t i = 0; i < kUsed; ++i) {
            WeightView e = w.view;
            e.data = w.data.data() + static_cast<int64_t>(rng() % kExperts) * kRows * static_cast<int64_t>(e.row_stride);
            e.n_out = kRows;
            matmul(level, e, x.data(), kIn, 1, y.data(), kRows, 1);
            benchmark::DoNotOptimize(y.data());
        }
        benchmark::ClobberMemory();
    }
    using C = benchmark::Counter;
    state.counters["GBps"] = C(static_cast<double>(w.data.size()) / kExperts * kUsed * 1e-9, C::kIsIterationInvariantRate);
}

void bench_read_bandwidth(benchmark::State &state, int n_threads) {
    static std::vector<float> buffer(static_cast<size_t>(64) << 20, 1.0f);  // 256 MiB
    const int64_t n = static_cast<int64_t>(buffer.size());
    const float *p = buffer.data();
    for (auto _ : state) {
        float total = 0.0f;
#pragma omp parallel for num_threads(n_threads) reduction(+ : total) schedule(static)
        for (int64_t i = 0; i < n; i += 16) {
            float s = 0.0f;
            for (int64_t j = 0; j < 16; ++j) s += p[i + j];
            total += s;
        }
        benchmark::DoNotOptimize(total);
    }
    using C = benchmark::Counter;
    state.counters["GBps"] = C(static_cast<double>(n) * sizeof(float) * 1e-9, C::kIsIterationInvariantRate);
}

void bench_exp(benchmark::State &state, IsaLevel level, int64_t n) {
    FloatRowFn rows = isa_kernels(level).exp_rows;
    if (rows == nullptr) rows = exp_approx_rows_scalar;
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> scores(-20.0f, 0.0f);  // softmax inputs after the max
    std::vector<float> x(static_cast<size_t>(n)), y(static_cast<size_t>(n));
    for (float &v : x) v = scores(rng);
    for (auto _ : state) {
        rows(x.data(), y.data(), n);
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    using C = benchmark::Counter;
    state.counters["Gvals"] = C(static_cast<double>(n) * 1e-9, C::kIsIterationInvariantRate);
}

void register_all() {
    const std::vector<IsaLevel> levels = available_isa_levels();
    for (IsaLevel level : levels)
        for (int64_t n : {64, 4096})
            benchmark::RegisterBenchmark(("exp/" + std::string(isa_name(level)) + "/n:" + std::to_string(n)).c_str(),
                                         bench_exp, level, n)
                ->Unit(benchmark::kNanosecond);
    for (int threads : {1, 2}) {
        benchmark::RegisterBenchmark(("bandwidth/read/threads:" + std::to_string(threads)).c_str(),
                                     bench_read_bandwidth, threads)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
    }
    for (TensorType type : kTypes) {
        for (IsaLevel level : levels) {
            const std::string prefix = std::string(ember::tensor_type_name(type)) + "/" + isa_name(level) + "/";
            for (int threads : {1, 2}) {
                const std::string t = "/threads:" + std::to_string(threads);
                for (auto [n_out, n_in] : {std::pair<int64_t, int64_t>{2048, 2048}, {5632, 2048}}) {
                    const std::string shape = std::to_string(n_out) + "x" + std::to_string(n_in);
                    benchmark::RegisterBenchmark(("gemv/" + prefix + shape + t).c_str(), bench_matmul, level, type,
                                                 n_out, n_in, 1, threads)
                        ->UseRealTime()
                        ->Unit(benchmark::kMicrosecond);
                }
                // A few tokens (continuous batching's decode steps: the row-lane GEMV's
                // multi-token pass), from the L3 cache and from memory.
                for (auto [n_out, n_in] : {std::pair<int64_t, int64_t>{5632, 2048}, {14336, 4096}}) {
                    const std::string shape = std::to_string(n_out) + "x" + std::to_string(n_in);
                    benchmark::RegisterBenchmark(("gemv/" + prefix + shape + "/tokens:4" + t).c_str(), bench_matmul,
                                                 level, type, n_out, n_in, 4, threads)
                        ->UseRealTime()
                        ->Unit(benchmark::kMicrosecond);
                }
                for (int64_t tokens : {128, 512}) {
                    benchmark::RegisterBenchmark(
                        ("gemm/" + prefix + "2048x2048/tokens:" + std::to_string(tokens) + t).c_str(), bench_matmul,
                        level, type, 2048, 2048, tokens, threads)
                        ->UseRealTime()
                        ->Unit(benchmark::kMillisecond);
                }
                if (threads == 1)
                    benchmark::RegisterBenchmark(("experts/" + prefix + "8of256x512x1024").c_str(), bench_experts,
                                                 level, type)
                        ->UseRealTime()
                        ->Unit(benchmark::kMicrosecond);
                // A model-sized matrix (Llama-3-8B's FFN, 14336x4096: 62 MB in Q8_0) that no cache
                // holds: one token streams it from memory, 128 tokens reuse it.
                const std::string model = "14336x4096";
                benchmark::RegisterBenchmark(("gemv/" + prefix + model + t).c_str(), bench_matmul, level, type,
                                             14336, 4096, 1, threads)
                    ->UseRealTime()
                    ->Unit(benchmark::kMicrosecond);
                benchmark::RegisterBenchmark(("gemm/" + prefix + model + "/tokens:128" + t).c_str(), bench_matmul,
                                             level, type, 14336, 4096, 128, threads)
                    ->UseRealTime()
                    ->Unit(benchmark::kMillisecond);
            }
        }
    }
}

}  // namespace

int main(int argc, char **argv) {
    register_all();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
