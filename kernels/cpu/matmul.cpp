#include "cpu/matmul.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "cpu/type_traits.h"

namespace ember::cpu {

namespace {

// GEMM tiling: a tile of kRowTile weight rows (a few KB each) stays in L1/L2 while it meets a
// tile of kTokenTile activation rows; inside, each weight row is unpacked once per group of
// kMaxDotRows tokens by the level's vec_dot_multi.
constexpr int64_t kRowTile = 16;
constexpr int64_t kTokenTile = 32;

// Packed GEMM (levels with an IsaGemm): each OpenMP work item is a block of kGemmRowBlock rows x
// kGemmTokenBlock tokens. The tokens' packed activations of a K-chunk (1.4 bytes per element for
// the row-lane types: ~180 KB per 1024 columns) stay in L2 while the level kernel streams the
// block's rows past them; each row tile is unpacked once per token block, so 128 tokens halve
// that cost against 64 (1.1B Q4_0 pp512, 2 threads: +20 %; 256 measured slower).
constexpr int64_t kGemmRowBlock = 64;
constexpr int64_t kGemmTokenBlock = 128;

// Activations in vec_dot_type: n_tokens rows of row_bytes each, or x itself when that is F32.
struct Activations {
    const uint8_t *data;
    size_t row_bytes;
};

Activations convert_activations(IsaLevel level, TensorType vec_dot_type, const float *x, int64_t ldx,
                                int64_t n_in, int64_t n_tokens, int n_threads, std::vector<uint8_t> &scratch) {
    if (vec_dot_type == TensorType::F32)
        return {reinterpret_cast<const uint8_t *>(x), static_cast<size_t>(ldx) * sizeof(float)};
    uint64_t row_bytes = 0;
    if (!tensor_row_bytes(vec_dot_type, static_cast<uint64_t>(n_in), &row_bytes))
        fail(EMBER_ERR_INVALID_ARGUMENT, std::string("matmul: n_in ") + std::to_string(n_in) +
                                             " is not a whole number of " + tensor_type_name(vec_dot_type) +
                                             " blocks");
    scratch.resize(static_cast<size_t>(row_bytes * static_cast<uint64_t>(n_tokens)));
    const TypeTraits *act = type_traits(vec_dot_type);
    RowConvertFn to_f16 = vec_dot_type == TensorType::F16 ? isa_kernels(level).fp32_to_fp16 : nullptr;
    if (act == nullptr || (act->quantize_row == nullptr && to_f16 == nullptr))
        fail(EMBER_ERR_UNSUPPORTED,
             std::string("matmul: no quantizer for activation type ") + tensor_type_name(vec_dot_type));
    uint8_t *dst = scratch.data();
#pragma omp parallel for num_threads(n_threads) schedule(static) if (n_threads > 1 && n_tokens > 1)
    for (int64_t t = 0; t < n_tokens; ++t) {
        if (to_f16 != nullptr)
            to_f16(x + t * ldx, dst + t * row_bytes, n_in);
        else
            act->quantize_row(x + t * ldx, dst + t * row_bytes, n_in, nullptr);
    }
    return {dst, static_cast<size_t>(row_bytes)};
}

void gemm(const WeightView &w, const IsaVecDot &k, const Activations &act, int64_t n_tokens, float *y,
          int64_t ldy, int n_threads) {
    const auto *base = static_cast<const uint8_t *>(w.data);
    const int64_t n_row_tiles = (w.n_out + kRowTile - 1) / kRowTile;
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 1) if (n_threads > 1)
    for (int64_t rt = 0; rt < n_row_tiles; ++rt) {
        const int64_t o0 = rt * kRowTile, o1 = std::min(w.n_out, o0 + kRowTile);
        float out[kMaxDotRows];
        for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokenTile) {
            const int64_t t1 = std::min(n_tokens, t0 + kTokenTile);
            for (int64_t o = o0; o < o1; ++o) {
                const uint8_t *row = base + o * w.row_stride;
                int64_t t = t0;
                if (k.vec_dot_multi != nullptr) {
                    for (; t + 1 < t1; t += kMaxDotRows) {
                        const int n = static_cast<int>(std::min<int64_t>(kMaxDotRows, t1 - t));
                        k.vec_dot_multi(w.n_in, out, row, act.data + t * act.row_bytes, act.row_bytes, n);
                        for (int i = 0; i < n; ++i) y[(t + i) * ldy + o] = out[i];
                    }
                }
                for (; t < t1; ++t) k.vec_dot(w.n_in, &y[t * ldy + o], row, act.data + t * act.row_bytes);
            }
        }
    }
}

