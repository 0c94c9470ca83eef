// Builds the graph of one forward pass (one micro-batch) of a llama-family model.
#pragma once

#include <cstdint>

#include "core/graph.h"
#include "model/hparams.h"
#include "model/kv_cache.h"
#include "model/weights.h"

namespace ember::model {

struct ForwardInput {
    const int32_t *tokens = nullptr;     // [n_tokens]
    const int32_t *positions = nullptr;  // [n_tokens]
    int64_t n_tokens = 0;
    const int32_t *output_rows = nullptr;  // [n_outputs]: rows whose result is wanted
    int64_t n_outputs = 0;
    const KvCache *kv = nullptr;
    const int32_t *cells = nullptr;      // [n_tokens]: where each token's K/V go (KvCache::place)
    const float *mask = nullptr;         // [n_tokens][n_kv] (KvCache::build_mask)
    int64_t n_kv = 0;
    bool embeddings = false;             // stop at the final norm: [n_outputs][n_embd]
};

// The result node is [n_outputs][n_vocab] logits (or [n_outputs][n_embd] embeddings).
NodeId build_forward(Graph &g, const Hparams &hp, const Weights &w, const ForwardInput &in);

}  // namespace ember::model
