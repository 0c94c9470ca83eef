#include "core/graph.h"

#include <algorithm>
#include <string>

#include "core/error.h"

namespace ember {

const char *op_name(OpType op) {
    switch (op) {
        case OpType::GetRows: return "get_rows";
        case OpType::SelectRows: return "select_rows";
        case OpType::RmsNorm: return "rms_norm";
        case OpType::MatMul: return "matmul";
        case OpType::Rope: return "rope";
        case OpType::Attention: return "attention";
        case OpType::SwiGlu: return "swiglu";
        case OpType::Add: return "add";
    }
    return "?";
}

namespace {

[[noreturn]] void shape_error(OpType op, const std::string &what) {
    fail(EMBER_ERR_INTERNAL, std::string("graph: ") + op_name(op) + ": " + what);
}

}  // namespace

NodeId Graph::push(Node node) {
    nodes_.push_back(node);
    return static_cast<NodeId>(nodes_.size() - 1);
}

NodeId Graph::get_rows(const Tensor &table, const int32_t *ids, int64_t n) {
    Node nd(OpType::GetRows);
    nd.n_cols = table.ne[0];
    nd.n_rows = n;
    nd.weight = &table;
    nd.ids = ids;
    return push(nd);
}

NodeId Graph::select_rows(NodeId x, const int32_t *rows, int64_t n) {
    Node nd(OpType::SelectRows);
    nd.n_cols = node(x).n_cols;
    nd.n_rows = n;
    nd.src[0] = x;
    nd.ids = rows;
    return push(nd);
}

NodeId Graph::rms_norm(NodeId x, const Tensor &weight, float eps) {
    const Node &in = node(x);
    if (weight.type != TensorType::F32 || weight.ne[0] != in.n_cols)
        shape_error(OpType::RmsNorm, "weight " + weight.name + " is not F32[" + std::to_string(in.n_cols) + "]");
    Node nd(OpType::RmsNorm);
    nd.n_cols = in.n_cols;
    nd.n_rows = in.n_rows;
    nd.src[0] = x;
    nd.weight = &weight;
    nd.eps = eps;
    return push(nd);
}

NodeId Graph::matmul(const Tensor &weight, NodeId x, const Tensor *bias) {
    const Node &in = node(x);
    if (weight.ne[0] != in.n_cols)
        shape_error(OpType::MatMul, weight.name + " takes rows of " + std::to_string(weight.ne[0]) +
                                        " values, the input has " + std::to_string(in.n_cols));
    if (bias && (bias->type != TensorType::F32 || bias->ne[0] != weight.ne[1]))
        shape_error(OpType::MatMul, "bias " + bias->name + " is not F32[" + std::to_string(weight.ne[1]) + "]");
    Node nd(OpType::MatMul);
    nd.n_cols = weight.ne[1];
    nd.n_rows = in.n_rows;
    nd.src[0] = x;
    nd.weight = &weight;
    nd.bias = bias;
    return push(nd);
}

NodeId Graph::rope(NodeId x, const RopeParams &params) {
    const Node &in = node(x);
    if (params.n_heads * params.head_dim != in.n_cols || params.n_rot > params.head_dim || params.n_rot % 2)
        shape_error(OpType::Rope, "bad head geometry");
    Node nd(OpType::Rope);
    nd.n_cols = in.n_cols;
    nd.n_rows = in.n_rows;
    nd.src[0] = x;
    nd.rope = params;
    return push(nd);
}

NodeId Graph::attention(NodeId q, NodeId k, NodeId v, const AttentionParams &p) {
    const Node &nq = node(q), &nk = node(k), &nv = node(v);
    if (nq.n_cols != p.n_head * p.head_dim || nk.n_cols != p.n_head_kv * p.head_dim ||
        nv.n_cols != nk.n_cols || nq.n_rows != nk.n_rows || nk.n_rows != nv.n_rows ||
        p.n_head_kv <= 0 || p.n_head % p.n_head_kv)
        shape_error(OpType::Attention, "q/k/v shapes do not match the head counts");
    Node nd(OpType::Attention);
    nd.n_cols = nq.n_cols;
    nd.n_rows = nq.n_rows;
    nd.src[0] = q;
    nd.src[1] = k;
    nd.src[2] = v;
    nd.attn = p;
    return push(nd);
}

NodeId Graph::swiglu(NodeId gate, NodeId up) {
    const Node &g = node(gate), &u = node(up);
    if (g.n_cols != u.n_cols || g.n_rows != u.n_rows) shape_error(OpType::SwiGlu, "gate and up differ in shape");
    Node nd(OpType::SwiGlu);
    nd.n_cols = g.n_cols;
    nd.n_rows = g.n_rows;
    nd.src[0] = gate;
    nd.src[1] = up;
    return push(nd);
}

NodeId Graph::add(NodeId a, NodeId b) {
    const Node &na = node(a), &nb = node(b);
    if (na.n_cols != nb.n_cols || na.n_rows != nb.n_rows) shape_error(OpType::Add, "operands differ in shape");
    Node nd(OpType::Add);
    nd.n_cols = na.n_cols;
    nd.n_rows = na.n_rows;
    nd.src[0] = a;
    nd.src[1] = b;
    return push(nd);
}

void Graph::close_range() {
    if (nodes_.size() > range_first_) layers_.push_back({current_layer_, range_first_, nodes_.size()});
    range_first_ = nodes_.size();
}

void Graph::begin_layer(int layer) {
    close_range();
    current_layer_ = layer;
}

void Graph::end_layer() {
    close_range();
    current_layer_ = -1;
}

void Graph::finish(NodeId output) {
    close_range();
    output_ = output;
    plan();
}

// Assigns each node's output an arena offset. A value is live from its node until its last
// consumer; blocks of dead values are reused first-fit, so the arena holds about two layers'
// worth of activations rather than the whole graph's.
void Graph::plan() {
    constexpr size_t kAlign = 64;
    const size_t n = nodes_.size();
    std::vector<size_t> last_use(n);
    for (size_t i = 0; i < n; ++i) {
        last_use[i] = i;
        for (NodeId s : nodes_[i].src)
            if (s >= 0) last_use[static_cast<size_t>(s)] = i;
    }
    if (output_ >= 0) last_use[static_cast<size_t>(output_)] = n;

    struct Block {
        size_t offset, size;
    };
    std::vector<Block> free_blocks;  // sorted by offset
    size_t top = 0;
    std::vector<std::vector<size_t>> dies_after(n + 1);
    for (size_t i = 0; i < n; ++i) dies_after[last_use[i]].push_back(i);

    auto release = [&](size_t id) {
        const size_t size = (static_cast<size_t>(nodes_[id].n_cols * nodes_[id].n_rows) * sizeof(float) + kAlign - 1) / kAlign * kAlign;
        Block b{nodes_[id].offset, size};
        auto it = std::lower_bound(free_blocks.begin(), free_blocks.end(), b,
                                   [](const Block &x, const Block &y) { return x.offset < y.offset; });
        it = free_blocks.insert(it, b);
        // Coalesce with the neighbours.
        if (it + 1 != free_blocks.end() && it->offset + it->size == (it + 1)->offset) {
            it->size += (it + 1)->size;
            free_blocks.erase(it + 1);
        }
        if (it != free_blocks.begin() && (it - 1)->offset + (it - 1)->size == it->offset) {
            (it - 1)->size += it->size;
            free_blocks.erase(it);
        }
    };

    for (size_t i = 0; i < n; ++i) {
        const size_t size = (static_cast<size_t>(nodes_[i].n_cols * nodes_[i].n_rows) * sizeof(float) + kAlign - 1) / kAlign * kAlign;
        auto fit = std::find_if(free_blocks.begin(), free_blocks.end(), [&](const Block &b) { return b.size >= size; });
        if (fit != free_blocks.end()) {
            nodes_[i].offset = fit->offset;
            fit->offset += size;
            fit->size -= size;
            if (fit->size == 0) free_blocks.erase(fit);
        } else {
            nodes_[i].offset = top;
            top += size;
        }
        // Values whose last consumer is node i die now: node i has been placed, so it never
        // overwrites its own inputs.
        for (size_t dead : dies_after[i]) release(dead);
    }
    arena_bytes_ = top;
}

void Arena::reserve(size_t bytes) {
    if (data_.size() < bytes) data_.resize(bytes);
}

}  // namespace ember
