// Perplexity of a model over a text, and the KL-divergence of one model's next-token
// distributions from another's: the usual measures of what quantization costs.
//
// The text is tokenized once (with the model's BOS rule) and cut into non-overlapping chunks
// of n_ctx tokens; a trailing partial chunk is dropped. Each chunk is decoded from an empty
// KV cache with its first token replaced by BOS when the model adds one, and only the second
// half is scored: the logits after positions n_ctx/2 .. n_ctx-2 predict tokens
// n_ctx/2+1 .. n_ctx-1, so every scored token has at least n_ctx/2 tokens of context. These
// are llama.cpp's llama-perplexity rules, so figures compare with its output directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/model.h"
#include "runtime/session.h"

namespace ember::perplexity {

struct Params {
    uint32_t n_ctx = 512;    // tokens per chunk
    uint32_t n_batch = 0;    // tokens per decode, a divisor of n_ctx (0: n_ctx, a whole chunk)
    uint32_t n_chunks = 0;   // chunks to evaluate (0: every whole chunk of the text)
    int n_threads = 0;       // 0: hardware threads
    model::KvTypes kv_types;  // the KV cache's K and V row types
};

// Which positions of a chunk are scored: logits after positions [first, n_ctx - 1) predict
// the tokens at [first + 1, n_ctx).
inline uint32_t first_scored(uint32_t n_ctx) { return n_ctx / 2; }
inline uint32_t n_scored(uint32_t n_ctx) { return n_ctx - 1 - first_scored(n_ctx); }

// Mean and standard error of a sample, accumulated one value at a time.
class Mean {
public:
    void add(double x) {
        sum_ += x;
        sum2_ += x * x;
        ++n_;
    }
    void merge(const Mean &o) {
        sum_ += o.sum_;
        sum2_ += o.sum2_;
        n_ += o.n_;
    }
    uint64_t count() const { return n_; }
    double mean() const { return n_ ? sum_ / static_cast<double>(n_) : 0.0; }
    double mean_of_squares() const { return n_ ? sum2_ / static_cast<double>(n_) : 0.0; }
    // Standard error of the mean: sqrt(sample variance / n); 0 for fewer than two values.
    double stderr_of_mean() const;

private:
    double sum_ = 0.0, sum2_ = 0.0;
    uint64_t n_ = 0;
};

// Negative log-likelihoods of the scored tokens.
struct PerplexityStats {
    Mean nll;
    double ppl() const;
    // Standard error of ppl, propagated from that of the mean NLL (ppl * stderr(nll)).
    double ppl_stderr() const;
};

// One model's distributions (MODEL) compared with a base model's (BASE) at the same positions.
struct KlStats {
    Mean kl;            // KL(BASE || MODEL) = sum_v p_base(v) * (log p_base(v) - log p_model(v)), nats
    Mean top1_agree;    // 1 when both distributions have the same most likely token, else 0
    Mean delta_p;       // p_model(actual next token) - p_base(actual next token)
    Mean delta_p_sq;    // its squares (their spread gives the standard error of RMS delta_p)
    std::vector<float> kl_values;  // every position's KL, for percentiles

    double top1_percent() const { return 100.0 * top1_agree.mean(); }
    double top1_percent_stderr() const { return 100.0 * top1_agree.stderr_of_mean(); }
    double rms_delta_p() const;          // sqrt(mean(delta_p^2))
    double rms_delta_p_stderr() const;   // propagated from the standard error of mean(delta_p^2)
    // The q-quantile (0..1) of the per-position KL values.
    double kl_quantile(double q) const;
};

// Adds one scored position to the KL statistics, from both models' log-probabilities
// (sampling::log_softmax of each model's logits).
void add_kl_position(const double *base_logp, const double *model_logp, size_t n_vocab, int32_t next_token,
                     KlStats &stats);

// Decodes chunks of a token stream through one model and hands back the logits of the scored
// rows. Owns the session (n_ctx cells, one sequence).
class ChunkEvaluator {
public:
    ChunkEvaluator(const Model &model, const Params &params);

    // Decodes tokens[0..n_ctx) as one chunk (from an empty cache, BOS first when the model
    // adds one). Afterwards row_logits(i), i < n_scored(n_ctx), are the logits after chunk
    // position first_scored(n_ctx) + i.
    void evaluate(const int32_t *tokens);
    const float *row_logits(uint32_t i) const;

    const Session &session() const { return session_; }

private:
    const Model &model_;
    Params params_;
    Session session_;
    int32_t bos_ = -1;
    std::vector<float> scored_;   // [n_scored][n_vocab]
    Batch batch_;
};

// Tokenizes a whole text for perplexity: the model's BOS rule, special tokens not parsed.
std::vector<int32_t> tokenize_text(const Model &model, const std::string &text);

// How many chunks of n_ctx tokens a token stream provides, capped by params.n_chunks.
size_t chunk_count(size_t n_tokens, const Params &params);

// Progress after each chunk: its index (0-based), the count, and the statistics so far.
struct Progress {
    size_t chunk = 0, n_chunks = 0;
    const PerplexityStats *model = nullptr;
    const PerplexityStats *base = nullptr;   // with a base model
    const KlStats *kl = nullptr;             // with a base model
};

struct Result {
    size_t n_tokens = 0;      // tokens of the text
    size_t n_chunks = 0;
    PerplexityStats model;
    bool has_base = false;
    PerplexityStats base;
    KlStats kl;
};

// Scores `tokens` chunk by chunk through `model` and, when `base` is not null, through `base`
// as well, comparing their distributions. Throws ember::Error (EMBER_ERR_INVALID_ARGUMENT)
// when the tokens do not fill one chunk, when n_ctx < 4, when n_batch does not divide n_ctx,
// or when the two models' vocabularies differ in size.
Result evaluate(const Model &model, const Model *base, const std::vector<int32_t> &tokens, const Params &params,
                const std::function<void(const Progress &)> &on_chunk = {});

}  // namespace ember::perplexity