void gemm_packed(const WeightView &w, const IsaGemm &g, const Activations &act, int64_t n_tokens, float *y,
                 int64_t ldy, int n_threads) {
    const size_t panel_bytes = g.panel_bytes(w.n_in);
    thread_local std::vector<uint8_t> panels;
    panels.resize(panel_bytes * static_cast<size_t>(n_tokens));
    uint8_t *packed = panels.data();  // (thread_local: name it outside the parallel regions)
#pragma omp parallel for num_threads(n_threads) schedule(static) if (n_threads > 1)
    for (int64_t t = 0; t < n_tokens; ++t)
        g.pack_activations(w.n_in, act.data + t * act.row_bytes, packed + t * panel_bytes);
    const auto *base = static_cast<const uint8_t *>(w.data);
    const int64_t n_row_blocks = (w.n_out + kGemmRowBlock - 1) / kGemmRowBlock;
    const int64_t n_token_blocks = (n_tokens + kGemmTokenBlock - 1) / kGemmTokenBlock;
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 1) if (n_threads > 1)
    for (int64_t item = 0; item < n_row_blocks * n_token_blocks; ++item) {
        const int64_t o0 = (item % n_row_blocks) * kGemmRowBlock, t0 = (item / n_row_blocks) * kGemmTokenBlock;
        const int64_t n_rows = std::min(kGemmRowBlock, w.n_out - o0), n_tok = std::min(kGemmTokenBlock, n_tokens - t0);
        g.gemm(w.n_in, base + o0 * static_cast<int64_t>(w.row_stride), w.row_stride, n_rows,
               packed + t0 * static_cast<int64_t>(panel_bytes), panel_bytes, n_tok, y + t0 * ldy + o0, ldy);
    }
}

// The level's kernels for w, after checking that it has some and that n_in is whole blocks.
const IsaVecDot &checked_dot(const IsaKernels &kernels, const WeightView &w) {
    const uint32_t id = static_cast<uint32_t>(w.type);
    if (id > kMaxTensorTypeId || kernels.dot[id].vec_dot == nullptr)
        fail(EMBER_ERR_UNSUPPORTED, std::string("matmul: no kernels for weight type ") + tensor_type_name(w.type));
    const uint32_t block = tensor_type_info(w.type).block_size;
    if (w.n_in <= 0 || w.n_in % block != 0)
        fail(EMBER_ERR_INVALID_ARGUMENT, std::string("matmul: n_in ") + std::to_string(w.n_in) +
                                             " is not a positive multiple of the " + tensor_type_name(w.type) +
                                             " block size " + std::to_string(block));
    return kernels.dot[id];
}

// One matrix's share of a GEMV over shared activations: its rows in blocks, each block one
// call of the level's GEMV (on the packed panels: one, or n_tokens of them panel_stride bytes
// apart, y rows ldy apart) or of vec_dot per row (one token).
struct GemvJob {
    const WeightView *w;
    const IsaVecDot *dot;
    const IsaGemv *gemv;  // nullptr: vec_dot per row
    const uint8_t *act;   // the panels (gemv) or the converted row
    float *y;
    int64_t block_rows = 0, n_blocks = 0;
    int n_tokens = 1;
    size_t panel_stride = 0;
    int64_t ldy = 0;
};

