// Helpers shared by the kernel tests: random rows, quantized through the scalar reference.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "core/tensor_type.h"
#include "cpu/isa.h"
#include "cpu/type_traits.h"

namespace ember::test {

// Every weight type with kernels, and the levels this machine can run.
inline std::vector<TensorType> weight_types() {
    return {TensorType::F32,  TensorType::F16,  TensorType::BF16, TensorType::Q4_0,   TensorType::Q4_1,
            TensorType::Q5_0, TensorType::Q5_1, TensorType::Q8_0, TensorType::Q2_K,   TensorType::Q3_K,
            TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K, TensorType::IQ4_NL, TensorType::IQ4_XS,
            TensorType::MXFP4};
}

// n floats ~ N(0, 1) with a per-32 scale drawn from [0.05, 4], so blocks differ in range.
inline std::vector<float> random_row(std::mt19937 &rng, int64_t n) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_real_distribution<float> scale(0.05f, 4.0f);
    std::vector<float> v(static_cast<size_t>(n));
    float s = 1.0f;
    for (int64_t i = 0; i < n; ++i) {
        if (i % 32 == 0) s = scale(rng);
        v[static_cast<size_t>(i)] = s * normal(rng);
    }
    return v;
}

inline size_t row_bytes(TensorType type, int64_t n) {
    uint64_t b = 0;
    tensor_row_bytes(type, static_cast<uint64_t>(n), &b);
    return static_cast<size_t>(b);
}

// Quantizes n floats into `type` with the scalar reference quantizer.
inline std::vector<uint8_t> quantize(TensorType type, const float *x, int64_t n) {
    std::vector<uint8_t> out(row_bytes(type, n));
    cpu::type_traits(type)->quantize_row(x, out.data(), n, nullptr);
    return out;
}

inline std::vector<float> dequantize(TensorType type, const void *q, int64_t n) {
    std::vector<float> out(static_cast<size_t>(n));
    cpu::type_traits(type)->dequantize_row(q, out.data(), n);
    return out;
}

}  // namespace ember::test
