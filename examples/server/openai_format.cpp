#include "openai_format.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>

namespace server {

using nlohmann::json;

namespace {

std::string random_hex(int n) {
    static std::atomic<uint64_t> counter{0};
    static const uint64_t salt = std::random_device{}();
    uint64_t x = salt ^ (++counter * 0x9E3779B97F4A7C15ull);
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 29;
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(x));
    return std::string(buf).substr(0, static_cast<size_t>(n));
}

json bytes_of(const std::string &s) {
    json b = json::array();
    for (unsigned char c : s) b.push_back(static_cast<int>(c));
    return b;
}

// Chat: {"content": [{token, logprob, bytes, top_logprobs}]}.
json chat_logprobs(const std::vector<TokenLogprob> &lps) {
    json content = json::array();
    for (const TokenLogprob &lp : lps) {
        json top = json::array();
        for (const auto &[t, v] : lp.top) top.push_back({{"token", t}, {"logprob", v}, {"bytes", bytes_of(t)}});
        content.push_back({{"token", lp.token}, {"logprob", lp.logprob}, {"bytes", bytes_of(lp.token)}, {"top_logprobs", top}});
    }
    return {{"content", content}, {"refusal", nullptr}};
}

// Completions: parallel arrays; text_offset counts bytes from the start of the reply.
json completion_logprobs(const std::vector<TokenLogprob> &lps, size_t offset) {
    json tokens = json::array(), values = json::array(), tops = json::array(), offsets = json::array();
    for (const TokenLogprob &lp : lps) {
        tokens.push_back(lp.token);
        values.push_back(lp.logprob);
        json top = json::object();
        for (const auto &[t, v] : lp.top) top[t] = v;
        tops.push_back(top);
        offsets.push_back(offset);
        offset += lp.token.size();
    }
    return {{"tokens", tokens}, {"token_logprobs", values}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

json choice(const ResponseHeader &h, const std::string &text, const std::vector<TokenLogprob> &lps, bool logprobs,
            const json &finish_reason, bool delta) {
    json c = {{"index", 0}};
    if (h.endpoint == Endpoint::Chat) {
        if (delta) {
            c["delta"] = text.empty() && !logprobs ? json::object() : json{{"content", text}};
        } else {
            c["message"] = {{"role", "assistant"}, {"content", text}, {"refusal", nullptr}};
        }
        c["logprobs"] = logprobs ? chat_logprobs(lps) : json(nullptr);
    } else {
        c["text"] = text;
        c["logprobs"] = logprobs ? completion_logprobs(lps, 0) : json(nullptr);
    }
    c["finish_reason"] = finish_reason;
    return c;
}

json envelope(const ResponseHeader &h, bool chunk) {
    const char *object = h.endpoint == Endpoint::Chat ? (chunk ? "chat.completion.chunk" : "chat.completion")
                                                      : "text_completion";
    return {{"id", h.id}, {"object", object}, {"created", h.created}, {"model", h.model},
            {"system_fingerprint", "ember-" EMBER_VERSION_STRING}};
}

}  // namespace

ResponseHeader new_response_header(Endpoint endpoint, const std::string &model) {
    ResponseHeader h;
    h.endpoint = endpoint;
    h.id = (endpoint == Endpoint::Chat ? "chatcmpl-" : "cmpl-") + random_hex(16);
    h.created = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    h.model = model;
    return h;
}

json error_body(const ApiError &e) {
    return {{"error",
             {{"message", e.what()},
              {"type", e.type},
              {"param", e.param.empty() ? json(nullptr) : json(e.param)},
              {"code", e.code.empty() ? json(nullptr) : json(e.code)}}}};
}

std::string dump(const json &j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json usage_json(const Usage &u) {
    return {{"prompt_tokens", u.prompt_tokens},
            {"completion_tokens", u.completion_tokens},
            {"total_tokens", u.prompt_tokens + u.completion_tokens},
            {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}}};
}

json full_response(const ResponseHeader &h, const std::string &text, const std::vector<TokenLogprob> &lps,
                   bool logprobs, const std::string &finish_reason, const Usage &usage) {
    json r = envelope(h, false);
    r["choices"] = json::array({choice(h, text, lps, logprobs, finish_reason, false)});
    r["usage"] = usage_json(usage);
    return r;
}

std::string sse_event(const json &j) { return "data: " + dump(j) + "\n\n"; }

std::string sse_role_chunk(const ResponseHeader &h, bool include_usage) {
    json r = envelope(h, true);
    r["choices"] = json::array(
        {{{"index", 0}, {"delta", {{"role", "assistant"}, {"content", ""}}}, {"logprobs", nullptr}, {"finish_reason", nullptr}}});
    if (include_usage) r["usage"] = nullptr;
    return sse_event(r);
}

std::string sse_content_chunk(const ResponseHeader &h, const std::string &text, const std::vector<TokenLogprob> &lps,
                              bool logprobs, bool include_usage) {
    json r = envelope(h, true);
    r["choices"] = json::array({choice(h, text, lps, logprobs, nullptr, true)});
    if (include_usage) r["usage"] = nullptr;
    return sse_event(r);
}

std::string sse_final_chunk(const ResponseHeader &h, const std::string &finish_reason, bool include_usage) {
    json r = envelope(h, true);
    json c = choice(h, "", {}, false, finish_reason, true);
    r["choices"] = json::array({c});
    if (include_usage) r["usage"] = nullptr;
    return sse_event(r);
}

std::string sse_usage_chunk(const ResponseHeader &h, const Usage &usage) {
    json r = envelope(h, true);
    r["choices"] = json::array();
    r["usage"] = usage_json(usage);
    return sse_event(r);
}

std::string sse_error(const ApiError &e) { return sse_event(error_body(e)); }

std::string base64_floats(const std::vector<float> &values) {
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const auto *bytes = reinterpret_cast<const unsigned char *>(values.data());  // x86/ARM: little-endian
    const size_t n = values.size() * sizeof(float);
    std::string out;
    out.reserve((n + 2) / 3 * 4);
    for (size_t k = 0; k < n; k += 3) {
        const uint32_t v = (uint32_t{bytes[k]} << 16) | (k + 1 < n ? uint32_t{bytes[k + 1]} << 8 : 0u) |
                           (k + 2 < n ? uint32_t{bytes[k + 2]} : 0u);
        out += digits[(v >> 18) & 63];
        out += digits[(v >> 12) & 63];
        out += k + 1 < n ? digits[(v >> 6) & 63] : '=';
        out += k + 2 < n ? digits[v & 63] : '=';
    }
    return out;
}

}  // namespace server
