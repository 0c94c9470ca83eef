#include "request_parse.h"

#include <cmath>
#include <set>
#include <stdexcept>

#include "api_error.h"

namespace server {

using nlohmann::json;

namespace {

// Optional fields: absent and null mean "the default".
bool present(const json &body, const char *name) {
    auto it = body.find(name);
    return it != body.end() && !it->is_null();
}

ApiError wrong_type(const std::string &name, const char *what) {
    return invalid_request("'" + name + "' must be " + what, name, "invalid_type");
}

double number_field(const json &body, const char *name, double lo, double hi, double fallback) {
    if (!present(body, name)) return fallback;
    const json &v = body[name];
    if (!v.is_number()) throw wrong_type(name, "a number");
    const double x = v.get<double>();
    if (!std::isfinite(x) || x < lo || x > hi)
        throw invalid_request("'" + std::string(name) + "' must be between " + json(lo).dump() + " and " +
                                  json(hi).dump() + ", got " + v.dump(),
                              name);
    return x;
}

long long int_field(const json &body, const char *name, long long lo, long long hi, long long fallback) {
    if (!present(body, name)) return fallback;
    const json &v = body[name];
    if (!v.is_number_integer()) throw wrong_type(name, "an integer");
    const long long x = v.is_number_unsigned() && v.get<unsigned long long>() > 9000000000000000000ull
                            ? hi + 1
                            : v.get<long long>();
    if (x < lo || x > hi)
        throw invalid_request("'" + std::string(name) + "' must be between " + std::to_string(lo) + " and " +
                                  std::to_string(hi) + ", got " + v.dump(),
                              name);
    return x;
}

bool bool_field(const json &body, const char *name, bool fallback) {
    if (!present(body, name)) return fallback;
    if (!body[name].is_boolean()) throw wrong_type(name, "true or false");
    return body[name].get<bool>();
}

// Every top-level field must be known: accepted, ignored on purpose, or refused by name.
void check_fields(const json &body, const std::set<std::string> &accepted) {
    static const std::set<std::string> ignored = {"user", "store", "metadata", "service_tier", "parallel_tool_calls"};
    static const std::set<std::string> refused = {"tools", "tool_choice", "functions", "function_call", "audio",
                                                  "modalities", "prediction", "reasoning_effort",
                                                  "web_search_options"};
    for (auto it = body.begin(); it != body.end(); ++it) {
        const std::string &k = it.key();
        if (accepted.count(k) || ignored.count(k)) continue;
        if (refused.count(k)) {
            if (it->is_null()) continue;
            if (k == "modalities" && *it == json::array({"text"})) continue;  // the only output there is
            throw unsupported_field(k, "tools, function calls and non-text modalities are not implemented");
        }
        throw invalid_request("unknown field '" + k + "'", k, "unknown_parameter");
    }
}

void check_model(const json &body, const ParseContext &ctx, std::string &model) {
    model = ctx.model_id;
    if (!present(body, "model")) return;
    if (!body["model"].is_string()) throw wrong_type("model", "a string");
    const std::string name = body["model"].get<std::string>();
    if (name != ctx.model_id)
        throw ApiError(404, "the model '" + name + "' does not exist; this server serves '" + ctx.model_id + "'",
                       "invalid_request_error", "model", "model_not_found");
}

void parse_sampling(const json &body, const ParseContext &ctx, SamplingOptions &s) {
    s.temperature = static_cast<float>(number_field(body, "temperature", 0, 2, 1));
    s.top_p = static_cast<float>(number_field(body, "top_p", 0, 1, 1));
    s.top_k = static_cast<int32_t>(int_field(body, "top_k", 0, 1 << 30, 0));
    s.min_p = static_cast<float>(number_field(body, "min_p", 0, 1, 0));
    s.presence_penalty = static_cast<float>(number_field(body, "presence_penalty", -2, 2, 0));
    s.frequency_penalty = static_cast<float>(number_field(body, "frequency_penalty", -2, 2, 0));
    s.repeat_penalty = static_cast<float>(number_field(body, "repeat_penalty", 0.01, 10, 1));
    if (present(body, "seed")) {
        // Any 64-bit seed is accepted, as OpenAI does; the sampler takes its low 32 bits.
        if (!body["seed"].is_number_integer()) throw wrong_type("seed", "an integer");
        s.seed = static_cast<uint32_t>(body["seed"].get<long long>());
        s.has_seed = true;
    }
    if (present(body, "logit_bias")) {
        const json &lb = body["logit_bias"];
        if (!lb.is_object()) throw wrong_type("logit_bias", "an object of token id -> bias");
        for (auto it = lb.begin(); it != lb.end(); ++it) {
            const std::string &key = it.key();
            char *end = nullptr;
            const long id = std::strtol(key.c_str(), &end, 10);
            if (key.empty() || *end || id < 0 || id >= ctx.engine.n_vocab())
                throw invalid_request("logit_bias: '" + key + "' is not a token id of this model (0 .. " +
                                          std::to_string(ctx.engine.n_vocab() - 1) + ")",
                                      "logit_bias");
            if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() < -100 ||
                it->get<double>() > 100)
                throw invalid_request("logit_bias: the bias of token " + key + " must be a number in [-100, 100]",
                                      "logit_bias");
            s.logit_bias.emplace_back(static_cast<ember_token>(id), it->get<float>());
        }
    }
}

void parse_common(const json &body, const ParseContext &ctx, GenerationRequest &r) {
    check_model(body, ctx, r.model);
    parse_sampling(body, ctx, r.sampling);
    const long long n = int_field(body, "n", 1, 128, 1);
    if (n > 1) throw unsupported_field("n", "one choice per request (n = 1)");
    if (present(body, "grammar")) {  // Ember's extension: a GBNF grammar the reply must follow
        if (!body["grammar"].is_string()) throw wrong_type("grammar", "a string (GBNF)");
        r.sampling.grammar = body["grammar"].get<std::string>();
        r.sampling.constraint_field = "grammar";
    }
    r.max_tokens = static_cast<int32_t>(int_field(body, "max_tokens", 1, 1 << 30, -1));
    if (present(body, "stop")) {
        const json &s = body["stop"];
        if (s.is_string()) {
            r.stop.push_back(s.get<std::string>());
        } else if (s.is_array()) {
            if (s.size() > 16) throw invalid_request("'stop' holds at most 16 strings", "stop");
            for (const json &x : s) {
                if (!x.is_string()) throw wrong_type("stop", "a string or an array of strings");
                r.stop.push_back(x.get<std::string>());
            }
        } else {
            throw wrong_type("stop", "a string or an array of strings");
        }
        for (const std::string &x : r.stop)
            if (x.empty()) throw invalid_request("'stop' strings must not be empty", "stop");
    }
    r.stream = bool_field(body, "stream", false);
    if (present(body, "stream_options")) {
        const json &so = body["stream_options"];
        if (!so.is_object()) throw wrong_type("stream_options", "an object");
        r.include_usage = bool_field(so, "include_usage", false);  // other options change nothing here
    }
}

void check_prompt_fits(const GenerationRequest &r, const ParseContext &ctx, const char *param) {
    if (r.prompt.empty()) throw invalid_request("the prompt is empty", param);
    if (static_cast<int64_t>(r.prompt.size()) > ctx.slot_ctx)
        throw invalid_request("the prompt is " + std::to_string(r.prompt.size()) +
                                  " tokens, longer than the context of a slot (" + std::to_string(ctx.slot_ctx) +
                                  " tokens: -c divided by -np)",
                              param, "context_length_exceeded");
}

std::string message_content(const json &content, const std::string &where) {
    if (content.is_string()) return content.get<std::string>();
    if (!content.is_array()) throw wrong_type(where, "a string or an array of text parts");
    std::string text;
    for (size_t j = 0; j < content.size(); ++j) {
        const json &part = content[j];
        const std::string pw = where + "[" + std::to_string(j) + "]";
        if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
            throw wrong_type(pw, "an object with a 'type'");
        if (part["type"] != "text")
            throw unsupported_field(pw + ".type", "only text parts are supported, got '" +
                                                      part["type"].get<std::string>() + "'");
        if (!part.contains("text") || !part["text"].is_string()) throw wrong_type(pw + ".text", "a string");
        text += part["text"].get<std::string>();
    }
    return text;
}

std::vector<ChatMessage> parse_messages(const json &body) {
    if (!body.contains("messages")) throw invalid_request("'messages' is required", "messages", "missing_required_parameter");
    const json &msgs = body["messages"];
    if (!msgs.is_array()) throw wrong_type("messages", "an array");
    if (msgs.empty()) throw invalid_request("'messages' must not be empty", "messages");
    std::vector<ChatMessage> out;
    for (size_t i = 0; i < msgs.size(); ++i) {
        const json &m = msgs[i];
        const std::string where = "messages[" + std::to_string(i) + "]";
        if (!m.is_object()) throw wrong_type(where, "an object");
        if (!m.contains("role") || !m["role"].is_string())
            throw invalid_request("'" + where + ".role' is required and must be a string", where + ".role");
        const std::string role = m["role"].get<std::string>();
        if (role != "system" && role != "user" && role != "assistant")
            throw unsupported_field(where + ".role", "the roles are system, user and assistant, got '" + role + "'");
        for (auto it = m.begin(); it != m.end(); ++it) {
            const std::string &k = it.key();
            if (k == "role" || k == "content" || k == "name") continue;
            if (it->is_null()) continue;
            throw unsupported_field(where + "." + k, "messages hold a role and text content only");
        }
        if (!m.contains("content") || m["content"].is_null())
            throw invalid_request("'" + where + ".content' is required", where + ".content", "missing_required_parameter");
        out.push_back({role, message_content(m["content"], where + ".content")});
    }
    return out;
}

}  // namespace

