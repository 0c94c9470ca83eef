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
// kGemmTokenBlock tokens. The tokens' packed activations (2-3 bytes per element, ~384 KB at
// n_in = 2048) stay in L2 while the level kernel streams the block's rows past them.
constexpr int64_t kGemmRowBlock = 64;
constexpr int64_t kGemmTokenBlock = 64;

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

void gemv(const WeightView &w, const IsaVecDot &k, const uint8_t *act, float *y, int n_threads) {
    const auto *base = static_cast<const uint8_t *>(w.data);
#pragma omp parallel for num_threads(n_threads) schedule(static) if (n_threads > 1)
    for (int64_t o = 0; o < w.n_out; ++o) k.vec_dot(w.n_in, &y[o], base + o * w.row_stride, act);
}

// The level's GEMV kernel: the token packed once, then blocks of rows (whole row groups) per thread.
void gemv_packed(const WeightView &w, const IsaGemv &g, const uint8_t *act, float *y, int n_threads) {
    thread_local std::vector<uint8_t> panel;
    panel.resize(g.panel_bytes(w.n_in));
    g.pack_activations(w.n_in, act, panel.data());
    const uint8_t *packed = panel.data();  // (thread_local: name it outside the parallel region)
    const auto *base = static_cast<const uint8_t *>(w.data);
    // About 4 blocks per thread, so rows split evenly when a thread lags; one thread reads the
    // matrix in one pass (each block starts its prefetch afresh).
    const int64_t n_groups = (w.n_out + g.row_group - 1) / g.row_group;
    const int64_t groups_per_block =
        n_threads == 1 ? n_groups : std::max<int64_t>(1, n_groups / (4 * static_cast<int64_t>(n_threads)));
    const int64_t block_rows = groups_per_block * g.row_group;
    const int64_t n_blocks = (w.n_out + block_rows - 1) / block_rows;
#pragma omp parallel for num_threads(n_threads) schedule(dynamic, 1) if (n_threads > 1 && n_blocks > 1)
    for (int64_t b = 0; b < n_blocks; ++b) {
        const int64_t o0 = b * block_rows, n_rows = std::min(block_rows, w.n_out - o0);
        g.gemv(w.n_in, base + o0 * static_cast<int64_t>(w.row_stride), w.row_stride, n_rows, packed, y + o0);
    }
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

}  // namespace

void matmul(IsaLevel level, const WeightView &w, const float *x, int64_t ldx, int64_t n_tokens, float *y,
            int64_t ldy, int n_threads) {
    if (n_tokens <= 0 || w.n_out <= 0) return;
    const uint32_t id = static_cast<uint32_t>(w.type);
    const IsaKernels &kernels = isa_kernels(level);
    if (id > kMaxTensorTypeId || kernels.dot[id].vec_dot == nullptr)
        fail(EMBER_ERR_UNSUPPORTED, std::string("matmul: no kernels for weight type ") + tensor_type_name(w.type));
    const IsaVecDot &dot = kernels.dot[id];
    const uint32_t block = tensor_type_info(w.type).block_size;
    if (w.n_in <= 0 || w.n_in % block != 0)
        fail(EMBER_ERR_INVALID_ARGUMENT, std::string("matmul: n_in ") + std::to_string(w.n_in) +
                                             " is not a positive multiple of the " + tensor_type_name(w.type) +
                                             " block size " + std::to_string(block));
    n_threads = std::max(1, n_threads);
    thread_local std::vector<uint8_t> scratch;
    const Activations act = convert_activations(level, dot.vec_dot_type, x, ldx, w.n_in, n_tokens, n_threads, scratch);
    const IsaGemm &g = kernels.gemm[id];
    const IsaGemv &v = kernels.gemv[id];
    if (n_tokens == 1 && v.gemv != nullptr)
        gemv_packed(w, v, act.data, y, n_threads);
    else if (n_tokens == 1)
        gemv(w, dot, act.data, y, n_threads);
    else if (g.gemm != nullptr)
        gemm_packed(w, g, act, n_tokens, y, ldy, n_threads);
    else
        gemm(w, dot, act, n_tokens, y, ldy, n_threads);
}

void matmul(const WeightView &w, const float *x, int64_t ldx, int64_t n_tokens, float *y, int64_t ldy,
            int n_threads) {
    matmul(active_isa_level(), w, x, ldx, n_tokens, y, ldy, n_threads);
}

}  // namespace ember::cpu
