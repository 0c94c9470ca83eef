// The key/value cache: n_cells slots, each holding one token's K and V rows for every layer,
// its position and the set of sequences it belongs to. Sequences are independent streams
// (up to 64) that share the cells; a cell shared by several sequences (after seq_cp) is stored
// once. Cells are taken first-fit, so a removed range is reused by later tokens.
#pragma once

#include <cstdint>
#include <vector>

#include "core/graph.h"
#include "core/tensor_type.h"

namespace ember::model {

constexpr int kMaxSequences = 64;

class KvCache {
public:
    // n_layer layers of n_cells rows of n_embd_kv values in `type` (F16 or F32).
    KvCache(uint32_t n_layer, uint32_t n_embd_kv, uint32_t n_cells, uint32_t n_seq_max, TensorType type);

    uint32_t n_cells() const { return static_cast<uint32_t>(cells_.size()); }
    uint32_t n_seq_max() const { return n_seq_max_; }
    TensorType type() const { return type_; }
    uint32_t n_used() const { return n_used_; }
    uint32_t n_free() const { return n_cells() - n_used_; }
    size_t bytes() const { return k_.size() + v_.size(); }

    // Takes one free cell per token (first-fit) and records its position and sequence;
    // returns false, changing nothing, when fewer than n_tokens cells are free.
    bool place(const int32_t *pos, const int32_t *seq, int64_t n_tokens, std::vector<int32_t> &cells);
    // Empties the given cells (undoes place()).
    void release(const std::vector<int32_t> &cells);

    // The attention mask for a micro-batch: row t has 0 for every cell of seq[t] at a position
    // <= pos[t], -inf elsewhere, over cells [0, n_kv) where n_kv covers every used cell.
    void build_mask(const int32_t *pos, const int32_t *seq, int64_t n_tokens, std::vector<float> &mask,
                    int64_t &n_kv) const;

    // This layer's cache for a micro-batch (the Attention op's inputs).
    AttentionParams layer_view(uint32_t layer) const;

    // Sequence editing; p1 < 0 means "to the end". seq < 0 means every sequence.
    void seq_rm(int32_t seq, int32_t p0, int32_t p1);          // drop positions [p0, p1)
    void seq_cp(int32_t src, int32_t dst, int32_t p0, int32_t p1);  // dst also owns src's [p0, p1)
    void seq_keep(int32_t seq);                                 // drop every other sequence
    void clear();
    int32_t seq_pos_max(int32_t seq) const;                     // -1 if the sequence is empty
    int32_t seq_pos_min(int32_t seq) const;                     // -1 if the sequence is empty

    // Snapshot of the used cells (positions, sequences and K/V rows) for session state.
    void write_state(std::vector<uint8_t> &out) const;
    // Restores a snapshot written by a cache of the same shape and type; throws otherwise.
    void read_state(const uint8_t *data, size_t size);

private:
    struct Cell {
        int32_t pos = -1;
        uint64_t seqs = 0;  // bit s: belongs to sequence s
        bool empty() const { return seqs == 0; }
    };
    void check_seq(int32_t seq, bool allow_all) const;
    void drop(Cell &cell, uint64_t seqs);
    size_t row_bytes() const { return static_cast<size_t>(n_embd_kv_) * (type_ == TensorType::F16 ? 2 : 4); }

    uint32_t n_layer_, n_embd_kv_, n_seq_max_;
    TensorType type_;
    std::vector<Cell> cells_;
    uint32_t n_used_ = 0;
    std::vector<uint8_t> k_, v_;  // [n_layer][n_cells][n_embd_kv] each
};

}  // namespace ember::model
