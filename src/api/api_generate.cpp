// C ABI: one call that turns a prompt into a streamed reply.
#include <chrono>
#include <climits>
#include <cstring>
#include <string>
#include <vector>

#include "api/api_guard.h"
#include "api/api_params.h"
#include "api/handles.h"
#include "runtime/generate.h"

using namespace ember;

namespace {

ember_generate_params default_generate_params() {
    ember_generate_params p{};
    p.struct_size = sizeof p;
    p.max_tokens = -1;
    p.add_special = true;
    p.parse_special = false;
    return p;
}

ember_stop_reason to_c(StopReason r) {
    switch (r) {
        case StopReason::EndOfGeneration: return EMBER_STOP_EOG;
        case StopReason::MaxTokens: return EMBER_STOP_MAX_TOKENS;
        case StopReason::StopString: return EMBER_STOP_STRING;
        case StopReason::Callback: return EMBER_STOP_CALLBACK;
        case StopReason::ContextFull: return EMBER_STOP_CONTEXT_FULL;
        case StopReason::Aborted: return EMBER_STOP_NONE;
    }
    return EMBER_STOP_NONE;
}

double seconds_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

}  // namespace

extern "C" {

EMBER_API ember_generate_params ember_generate_default_params(void) { return default_generate_params(); }

EMBER_API ember_status ember_generate(ember_session *session, const char *prompt, const ember_generate_params *params,
                                      ember_generate_result *result) {
    return api::guarded([&] {
        ember_session &s = api::require_handle(session, "session");
        if (!prompt) fail(EMBER_ERR_INVALID_ARGUMENT, "prompt is NULL");
        const ember_generate_params p = api::read_params(params, default_generate_params(), "ember_generate_params");
        ember_generate_result r{};
        if (result) r = api::read_params(result, ember_generate_result{sizeof(ember_generate_result), 0, 0, EMBER_STOP_NONE, 0, 0},
                                         "ember_generate_result");

        const bool empty_session = s.session->seq_pos_max(0) < 0;
        const std::vector<int32_t> tokens = s.model->vocab->tokenize(prompt, p.add_special && empty_session, p.parse_special);

        GenerateParams gp;
        gp.max_tokens = p.max_tokens < 0 ? INT32_MAX : p.max_tokens;
        if (p.n_stop && !p.stop) fail(EMBER_ERR_INVALID_ARGUMENT, "stop is NULL");
        for (size_t i = 0; i < p.n_stop; ++i) {
            if (!p.stop[i]) fail(EMBER_ERR_INVALID_ARGUMENT, "stop string " + std::to_string(i) + " is NULL");
            if (*p.stop[i]) gp.stop.emplace_back(p.stop[i]);
        }
        sampling::SamplerChain greedy;
        greedy.add(sampling::make_greedy());
        sampling::SamplerChain &chain = p.sampler ? p.sampler->chain : greedy;

        // The first token is chosen right after the prompt is decoded: time until then is the
        // prompt's, the rest is generation.
        const auto start = std::chrono::steady_clock::now();
        auto first = start;
        int32_t n_tokens = 0;
        const GenerateResult g = generate(*s.session, chain, tokens, gp, [&](const GeneratedToken &t) {
            if (n_tokens++ == 0) first = std::chrono::steady_clock::now();
            if (p.callback && !t.text.empty()) return p.callback(t.text.data(), t.text.size(), p.user_data);
            return true;
        });
        const auto end = std::chrono::steady_clock::now();
        if (g.stop_reason == StopReason::Aborted) fail(EMBER_ERR_ABORTED, "generation aborted by the abort callback");

        r.n_prompt_tokens = static_cast<int32_t>(tokens.size());
        r.n_generated = static_cast<int32_t>(g.tokens.size());
        r.stop_reason = to_c(g.stop_reason);
        r.prompt_seconds = n_tokens ? seconds_between(start, first) : seconds_between(start, end);
        r.generate_seconds = n_tokens ? seconds_between(first, end) : 0.0;
        if (result) std::memcpy(static_cast<void *>(result), &r, result->struct_size < sizeof r ? result->struct_size : sizeof r);
    });
}

}  // extern "C"
