#include "engine.h"

#include <cmath>
#include <stdexcept>

namespace server {

std::string ember_error_text(ember_status st) {
    const char *msg = ember_last_error();
    return msg && *msg ? msg : ember_status_string(st);
}

Engine::Engine(const std::string &path, int32_t n_gpu_layers) {
    ember_model_params mp = ember_model_default_params();
    mp.n_gpu_layers = n_gpu_layers;
    if (ember_status st = ember_model_load(path.c_str(), &mp, &model_))
        throw std::runtime_error("cannot load model '" + path + "': " + ember_error_text(st));
}

Engine::~Engine() {
    ember_session_free(embed_session_);
    ember_model_free(model_);
}

std::vector<ember_token> Engine::tokenize(const std::string &text, bool add_special, bool parse_special) const {
    std::vector<ember_token> tokens(text.size() + 8);
    int32_t n = 0;
    ember_status st = ember_tokenize(model_, text.data(), text.size(), add_special, parse_special, tokens.data(),
                                     static_cast<int32_t>(tokens.size()), &n);
    if (st == EMBER_ERR_BUFFER_TOO_SMALL) {
        tokens.resize(static_cast<size_t>(n));
        st = ember_tokenize(model_, text.data(), text.size(), add_special, parse_special, tokens.data(), n, &n);
    }
    if (st != EMBER_OK) throw std::invalid_argument("cannot tokenize the text: " + ember_error_text(st));
    tokens.resize(static_cast<size_t>(n));
    return tokens;
}

std::string Engine::detokenize(const std::vector<ember_token> &tokens) const {
    std::string out(tokens.size() * 8 + 16, '\0');
    size_t needed = 0;
    ember_status st = ember_detokenize(model_, tokens.data(), static_cast<int32_t>(tokens.size()), false, &out[0],
                                       out.size(), &needed);
    if (st == EMBER_ERR_BUFFER_TOO_SMALL) {
        out.assign(needed + 1, '\0');
        st = ember_detokenize(model_, tokens.data(), static_cast<int32_t>(tokens.size()), false, &out[0], out.size(),
                              &needed);
    }
    if (st != EMBER_OK) throw std::invalid_argument("cannot detokenize: " + ember_error_text(st));
    out.resize(needed);
    return out;
}

std::string Engine::piece(ember_token token) const {
    char buf[128];
    size_t needed = 0;
    ember_status st = ember_token_to_piece(model_, token, false, buf, sizeof buf, &needed);
    if (st == EMBER_OK) return std::string(buf, needed);
    if (st != EMBER_ERR_BUFFER_TOO_SMALL) return std::string();
    std::string out(needed + 1, '\0');
    if (ember_token_to_piece(model_, token, false, &out[0], out.size(), &needed) != EMBER_OK) return std::string();
    out.resize(needed);
    return out;
}

std::string Engine::render_chat(const std::vector<ChatMessage> &messages) const {
    std::vector<ember_chat_message> msgs;
    msgs.reserve(messages.size());
    for (const ChatMessage &m : messages) msgs.push_back({m.role.c_str(), m.content.c_str()});
    std::string out(1024, '\0');
    size_t needed = 0;
    ember_status st = ember_chat_apply_template(model_, nullptr, msgs.data(), msgs.size(), true, &out[0], out.size(),
                                                &needed);
    if (st == EMBER_ERR_BUFFER_TOO_SMALL) {
        out.assign(needed + 1, '\0');
        st = ember_chat_apply_template(model_, nullptr, msgs.data(), msgs.size(), true, &out[0], out.size(), &needed);
    }
    if (st != EMBER_OK) throw std::invalid_argument("cannot apply the model's chat template: " + ember_error_text(st));
    out.resize(needed);
    return out;
}

namespace {

// GGUF's <arch>.pooling_type: 0 none, 1 mean, 2 cls (the first token), 3 last.
int32_t model_pooling(const ember_model *model) {
    const std::string key = std::string(ember_model_arch(model)) + ".pooling_type";
    char buf[32];
    size_t needed = 0;
    if (ember_model_meta(model, key.c_str(), buf, sizeof buf, &needed) != EMBER_OK) return EMBER_POOLING_MEAN;
    const int v = std::atoi(buf);
    return v == 3 ? EMBER_POOLING_LAST : EMBER_POOLING_MEAN;
}

}  // namespace

std::vector<std::vector<float>> Engine::embed(const std::vector<std::vector<ember_token>> &inputs, uint32_t n_ctx,
                                              int32_t n_threads) {
    std::lock_guard<std::mutex> lock(embed_mutex_);
    if (!embed_session_) {
        ember_session_params sp = ember_session_default_params();
        sp.n_ctx = n_ctx;
        sp.n_threads = n_threads;
        sp.embeddings = true;
        sp.pooling = model_pooling(model_);
        if (ember_status st = ember_session_create(model_, &sp, &embed_session_))
            throw std::runtime_error("cannot create the embedding session: " + ember_error_text(st));
    }
    std::vector<std::vector<float>> out;
    const int32_t n_embd = ember_model_n_embd(model_);
    for (const std::vector<ember_token> &tokens : inputs) {
        ember_kv_clear(embed_session_);
        ember_batch batch = ember_batch_simple(tokens.data(), static_cast<int32_t>(tokens.size()));
        std::vector<int8_t> want(tokens.size(), 1);  // pooling reads every row
        batch.want_output = want.data();
        if (ember_status st = ember_decode(embed_session_, &batch))
            throw std::runtime_error("embedding decode failed: " + ember_error_text(st));
        const float *e = nullptr;
        if (ember_status st = ember_session_seq_embeddings(embed_session_, 0, &e))
            throw std::runtime_error("no pooled embedding: " + ember_error_text(st));
        std::vector<float> v(e, e + n_embd);
        double norm = 0;
        for (float x : v) norm += static_cast<double>(x) * x;
        norm = std::sqrt(norm);
        if (norm > 0)
            for (float &x : v) x = static_cast<float>(x / norm);
        out.push_back(std::move(v));
    }
    ember_kv_clear(embed_session_);
    return out;
}

}  // namespace server
