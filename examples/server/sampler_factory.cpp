#include "sampler_factory.h"

#include <random>
#include <vector>

#include "api_error.h"
#include "engine.h"

namespace server {

namespace {

// Penalties see the generated tokens only (the scheduler accepts no prompt token), as
// OpenAI's presence and frequency penalties do; the window is the last 64 of them.
constexpr int32_t kPenaltyWindow = 64;

void must(ember_status st, const char *what) {
    if (st != EMBER_OK) throw invalid_request(std::string(what) + ": " + ember_error_text(st));
}

uint32_t fresh_seed() {
    static std::random_device rd;
    return rd();
}

}  // namespace

SamplerPtr make_sampler(const ember_model *model, const SamplingOptions &o) {
    ember_sampler *raw = nullptr;
    must(ember_sampler_chain_create(&raw), "sampler");
    SamplerPtr s(raw);
    // The constraint first: every later stage sees only the tokens it allows. A schema keyword
    // Ember cannot enforce is a 400 naming it (never a silently looser reply).
    ember_status st = EMBER_OK;
    if (!o.grammar.empty())
        st = ember_sampler_add_grammar(s.get(), model, o.grammar.c_str(), nullptr);
    else if (!o.json_schema.empty())
        st = ember_sampler_add_json_schema(s.get(), model, o.json_schema.c_str());
    if (st != EMBER_OK)
        throw invalid_request(o.constraint_field + ": " + ember_error_text(st), o.constraint_field,
                              st == EMBER_ERR_UNSUPPORTED ? "unsupported_schema" : "invalid_grammar");
    if (!o.logit_bias.empty()) {
        std::vector<ember_token> tokens;
        std::vector<float> biases;
        for (const auto &[t, b] : o.logit_bias) {
            tokens.push_back(t);
            biases.push_back(b);
        }
        must(ember_sampler_add_logit_bias(s.get(), tokens.data(), biases.data(), tokens.size()), "logit_bias");
    }
    if (o.repeat_penalty != 1.0f || o.frequency_penalty != 0.0f || o.presence_penalty != 0.0f)
        must(ember_sampler_add_penalties(s.get(), kPenaltyWindow, o.repeat_penalty, o.frequency_penalty,
                                         o.presence_penalty),
             "penalties");
    if (o.temperature <= 0.0f) {
        must(ember_sampler_add_greedy(s.get()), "sampler");
        return s;
    }
    if (o.top_k > 0) must(ember_sampler_add_top_k(s.get(), o.top_k), "top_k");
    if (o.top_p < 1.0f) must(ember_sampler_add_top_p(s.get(), o.top_p, 1), "top_p");
    if (o.min_p > 0.0f) must(ember_sampler_add_min_p(s.get(), o.min_p, 1), "min_p");
    must(ember_sampler_add_temperature(s.get(), o.temperature), "temperature");
    must(ember_sampler_add_dist(s.get(), o.has_seed ? o.seed : fresh_seed()), "seed");
    return s;
}

}  // namespace server
