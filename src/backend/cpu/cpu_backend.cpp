#include "backend/cpu/cpu_backend.h"

#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "backend/cpu/attention.h"
#include "backend/cpu/float_ops.h"
#include "backend/cpu/host_buffer.h"
#include "backend/cpu/moe.h"
#include "core/error.h"
#include "cpu/isa.h"
#include "cpu/matmul.h"
#include "cpu/ops.h"
#include "cpu/type_traits.h"

namespace ember::backend {

namespace {

void run_get_rows(const Node &n, const int32_t *ids, float *out) {
    const Tensor &table = *n.weight;
    const cpu::TypeTraits *tt = cpu::type_traits(table.type);
    for (int64_t t = 0; t < n.n_rows; ++t) {
        const int32_t id = ids[t];
        if (id < 0 || id >= table.ne[1])
            fail(EMBER_ERR_INVALID_ARGUMENT, "token id " + std::to_string(id) + " is outside the vocabulary (" +
                                                 std::to_string(table.ne[1]) + " tokens)");
        float *dst = out + t * n.n_cols;
        if (table.type == TensorType::F32) {
            std::memcpy(dst, table.row(id), static_cast<size_t>(n.n_cols) * sizeof(float));
        } else {
            tt->dequantize_row(table.row(id), dst, n.n_cols);
        }
    }
}

void add_bias_rows(const Node &n, float *out) {
    if (n.bias)
        for (int64_t t = 0; t < n.n_rows; ++t) cpu::add(out + t * n.n_cols, n.bias->f32(), out + t * n.n_cols, n.n_cols);
}

void run_matmul(const Node &n, const float *x, float *out, int n_threads) {
    const Tensor &w = *n.weight;
    const cpu::WeightView view{w.data, w.type, w.ne[0], w.ne[1], w.row_bytes};
    cpu::matmul(view, x, w.ne[0], n.n_rows, out, n.n_cols, n_threads);
    add_bias_rows(n, out);
}

// Nodes [i, end) of a run of MatMul nodes reading the same input (q/k/v, gate/up), as far as
// their outputs and the input are disjoint (so no output is written before another member has
// read the input).
size_t shared_input_run(const Graph &g, size_t i, size_t last) {
    const Node &first = g.nodes()[i];
    const Node &src = g.node(first.src[0]);
    std::vector<std::pair<size_t, size_t>> ranges{{src.offset, src.offset + src.bytes()}};
    size_t end = i;
    for (; end < last; ++end) {
        const Node &n = g.nodes()[end];
        if (n.op != OpType::MatMul || n.src[0] != first.src[0]) break;
        const std::pair<size_t, size_t> r{n.offset, n.offset + n.bytes()};
        for (const auto &o : ranges)
            if (r.first < o.second && o.first < r.second) return end;
        ranges.push_back(r);
    }
    return end;
}

void run_matmul_group(const Graph &g, size_t first, size_t last, const ComputeContext &ctx) {
    auto *arena = static_cast<uint8_t *>(ctx.arena);
    std::vector<cpu::WeightView> views;
    std::vector<float *> outs;
    std::vector<int64_t> ldy;
    for (size_t i = first; i < last; ++i) {
        const Node &n = g.nodes()[i];
        const Tensor &w = *n.weight;
        views.push_back({w.data, w.type, w.ne[0], w.ne[1], w.row_bytes});
        outs.push_back(reinterpret_cast<float *>(arena + n.offset));
        ldy.push_back(n.n_cols);
    }
    const Node &head = g.nodes()[first];
    const float *x = reinterpret_cast<const float *>(arena + g.node(head.src[0]).offset);
    cpu::matmul_shared_input(views.data(), views.size(), x, head.weight->ne[0], head.n_rows, outs.data(), ldy.data(),
                             ctx.n_threads);
    for (size_t i = first; i < last; ++i) add_bias_rows(g.nodes()[i], outs[i - first]);
}

void run_node(const Graph &g, const Node &n, const ComputeContext &ctx) {
    auto *arena = static_cast<uint8_t *>(ctx.arena);
    float *out = reinterpret_cast<float *>(arena + n.offset);
    auto in = [&](int i) { return reinterpret_cast<float *>(arena + g.node(n.src[i]).offset); };
    auto ids = [&](int i) { return reinterpret_cast<const int32_t *>(arena + g.node(n.src[i]).offset); };
    const int64_t rows = n.n_rows, cols = n.n_cols;
    const int n_threads = ctx.n_threads;
    switch (n.op) {
        case OpType::Input:
        case OpType::Transfer:
            fail(EMBER_ERR_INTERNAL, "cpu backend: input and transfer nodes are the scheduler's");
        case OpType::GetRows:
            run_get_rows(n, ids(0), out);
            break;
        case OpType::SelectRows: {
            const float *x = in(0);
            const int32_t *sel = ids(1);
            const int64_t x_cols = g.node(n.src[0]).n_cols;
            for (int64_t r = 0; r < rows; ++r)
                std::memcpy(out + r * cols, x + static_cast<int64_t>(sel[r]) * x_cols, static_cast<size_t>(cols) * sizeof(float));
            break;
        }
        case OpType::RmsNorm: {
            const float *x = in(0);
            const int64_t group = n.weight->ne[0], groups = rows * (cols / group);
#pragma omp parallel for num_threads(n_threads) if (rows > 1)
            for (int64_t i = 0; i < groups; ++i) rms_norm_row(x + i * group, n.weight->f32(), out + i * group, group, n.eps);
            break;
        }
        case OpType::MatMul:
            run_matmul(n, in(0), out, n_threads);
            break;
        case OpType::Rope:
            rope_rows(in(0), out, rows, cols, n.rope, ids(1), n.weight ? n.weight->f32() : nullptr);
            break;
        case OpType::StoreKv: {
            const Node &k = g.node(n.src[0]);
            store_kv(ctx.kv->at(static_cast<size_t>(n.layer)), k.n_cols, in(0), in(1), ids(2), k.n_rows);
            break;
        }
        case OpType::Attention: {
            const int64_t n_kv = g.node(n.src[1]).n_cols;
            attention(n.attn, ctx.kv->at(static_cast<size_t>(n.layer)), n_kv, in(1), in(0), out, rows, n_threads,
                      n.weight ? n.weight->f32() : nullptr);
            break;
        }
        case OpType::Glu: {
            const float *gate = in(0), *up = in(1);
#pragma omp parallel for num_threads(n_threads) if (rows > 1)
            for (int64_t r = 0; r < rows; ++r) glu_row(n.act, gate + r * cols, up + r * cols, out + r * cols, cols);
            break;
        }
        case OpType::MoeFfn:
            moe_ffn(n, in(0), in(1), out, n_threads);
            break;
        case OpType::Add:
            cpu::add(in(0), in(1), out, rows * cols);
            break;
        case OpType::Scale: {
            const float *x = in(0);
            for (int64_t i = 0; i < rows * cols; ++i) out[i] = x[i] * n.value;
            break;
        }
        case OpType::SoftCap: {
            // As llama.cpp: scale by 1/cap, tanh, scale by cap.
            const float *x = in(0);
            const float inv = 1.0f / n.value;
            for (int64_t i = 0; i < rows * cols; ++i) out[i] = std::tanh(x[i] * inv) * n.value;
            break;
        }
    }
}

}  // namespace

std::string CpuBackend::description() const {
    return std::string("CPU (") + cpu::isa_name(cpu::active_isa_level()) + " kernels)";
}

std::unique_ptr<Buffer> CpuBackend::allocate(size_t bytes) { return std::make_unique<HostBuffer>(*this, bytes); }

void CpuBackend::upload(const Buffer &dst, size_t offset, const void *src, size_t n, Traffic) {
    if (offset > dst.size() || n > dst.size() - offset) fail(EMBER_ERR_INTERNAL, "upload past the end of a buffer");
    if (n) std::memcpy(static_cast<uint8_t *>(dst.base()) + offset, src, n);
}

void CpuBackend::download(const Buffer &src, size_t offset, void *dst, size_t n, Traffic) {
    if (offset > src.size() || n > src.size() - offset) fail(EMBER_ERR_INTERNAL, "download past the end of a buffer");
    if (n) std::memcpy(dst, static_cast<const uint8_t *>(src.base()) + offset, n);
}

bool CpuBackend::supports(OpType op, TensorType type) const {
    const cpu::TypeTraits *tt = cpu::type_traits(type);
    switch (op) {
        case OpType::MatMul: return tt && tt->vec_dot;
        case OpType::GetRows: return tt && tt->dequantize_row;
        case OpType::RmsNorm:
        case OpType::Rope: return type == TensorType::F32;
        default: return true;
    }
}

void CpuBackend::compute(const Graph &graph, size_t first, size_t last, const ComputeContext &ctx) {
    for (size_t i = first; i < last;) {
        const size_t run = graph.nodes()[i].op == OpType::MatMul ? shared_input_run(graph, i, last) : i + 1;
        if (run > i + 1) {
            run_matmul_group(graph, i, run, ctx);
            i = run;
        } else {
            run_node(graph, graph.nodes()[i], ctx);
            ++i;
        }
    }
}

std::unique_ptr<Backend> create_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace ember::backend
