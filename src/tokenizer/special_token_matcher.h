// Finds the text of special tokens (control, unknown, user-defined) inside input text, so
// that "<|im_start|>user" becomes one token and the text "user". Matching follows the
// model's own tokenizer: longer tokens win over shorter ones wherever they overlap.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ember::tokenizer {

class SpecialTokenMatcher {
public:
    struct Options {
        bool always = false;  // matched even when special parsing is off (user-defined tokens)
        bool lstrip = false;  // ASCII whitespace before the token is dropped
        bool rstrip = false;  // ASCII whitespace after the token is dropped
    };
    // A piece of partitioned text: a token (id >= 0) or plain text to tokenize (id == -1).
    struct Piece {
        std::string_view text;
        int32_t id;
    };

    // Registers a token's text (non-empty); ids must be added in increasing order.
    void add(std::string_view text, int32_t id, Options options);
    // Appends the pieces of `text` in order. With parse_special false only `always` tokens
    // are matched.
    void partition(std::string_view text, bool parse_special, std::vector<Piece> &pieces) const;

private:
    struct Entry {
        int32_t id;
        uint32_t length;
        Options options;
    };
    struct Node {
        int32_t entry = -1;  // index into entries_ of the token ending here
    };
    uint32_t child(uint32_t node, uint8_t byte) const;

    std::vector<Entry> entries_;
    std::vector<Node> nodes_{Node{}};                // node 0 is the root
    std::array<uint32_t, 256> root_children_{};      // 0: no token starts with this byte
    std::unordered_map<uint64_t, uint32_t> children_;  // (node << 8 | byte) -> node
};

}  // namespace ember::tokenizer
