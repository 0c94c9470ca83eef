#include "backend/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "cpu/exp_approx.h"
#include "cpu/ops.h"
#include "backend/cpu/float_ops.h"

namespace ember::backend {

namespace {

constexpr float kHidden = -std::numeric_limits<float>::infinity();
constexpr int64_t kTile = 64;   // cells per softmax block, and the batch size from which the
                                // tiled path is used
constexpr int64_t kLanes = 16;  // the reference's vector width in floats (512 bits)
constexpr int64_t kQueryTile = 16;  // query rows that share a pass over the cached blocks

// One KV head's cached rows over cells [0, n_kv) as float: [n_kv][head_dim].
void gather_head(const AttentionParams &a, TensorType type, const void *cache, int64_t n_kv, int64_t kv_head,
                 std::vector<float> &dst) {
    const int64_t n_embd_kv = a.n_head_kv * a.head_dim;
    dst.resize(static_cast<size_t>(n_kv * a.head_dim));
    for (int64_t c = 0; c < n_kv; ++c) {
        float *row = dst.data() + c * a.head_dim;
        if (type == TensorType::F16)
            cpu::fp16_to_fp32_row(static_cast<const uint16_t *>(cache) + c * n_embd_kv + kv_head * a.head_dim, row,
                                  a.head_dim);
        else
            std::memcpy(row, static_cast<const float *>(cache) + c * n_embd_kv + kv_head * a.head_dim,
                        static_cast<size_t>(a.head_dim) * sizeof(float));
    }
}

// The keys of each block of kTile cells transposed, [n_blocks][head_dim][kTile], zero past
// n_kv: the scores of a block are then a sequence of head_dim vector FMAs over its cells.
void transpose_key_blocks(const std::vector<float> &keys, int64_t n_kv, int64_t hd, std::vector<float> &dst) {
    const int64_t n_blocks = (n_kv + kTile - 1) / kTile;
    dst.assign(static_cast<size_t>(n_blocks * hd * kTile), 0.0f);
    for (int64_t c = 0; c < n_kv; ++c) {
        float *block = dst.data() + (c / kTile) * hd * kTile;
        for (int64_t i = 0; i < hd; ++i) block[i * kTile + c % kTile] = keys[static_cast<size_t>(c * hd + i)];
    }
}

// Sum of 16 floats in the order of a 512-bit horizontal add: halves, quarters, then pairs.
inline float sum16(const float *x) {
    float h8[8], h4[4];
    for (int i = 0; i < 8; ++i) h8[i] = x[i] + x[i + 8];
    for (int i = 0; i < 4; ++i) h4[i] = h8[i] + h8[i + 4];
    return (h4[0] + h4[2]) + (h4[1] + h4[3]);
}

// q·k of F32 rows as the reference's dot product: blocks of 64 in four 16-lane FMA
// accumulators, folded (0+2, 1+3, then 0+1) and summed across lanes, then the rest of the row
// one FMA at a time. (F16 rows: cpu::half_cells_dot.)
EMBER_FMA_CLONES
float dot_row(const float *q, const float *k, int64_t n) {
    const int64_t n64 = n - n % 64;
    float acc[4][kLanes] = {};
    for (int64_t i = 0; i < n64; i += 64)
        for (int j = 0; j < 4; ++j)
            for (int l = 0; l < kLanes; ++l) acc[j][l] = std::fma(q[i + kLanes * j + l], k[i + kLanes * j + l], acc[j][l]);
    for (int l = 0; l < kLanes; ++l) {
        acc[0][l] += acc[2][l];
        acc[1][l] += acc[3][l];
        acc[0][l] += acc[1][l];
    }
    float sum = n64 > 0 ? sum16(acc[0]) : 0.0f;
    for (int64_t i = n64; i < n; ++i) sum = std::fma(q[i], k[i], sum);
    return sum;
}

// A cell's score from q·k: scaled, soft-capped where the model caps (as llama.cpp: the scale
// divided by the cap, then cap·tanh), plus the mask.
inline float score(float dot, const AttentionParams &a, float mask) {
    if (a.softcap > 0.0f) return a.softcap * std::tanh(dot * (a.scale / a.softcap)) + mask;
    return dot * a.scale + mask;
}

// An attention sink (gpt-oss): one more logit in the softmax, with no value. As llama.cpp,
// after the cells: if it exceeds the running maximum the accumulator and the sum are rescaled
// to it and it adds 1, else it adds e^(sink - M).
inline void add_sink(const float *sink, float running_max, float &sum, float *acc, int64_t hd) {
    if (!sink) return;
    if (*sink > running_max) {
        const float rescale = std::exp(running_max - *sink);
        for (int64_t i = 0; i < hd; ++i) acc[i] *= rescale;
        sum = sum * rescale + 1.0f;
    } else {
        sum += std::exp(*sink - running_max);
    }
}

// Scratch of one thread.
struct Scratch {
    std::vector<float> keys, values;  // one KV head's cached rows as float: [n_kv][head_dim]
    std::vector<float> key_blocks;    // the keys transposed per block (tiled path)
    std::vector<float> q, acc;        // [head_dim]; tiled: acc is [query tile][head_dim]
    std::vector<uint16_t> q_half;     // row by row over F16: [heads][head_dim], as are q and acc
    std::vector<float> scores;        // [kTile]
    // Row by row over an F16 cache, per head and visible cell: q·k, and the online softmax's
    // factors for the accumulator; per head (tiled: per query row) its running maximum and sum.
    std::vector<float> dots, rescale, weight, running_max, sum;
};

// One cell of the online softmax: when its score s exceeds the running maximum M, the old
// terms are rescaled by e^(M_old - s) and the cell weighs 1; else it weighs e^(s - M). Updates
// M and the sum of the weights S.
inline void online_softmax_step(float s, float &running_max, float &sum, float &rescale, float &weight) {
    rescale = 1.0f, weight = 1.0f;
    if (s > running_max) {
        rescale = std::exp(running_max - s);
        running_max = s;
    } else {
        weight = std::exp(s - running_max);
    }
    sum = sum * rescale + weight;
}

// Row by row over an F16 cache (the reference's decode) for n_q query heads sharing one KV
// head: the queries rounded to F16, and the accumulators kept in F16, in the kernels'
// half_cells_dot / half_cells_mad (which read each cached row once for all the heads). k and
// v point at the KV head's row of cell 0; q, out: the heads' rows, consecutive.
void attend_half_heads(const AttentionParams &a, const std::vector<int32_t> &cells, const uint16_t *k,
                       const uint16_t *v, const float *q, int64_t n_q, const float *mask, const float *sinks,
                       Scratch &w, float *out) {
    const int64_t hd = a.head_dim, stride = a.n_head_kv * hd, n = static_cast<int64_t>(cells.size());
    float *qr = w.q.data(), *acc = w.acc.data(), *dots = w.dots.data();
    cpu::fp32_to_fp16_row(q, w.q_half.data(), n_q * hd);
    cpu::fp16_to_fp32_row(w.q_half.data(), qr, n_q * hd);
    cpu::half_cells_dot(qr, n_q, k, stride, hd, cells.data(), n, dots);
    for (int64_t h = 0; h < n_q; ++h) {
        float *d = dots + h * n;
        for (int64_t j = 0; j < n; ++j) d[j] = score(d[j], a, mask[cells[static_cast<size_t>(j)]]);
        float &running_max = w.running_max[static_cast<size_t>(h)], &sum = w.sum[static_cast<size_t>(h)];
        running_max = kHidden, sum = 0.0f;
        for (int64_t j = 0; j < n; ++j) online_softmax_step(d[j], running_max, sum, w.rescale[h * n + j], w.weight[h * n + j]);
    }
    std::fill(acc, acc + n_q * hd, 0.0f);
    cpu::half_cells_mad(v, stride, hd, cells.data(), w.rescale.data(), w.weight.data(), n, n_q, acc);
    for (int64_t h = 0; h < n_q; ++h) {
        float &sum = w.sum[static_cast<size_t>(h)];
        add_sink(sinks ? sinks + h : nullptr, w.running_max[static_cast<size_t>(h)], sum, acc + h * hd, hd);
        const float inv = sum == 0.0f ? 0.0f : 1.0f / sum;
        for (int64_t i = 0; i < hd; ++i) out[h * hd + i] = acc[h * hd + i] * inv;
    }
}

// Row by row over an F32 cache: every visible cell updates M, S and the accumulator in turn.
EMBER_FMA_CLONES
void attend_row_by_row(const AttentionParams &a, int64_t n_kv, const float *q, const float *mask,
                       const float *sink, Scratch &w, float *out) {
    const int64_t hd = a.head_dim;
    float *acc = w.acc.data();
    std::fill(acc, acc + hd, 0.0f);

    float running_max = kHidden, sum = 0.0f;
    for (int64_t c = 0; c < n_kv; ++c) {
        if (mask[c] == kHidden) continue;
        const float s = score(dot_row(q, w.keys.data() + c * hd, hd), a, mask[c]);
        float rescale, weight;  // rescale: for the old terms; weight: e^(s - M)
        online_softmax_step(s, running_max, sum, rescale, weight);
        if (rescale != 1.0f)  // (a new maximum; times 1 would change nothing)
            for (int64_t i = 0; i < hd; ++i) acc[i] *= rescale;
        const float *val = w.values.data() + c * hd;
        for (int64_t i = 0; i < hd; ++i) acc[i] = std::fma(val[i], weight, acc[i]);
    }
    add_sink(sink, running_max, sum, acc, hd);
    const float inv = sum == 0.0f ? 0.0f : 1.0f / sum;
    for (int64_t i = 0; i < hd; ++i) out[i] = acc[i] * inv;
}

// acc[i] += p[j] * vals[j][i] for j = 0..n-1 in order, `width` accumulator lanes at a time kept
// in registers (width divides hd): each lane's FMAs run in the same order as a plain loop.
// Always inlined, so it is compiled for each clone of its caller.
template <int64_t width>
[[gnu::always_inline]] inline void add_weighted_rows(const float *p, const float *vals, int64_t n, int64_t hd, float *acc) {
    for (int64_t i0 = 0; i0 < hd; i0 += width) {
        float o[width];
        std::copy(acc + i0, acc + i0 + width, o);
        for (int64_t j = 0; j < n; ++j)
#pragma omp simd
            for (int64_t l = 0; l < width; ++l) o[l] = std::fma(p[j], vals[j * hd + i0 + l], o[l]);
        std::copy(o, o + width, acc + i0);
    }
}

// Tiled, over n_rows query rows of one head (consecutive tokens; q, mask and out rows the given
// strides apart): per block of kTile cells, each row in turn takes the block's scores, one
// rescale to the block's maximum, the exponentials and their sum, then the weighted values (all
// in F32). A block's keys and values (32 KB each at head size 128) are read once for all the
// rows while they are in cache, instead of once per row; each row's arithmetic is what it is
// alone, so the rows of a tile get the bits of single rows.
EMBER_FMA_CLONES
void attend_tiled(const AttentionParams &a, int64_t n_kv, int64_t n_rows, const float *q, int64_t q_stride,
                  const float *mask, int64_t mask_stride, const float *sink, Scratch &w, float *out, int64_t out_stride) {
    const int64_t hd = a.head_dim;
    w.acc.assign(static_cast<size_t>(n_rows * hd), 0.0f);
    w.running_max.assign(static_cast<size_t>(n_rows), kHidden);
    w.sum.assign(static_cast<size_t>(n_rows), 0.0f);
    float *scores = w.scores.data();
    for (int64_t c0 = 0; c0 < n_kv; c0 += kTile) {
        const int64_t n = std::min(kTile, n_kv - c0);
        const float *keys_t = w.key_blocks.data() + (c0 / kTile) * hd * kTile;  // [hd][kTile]
        const float *vals = w.values.data() + c0 * hd;
        for (int64_t r = 0; r < n_rows; ++r) {
            const float *qr = q + r * q_stride, *mr = mask + r * mask_stride + c0;
            if (std::all_of(mr, mr + n, [](float m) { return m == kHidden; })) continue;
            float *acc = w.acc.data() + r * hd;
            float &running_max = w.running_max[static_cast<size_t>(r)], &sum = w.sum[static_cast<size_t>(r)];
            // The block's scores accumulate in a local array (registers): accumulating in
            // `scores` itself would chain every FMA through a store and a reload.
            float s_acc[kTile] = {};
            for (int64_t i = 0; i < hd; ++i)
#pragma omp simd
                for (int64_t j = 0; j < kTile; ++j) s_acc[j] = std::fma(qr[i], keys_t[i * kTile + j], s_acc[j]);
            for (int64_t j = 0; j < n; ++j) scores[j] = score(s_acc[j], a, mr[j]);
            std::fill(scores + n, scores + kTile, kHidden);
            // The maximum in 16 independent lanes so that it vectorizes (max is exact in any order).
            float lane_max[kLanes];
            std::fill(lane_max, lane_max + kLanes, kHidden);
            for (int64_t j0 = 0; j0 < kTile; j0 += kLanes)
                for (int64_t l = 0; l < kLanes; ++l) lane_max[l] = std::max(lane_max[l], scores[j0 + l]);
            const float block_max = *std::max_element(lane_max, lane_max + kLanes);
            if (block_max > running_max) {
                const float rescale = std::exp(running_max - block_max);
                for (int64_t i = 0; i < hd; ++i) acc[i] *= rescale;
                sum *= rescale;
                running_max = block_max;
            }
            for (int64_t j = 0; j < kTile; ++j) scores[j] -= running_max;
            cpu::exp_approx_rows(scores, scores, kTile);
            double block_sum = 0.0;
            for (int64_t j0 = 0; j0 < kTile; j0 += kLanes) block_sum += static_cast<double>(sum16(scores + j0));
            sum = static_cast<float>(static_cast<double>(sum) + block_sum);
            if (hd % 64 == 0)
                add_weighted_rows<64>(scores, vals, n, hd, acc);
            else if (hd % 32 == 0)
                add_weighted_rows<32>(scores, vals, n, hd, acc);
            else
                add_weighted_rows<kLanes>(scores, vals, n, hd, acc);
        }
    }
    for (int64_t r = 0; r < n_rows; ++r) {
        float *acc = w.acc.data() + r * hd, &sum = w.sum[static_cast<size_t>(r)];
        add_sink(sink, w.running_max[static_cast<size_t>(r)], sum, acc, hd);
        const float inv = sum == 0.0f ? 0.0f : 1.0f / sum;
        for (int64_t i = 0; i < hd; ++i) out[r * out_stride + i] = acc[i] * inv;
    }
}

}  // namespace

void store_kv(const KvLayer &kv, int64_t n_embd_kv, const float *k, const float *v, const int32_t *cells,
              int64_t n_tokens) {
    for (int64_t t = 0; t < n_tokens; ++t) {
        const int64_t cell = cells[t];
        if (kv.type == TensorType::F16) {
            cpu::fp32_to_fp16_row(k + t * n_embd_kv, static_cast<uint16_t *>(kv.k) + cell * n_embd_kv, n_embd_kv);
            cpu::fp32_to_fp16_row(v + t * n_embd_kv, static_cast<uint16_t *>(kv.v) + cell * n_embd_kv, n_embd_kv);
        } else {
            std::memcpy(static_cast<float *>(kv.k) + cell * n_embd_kv, k + t * n_embd_kv,
                        static_cast<size_t>(n_embd_kv) * sizeof(float));
            std::memcpy(static_cast<float *>(kv.v) + cell * n_embd_kv, v + t * n_embd_kv,
                        static_cast<size_t>(n_embd_kv) * sizeof(float));
        }
    }
}

namespace {

// Row by row over an F16 cache: the work items are (token, KV head, a run of the query heads
// that share it), so each cached row is read once per run; runs are halved while there would
// be fewer than two items per thread.
void attention_half_rows(const AttentionParams &a, const KvLayer &kv, int64_t n_kv, const float *mask, const float *q,
                         float *out, int64_t n_tokens, int n_threads, const float *sinks) {
    const int64_t hd = a.head_dim, n_cols = a.n_head * hd, group = a.n_head / a.n_head_kv;
    std::vector<std::vector<int32_t>> visible(static_cast<size_t>(n_tokens));  // shared by every head
    for (int64_t t = 0; t < n_tokens; ++t)
        for (int64_t c = 0; c < n_kv; ++c)
            if (mask[t * n_kv + c] != kHidden) visible[static_cast<size_t>(t)].push_back(static_cast<int32_t>(c));
    int64_t run = group;
    while (run > 1 && n_tokens * a.n_head_kv * ((group + run - 1) / run) < 2 * static_cast<int64_t>(n_threads))
        run = (run + 1) / 2;
    const int64_t runs_per_kv = (group + run - 1) / run, n_items = n_tokens * a.n_head_kv * runs_per_kv;
    const auto *k = static_cast<const uint16_t *>(kv.k);
    const auto *v = static_cast<const uint16_t *>(kv.v);

#pragma omp parallel num_threads(n_threads)
    {
        Scratch w;
        for (auto *x : {&w.q, &w.acc}) x->resize(static_cast<size_t>(run * hd));
        w.q_half.resize(static_cast<size_t>(run * hd));
        for (auto *x : {&w.dots, &w.rescale, &w.weight}) x->resize(static_cast<size_t>(run * n_kv));
        for (auto *x : {&w.running_max, &w.sum}) x->resize(static_cast<size_t>(run));
#pragma omp for schedule(static)
        for (int64_t item = 0; item < n_items; ++item) {
            const int64_t t = item / (a.n_head_kv * runs_per_kv), kvh = item / runs_per_kv % a.n_head_kv;
            const int64_t h0 = kvh * group + item % runs_per_kv * run, n_q = std::min(run, (kvh + 1) * group - h0);
            attend_half_heads(a, visible[static_cast<size_t>(t)], k + kvh * hd, v + kvh * hd, q + t * n_cols + h0 * hd,
                              n_q, mask + t * n_kv, sinks ? sinks + h0 : nullptr, w, out + t * n_cols + h0 * hd);
        }
    }
}

}  // namespace

void attention(const AttentionParams &a, const KvLayer &kv, int64_t n_kv, const float *mask, const float *q,
               float *out, int64_t n_tokens, int n_threads, const float *sinks) {
    const int64_t hd = a.head_dim, n_cols = a.n_head * hd;
    const int64_t group = a.n_head / a.n_head_kv;  // query heads per KV head
    const bool tiled = n_tokens >= kTile && hd % kLanes == 0;
    if (!tiled && kv.type == TensorType::F16)
        return attention_half_rows(a, kv, n_kv, mask, q, out, n_tokens, n_threads, sinks);

#pragma omp parallel num_threads(n_threads)
    {
        Scratch w;
        w.acc.resize(static_cast<size_t>(hd));
        w.scores.resize(static_cast<size_t>(kTile));
        int64_t loaded_kv_head = -1;
#pragma omp for schedule(static)
        for (int64_t h = 0; h < a.n_head; ++h) {
            const int64_t kvh = h / group;
            if (kvh != loaded_kv_head) {
                gather_head(a, kv.type, kv.k, n_kv, kvh, w.keys);
                gather_head(a, kv.type, kv.v, n_kv, kvh, w.values);
                if (tiled) transpose_key_blocks(w.keys, n_kv, hd, w.key_blocks);
                loaded_kv_head = kvh;
            }
            const float *sink = sinks ? sinks + h : nullptr;
            if (tiled) {
                for (int64_t t0 = 0; t0 < n_tokens; t0 += kQueryTile)
                    attend_tiled(a, n_kv, std::min(kQueryTile, n_tokens - t0), q + t0 * n_cols + h * hd, n_cols,
                                 mask + t0 * n_kv, n_kv, sink, w, out + t0 * n_cols + h * hd, n_cols);
            } else {
                for (int64_t t = 0; t < n_tokens; ++t)
                    attend_row_by_row(a, n_kv, q + t * n_cols + h * hd, mask + t * n_kv, sink, w,
                                      out + t * n_cols + h * hd);
            }
        }
    }
}

}  // namespace ember::backend
