#include "model/cpu_backend.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "cpu/matmul.h"
#include "cpu/ops.h"
#include "cpu/type_traits.h"

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

void run_rope(const Node &n, const float *x, float *out) {
    const RopeParams &r = n.rope;
    const cpu::RopeStyle style = r.kind == RopeKind::Neox ? cpu::RopeStyle::Neox : cpu::RopeStyle::Interleaved;
    std::memcpy(out, x, static_cast<size_t>(n.n_rows * n.n_cols) * sizeof(float));
    for (int64_t t = 0; t < n.n_rows; ++t)
        cpu::rope(out + t * n.n_cols, r.n_heads, r.head_dim, r.n_rot, r.positions[t], r.freq_base, r.freq_scale,
                  r.freq_factors, style);
}

// Stores the micro-batch's k and v rows into their cells, in the cache's type.
void store_kv(const AttentionParams &a, const float *k, const float *v, int64_t n_tokens) {
    const int64_t n_embd_kv = a.n_head_kv * a.head_dim;
    for (int64_t t = 0; t < n_tokens; ++t) {
        const int64_t cell = a.dst_cells[t];
        if (a.kv_type == TensorType::F16) {
            cpu::fp32_to_fp16_row(k + t * n_embd_kv, static_cast<uint16_t *>(a.k_cache) + cell * n_embd_kv, n_embd_kv);
            cpu::fp32_to_fp16_row(v + t * n_embd_kv, static_cast<uint16_t *>(a.v_cache) + cell * n_embd_kv, n_embd_kv);
        } else {
            std::memcpy(static_cast<float *>(a.k_cache) + cell * n_embd_kv, k + t * n_embd_kv,
                        static_cast<size_t>(n_embd_kv) * sizeof(float));
            std::memcpy(static_cast<float *>(a.v_cache) + cell * n_embd_kv, v + t * n_embd_kv,
                        static_cast<size_t>(n_embd_kv) * sizeof(float));
        }
    }
}

// One head's cached rows over cells [0, n_kv) as float: [n_kv][head_dim].
void gather_head(const AttentionParams &a, const void *cache, int64_t kv_head, std::vector<float> &dst) {
    const int64_t n_embd_kv = a.n_head_kv * a.head_dim;
    dst.resize(static_cast<size_t>(a.n_kv * a.head_dim));
    for (int64_t c = 0; c < a.n_kv; ++c) {
        float *row = dst.data() + c * a.head_dim;
        if (a.kv_type == TensorType::F16)
            cpu::fp16_to_fp32_row(static_cast<const uint16_t *>(cache) + c * n_embd_kv + kv_head * a.head_dim, row,
                                  a.head_dim);
        else
            std::memcpy(row, static_cast<const float *>(cache) + c * n_embd_kv + kv_head * a.head_dim,
                        static_cast<size_t>(a.head_dim) * sizeof(float));
    }
}

// Scratch of one thread for the attention of one query row.
struct AttentionScratch {
    std::vector<float> keys, values;  // one KV head's cached rows as float: [n_kv][head_dim]
    std::vector<float> q, acc;        // [head_dim]
    std::vector<uint16_t> acc16;      // [head_dim]: the accumulator in F16 for an F16 cache
    std::vector<float> scores;        // [kAttentionTile]
};

// Both attention variants compute out = softmax(q·Kᵀ·scale + mask)·V with an online softmax
// (a running maximum M and sum S; old terms are rescaled when M grows), but round differently.
// They follow the two paths of llama.cpp's CPU flash attention, chosen the same way (by the
// micro-batch size), because the random-weight conformance models turn any rounding
// difference into int8 activation-quantization flips: matching its rounding keeps quantized
// models within a fraction of a percent of its logits instead of several percent.
constexpr int64_t kAttentionTile = 64;  // cells per softmax block, and the batch size from
                                        // which the blocked variant is used (for head sizes
                                        // that are a multiple of 16 floats, a 512-bit vector)

// Row by row, one cell at a time. With an F16 cache the query is rounded to F16 for the dot
// products and the accumulator is kept in F16 (generation and short prompts).
void attend_row_by_row(const AttentionParams &a, const float *q, const float *mask, AttentionScratch &w, float *out) {
    const int64_t hd = a.head_dim;
    const bool half = a.kv_type == TensorType::F16;
    std::copy(q, q + hd, w.q.begin());
    if (half)
        for (int64_t i = 0; i < hd; ++i) w.q[static_cast<size_t>(i)] = fp16_to_fp32(fp32_to_fp16(q[i]));
    std::fill(w.acc.begin(), w.acc.end(), 0.0f);

    float running_max = -std::numeric_limits<float>::infinity();
    float sum = 0.0f;
    for (int64_t c = 0; c < a.n_kv; ++c) {
        if (mask[c] == -std::numeric_limits<float>::infinity()) continue;
        const float *key = w.keys.data() + c * hd;
        double dot = 0.0;
        for (int64_t i = 0; i < hd; ++i) dot += static_cast<double>(w.q[static_cast<size_t>(i)] * key[i]);
        const float s = static_cast<float>(dot) * a.scale + mask[c];

        float rescale = 1.0f, weight = 1.0f;  // rescale: for the old terms; weight: exp(s - M)
        if (s > running_max) {
            rescale = std::exp(running_max - s);
            running_max = s;
            for (float &x : w.acc) x *= rescale;
        } else {
            weight = std::exp(s - running_max);
        }
        const float *val = w.values.data() + c * hd;
        for (int64_t i = 0; i < hd; ++i)
            w.acc[static_cast<size_t>(i)] = std::fma(val[i], weight, w.acc[static_cast<size_t>(i)]);
        if (half) {  // the accumulator lives in F16: round after every update
            cpu::fp32_to_fp16_row(w.acc.data(), w.acc16.data(), hd);
            cpu::fp16_to_fp32_row(w.acc16.data(), w.acc.data(), hd);
        }
        sum = sum * rescale + weight;
    }
    const float inv = sum == 0.0f ? 0.0f : 1.0f / sum;
    for (int64_t i = 0; i < hd; ++i) out[i] = w.acc[static_cast<size_t>(i)] * inv;
}

