// The StoreKv and Attention ops on the CPU. store_kv writes a micro-batch's k and v rows into
// their cells of one layer's cache; attention then computes, for each token t and query head h
//     out[t][h] = softmax(q[t][h] · K[g]ᵀ · scale + mask[t]) · V[g]
// where g is the KV head that h shares (grouped-query attention) and K[g], V[g] are the cached
// rows of cells [0, n_kv).
//
// The softmax is online (a running maximum M and sum S; old terms are rescaled when M grows)
// and follows the two paths of llama.cpp's CPU flash attention, chosen the same way, so that
// quantized models, which quantize the attention output again, see the same activations:
//  - row by row, one cell at a time (generation, short prompts, and every batch over a cache
//    that is not F16 or F32 in both K and V): q·k in the K type's own dot product (the query
//    rounded to F16 over F16 keys, converted to the vec_dot_type, e.g. Q8_0, over quantized
//    ones, each row read in place), and the accumulator in F16 over F16 values, else in F32
//    with each value row converted to float (cpu::half_cells_dot / half_cells_mad are the F16
//    inner loops);
//  - tiled, for micro-batches of 64 tokens or more over an F16 or an F32 cache (head size a
//    multiple of 16): blocks of 64 cells, each scored in F32, rescaled once to the block's
//    maximum, exponentiated with exp_approx and summed in 16-lane groups, then its weighted
//    values added in cell order.
// Both are exact emulations (every product, sum and rounding in the same order), so the
// results do not depend on the ISA level or the thread count.
#pragma once

#include <cstdint>

#include "backend/backend.h"
#include "core/graph.h"

namespace ember::backend {

// k, v: [n_tokens][n_embd_kv] rows stored into cells[t] of the layer's cache, converted to its
// K and V types (quantized types with the reference quantizer, as llama.cpp's copy does).
void store_kv(const KvLayer &kv, int64_t n_embd_kv, const float *k, const float *v, const int32_t *cells,
              int64_t n_tokens);

// q, out: [n_tokens][n_head*head_dim]; mask: [n_tokens][n_kv] over cells [0, n_kv).
// sinks: [n_head] logits each head's softmax also counts (nullable).
void attention(const AttentionParams &a, const KvLayer &kv, int64_t n_kv, const float *mask, const float *q,
               float *out, int64_t n_tokens, int n_threads, const float *sinks = nullptr);

}  // namespace ember::backend
