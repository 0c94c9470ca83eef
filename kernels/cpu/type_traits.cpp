// The CPU type table: one row per tensor type Ember computes with. Adding a type means adding
// its kernels to scalar_kernels.h and a row here; an ISA level that accelerates it registers
// its own dot product in its kernel table (isa.h).
#include "cpu/type_traits.h"

#include <array>
#include <cstddef>

#include "cpu/scalar/scalar_kernels.h"

namespace ember::cpu {

namespace {

using T = TensorType;

constexpr size_t kRowCount = 18;

// Activation formats follow llama.cpp, so the integer dots see the same 8-bit activations:
// 32-blocks with a symmetric weight dot against Q8_0, those with a min against Q8_1 (its
// block sum carries the min's contribution), 256-blocks against Q8_K.
constexpr std::array<TypeTraits, kRowCount> kRows = {{
    // type       vec_dot_type  dequantize_row          quantize_row          vec_dot
    {T::F32,    T::F32,  dequantize_row_f32,    quantize_row_f32,    vec_dot_f32_f32},
    {T::F16,    T::F16,  dequantize_row_f16,    quantize_row_f16,    vec_dot_f16_f16},
    {T::BF16,   T::BF16, dequantize_row_bf16,   quantize_row_bf16,   vec_dot_bf16_bf16},
    {T::Q4_0,   T::Q8_0, dequantize_row_q4_0,   quantize_row_q4_0,   vec_dot_q4_0_q8_0},
    {T::Q4_1,   T::Q8_1, dequantize_row_q4_1,   quantize_row_q4_1,   vec_dot_q4_1_q8_1},
    {T::Q5_0,   T::Q8_0, dequantize_row_q5_0,   quantize_row_q5_0,   vec_dot_q5_0_q8_0},
    {T::Q5_1,   T::Q8_1, dequantize_row_q5_1,   quantize_row_q5_1,   vec_dot_q5_1_q8_1},
    {T::Q8_0,   T::Q8_0, dequantize_row_q8_0,   quantize_row_q8_0,   vec_dot_q8_0_q8_0},
    {T::Q8_1,   T::Q8_1, dequantize_row_q8_1,   quantize_row_q8_1,   nullptr},  // activations only
    {T::Q2_K,   T::Q8_K, dequantize_row_q2_k,   quantize_row_q2_k,   vec_dot_q2_k_q8_k},
    {T::Q3_K,   T::Q8_K, dequantize_row_q3_k,   quantize_row_q3_k,   vec_dot_q3_k_q8_k},
    {T::Q4_K,   T::Q8_K, dequantize_row_q4_k,   quantize_row_q4_k,   vec_dot_q4_k_q8_k},
    {T::Q5_K,   T::Q8_K, dequantize_row_q5_k,   quantize_row_q5_k,   vec_dot_q5_k_q8_k},
    {T::Q6_K,   T::Q8_K, dequantize_row_q6_k,   quantize_row_q6_k,   vec_dot_q6_k_q8_k},
    {T::Q8_K,   T::Q8_K, dequantize_row_q8_k,   quantize_row_q8_k,   nullptr},  // activations only
    {T::IQ4_NL, T::Q8_0, dequantize_row_iq4_nl, quantize_row_iq4_nl, vec_dot_iq4_nl_q8_0},
    {T::IQ4_XS, T::Q8_K, dequantize_row_iq4_xs, quantize_row_iq4_xs, vec_dot_iq4_xs_q8_k},
    {T::MXFP4,  T::Q8_0, dequantize_row_mxfp4,  quantize_row_mxfp4,  vec_dot_mxfp4_q8_0},
}};

// Row index of each type id, -1 where Ember has no row.
constexpr std::array<int, kMaxTensorTypeId + 1> row_index() {
    std::array<int, kMaxTensorTypeId + 1> index{};
    for (auto &i : index) i = -1;
    for (size_t r = 0; r < kRowCount; ++r) {
        index[static_cast<uint32_t>(kRows[r].type)] = static_cast<int>(r);
    }
    return index;
}

constexpr std::array<int, kMaxTensorTypeId + 1> kRowIndex = row_index();

}  // namespace

const TypeTraits *type_traits(TensorType type) {
    const uint32_t id = static_cast<uint32_t>(type);
    const int r = id <= kMaxTensorTypeId ? kRowIndex[id] : -1;
    return r < 0 ? nullptr : &kRows[static_cast<size_t>(r)];
}

}  // namespace ember::cpu
