// C ABI: loading models and asking them about themselves.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "api/api_guard.h"
#include "api/api_params.h"
#include "api/handles.h"
#include "core/log.h"

using namespace ember;

const ember::Model &ember_model::runnable() const {
    if (!model) fail(EMBER_ERR_UNSUPPORTED, "this model was loaded with vocab_only: it can tokenize but not run");
    return *model;
}

namespace {

ember_model_params default_model_params() {
    ember_model_params p{};
    p.struct_size = sizeof p;
    p.n_gpu_layers = 0;
    p.use_mmap = true;
    p.use_mlock = false;
    p.vocab_only = false;
    return p;
}

void report_progress(const ember_model_params &p, float progress) {
    if (p.progress_callback && !p.progress_callback(progress, p.progress_user_data))
        fail(EMBER_ERR_ABORTED, "model loading was cancelled by the progress callback");
}

// Builds the handle from parsed files: the tokenizer always, the runnable model unless
// vocab_only.
std::unique_ptr<ember_model> finish_load(std::unique_ptr<gguf::ShardedModel> files, const ember_model_params &p) {
    report_progress(p, 0.1f);
    auto m = std::make_unique<ember_model>();
    const gguf::File &meta = files->metadata();
    m->arch = meta.get_string_or("general.architecture", "");
    if (const gguf::Value *t = meta.find("tokenizer.chat_template"); t && t->type == gguf::ValueType::STRING) {
        m->chat_template = std::string(t->str);
        m->has_chat_template = true;
    }
    if (p.use_mlock && !files->lock_memory())
        log_warn(meta.name() + ": could not lock the model in RAM (mlock refused; raise RLIMIT_MEMLOCK)");
    if (p.vocab_only) {
        m->own_vocab = std::make_unique<tokenizer::Vocab>(meta);
        m->vocab = m->own_vocab.get();
        m->files = std::move(files);
    } else {
        ModelParams mp;
        mp.n_gpu_layers = p.n_gpu_layers;
        // Placing the weights (uploading them to a device) is the long part: 0.1 .. 0.95.
        if (p.progress_callback)
            mp.progress = [&p](float fraction) { return p.progress_callback(0.1f + 0.85f * fraction, p.progress_user_data); };
        m->model = Model::from_files(std::move(files), mp);
        for (const std::string &w : m->model->warnings()) log_warn(w);
        m->vocab = &m->model->require_vocab();
    }
    report_progress(p, 1.0f);
    return m;
}

template <typename Open>
ember_status load_with(const ember_model_params *params, ember_model **out, Open &&open) {
    if (out) *out = nullptr;
    return api::guarded([&] {
        if (!out) fail(EMBER_ERR_INVALID_ARGUMENT, "out is NULL");
        const ember_model_params p = api::read_params(params, default_model_params(), "ember_model_params");
        *out = finish_load(open(p), p).release();
    });
}

std::string value_text(const gguf::Value &v) {
    using gguf::ValueType;
    char buf[64];
    switch (v.type) {
        case ValueType::F32: case ValueType::F64: std::snprintf(buf, sizeof buf, "%.9g", v.f64); return buf;
        case ValueType::BOOL: return v.b ? "true" : "false";
        case ValueType::STRING: return std::string(v.str);
        case ValueType::ARRAY: {
            std::string s = "[";
            for (uint64_t i = 0; i < v.count; ++i) {
                if (i) s += ", ";
                if (v.elem_type == ValueType::STRING) s += std::string(v.strings[i]);
                else if (v.elem_type == ValueType::ARRAY) s += value_text(v.items[i]);
                else if (gguf::value_type_is_float(v.elem_type)) {
                    std::snprintf(buf, sizeof buf, "%.9g", v.number_at(i));
                    s += buf;
                } else s += std::to_string(v.integer_at(i));
            }
            return s + "]";
        }
        default: return v.is_negative ? std::to_string(v.i64) : std::to_string(v.u64);
    }
}

}  // namespace

