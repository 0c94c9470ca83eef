// What the C ABI's opaque handles hold. Only src/api sees these definitions.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "ember/ember.h"
#include "gguf/gguf_shards.h"
#include "runtime/model.h"
#include "runtime/session.h"
#include "sampling/grammar_tokens.h"
#include "sampling/sampler.h"
#include "tokenizer/vocab.h"

struct ember_model {
    std::unique_ptr<ember::Model> model;                   // null for a vocab-only load
    std::unique_ptr<ember::gguf::ShardedModel> files;      // vocab-only: the parsed file(s)
    std::unique_ptr<ember::tokenizer::Vocab> own_vocab;    // vocab-only: the tokenizer
    const ember::tokenizer::Vocab *vocab = nullptr;        // never null
    std::string arch;
    std::string chat_template;
    bool has_chat_template = false;
    // The vocabulary as grammar stages see it, built on first use and shared by them.
    mutable std::once_flag grammar_tokens_once;
    mutable std::shared_ptr<const ember::sampling::GrammarTokens> grammar_tokens;

    const ember::gguf::ShardedModel &sharded() const { return model ? model->files() : *files; }
    const ember::gguf::File &metadata() const { return sharded().metadata(); }
    // The model for inference; EMBER_ERR_UNSUPPORTED for a vocab-only load.
    const ember::Model &runnable() const;
};

struct ember_session {
    const ember_model *model = nullptr;
    std::unique_ptr<ember::Session> session;
    ember_abort_callback abort_callback = nullptr;
    void *abort_user_data = nullptr;
};

struct ember_sampler {
    ember::sampling::SamplerChain chain;
};
