#include "gguf/memory_estimate.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace ember::gguf {

namespace {
// Layer index of a "blk.N.*" tensor, or -1.
long layer_of(std::string_view name) {
    if (name.substr(0, 4) != "blk.") return -1;
    const std::string rest(name.substr(4));
    char *end = nullptr;
    const long n = std::strtol(rest.c_str(), &end, 10);
    return (end && *end == '.' && end != rest.c_str()) ? n : -1;
}
bool is_output_head(std::string_view name) { return name == "output.weight" || name == "output_norm.weight"; }
}  // namespace

MemoryEstimate estimate_memory(const ShardedModel &model, const MemoryEstimateParams &params) {
    const File &meta = model.metadata();
    MemoryEstimate e;
    e.arch = meta.get_string_or("general.architecture", "");
    const std::string a = e.arch + ".";
    const std::string block_count = a + "block_count";
    e.has_hparams = !e.arch.empty() && meta.has(block_count) && meta.has(a + "embedding_length") &&
                    meta.has(a + "attention.head_count");
    if (e.has_hparams) {
        e.n_layers = meta.get_u32(block_count);
        e.n_embd = meta.get_u32(a + "embedding_length");
        e.n_head = meta.get_u32(a + "attention.head_count");
        e.n_head_kv = meta.get_u32_or(a + "attention.head_count_kv", static_cast<uint32_t>(e.n_head));
        e.head_dim = meta.get_u32_or(a + "attention.key_length", e.n_head ? static_cast<uint32_t>(e.n_embd / e.n_head) : 0);
        e.n_ff = meta.get_u32_or(a + "feed_forward_length", 0);
        e.n_ctx = params.n_ctx ? params.n_ctx : meta.get_u32_or(a + "context_length", 2048);
        if (const Value *tokens = meta.find("tokenizer.ggml.tokens")) e.n_vocab = tokens->count;
        if (const TensorInfo *out = model.find_tensor("output.weight")) e.n_vocab = out->ne[1];
    }
    e.n_gpu_layers = std::min<uint32_t>(params.n_gpu_layers, e.n_layers);
    const bool all_offloaded = e.has_hparams && params.n_gpu_layers > e.n_layers;
    const long first_gpu_layer = static_cast<long>(e.n_layers) - static_cast<long>(e.n_gpu_layers);

    for (const TensorInfo *t : model.tensors()) {
        const long layer = layer_of(t->name);
        const bool on_gpu = (layer >= 0 && layer >= first_gpu_layer && e.n_gpu_layers > 0) ||
                            (all_offloaded && is_output_head(t->name));
        (on_gpu ? e.weights_gpu : e.weights_cpu) += t->n_bytes;
    }
    if (!e.has_hparams) return e;

    const uint64_t kv_per_layer = 2ull * e.n_ctx * e.n_head_kv * e.head_dim * params.kv_bytes;
    e.kv_gpu = kv_per_layer * e.n_gpu_layers;
    e.kv_cpu = kv_per_layer * (e.n_layers - e.n_gpu_layers);

    // Per token of a micro-batch, in floats: the activation arena at its peak (the FFN's
    // gate, up and SwiGLU outputs above the residual, norm, q, k and v of the attention
    // block; or the output head's residual, norm and logits if that is larger), a copy of the
    // logits, and the attention-mask row.
    const uint64_t n_ub = std::min<uint64_t>(params.n_batch, e.n_ctx);
    const uint64_t n_embd_q = e.n_head * e.head_dim, n_embd_kv = e.n_head_kv * e.head_dim;
    const uint64_t layer_peak = 2 * e.n_embd + n_embd_q + 2 * n_embd_kv + 3 * e.n_ff;
    const uint64_t head_peak = 2 * e.n_embd + e.n_vocab;
    const uint64_t compute = 4ull * n_ub * (std::max(layer_peak, head_peak) + e.n_vocab + e.n_ctx);
    e.compute_cpu = compute;
    e.compute_gpu = e.n_gpu_layers > 0 ? compute : 0;
    return e;
}

}  // namespace ember::gguf
