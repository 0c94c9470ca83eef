// The forward pass as data: a list of nodes (ops on float32 activations and typed weights),
// grouped into layers, that a backend executes in order. Building a graph computes nothing;
// it records what to compute and plans where each activation lives in one arena, reusing
// memory once a value's last consumer has run. Layer boundaries are explicit so a backend can
// take whole layers (e.g. run some on a GPU) and so long decodes can stop between layers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace ember {

enum class OpType {
    GetRows,     // out[t] = table[ids[t]] as float               (table: a weight, any type)
    SelectRows,  // out[r] = x[rows[r]]                           (activations)
    RmsNorm,     // out = x / rms(x) * weight
    MatMul,      // out = x · Wᵀ (+ bias)                          [n_tokens, W.n_out]
    Rope,        // out = x with each head rotated by its token's position
    Attention,   // out = softmax(q·Kᵀ·scale + mask)·V over the KV cache, after storing k, v
    SwiGlu,      // out = silu(gate) * up
    Add,         // out = a + b
};

const char *op_name(OpType op);

using NodeId = int32_t;

enum class RopeKind { Interleaved, Neox };

struct RopeParams {
    RopeKind kind = RopeKind::Interleaved;
    int64_t n_heads = 0;
    int64_t head_dim = 0;
    int64_t n_rot = 0;                    // leading dims of each head that rotate
    float freq_base = 10000.0f;
    float freq_scale = 1.0f;              // 1 / linear scaling factor
    const float *freq_factors = nullptr;  // n_rot/2 divisors (Llama 3.1 rope_freqs), nullable
    const int32_t *positions = nullptr;   // one per token
};

// One layer's view of the KV cache for one micro-batch. The cache stores, per layer, one row
// of n_head_kv*head_dim values per cell for K and one for V, in `kv_type` (F16 or F32).
struct AttentionParams {
    int64_t n_head = 0, n_head_kv = 0, head_dim = 0;
    float scale = 1.0f;                   // usually 1/sqrt(head_dim)
    TensorType kv_type = TensorType::F16;
    void *k_cache = nullptr;              // [n_cells][n_head_kv*head_dim]
    void *v_cache = nullptr;              // [n_cells][n_head_kv*head_dim]
    const int32_t *dst_cells = nullptr;   // [n_tokens]: the cell each token's k/v goes to
    int64_t n_kv = 0;                     // attend over cells [0, n_kv)
    const float *mask = nullptr;          // [n_tokens][n_kv]: 0 visible, -inf hidden
};

struct Node {
    explicit Node(OpType type) : op(type) {}
    OpType op;
    int64_t n_cols = 0, n_rows = 0;       // output shape: n_rows rows of n_cols floats
    NodeId src[3] = {-1, -1, -1};         // activation inputs
    const Tensor *weight = nullptr;       // GetRows table, RmsNorm weight, MatMul weight
    const Tensor *bias = nullptr;         // MatMul bias (nullable)
    const int32_t *ids = nullptr;         // GetRows token ids / SelectRows row indices
    float eps = 0.0f;                     // RmsNorm
    RopeParams rope;
    AttentionParams attn;
    size_t offset = 0;                    // of the output in the arena (set by plan())
};

struct LayerRange {
    int layer;                 // -1 for the input embedding and the output head
    size_t first, last;        // nodes [first, last)
};

class Graph {
public:
    // Ops (shapes are checked here; the returned id names the output).
    NodeId get_rows(const Tensor &table, const int32_t *ids, int64_t n);
    NodeId select_rows(NodeId x, const int32_t *rows, int64_t n);
    NodeId rms_norm(NodeId x, const Tensor &weight, float eps);
    NodeId matmul(const Tensor &weight, NodeId x, const Tensor *bias = nullptr);
    NodeId rope(NodeId x, const RopeParams &params);
    NodeId attention(NodeId q, NodeId k, NodeId v, const AttentionParams &params);
    NodeId swiglu(NodeId gate, NodeId up);
    NodeId add(NodeId a, NodeId b);

    // Everything added between begin_layer(il) and end_layer() belongs to layer il; nodes
    // outside any layer belong to a range with layer -1.
    void begin_layer(int layer);
    void end_layer();

    // Marks the result and plans the arena; call once after building.
    void finish(NodeId output);

    const std::vector<Node> &nodes() const { return nodes_; }
    const Node &node(NodeId id) const { return nodes_.at(static_cast<size_t>(id)); }
    const std::vector<LayerRange> &layers() const { return layers_; }
    NodeId output() const { return output_; }
    size_t arena_bytes() const { return arena_bytes_; }

private:
    NodeId push(Node node);
    void close_range();
    void plan();

    std::vector<Node> nodes_;
    std::vector<LayerRange> layers_;
    int current_layer_ = -1;
    size_t range_first_ = 0;
    NodeId output_ = -1;
    size_t arena_bytes_ = 0;
};

// Where a graph's activations live; reused between graphs (grows, never shrinks).
class Arena {
public:
    void reserve(size_t bytes);
    float *at(size_t offset) { return reinterpret_cast<float *>(data_.data() + offset); }
    float *node(const Graph &g, NodeId id) { return at(g.node(id).offset); }
    size_t bytes() const { return data_.size(); }

private:
    std::vector<unsigned char> data_;
};

}  // namespace ember
