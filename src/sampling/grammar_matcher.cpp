#include "sampling/grammar_matcher.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace ember::sampling {

GrammarMatcher::GrammarMatcher(std::shared_ptr<const Grammar> grammar, const MatcherLimits &limits)
    : grammar_(std::move(grammar)), limits_(limits) {
    if (!grammar_) fail(EMBER_ERR_INVALID_ARGUMENT, "grammar matcher: no grammar");
    // The root reference alone, expanded: one stack per way the text can begin.
    std::vector<uint32_t> start;
    size_t steps = 0;
    for (uint32_t alt : grammar_->alternatives[grammar_->root]) {
        start.clear();
        if (grammar_->elements[alt].kind != GrammarElement::End) start.push_back(alt);
        expand(start.data(), start.size(), unsorted_, steps);
    }
    initial_.stacks = unsorted_;
    unsorted_.clear();
    dedupe(initial_.stacks);
}

void GrammarMatcher::expand(const uint32_t *stack, size_t len, StackSet &out, size_t &steps) const {
    const Grammar &g = *grammar_;
    work_data_.assign(stack, stack + len);
    work_ends_.assign(1, static_cast<uint32_t>(len));
    while (!work_ends_.empty()) {
        const uint32_t end = work_ends_.back();
        work_ends_.pop_back();
        const uint32_t begin = work_ends_.empty() ? 0 : work_ends_.back();
        current_.assign(work_data_.begin() + begin, work_data_.begin() + end);
        work_data_.resize(begin);
        if (++steps > limits_.max_expansions)
            fail(EMBER_ERR_INVALID_ARGUMENT, "grammar: too ambiguous (more than " +
                                                 std::to_string(limits_.max_expansions) +
                                                 " expansion steps for one character)");
        if (current_.empty() || g.elements[current_.back()].kind == GrammarElement::Chars) {
            out.data.insert(out.data.end(), current_.begin(), current_.end());
            out.ends.push_back(static_cast<uint32_t>(out.data.size()));
            if (out.size() > limits_.max_stacks * 4)
                fail(EMBER_ERR_INVALID_ARGUMENT, "grammar: too ambiguous (more than " +
                                                     std::to_string(limits_.max_stacks) + " parse stacks)");
            continue;
        }
        // A rule reference: its continuation stays below, each alternative goes on top.
        const uint32_t pos = current_.back();
        const uint32_t rule = g.elements[pos].index;
        current_.pop_back();
        if (g.elements[pos + 1].kind != GrammarElement::End) current_.push_back(pos + 1);
        const auto &alts = g.alternatives[rule];
        for (auto it = alts.rbegin(); it != alts.rend(); ++it) {
            work_data_.insert(work_data_.end(), current_.begin(), current_.end());
            if (g.elements[*it].kind != GrammarElement::End) work_data_.push_back(*it);
            work_ends_.push_back(static_cast<uint32_t>(work_data_.size()));
        }
    }
}

void GrammarMatcher::dedupe(StackSet &set) const {
    if (set.size() < 2) return;
    order_.resize(set.size());
    std::iota(order_.begin(), order_.end(), 0u);
    auto less = [&](uint32_t a, uint32_t b) {
        return std::lexicographical_compare(set.data.begin() + set.begin(a), set.data.begin() + set.end(a),
                                            set.data.begin() + set.begin(b), set.data.begin() + set.end(b));
    };
    auto same = [&](uint32_t a, uint32_t b) {
        return std::equal(set.data.begin() + set.begin(a), set.data.begin() + set.end(a),
                          set.data.begin() + set.begin(b), set.data.begin() + set.end(b));
    };
    std::sort(order_.begin(), order_.end(), less);
    order_.erase(std::unique(order_.begin(), order_.end(), same), order_.end());
    if (order_.size() == set.size()) return;
    if (order_.size() > limits_.max_stacks)
        fail(EMBER_ERR_INVALID_ARGUMENT,
             "grammar: too ambiguous (more than " + std::to_string(limits_.max_stacks) + " parse stacks)");
    StackSet &kept = unsorted_;
    kept.clear();
    for (uint32_t i : order_) {
        kept.data.insert(kept.data.end(), set.data.begin() + set.begin(i), set.data.begin() + set.end(i));
        kept.ends.push_back(static_cast<uint32_t>(kept.data.size()));
    }
    std::swap(set, kept);
}

namespace {

constexpr size_t kMemoEntries = 1024;  // a power of two

uint64_t hash_stacks(const StackSet &set) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a over the offsets and the stack ends
    for (uint32_t v : set.data) h = (h ^ v) * 1099511628211ull;
    for (uint32_t v : set.ends) h = (h ^ (v + 0x9E3779B9u)) * 1099511628211ull;
    return h;
}

}  // namespace

