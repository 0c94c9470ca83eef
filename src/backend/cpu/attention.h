// The StoreKv and Attention ops on the CPU. store_kv writes a micro-batch's k and v rows into
// their cells of one layer's cache; attention then computes, for each token t and query head h
//     out[t][h] = softmax(q[t][h] · K[g]ᵀ · scale + mask[t]) · V[g]
// where g is the KV head that h shares (grouped-query attention) and K[g], V[g] are the cached
// rows of cells [0, n_kv).
//
// The softmax is online (a running maximum M and sum S; old terms are rescaled when M grows)
// and follows the two paths of llama.cpp's CPU flash attention, chosen the same way, so that
// quantized models, which quantize the attention output again, see the same activations:
//  - row by row, one cell at a time, for micro-batches of fewer than 64 tokens (generation,
//    short prompts): with an F16 cache the query is rounded to F16 and the accumulator is
//    kept in F16 (the inner loops are the ISA level's cpu::half_cells_dot / half_cells_mad,
//    reading the cache in place);
//  - tiled, for micro-batches of 64 tokens or more (head size a multiple of 16): blocks of 64
//    cells, each scored in F32, rescaled once to the block's maximum, exponentiated with
//    exp_approx and summed in 16-lane groups, then its weighted values added in cell order.
// Both are exact emulations (every product, sum and rounding in the same order), so the
// results do not depend on the ISA level or the thread count.
#pragma once

#include <cstdint>

#include "backend/backend.h"
#include "core/graph.h"

namespace ember::backend {

// k, v: [n_tokens][n_embd_kv] rows stored into cells[t] of the layer's cache.
void store_kv(const KvLayer &kv, int64_t n_embd_kv, const float *k, const float *v, const int32_t *cells,
              int64_t n_tokens);

// q, out: [n_tokens][n_head*head_dim]; mask: [n_tokens][n_kv] over cells [0, n_kv).
// sinks: [n_head] logits each head's softmax also counts (nullable).
void attention(const AttentionParams &a, const KvLayer &kv, int64_t n_kv, const float *mask, const float *q,
               float *out, int64_t n_tokens, int n_threads, const float *sinks = nullptr);

}  // namespace ember::backend
