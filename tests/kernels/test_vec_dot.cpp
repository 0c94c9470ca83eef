// Every ISA level's dot products against the scalar reference, on identical quantized inputs:
// |simd - scalar| <= 1e-5 * sum |w_i * a_i| (the dequantized values).
#include <catch2/catch.hpp>

#include <cmath>

#include "kernel_test_util.h"

using namespace ember;
using namespace ember::cpu;
using namespace ember::test;

namespace {

double abs_product_sum(TensorType wt, const std::vector<uint8_t> &w, TensorType at, const std::vector<uint8_t> &a,
                       int64_t n) {
    const std::vector<float> wf = dequantize(wt, w.data(), n), af = dequantize(at, a.data(), n);
    double s = 0.0;
    for (int64_t i = 0; i < n; ++i) s += std::fabs(static_cast<double>(wf[static_cast<size_t>(i)]) * af[static_cast<size_t>(i)]);
    return s;
}

}  // namespace

TEST_CASE("every level's vec_dot matches the scalar reference", "[vec_dot]") {
    std::mt19937 rng(1234);
    for (TensorType type : weight_types()) {
        const TypeTraits *ref = type_traits(type);
        REQUIRE(ref != nullptr);
        const TensorType act_type = ref->vec_dot_type;
        const int64_t block = tensor_type_info(type).block_size;
        const int64_t unit = block == 1 ? 1 : block;
        // One block, a few blocks, an odd count of blocks; for float types odd lengths too.
        for (int64_t n : {unit, 3 * unit, 9 * unit, block == 1 ? int64_t{37} : 11 * unit}) {
            if (block == 256 && n > 9 * 256) continue;
            const std::vector<float> wf = random_row(rng, n);
            const std::vector<uint8_t> w = quantize(type, wf.data(), n);
            // Four activation rows, packed, for vec_dot_multi.
            const size_t arow = row_bytes(act_type, n);
            std::vector<uint8_t> acts;
            float expect[kMaxDotRows];
            double tol[kMaxDotRows];
            for (int r = 0; r < kMaxDotRows; ++r) {
                const std::vector<float> af = random_row(rng, n);
                const std::vector<uint8_t> a = quantize(act_type, af.data(), n);
                acts.insert(acts.end(), a.begin(), a.end());
                ref->vec_dot(n, &expect[r], w.data(), a.data());
                tol[r] = 1e-5 * abs_product_sum(type, w, act_type, a, n) + 1e-30;
            }
            for (IsaLevel level : available_isa_levels()) {
                const IsaVecDot &d = isa_kernels(level).dot[static_cast<uint32_t>(type)];
                REQUIRE(d.vec_dot != nullptr);
                INFO(tensor_type_name(type) << " n=" << n << " level=" << isa_name(level));
                if (level != IsaLevel::Scalar) CHECK(d.vec_dot != ref->vec_dot);  // a real SIMD path
                for (int r = 0; r < kMaxDotRows; ++r) {
                    float got = 0.0f;
                    d.vec_dot(n, &got, w.data(), acts.data() + r * arow);
                    CHECK(std::fabs(static_cast<double>(got) - expect[r]) <= tol[r]);
                }
                if (d.vec_dot_multi == nullptr) continue;
                for (int rows = 1; rows <= kMaxDotRows; ++rows) {
                    float got[kMaxDotRows] = {};
                    d.vec_dot_multi(n, got, w.data(), acts.data(), arow, rows);
                    for (int r = 0; r < rows; ++r)
                        CHECK(std::fabs(static_cast<double>(got[r]) - expect[r]) <= tol[r]);
                }
            }
        }
    }
}

TEST_CASE("vec_dot is exact at the edges of the integer formats", "[vec_dot]") {
    // Extreme weights and activations (every value at +-max): the int8 paths must not saturate.
    std::mt19937 rng(99);
    std::uniform_int_distribution<int> coin(0, 1);
    for (TensorType type : weight_types()) {
        const TypeTraits *ref = type_traits(type);
        const int64_t n = 512;
        std::vector<float> wf(n), af(n);
        for (int64_t i = 0; i < n; ++i) {
            wf[static_cast<size_t>(i)] = coin(rng) ? 1.0f : -1.0f;
            af[static_cast<size_t>(i)] = coin(rng) ? 1.0f : -1.0f;
        }
        const auto w = quantize(type, wf.data(), n);
        const auto a = quantize(ref->vec_dot_type, af.data(), n);
        float expect = 0.0f;
        ref->vec_dot(n, &expect, w.data(), a.data());
        const double tol = 1e-5 * abs_product_sum(type, w, ref->vec_dot_type, a, n);
        for (IsaLevel level : available_isa_levels()) {
            INFO(tensor_type_name(type) << " level=" << isa_name(level));
            float got = 0.0f;
            isa_kernels(level).dot[static_cast<uint32_t>(type)].vec_dot(n, &got, w.data(), a.data());
            CHECK(std::fabs(static_cast<double>(got) - expect) <= tol);
        }
    }
}
