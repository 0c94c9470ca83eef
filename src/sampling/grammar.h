// A GBNF grammar in compact form: every rule is a list of alternatives, every alternative a
// run of elements in one flat array ended by an End element. Groups and repetitions were
// turned into generated rules by the parser, so only two kinds of symbols remain: a rule
// reference and a character class over Unicode code points.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ember::sampling {

struct GrammarElement {
    enum Kind : uint8_t { End, Rule, Chars };
    Kind kind = End;
    uint32_t index = 0;  // Rule: the rule; Chars: the class in Grammar::classes
};

// A set of code points: inclusive ranges, or everything outside them when negated.
struct CharClass {
    std::vector<std::pair<uint32_t, uint32_t>> ranges;
    bool negated = false;

    bool contains(uint32_t cp) const {
        bool in = false;
        for (const auto &[lo, hi] : ranges)
            if (cp >= lo && cp <= hi) {
                in = true;
                break;
            }
        return in != negated;
    }
    // Whether some code point in [lo, hi] is in the set (for a partly decoded UTF-8 character).
    bool intersects(uint32_t lo, uint32_t hi) const;
    bool operator==(const CharClass &o) const { return negated == o.negated && ranges == o.ranges; }
};

struct Grammar {
    std::vector<GrammarElement> elements;
    std::vector<std::vector<uint32_t>> alternatives;  // per rule: offsets into elements
    std::vector<CharClass> classes;
    std::vector<std::string> rule_names;              // generated rules are "parent~N"
    uint32_t root = 0;
};

}  // namespace ember::sampling
