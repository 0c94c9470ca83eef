// One row per tensor type: how to turn its blocks into floats, how to make them from floats,
// and how to take the dot product of a weight row with an activation row. The ISA table
// (isa.h) fills `vec_dot` with the fastest implementation the running CPU supports.
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
    VecDotFn vec_dot;                // best implementation for the running CPU
};

// The row for `type`, or nullptr when Ember has no kernels for it.
const TypeTraits *type_traits(TensorType type);
// The scalar reference row (for tests comparing ISA paths against it).
const TypeTraits *scalar_type_traits(TensorType type);

}  // namespace ember::cpu
