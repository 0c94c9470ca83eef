#include "runtime/model.h"

#include "core/error.h"

namespace ember {

Model::Model(std::unique_ptr<gguf::ShardedModel> files)
    : files_(std::move(files)), hp_(model::read_hparams(files_->metadata())), weights_(model::load_weights(*files_, hp_)) {
    if (file().has("tokenizer.ggml.model")) vocab_ = std::make_unique<tokenizer::Vocab>(file());
}

const tokenizer::Vocab &Model::require_vocab() const {
    if (!vocab_) fail(EMBER_ERR_NOT_FOUND, file().name() + ": the model has no tokenizer (tokenizer.ggml.model)");
    return *vocab_;
}

std::unique_ptr<Model> Model::load(const std::string &path) {
    return std::unique_ptr<Model>(new Model(gguf::ShardedModel::open(path)));
}

std::unique_ptr<Model> Model::from_buffer(const void *data, size_t size, const std::string &name) {
    return std::unique_ptr<Model>(new Model(gguf::ShardedModel::from_buffer(data, size, name)));
}

std::unique_ptr<Model> Model::from_files(std::unique_ptr<gguf::ShardedModel> files) {
    if (!files) fail(EMBER_ERR_INVALID_ARGUMENT, "no model files");
    return std::unique_ptr<Model>(new Model(std::move(files)));
}

uint64_t Model::n_params() const {
    uint64_t n = 0;
    for (const gguf::TensorInfo *t : files_->tensors()) n += t->n_elements();
    return n;
}

uint64_t Model::size_bytes() const {
    uint64_t n = 0;
    for (const gguf::TensorInfo *t : files_->tensors()) n += t->n_bytes;
    return n;
}

}  // namespace ember
