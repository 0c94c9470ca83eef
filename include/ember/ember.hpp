// Header-only C++ RAII wrapper over the C API (ember.h), for engines and apps in C++.
// Errors throw ember::Exception carrying the status and ember_last_error()'s message; the
// ABI underneath stays the C one, so this header never breaks binary compatibility.
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ember/ember.h"

namespace ember {

class Exception : public std::runtime_error {
public:
    Exception(ember_status status, const std::string &message) : std::runtime_error(message), status_(status) {}
    ember_status status() const { return status_; }

private:
    ember_status status_;
};

inline void check(ember_status status) {
    if (status != EMBER_OK) {
        const char *msg = ember_last_error();
        throw Exception(status, msg && *msg ? msg : ember_status_string(status));
    }
}

namespace detail {
// Calls fill(buf, size, &needed) with a growing buffer until the text fits.
template <typename Fill>
std::string fetch_string(Fill &&fill) {
    std::string out(64, '\0');
    size_t needed = 0;
    ember_status st = fill(&out[0], out.size(), &needed);
    if (st == EMBER_ERR_BUFFER_TOO_SMALL) {
        out.assign(needed + 1, '\0');
        st = fill(&out[0], out.size(), &needed);
    }
    check(st);
    out.resize(needed);
    return out;
}
}  // namespace detail

struct ChatMessage {
    std::string role;
    std::string content;
};

class Model {
public:
    explicit Model(const std::string &path, const ember_model_params *params = nullptr) {
        ember_model *m = nullptr;
        check(ember_model_load(path.c_str(), params, &m));
        handle_.reset(m);
    }
    static Model with_gpu_layers(const std::string &path, int32_t n_gpu_layers) {
        ember_model_params p = ember_model_default_params();
        p.n_gpu_layers = n_gpu_layers;
        return Model(path, &p);
    }

    ember_model *get() const { return handle_.get(); }
    std::string arch() const { return ember_model_arch(get()); }
    int32_t n_vocab() const { return ember_model_n_vocab(get()); }
    int32_t n_embd() const { return ember_model_n_embd(get()); }
    int32_t n_ctx_train() const { return ember_model_n_ctx_train(get()); }
    std::string meta(const std::string &key) const {
        return detail::fetch_string([&](char *b, size_t n, size_t *need) { return ember_model_meta(get(), key.c_str(), b, n, need); });
    }

    std::vector<ember_token> tokenize(std::string_view text, bool add_special = true, bool parse_special = false) const {
        std::vector<ember_token> ids(text.size() + 8);
        int32_t n = 0;
        ember_status st = ember_tokenize(get(), text.data(), text.size(), add_special, parse_special, ids.data(),
                                         static_cast<int32_t>(ids.size()), &n);
        if (st == EMBER_ERR_BUFFER_TOO_SMALL) {
            ids.resize(static_cast<size_t>(n));
            st = ember_tokenize(get(), text.data(), text.size(), add_special, parse_special, ids.data(), n, &n);
        }
        check(st);
        ids.resize(static_cast<size_t>(n));
        return ids;
    }
    std::string detokenize(const std::vector<ember_token> &ids, bool render_special = false) const {
        return detail::fetch_string([&](char *b, size_t n, size_t *need) {
            return ember_detokenize(get(), ids.data(), static_cast<int32_t>(ids.size()), render_special, b, n, need);
        });
    }
    std::string token_to_piece(ember_token id) const {
        return detail::fetch_string([&](char *b, size_t n, size_t *need) { return ember_token_to_piece(get(), id, false, b, n, need); });
    }
    bool is_eog(ember_token id) const { return ember_token_is_eog(get(), id); }

