#include "backend/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/error.h"
#include "cpu/exp_approx.h"
#include "cpu/isa.h"
#include "cpu/ops.h"
#include "cpu/type_traits.h"
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
    std::vector<float> keys, values;  // tiled: one KV head's cached rows as float, [n_kv][head_dim]
    std::vector<float> key_blocks;    // tiled: the keys transposed per block
    std::vector<float> q, acc;        // row by row: [heads][head_dim]; tiled: acc is [query tile][head_dim]
    std::vector<uint16_t> q_half;     // row by row over an F16 K cache: the queries in F16
    std::vector<uint8_t> q_dot;       // row by row over another K type: the queries in its vec_dot_type
    std::vector<float> value_row;     // row by row: one cached V row as float
    std::vector<float> scores;        // tiled: [kRowGroup][kTile], a group of rows' exponentials
    // Row by row, per head and visible cell: q·k, and the online softmax's factors for the
    // accumulator; per head (tiled: per query row) its running maximum and sum.
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

// One layer's cache as the row path reads it: where KV head kvh's part of cell c's K row
// starts is k + c * k_row + kvh * k_head (bytes), and likewise for V.
struct CacheRows {
    const uint8_t *k, *v;
    TensorType k_type, v_type;
    size_t k_row, k_head, v_row, v_head;
    const uint8_t *k_at(int64_t cell, int64_t kvh) const { return k + cell * k_row + kvh * k_head; }
    const uint8_t *v_at(int64_t cell, int64_t kvh) const { return v + cell * v_row + kvh * v_head; }
};

// dots[h][j] = q[h] · K row of cells[j], as the reference computes it for the cache's K type:
// over F16 the queries rounded to F16 (cpu::half_cells_dot, which reads each row once for all
// the heads); over F32 its F32 dot product; over any other type the queries converted to the
// type's vec_dot_type and the type's dot product (e.g. Q8_0 queries against Q4_0 keys).
void cell_dots(const CacheRows &c, int64_t kvh, int64_t hd, const std::vector<int32_t> &cells, const float *q,
               int64_t n_q, Scratch &w) {
    const int64_t n = static_cast<int64_t>(cells.size());
    float *dots = w.dots.data();
    if (c.k_type == TensorType::F16) {
        float *qr = w.q.data();
        cpu::fp32_to_fp16_row(q, w.q_half.data(), n_q * hd);
        cpu::fp16_to_fp32_row(w.q_half.data(), qr, n_q * hd);
        const auto *k = reinterpret_cast<const uint16_t *>(c.k_at(0, kvh));
        cpu::half_cells_dot(qr, n_q, k, static_cast<int64_t>(c.k_row / sizeof(uint16_t)), hd, cells.data(), n, dots);
        return;
    }
    if (c.k_type == TensorType::F32) {
        for (int64_t j = 0; j < n; ++j) {
            const auto *k = reinterpret_cast<const float *>(c.k_at(cells[static_cast<size_t>(j)], kvh));
            for (int64_t h = 0; h < n_q; ++h) dots[h * n + j] = dot_row(q + h * hd, k, hd);
        }
        return;
    }
    const cpu::TypeTraits &traits = *cpu::type_traits(c.k_type);
    const cpu::TypeTraits &act = *cpu::type_traits(traits.vec_dot_type);
    const cpu::VecDotFn dot = cpu::isa_kernels(cpu::active_isa_level()).dot[static_cast<size_t>(c.k_type)].vec_dot;
    const size_t q_bytes = tensor_row_bytes_checked(traits.vec_dot_type, hd);
    w.q_dot.resize(static_cast<size_t>(n_q) * q_bytes);
    for (int64_t h = 0; h < n_q; ++h) act.quantize_row(q + h * hd, w.q_dot.data() + h * q_bytes, hd, nullptr);
    for (int64_t j = 0; j < n; ++j) {
        const uint8_t *k = c.k_at(cells[static_cast<size_t>(j)], kvh);
        for (int64_t h = 0; h < n_q; ++h) dot(hd, dots + h * n + j, k, w.q_dot.data() + h * q_bytes);
    }
}

