// The forward pass as data: a list of nodes (ops on 4-byte activations and typed weights),
// grouped into stages (the input embedding, each layer, the output head) that backends
// execute in order. Building a graph computes nothing; it records what to compute.
//
// Graph inputs (token ids, positions, KV cells, the mask, the output rows) are explicit Input
// nodes bound by the caller, and storing k/v in the cache is an explicit op, so a backend
// knows what it must receive and where ordering matters. schedule() then gives each stage a
// backend, inserts the Input and Transfer nodes each backend needs (a value crosses to another
// backend once, before its first consumer there) and plans one arena per backend, reusing
// memory once a value's last consumer has run.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/placement.h"
#include "core/tensor.h"

namespace ember {

enum class OpType {
    Input,       // a graph input the caller binds (InputKind); int32 ids or float rows
    Transfer,    // a copy of src[0] from the backend that computed it (added by schedule())
    GetRows,     // out[t] = table[ids[t]] as float            (src0: ids; table: a weight, any type)
    SelectRows,  // out[r] = x[rows[r]]                        (src0: x, src1: rows)
    RmsNorm,     // out = x / rms(x) * weight, per group of weight.ne[0] values (a row, or a head)
    MatMul,      // out = x · Wᵀ (+ bias)                       [n_tokens, W.n_out]
    Rope,        // out = x with each head rotated by its token's position (src1: positions)
    StoreKv,     // k (src0), v (src1) rows into cells (src2) of layer `layer`'s cache; no output
    Attention,   // softmax(q·Kᵀ·scale + mask)·V over layer `layer`'s cache (src0: q, src1: mask,
                 // src2: that layer's StoreKv, which must run first; weight: per-head sink
                 // logits, nullable, each adding e^sink to its head's softmax denominator)
    Glu,         // out = act(gate) * up
    MoeFfn,      // mixture of experts: each row through the experts its router logits (src1)
                 // pick, weighted and summed (src0: the normed x; experts: 3-D gate/up/down)
    Add,         // out = a + b
    Scale,       // out = x * value
    SoftCap,     // out = value * tanh(x / value)
};

const char *op_name(OpType op);

using NodeId = int32_t;

// What an Input node receives; int32 values except the mask (float).
enum class InputKind {
    Tokens,      // [n_tokens] token ids
    Positions,   // [n_tokens] positions
    KvCells,     // [n_tokens] the KV cell each token's k/v go to
    Mask,        // [n_tokens][n_kv] 0 visible, -inf hidden
    OutputRows,  // [n_outputs] rows whose result is wanted
    MaskSwa,     // [n_tokens][n_kv_swa] the sliding-window layers' mask, over their own cache
    KvCellsSwa,  // [n_tokens] the cell of each token in the sliding-window layers' cache
};
constexpr int kInputKinds = 7;
const char *input_name(InputKind kind);

enum class Activation {
    Silu,      // x * sigmoid(x) (SwiGLU)
    GeluTanh,  // GELU, tanh approximation (GeGLU: Gemma)
    SwigluOai, // gpt-oss: g = min(gate, 7), u = clamp(up, -7, 7), g * sigmoid(1.702 g) * (u + 1)
};

enum class RopeKind { Interleaved, Neox };

struct RopeParams {
    RopeKind kind = RopeKind::Interleaved;
    int64_t n_heads = 0;
    int64_t head_dim = 0;
    int64_t n_rot = 0;                    // leading dims of each head that rotate
    float freq_base = 10000.0f;
    float freq_scale = 1.0f;              // 1 / linear scaling factor
    float attn_factor = 1.0f;             // multiplies cos and sin (LongRoPE, YaRN)
    // YaRN: rotation pairs below corr_dims[0] keep their unscaled angle, those above
    // corr_dims[1] the scaled one, a linear ramp between, and cos/sin grow by
    // 1 + 0.1 ln(1/freq_scale). ext_factor 0: plain (linear) scaling.
    float ext_factor = 0.0f;
    float corr_dims[2] = {0.0f, 0.0f};
};

struct AttentionParams {
    int64_t n_head = 0, n_head_kv = 0, head_dim = 0;
    float scale = 1.0f;                   // usually 1/sqrt(head_dim)
    float softcap = 0.0f;                 // > 0: scores become softcap * tanh(score / softcap) (Gemma 2)
};

// How router logits become each token's experts and their weights.
enum class ExpertGating {
    SoftmaxTopK,  // softmax over every expert, then the top k renormalized to sum 1 (Mixtral, Qwen3-MoE)
    TopKSoftmax,  // the top k raw logits, then a softmax over those k (gpt-oss)
};

struct MoeParams {
    int64_t n_expert = 0, n_used = 0;
    ExpertGating gating = ExpertGating::SoftmaxTopK;
    Activation act = Activation::Silu;    // of each expert's gated FFN
};

struct Node {
    explicit Node(OpType type) : op(type) {}
    OpType op;
    int64_t n_cols = 0, n_rows = 0;       // output shape: n_rows rows of n_cols 4-byte values
    NodeId src[3] = {-1, -1, -1};         // activation inputs
    const Tensor *weight = nullptr;       // GetRows table, RmsNorm/MatMul weight, Rope divisors
    const Tensor *bias = nullptr;         // MatMul bias (nullable)
    InputKind input = InputKind::Tokens;  // Input
    int layer = -1;                       // StoreKv, Attention: the KV cache layer
    Activation act = Activation::Silu;    // Glu
    float eps = 0.0f;                     // RmsNorm
    float value = 0.0f;                   // Scale, SoftCap
    RopeParams rope;
    AttentionParams attn;
    MoeParams moe;
    const Tensor *experts[3] = {};        // MoeFfn: gate [n_embd][n_ff][n_expert], up, down
    const Tensor *expert_bias[3] = {};    // MoeFfn: per-expert biases [n_out][n_expert] (nullable)
    int backend = 0;                      // set by schedule()
    size_t offset = 0;                    // of the output in its backend's arena (schedule())

