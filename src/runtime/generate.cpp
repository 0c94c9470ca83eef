#include "runtime/generate.h"

#include <cmath>

#include "core/error.h"
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

// log softmax(logits)[id]
float logprob_of(const float *logits, int32_t n_vocab, int32_t id) {
    float max_logit = logits[0];
    for (int32_t i = 1; i < n_vocab; ++i) max_logit = std::max(max_logit, logits[i]);
    double sum = 0.0;
    for (int32_t i = 0; i < n_vocab; ++i) sum += std::exp(static_cast<double>(logits[i] - max_logit));
    return logits[id] - max_logit - static_cast<float>(std::log(sum));
}

// Where the earliest stop string starts in text, or npos.
size_t find_stop(const std::string &text, const std::vector<std::string> &stop) {
    size_t at = std::string::npos;
    for (const std::string &s : stop)
        if (!s.empty()) at = std::min(at, text.find(s));
    return at;
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
        for (int32_t t : prompt) sampler.accept(t);
    }

    tokenizer::StreamingDecoder decoder(vocab);
    for (int32_t i = 0; i < params.max_tokens; ++i) {
        const float *logits = session.logits(-1);
        const int32_t id = sampler.sample(logits, n_vocab);
        sampler.accept(id);
        if (vocab.is_eog(id)) {
            result.stop_reason = StopReason::EndOfGeneration;
            return result;
        }
        GeneratedToken tok{id, decoder.push(id), logprob_of(logits, n_vocab, id), {}};
        if (params.n_logprobs > 0) tok.top = sampling::top_logprobs(logits, n_vocab, params.n_logprobs);
        result.tokens.push_back(id);
        result.text += tok.text;

        const size_t stop_at = find_stop(result.text, params.stop);
        if (stop_at != std::string::npos) {
            result.text.resize(stop_at);
            result.stop_reason = StopReason::StopString;
            return result;
        }
        if (on_token && !on_token(tok)) {
            result.stop_reason = StopReason::Callback;
            return result;
        }
        if (i + 1 == params.max_tokens) break;  // no need to decode a token nobody samples from

        Batch next;
        next.add(id, pos++, params.seq_id, true);
        const ember_status st = session.decode(next);
        if (st != EMBER_OK) {
            result.stop_reason = st == EMBER_ERR_ABORTED ? StopReason::Aborted : StopReason::ContextFull;
            return result;
        }
    }
    result.text += decoder.flush();
    result.stop_reason = StopReason::MaxTokens;
    return result;
}

}  // namespace ember