// The accumulators' online-softmax update over the V rows of cells, per head h and cell j in
// order: acc[h] = acc[h] * rescale[h][j] (when it is not 1), then += weight[h][j] * V row.
// Over F16 the accumulators are F16 (cpu::half_cells_mad); over any other type they are F32
// and each row is converted to float once for all the heads.
EMBER_FMA_CLONES
void add_cell_values(const CacheRows &c, int64_t kvh, int64_t hd, const std::vector<int32_t> &cells, int64_t n_q,
                     Scratch &w) {
    const int64_t n = static_cast<int64_t>(cells.size());
    float *acc = w.acc.data();
    if (c.v_type == TensorType::F16) {
        const auto *v = reinterpret_cast<const uint16_t *>(c.v_at(0, kvh));
        cpu::half_cells_mad(v, static_cast<int64_t>(c.v_row / sizeof(uint16_t)), hd, cells.data(), w.rescale.data(),
                            w.weight.data(), n, n_q, acc);
        return;
    }
    const cpu::DequantizeRowFn to_float =
        c.v_type == TensorType::F32 ? nullptr : cpu::type_traits(c.v_type)->dequantize_row;
    w.value_row.resize(static_cast<size_t>(hd));
    for (int64_t j = 0; j < n; ++j) {
        const uint8_t *row = c.v_at(cells[static_cast<size_t>(j)], kvh);
        const float *val = reinterpret_cast<const float *>(row);
        if (to_float) {
            to_float(row, w.value_row.data(), hd);
            val = w.value_row.data();
        }
        for (int64_t h = 0; h < n_q; ++h) {
            float *a = acc + h * hd;
            const float r = w.rescale[static_cast<size_t>(h * n + j)], p = w.weight[static_cast<size_t>(h * n + j)];
            if (r != 1.0f)  // (a new maximum; times 1 would change nothing)
                for (int64_t i = 0; i < hd; ++i) a[i] *= r;
            for (int64_t i = 0; i < hd; ++i) a[i] = std::fma(val[i], p, a[i]);
        }
    }
}

// Row by row (the reference's one-row path) for n_q query heads sharing KV head kvh over the
// visible cells: their scores, the online softmax's factors per cell, then the values. q, out:
// the heads' rows, consecutive.
void attend_heads(const AttentionParams &a, const CacheRows &c, int64_t kvh, const std::vector<int32_t> &cells,
                  const float *q, int64_t n_q, const float *mask, const float *sinks, Scratch &w, float *out) {
    const int64_t hd = a.head_dim, n = static_cast<int64_t>(cells.size());
    float *acc = w.acc.data(), *dots = w.dots.data();
    cell_dots(c, kvh, hd, cells, q, n_q, w);
    for (int64_t h = 0; h < n_q; ++h) {
        float *d = dots + h * n;
        for (int64_t j = 0; j < n; ++j) d[j] = score(d[j], a, mask[cells[static_cast<size_t>(j)]]);
        float &running_max = w.running_max[static_cast<size_t>(h)], &sum = w.sum[static_cast<size_t>(h)];
        running_max = kHidden, sum = 0.0f;
        for (int64_t j = 0; j < n; ++j) online_softmax_step(d[j], running_max, sum, w.rescale[h * n + j], w.weight[h * n + j]);
    }
    std::fill(acc, acc + n_q * hd, 0.0f);
    add_cell_values(c, kvh, hd, cells, n_q, w);
    for (int64_t h = 0; h < n_q; ++h) {
        float &sum = w.sum[static_cast<size_t>(h)];
        add_sink(sinks ? sinks + h : nullptr, w.running_max[static_cast<size_t>(h)], sum, acc + h * hd, hd);
        const float inv = sum == 0.0f ? 0.0f : 1.0f / sum;
        for (int64_t i = 0; i < hd; ++i) out[h * hd + i] = acc[h * hd + i] * inv;
    }
}

