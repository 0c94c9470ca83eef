// A loaded model: the mapped GGUF file, its architecture and hyper-parameters, the backends
// its stages run on (the CPU, and the offload device when n_gpu_layers asks for one) and its
// weights placed on them. Immutable after load, so any number of sessions on any threads may
// share one.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/placement.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_shards.h"
#include "model/architecture.h"
#include "model/hparams.h"
#include "model/weights.h"
#include "tokenizer/vocab.h"

namespace ember {

struct ModelParams {
    int32_t n_gpu_layers = 0;  // llama.cpp's meaning: the last L layers; < 0: all (core/placement.h)
    model::LoadProgress progress;  // per placed tensor, the fraction of weight bytes; false cancels
};

class Model {
public:
    // Maps and checks `path` (the first shard of a split model brings the others); throws
    // ember::Error naming the file and what is wrong (missing key or tensor, unsupported
    // architecture or tensor type).
    static std::unique_ptr<Model> load(const std::string &path, const ModelParams &params = {});
    // Over a caller's GGUF image, which must outlive the model.
    static std::unique_ptr<Model> from_buffer(const void *data, size_t size, const std::string &name = "<memory>",
                                              const ModelParams &params = {});
    // Over already opened file(s), e.g. an explicit shard list.
    static std::unique_ptr<Model> from_files(std::unique_ptr<gguf::ShardedModel> files, const ModelParams &params = {});
    ~Model();

    const gguf::File &file() const { return files_->metadata(); }  // the metadata (first shard)
    const gguf::ShardedModel &files() const { return *files_; }
    const model::Hparams &hparams() const { return hp_; }
    const model::ArchDef &arch() const { return *hp_.arch; }
    const model::Weights &weights() const { return weights_; }
    // The tokenizer, or nullptr when the file has none (a weights-only GGUF).
    const tokenizer::Vocab *vocab() const { return vocab_.get(); }
    // The tokenizer; throws EMBER_ERR_NOT_FOUND naming the file when there is none.
    const tokenizer::Vocab &require_vocab() const;

    // Where each stage runs, and the backends by index (kCpuBackend, kDeviceBackend).
    const Placement &placement() const { return placement_; }
    const std::vector<backend::Backend *> &backends() const { return backend_list_; }
    backend::Backend *device() const;  // the offload device in use, or nullptr
    // Each layer's backend, for the KV cache.
    std::vector<backend::Backend *> layer_backends() const;
    // Non-fatal notes from loading (e.g. n_gpu_layers without a GPU backend).
    const std::vector<std::string> &warnings() const { return warnings_; }

    uint32_t n_vocab() const { return hp_.n_vocab; }
    uint32_t n_ctx_train() const { return hp_.n_ctx_train; }
    uint32_t n_embd() const { return hp_.n_embd; }
    uint32_t n_layer() const { return hp_.n_layer; }
    uint64_t n_params() const;      // elements of all tensors
    uint64_t size_bytes() const;    // bytes of all tensors

private:
    Model(std::unique_ptr<gguf::ShardedModel> files, const ModelParams &params);

    std::unique_ptr<gguf::ShardedModel> files_;
    model::Hparams hp_;
    std::vector<std::string> warnings_;
    std::vector<std::unique_ptr<backend::Backend>> backends_;  // before weights_: they own its buffers
    std::vector<backend::Backend *> backend_list_;
    Placement placement_;
    model::Weights weights_;
    std::unique_ptr<tokenizer::Vocab> vocab_;
};

}  // namespace ember
