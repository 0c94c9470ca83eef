// The key/value cache: n_cells slots, each holding one token's K and V rows for every layer,
// its position and the set of sequences it belongs to. Each layer's rows live in buffers of
// that layer's backend; the cell bookkeeping stays on the host. Sequences are independent streams
// (up to 64) that share the cells; a cell shared by several sequences (after seq_cp) is stored
// once. Cells are taken first-fit, so a removed range is reused by later tokens.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/buffer.h"
#include "core/tensor_type.h"

namespace ember::model {

constexpr int kMaxSequences = 64;

// The types of a cache's K rows and V rows (llama.cpp's -ctk / -ctv).
struct KvTypes {
    TensorType k = TensorType::F16, v = TensorType::F16;
    constexpr KvTypes() = default;
    constexpr KvTypes(TensorType both) : k(both), v(both) {}  // NOLINT: one type for both is the usual case
    constexpr KvTypes(TensorType k_type, TensorType v_type) : k(k_type), v(v_type) {}
    bool operator==(const KvTypes &o) const { return k == o.k && v == o.v; }
};

// The types a cache row may have: llama.cpp's set (f32, f16, bf16, q8_0, q4_0, q4_1, iq4_nl,
// q5_0, q5_1), each with a CPU dot product and dequantization for attention to read it directly.
bool kv_type_supported(TensorType type);
// Their names, for usage messages: "f16, f32, bf16, q8_0, ...".
const char *kv_type_names();
// Parses a -ctk / -ctv value (case-insensitive); false for a name that is not a cache type.
bool kv_type_from_name(const std::string &name, TensorType *out);
// llama.cpp's lower-case name of a cache type ("q8_0").
const char *kv_type_name(TensorType type);
// A cache type as its ember_kv_type value and back (-1 / false: not a cache type).
int32_t kv_type_id(TensorType type);
bool kv_type_from_id(int32_t id, TensorType *out);

// Cells of the sliding-window layers' cache: each sequence's last window positions plus one
// micro-batch (never more than the context).
uint32_t swa_cache_cells(uint32_t n_ctx, uint32_t window, uint32_t n_seq_max, uint32_t n_ubatch);

class KvCache {
public:
    // One layer per entry of layer_backends (where its rows live), each n_cells rows of
    // n_embd_kv values for K in types.k and as many for V in types.v. A row holds the KV heads'
    // head_dim values side by side, so a quantized type's blocks must not cross heads: throws
    // ember::Error when head_dim is not a multiple of the block size (or the type is not a
    // cache type).
    KvCache(const std::vector<backend::Backend *> &layer_backends, uint32_t n_embd_kv, uint32_t n_cells,
            uint32_t n_seq_max, KvTypes types, uint32_t head_dim);
    // Throws ember::Error (EMBER_ERR_UNSUPPORTED) unless both types are cache types whose
    // blocks fit heads of head_dim values (what the constructor and the memory estimate require).
    static void check_types(KvTypes types, uint32_t n_embd_kv, uint32_t head_dim);
    // Bytes of one layer's K and V rows (types already checked).
    static size_t layer_bytes(uint32_t n_embd_kv, uint32_t n_cells, KvTypes types);

    uint32_t n_cells() const { return static_cast<uint32_t>(cells_.size()); }
    uint32_t n_seq_max() const { return n_seq_max_; }
    KvTypes types() const { return types_; }
    uint32_t n_used() const { return n_used_; }
    uint32_t n_free() const { return n_cells() - n_used_; }
    size_t bytes() const;                               // every layer
    size_t bytes_on(const backend::Backend &b) const;   // the layers on backend b

    // Takes one free cell per token (first-fit) and records its position and sequence;
    // returns false, changing nothing, when fewer than n_tokens cells are free.
    bool place(const int32_t *pos, const int32_t *seq, int64_t n_tokens, std::vector<int32_t> &cells);
    // Empties the given cells (undoes place()).
    void release(const std::vector<int32_t> &cells);

    // The attention mask for a micro-batch: row t has 0 for every cell of seq[t] at a position
    // <= pos[t], -inf elsewhere, over cells [0, n_kv) where n_kv covers every used cell.
    // With window > 0 a cell is visible only at a position > pos[t] - window (sliding-window
    // layers).
    void build_mask(const int32_t *pos, const int32_t *seq, int64_t n_tokens, std::vector<float> &mask,
                    int64_t &n_kv, int32_t window = 0) const;

    // Each layer's K and V rows as its backend addresses them (StoreKv and Attention).
    const std::vector<backend::KvLayer> &layers() const { return views_; }

    // Drops, for every sequence, the cells no later query can see through a sliding window
    // of `window` positions (pos <= the sequence's highest position - window); `floor[s]`
    // rises to the lowest position sequence s still holds completely.
    void prune_outside_window(int32_t window, std::vector<int32_t> &floor);

    // Sequence editing; p1 < 0 means "to the end". seq < 0 means every sequence.
    void seq_rm(int32_t seq, int32_t p0, int32_t p1);          // drop positions [p0, p1)
    void seq_cp(int32_t src, int32_t dst, int32_t p0, int32_t p1);  // dst also owns src's [p0, p1)
    void seq_keep(int32_t seq);                                 // drop every other sequence
    void clear();
    int32_t seq_pos_max(int32_t seq) const;                     // -1 if the sequence is empty
    int32_t seq_pos_min(int32_t seq) const;                     // -1 if the sequence is empty
    uint32_t seq_count(int32_t seq, int32_t p0, int32_t p1) const;  // cells of seq in [p0, p1)

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
    static size_t row_bytes(uint32_t n_embd_kv, TensorType type);

    struct LayerStorage {
        backend::Backend *backend;
        std::unique_ptr<Buffer> k, v;  // [n_cells][n_embd_kv] each
    };

    uint32_t n_layer_, n_embd_kv_, n_seq_max_;
    KvTypes types_;
    std::vector<Cell> cells_;
    uint32_t n_used_ = 0;
    std::vector<LayerStorage> storage_;
    std::vector<backend::KvLayer> views_;
};

}  // namespace ember::model