// For each of NR rows r: acc[r][i] += p[r][j] * vals[j][i] for j = 0..n-1 in order, `width`
// accumulator lanes per row kept in registers (width divides hd), each value vector loaded once
// for all the rows; each lane's FMAs run in the order of a plain one-row loop. Always inlined,
// so it is compiled for each clone of its caller.
template <int NR, int64_t width>
[[gnu::always_inline]] inline void add_weighted_rows(const float *const *p, const float *vals, int64_t n, int64_t hd,
                                                     float *const *acc) {
    for (int64_t i0 = 0; i0 < hd; i0 += width) {
        float o[NR][width];
        for (int r = 0; r < NR; ++r) std::copy(acc[r] + i0, acc[r] + i0 + width, o[r]);
        for (int64_t j = 0; j < n; ++j)
            for (int r = 0; r < NR; ++r) {
                const float pj = p[r][j];
#pragma omp simd
                for (int64_t l = 0; l < width; ++l) o[r][l] = std::fma(pj, vals[j * hd + i0 + l], o[r][l]);
            }
        for (int r = 0; r < NR; ++r) std::copy(o[r], o[r] + width, acc[r] + i0);
    }
}

// The raw scores of NR query rows against one block of transposed keys ([hd][kTile]): per
// cell an FMA chain over i in order, as one row alone; each key vector is loaded once for all
// the rows, and the sums stay in registers (accumulating in memory would chain every FMA
// through a store and a reload).
template <int NR>
[[gnu::always_inline]] inline void block_scores(const float *const *q, const float *keys_t, int64_t hd,
                                                float (*out)[kTile]) {
    float s[NR][kTile] = {};
    for (int64_t i = 0; i < hd; ++i)
        for (int r = 0; r < NR; ++r) {
            const float qi = q[r][i];
#pragma omp simd
            for (int64_t j = 0; j < kTile; ++j) s[r][j] = std::fma(qi, keys_t[i * kTile + j], s[r][j]);
        }
    for (int r = 0; r < NR; ++r) std::copy(s[r], s[r] + kTile, out[r]);
}

// Query rows that share each key and value load: kRowGroup fill AVX-512's 32 registers (16 score
// or output accumulators); AVX2's 16 would spill them, so there one row at a time.
constexpr int kRowGroup = 4;
inline int query_row_group() {
    static const int group = __builtin_cpu_supports("avx512f") ? kRowGroup : 1;
    return group;
}

// One row's online-softmax step over a block: its scores from the raw dots, one rescale of its
// accumulator to the block's maximum, the exponentials (in place) and their sum.
[[gnu::always_inline]] inline void softmax_block(const AttentionParams &a, const float *raw, const float *mask,
                                                 int64_t n, float *scores, float &running_max, float &sum, float *acc,
                                                 int64_t hd) {
    for (int64_t j = 0; j < n; ++j) scores[j] = score(raw[j], a, mask[j]);
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
}

// One block of cells for NR query rows (rows[k], whose mask rows start at mask + rows[k] *
// mask_stride): their scores together, each row's softmax step, their weighted values together.
template <int NR>
[[gnu::always_inline]] inline void group_block(const AttentionParams &a, const float *const *q, const float *keys_t,
                                               const float *vals, int64_t n, int64_t hd, const int64_t *rows,
                                               const float *mask, int64_t mask_stride, Scratch &w, float *const *acc) {
    float raw[NR][kTile];
    block_scores<NR>(q, keys_t, hd, raw);
    const float *p[NR];  // each row's exponentials, in w.scores
    for (int k = 0; k < NR; ++k) {
        float *e = w.scores.data() + k * kTile;
        softmax_block(a, raw[k], mask + rows[k] * mask_stride, n, e, w.running_max[static_cast<size_t>(rows[k])],
                      w.sum[static_cast<size_t>(rows[k])], acc[k], hd);
        p[k] = e;
    }
    if (hd % 64 == 0)
        add_weighted_rows<NR, 64>(p, vals, n, hd, acc);
    else if (hd % 32 == 0)
        add_weighted_rows<NR, 32>(p, vals, n, hd, acc);
    else
        add_weighted_rows<NR, kLanes>(p, vals, n, hd, acc);
}

