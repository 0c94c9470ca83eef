// SentencePiece-style tokenization of one stretch of text (no special tokens inside).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace ember::tokenizer {

class Vocab;

// `text` already has its spaces replaced by "▁" (and the space prefix added). Starting from
// single characters, the adjacent pair whose joined text is the highest-scoring token is
// joined first (leftmost on ties) until no pair forms a token; characters that are no token
// fall back to their <0xNN> byte tokens (or UNK).
void spm_tokenize(const Vocab &vocab, std::string_view text, std::vector<int32_t> &out);

}  // namespace ember::tokenizer
