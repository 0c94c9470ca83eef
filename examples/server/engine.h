// The loaded model and what request threads may ask of it directly: tokens, text, chat
// templates and embeddings. Generation goes through the Scheduler, which owns the session.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ember/ember.h"

namespace server {

struct ChatMessage {
    std::string role;
    std::string content;
};

class Engine {
public:
    // Loads the model; throws std::runtime_error with Ember's message on failure.
    Engine(const std::string &path, int32_t n_gpu_layers);
    ~Engine();
    Engine(const Engine &) = delete;
    Engine &operator=(const Engine &) = delete;

    ember_model *model() const { return model_; }
    int32_t n_vocab() const { return ember_model_n_vocab(model_); }
    int32_t n_embd() const { return ember_model_n_embd(model_); }
    int32_t n_ctx_train() const { return ember_model_n_ctx_train(model_); }

    // The model's tokenizer; thread-safe (the model is immutable).
    std::vector<ember_token> tokenize(const std::string &text, bool add_special, bool parse_special) const;
    std::string detokenize(const std::vector<ember_token> &tokens) const;
    std::string piece(ember_token token) const;  // may be part of a UTF-8 character
    bool is_eog(ember_token token) const { return ember_token_is_eog(model_, token); }

    // The conversation through the model's chat template (chatml for a model without one),
    // ending with the assistant's header. Throws std::invalid_argument when it cannot.
    std::string render_chat(const std::vector<ChatMessage> &messages) const;

    // One L2-normalised embedding per input, pooled as the model says (mean by default).
    // Serialised: one embedding session, created on first use with n_ctx cells.
    std::vector<std::vector<float>> embed(const std::vector<std::vector<ember_token>> &inputs, uint32_t n_ctx,
                                          int32_t n_threads);

private:
    ember_model *model_ = nullptr;
    std::mutex embed_mutex_;
    ember_session *embed_session_ = nullptr;
};

// Ember's message for a failed call, for exceptions.
std::string ember_error_text(ember_status st);

}  // namespace server
