#include "tokenizer/special_token_matcher.h"

#include <algorithm>

namespace ember::tokenizer {

namespace {
bool is_ascii_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
}  // namespace

uint32_t SpecialTokenMatcher::child(uint32_t node, uint8_t byte) const {
    if (node == 0) return root_children_[byte];
    const auto it = children_.find((static_cast<uint64_t>(node) << 8) | byte);
    return it == children_.end() ? 0 : it->second;
}

void SpecialTokenMatcher::add(std::string_view text, int32_t id, Options options) {
    if (text.empty()) return;
    uint32_t node = 0;
    for (char ch : text) {
        const auto byte = static_cast<uint8_t>(ch);
        uint32_t next = child(node, byte);
        if (next == 0) {
            next = static_cast<uint32_t>(nodes_.size());
            nodes_.push_back(Node{});
            if (node == 0) {
                root_children_[byte] = next;
            } else {
                children_.emplace((static_cast<uint64_t>(node) << 8) | byte, next);
            }
        }
        node = next;
    }
    // A later token with the same text replaces the earlier one, as text lookups do.
    nodes_[node].entry = static_cast<int32_t>(entries_.size());
    entries_.push_back({id, static_cast<uint32_t>(text.size()), options});
}

void SpecialTokenMatcher::partition(std::string_view text, bool parse_special,
                                    std::vector<Piece> &pieces) const {
    // Every occurrence of every eligible token, found with one trie walk per position.
    struct Match {
        uint32_t pos;
        int32_t entry;
    };
    std::vector<Match> matches;
    const size_t n = text.size();
    for (size_t pos = 0; pos < n; ++pos) {
        uint32_t node = root_children_[static_cast<uint8_t>(text[pos])];
        size_t k = pos + 1;
        while (node != 0) {
            const int32_t e = nodes_[node].entry;
            if (e >= 0 && (parse_special || entries_[e].options.always)) {
                matches.push_back({static_cast<uint32_t>(pos), e});
            }
            if (k == n) break;
            node = child(node, static_cast<uint8_t>(text[k++]));
        }
    }
    if (matches.empty()) {
        if (n) pieces.push_back({text, -1});
        return;
    }

    // Longest tokens first (then lower ids, then leftmost); an occurrence is taken unless it
    // overlaps one taken before. This is the order in which the reference tokenizer cuts its
    // special tokens out of the remaining text.
    std::sort(matches.begin(), matches.end(), [&](const Match &a, const Match &b) {
        const Entry &ea = entries_[a.entry], &eb = entries_[b.entry];
        if (ea.length != eb.length) return ea.length > eb.length;
        if (ea.id != eb.id) return ea.id < eb.id;
        return a.pos < b.pos;
    });
    std::vector<uint8_t> covered(n, 0);
    std::vector<Match> taken;
    for (const Match &m : matches) {
        const uint32_t len = entries_[m.entry].length;
        if (std::any_of(covered.begin() + m.pos, covered.begin() + m.pos + len, [](uint8_t c) { return c != 0; })) {
            continue;
        }
        std::fill(covered.begin() + m.pos, covered.begin() + m.pos + len, uint8_t{1});
        taken.push_back(m);
    }
    std::sort(taken.begin(), taken.end(), [](const Match &a, const Match &b) { return a.pos < b.pos; });

    size_t text_begin = 0;
    bool strip_next = false;  // the previous token strips the whitespace after it
    for (const Match &m : taken) {
        const Entry &e = entries_[m.entry];
        size_t text_end = m.pos;
        if (strip_next) {
            while (text_begin < text_end && is_ascii_space(text[text_begin])) ++text_begin;
        }
        if (e.options.lstrip) {
            while (text_end > text_begin && is_ascii_space(text[text_end - 1])) --text_end;
        }
        if (text_begin < text_end) pieces.push_back({text.substr(text_begin, text_end - text_begin), -1});
        pieces.push_back({text.substr(m.pos, e.length), e.id});
        text_begin = m.pos + e.length;
        strip_next = e.options.rstrip;
    }
    if (strip_next) {
        while (text_begin < n && is_ascii_space(text[text_begin])) ++text_begin;
    }
    if (text_begin < n) pieces.push_back({text.substr(text_begin), -1});
}

}  // namespace ember::tokenizer