json parse_json_body(const std::string &body) {
    json j = json::parse(body, nullptr, false);
    if (j.is_discarded()) throw invalid_request("the request body is not valid JSON", "", "invalid_json");
    if (!j.is_object()) throw invalid_request("the request body must be a JSON object", "", "invalid_json");
    return j;
}

GenerationRequest parse_chat_request(const json &body, const ParseContext &ctx) {
    check_fields(body, {"model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k",
                        "min_p", "presence_penalty", "frequency_penalty", "repeat_penalty", "seed", "stop",
                        "logit_bias", "logprobs", "top_logprobs", "n", "stream", "stream_options",
                        "response_format", "grammar"});
    GenerationRequest r;
    r.endpoint = Endpoint::Chat;
    parse_common(body, ctx, r);
    if (present(body, "max_completion_tokens")) {
        const long long m = int_field(body, "max_completion_tokens", 1, 1 << 30, -1);
        if (r.max_tokens >= 0 && r.max_tokens != m)
            throw invalid_request("'max_tokens' and 'max_completion_tokens' disagree", "max_completion_tokens");
        r.max_tokens = static_cast<int32_t>(m);
    }
    r.logprobs = bool_field(body, "logprobs", false);
    r.top_logprobs = static_cast<int32_t>(int_field(body, "top_logprobs", 0, 20, 0));
    if (r.top_logprobs > 0 && !r.logprobs)
        throw invalid_request("'top_logprobs' needs 'logprobs': true", "top_logprobs");
    if (present(body, "response_format")) {
        const json &rf = body["response_format"];
        if (!rf.is_object() || !rf.contains("type") || !rf["type"].is_string())
            throw wrong_type("response_format", "an object with a 'type'");
        // The structured forms become a JSON Schema stage (sampler_factory.cpp), which rejects
        // any schema keyword it cannot enforce.
        const std::string type = rf["type"].get<std::string>();
        if (type == "json_object") {
            r.sampling.json_schema = R"({"type":"object"})";
        } else if (type == "json_schema") {
            if (!rf.contains("json_schema") || !rf["json_schema"].is_object() || !rf["json_schema"].contains("schema") ||
                !rf["json_schema"]["schema"].is_object())
                throw wrong_type("response_format.json_schema", "an object with a 'schema' object");
            r.sampling.json_schema = rf["json_schema"]["schema"].dump();
        } else if (type != "text") {
            throw invalid_request("'response_format.type' must be text, json_object or json_schema, got '" + type + "'",
                                  "response_format.type");
        }
        if (type != "text") {
            if (!r.sampling.grammar.empty())
                throw invalid_request("'grammar' and a structured 'response_format' cannot be combined", "grammar");
            r.sampling.constraint_field = "response_format";
        }
    }
    const std::vector<ChatMessage> messages = parse_messages(body);
    try {
        r.prompt = ctx.engine.tokenize(ctx.engine.render_chat(messages), true, true);
    } catch (const std::invalid_argument &e) {
        throw invalid_request(e.what(), "messages");
    }
    check_prompt_fits(r, ctx, "messages");
    return r;
}

