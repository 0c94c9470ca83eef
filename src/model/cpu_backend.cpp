#include "model/cpu_backend.h"

#include <cstring>
#include <string>

#include "core/error.h"
#include "cpu/matmul.h"
#include "cpu/ops.h"
#include "cpu/type_traits.h"
#include "model/attention.h"
#include "model/float_ops.h"

namespace ember::model {

namespace {

void run_get_rows(const Node &n, float *out) {
    const Tensor &table = *n.weight;
    const cpu::TypeTraits *tt = cpu::type_traits(table.type);
    for (int64_t t = 0; t < n.n_rows; ++t) {
        const int32_t id = n.ids[t];
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

void run_matmul(const Node &n, const float *x, float *out, int n_threads) {
    const Tensor &w = *n.weight;
    const cpu::WeightView view{w.data, w.type, w.ne[0], w.ne[1], w.row_bytes};
    cpu::matmul(view, x, w.ne[0], n.n_rows, out, n.n_cols, n_threads);
    if (n.bias)
        for (int64_t t = 0; t < n.n_rows; ++t) cpu::add(out + t * n.n_cols, n.bias->f32(), out + t * n.n_cols, n.n_cols);
}

void run_node(const Graph &g, const Node &n, Arena &arena, int n_threads) {
    float *out = arena.at(n.offset);
    auto in = [&](int i) { return arena.node(g, n.src[i]); };
    const int64_t rows = n.n_rows, cols = n.n_cols;
    switch (n.op) {
        case OpType::GetRows:
            run_get_rows(n, out);
            break;
        case OpType::SelectRows: {
            const float *x = in(0);
            const int64_t x_cols = g.node(n.src[0]).n_cols;
            for (int64_t r = 0; r < rows; ++r)
                std::memcpy(out + r * cols, x + static_cast<int64_t>(n.ids[r]) * x_cols, static_cast<size_t>(cols) * sizeof(float));
            break;
        }
        case OpType::RmsNorm: {
            const float *x = in(0);
#pragma omp parallel for num_threads(n_threads) if (rows > 1)
            for (int64_t r = 0; r < rows; ++r) rms_norm_row(x + r * cols, n.weight->f32(), out + r * cols, cols, n.eps);
            break;
        }
        case OpType::MatMul:
            run_matmul(n, in(0), out, n_threads);
            break;
        case OpType::Rope:
            rope_rows(in(0), out, rows, cols, n.rope);
            break;
        case OpType::Attention:
            attention(n.attn, in(0), in(1), in(2), out, rows, n_threads);
            break;
        case OpType::SwiGlu: {
            const float *gate = in(0), *up = in(1);
#pragma omp parallel for num_threads(n_threads) if (rows > 1)
            for (int64_t r = 0; r < rows; ++r) swiglu_row(gate + r * cols, up + r * cols, out + r * cols, cols);
            break;
        }
        case OpType::Add:
            cpu::add(in(0), in(1), out, rows * cols);
            break;
    }
}

}  // namespace

bool compute_on_cpu(const Graph &graph, Arena &arena, int n_threads, const std::function<bool()> &should_abort) {
    arena.reserve(graph.arena_bytes());
    if (n_threads < 1) n_threads = 1;
    for (const LayerRange &range : graph.layers()) {
        if (should_abort && should_abort()) return false;
        for (size_t i = range.first; i < range.last; ++i) run_node(graph, graph.nodes()[i], arena, n_threads);
    }
    return true;
}

}  // namespace ember::model