    // template_name empty: the model's own template.
    std::string apply_chat_template(const std::vector<ChatMessage> &messages, bool add_assistant = true,
                                    const std::string &template_name = "") const {
        std::vector<ember_chat_message> msgs;
        for (const ChatMessage &m : messages) msgs.push_back({m.role.c_str(), m.content.c_str()});
        return detail::fetch_string([&](char *b, size_t n, size_t *need) {
            return ember_chat_apply_template(get(), template_name.empty() ? nullptr : template_name.c_str(), msgs.data(),
                                             msgs.size(), add_assistant, b, n, need);
        });
    }

private:
    struct Free {
        void operator()(ember_model *m) const { ember_model_free(m); }
    };
    std::unique_ptr<ember_model, Free> handle_;
};

class Sampler {
public:
    explicit Sampler(const ember_sampler_params *params = nullptr) {
        ember_sampler *s = nullptr;
        check(ember_sampler_create(params, &s));
        handle_.reset(s);
    }
    static Sampler greedy() {
        ember_sampler_params p = ember_sampler_default_params();
        p.temperature = 0.0f;
        return Sampler(&p);
    }
    ember_sampler *get() const { return handle_.get(); }
    void accept(ember_token t) { check(ember_sampler_accept(get(), t)); }
    void reset() { check(ember_sampler_reset(get())); }

    // Constrains the chain to a GBNF grammar or to JSON valid for a schema (see ember.h).
    Sampler &add_grammar(const Model &model, const std::string &gbnf, const std::string &root_rule = "root") {
        check(ember_sampler_add_grammar(get(), model.get(), gbnf.c_str(), root_rule.c_str()));
        return *this;
    }
    Sampler &add_json_schema(const Model &model, const std::string &schema_json) {
        check(ember_sampler_add_json_schema(get(), model.get(), schema_json.c_str()));
        return *this;
    }
    // Whether the text since the grammar started may end here (true without a grammar).
    bool is_complete() const {
        bool complete = true;
        check(ember_sampler_is_complete(get(), &complete));
        return complete;
    }

private:
    struct Free {
        void operator()(ember_sampler *s) const { ember_sampler_free(s); }
    };
    std::unique_ptr<ember_sampler, Free> handle_;
};

// The GBNF that accepts exactly the JSON valid for a schema; throws for an unsupported keyword.
inline std::string json_schema_to_grammar(const std::string &schema_json) {
    size_t needed = 0;
    const ember_status st = ember_json_schema_to_grammar(schema_json.c_str(), nullptr, 0, &needed);
    if (st != EMBER_ERR_BUFFER_TOO_SMALL) check(st);
    std::string gbnf(needed + 1, '\0');
    check(ember_json_schema_to_grammar(schema_json.c_str(), &gbnf[0], gbnf.size(), &needed));
    gbnf.resize(needed);
    return gbnf;
}

class Session {
public:
    explicit Session(const Model &model, const ember_session_params *params = nullptr) {
        ember_session *s = nullptr;
        check(ember_session_create(model.get(), params, &s));
        handle_.reset(s);
    }
    ember_session *get() const { return handle_.get(); }
    uint32_t n_ctx() const { return ember_session_n_ctx(get()); }

    // Decodes tokens of sequence 0 after what the session holds; returns the last row's logits.
    const float *eval(const std::vector<ember_token> &tokens) {
        ember_batch b = ember_batch_simple(tokens.data(), static_cast<int32_t>(tokens.size()));
        check(ember_decode(get(), &b));
        const float *logits = nullptr;
        check(ember_session_logits(get(), -1, &logits));
        return logits;
    }
    void clear() { check(ember_kv_clear(get())); }

    // Generates a reply to `prompt`, calling on_piece for each piece of text; return false
    // from it to stop early.
    ember_generate_result generate(const std::string &prompt, const std::function<bool(std::string_view)> &on_piece,
                                   int32_t max_tokens = -1, Sampler *sampler = nullptr,
                                   const std::vector<std::string> &stop = {}) {
        ember_generate_params p = ember_generate_default_params();
        p.max_tokens = max_tokens;
        p.sampler = sampler ? sampler->get() : nullptr;
        std::vector<const char *> stops;
        for (const std::string &s : stop) stops.push_back(s.c_str());
        p.stop = stops.data();
        p.n_stop = stops.size();
        p.callback = [](const char *piece, size_t len, void *ud) -> bool {
            const auto &fn = *static_cast<const std::function<bool(std::string_view)> *>(ud);
            return fn(std::string_view(piece, len));
        };
        p.user_data = const_cast<void *>(static_cast<const void *>(&on_piece));
        ember_generate_result r{};
        r.struct_size = sizeof r;
        check(ember_generate(get(), prompt.c_str(), &p, &r));
        return r;
    }

private:
    struct Free {
        void operator()(ember_session *s) const { ember_session_free(s); }
    };
    std::unique_ptr<ember_session, Free> handle_;
};

}  // namespace ember
