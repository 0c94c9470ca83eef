#include "runtime/model.h"

#include "core/error.h"

namespace ember {

Model::Model(std::unique_ptr<gguf::ShardedModel> files, const ModelParams &params)
    : files_(std::move(files)), hp_(model::read_hparams(files_->metadata())) {
    backends_.push_back(backend::create_cpu_backend());
    if (params.n_gpu_layers != 0) {
        std::string why;
        if (auto device = backend::create_offload_device(&why)) {
            backends_.push_back(std::move(device));
        } else {
            warnings_.push_back("n_gpu_layers = " + std::to_string(params.n_gpu_layers) + ": " + why +
                                ", all layers run on the CPU");
        }
    }
    for (const auto &b : backends_) backend_list_.push_back(b.get());
    placement_ = place_layers(hp_.n_layer, params.n_gpu_layers, backends_.size() > 1);
    weights_ = model::load_weights(*files_, hp_, placement_, backend_list_, params.progress);
    if (file().has("tokenizer.ggml.model")) vocab_ = std::make_unique<tokenizer::Vocab>(file());
}

Model::~Model() = default;

const tokenizer::Vocab &Model::require_vocab() const {
    if (!vocab_) fail(EMBER_ERR_NOT_FOUND, file().name() + ": the model has no tokenizer (tokenizer.ggml.model)");
    return *vocab_;
}

backend::Backend *Model::device() const {
    return backend_list_.size() > static_cast<size_t>(kDeviceBackend) ? backend_list_[kDeviceBackend] : nullptr;
}

std::vector<backend::Backend *> Model::layer_backends() const {
    std::vector<backend::Backend *> out;
    for (int b : placement_.layers) out.push_back(backend_list_.at(static_cast<size_t>(b)));
    return out;
}

std::unique_ptr<Model> Model::load(const std::string &path, const ModelParams &params) {
    return std::unique_ptr<Model>(new Model(gguf::ShardedModel::open(path), params));
}

std::unique_ptr<Model> Model::from_buffer(const void *data, size_t size, const std::string &name,
                                          const ModelParams &params) {
    return std::unique_ptr<Model>(new Model(gguf::ShardedModel::from_buffer(data, size, name), params));
}

std::unique_ptr<Model> Model::from_files(std::unique_ptr<gguf::ShardedModel> files, const ModelParams &params) {
    if (!files) fail(EMBER_ERR_INVALID_ARGUMENT, "no model files");
    return std::unique_ptr<Model>(new Model(std::move(files), params));
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
