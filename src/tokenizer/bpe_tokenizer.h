// Byte-level BPE tokenization of one pre-tokenized word.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace ember::tokenizer {

class Vocab;

// Starting from one token per byte, the adjacent pair with the lowest merge rank is merged
// first (leftmost on ties) until no pair has a merge. With ignore_merges (Llama 3) a word
// that is itself a token is emitted directly.
void bpe_tokenize_word(const Vocab &vocab, std::string_view word, std::vector<int32_t> &out);

}  // namespace ember::tokenizer