// Tiled, over n_rows query rows of one head (consecutive tokens; q, mask and out rows the given
// strides apart): per block of kTile cells, groups of query rows take the block's scores
// together, then each row its softmax step, then the group its weighted values (all in F32). A
// block's keys and values (32 KB each at head size 128) are read once for all the rows while
// they are in cache, instead of once per row; each row's arithmetic is what it is alone, so the
// rows of a tile get the bits of single rows.
EMBER_WIDE_FMA_CLONES
void attend_tiled(const AttentionParams &a, int64_t n_kv, int64_t n_rows, const float *q, int64_t q_stride,
                  const float *mask, int64_t mask_stride, const float *sink, Scratch &w, float *out, int64_t out_stride) {
    const int64_t hd = a.head_dim;
    const int group = query_row_group();
    w.acc.assign(static_cast<size_t>(n_rows * hd), 0.0f);
    w.running_max.assign(static_cast<size_t>(n_rows), kHidden);
    w.sum.assign(static_cast<size_t>(n_rows), 0.0f);
    w.scores.resize(static_cast<size_t>(kRowGroup * kTile));
    for (int64_t c0 = 0; c0 < n_kv; c0 += kTile) {
        const int64_t n = std::min(kTile, n_kv - c0);
        const float *keys_t = w.key_blocks.data() + (c0 / kTile) * hd * kTile;  // [hd][kTile]
        const float *vals = w.values.data() + c0 * hd;
        for (int64_t r0 = 0; r0 < n_rows; r0 += group) {
            int64_t rows[kRowGroup];  // the group's rows that see a cell of the block
            int nr = 0;
            for (int64_t r = r0; r < std::min(n_rows, r0 + group); ++r) {
                const float *mr = mask + r * mask_stride + c0;
                if (!std::all_of(mr, mr + n, [](float m) { return m == kHidden; })) rows[nr++] = r;
            }
            if (nr == 0) continue;
            const float *qr[kRowGroup];
            float *acc[kRowGroup];
            for (int k = 0; k < nr; ++k) {
                qr[k] = q + rows[k] * q_stride;
                acc[k] = w.acc.data() + rows[k] * hd;
            }
            static_assert(kRowGroup == 4, "one case per group size");
            switch (nr) {
                case 1: group_block<1>(a, qr, keys_t, vals, n, hd, rows, mask + c0, mask_stride, w, acc); break;
                case 2: group_block<2>(a, qr, keys_t, vals, n, hd, rows, mask + c0, mask_stride, w, acc); break;
                case 3: group_block<3>(a, qr, keys_t, vals, n, hd, rows, mask + c0, mask_stride, w, acc); break;
                default: group_block<4>(a, qr, keys_t, vals, n, hd, rows, mask + c0, mask_stride, w, acc); break;
            }
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

namespace {

// Row i of n values into a cache of `type` (the reference's conversion or quantizer).
void store_row(TensorType type, const float *src, void *dst, int64_t n) {
    switch (type) {
        case TensorType::F32: std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float)); break;
        case TensorType::F16: cpu::fp32_to_fp16_row(src, static_cast<uint16_t *>(dst), n); break;
        default: cpu::type_traits(type)->quantize_row(src, dst, n, nullptr); break;
    }
}

}  // namespace

void store_kv(const KvLayer &kv, int64_t n_embd_kv, const float *k, const float *v, const int32_t *cells,
              int64_t n_tokens) {
    const size_t k_row = tensor_row_bytes_checked(kv.k_type, n_embd_kv), v_row = tensor_row_bytes_checked(kv.v_type, n_embd_kv);
    for (int64_t t = 0; t < n_tokens; ++t) {
        const auto cell = static_cast<size_t>(cells[t]);
        store_row(kv.k_type, k + t * n_embd_kv, static_cast<uint8_t *>(kv.k) + cell * k_row, n_embd_kv);
        store_row(kv.v_type, v + t * n_embd_kv, static_cast<uint8_t *>(kv.v) + cell * v_row, n_embd_kv);
    }
}

namespace {

// Row by row: the work items are (token, KV head, a run of the query heads that share it), so
// each cached row is read once per run; runs are halved while there would be fewer than two
// items per thread.
void attention_rows(const AttentionParams &a, const KvLayer &kv, int64_t n_kv, const float *mask, const float *q,
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
    const int64_t n_embd_kv = a.n_head_kv * hd;
    const CacheRows rows{static_cast<const uint8_t *>(kv.k), static_cast<const uint8_t *>(kv.v), kv.k_type, kv.v_type,
                         tensor_row_bytes_checked(kv.k_type, n_embd_kv), tensor_row_bytes_checked(kv.k_type, hd),
                         tensor_row_bytes_checked(kv.v_type, n_embd_kv), tensor_row_bytes_checked(kv.v_type, hd)};

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
            attend_heads(a, rows, kvh, visible[static_cast<size_t>(t)], q + t * n_cols + h0 * hd, n_q, mask + t * n_kv,
                         sinks ? sinks + h0 : nullptr, w, out + t * n_cols + h0 * hd);
        }
    }
}