extern "C" {

EMBER_API ember_model_params ember_model_default_params(void) { return default_model_params(); }

EMBER_API ember_status ember_model_load(const char *path, const ember_model_params *params, ember_model **out) {
    return load_with(params, out, [&](const ember_model_params &p) {
        if (!path) fail(EMBER_ERR_INVALID_ARGUMENT, "path is NULL");
        auto files = gguf::ShardedModel::open(path);
        if (!p.use_mmap) files->copy_into_memory();
        return files;
    });
}

EMBER_API ember_status ember_model_load_shards(const char *const *paths, size_t n_paths, const ember_model_params *params,
                                               ember_model **out) {
    return load_with(params, out, [&](const ember_model_params &p) {
        if (!paths || n_paths == 0) fail(EMBER_ERR_INVALID_ARGUMENT, "no shard paths given");
        std::vector<std::string> list;
        for (size_t i = 0; i < n_paths; ++i) {
            if (!paths[i]) fail(EMBER_ERR_INVALID_ARGUMENT, "shard path " + std::to_string(i) + " is NULL");
            list.emplace_back(paths[i]);
        }
        auto files = gguf::ShardedModel::open_shards(list);
        if (!p.use_mmap) files->copy_into_memory();
        return files;
    });
}

EMBER_API ember_status ember_model_load_from_buffer(const void *data, size_t size, const ember_model_params *params,
                                                    ember_model **out) {
    return load_with(params, out, [&](const ember_model_params &) {
        if (!data) fail(EMBER_ERR_INVALID_ARGUMENT, "data is NULL");
        return gguf::ShardedModel::from_buffer(data, size, "<memory>");
    });
}

EMBER_API void ember_model_free(ember_model *model) { delete model; }

EMBER_API const char *ember_model_arch(const ember_model *model) { return model ? model->arch.c_str() : nullptr; }

EMBER_API uint64_t ember_model_n_params(const ember_model *model) {
    if (!model) return 0;
    uint64_t n = 0;
    for (const gguf::TensorInfo *t : model->sharded().tensors()) n += t->n_elements();
    return n;
}

EMBER_API uint64_t ember_model_size(const ember_model *model) {
    if (!model) return 0;
    uint64_t n = 0;
    for (const gguf::TensorInfo *t : model->sharded().tensors()) n += t->n_bytes;
    return n;
}

EMBER_API int32_t ember_model_n_ctx_train(const ember_model *model) {
    return model && model->model ? static_cast<int32_t>(model->model->n_ctx_train()) : 0;
}
EMBER_API int32_t ember_model_n_embd(const ember_model *model) {
    return model && model->model ? static_cast<int32_t>(model->model->n_embd()) : 0;
}
EMBER_API int32_t ember_model_n_layer(const ember_model *model) {
    return model && model->model ? static_cast<int32_t>(model->model->n_layer()) : 0;
}
EMBER_API int32_t ember_model_n_vocab(const ember_model *model) {
    if (!model) return 0;
    return model->model ? static_cast<int32_t>(model->model->n_vocab()) : model->vocab->n_tokens();
}

EMBER_API const char *ember_model_chat_template(const ember_model *model) {
    return model && model->has_chat_template ? model->chat_template.c_str() : nullptr;
}

EMBER_API ember_status ember_model_meta(const ember_model *model, const char *key, char *buf, size_t buf_size,
                                        size_t *needed) {
    std::string text;
    const ember_status st = api::guarded([&] {
        const ember_model &m = api::require_handle(model, "model");
        if (!key) fail(EMBER_ERR_INVALID_ARGUMENT, "key is NULL");
        const gguf::Value *v = m.metadata().find(key);
        if (!v) fail(EMBER_ERR_NOT_FOUND, "metadata key '" + std::string(key) + "' not found");
        text = value_text(*v);
    });
    return st == EMBER_OK ? api::copy_out(text, buf, buf_size, needed) : st;
}

EMBER_API int32_t ember_model_meta_count(const ember_model *model) {
    return model ? static_cast<int32_t>(model->metadata().metadata().size()) : 0;
}

EMBER_API ember_status ember_model_meta_key(const ember_model *model, int32_t index, char *buf, size_t buf_size,
                                            size_t *needed) {
    std::string text;
    const ember_status st = api::guarded([&] {
        const ember_model &m = api::require_handle(model, "model");
        const auto &kv = m.metadata().metadata();
        if (index < 0 || static_cast<size_t>(index) >= kv.size())
            fail(EMBER_ERR_INVALID_ARGUMENT, "metadata index " + std::to_string(index) + " is out of range [0, " +
                                                 std::to_string(kv.size()) + ")");
        text = std::string(kv[static_cast<size_t>(index)].first);
    });
    return st == EMBER_OK ? api::copy_out(text, buf, buf_size, needed) : st;
}

}  // extern "C"