GenerationRequest parse_completion_request(const json &body, const ParseContext &ctx) {
    check_fields(body, {"model", "prompt", "max_tokens", "temperature", "top_p", "top_k", "min_p",
                        "presence_penalty", "frequency_penalty", "repeat_penalty", "seed", "stop", "logit_bias",
                        "logprobs", "n", "stream", "stream_options", "echo", "best_of", "suffix", "grammar"});
    GenerationRequest r;
    r.endpoint = Endpoint::Completion;
    parse_common(body, ctx, r);
    if (bool_field(body, "echo", false)) throw unsupported_field("echo", "the prompt is not echoed back");
    if (int_field(body, "best_of", 1, 128, 1) > 1) throw unsupported_field("best_of", "one candidate (best_of = 1)");
    if (present(body, "suffix")) {
        if (!body["suffix"].is_string()) throw wrong_type("suffix", "a string");
        if (!body["suffix"].get<std::string>().empty()) throw unsupported_field("suffix", "no fill-in-the-middle");
    }
    const long long lp = int_field(body, "logprobs", 0, 20, -1);
    r.logprobs = lp >= 0;
    r.top_logprobs = lp > 0 ? static_cast<int32_t>(lp) : 0;

    if (!body.contains("prompt")) throw invalid_request("'prompt' is required", "prompt", "missing_required_parameter");
    json prompt = body["prompt"];
    // One prompt only: a list of several is n > 1 in disguise.
    if (prompt.is_array() && !prompt.empty() && !prompt[0].is_number()) {
        if (prompt.size() > 1) throw unsupported_field("prompt", "one prompt per request");
        prompt = json(prompt[0]);
    }
    if (prompt.is_string()) {
        try {
            r.prompt = ctx.engine.tokenize(prompt.get<std::string>(), true, false);
        } catch (const std::invalid_argument &e) {
            throw invalid_request(e.what(), "prompt");
        }
    } else if (prompt.is_array()) {
        for (const json &t : prompt) {
            if (!t.is_number_integer() || t.get<long long>() < 0 || t.get<long long>() >= ctx.engine.n_vocab())
                throw invalid_request("'prompt' token ids must be integers in [0, " +
                                          std::to_string(ctx.engine.n_vocab() - 1) + "]",
                                      "prompt");
            r.prompt.push_back(static_cast<ember_token>(t.get<long long>()));
        }
    } else {
        throw wrong_type("prompt", "a string or an array of token ids");
    }
    check_prompt_fits(r, ctx, "prompt");
    return r;
}

