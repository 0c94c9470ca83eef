// What a model will need in memory, per device, before a session allocates it: the same
// planners the runtime uses answer it. Weights come from the loader's plan (what each
// backend holds: the CPU uses the mapping in place, a device gets copies), the KV cache from
// the cache's per-layer size on each layer's backend, and the compute buffers from a graph of
// one micro-batch built, scheduled and planned exactly as a session does it (its arena per
// backend), plus the CPU-side attention mask and logits of that micro-batch.
#pragma once

#include <cstdint>
#include <string>

#include "core/tensor_type.h"
#include "gguf/gguf_shards.h"
#include "model/kv_cache.h"

namespace ember {

struct MemoryEstimateParams {
    uint64_t n_ctx = 0;             // 0: the model's training context length
    int32_t n_gpu_layers = 0;       // as ModelParams::n_gpu_layers (placement of a device)
    uint32_t n_batch = 512;         // tokens per micro-batch
    model::KvTypes kv_types;        // K and V row types
};

struct MemoryEstimate {
    std::string arch;
    std::string why_partial;    // set when only the weights could be estimated, and why
    uint64_t n_ctx = 0;
    uint32_t n_layers = 0, n_gpu_layers = 0;  // layers on the device
    bool head_on_gpu = false;
    bool has_hparams = false;   // false: only weights are known (vocab-only or unsupported file)

    uint64_t weights_cpu = 0, weights_gpu = 0;
    uint64_t kv_cpu = 0, kv_gpu = 0;
    uint64_t compute_cpu = 0, compute_gpu = 0;

    uint64_t total_cpu() const { return weights_cpu + kv_cpu + compute_cpu; }
    uint64_t total_gpu() const { return weights_gpu + kv_gpu + compute_gpu; }
};

// A session of n_ctx cells that decodes one micro-batch of min(n_batch, n_ctx) tokens with
// output for every row allocates exactly the compute figures (tests/runtime/test_memory.cpp).
MemoryEstimate estimate_memory(const gguf::ShardedModel &model, const MemoryEstimateParams &params);

}  // namespace ember
