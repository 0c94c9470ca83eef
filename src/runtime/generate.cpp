#include "runtime/generate.h"

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "sampling/log_softmax.h"
#include "tokenizer/streaming_decoder.h"

namespace ember {

const char *stop_reason_name(StopReason reason) {
    switch (reason) {
        case StopReason::EndOfGeneration: return "end of generation";
        case StopReason::MaxTokens: return "token limit";
        case StopReason::StopString: return "stop string";
        case StopReason::Callback: return "stopped by caller";
        case StopReason::ContextFull: return "context full";
        case StopReason::Aborted: return "aborted";
    }
    return "?";
}

namespace {

constexpr float kNoLogprob = std::numeric_limits<float>::quiet_NaN();

// Where the earliest stop string starts in text, or npos.
size_t find_stop(const std::string &text, const std::vector<std::string> &stop) {
    size_t at = std::string::npos;
    for (const std::string &s : stop)
        if (!s.empty()) at = std::min(at, text.find(s));
    return at;
}

// How much of the end of `text` could be the beginning of a stop string: that much must be
// held back from the stream until the next token settles it.
size_t stop_prefix_at_end(const std::string &text, const std::vector<std::string> &stop) {
    size_t held = 0;
    for (const std::string &s : stop) {
        if (s.empty()) continue;
        for (size_t n = std::min(s.size() - 1, text.size()); n > held; --n)
            if (text.compare(text.size() - n, n, s, 0, n) == 0) {
                held = n;
                break;
            }
    }
    return held;
}

}  // namespace

GenerateResult generate(Session &session, sampling::SamplerChain &sampler, const std::vector<int32_t> &prompt,
                        const GenerateParams &params, const std::function<bool(const GeneratedToken &)> &on_token) {
    const tokenizer::Vocab &vocab = session.model().require_vocab();
    const int32_t n_vocab = static_cast<int32_t>(session.model().n_vocab());
    GenerateResult result;
    int32_t pos = session.seq_pos_max(params.seq_id) + 1;
    if (prompt.empty() && pos == 0) fail(EMBER_ERR_INVALID_ARGUMENT, "generate: empty prompt and empty sequence");

    // The prompt (or, when empty, nothing new: the last logits must come from a decode).
    if (!prompt.empty()) {
        const ember_status st = session.decode(Batch::sequence(prompt, pos, params.seq_id));
        if (st != EMBER_OK) {
            result.stop_reason = st == EMBER_ERR_ABORTED ? StopReason::Aborted : StopReason::ContextFull;
            return result;
        }
        pos += static_cast<int32_t>(prompt.size());
        for (int32_t t : prompt) sampler.accept_prompt(t);
    }

    tokenizer::StreamingDecoder decoder(vocab);
    size_t streamed = 0;  // bytes of result.text already given to on_token
    // Ends generation: releases held-back text (a last piece with id -1) unless the caller
    // stopped us or a stop string cut it.
    auto finish = [&](StopReason reason) {
        result.text += decoder.flush();
        if (reason == StopReason::StopString) {
            result.text.resize(std::min(result.text.size(), find_stop(result.text, params.stop)));
        }
        if (reason != StopReason::Callback && on_token && streamed < result.text.size())
            on_token(GeneratedToken{-1, result.text.substr(streamed), kNoLogprob, {}});
        result.stop_reason = reason;
        return result;
    };

    for (int32_t i = 0; i < params.max_tokens; ++i) {
        const float *logits = session.logits(-1);
        const int32_t id = sampler.sample(logits, n_vocab);
        sampler.accept(id);
        if (vocab.is_eog(id)) return finish(StopReason::EndOfGeneration);
        GeneratedToken tok{id, decoder.push(id), kNoLogprob, {}};
        if (params.n_logprobs > 0) {  // a pass over the whole vocabulary: only when asked for
            const double log_z = sampling::log_sum_exp(logits, static_cast<size_t>(n_vocab));
            tok.logprob = static_cast<float>(static_cast<double>(logits[id]) - log_z);
            tok.top = sampling::top_logprobs(logits, n_vocab, params.n_logprobs, log_z);
        }
        result.tokens.push_back(id);
        result.text += tok.text;

        if (find_stop(result.text, params.stop) != std::string::npos) return finish(StopReason::StopString);
        const size_t releasable = result.text.size() - stop_prefix_at_end(result.text, params.stop);
        tok.text = result.text.substr(streamed, releasable - streamed);
        streamed = releasable;
        if (on_token && !on_token(tok)) return finish(StopReason::Callback);
        if (i + 1 == params.max_tokens) break;  // no need to decode a token nobody samples from

        Batch next;
        next.add(id, pos++, params.seq_id, true);
        const ember_status st = session.decode(next);
        if (st != EMBER_OK) return finish(st == EMBER_ERR_ABORTED ? StopReason::Aborted : StopReason::ContextFull);
    }
    return finish(StopReason::MaxTokens);
}

}  // namespace ember
