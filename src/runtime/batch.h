// A batch of tokens to decode: each with its position, its sequence and whether its output
// (logits, or embeddings in embeddings mode) is wanted. Rows are addressed by their index.
#pragma once

#include <cstdint>
#include <vector>

namespace ember {

struct Batch {
    std::vector<int32_t> tokens;
    std::vector<int32_t> positions;
    std::vector<int32_t> seq_ids;
    std::vector<uint8_t> want_output;

    void add(int32_t token, int32_t pos, int32_t seq_id, bool output) {
        tokens.push_back(token);
        positions.push_back(pos);
        seq_ids.push_back(seq_id);
        want_output.push_back(output ? 1 : 0);
    }
    void clear() {
        tokens.clear();
        positions.clear();
        seq_ids.clear();
        want_output.clear();
    }
    size_t size() const { return tokens.size(); }

    // Tokens of one sequence at positions start, start+1, ...; output for the last only, or
    // for every token when all_outputs.
    static Batch sequence(const std::vector<int32_t> &tokens, int32_t start_pos, int32_t seq_id,
                          bool all_outputs = false) {
        Batch b;
        for (size_t i = 0; i < tokens.size(); ++i)
            b.add(tokens[i], start_pos + static_cast<int32_t>(i), seq_id, all_outputs || i + 1 == tokens.size());
        return b;
    }
};

}  // namespace ember
