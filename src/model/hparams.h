// Hyper-parameters of a transformer model, read from GGUF metadata under the architecture's
// prefix ("llama.embedding_length", ...) as the architecture's key table says (arch/*.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/graph.h"

namespace ember::gguf {
class File;
}

namespace ember::model {

struct ArchDef;

// The most layers a model may declare (llama.cpp's limit too): a hostile block_count must fail
// here, before per-layer tables are sized by it.
constexpr uint32_t kMaxLayers = 512;

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
    // Sliding-window attention: a local layer's query at position p sees keys p - n_swa + 1 .. p.
    uint32_t n_swa = 0;                  // attention.sliding_window (0: every layer is global)
    std::vector<uint8_t> swa_layers;     // [n_layer]: 1 for a local layer
    float rope_freq_base_swa = 10000.0f; // the local layers' RoPE (gemma3: rope.freq_base_swa,
    float rope_freq_scale_swa = 1.0f;    // unscaled); elsewhere the same as the global layers'
    float query_scale = 0.0f;            // > 0: q is multiplied by it after RoPE instead of scaling
                                         // the scores by 1/sqrt(head_dim) (Gemma)
    float attn_softcap = 0.0f;           // attn_logit_softcapping (Gemma 2), 0: none
    float final_softcap = 0.0f;          // final_logit_softcapping (Gemma 2), 0: none
    float rope_attn_factor = 1.0f;       // rope.scaling.attn_factor: multiplies cos and sin
    float rope_ext_factor = 0.0f;        // YaRN (rope.scaling.type yarn): 1
    float yarn_beta_fast = 32.0f, yarn_beta_slow = 1.0f;  // rope.scaling.yarn_beta_fast/slow
    uint32_t n_ctx_orig = 0;             // rope.scaling.original_context_length (default n_ctx_train)

    bool is_swa(uint32_t il) const { return il < swa_layers.size() && swa_layers[il] != 0; }
    bool has_swa() const {
        for (uint8_t l : swa_layers)
            if (l) return true;
        return false;
    }
    uint32_t n_embd_q() const { return n_head * head_dim; }
    uint32_t n_embd_kv() const { return n_head_kv * head_dim; }
};

// Reads and validates the hyper-parameters of the file's architecture; throws ember::Error
// naming the file and the key (EMBER_ERR_UNSUPPORTED naming an architecture or rope scaling
// Ember cannot run).
Hparams read_hparams(const gguf::File &file);

// Marks the local (sliding-window) layers from <prefix>attention.sliding_window_pattern (a
// period n: layer i is local iff i % n < n - 1, every layer for 0; or one bool per layer), else from
// `default_period`; none without a window (attention.sliding_window, read into n_swa).
void read_swa_pattern(const gguf::File &f, const std::string &prefix, Hparams &hp, uint32_t default_period);

}  // namespace ember::model
