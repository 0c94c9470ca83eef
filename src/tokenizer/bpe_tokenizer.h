// BPE tokenization by merge rank: byte-level (GPT-2 style, one pre-tokenized word at a time)
// and character-level (SentencePiece-style pieces with "▁" for spaces, e.g. Gemma 4).
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

// `text` already has its spaces replaced by "▁" (and the space prefix added). Starting from
// one token per UTF-8 character, pairs merge by rank as above over the whole text; a
// character that is no token never merges and is spelled out in its <0xNN> byte tokens (or
// UNK).
void bpe_tokenize_chars(const Vocab &vocab, std::string_view text, std::vector<int32_t> &out);

}  // namespace ember::tokenizer