// Whether a micro-batch of n_tokens takes the tiled path over this cache (as the reference:
// F16 or F32 rows, the same type for K and V).
bool attention_is_tiled(const KvLayer &kv, int64_t head_dim, int64_t n_tokens) {
    const bool float_cache = kv.k_type == TensorType::F16 || kv.k_type == TensorType::F32;
    return n_tokens >= kTile && head_dim % kLanes == 0 && float_cache && kv.v_type == kv.k_type;
}

}  // namespace

void attention(const AttentionParams &a, const KvLayer &kv, int64_t n_kv, const float *mask, const float *q,
               float *out, int64_t n_tokens, int n_threads, const float *sinks) {
    if (!attention_is_tiled(kv, a.head_dim, n_tokens))
        return attention_rows(a, kv, n_kv, mask, q, out, n_tokens, n_threads, sinks);

    const int64_t hd = a.head_dim, n_cols = a.n_head * hd;
    const int64_t group = a.n_head / a.n_head_kv;  // query heads per KV head
#pragma omp parallel num_threads(n_threads)
    {
        Scratch w;
        int64_t loaded_kv_head = -1;
#pragma omp for schedule(static)
        for (int64_t h = 0; h < a.n_head; ++h) {
            const int64_t kvh = h / group;
            if (kvh != loaded_kv_head) {
                gather_head(a, kv.k_type, kv.k, n_kv, kvh, w.keys);
                gather_head(a, kv.v_type, kv.v, n_kv, kvh, w.values);
                transpose_key_blocks(w.keys, n_kv, hd, w.key_blocks);
                loaded_kv_head = kvh;
            }
            const float *sink = sinks ? sinks + h : nullptr;
            for (int64_t t0 = 0; t0 < n_tokens; t0 += kQueryTile)
                attend_tiled(a, n_kv, std::min(kQueryTile, n_tokens - t0), q + t0 * n_cols + h * hd, n_cols,
                             mask + t0 * n_kv, n_kv, sink, w, out + t0 * n_cols + h * hd, n_cols);
        }
    }
}

}  // namespace ember::backend
