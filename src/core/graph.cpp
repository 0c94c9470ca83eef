#include "core/graph.h"

#include <algorithm>
#include <string>

#include "core/error.h"

namespace ember {

const char *op_name(OpType op) {
    switch (op) {
        case OpType::Input: return "input";
        case OpType::Transfer: return "transfer";
        case OpType::GetRows: return "get_rows";
        case OpType::SelectRows: return "select_rows";
        case OpType::RmsNorm: return "rms_norm";
        case OpType::MatMul: return "matmul";
        case OpType::Rope: return "rope";
        case OpType::StoreKv: return "store_kv";
        case OpType::Attention: return "attention";
        case OpType::Glu: return "glu";
        case OpType::MoeFfn: return "moe_ffn";
        case OpType::Add: return "add";
        case OpType::Scale: return "scale";
        case OpType::SoftCap: return "soft_cap";
    }
    return "?";
}

const char *input_name(InputKind kind) {
    switch (kind) {
        case InputKind::Tokens: return "tokens";
        case InputKind::Positions: return "positions";
        case InputKind::KvCells: return "kv_cells";
        case InputKind::Mask: return "mask";
        case InputKind::OutputRows: return "output_rows";
        case InputKind::MaskSwa: return "mask_swa";
        case InputKind::KvCellsSwa: return "kv_cells_swa";
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

NodeId Graph::input(InputKind kind, int64_t n_cols, int64_t n_rows) {
    Node nd(OpType::Input);
    nd.input = kind;
    nd.n_cols = n_cols;
    nd.n_rows = n_rows;
    return push(nd);
}

NodeId Graph::get_rows(const Tensor &table, NodeId ids) {
    Node nd(OpType::GetRows);
    nd.n_cols = table.ne[0];
    nd.n_rows = node(ids).n_cols * node(ids).n_rows;
    nd.weight = &table;
    nd.src[0] = ids;
    return push(nd);
}

NodeId Graph::select_rows(NodeId x, NodeId rows) {
    Node nd(OpType::SelectRows);
    nd.n_cols = node(x).n_cols;
    nd.n_rows = node(rows).n_cols * node(rows).n_rows;
    nd.src[0] = x;
    nd.src[1] = rows;
    return push(nd);
}

NodeId Graph::rms_norm(NodeId x, const Tensor &weight, float eps) {
    const Node &in = node(x);
    if (weight.type != TensorType::F32 || weight.ne[0] <= 0 || in.n_cols % weight.ne[0] != 0)
        shape_error(OpType::RmsNorm, "weight " + weight.name + " is not F32 with a length dividing " + std::to_string(in.n_cols));
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

NodeId Graph::rope(NodeId x, NodeId positions, const RopeParams &params, const Tensor *freq_factors) {
    const Node &in = node(x);
    if (params.n_heads * params.head_dim != in.n_cols || params.n_rot > params.head_dim || params.n_rot % 2)
        shape_error(OpType::Rope, "bad head geometry");
    if (node(positions).n_cols * node(positions).n_rows != in.n_rows)
        shape_error(OpType::Rope, "one position per row expected");
    if (freq_factors && (freq_factors->type != TensorType::F32 || freq_factors->ne[0] != params.n_rot / 2))
        shape_error(OpType::Rope, "frequency factors " + freq_factors->name + " are not F32[n_rot/2]");
    Node nd(OpType::Rope);
    nd.n_cols = in.n_cols;
    nd.n_rows = in.n_rows;
    nd.src[0] = x;
    nd.src[1] = positions;
    nd.weight = freq_factors;
    nd.rope = params;
    return push(nd);
}

NodeId Graph::store_kv(int layer, NodeId k, NodeId v, NodeId cells) {
    const Node &nk = node(k), &nv = node(v);
    if (nk.n_cols != nv.n_cols || nk.n_rows != nv.n_rows || node(cells).n_cols * node(cells).n_rows != nk.n_rows)
        shape_error(OpType::StoreKv, "k, v and cells differ in rows");
    Node nd(OpType::StoreKv);
    nd.layer = layer;
    nd.src[0] = k;
    nd.src[1] = v;
    nd.src[2] = cells;
    return push(nd);
}

NodeId Graph::attention(int layer, NodeId q, NodeId mask, NodeId stored, const AttentionParams &p, const Tensor *sinks) {
    const Node &nq = node(q), &nm = node(mask), &ns = node(stored);
    if (ns.op != OpType::StoreKv || ns.layer != layer)
        shape_error(OpType::Attention, "stored is not layer " + std::to_string(layer) + "'s store_kv");
    const Node &nk = node(ns.src[0]);
    if (nq.n_cols != p.n_head * p.head_dim || nk.n_cols != p.n_head_kv * p.head_dim || nq.n_rows != nk.n_rows ||
        nm.n_rows != nq.n_rows || p.n_head_kv <= 0 || p.n_head % p.n_head_kv)
        shape_error(OpType::Attention, "q/k/v/mask shapes do not match the head counts");
    if (sinks && (sinks->type != TensorType::F32 || sinks->n_elements() != p.n_head))
        shape_error(OpType::Attention, "sinks " + sinks->name + " are not F32[" + std::to_string(p.n_head) + "]");
    Node nd(OpType::Attention);
    nd.weight = sinks;
    nd.n_cols = nq.n_cols;
    nd.n_rows = nq.n_rows;
    nd.layer = layer;
    nd.src[0] = q;
    nd.src[1] = mask;
    nd.src[2] = stored;
    nd.attn = p;
    return push(nd);
}

NodeId Graph::glu(Activation act, NodeId gate, NodeId up) {
    const Node &g = node(gate), &u = node(up);
    if (g.n_cols != u.n_cols || g.n_rows != u.n_rows) shape_error(OpType::Glu, "gate and up differ in shape");
    Node nd(OpType::Glu);
    nd.n_cols = g.n_cols;
    nd.n_rows = g.n_rows;
    nd.src[0] = gate;
    nd.src[1] = up;
    nd.act = act;
    return push(nd);
}

NodeId Graph::moe_ffn(NodeId x, NodeId router_logits, const Tensor &gate_exps, const Tensor &up_exps,
                      const Tensor &down_exps, const MoeParams &p, const std::array<const Tensor *, 3> &biases) {
    const Node &nx = node(x), &nr = node(router_logits);
    const int64_t n_embd = nx.n_cols, n_ff = gate_exps.ne[1];
    auto is = [&](const Tensor &t, int64_t ne0, int64_t ne1) {
        return t.ne[0] == ne0 && t.ne[1] == ne1 && t.ne[2] == p.n_expert && t.ne[3] == 1;
    };
    if (p.n_expert <= 0 || p.n_used <= 0 || p.n_used > p.n_expert || nr.n_cols != p.n_expert || nr.n_rows != nx.n_rows)
        shape_error(OpType::MoeFfn, "router logits do not match the expert counts");
    if (!is(gate_exps, n_embd, n_ff) || !is(up_exps, n_embd, n_ff) || !is(down_exps, n_ff, n_embd))
        shape_error(OpType::MoeFfn, "expert matrices " + gate_exps.name + ", " + up_exps.name + ", " + down_exps.name +
                                        " do not match [n_embd][n_ff][n_expert] and [n_ff][n_embd][n_expert]");
    const Tensor *mats[3] = {&gate_exps, &up_exps, &down_exps};
    for (int i = 0; i < 3; ++i) {
        const Tensor *b = biases[static_cast<size_t>(i)];
        if (b && (b->type != TensorType::F32 || b->ne[0] != mats[i]->ne[1] || b->ne[1] != p.n_expert))
            shape_error(OpType::MoeFfn, "expert bias " + b->name + " is not F32[" + std::to_string(mats[i]->ne[1]) +
                                            "][" + std::to_string(p.n_expert) + "]");
    }
    Node nd(OpType::MoeFfn);
    nd.n_cols = n_embd;
    nd.n_rows = nx.n_rows;
    nd.src[0] = x;
    nd.src[1] = router_logits;
    nd.moe = p;
    for (int i = 0; i < 3; ++i) {
        nd.experts[i] = mats[i];
        nd.expert_bias[i] = biases[static_cast<size_t>(i)];
    }
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

NodeId Graph::elementwise(OpType op, NodeId x, float value) {
    Node nd(op);
    nd.n_cols = node(x).n_cols;
    nd.n_rows = node(x).n_rows;
    nd.src[0] = x;
    nd.value = value;
    return push(nd);
}

NodeId Graph::scale(NodeId x, float factor) { return elementwise(OpType::Scale, x, factor); }

NodeId Graph::soft_cap(NodeId x, float cap) {
    if (!(cap > 0.0f)) shape_error(OpType::SoftCap, "the cap must be positive");
    return elementwise(OpType::SoftCap, x, cap);
}

void Graph::close_range() {
    if (nodes_.size() > range_first_) layers_.push_back({current_layer_, range_first_, nodes_.size()});
    range_first_ = nodes_.size();
}

void Graph::begin_layer(int layer) {
    close_range();
    current_layer_ = layer;
    seen_layer_ = true;
}

void Graph::end_layer() {
    close_range();
    current_layer_ = seen_layer_ ? kOutputStage : kInputStage;
}

void Graph::finish(NodeId output) {
    close_range();
    output_ = output;
}

void Graph::schedule(const Placement &placement) {
    const std::vector<Node> old = std::move(nodes_);
    const std::vector<LayerRange> old_ranges = std::move(layers_);
    nodes_.clear();
    layers_.clear();
    // where[id][b]: the node holding old node id's value on backend b (-1: not there yet);
    // home[id]: the backend that computed it.
    std::vector<std::array<NodeId, kMaxBackends>> where(old.size());
    for (auto &w : where) w.fill(-1);
    std::vector<int> home(old.size(), -1);

    auto local = [&](NodeId id, int b) -> NodeId {
        const size_t i = static_cast<size_t>(id);
        if (where[i][static_cast<size_t>(b)] >= 0) return where[i][static_cast<size_t>(b)];
        Node copy = old[i];
        if (old[i].op != OpType::Input) {  // computed on another backend: copy it over once
            copy = Node(OpType::Transfer);
            copy.n_cols = old[i].n_cols;
            copy.n_rows = old[i].n_rows;
            copy.src[0] = where[i][static_cast<size_t>(home[i])];
        }
        copy.backend = b;
        return where[i][static_cast<size_t>(b)] = push(copy);
    };

    for (const LayerRange &r : old_ranges) {
        const int b = placement.backend_of(r.layer);
        if (b < 0 || b >= placement.n_backends) fail(EMBER_ERR_INTERNAL, "graph: stage placed on no backend");
        const size_t first = nodes_.size();
        for (size_t i = r.first; i < r.last; ++i) {
            if (old[i].op == OpType::Input) continue;  // materialized before its first use
            Node n = old[i];
            for (NodeId &s : n.src)
                if (s >= 0) s = local(s, b);
            n.backend = b;
            where[i][static_cast<size_t>(b)] = push(n);
            home[i] = b;
        }
        layers_.push_back({r.layer, first, nodes_.size(), b});
    }
    const size_t out = static_cast<size_t>(output_);
    output_ = where[out][static_cast<size_t>(home[out])];
    plan(placement.n_backends);
}

// Assigns each node's output an offset in its backend's arena. A value is live from its node
// until its last consumer; blocks of dead values are reused first-fit, so an arena holds
// about two layers' worth of activations rather than the whole graph's.
void Graph::plan(int n_backends) {
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
    struct Allocator {
        std::vector<Block> free_blocks;  // sorted by offset
        size_t top = 0;
    };
    std::vector<Allocator> arenas(static_cast<size_t>(n_backends));
    std::vector<std::vector<size_t>> dies_after(n + 1);
    for (size_t i = 0; i < n; ++i) dies_after[last_use[i]].push_back(i);
    auto size_of = [&](size_t id) { return (nodes_[id].bytes() + kAlign - 1) / kAlign * kAlign; };

    auto release = [&](size_t id) {
        const size_t size = size_of(id);
        if (size == 0) return;
        std::vector<Block> &free_blocks = arenas[static_cast<size_t>(nodes_[id].backend)].free_blocks;
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
        const size_t size = size_of(i);
        Allocator &a = arenas[static_cast<size_t>(nodes_[i].backend)];
        auto fit = std::find_if(a.free_blocks.begin(), a.free_blocks.end(), [&](const Block &b) { return b.size >= size; });
        if (size == 0) {
            nodes_[i].offset = 0;
        } else if (fit != a.free_blocks.end()) {
            nodes_[i].offset = fit->offset;
            fit->offset += size;
            fit->size -= size;
            if (fit->size == 0) a.free_blocks.erase(fit);
        } else {
            nodes_[i].offset = a.top;
            a.top += size;
        }
        // Values whose last consumer is node i die now: node i has been placed, so it never
        // overwrites its own inputs.
        for (size_t dead : dies_after[i]) release(dead);
    }
    arena_bytes_.assign(static_cast<size_t>(n_backends), 0);
    for (int b = 0; b < n_backends; ++b) arena_bytes_[static_cast<size_t>(b)] = arenas[static_cast<size_t>(b)].top;
}

size_t Graph::arena_bytes(int backend) const {
    return static_cast<size_t>(backend) < arena_bytes_.size() ? arena_bytes_[static_cast<size_t>(backend)] : 0;
}

}  // namespace ember
