// The vocabulary as a grammar sees it: each token's bytes exactly as generation streams them,
// which tokens end generation, and the tokens sorted by their bytes so that a walk over the
// whole vocabulary can share the work for common prefixes and skip every token that begins
// with a prefix the grammar has already rejected.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ember::tokenizer {
class Vocab;
}

namespace ember::sampling {

struct GrammarTokens {
    std::vector<std::string> pieces;      // per id; "" for control and unused tokens
    std::vector<uint8_t> end_of_generation;  // per id: 1 for EOS, EOT and the like
    std::vector<int32_t> by_bytes;        // ids with a non-empty piece, in byte order
    std::vector<uint32_t> shared_prefix;  // per by_bytes entry: bytes in common with the one before
    size_t longest_piece = 0;

    int32_t n_tokens() const { return static_cast<int32_t>(pieces.size()); }

    static std::shared_ptr<const GrammarTokens> from_pieces(std::vector<std::string> pieces,
                                                            std::vector<uint8_t> end_of_generation);
    static std::shared_ptr<const GrammarTokens> from_vocab(const tokenizer::Vocab &vocab);
};

}  // namespace ember::sampling
