// A regular expression (JSON Schema's `pattern`) -> one GBNF expression matching exactly the
// strings it matches. The subset: literals and escapes (\. \\ \/ \n \t \d \w \s \D \W \S
// \uXXXX), `.`, classes [a-z0-9_] and [^...], groups (...) and (?:...), alternation |, the
// quantifiers ? * + {m} {m,} {m,n}, and anchors ^ at the start and $ at the end. A pattern
// without anchors matches anywhere in a string in JSON Schema; the expression then allows
// any characters around the match. Anything else (lookarounds, backreferences, lazy
// quantifiers, anchors elsewhere) throws ember::Error (EMBER_ERR_UNSUPPORTED).
//
// The expression matches the string's characters as they are, not as JSON escapes them, so
// it is only used for characters that need no escaping ("), \ and control characters are
// left out of every class and `.`).
#pragma once

#include <string>
#include <string_view>

namespace ember::sampling {

std::string regex_to_grammar(std::string_view pattern, std::string_view json_pointer);

}  // namespace ember::sampling