// Blocks of kAttentionTile cells, all in F32: the scores of a block, then one rescale to the
// block's maximum, then the block's weighted values (prompt processing of >= 64 tokens).
void attend_blocked(const AttentionParams &a, const float *q, const float *mask, AttentionScratch &w, float *out) {
    const int64_t hd = a.head_dim;
    std::fill(w.acc.begin(), w.acc.end(), 0.0f);
    float running_max = -std::numeric_limits<float>::infinity();
    float sum = 0.0f;
    for (int64_t c0 = 0; c0 < a.n_kv; c0 += kAttentionTile) {
        const int64_t n = std::min(kAttentionTile, a.n_kv - c0);
        float block_max = -std::numeric_limits<float>::infinity();
        for (int64_t j = 0; j < n; ++j) {
            float &s = w.scores[static_cast<size_t>(j)];
            if (mask[c0 + j] == -std::numeric_limits<float>::infinity()) {
                s = mask[c0 + j];
                continue;
            }
            const float *key = w.keys.data() + (c0 + j) * hd;
            float dot = 0.0f;
            for (int64_t i = 0; i < hd; ++i) dot = std::fma(q[i], key[i], dot);
            s = dot * a.scale + mask[c0 + j];
            block_max = std::max(block_max, s);
        }
        if (block_max == -std::numeric_limits<float>::infinity()) continue;  // nothing visible here
        if (block_max > running_max) {
            const float rescale = std::exp(running_max - block_max);
            for (float &x : w.acc) x *= rescale;
            sum *= rescale;
            running_max = block_max;
        }
        double block_sum = 0.0;
        for (int64_t j = 0; j < n; ++j) {
            float &s = w.scores[static_cast<size_t>(j)];
            s = std::exp(s - running_max);
            block_sum += s;
        }
        sum += static_cast<float>(block_sum);
        for (int64_t j = 0; j < n; ++j) {
            const float p = w.scores[static_cast<size_t>(j)];
            if (p == 0.0f) continue;
            const float *val = w.values.data() + (c0 + j) * hd;
            for (int64_t i = 0; i < hd; ++i) w.acc[static_cast<size_t>(i)] = std::fma(p, val[i], w.acc[static_cast<size_t>(i)]);
        }
    }
    const float inv = sum == 0.0f ? 0.0f : 1.0f / sum;
    for (int64_t i = 0; i < hd; ++i) out[i] = w.acc[static_cast<size_t>(i)] * inv;
}

// out[t][h] = softmax(q[t][h] · K[h]ᵀ · scale + mask[t]) · V[h] for each query head h, where
// K[h], V[h] are the cached rows of the KV head that h shares (grouped-query attention).
void run_attention(const Node &n, const float *q, const float *k, const float *v, float *out, int n_threads) {
    const AttentionParams &a = n.attn;
    const int64_t n_tokens = n.n_rows, hd = a.head_dim;
    const int64_t group = a.n_head / a.n_head_kv;  // query heads per KV head
    store_kv(a, k, v, n_tokens);

#pragma omp parallel num_threads(n_threads)
    {
        AttentionScratch w;
        w.q.resize(static_cast<size_t>(hd));
        w.acc.resize(static_cast<size_t>(hd));
        w.acc16.resize(static_cast<size_t>(hd));
        w.scores.resize(static_cast<size_t>(kAttentionTile));
        const bool blocked = n_tokens >= kAttentionTile && hd % 16 == 0;
        int64_t loaded_kv_head = -1;
#pragma omp for schedule(static)
        for (int64_t h = 0; h < a.n_head; ++h) {
            const int64_t kvh = h / group;
            if (kvh != loaded_kv_head) {
                gather_head(a, a.k_cache, kvh, w.keys);
                gather_head(a, a.v_cache, kvh, w.values);
                loaded_kv_head = kvh;
            }
            for (int64_t t = 0; t < n_tokens; ++t)
                (blocked ? attend_blocked : attend_row_by_row)(a, q + t * n.n_cols + h * hd, a.mask + t * a.n_kv, w,
                                                               out + t * n.n_cols + h * hd);
        }
    }
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
            for (int64_t r = 0; r < rows; ++r) cpu::rms_norm(x + r * cols, n.weight->f32(), out + r * cols, cols, n.eps);
            break;
        }
        case OpType::MatMul:
            run_matmul(n, in(0), out, n_threads);
            break;
        case OpType::Rope:
            run_rope(n, in(0), out);
            break;
        case OpType::Attention:
            run_attention(n, in(0), in(1), in(2), out, n_threads);
            break;
        case OpType::SwiGlu: {
            const float *gate = in(0), *up = in(1);
#pragma omp parallel for num_threads(n_threads) if (rows > 1)
            for (int64_t r = 0; r < rows; ++r) cpu::swiglu(gate + r * cols, up + r * cols, out + r * cols, cols);
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
