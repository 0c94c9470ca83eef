// Runs a compact Grammar over text, one byte at a time: the state is the set of parse stacks
// that are still possible (each a list of element offsets whose last entry is the character
// class to match next; an empty stack means the grammar is complete) plus the bytes of a
// UTF-8 character seen only in part. Tokens can end in the middle of a character, so the
// partial character is part of the state.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "sampling/grammar.h"

namespace ember::sampling {

// Parse stacks stored back to back: stack i is data[begin(i) .. end(i)).
struct StackSet {
    std::vector<uint32_t> data;
    std::vector<uint32_t> ends;

    size_t size() const { return ends.size(); }
    bool empty() const { return ends.empty(); }
    uint32_t begin(size_t i) const { return i == 0 ? 0 : ends[i - 1]; }
    uint32_t end(size_t i) const { return ends[i]; }
    void clear() {
        data.clear();
        ends.clear();
    }
    bool operator==(const StackSet &o) const { return data == o.data && ends == o.ends; }
};

struct MatchState {
    StackSet stacks;
    uint32_t partial_value = 0;   // bits of a character decoded so far
    uint8_t partial_remaining = 0;  // continuation bytes it still needs (0: none pending)
};

struct MatcherLimits {
    size_t max_stacks = 512;         // simultaneous parse stacks (an ambiguous grammar)
    size_t max_expansions = 200000;  // expansion steps for one character
};

class GrammarMatcher {
public:
    explicit GrammarMatcher(std::shared_ptr<const Grammar> grammar, const MatcherLimits &limits = {});

    const Grammar &grammar() const { return *grammar_; }
    // The state before any text.
    const MatchState &initial() const { return initial_; }

    // in + one byte -> out; false (out unspecified) when the byte cannot continue the
    // grammar. Throws ember::Error when the grammar is too ambiguous for the limits.
    bool advance(const MatchState &in, uint8_t byte, MatchState &out) const;
    // Advances `state` over all of `bytes`; false (state unspecified) when rejected.
    bool advance(MatchState &state, std::string_view bytes) const;
    // Whether `state` is a place a text may stop: no partial character, some stack complete.
    static bool complete(const MatchState &state);
    // Whether a token may end in `state`: something can follow (or it is complete), and a
    // partial character can still be finished into one the grammar allows.
    bool viable(const MatchState &state) const;

private:
    bool advance_code_point(const StackSet &in, uint32_t cp, StackSet &out) const;
    bool advance_uncached(const StackSet &in, uint32_t cp, StackSet &out) const;
    // Expands `stack` (rule references at its top become their alternatives) into out.
    void expand(const uint32_t *stack, size_t len, StackSet &out, size_t &steps) const;
    void dedupe(StackSet &set) const;

    // Results of advance_code_point for recent (stacks, code point) pairs: a mask walk asks
    // the same few questions (inside a string, each ASCII character) thousands of times.
    // Only a cache: a copy starts empty, so copies never share it.
    struct AdvanceMemo {
        struct Entry {
            uint64_t hash = 0;
            uint32_t cp = 0;
            bool valid = false;
            StackSet in, out;
        };
        std::vector<Entry> entries;
        AdvanceMemo() = default;
        AdvanceMemo(const AdvanceMemo &) {}
        AdvanceMemo &operator=(const AdvanceMemo &) {
            entries.clear();
            return *this;
        }
    };

    std::shared_ptr<const Grammar> grammar_;
    MatcherLimits limits_;
    MatchState initial_;
    mutable AdvanceMemo memo_;
    // Scratch space reused between calls (a matcher is used by one thread at a time).
    mutable std::vector<uint32_t> work_data_, work_ends_, current_;
    mutable StackSet unsorted_;
    mutable std::vector<uint32_t> order_;
};

}  // namespace ember::sampling
