// A loaded model: the mapped GGUF file, its hyper-parameters and weight views. Immutable after
// load, so any number of sessions on any threads may share one.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "gguf/gguf_file.h"
#include "gguf/gguf_shards.h"
#include "model/hparams.h"
#include "model/weights.h"
#include "tokenizer/vocab.h"

namespace ember {

class Model {
public:
    // Maps and checks `path` (the first shard of a split model brings the others); throws
    // ember::Error naming the file and what is wrong (missing key or tensor, unsupported
    // architecture or tensor type).
    static std::unique_ptr<Model> load(const std::string &path);
    // Over a caller's GGUF image, which must outlive the model.
    static std::unique_ptr<Model> from_buffer(const void *data, size_t size, const std::string &name = "<memory>");
    // Over already opened file(s), e.g. an explicit shard list.
    static std::unique_ptr<Model> from_files(std::unique_ptr<gguf::ShardedModel> files);

    const gguf::File &file() const { return files_->metadata(); }  // the metadata (first shard)
    const gguf::ShardedModel &files() const { return *files_; }
    const model::Hparams &hparams() const { return hp_; }
    const model::Weights &weights() const { return weights_; }
    // The tokenizer, or nullptr when the file has none (a weights-only GGUF).
    const tokenizer::Vocab *vocab() const { return vocab_.get(); }
    // The tokenizer; throws EMBER_ERR_NOT_FOUND naming the file when there is none.
    const tokenizer::Vocab &require_vocab() const;

    uint32_t n_vocab() const { return hp_.n_vocab; }
    uint32_t n_ctx_train() const { return hp_.n_ctx_train; }
    uint32_t n_embd() const { return hp_.n_embd; }
    uint32_t n_layer() const { return hp_.n_layer; }
    uint64_t n_params() const;      // elements of all tensors
    uint64_t size_bytes() const;    // bytes of all tensors

private:
    explicit Model(std::unique_ptr<gguf::ShardedModel> files);

    std::unique_ptr<gguf::ShardedModel> files_;
    model::Hparams hp_;
    model::Weights weights_;
    std::unique_ptr<tokenizer::Vocab> vocab_;
};

}  // namespace ember
