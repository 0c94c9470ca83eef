// Shared vocabularies for the tokenizer tests: each GGUF is loaded once per test run.
#pragma once

#include <string>
#include <vector>

#include "tokenizer/vocab.h"

namespace ember::test {

// The vocabularies that have test vectors: the 11 in ../shared/vocab, and "archs/gemma-4"
// from ../shared/archs/vocab.
const std::vector<std::string> &vocab_names();
// ../shared/vocab/ggml-vocab-NAME.gguf (for "DIR/NAME": ../shared/DIR/vocab/ggml-vocab-NAME.gguf),
// loaded on first use.
const tokenizer::Vocab &shared_vocab(const std::string &name);

struct VocabCase {
    std::string input;
    std::vector<int32_t> expected;
};
// The inputs and expected ids of ggml-vocab-NAME.gguf.inp / .out.
std::vector<VocabCase> vocab_cases(const std::string &name);

}  // namespace ember::test
