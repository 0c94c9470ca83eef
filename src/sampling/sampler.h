// Token samplers and the chain that combines them. A sampler narrows or reshapes a list of
// candidate tokens (id, logit, probability); the chain runs its samplers in order and the last
// one that selects a token (greedy or dist) decides. Penalty samplers remember accepted tokens.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace ember::sampling {

struct TokenData {
    int32_t id;
    float logit;
    float p;  // probability after the last softmax (0 until one ran)
};

// The candidates a sampler works on. `sorted` says the data is in descending logit order;
// `selected` is an index into `data` once a selecting sampler has run (-1 before).
struct Candidates {
    std::vector<TokenData> data;
    bool sorted = false;
    int32_t selected = -1;

    // Fills with all n_vocab tokens of a logits row.
    void assign(const float *logits, int32_t n_vocab);
    // Sorts by descending logit (stable on ties: lower id first) if not sorted yet.
    void sort();
    // p = softmax(logit) over the current candidates; sorts first.
    void softmax();
};

class Sampler {
public:
    virtual ~Sampler() = default;
    virtual const char *name() const = 0;
    // Narrows/reshapes the candidates, or selects one.
    virtual void apply(Candidates &cands) = 0;
    // The token that was finally chosen (penalties remember it).
    virtual void accept(int32_t /*token*/) {}
    // A token of a prompt, given before the text the chain will choose: penalties remember
    // it like any other, a grammar starts over after it (its text begins after the prompt).
    virtual void accept_prompt(int32_t token) { accept(token); }
    // A constraint (the grammar) says which tokens may come next; the chain asks it about
    // its unconstrained choice first and masks with it only when that choice is refused.
    virtual bool constrains() const { return false; }
    virtual bool allows(int32_t /*token*/) const { return true; }
    // Whether the text accepted so far may end here (a grammar is complete).
    virtual bool satisfied() const { return true; }
    // Forgets history and restarts the RNG from its seed.
    virtual void reset() {}
    virtual std::unique_ptr<Sampler> clone() const = 0;
};

// Selectors.
std::unique_ptr<Sampler> make_greedy();
// Draws from softmax(candidates) with a seeded generator: the same seed gives the same draws
// on every platform (the generator and the float conversion are fully specified).
std::unique_ptr<Sampler> make_dist(uint32_t seed);

// Transforms.
std::unique_ptr<Sampler> make_temperature(float temperature);  // <= 0: keeps only the max
std::unique_ptr<Sampler> make_top_k(int32_t k);                 // k <= 0: no-op
std::unique_ptr<Sampler> make_top_p(float p, size_t min_keep = 1);
std::unique_ptr<Sampler> make_min_p(float p, size_t min_keep = 1);
std::unique_ptr<Sampler> make_typical(float p, size_t min_keep = 1);
// Over the last `last_n` accepted tokens (last_n < 0: all, 0: disabled): a token seen c > 0
// times gets logit' = (logit > 0 ? logit / repeat : logit * repeat) - c * frequency - presence.
std::unique_ptr<Sampler> make_penalties(int32_t last_n, float repeat, float frequency, float presence);
// logit[id] += bias for each pair (-INFINITY bans a token).
std::unique_ptr<Sampler> make_logit_bias(std::vector<std::pair<int32_t, float>> biases);

// A sequence of samplers; owns them.
class SamplerChain {
public:
    SamplerChain() = default;
    SamplerChain(const SamplerChain &other);
    SamplerChain &operator=(const SamplerChain &other);
    SamplerChain(SamplerChain &&) = default;
    SamplerChain &operator=(SamplerChain &&) = default;

    SamplerChain &add(std::unique_ptr<Sampler> sampler);
    size_t size() const { return samplers_.size(); }
    const Sampler &at(size_t i) const { return *samplers_.at(i); }

    // Runs the chain over a logits row (n_vocab floats) and returns the chosen token. A chain
    // without a selector falls back to the highest remaining logit. Does not accept().
    // With constraints (grammars): the other samplers run first, unconstrained; when every
    // constraint allows their choice it stands, otherwise the chain runs again with the
    // constraints first, wherever they were added, masking every token they refuse.
    int32_t sample(const float *logits, int32_t n_vocab);
    // The candidates after the last sample() (for inspection and tests).
    const Candidates &candidates() const { return cands_; }
    void accept(int32_t token);
    void accept_prompt(int32_t token);
    // Whether every constraint allows the text to end here.
    bool satisfied() const;
    bool has_constraints() const;
    void reset();

private:
    void run(bool constrained);

    std::vector<std::unique_ptr<Sampler>> samplers_;
    Candidates cands_;
};

// Common settings as one struct; build() returns the conventional order:
// [grammar] -> logit bias -> penalties -> top-k -> typical -> top-p -> min-p -> temperature
// -> dist, or [grammar] -> logit bias -> penalties -> greedy when temperature <= 0.
struct SamplerParams {
    uint32_t seed = 0;
    float temperature = 0.8f;
    int32_t top_k = 40;
    float top_p = 0.95f;
    float min_p = 0.05f;
    float typical_p = 1.0f;
    int32_t penalty_last_n = 64;
    float penalty_repeat = 1.0f;
    float penalty_frequency = 0.0f;
    float penalty_presence = 0.0f;
    std::vector<std::pair<int32_t, float>> logit_bias;
    std::shared_ptr<const Sampler> grammar;  // a make_grammar() stage to clone, or null
};
SamplerChain build_chain(const SamplerParams &params);

struct TokenLogprob {
    int32_t id;
    float logprob;
};
// The n most likely tokens of log_softmax(logits), most likely first (ties: lower id first).
std::vector<TokenLogprob> top_logprobs(const float *logits, int32_t n_vocab, int32_t n);
// The same for a caller that already has log_z = log_sum_exp(logits, n_vocab) (log_softmax.h).
std::vector<TokenLogprob> top_logprobs(const float *logits, int32_t n_vocab, int32_t n, double log_z);

}  // namespace ember::sampling
