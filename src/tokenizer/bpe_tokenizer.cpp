#include "tokenizer/bpe_tokenizer.h"

#include <queue>
#include <string>

#include "tokenizer/byte_level.h"
#include "tokenizer/vocab.h"

namespace ember::tokenizer {

namespace {

// A token of the word in a doubly linked list; merged-away symbols get id = kGone.
struct Symbol {
    int32_t id;  // -1: a byte the vocabulary has no token for (never merges)
    int32_t prev, next;
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

    const auto n = static_cast<int32_t>(word.size());
    std::vector<Symbol> symbols(static_cast<size_t>(n));
    for (int32_t i = 0; i < n; ++i) {
        symbols[i] = {vocab.byte_token(static_cast<uint8_t>(word[i])), i - 1, i + 1 < n ? i + 1 : -1};
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
        right.id = kGone;
        left.next = right.next;
        if (right.next >= 0) symbols[right.next].prev = c.left;
        if (left.prev >= 0) consider(left.prev, c.left);
        if (left.next >= 0) consider(c.left, left.next);
    }

    for (int32_t i = 0; i >= 0; i = symbols[i].next) {
        if (symbols[i].id >= 0) {
            out.push_back(symbols[i].id);
        } else if (vocab.unk() >= 0) {
            out.push_back(vocab.unk());
        }
    }
}

}  // namespace ember::tokenizer
