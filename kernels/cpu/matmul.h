// Dequant-matmul: the one entry point the model uses for every weight matrix.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/tensor_type.h"
#include "cpu/isa.h"

namespace ember::cpu {

// A weight matrix as stored in the file: n_out rows of n_in values of `type`, row-major,
// consecutive rows `row_stride` bytes apart.
struct WeightView {
    const void *data;
    TensorType type;
    int64_t n_in;
    int64_t n_out;
    size_t row_stride;
};

// y[t][o] = sum_i W[o][i] * x[t][i] for t < n_tokens, o < n_out.
// x: n_tokens rows of W.n_in floats, `ldx` floats apart; y: n_tokens rows, `ldy` floats apart.
// Activations are converted to the type's vec_dot_type internally. Uses up to n_threads
// OpenMP threads (split over output rows). n_tokens == 1 is the GEMV path, and so are batches
// of up to kMaxGemvTokens for types with a row-lane GEMV (each row then gets the one-token
// bits); larger batches use the tiled GEMM path that reuses each weight block across many tokens.
// Activations are quantized with the scalar (reference) quantizer of vec_dot_type, so every
// ISA level sees identical activations. Throws ember::Error for a type without kernels or an
// n_in that is not a whole number of blocks.
void matmul(const WeightView &w, const float *x, int64_t ldx, int64_t n_tokens, float *y, int64_t ldy,
            int n_threads);
// y[i] = W[i] x for i < n: several matrices over the same activations (q/k/v, gate/up), each
// result as matmul() gives it. For one token the row is converted and packed once and every
// matrix's rows share one parallel region; a batch runs the matmuls in turn.
void matmul_shared_input(const WeightView *w, size_t n, const float *x, int64_t ldx, int64_t n_tokens,
                         float *const *y, const int64_t *ldy, int n_threads);
// The same at an explicit kernel level (tests and benchmarks; `level` must be available).
void matmul(IsaLevel level, const WeightView &w, const float *x, int64_t ldx, int64_t n_tokens, float *y,
            int64_t ldy, int n_threads);

}  // namespace ember::cpu