bool GrammarMatcher::advance_code_point(const StackSet &in, uint32_t cp, StackSet &out) const {
    if (memo_.entries.empty()) memo_.entries.resize(kMemoEntries);
    const uint64_t h = hash_stacks(in);
    AdvanceMemo::Entry &e = memo_.entries[((h ^ (cp * 0x9E3779B97F4A7C15ull)) >> 20) & (kMemoEntries - 1)];
    if (e.valid && e.cp == cp && e.hash == h && e.in == in) {
        out = e.out;
        return !out.empty();
    }
    const bool alive = advance_uncached(in, cp, out);
    e.valid = true;
    e.cp = cp;
    e.hash = h;
    e.in = in;
    e.out = out;
    return alive;
}

bool GrammarMatcher::advance_uncached(const StackSet &in, uint32_t cp, StackSet &out) const {
    const Grammar &g = *grammar_;
    out.clear();
    size_t steps = 0;
    std::vector<uint32_t> &next = order_;  // reused: dedupe runs only after the loop
    for (size_t i = 0; i < in.size(); ++i) {
        const uint32_t b = in.begin(i), e = in.end(i);
        if (b == e) continue;  // a complete stack takes no more characters
        const uint32_t pos = in.data[e - 1];
        if (!g.classes[g.elements[pos].index].contains(cp)) continue;
        next.assign(in.data.begin() + b, in.data.begin() + e - 1);
        if (g.elements[pos + 1].kind != GrammarElement::End) next.push_back(pos + 1);
        expand(next.data(), next.size(), out, steps);
    }
    dedupe(out);
    return !out.empty();
}

bool GrammarMatcher::advance(const MatchState &in, uint8_t byte, MatchState &out) const {
    if (in.partial_remaining == 0) {
        if (byte < 0x80) {
            out.partial_remaining = 0;
            out.partial_value = 0;
            return advance_code_point(in.stacks, byte, out.stacks);
        }
        if ((byte & 0xE0) == 0xC0 && byte >= 0xC2) {
            out.partial_value = byte & 0x1Fu;
            out.partial_remaining = 1;
        } else if ((byte & 0xF0) == 0xE0) {
            out.partial_value = byte & 0x0Fu;
            out.partial_remaining = 2;
        } else if ((byte & 0xF8) == 0xF0 && byte <= 0xF4) {
            out.partial_value = byte & 0x07u;
            out.partial_remaining = 3;
        } else {
            return false;  // not the first byte of any UTF-8 character
        }
        out.stacks = in.stacks;
        return viable(out);
    }
    if ((byte & 0xC0) != 0x80) return false;
    const uint32_t value = (in.partial_value << 6) | (byte & 0x3Fu);
    const uint8_t remaining = static_cast<uint8_t>(in.partial_remaining - 1);
    if (remaining > 0) {
        out.partial_value = value;
        out.partial_remaining = remaining;
        out.stacks = in.stacks;
        return viable(out);
    }
    // Overlong forms and surrogates are not characters.
    if (value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return false;
    out.partial_value = 0;
    out.partial_remaining = 0;
    return advance_code_point(in.stacks, value, out.stacks);
}

bool GrammarMatcher::advance(MatchState &state, std::string_view bytes) const {
    MatchState next;
    for (char c : bytes) {
        if (!advance(state, static_cast<uint8_t>(c), next)) return false;
        std::swap(state, next);
    }
    return true;
}

bool GrammarMatcher::complete(const MatchState &state) {
    if (state.partial_remaining) return false;
    for (size_t i = 0; i < state.stacks.size(); ++i)
        if (state.stacks.begin(i) == state.stacks.end(i)) return true;
    return false;
}

bool GrammarMatcher::viable(const MatchState &state) const {
    if (state.stacks.empty()) return false;
    if (state.partial_remaining == 0) return true;
    // The characters this partial sequence can still become: [lo, hi]; also no overlong
    // encodings, which a 3- or 4-byte lead with too small a value would give.
    const unsigned shift = 6u * state.partial_remaining;
    uint32_t lo = state.partial_value << shift;
    const uint32_t hi = std::min<uint32_t>(lo | ((1u << shift) - 1), 0x10FFFF);
    if (state.partial_remaining == 2 && state.partial_value == 0) lo = std::max<uint32_t>(lo, 0x800);
    if (state.partial_remaining == 3 && state.partial_value == 0) lo = std::max<uint32_t>(lo, 0x10000);
    if (lo > hi) return false;
    const Grammar &g = *grammar_;
    for (size_t i = 0; i < state.stacks.size(); ++i) {
        const uint32_t b = state.stacks.begin(i), e = state.stacks.end(i);
        if (b == e) continue;
        if (g.classes[g.elements[state.stacks.data[e - 1]].index].intersects(lo, hi)) return true;
    }
    return false;
}

}  // namespace ember::sampling
