// Text generation: decode a prompt, then sample, stream and feed back one token at a time
// until an end-of-generation token, a token limit, a stop string or the caller says stop.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "runtime/session.h"
#include "sampling/sampler.h"

namespace ember {

struct GenerateParams {
    int32_t max_tokens = 128;        // generated tokens at most (the prompt not counted)
    std::vector<std::string> stop;   // stop when the generated text contains one (not kept)
    int32_t n_logprobs = 0;          // > 0: report each generated token's log-probability and
                                     // its n_logprobs most likely alternatives (0: neither, and
                                     // no full-vocabulary log-softmax per token)
    int32_t seq_id = 0;              // the sequence to extend; the prompt continues after its
                                     // cached positions (seq_pos_max + 1)
};

enum class StopReason { EndOfGeneration, MaxTokens, StopString, Callback, ContextFull, Aborted };
const char *stop_reason_name(StopReason reason);

// One step of the stream. `text` is what can be shown now: complete UTF-8, and never part of
// a stop string (text that might begin one is held back until the next token settles it).
// A last step with id -1 releases text still held back when generation ends.
struct GeneratedToken {
    int32_t id;
    std::string text;                // text released by this step (may be "")
    float logprob;                   // log p of this token under the model's distribution;
                                     // NaN unless n_logprobs > 0 (and for the id -1 step)
    std::vector<sampling::TokenLogprob> top;  // n_logprobs most likely alternatives
};

struct GenerateResult {
    std::vector<int32_t> tokens;     // generated ids (an end-of-generation token excluded)
    std::string text;                // their text, cut before a stop string
    StopReason stop_reason = StopReason::MaxTokens;
};

// Streams each token to on_token (nullable; return false to stop). Throws ember::Error for
// invalid input (e.g. an empty prompt on an empty sequence, a model without a tokenizer).
GenerateResult generate(Session &session, sampling::SamplerChain &sampler, const std::vector<int32_t> &prompt,
                        const GenerateParams &params,
                        const std::function<bool(const GeneratedToken &)> &on_token = nullptr);

}  // namespace ember
