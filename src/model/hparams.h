// Hyper-parameters of a transformer model, read from GGUF metadata under the architecture's
// prefix ("llama.embedding_length", ...) as the architecture's key table says (arch/*.cpp).
#pragma once

#include <cstdint>
#include <string>

#include "core/graph.h"

namespace ember::gguf {
class File;
}

namespace ember::model {

struct ArchDef;

struct Hparams {
    const ArchDef *arch = nullptr;
    std::string arch_name;   // "llama", "qwen2"
    uint32_t n_vocab = 0;    // tokenizer size (default: rows of token_embd)
    uint32_t n_ctx_train = 0;
    uint32_t n_embd = 0;
    uint32_t n_layer = 0;
    uint32_t n_head = 0;
    uint32_t n_head_kv = 0;  // < n_head: grouped-query attention
    uint32_t n_ff = 0;
    uint32_t head_dim = 0;   // attention.key_length, default n_embd / n_head
    uint32_t head_dim_v = 0; // attention.value_length, default head_dim
    uint32_t n_rot = 0;      // rope.dimension_count, default head_dim
    uint32_t n_expert = 0;       // expert_count; 0: a dense feed-forward
    uint32_t n_expert_used = 0;  // expert_used_count: experts each token goes through
    uint32_t n_ff_exp = 0;       // one expert's hidden size (expert_feed_forward_length)
    float norm_eps = 0.0f;
    float rope_freq_base = 10000.0f;
    float rope_freq_scale = 1.0f;  // 1 / linear scaling factor
    RopeKind rope_kind = RopeKind::Interleaved;

    uint32_t n_embd_q() const { return n_head * head_dim; }
    uint32_t n_embd_kv() const { return n_head_kv * head_dim; }
};

// Reads and validates the hyper-parameters of the file's architecture; throws ember::Error
// naming the file and the key (EMBER_ERR_UNSUPPORTED naming an architecture or rope scaling
// Ember cannot run).
Hparams read_hparams(const gguf::File &file);

}  // namespace ember::model