void run_gemv_block(const GemvJob &j, int64_t b) {
    const auto *base = static_cast<const uint8_t *>(j.w->data);
    const int64_t o0 = b * j.block_rows, n_rows = std::min(j.block_rows, j.w->n_out - o0);
    const uint8_t *rows = base + o0 * static_cast<int64_t>(j.w->row_stride);
    if (j.gemv && j.n_tokens > 1) {
        j.gemv->gemv_multi(j.w->n_in, rows, j.w->row_stride, n_rows, j.act, j.panel_stride, j.n_tokens, j.y + o0, j.ldy);
        return;
    }
    if (j.gemv) {
        j.gemv->gemv(j.w->n_in, rows, j.w->row_stride, n_rows, j.act, j.y + o0);
        return;
    }
    for (int64_t o = o0; o < o0 + n_rows; ++o) j.dot->vec_dot(j.w->n_in, &j.y[o], base + o * j.w->row_stride, j.act);
}

// Blocks of whole row groups, about 4 per thread so that rows split evenly when a thread lags;
// one block for one thread (each block starts its prefetch afresh).
void split_rows(GemvJob &j, int n_threads) {
    const int64_t group = j.gemv ? j.gemv->row_group : 1;
    const int64_t n_groups = (j.w->n_out + group - 1) / group;
    const int64_t groups_per_block =
        n_threads == 1 ? n_groups : std::max<int64_t>(1, n_groups / (4 * static_cast<int64_t>(n_threads)));
    j.block_rows = groups_per_block * group;
    j.n_blocks = (j.w->n_out + j.block_rows - 1) / j.block_rows;
}

// One token through n matrices: the row converted once per activation format and packed
// once per packing (the matrices of a group almost always share both), then every matrix's
// row blocks in one parallel region.
void matmul_one_token(IsaLevel level, const WeightView *w, size_t n, const float *x, float *const *y, int n_threads) {
    n_threads = std::max(1, n_threads);
    const int64_t ldx = 0;  // one row
    const IsaKernels &kernels = isa_kernels(level);
    struct Converted {
        TensorType type;
        int64_t n_in;
        std::vector<uint8_t> storage;
        Activations act;
    };
    struct Packed {
        void (*pack)(int64_t, const void *, uint8_t *);
        const uint8_t *src;
        int64_t n_in;
        std::vector<uint8_t> panel;
    };
    thread_local std::vector<Converted> converted;
    thread_local std::vector<Packed> packed;
    size_t n_converted = 0, n_packed = 0;
    std::vector<GemvJob> jobs;
    jobs.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        if (w[i].n_out <= 0) continue;
        const IsaVecDot &dot = checked_dot(kernels, w[i]);
        const IsaGemv &v = kernels.gemv[static_cast<uint32_t>(w[i].type)];
        const TensorType act_type = v.gemv ? v.vec_dot_type : dot.vec_dot_type;
        size_t c = 0;
        while (c < n_converted && !(converted[c].type == act_type && converted[c].n_in == w[i].n_in)) ++c;
        if (c == n_converted) {
            if (converted.size() <= c) converted.resize(c + 1);
            converted[c].type = act_type, converted[c].n_in = w[i].n_in;
            converted[c].act = convert_activations(level, act_type, x, ldx, w[i].n_in, 1, 1, converted[c].storage);
            ++n_converted;
        }
        GemvJob job{&w[i], &dot, nullptr, converted[c].act.data, y[i]};
        if (v.gemv) {
            size_t p = 0;
            while (p < n_packed && !(packed[p].pack == v.pack_activations && packed[p].src == job.act && packed[p].n_in == w[i].n_in)) ++p;
            if (p == n_packed) {
                if (packed.size() <= p) packed.resize(p + 1);
                packed[p].pack = v.pack_activations, packed[p].src = job.act, packed[p].n_in = w[i].n_in;
                packed[p].panel.resize(v.panel_bytes(w[i].n_in));
                v.pack_activations(w[i].n_in, job.act, packed[p].panel.data());
                ++n_packed;
            }
            job.gemv = &v;
            job.act = packed[p].panel.data();
        }
        split_rows(job, n_threads);
        jobs.push_back(job);
    }
    // Every matrix's blocks in one parallel region.
    std::vector<std::pair<uint32_t, int64_t>> blocks;
    for (size_t j = 0; j < jobs.size(); ++j)
        for (int64_t b = 0; b < jobs[j].n_blocks; ++b) blocks.emplace_back(static_cast<uint32_t>(j), b);
    const auto n_blocks = static_cast<int64_t>(blocks.size());
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 1) if (n_threads > 1 && n_blocks > 1)
    for (int64_t b = 0; b < n_blocks; ++b) run_gemv_block(jobs[blocks[static_cast<size_t>(b)].first], blocks[static_cast<size_t>(b)].second);
}

