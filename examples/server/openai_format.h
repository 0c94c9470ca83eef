// OpenAI's response shapes: whole responses, streamed chunks as server-sent events, errors.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api_error.h"
#include "job.h"
#include "request.h"

namespace server {

// What every response of one request shares.
struct ResponseHeader {
    std::string id;       // chatcmpl-... / cmpl-..., the same in every chunk
    long long created = 0;
    std::string model;
    Endpoint endpoint = Endpoint::Chat;
};

ResponseHeader new_response_header(Endpoint endpoint, const std::string &model);

nlohmann::json error_body(const ApiError &e);
// JSON text that never throws on invalid UTF-8 (replaced), e.g. a token cut mid-character.
std::string dump(const nlohmann::json &j);

nlohmann::json usage_json(const Usage &u);
// The whole (non-streamed) response.
nlohmann::json full_response(const ResponseHeader &h, const std::string &text, const std::vector<TokenLogprob> &lps,
                             bool logprobs, const std::string &finish_reason, const Usage &usage);

// Server-sent events: "data: {...}\n\n".
std::string sse_event(const nlohmann::json &j);
std::string sse_role_chunk(const ResponseHeader &h, bool include_usage);  // chat: the role in the first delta
std::string sse_content_chunk(const ResponseHeader &h, const std::string &text, const std::vector<TokenLogprob> &lps,
                              bool logprobs, bool include_usage);
std::string sse_final_chunk(const ResponseHeader &h, const std::string &finish_reason, bool include_usage);
std::string sse_usage_chunk(const ResponseHeader &h, const Usage &usage);
std::string sse_error(const ApiError &e);

// Little-endian float32 values in base64, as OpenAI's encoding_format "base64" is.
std::string base64_floats(const std::vector<float> &values);
inline const char *sse_done() { return "data: [DONE]\n\n"; }

}  // namespace server
