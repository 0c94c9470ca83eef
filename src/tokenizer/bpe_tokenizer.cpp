#include "tokenizer/bpe_tokenizer.h"

#include <queue>
#include <string>

#include "tokenizer/byte_level.h"
#include "tokenizer/unicode.h"
#include "tokenizer/vocab.h"

namespace ember::tokenizer {

namespace {

// A token of the text in a doubly linked list; merged-away symbols get id = kGone.
struct Symbol {
    int32_t id;  // -1: a byte or character the vocabulary has no token for (never merges)
    int32_t prev, next;
    uint32_t start, n;  // the bytes of the text it covers (before any merge)
};
constexpr int32_t kGone = -2;

struct Candidate {
    int32_t rank;
    int32_t left, right;
    int32_t left_id, right_id;  // to notice candidates made stale by a merge
    int32_t result;
};
// Lowest rank first; on equal ranks the leftmost pair.
struct Later {
    bool operator()(const Candidate &a, const Candidate &b) const {
        if (a.rank != b.rank) return a.rank > b.rank;
        return a.left > b.left;
    }
};

// Links `symbols` (in text order) and merges adjacent pairs by rank until none has a merge.
// Both BPE flavours share this; they differ only in the starting symbols and in what a
// symbol without a token becomes.
void merge_by_rank(const Vocab &vocab, std::vector<Symbol> &symbols) {
    const auto n = static_cast<int32_t>(symbols.size());
    for (int32_t i = 0; i < n; ++i) {
        symbols[i].prev = i - 1;
        symbols[i].next = i + 1 < n ? i + 1 : -1;
    }
    std::priority_queue<Candidate, std::vector<Candidate>, Later> queue;
    auto consider = [&](int32_t left, int32_t right) {
        const int32_t a = symbols[left].id, b = symbols[right].id;
        Vocab::Merge m;
        if (a >= 0 && b >= 0 && vocab.find_merge(a, b, m)) queue.push({m.rank, left, right, a, b, m.result});
    };
    for (int32_t i = 1; i < n; ++i) consider(i - 1, i);

    while (!queue.empty()) {
        const Candidate c = queue.top();
        queue.pop();
        Symbol &left = symbols[c.left];
        Symbol &right = symbols[c.right];
        if (left.id != c.left_id || right.id != c.right_id || left.next != c.right) continue;
        left.id = c.result;
        left.n += right.n;
        right.id = kGone;
        left.next = right.next;
        if (right.next >= 0) symbols[right.next].prev = c.left;
        if (left.prev >= 0) consider(left.prev, c.left);
        if (left.next >= 0) consider(c.left, left.next);
    }
}

}  // namespace

void bpe_tokenize_word(const Vocab &vocab, std::string_view word, std::vector<int32_t> &out) {
    if (word.empty()) return;
    if (vocab.ignore_merges()) {
        std::string text;
        byte_level::encode(word, text);
        const int32_t id = vocab.find_token(text);
        if (id >= 0) {
            out.push_back(id);
            return;
        }
    }
    if (word.size() == 1) {
        const int32_t id = vocab.byte_token(static_cast<uint8_t>(word[0]));
        if (id >= 0) out.push_back(id); else if (vocab.unk() >= 0) out.push_back(vocab.unk());
        return;
    }

    std::vector<Symbol> symbols(word.size());
    for (size_t i = 0; i < word.size(); ++i) {
        symbols[i] = {vocab.byte_token(static_cast<uint8_t>(word[i])), 0, 0, static_cast<uint32_t>(i), 1};
    }
    merge_by_rank(vocab, symbols);

    for (int32_t i = 0; i >= 0; i = symbols[i].next) {
        if (symbols[i].id >= 0) {
            out.push_back(symbols[i].id);
        } else if (vocab.unk() >= 0) {
            out.push_back(vocab.unk());
        }
    }
}

void bpe_tokenize_chars(const Vocab &vocab, std::string_view text, std::vector<int32_t> &out) {
    std::vector<Symbol> symbols;
    symbols.reserve(text.size());
    // Invalid UTF-8 decodes one byte at a time, which then falls back to its byte token.
    for (size_t pos = 0; pos < text.size();) {
        const uint32_t len = unicode::decode_utf8(text, pos).len;
        symbols.push_back({vocab.find_token(text.substr(pos, len)), 0, 0, static_cast<uint32_t>(pos), len});
        pos += len;
    }
    if (symbols.empty()) return;
    merge_by_rank(vocab, symbols);

    for (int32_t i = 0; i >= 0; i = symbols[i].next) {
        const Symbol &s = symbols[i];
        if (s.id >= 0) {
            out.push_back(s.id);
            continue;
        }
        // Only single characters are left without a token (merges always form tokens).
        for (uint32_t k = 0; k < s.n; ++k) {
            const int32_t b = vocab.byte_token(static_cast<uint8_t>(text[s.start + k]));
            if (b >= 0) {
                out.push_back(b);
            } else if (vocab.unk() >= 0) {
                out.push_back(vocab.unk());
                break;
            }
        }
    }
}

}  // namespace ember::tokenizer
