// What a model will need in memory before it is loaded, from its GGUF metadata alone:
// weights (used in place from the mapping), the KV cache, and the compute buffers, split into
// CPU and GPU parts when the last `n_gpu_layers` layers are offloaded.
#pragma once

#include <cstdint>
#include <string>

#include "gguf/gguf_shards.h"

namespace ember::gguf {

struct MemoryEstimateParams {
    uint64_t n_ctx = 0;          // 0: the model's training context length
    uint32_t n_gpu_layers = 0;   // the last L layers, plus the output head when all are offloaded
    uint32_t n_batch = 512;      // tokens per micro-batch
    uint32_t kv_bytes = 2;       // per KV element: 2 for F16 (default), 4 for F32
};

struct MemoryEstimate {
    std::string arch;
    uint64_t n_ctx = 0;
    uint32_t n_layers = 0, n_gpu_layers = 0;
    uint64_t n_embd = 0, n_head = 0, n_head_kv = 0, head_dim = 0, n_ff = 0, n_vocab = 0;
    bool has_hparams = false;  // false for vocab-only or unknown files: only weights are known

    uint64_t weights_cpu = 0, weights_gpu = 0;
    uint64_t kv_cpu = 0, kv_gpu = 0;
    uint64_t compute_cpu = 0, compute_gpu = 0;

    uint64_t total_cpu() const { return weights_cpu + kv_cpu + compute_cpu; }
    uint64_t total_gpu() const { return weights_gpu + kv_gpu + compute_gpu; }
};

// KV cache = 2 (K and V) x layers x n_ctx x n_head_kv x head_dim x kv_bytes.
// Compute buffers = 4 bytes x n_ub x (max(2 n_embd + n_head head_dim + 2 n_head_kv head_dim
//                   + 3 n_ff, 2 n_embd + n_vocab) + n_vocab + n_ctx), n_ub = min(n_batch,
// n_ctx): what a session allocates for one micro-batch with logits for every row, namely the
// activation arena at its peak (the feed-forward block's gate, up and SwiGLU outputs held
// above the attention block's residual, norm, q, k and v; or the output head's residual,
// norm and logits), the logits handed to the caller and the attention mask (one row of n_ctx
// per token; attention keeps no per-head score matrix). Measured against the runtime in
// tests/runtime/test_memory.cpp. Per-thread matmul scratch (activations converted for the
// weight type, at most 4 bytes x n_ub x n_ff) is left out.
// With offload, the GPU holds a second set of compute buffers; the CPU keeps its own for the
// layers and heads it runs.
MemoryEstimate estimate_memory(const ShardedModel &model, const MemoryEstimateParams &params);

}  // namespace ember::gguf
