// The grammar stage of a sampler chain: it allows only tokens whose bytes continue the
// grammar (pieces spanning several terminals and pieces ending inside a UTF-8 character
// included), allows end-of-generation tokens only where the grammar is complete, and advances
// on each accepted token.
#pragma once

#include <memory>
#include <vector>

#include "sampling/grammar.h"
#include "sampling/grammar_tokens.h"
#include "sampling/sampler.h"

namespace ember::sampling {

// Throws ember::Error (EMBER_ERR_INVALID_ARGUMENT) from apply() when no token can continue
// ("the grammar allows no continuation") and from accept() for a token it does not allow.
std::unique_ptr<Sampler> make_grammar(std::shared_ptr<const Grammar> grammar,
                                      std::shared_ptr<const GrammarTokens> tokens);

// Every token the stage allows next: mask[id] = 1 (n_tokens entries). For tests and
// benchmarks; `stage` must come from make_grammar.
void grammar_allowed_tokens(const Sampler &stage, std::vector<uint8_t> &mask);

}  // namespace ember::sampling