EmbeddingRequest parse_embedding_request(const json &body, const ParseContext &ctx) {
    check_fields(body, {"model", "input", "encoding_format", "dimensions"});
    std::string model;
    check_model(body, ctx, model);
    EmbeddingRequest r;
    if (present(body, "encoding_format")) {
        const json &f = body["encoding_format"];
        if (f == "base64") r.base64 = true;
        else if (f != "float") throw invalid_request("'encoding_format' must be \"float\" or \"base64\"", "encoding_format");
    }
    if (present(body, "dimensions") && int_field(body, "dimensions", 1, 1 << 20, 0) != ctx.engine.n_embd())
        throw unsupported_field("dimensions", "embeddings have the model's " + std::to_string(ctx.engine.n_embd()) +
                                                  " dimensions");
    if (!body.contains("input")) throw invalid_request("'input' is required", "input", "missing_required_parameter");
    const json &input = body["input"];
    auto add_text = [&](const json &t) {
        try {
            r.inputs.push_back(ctx.engine.tokenize(t.get<std::string>(), true, false));
        } catch (const std::invalid_argument &e) {
            throw invalid_request(e.what(), "input");
        }
    };
    auto add_ids = [&](const json &arr) {
        std::vector<ember_token> ids;
        for (const json &t : arr) {
            if (!t.is_number_integer() || t.get<long long>() < 0 || t.get<long long>() >= ctx.engine.n_vocab())
                throw invalid_request("'input' token ids must be integers in [0, " +
                                          std::to_string(ctx.engine.n_vocab() - 1) + "]",
                                      "input");
            ids.push_back(static_cast<ember_token>(t.get<long long>()));
        }
        r.inputs.push_back(std::move(ids));
    };
    if (input.is_string()) {
        add_text(input);
    } else if (input.is_array() && !input.empty() && input[0].is_number()) {
        add_ids(input);
    } else if (input.is_array()) {
        if (input.size() > 2048) throw invalid_request("'input' holds at most 2048 items", "input");
        for (const json &x : input) {
            if (x.is_string()) add_text(x);
            else if (x.is_array()) add_ids(x);
            else throw wrong_type("input", "a string, an array of strings or an array of token arrays");
        }
    } else {
        throw wrong_type("input", "a string, an array of strings or an array of token arrays");
    }
    if (r.inputs.empty()) throw invalid_request("'input' must not be empty", "input");
    for (const auto &ids : r.inputs) {
        if (ids.empty()) throw invalid_request("an 'input' item has no tokens", "input");
        if (static_cast<int64_t>(ids.size()) > ctx.slot_ctx)
            throw invalid_request("an 'input' item is " + std::to_string(ids.size()) +
                                      " tokens, longer than the context of a slot (" + std::to_string(ctx.slot_ctx) + ")",
                                  "input", "context_length_exceeded");
    }
    return r;
}

}  // namespace server