// A few tokens through the level's row-lane GEMV: the weights are read once for all of them
// (the GEMM's unpacking into int8 tiles costs more than it saves at this size), and each row
// gets the bits the one-token GEMV gives it.
void gemv_tokens(const WeightView &w, const IsaGemv &v, const Activations &act, int64_t n_tokens, float *y, int64_t ldy,
                 int n_threads) {
    const size_t panel_bytes = v.panel_bytes(w.n_in);
    thread_local std::vector<uint8_t> panels;
    panels.resize(panel_bytes * static_cast<size_t>(n_tokens));
    const uint8_t *packed = panels.data();  // (thread_local: name it outside the parallel region)
    for (int64_t t = 0; t < n_tokens; ++t) v.pack_activations(w.n_in, act.data + t * act.row_bytes, panels.data() + t * panel_bytes);
    GemvJob job{&w, nullptr, &v, packed, y};
    job.n_tokens = static_cast<int>(n_tokens), job.panel_stride = panel_bytes, job.ldy = ldy;
    split_rows(job, n_threads);
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 1) if (n_threads > 1 && job.n_blocks > 1)
    for (int64_t b = 0; b < job.n_blocks; ++b) run_gemv_block(job, b);
}

}  // namespace

void matmul(IsaLevel level, const WeightView &w, const float *x, int64_t ldx, int64_t n_tokens, float *y,
            int64_t ldy, int n_threads) {
    if (n_tokens <= 0 || w.n_out <= 0) return;
    if (n_tokens == 1) return matmul_one_token(level, &w, 1, x, &y, n_threads);
    const IsaKernels &kernels = isa_kernels(level);
    const IsaVecDot &dot = checked_dot(kernels, w);
    const uint32_t id = static_cast<uint32_t>(w.type);
    n_threads = std::max(1, n_threads);
    thread_local std::vector<uint8_t> scratch;
    const Activations act = convert_activations(level, dot.vec_dot_type, x, ldx, w.n_in, n_tokens, n_threads, scratch);
    const IsaGemm &g = kernels.gemm[id];
    const IsaGemv &v = kernels.gemv[id];
    if (n_tokens <= kMaxGemvTokens && v.gemv_multi != nullptr)
        gemv_tokens(w, v, act, n_tokens, y, ldy, n_threads);
    else if (g.gemm != nullptr)
        gemm_packed(w, g, act, n_tokens, y, ldy, n_threads);
    else
        gemm(w, dot, act, n_tokens, y, ldy, n_threads);
}

void matmul_shared_input(const WeightView *w, size_t n, const float *x, int64_t ldx, int64_t n_tokens,
                         float *const *y, const int64_t *ldy, int n_threads) {
    if (n_tokens == 1) return matmul_one_token(active_isa_level(), w, n, x, y, n_threads);
    for (size_t i = 0; i < n; ++i) matmul(w[i], x, ldx, n_tokens, y[i], ldy[i], n_threads);
}

void matmul(const WeightView &w, const float *x, int64_t ldx, int64_t n_tokens, float *y, int64_t ldy,
            int n_threads) {
    matmul(active_isa_level(), w, x, ldx, n_tokens, y, ldy, n_threads);
}

}  // namespace ember::cpu
