// A validated generation request: what the scheduler needs, independent of the endpoint.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ember/ember.h"

namespace server {

struct SamplingOptions {
    float temperature = 1.0f;  // OpenAI's default; 0: greedy
    float top_p = 1.0f;
    int32_t top_k = 0;
    float min_p = 0.0f;
    float presence_penalty = 0.0f;
    float frequency_penalty = 0.0f;
    float repeat_penalty = 1.0f;
    uint32_t seed = 0;
    bool has_seed = false;
    std::vector<std::pair<ember_token, float>> logit_bias;
    // An output constraint (at most one): a GBNF grammar (the `grammar` extension field) or a
    // JSON Schema (response_format json_schema / json_object), and the field that asked for it.
    std::string grammar;
    std::string json_schema;
    std::string constraint_field;
};

enum class Endpoint { Chat, Completion };

struct GenerationRequest {
    Endpoint endpoint = Endpoint::Chat;
    std::string model;                // the id the response names
    std::vector<ember_token> prompt;  // BOS and the chat template already applied
    int32_t max_tokens = -1;          // < 0: until end of generation or the slot's context is full
    SamplingOptions sampling;
    std::vector<std::string> stop;
    bool logprobs = false;
    int32_t top_logprobs = 0;
    bool stream = false;
    bool include_usage = false;
};

}  // namespace server
