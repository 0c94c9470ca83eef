// peak/...: the throughput ceiling of the AVX2 GEMM's inner step, with nothing else around it.
// The row-lane tile (kernels/cpu/avx2/x86_gemm.inc) multiplies one vector of 8 rows x 4 int8
// weights by 6 tokens' 4 broadcast activations per step. These loops run exactly that step over
// an L1-resident 8 KB panel and 6 token rows, without unpacking, scales or stores, so the GEMM
// rate divided by theirs is the share of the machine's int8 throughput the GEMM reaches:
//   peak/int8-signed/avx2      Q8_0, IQ4_NL, IQ4_XS: sign trick, PMADDUBSW, PMADDWD, add per
//                              (vector, token): AVX2 has no int8 dot into int32 lanes
//   peak/int8-codes15/avx2     Q4_0, Q4_1, Q2_K, Q4_K: unsigned codes <= 15, PMADDUBSW and an
//                              int16 add, widened by PMADDWD once per 8 steps
// Counter GFLOPS = 2 x multiply-adds per second (1e9), as for gemm/.
#if defined(__x86_64__)
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace {

constexpr int kSteps = 256;   // a 1024-element K-chunk, 4 elements per step
constexpr int kTokens = 6;    // the tile's tokens
constexpr int kRepeats = 64;  // panel passes per call

struct alignas(32) Operands {
    int8_t w[kSteps][32];      // step s: 8 rows' 4 weights, signed
    int8_t codes[kSteps][32];  // the same as unsigned codes <= 15
    int8_t a[kTokens][4 * kSteps];
    Operands() {
        for (int s = 0; s < kSteps; ++s)
            for (int j = 0; j < 32; ++j) {
                w[s][j] = static_cast<int8_t>((s * 7 + j * 13) % 255 - 127);
                codes[s][j] = static_cast<int8_t>((s * 7 + j * 13) % 16);
            }
        for (int t = 0; t < kTokens; ++t)
            for (int k = 0; k < 4 * kSteps; ++k) a[t][k] = static_cast<int8_t>((t * 5 + k * 3) % 255 - 127);
    }
};

__attribute__((target("avx2"))) inline __m256i broadcast4(const int8_t *p) {
    int32_t v;
    std::memcpy(&v, p, sizeof v);
    return _mm256_set1_epi32(v);
}

__attribute__((target("avx2"), noinline)) void signed_steps(const Operands &x, int32_t *out) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i sum[kTokens];
    for (int t = 0; t < kTokens; ++t) sum[t] = _mm256_setzero_si256();
    for (int rep = 0; rep < kRepeats; ++rep) {
#pragma GCC unroll 1
        for (int s = 0; s < kSteps; ++s) {
            const __m256i v = _mm256_load_si256(reinterpret_cast<const __m256i *>(x.w[s]));
            const __m256i abs_v = _mm256_sign_epi8(v, v);
#pragma GCC unroll 6
            for (int t = 0; t < kTokens; ++t) {
                const __m256i p = _mm256_maddubs_epi16(abs_v, _mm256_sign_epi8(broadcast4(x.a[t] + 4 * s), v));
                sum[t] = _mm256_add_epi32(sum[t], _mm256_madd_epi16(p, ones));
            }
        }
    }
#pragma GCC unroll 6  // rolled, GCC's vectorizer keeps sum[] in memory through the whole loop
    for (int t = 0; t < kTokens; ++t) _mm256_storeu_si256(reinterpret_cast<__m256i *>(out + 8 * t), sum[t]);
}

__attribute__((target("avx2"), noinline)) void codes15_steps(const Operands &x, int32_t *out) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i sum[kTokens];
    for (int t = 0; t < kTokens; ++t) sum[t] = _mm256_setzero_si256();
    for (int rep = 0; rep < kRepeats; ++rep) {
        for (int s0 = 0; s0 < kSteps; s0 += 8) {
            __m256i sum16[kTokens];
            for (int t = 0; t < kTokens; ++t) sum16[t] = _mm256_setzero_si256();
#pragma GCC unroll 1
            for (int s = s0; s < s0 + 8; ++s) {
                const __m256i q = _mm256_load_si256(reinterpret_cast<const __m256i *>(x.codes[s]));
#pragma GCC unroll 6
                for (int t = 0; t < kTokens; ++t)
                    sum16[t] = _mm256_add_epi16(sum16[t], _mm256_maddubs_epi16(q, broadcast4(x.a[t] + 4 * s)));
            }
            for (int t = 0; t < kTokens; ++t) sum[t] = _mm256_add_epi32(sum[t], _mm256_madd_epi16(sum16[t], ones));
        }
    }
#pragma GCC unroll 6  // rolled, GCC's vectorizer keeps sum[] in memory through the whole loop
    for (int t = 0; t < kTokens; ++t) _mm256_storeu_si256(reinterpret_cast<__m256i *>(out + 8 * t), sum[t]);
}

template <void (*Steps)(const Operands &, int32_t *)>
void bench_peak(benchmark::State &state) {
    static const Operands x;
    int32_t sum[8 * kTokens];
    for (auto _ : state) {
        Steps(x, sum);
        benchmark::DoNotOptimize(sum);
    }
    using C = benchmark::Counter;
    state.counters["GFLOPS"] = C(2.0 * kRepeats * kSteps * 32 * kTokens * 1e-9, C::kIsIterationInvariantRate);
}

[[maybe_unused]] const bool registered = [] {
    if (!__builtin_cpu_supports("avx2")) return false;
    benchmark::RegisterBenchmark("peak/int8-signed/avx2", bench_peak<signed_steps>)->UseRealTime();
    benchmark::RegisterBenchmark("peak/int8-codes15/avx2", bench_peak<codes15_steps>)->UseRealTime();
    return true;
}();

}  // namespace
#endif
