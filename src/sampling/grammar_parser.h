// GBNF text -> the compact Grammar. The syntax is llama.cpp's: `name ::= alternatives`, one
// rule per line (a rule continues after `::=`, after `|`, on a line that begins with `|` and
// inside parentheses), string literals, character classes ([a-z], [^"\\]), `.` for any character, groups, the postfix
// operators ? * + {m} {m,} {m,n}, escapes \x.. \u.... \U........ \n \r \t \\ \" \[ \] and
// `#` comments.
//
// Everything a grammar could do to hurt the matcher is rejected here with the line and column
// of the offending text: undefined or duplicate rules, left recursion (a rule that can reach
// itself without consuming a character, which includes repeating something that can match
// nothing), rules that can never finish, and sizes past the limits below.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sampling/grammar.h"

namespace ember::sampling {

struct GrammarLimits {
    size_t max_nesting = 64;          // parentheses inside parentheses
    uint32_t max_repetition = 10000;  // m and n of {m,n}
    size_t max_elements = 1u << 20;   // elements of the compact form, repetitions expanded
    size_t max_text = 4u << 20;       // bytes of grammar text
};

// Throws ember::Error (EMBER_ERR_INVALID_ARGUMENT) whose message begins "grammar: line L,
// column C: " for any problem.
std::shared_ptr<const Grammar> parse_grammar(std::string_view text, std::string_view root_rule = "root",
                                             const GrammarLimits &limits = {});

}  // namespace ember::sampling
