#include "tokenizer/spm_tokenizer.h"

#include <queue>

#include "tokenizer/unicode.h"
#include "tokenizer/vocab.h"

namespace ember::tokenizer {

namespace {

// A run of bytes of the text in a doubly linked list; merged-away symbols get n = 0.
struct Symbol {
    uint32_t start, n;
    int32_t prev, next;
};

struct Candidate {
    float score;
    int32_t left, right;
    uint32_t n;  // bytes of the joined text, to notice candidates made stale by a merge
};
// Highest score first; on equal scores the leftmost pair.
struct Lower {
    bool operator()(const Candidate &a, const Candidate &b) const {
        if (a.score != b.score) return a.score < b.score;
        return a.left > b.left;
    }
};

class Session {
public:
    Session(const Vocab &vocab, std::string_view text) : vocab_(vocab), text_(text) {}

    void run(std::vector<int32_t> &out) {
        for (size_t pos = 0; pos < text_.size();) {
            const uint32_t len = unicode::decode_utf8(text_, pos).len;
            const auto i = static_cast<int32_t>(symbols_.size());
            symbols_.push_back({static_cast<uint32_t>(pos), len, i - 1, i + 1});
            pos += len;
        }
        if (symbols_.empty()) return;
        symbols_.back().next = -1;
        for (int32_t i = 1; i < static_cast<int32_t>(symbols_.size()); ++i) consider(i - 1, i);

        while (!queue_.empty()) {
            const Candidate c = queue_.top();
            queue_.pop();
            Symbol &left = symbols_[c.left];
            Symbol &right = symbols_[c.right];
            if (left.n == 0 || right.n == 0 || left.next != c.right || left.n + right.n != c.n) continue;
            left.n += right.n;
            right.n = 0;
            left.next = right.next;
            if (right.next >= 0) symbols_[right.next].prev = c.left;
            if (left.prev >= 0) consider(left.prev, c.left);
            if (left.next >= 0) consider(c.left, left.next);
        }

        for (int32_t i = 0; i >= 0; i = symbols_[i].next) {
            const Symbol &s = symbols_[i];
            const int32_t id = vocab_.find_token(text_.substr(s.start, s.n));
            if (id >= 0) {
                out.push_back(id);
                continue;
            }
            // Only single characters can be missing (joins always form tokens): spell them
            // out as bytes.
            for (uint32_t k = 0; k < s.n; ++k) {
                const int32_t b = vocab_.byte_token(static_cast<uint8_t>(text_[s.start + k]));
                if (b >= 0) {
                    out.push_back(b);
                } else if (vocab_.unk() >= 0) {
                    out.push_back(vocab_.unk());
                    break;
                }
            }
        }
    }

private:
    void consider(int32_t left, int32_t right) {
        const Symbol &l = symbols_[left];
        const Symbol &r = symbols_[right];
        const int32_t id = vocab_.find_token(text_.substr(l.start, l.n + r.n));
        if (id < 0) return;
        queue_.push({vocab_.token_score(id), left, right, l.n + r.n});
    }

    const Vocab &vocab_;
    std::string_view text_;
    std::vector<Symbol> symbols_;
    std::priority_queue<Candidate, std::vector<Candidate>, Lower> queue_;
};

}  // namespace

void spm_tokenize(const Vocab &vocab, std::string_view text, std::vector<int32_t> &out) {
    Session(vocab, text).run(out);
}

}  // namespace ember::tokenizer
