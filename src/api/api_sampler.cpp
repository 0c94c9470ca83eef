// C ABI: sampler chains.
#include <cmath>
#include <utility>
#include <vector>

#include "api/api_guard.h"
#include "api/api_params.h"
#include "api/handles.h"

using namespace ember;

namespace {

ember_sampler_params default_sampler_params() {
    const sampling::SamplerParams d;
    ember_sampler_params p{};
    p.struct_size = sizeof p;
    p.seed = d.seed;
    p.temperature = d.temperature;
    p.top_k = d.top_k;
    p.top_p = d.top_p;
    p.min_p = d.min_p;
    p.typical_p = d.typical_p;
    p.penalty_last_n = d.penalty_last_n;
    p.penalty_repeat = d.penalty_repeat;
    p.penalty_frequency = d.penalty_frequency;
    p.penalty_presence = d.penalty_presence;
    return p;
}

void check_finite(float v, const char *what) {
    if (!std::isfinite(v)) fail(EMBER_ERR_INVALID_ARGUMENT, std::string(what) + " must be a finite number");
}

template <typename Make>
ember_status add(ember_sampler *chain, Make &&make) {
    return api::guarded([&] { api::require_handle(chain, "sampler").chain.add(make()); });
}

}  // namespace

extern "C" {

EMBER_API ember_sampler_params ember_sampler_default_params(void) { return default_sampler_params(); }

EMBER_API ember_status ember_sampler_create(const ember_sampler_params *params, ember_sampler **out) {
    if (out) *out = nullptr;
    return api::guarded([&] {
        if (!out) fail(EMBER_ERR_INVALID_ARGUMENT, "out is NULL");
        const ember_sampler_params p = api::read_params(params, default_sampler_params(), "ember_sampler_params");
        for (float v : {p.temperature, p.top_p, p.min_p, p.typical_p, p.penalty_repeat, p.penalty_frequency, p.penalty_presence})
            check_finite(v, "sampler parameter");
        sampling::SamplerParams sp;
        sp.seed = p.seed;
        sp.temperature = p.temperature;
        sp.top_k = p.top_k;
        sp.top_p = p.top_p;
        sp.min_p = p.min_p;
        sp.typical_p = p.typical_p;
        sp.penalty_last_n = p.penalty_last_n;
        sp.penalty_repeat = p.penalty_repeat;
        sp.penalty_frequency = p.penalty_frequency;
        sp.penalty_presence = p.penalty_presence;
        auto s = std::make_unique<ember_sampler>();
        s->chain = sampling::build_chain(sp);
        *out = s.release();
    });
}

EMBER_API ember_status ember_sampler_chain_create(ember_sampler **out) {
    if (out) *out = nullptr;
    return api::guarded([&] {
        if (!out) fail(EMBER_ERR_INVALID_ARGUMENT, "out is NULL");
        *out = new ember_sampler();
    });
}

EMBER_API ember_status ember_sampler_add_greedy(ember_sampler *chain) { return add(chain, [] { return sampling::make_greedy(); }); }
EMBER_API ember_status ember_sampler_add_dist(ember_sampler *chain, uint32_t seed) {
    return add(chain, [&] { return sampling::make_dist(seed); });
}
EMBER_API ember_status ember_sampler_add_temperature(ember_sampler *chain, float t) {
    return add(chain, [&] { check_finite(t, "temperature"); return sampling::make_temperature(t); });
}
EMBER_API ember_status ember_sampler_add_top_k(ember_sampler *chain, int32_t k) {
    return add(chain, [&] { return sampling::make_top_k(k); });
}
EMBER_API ember_status ember_sampler_add_top_p(ember_sampler *chain, float p, size_t min_keep) {
    return add(chain, [&] { check_finite(p, "top_p"); return sampling::make_top_p(p, min_keep); });
}
EMBER_API ember_status ember_sampler_add_min_p(ember_sampler *chain, float p, size_t min_keep) {
    return add(chain, [&] { check_finite(p, "min_p"); return sampling::make_min_p(p, min_keep); });
}
EMBER_API ember_status ember_sampler_add_typical(ember_sampler *chain, float p, size_t min_keep) {
    return add(chain, [&] { check_finite(p, "typical_p"); return sampling::make_typical(p, min_keep); });
}
EMBER_API ember_status ember_sampler_add_penalties(ember_sampler *chain, int32_t last_n, float repeat, float frequency,
                                                   float presence) {
    return add(chain, [&] {
        for (float v : {repeat, frequency, presence}) check_finite(v, "penalty");
        return sampling::make_penalties(last_n, repeat, frequency, presence);
    });
}
EMBER_API ember_status ember_sampler_add_logit_bias(ember_sampler *chain, const ember_token *tokens, const float *biases,
                                                    size_t n) {
    return add(chain, [&] {
        if (n && (!tokens || !biases)) fail(EMBER_ERR_INVALID_ARGUMENT, "tokens or biases is NULL");
        std::vector<std::pair<int32_t, float>> pairs;
        for (size_t i = 0; i < n; ++i) {
            if (std::isnan(biases[i])) fail(EMBER_ERR_INVALID_ARGUMENT, "logit bias " + std::to_string(i) + " is NaN");
            pairs.emplace_back(tokens[i], biases[i]);
        }
        return sampling::make_logit_bias(std::move(pairs));
    });
}

EMBER_API void ember_sampler_free(ember_sampler *sampler) { delete sampler; }

EMBER_API ember_status ember_sampler_sample_logits(ember_sampler *sampler, const float *logits, int32_t n_vocab,
                                                   ember_token *token) {
    return api::guarded([&] {
        ember_sampler &s = api::require_handle(sampler, "sampler");
        if (!logits || n_vocab <= 0 || !token) fail(EMBER_ERR_INVALID_ARGUMENT, "logits, n_vocab or token is invalid");
        *token = s.chain.sample(logits, n_vocab);
    });
}

EMBER_API ember_status ember_sampler_sample(ember_sampler *sampler, const ember_session *session, int32_t row,
                                            ember_token *token) {
    return api::guarded([&] {
        ember_sampler &s = api::require_handle(sampler, "sampler");
        const ember_session &sess = api::require_handle(session, "session");
        if (!token) fail(EMBER_ERR_INVALID_ARGUMENT, "token is NULL");
        const float *logits = sess.session->logits(row);
        *token = s.chain.sample(logits, static_cast<int32_t>(sess.session->model().n_vocab()));
    });
}

EMBER_API ember_status ember_sampler_accept(ember_sampler *sampler, ember_token token) {
    return api::guarded([&] { api::require_handle(sampler, "sampler").chain.accept(token); });
}

EMBER_API ember_status ember_sampler_reset(ember_sampler *sampler) {
    return api::guarded([&] { api::require_handle(sampler, "sampler").chain.reset(); });
}

EMBER_API ember_status ember_top_logprobs(const float *logits, int32_t n_vocab, int32_t n, ember_token *tokens,
                                          float *logprobs) {
    return api::guarded([&] {
        if (!logits || n_vocab <= 0 || n < 0 || n > n_vocab || (n && (!tokens || !logprobs)))
            fail(EMBER_ERR_INVALID_ARGUMENT, "logits, n_vocab, n or the output arrays are invalid");
        const auto top = sampling::top_logprobs(logits, n_vocab, n);
        for (size_t i = 0; i < top.size(); ++i) {
            tokens[i] = top[i].id;
            logprobs[i] = top[i].logprob;
        }
    });
}

}  // extern "C"
