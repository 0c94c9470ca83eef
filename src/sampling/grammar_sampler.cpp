#include "sampling/grammar_sampler.h"

#include <algorithm>

#include "core/error.h"
#include "sampling/grammar_mask_cache.h"
#include "sampling/grammar_matcher.h"

namespace ember::sampling {

namespace {

// Token id's bit of a mask (one bit per token).
inline bool allowed_bit(const std::vector<uint64_t> &bits, size_t id) { return bits[id / 64] >> (id % 64) & 1; }

class GrammarSampler final : public Sampler {
public:
    GrammarSampler(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const GrammarTokens> tokens)
        : matcher_(std::move(grammar)), tokens_(std::move(tokens)), state_(matcher_.initial()) {
        if (!tokens_) fail(EMBER_ERR_INVALID_ARGUMENT, "grammar stage: no vocabulary");
    }

    const char *name() const override { return "grammar"; }
    bool constrains() const override { return true; }
    bool satisfied() const override { return ended_ || GrammarMatcher::complete(state_); }

    bool allows(int32_t token) const override {
        if (ended_ || token < 0 || token >= tokens_->n_tokens()) return false;
        if (tokens_->end_of_generation[static_cast<size_t>(token)]) return GrammarMatcher::complete(state_);
        const std::string &piece = tokens_->pieces[static_cast<size_t>(token)];
        if (piece.empty()) return false;  // a control token: text the grammar never sees
        scratch_ = state_;
        return matcher_.advance(scratch_, piece) && matcher_.viable(scratch_);
    }

    void apply(Candidates &c) override {
        const bool whole_vocabulary = c.data.size() * 8 > static_cast<size_t>(tokens_->n_tokens());
        if (whole_vocabulary) {
            const std::vector<uint64_t> &bits = allowed_bits();
            c.data.erase(std::remove_if(c.data.begin(), c.data.end(),
                                        [&](const TokenData &t) {
                                            return t.id < 0 || t.id >= tokens_->n_tokens() ||
                                                   !allowed_bit(bits, static_cast<size_t>(t.id));
                                        }),
                         c.data.end());
        } else {
            c.data.erase(std::remove_if(c.data.begin(), c.data.end(), [&](const TokenData &t) { return !allows(t.id); }),
                         c.data.end());
        }
        if (c.data.empty())
            fail(EMBER_ERR_INVALID_ARGUMENT,
                 ended_ ? std::string("grammar: generation continued after the end of the text")
                        : std::string("grammar: the grammar allows no continuation: no token of the vocabulary can "
                                      "continue the text here") +
                              (GrammarMatcher::complete(state_) ? " (it is complete, but no end-of-generation token is allowed)" : ""));
    }

    void accept(int32_t token) override {
        if (ended_) fail(EMBER_ERR_INVALID_ARGUMENT, "grammar: a token after the end of generation");
        if (token < 0 || token >= tokens_->n_tokens())
            fail(EMBER_ERR_INVALID_ARGUMENT, "grammar: token " + std::to_string(token) + " is outside the vocabulary");
        if (tokens_->end_of_generation[static_cast<size_t>(token)]) {
            if (!GrammarMatcher::complete(state_))
                fail(EMBER_ERR_INVALID_ARGUMENT, "grammar: end of generation before the grammar completed");
            ended_ = true;
            return;
        }
        MatchState next = state_;
        const std::string &piece = tokens_->pieces[static_cast<size_t>(token)];
        if (piece.empty() || !matcher_.advance(next, piece) || !matcher_.viable(next))
            fail(EMBER_ERR_INVALID_ARGUMENT, "grammar: token " + std::to_string(token) + " does not continue the grammar");
        state_ = std::move(next);
    }

    void accept_prompt(int32_t /*token*/) override { reset(); }

    void reset() override {
        state_ = matcher_.initial();
        ended_ = false;
    }

    std::unique_ptr<Sampler> clone() const override { return std::make_unique<GrammarSampler>(*this); }

    // Every token allowed next, one bit per token: from the cache when this state was seen
    // before, else one walk over the vocabulary.
    const std::vector<uint64_t> &allowed_bits() const {
        if (ended_) {
            bits_.assign(static_cast<size_t>(tokens_->n_tokens() + 63) / 64, 0);
            return bits_;
        }
        if (const std::vector<uint64_t> *hit = masks_.find(state_)) return *hit;
        walk_vocabulary(bits_);
        return masks_.insert(state_, bits_);
    }

    // One walk over the tokens in byte order: levels[d] is the state after the first d bytes
    // of the current token, kept for the next token's shared prefix; a rejected prefix skips
    // every following token that begins with it.
    void walk_vocabulary(std::vector<uint64_t> &bits) const {
        const GrammarTokens &t = *tokens_;
        bits.assign(static_cast<size_t>(t.n_tokens() + 63) / 64, 0);
        auto allow = [&](size_t id) { bits[id / 64] |= uint64_t{1} << (id % 64); };
        if (GrammarMatcher::complete(state_))
            for (size_t id = 0; id < t.end_of_generation.size(); ++id)
                if (t.end_of_generation[id]) allow(id);
        levels_.resize(t.longest_piece + 1);
        levels_[0] = state_;
        size_t valid = 0;  // levels_[0..valid] belong to the previous token's bytes
        const size_t n = t.by_bytes.size();
        for (size_t i = 0; i < n;) {
            const std::string &piece = t.pieces[static_cast<size_t>(t.by_bytes[i])];
            size_t d = std::min<size_t>(t.shared_prefix[i], valid);
            bool alive = true;
            for (; d < piece.size(); ++d)
                if (!matcher_.advance(levels_[d], static_cast<uint8_t>(piece[d]), levels_[d + 1])) {
                    alive = false;
                    break;
                }
            if (alive) {
                valid = piece.size();
                if (matcher_.viable(levels_[valid])) allow(static_cast<size_t>(t.by_bytes[i]));
                ++i;
                continue;
            }
            // piece[0..d] is rejected, and so is every following token that begins with it.
            valid = d;
            size_t j = i + 1;
            while (j < n && t.shared_prefix[j] > d) ++j;
            i = j;
        }
    }

    void allowed_tokens(std::vector<uint8_t> &mask) const {
        const std::vector<uint64_t> &bits = allowed_bits();
        mask.resize(static_cast<size_t>(tokens_->n_tokens()));
        for (size_t id = 0; id < mask.size(); ++id) mask[id] = allowed_bit(bits, id);
    }

private:
    GrammarMatcher matcher_;
    std::shared_ptr<const GrammarTokens> tokens_;
    MatchState state_;
    bool ended_ = false;
    mutable MatchState scratch_;
    mutable std::vector<MatchState> levels_;
    mutable std::vector<uint64_t> bits_;
    mutable GrammarMaskCache masks_;
};

}  // namespace

std::unique_ptr<Sampler> make_grammar(std::shared_ptr<const Grammar> grammar,
                                      std::shared_ptr<const GrammarTokens> tokens) {
    return std::make_unique<GrammarSampler>(std::move(grammar), std::move(tokens));
}

void grammar_allowed_tokens(const Sampler &stage, std::vector<uint8_t> &mask) {
    const auto *g = dynamic_cast<const GrammarSampler *>(&stage);
    if (!g) fail(EMBER_ERR_INVALID_ARGUMENT, "grammar_allowed_tokens: not a grammar stage");
    g->allowed_tokens(mask);
}

}  // namespace ember::sampling
