// OpenAI request bodies -> validated requests. Every field is checked for type and range; a
// field that would change the output but is not implemented is refused (400 naming it), a
// field that changes nothing for a local server is accepted and ignored, and any other
// field is refused as unknown.
#pragma once

#include <nlohmann/json.hpp>

#include "engine.h"
#include "request.h"

namespace server {

struct ParseContext {
    const Engine &engine;
    std::string model_id;     // the only model name accepted
    int32_t slot_ctx = 0;     // tokens one request may hold (prompt + reply)
};

// Throws ApiError.
nlohmann::json parse_json_body(const std::string &body);
GenerationRequest parse_chat_request(const nlohmann::json &body, const ParseContext &ctx);
GenerationRequest parse_completion_request(const nlohmann::json &body, const ParseContext &ctx);

struct EmbeddingRequest {
    std::vector<std::vector<ember_token>> inputs;
    bool base64 = false;
};
EmbeddingRequest parse_embedding_request(const nlohmann::json &body, const ParseContext &ctx);

}  // namespace server
