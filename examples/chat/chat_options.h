// ember-chat's command line.
#pragma once

#include <string>

#include "ember/ember.h"

namespace chat {

struct Options {
    std::string model = "../shared/models/stories260K.gguf";
    std::string system_prompt;
    std::string prompt;          // -p: one non-interactive reply
    std::string template_name;   // --template: a built-in name instead of the model's
    bool no_chat = false;        // plain completion, no template
    bool verbose = false;
    bool ignore_eos = false;     // never end a reply on an end-of-generation token
    int32_t n_predict = -1;      // -n: tokens per reply (-1: until end of turn)
    uint32_t n_ctx = 0;          // -c
    int32_t n_threads = 0;       // -t
    int32_t n_gpu_layers = 0;    // -ngl
    int32_t kv_type_k = EMBER_KV_F16;  // -ctk: an ember_kv_type
    int32_t kv_type_v = -1;      // -ctv (-1: as -ctk)
    std::string grammar_file;    // --grammar: a GBNF file constraining every reply
    std::string json_schema;     // --json-schema: a file, or the schema itself when it starts with '{'
    ember_sampler_params sampling = ember_sampler_default_params();
};

// Throws std::invalid_argument with a message for bad usage; returns false for --help.
bool parse_options(int argc, char **argv, Options &out);
extern const char kUsage[];

}  // namespace chat
