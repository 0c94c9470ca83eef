#include "sampling/grammar_tokens.h"

#include <algorithm>

#include "core/error.h"
#include "tokenizer/streaming_decoder.h"
#include "tokenizer/vocab.h"

namespace ember::sampling {

std::shared_ptr<const GrammarTokens> GrammarTokens::from_pieces(std::vector<std::string> pieces,
                                                                std::vector<uint8_t> end_of_generation) {
    if (end_of_generation.size() != pieces.size())
        fail(EMBER_ERR_INVALID_ARGUMENT, "grammar tokens: one end-of-generation flag per token is needed");
    auto t = std::make_shared<GrammarTokens>();
    t->pieces = std::move(pieces);
    t->end_of_generation = std::move(end_of_generation);
    for (size_t id = 0; id < t->pieces.size(); ++id)
        if (!t->pieces[id].empty()) t->by_bytes.push_back(static_cast<int32_t>(id));
    std::sort(t->by_bytes.begin(), t->by_bytes.end(),
              [&](int32_t a, int32_t b) { return t->pieces[a] < t->pieces[b]; });
    t->shared_prefix.resize(t->by_bytes.size(), 0);
    for (size_t i = 0; i < t->by_bytes.size(); ++i) {
        const std::string &cur = t->pieces[t->by_bytes[i]];
        t->longest_piece = std::max(t->longest_piece, cur.size());
        if (i == 0) continue;
        const std::string &prev = t->pieces[t->by_bytes[i - 1]];
        const size_t n = std::min(prev.size(), cur.size());
        size_t k = 0;
        while (k < n && prev[k] == cur[k]) ++k;
        t->shared_prefix[i] = static_cast<uint32_t>(k);
    }
    return t;
}

std::shared_ptr<const GrammarTokens> GrammarTokens::from_vocab(const tokenizer::Vocab &vocab) {
    const int32_t n = vocab.n_tokens();
    std::vector<std::string> pieces(static_cast<size_t>(n));
    std::vector<uint8_t> eog(static_cast<size_t>(n), 0);
    // The bytes generation streams for a token (no space-prefix removal, special tokens
    // hidden), so what the grammar checks is what the caller receives.
    const tokenizer::DetokenizeOptions options = tokenizer::StreamingDecoder::streaming_defaults();
    for (int32_t id = 0; id < n; ++id) {
        tokenizer::DetokenizeState state;
        state.at_text_start = false;
        vocab.append_piece(id, options, state, pieces[static_cast<size_t>(id)]);
        eog[static_cast<size_t>(id)] = vocab.is_eog(id) ? 1 : 0;
        if (eog[static_cast<size_t>(id)]) pieces[static_cast<size_t>(id)].clear();
    }
    return from_pieces(std::move(pieces), std::move(eog));
}

}  // namespace ember::sampling
