#include "backend/cpu/moe.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <mutex>
#include <numeric>
#include <vector>

#include "backend/cpu/float_ops.h"
#include "cpu/matmul.h"
#include "cpu/ops.h"

namespace ember::backend {

namespace {

// One token's experts, best first, and their weights.
void route(const MoeParams &p, const float *logits, int32_t *ids, float *weights) {
    const auto n = static_cast<size_t>(p.n_expert), k = static_cast<size_t>(p.n_used);
    std::vector<float> scores(logits, logits + n);
    if (p.gating == ExpertGating::SoftmaxTopK) softmax_row(scores.data(), static_cast<int64_t>(n));
    std::vector<int32_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    // Ties go to the lower expert index.
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                      [&](int32_t a, int32_t b) { return scores[static_cast<size_t>(a)] > scores[static_cast<size_t>(b)] ||
                                                         (scores[static_cast<size_t>(a)] == scores[static_cast<size_t>(b)] && a < b); });
    for (size_t r = 0; r < k; ++r) {
        ids[r] = order[r];
        weights[r] = scores[static_cast<size_t>(order[r])];
    }
    if (p.gating == ExpertGating::TopKSoftmax) {
        softmax_row(weights, static_cast<int64_t>(k));
    } else {
        float sum = 0.0f;
        for (size_t r = 0; r < k; ++r) sum += weights[r];
        sum = std::max(sum, 6.103515625e-5f);  // the smallest normal half: no division by ~0
        for (size_t r = 0; r < k; ++r) weights[r] /= sum;
    }
}

// Expert e's slice of a [n_in][n_out][n_expert] tensor as a matrix.
cpu::WeightView expert_matrix(const Tensor &t, int64_t e) {
    return {t.row(e * t.ne[1]), t.type, t.ne[0], t.ne[1], t.row_bytes};
}

void add_bias(float *rows, int64_t n_rows, const Tensor *bias, int64_t e) {
    if (!bias) return;
    const float *b = bias->f32() + e * bias->ne[0];
    for (int64_t r = 0; r < n_rows; ++r) cpu::add(rows + r * bias->ne[0], b, rows + r * bias->ne[0], bias->ne[0]);
}

}  // namespace

void moe_ffn(const Node &n, const float *x, const float *logits, float *out, int n_threads) {
    const MoeParams &p = n.moe;
    const Tensor &gate = *n.experts[0], &up = *n.experts[1], &down = *n.experts[2];
    const int64_t n_tokens = n.n_rows, n_embd = n.n_cols, n_ff = gate.ne[1], k = p.n_used;

    std::vector<int32_t> ids(static_cast<size_t>(n_tokens * k));
    std::vector<float> weights(static_cast<size_t>(n_tokens * k));
    for (int64_t t = 0; t < n_tokens; ++t) route(p, logits + t * p.n_expert, &ids[static_cast<size_t>(t * k)], &weights[static_cast<size_t>(t * k)]);

    // The (token, rank) slots each expert serves, in token order.
    std::vector<std::vector<int64_t>> slots(static_cast<size_t>(p.n_expert));
    for (int64_t s = 0; s < n_tokens * k; ++s) slots[static_cast<size_t>(ids[static_cast<size_t>(s)])].push_back(s);

    std::vector<float> results(static_cast<size_t>(n_tokens * k * n_embd));  // [token][rank][n_embd]
    std::vector<int64_t> active;
    for (int64_t e = 0; e < p.n_expert; ++e)
        if (!slots[static_cast<size_t>(e)].empty()) active.push_back(e);

    // One expert's rows through its gated FFN into their result slots.
    struct Scratch {
        std::vector<float> xs, g, u, h, y;
    };
    auto run_expert = [&](int64_t e, Scratch &w, int threads) {
        const std::vector<int64_t> &mine = slots[static_cast<size_t>(e)];
        const auto m = static_cast<int64_t>(mine.size());
        w.xs.resize(static_cast<size_t>(m * n_embd));
        for (int64_t i = 0; i < m; ++i)
            std::copy(x + (mine[static_cast<size_t>(i)] / k) * n_embd, x + (mine[static_cast<size_t>(i)] / k + 1) * n_embd,
                      w.xs.begin() + i * n_embd);
        w.g.resize(static_cast<size_t>(m * n_ff));
        w.u.resize(w.g.size());
        w.h.resize(w.g.size());
        w.y.resize(w.xs.size());
        const cpu::WeightView gate_up[2] = {expert_matrix(gate, e), expert_matrix(up, e)};
        float *const gate_up_out[2] = {w.g.data(), w.u.data()};
        const int64_t ld[2] = {n_ff, n_ff};
        cpu::matmul_shared_input(gate_up, 2, w.xs.data(), n_embd, m, gate_up_out, ld, threads);
        add_bias(w.g.data(), m, n.expert_bias[0], e);
        add_bias(w.u.data(), m, n.expert_bias[1], e);
        for (int64_t i = 0; i < m; ++i)
            glu_row(p.act, w.g.data() + i * n_ff, w.u.data() + i * n_ff, w.h.data() + i * n_ff, n_ff);
        cpu::matmul(expert_matrix(down, e), w.h.data(), n_ff, m, w.y.data(), n_embd, threads);
        add_bias(w.y.data(), m, n.expert_bias[2], e);
        for (int64_t i = 0; i < m; ++i)
            std::copy(w.y.begin() + i * n_embd, w.y.begin() + (i + 1) * n_embd,
                      results.begin() + mine[static_cast<size_t>(i)] * n_embd);
    };
    // With at least one selected expert per thread, the threads take whole experts (no
    // fork per small matmul: a decoded token's experts are single-row products); otherwise
    // each expert's matmuls use every thread. A row's result does not depend on which.
    if (static_cast<int64_t>(active.size()) >= n_threads && n_threads > 1) {
        std::exception_ptr error;  // an exception must not leave an OpenMP region
        std::mutex error_mutex;
#pragma omp parallel num_threads(n_threads)
        {
            Scratch w;
#pragma omp for schedule(dynamic, 1)
            for (size_t i = 0; i < active.size(); ++i) {
                try {
                    run_expert(active[i], w, 1);
                } catch (...) {
                    const std::lock_guard<std::mutex> lock(error_mutex);
                    if (!error) error = std::current_exception();
                }
            }
        }
        if (error) std::rethrow_exception(error);
    } else {
        Scratch w;
        for (int64_t e : active) run_expert(e, w, n_threads);
    }

    for (int64_t t = 0; t < n_tokens; ++t) {
        float *o = out + t * n_embd;
        for (int64_t r = 0; r < k; ++r) {
            const float w = weights[static_cast<size_t>(t * k + r)];
            const float *res = results.data() + (t * k + r) * n_embd;
            for (int64_t i = 0; i < n_embd; ++i) o[i] = r == 0 ? res[i] * w : o[i] + res[i] * w;
        }
    }
}

}  // namespace ember::backend