    size_t bytes() const { return static_cast<size_t>(n_cols * n_rows) * 4; }
};

// A stage: the input embedding (layer kInputStage), one layer, or the output head
// (kOutputStage); after schedule() all its nodes run on `backend`.
struct LayerRange {
    int layer;
    size_t first, last;        // nodes [first, last)
    int backend = 0;
};

class Graph {
public:
    // Ops (shapes are checked here; the returned id names the output).
    NodeId input(InputKind kind, int64_t n_cols, int64_t n_rows);
    NodeId get_rows(const Tensor &table, NodeId ids);
    NodeId select_rows(NodeId x, NodeId rows);
    // Each row is cut into groups of weight.ne[0] values (the whole row, or one head), each
    // normed on its own.
    NodeId rms_norm(NodeId x, const Tensor &weight, float eps);
    NodeId matmul(const Tensor &weight, NodeId x, const Tensor *bias = nullptr);
    NodeId rope(NodeId x, NodeId positions, const RopeParams &params, const Tensor *freq_factors = nullptr);
    NodeId store_kv(int layer, NodeId k, NodeId v, NodeId cells);
    NodeId attention(int layer, NodeId q, NodeId mask, NodeId stored, const AttentionParams &params,
                     const Tensor *sinks = nullptr);
    NodeId glu(Activation act, NodeId gate, NodeId up);
    // W_down[e] · act(W_gate[e]·x) * (W_up[e]·x) summed over the experts e the router picks for
    // each row, weighted as p.gating says; bias entries may be null.
    NodeId moe_ffn(NodeId x, NodeId router_logits, const Tensor &gate_exps, const Tensor &up_exps,
                   const Tensor &down_exps, const MoeParams &p, const std::array<const Tensor *, 3> &biases = {});
    NodeId add(NodeId a, NodeId b);
    NodeId scale(NodeId x, float factor);
    NodeId soft_cap(NodeId x, float cap);

    // Everything added between begin_layer(il) and end_layer() belongs to layer il; nodes
    // outside any layer belong to the input stage (before the first layer) or the output
    // stage (after it).
    void begin_layer(int layer);
    void end_layer();

    // Marks the result; call once after building.
    void finish(NodeId output);
    // Runs each stage on placement's backend for it and plans the arenas (see the top of
    // this file). Node ids change: use output() afterwards.
    void schedule(const Placement &placement);

    const std::vector<Node> &nodes() const { return nodes_; }
    const Node &node(NodeId id) const { return nodes_.at(static_cast<size_t>(id)); }
    const std::vector<LayerRange> &layers() const { return layers_; }
    NodeId output() const { return output_; }
    // Arena bytes backend b needs (after schedule()).
    size_t arena_bytes(int backend) const;

private:
    NodeId push(Node node);
    NodeId elementwise(OpType op, NodeId x, float value);  // x's shape, one parameter
    void close_range();
    void plan(int n_backends);

    std::vector<Node> nodes_;
    std::vector<LayerRange> layers_;
    int current_layer_ = kInputStage;
    bool seen_layer_ = false;
    size_t range_first_ = 0;
    NodeId output_ = -1;
    std::vector<size_t> arena_bytes_;
};

}  // namespace ember
