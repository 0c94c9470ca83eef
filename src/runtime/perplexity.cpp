#include "runtime/perplexity.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "sampling/log_softmax.h"

namespace ember::perplexity {

double Mean::stderr_of_mean() const {
    if (n_ < 2) return 0.0;
    const double m = mean();
    const double var = std::max(0.0, mean_of_squares() - m * m);  // population variance
    return std::sqrt(var / static_cast<double>(n_ - 1));
}

double PerplexityStats::ppl() const { return std::exp(nll.mean()); }

double PerplexityStats::ppl_stderr() const { return ppl() * nll.stderr_of_mean(); }

double KlStats::rms_delta_p() const { return std::sqrt(delta_p.mean_of_squares()); }

double KlStats::rms_delta_p_stderr() const {
    // Delta method: rms = sqrt(m) with m = mean(dp^2), so stderr(rms) = stderr(m) / (2 rms).
    const double rms = rms_delta_p();
    return rms > 0.0 ? delta_p_sq.stderr_of_mean() / (2.0 * rms) : 0.0;
}

double KlStats::kl_quantile(double q) const {
    if (kl_values.empty()) return 0.0;
    std::vector<float> v = kl_values;
    const size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

void add_kl_position(const double *base_logp, const double *model_logp, size_t n_vocab, int32_t next_token,
                     KlStats &stats) {
    double kl = 0.0;
    size_t base_best = 0, model_best = 0;
    for (size_t v = 0; v < n_vocab; ++v) {
        kl += std::exp(base_logp[v]) * (base_logp[v] - model_logp[v]);
        if (base_logp[v] > base_logp[base_best]) base_best = v;
        if (model_logp[v] > model_logp[model_best]) model_best = v;
    }
    kl = std::max(0.0, kl);  // rounding can leave a tiny negative sum for identical distributions
    const double dp = std::exp(model_logp[next_token]) - std::exp(base_logp[next_token]);
    stats.kl.add(kl);
    stats.top1_agree.add(base_best == model_best ? 1.0 : 0.0);
    stats.delta_p.add(dp);
    stats.delta_p_sq.add(dp * dp);
    stats.kl_values.push_back(static_cast<float>(kl));
}

namespace {

SessionParams session_params(const Params &p) {
    SessionParams sp;
    sp.n_ctx = p.n_ctx;
    sp.n_ubatch = p.n_batch ? p.n_batch : p.n_ctx;
    sp.n_seq_max = 1;
    sp.n_threads = p.n_threads;
    sp.kv_types = p.kv_types;
    return sp;
}

void check_params(const Params &p) {
    if (p.n_ctx < 4) fail(EMBER_ERR_INVALID_ARGUMENT, "perplexity: context " + std::to_string(p.n_ctx) + " is below 4 tokens");
    if (p.n_batch != 0 && p.n_ctx % p.n_batch != 0)
        fail(EMBER_ERR_INVALID_ARGUMENT, "perplexity: batch size " + std::to_string(p.n_batch) +
                                             " does not divide the context " + std::to_string(p.n_ctx));
}

}  // namespace

ChunkEvaluator::ChunkEvaluator(const Model &model, const Params &params)
    : model_(model), params_((check_params(params), params)), session_(model, session_params(params)) {
    const tokenizer::Vocab *vocab = model.vocab();
    if (vocab && vocab->add_bos()) bos_ = vocab->bos();
    if (params_.n_batch == 0) params_.n_batch = params_.n_ctx;
    scored_.resize(static_cast<size_t>(n_scored(params_.n_ctx)) * model.n_vocab());
}

void ChunkEvaluator::evaluate(const int32_t *tokens) {
    const uint32_t n_ctx = params_.n_ctx, first = first_scored(n_ctx), last = n_ctx - 1;  // scored: [first, last)
    const size_t n_vocab = model_.n_vocab();
    session_.clear();
    for (uint32_t start = 0; start < n_ctx; start += params_.n_batch) {
        batch_.clear();
        for (uint32_t pos = start; pos < start + params_.n_batch; ++pos) {
            const int32_t token = (pos == 0 && bos_ >= 0) ? bos_ : tokens[pos];
            batch_.add(token, static_cast<int32_t>(pos), 0, pos >= first && pos < last);
        }
        const ember_status st = session_.decode(batch_);
        if (st != EMBER_OK)
            fail(st, st == EMBER_ERR_CONTEXT_FULL ? "perplexity: a chunk does not fit the context"
                                                  : "perplexity: decoding a chunk was aborted");
        for (uint32_t pos = std::max(start, first); pos < std::min(start + params_.n_batch, last); ++pos)
            std::memcpy(&scored_[(pos - first) * n_vocab], session_.logits(static_cast<int32_t>(pos - start)),
                        n_vocab * sizeof(float));
    }
}

const float *ChunkEvaluator::row_logits(uint32_t i) const {
    return &scored_[static_cast<size_t>(i) * model_.n_vocab()];
}

std::vector<int32_t> tokenize_text(const Model &model, const std::string &text) {
    return model.require_vocab().tokenize(text, /*add_special=*/true, /*parse_special=*/false);
}

size_t chunk_count(size_t n_tokens, const Params &params) {
    if (params.n_ctx == 0) return 0;
    const size_t whole = n_tokens / params.n_ctx;
    return params.n_chunks ? std::min<size_t>(whole, params.n_chunks) : whole;
}

Result evaluate(const Model &model, const Model *base, const std::vector<int32_t> &tokens, const Params &params,
                const std::function<void(const Progress &)> &on_chunk) {
    check_params(params);
    Result r;
    r.n_tokens = tokens.size();
    r.n_chunks = chunk_count(tokens.size(), params);
    if (r.n_chunks == 0)
        fail(EMBER_ERR_INVALID_ARGUMENT, "perplexity: the text has " + std::to_string(tokens.size()) +
                                             " tokens, fewer than one chunk of " + std::to_string(params.n_ctx));
    if (base && base->n_vocab() != model.n_vocab())
        fail(EMBER_ERR_INVALID_ARGUMENT, "perplexity: the base model's vocabulary has " +
                                             std::to_string(base->n_vocab()) + " tokens, the model's " +
                                             std::to_string(model.n_vocab()));
    r.has_base = base != nullptr;

    ChunkEvaluator eval(model, params);
    std::unique_ptr<ChunkEvaluator> base_eval;
    if (base) base_eval = std::make_unique<ChunkEvaluator>(*base, params);

    const uint32_t first = first_scored(params.n_ctx), n_rows = n_scored(params.n_ctx);
    const size_t n_vocab = model.n_vocab();
    std::vector<double> logp, base_logp;
    for (size_t c = 0; c < r.n_chunks; ++c) {
        const int32_t *chunk = tokens.data() + c * params.n_ctx;
        eval.evaluate(chunk);
        if (base_eval) base_eval->evaluate(chunk);
        for (uint32_t i = 0; i < n_rows; ++i) {
            const int32_t next = chunk[first + i + 1];
            sampling::log_softmax(eval.row_logits(i), n_vocab, logp);
            r.model.nll.add(-logp[static_cast<size_t>(next)]);
            if (base_eval) {
                sampling::log_softmax(base_eval->row_logits(i), n_vocab, base_logp);
                r.base.nll.add(-base_logp[static_cast<size_t>(next)]);
                add_kl_position(base_logp.data(), logp.data(), n_vocab, next, r.kl);
            }
        }
        if (on_chunk) {
            Progress p;
            p.chunk = c;
            p.n_chunks = r.n_chunks;
            p.model = &r.model;
            if (base) {
                p.base = &r.base;
                p.kl = &r.kl;
            }
            on_chunk(p);
        }
    }
    return r;
}

}  // namespace ember::perplexity
