#include "runtime/memory_estimate.h"

#include <algorithm>

#include "core/error.h"
#include "core/graph.h"
#include "core/placement.h"
#include "model/architecture.h"
#include "model/kv_cache.h"
#include "model/weights.h"

namespace ember {

MemoryEstimate estimate_memory(const gguf::ShardedModel &files, const MemoryEstimateParams &params) {
    const gguf::File &meta = files.metadata();
    MemoryEstimate e;
    e.arch = meta.get_string_or("general.architecture", "");
    for (const gguf::TensorInfo *t : files.tensors()) e.weights_cpu += t->n_bytes;

    model::Hparams hp;
    try {
        hp = model::read_hparams(meta);
    } catch (const Error &err) {
        e.why_partial = err.what();
        return e;
    }
    e.has_hparams = true;
    e.weights_cpu = 0;
    e.n_layers = hp.n_layer;
    e.n_ctx = params.n_ctx ? params.n_ctx : hp.n_ctx_train;

    // The placement a device would get, and what the loader would put on each side of it.
    const Placement placement = place_layers(hp.n_layer, params.n_gpu_layers, /*have_device=*/true);
    e.n_gpu_layers = placement.n_device_layers();
    e.head_on_gpu = placement.output == kDeviceBackend;
    const model::Weights w =
        model::load_weights(files, hp, placement, std::vector<backend::Backend *>(static_cast<size_t>(placement.n_backends)));
    auto on = [&](const std::vector<uint64_t> &v, int b) { return static_cast<size_t>(b) < v.size() ? v[static_cast<size_t>(b)] : 0; };
    e.weights_cpu = on(w.bytes, kCpuBackend);
    e.weights_gpu = on(w.bytes, kDeviceBackend);

    // The cache types a session would refuse, refused here too.
    model::KvCache::check_types(params.kv_types, hp.n_embd_kv(), hp.head_dim);
    // Sliding-window layers keep only each sequence's window plus a micro-batch.
    const uint32_t n_cells = static_cast<uint32_t>(e.n_ctx);
    const int64_t n_ub = static_cast<int64_t>(std::min<uint64_t>(params.n_batch, e.n_ctx));
    const uint32_t n_cells_swa =
        hp.has_swa() ? model::swa_cache_cells(n_cells, hp.n_swa, 1, static_cast<uint32_t>(n_ub)) : 0;
    for (uint32_t il = 0; il < hp.n_layer; ++il) {
        const uint64_t kv_layer =
            model::KvCache::layer_bytes(hp.n_embd_kv(), hp.is_swa(il) ? n_cells_swa : n_cells, params.kv_types);
        (placement.layers[il] == kDeviceBackend ? e.kv_gpu : e.kv_cpu) += kv_layer;
    }

    // One full micro-batch attending over the whole context, output for every row.
    model::BuildInput in;
    in.n_tokens = n_ub;
    in.n_outputs = n_ub;
    in.n_kv = static_cast<int64_t>(e.n_ctx);
    in.sliding_window = hp.has_swa();
    in.n_kv_swa = n_cells_swa;
    in.n_ctx_per_seq = static_cast<int64_t>(e.n_ctx);
    Graph g;
    g.finish(hp.arch->build(g, hp, w, in));
    g.schedule(placement);
    e.compute_cpu = g.arena_bytes(kCpuBackend) + 4ull * static_cast<uint64_t>(n_ub) * (e.n_ctx + n_cells_swa + hp.n_vocab);
    e.compute_gpu = g.arena_bytes(kDeviceBackend);
    return e;
}

}  // namespace ember
