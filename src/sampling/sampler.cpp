#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "core/error.h"
#include "sampling/log_softmax.h"

namespace ember::sampling {

namespace {

// Descending logit; ties broken by lower id so every order is total and reproducible.
bool higher(const TokenData &a, const TokenData &b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

}  // namespace

void Candidates::assign(const float *logits, int32_t n_vocab) {
    data.resize(static_cast<size_t>(n_vocab));
    for (int32_t i = 0; i < n_vocab; ++i) data[static_cast<size_t>(i)] = {i, logits[i], 0.0f};
    sorted = false;
    selected = -1;
}

void Candidates::sort() {
    if (sorted) return;
    std::sort(data.begin(), data.end(), higher);
    sorted = true;
}

void Candidates::softmax() {
    sort();
    if (data.empty()) return;
    const float max_logit = data[0].logit;
    double sum = 0.0;
    for (TokenData &t : data) {
        t.p = std::exp(t.logit - max_logit);
        sum += t.p;
    }
    for (TokenData &t : data) t.p = static_cast<float>(t.p / sum);
}

namespace {

class Greedy final : public Sampler {
public:
    const char *name() const override { return "greedy"; }
    void apply(Candidates &c) override {
        if (c.data.empty()) return;
        size_t best = 0;
        for (size_t i = 1; i < c.data.size(); ++i)
            if (higher(c.data[i], c.data[best])) best = i;
        c.selected = static_cast<int32_t>(best);
    }
    std::unique_ptr<Sampler> clone() const override { return std::make_unique<Greedy>(*this); }
};

class Dist final : public Sampler {
public:
    explicit Dist(uint32_t seed) : seed_(seed), rng_(seed) {}
    const char *name() const override { return "dist"; }
    void apply(Candidates &c) override {
        if (c.data.empty()) return;
        c.softmax();
        // 24 random bits -> a float in [0, 1): exact, and the same on every platform (unlike
        // std::uniform_real_distribution, whose algorithm the standard leaves open).
        const float u = static_cast<float>(rng_() >> 8) * (1.0f / 16777216.0f);
        float cumulative = 0.0f;
        for (size_t i = 0; i < c.data.size(); ++i) {
            cumulative += c.data[i].p;
            if (u < cumulative) {
                c.selected = static_cast<int32_t>(i);
                return;
            }
        }
        c.selected = static_cast<int32_t>(c.data.size() - 1);  // rounding left u above the sum
    }
    void reset() override { rng_.seed(seed_); }
    std::unique_ptr<Sampler> clone() const override { return std::make_unique<Dist>(*this); }

private:
    uint32_t seed_;
    std::mt19937 rng_;
};

class Temperature final : public Sampler {
public:
    explicit Temperature(float t) : t_(t) {}
    const char *name() const override { return "temperature"; }
    void apply(Candidates &c) override {
        if (c.data.empty()) return;
        if (t_ <= 0.0f) {  // the limit of a vanishing temperature: only the maximum survives
            c.sort();
            c.data.resize(1);
            c.data[0].p = 1.0f;
            return;
        }
        for (TokenData &t : c.data) t.logit /= t_;
    }
    std::unique_ptr<Sampler> clone() const override { return std::make_unique<Temperature>(*this); }

private:
    float t_;
};

class TopK final : public Sampler {
public:
    explicit TopK(int32_t k) : k_(k) {}
    const char *name() const override { return "top-k"; }
    void apply(Candidates &c) override {
        if (k_ <= 0 || static_cast<size_t>(k_) >= c.data.size()) return;
        const auto k = static_cast<size_t>(k_);
        if (!c.sorted) {
            std::partial_sort(c.data.begin(), c.data.begin() + static_cast<std::ptrdiff_t>(k), c.data.end(),
                              higher);
            c.sorted = true;
        }
        c.data.resize(k);
    }
    std::unique_ptr<Sampler> clone() const override { return std::make_unique<TopK>(*this); }

private:
    int32_t k_;
};

class TopP final : public Sampler {
public:
    TopP(float p, size_t min_keep) : p_(p), min_keep_(min_keep) {}
    const char *name() const override { return "top-p"; }
    void apply(Candidates &c) override {
        if (p_ >= 1.0f || c.data.empty()) return;
        c.softmax();
        // The smallest prefix whose probability reaches p (at least min_keep tokens).
        float cumulative = 0.0f;
        size_t keep = c.data.size();
        for (size_t i = 0; i < c.data.size(); ++i) {
            cumulative += c.data[i].p;
            if (cumulative >= p_ && i + 1 >= min_keep_) {
                keep = i + 1;
                break;
            }
        }
        c.data.resize(keep);
    }
    std::unique_ptr<Sampler> clone() const override { return std::make_unique<TopP>(*this); }

private:
    float p_;
    size_t min_keep_;
};

class MinP final : public Sampler {
public:
    MinP(float p, size_t min_keep) : p_(p), min_keep_(min_keep) {}
    const char *name() const override { return "min-p"; }
    void apply(Candidates &c) override {
        if (p_ <= 0.0f || c.data.empty()) return;
        c.sort();
        // p_i >= p * p_max  <=>  logit_i >= logit_max + log(p): no softmax needed.
        const float threshold = c.data[0].logit + std::log(p_);
        size_t keep = 0;
        while (keep < c.data.size() && c.data[keep].logit >= threshold) ++keep;
        c.data.resize(std::max(keep, std::min(min_keep_, c.data.size())));
    }
    std::unique_ptr<Sampler> clone() const override { return std::make_unique<MinP>(*this); }

private:
    float p_;
    size_t min_keep_;
};

// Locally typical sampling: keeps the tokens whose surprise -log p is closest to the
// distribution's entropy, until their probability mass reaches p.
class Typical final : public Sampler {
public:
    Typical(float p, size_t min_keep) : p_(p), min_keep_(min_keep) {}
    const char *name() const override { return "typical"; }
    void apply(Candidates &c) override {
        if (p_ >= 1.0f || c.data.empty()) return;
        c.softmax();
        double entropy = 0.0;
        for (const TokenData &t : c.data)
            if (t.p > 0.0f) entropy -= t.p * std::log(static_cast<double>(t.p));
        std::vector<std::pair<double, size_t>> order(c.data.size());  // (|surprise - H|, index)
        for (size_t i = 0; i < c.data.size(); ++i) {
            const double surprise = -std::log(static_cast<double>(c.data[i].p));
            order[i] = {std::fabs(surprise - entropy), i};
        }
        std::stable_sort(order.begin(), order.end(),
                         [](const auto &a, const auto &b) { return a.first < b.first; });
        float cumulative = 0.0f;
        size_t keep = order.size();
        for (size_t i = 0; i < order.size(); ++i) {
            cumulative += c.data[order[i].second].p;
            if (cumulative >= p_ && i + 1 >= min_keep_) {
                keep = i + 1;
                break;
            }
        }
        std::vector<TokenData> kept(keep);
        for (size_t i = 0; i < keep; ++i) kept[i] = c.data[order[i].second];
        c.data = std::move(kept);
        c.sorted = false;
    }
    std::unique_ptr<Sampler> clone() const override { return std::make_unique<Typical>(*this); }

private:
    float p_;
    size_t min_keep_;
};

class Penalties final : public Sampler {
public:
    Penalties(int32_t last_n, float repeat, float frequency, float presence)
        : last_n_(last_n), repeat_(repeat), frequency_(frequency), presence_(presence) {}
    const char *name() const override { return "penalties"; }
    void apply(Candidates &c) override {
        if (last_n_ == 0 || history_.empty()) return;
        if (repeat_ == 1.0f && frequency_ == 0.0f && presence_ == 0.0f) return;
        std::unordered_map<int32_t, int> counts;
        const size_t n = last_n_ < 0 ? history_.size()
                                     : std::min(history_.size(), static_cast<size_t>(last_n_));
        for (size_t i = history_.size() - n; i < history_.size(); ++i) ++counts[history_[i]];
        for (TokenData &t : c.data) {
            const auto it = counts.find(t.id);
            if (it == counts.end()) continue;
            t.logit = t.logit > 0.0f ? t.logit / repeat_ : t.logit * repeat_;
            t.logit -= static_cast<float>(it->second) * frequency_ + presence_;
        }
        c.sorted = false;
    }
    void accept(int32_t token) override {
        history_.push_back(token);
        // Keep the window bounded; trim in chunks so accept() stays O(1) amortized.
        if (last_n_ > 0 && history_.size() > 2 * static_cast<size_t>(last_n_))
            history_.erase(history_.begin(),
                           history_.end() - static_cast<std::ptrdiff_t>(last_n_));
    }
    void reset() override { history_.clear(); }
    std::unique_ptr<Sampler> clone() const override { return std::make_unique<Penalties>(*this); }

private:
    int32_t last_n_;
    float repeat_, frequency_, presence_;
    std::vector<int32_t> history_;
};

class LogitBias final : public Sampler {
public:
    explicit LogitBias(std::vector<std::pair<int32_t, float>> biases) : biases_(std::move(biases)) {}
    const char *name() const override { return "logit-bias"; }
    void apply(Candidates &c) override {
        if (biases_.empty()) return;
        std::unordered_map<int32_t, float> by_id;
        for (const auto &[id, bias] : biases_) by_id[id] += bias;
        for (TokenData &t : c.data) {
            const auto it = by_id.find(t.id);
            if (it != by_id.end()) t.logit += it->second;
        }
        c.sorted = false;
    }
    std::unique_ptr<Sampler> clone() const override { return std::make_unique<LogitBias>(*this); }

private:
    std::vector<std::pair<int32_t, float>> biases_;
};

}  // namespace

std::unique_ptr<Sampler> make_greedy() { return std::make_unique<Greedy>(); }
std::unique_ptr<Sampler> make_dist(uint32_t seed) { return std::make_unique<Dist>(seed); }
std::unique_ptr<Sampler> make_temperature(float temperature) { return std::make_unique<Temperature>(temperature); }
std::unique_ptr<Sampler> make_top_k(int32_t k) { return std::make_unique<TopK>(k); }
std::unique_ptr<Sampler> make_top_p(float p, size_t min_keep) { return std::make_unique<TopP>(p, min_keep); }
std::unique_ptr<Sampler> make_min_p(float p, size_t min_keep) { return std::make_unique<MinP>(p, min_keep); }
std::unique_ptr<Sampler> make_typical(float p, size_t min_keep) { return std::make_unique<Typical>(p, min_keep); }
std::unique_ptr<Sampler> make_penalties(int32_t last_n, float repeat, float frequency, float presence) {
    if (!(repeat > 0.0f)) fail(EMBER_ERR_INVALID_ARGUMENT, "repetition penalty must be > 0");
    return std::make_unique<Penalties>(last_n, repeat, frequency, presence);
}
std::unique_ptr<Sampler> make_logit_bias(std::vector<std::pair<int32_t, float>> biases) {
    return std::make_unique<LogitBias>(std::move(biases));
}

SamplerChain::SamplerChain(const SamplerChain &other) : cands_(other.cands_) {
    for (const auto &s : other.samplers_) samplers_.push_back(s->clone());
}

SamplerChain &SamplerChain::operator=(const SamplerChain &other) {
    if (this != &other) {
        SamplerChain copy(other);
        *this = std::move(copy);
    }
    return *this;
}

SamplerChain &SamplerChain::add(std::unique_ptr<Sampler> sampler) {
    if (!sampler) fail(EMBER_ERR_INVALID_ARGUMENT, "null sampler added to a chain");
    samplers_.push_back(std::move(sampler));
    return *this;
}

void SamplerChain::run(bool constrained) {
    if (constrained)
        for (const auto &s : samplers_)
            if (s->constrains()) {
                s->apply(cands_);
                if (cands_.data.empty()) fail(EMBER_ERR_INTERNAL, std::string("sampler '") + s->name() + "' removed every token");
            }
    for (const auto &s : samplers_) {
        if (s->constrains()) continue;
        s->apply(cands_);
        if (cands_.data.empty()) fail(EMBER_ERR_INTERNAL, std::string("sampler '") + s->name() + "' removed every token");
    }
    if (cands_.selected < 0) Greedy().apply(cands_);
}

int32_t SamplerChain::sample(const float *logits, int32_t n_vocab) {
    if (n_vocab <= 0) fail(EMBER_ERR_INVALID_ARGUMENT, "sampling needs at least one logit");
    cands_.assign(logits, n_vocab);
    if (!has_constraints()) {
        run(false);
        return cands_.data[static_cast<size_t>(cands_.selected)].id;
    }
    // Checking one token is far cheaper than masking the vocabulary, and usually enough.
    run(false);
    const int32_t choice = cands_.data[static_cast<size_t>(cands_.selected)].id;
    bool allowed = true;
    for (const auto &s : samplers_)
        if (s->constrains() && !s->allows(choice)) allowed = false;
    if (allowed) return choice;
    cands_.assign(logits, n_vocab);
    run(true);
    return cands_.data[static_cast<size_t>(cands_.selected)].id;
}

void SamplerChain::accept(int32_t token) {
    for (const auto &s : samplers_) s->accept(token);
}

void SamplerChain::accept_prompt(int32_t token) {
    for (const auto &s : samplers_) s->accept_prompt(token);
}

bool SamplerChain::satisfied() const {
    for (const auto &s : samplers_)
        if (!s->satisfied()) return false;
    return true;
}

bool SamplerChain::has_constraints() const {
    for (const auto &s : samplers_)
        if (s->constrains()) return true;
    return false;
}

void SamplerChain::reset() {
    for (const auto &s : samplers_) s->reset();
}

SamplerChain build_chain(const SamplerParams &params) {
    SamplerChain chain;
    if (params.grammar) chain.add(params.grammar->clone());
    if (!params.logit_bias.empty()) chain.add(make_logit_bias(params.logit_bias));
    if (params.penalty_last_n != 0 &&
        (params.penalty_repeat != 1.0f || params.penalty_frequency != 0.0f || params.penalty_presence != 0.0f))
        chain.add(make_penalties(params.penalty_last_n, params.penalty_repeat, params.penalty_frequency,
                                 params.penalty_presence));
    if (params.temperature <= 0.0f) {
        chain.add(make_greedy());
        return chain;
    }
    chain.add(make_top_k(params.top_k));
    chain.add(make_typical(params.typical_p));
    chain.add(make_top_p(params.top_p));
    chain.add(make_min_p(params.min_p));
    chain.add(make_temperature(params.temperature));
    chain.add(make_dist(params.seed));
    return chain;
}

std::vector<TokenLogprob> top_logprobs(const float *logits, int32_t n_vocab, int32_t n) {
    if (n_vocab <= 0 || n <= 0) return {};
    return top_logprobs(logits, n_vocab, n, log_sum_exp(logits, static_cast<size_t>(n_vocab)));
}

std::vector<TokenLogprob> top_logprobs(const float *logits, int32_t n_vocab, int32_t n, double log_z) {
    if (n_vocab <= 0 || n <= 0) return {};
    std::vector<int32_t> ids(static_cast<size_t>(n_vocab));
    for (int32_t i = 0; i < n_vocab; ++i) ids[static_cast<size_t>(i)] = i;
    const size_t k = std::min(static_cast<size_t>(n), ids.size());
    std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k), ids.end(),
                      [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
    std::vector<TokenLogprob> out(k);
    for (size_t i = 0; i < k; ++i) out[i] = {ids[i], static_cast<float>(static_cast<double>(logits[ids[i]]) - log_z)};
    return out;
}

}  // namespace ember::sampling
