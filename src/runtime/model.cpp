#include "runtime/model.h"

#include "core/error.h"

namespace ember {

Model::Model(std::unique_ptr<gguf::File> file)
    : file_(std::move(file)), hp_(model::read_hparams(*file_)), weights_(model::load_weights(*file_, hp_)) {
    if (file_->has("tokenizer.ggml.model")) vocab_ = std::make_unique<tokenizer::Vocab>(*file_);
}

const tokenizer::Vocab &Model::require_vocab() const {
    if (!vocab_) fail(EMBER_ERR_NOT_FOUND, file_->name() + ": the model has no tokenizer (tokenizer.ggml.model)");
    return *vocab_;
}

std::unique_ptr<Model> Model::load(const std::string &path) {
    return std::unique_ptr<Model>(new Model(gguf::File::open(path)));
}

std::unique_ptr<Model> Model::from_buffer(const void *data, size_t size, const std::string &name) {
    return std::unique_ptr<Model>(new Model(gguf::File::from_buffer(data, size, name)));
}

uint64_t Model::n_params() const {
    uint64_t n = 0;
    for (const gguf::TensorInfo &t : file_->tensors()) n += t.n_elements();
    return n;
}

uint64_t Model::size_bytes() const {
    uint64_t n = 0;
    for (const gguf::TensorInfo &t : file_->tensors()) n += t.n_bytes;
    return n;
}

}  // namespace ember
