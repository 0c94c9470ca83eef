// One row per tensor type: how to turn its blocks into floats, how to make them from floats,
// and the portable reference dot product of a weight row with an activation row. The table is
// constant. The fast dot products live in each ISA level's kernel table (isa_kernels(level),
// isa.h), which is checked against this table's vec_dot_type when it is built.
#pragma once

#include <cstdint>

#include "core/tensor_type.h"

namespace ember::cpu {

// dst[0..n) = the values of the n elements at src (n is a multiple of the block size).
using DequantizeRowFn = void (*)(const void *src, float *dst, int64_t n);
// Quantizes n floats into blocks at dst. `importance` (nullable, n values) weights the error
// of each column, for an importance matrix.
using QuantizeRowFn = void (*)(const float *src, void *dst, int64_t n, const float *importance);
// *out = sum over n elements of weights[i] * activations[i]; `weights` is a row of the row's
// type, `activations` a row of that type's vec_dot_type.
using VecDotFn = void (*)(int64_t n, float *out, const void *weights, const void *activations);

struct TypeTraits {
    TensorType type;
    TensorType vec_dot_type;        // activation format for vec_dot (e.g. Q8_0, Q8_K, F32)
    DequantizeRowFn dequantize_row;  // bit-exact with llama.cpp
    QuantizeRowFn quantize_row;      // nullptr when Ember cannot produce this type
    VecDotFn vec_dot;                // the scalar reference; nullptr for activation-only types
};

// The row for `type`, or nullptr when Ember has no kernels for it.
const TypeTraits *type_traits(TensorType type);

}  // namespace ember::cpu
