// Runtime ISA dispatch: which instruction-set level the kernels run at, chosen once per process
// (the best level the CPU supports, or the one EMBER_ISA names), and the kernel table of each
// level. Every level's kernels live in their own translation units (kernels/cpu/<level>/),
// compiled with that level's flags and only ever called after the CPU check below.
#pragma once

#include <string>
#include <vector>

#include "cpu/type_traits.h"

namespace ember::cpu {

enum class IsaLevel {
    Scalar,       // portable C++ (the reference)
    Avx2,         // AVX2 + FMA + F16C
    Avx512,       // AVX-512 F/BW/VL (+ the AVX2 set)
    Avx512Vnni,   // AVX-512 with VNNI int8 dot products
    Neon,         // AArch64 Advanced SIMD
    NeonDotprod,  // AArch64 with the SDOT/UDOT dot-product extension
};

// The EMBER_ISA spelling: "scalar", "avx2", "avx512", "avx512vnni", "neon", "neon-dotprod".
const char *isa_name(IsaLevel level);
// Case-insensitive inverse of isa_name; false for an unknown name.
bool isa_from_name(const std::string &name, IsaLevel *out);

// Kernels for `level` are part of this build (x86 levels on x86-64, NEON levels on AArch64).
bool isa_compiled(IsaLevel level);
// The running CPU can execute `level` (independent of what was compiled).
bool isa_cpu_supports(IsaLevel level);
// Compiled and supported (computed once: the kernel table lookup asks on every matmul).
bool isa_available(IsaLevel level);
// Every available level, from scalar up to the best one.
std::vector<IsaLevel> available_isa_levels();
IsaLevel best_isa_level();

// What EMBER_ISA=value selects: the best level for nullptr or "", else the named level.
// Throws ember::Error (EMBER_ERR_INVALID_ARGUMENT for an unknown name, EMBER_ERR_UNSUPPORTED for
// a level this build or CPU cannot run) with a message naming the level and the CPU features.
IsaLevel resolve_isa_level(const char *value);
// The level every kernel uses: resolve_isa_level(getenv("EMBER_ISA")), computed on the first
// call and fixed for the life of the process (so a bad EMBER_ISA throws from every call).
IsaLevel active_isa_level();

// Per-level kernels.
// out[t] = dot(weights row, activation row t) for t < n_rows (<= kMaxDotRows), activation rows
// `act_stride` bytes apart: one weight row against several tokens, so the weights are loaded
// and unpacked once per group of tokens (the GEMM inner kernel).
constexpr int kMaxDotRows = 4;
using VecDotMultiFn = void (*)(int64_t n, float *out, const void *weights, const void *activations,
                               size_t act_stride, int n_rows);
using RowConvertFn = void (*)(const void *src, void *dst, int64_t n);
using FloatRowFn = void (*)(const float *x, float *y, int64_t n);
using HalfCellsDotFn = void (*)(const float *q, int64_t n_q, const uint16_t *k, int64_t stride, int64_t n,
                                const int32_t *cells, int64_t n_cells, float *dots);
using HalfCellsMadFn = void (*)(const uint16_t *v, int64_t stride, int64_t n, const int32_t *cells,
                                const float *rescale, const float *weight, int64_t n_cells, int64_t n_q, float *acc);

struct IsaVecDot {
    TensorType vec_dot_type;  // the activation format this kernel expects
    VecDotFn vec_dot;
    VecDotMultiFn vec_dot_multi;  // nullable
};

// A level's GEMM micro-kernel for one weight type (gemm == nullptr: none; matmul then uses
// vec_dot_multi). Each token's activation row (in vec_dot_type) is first packed into a
// level-specific panel of panel_bytes(n_in) bytes (int8 values, per-lane scales and, where the
// weights have an offset term, per-lane sums); gemm then computes, on the calling thread,
// y[t * ldy + o] = dot(weight row o, token t) for o < n_rows, t < n_tokens, panels
// `panel_stride` bytes apart. The weight blocks are unpacked to int8 once per tile of rows and
// K-chunk and reused across every token.
struct IsaGemm {
    TensorType vec_dot_type;
    size_t (*panel_bytes)(int64_t n_in);
    void (*pack_activations)(int64_t n_in, const void *act_row, uint8_t *panel);
    void (*gemm)(int64_t n_in, const void *weights, size_t row_stride, int64_t n_rows, const uint8_t *panels,
                 size_t panel_stride, int64_t n_tokens, float *y, int64_t ldy);
};

// A level's GEMV kernel for one weight type (gemv == nullptr: none; matmul then runs vec_dot per
// row): the token's activation row (in vec_dot_type) is packed once into a panel of
// panel_bytes(n_in) bytes, then gemv computes y[o] = dot(weight row o, token) for o < n_rows on
// the calling thread. It reads several rows side by side, so callers split the rows among
// threads in multiples of row_group.
struct IsaGemv {
    TensorType vec_dot_type;
    size_t (*panel_bytes)(int64_t n_in);
    void (*pack_activations)(int64_t n_in, const void *act_row, uint8_t *panel);
    void (*gemv)(int64_t n_in, const void *weights, size_t row_stride, int64_t n_rows, const uint8_t *panel, float *y);
    // A few tokens at once (panels `panel_stride` bytes apart; y[t * ldy + o]), each row's result
    // the same bits as gemv gives it alone; matmul uses it for batches up to kMaxGemvTokens.
    void (*gemv_multi)(int64_t n_in, const void *weights, size_t row_stride, int64_t n_rows, const uint8_t *panels,
                       size_t panel_stride, int n_tokens, float *y, int64_t ldy);
    int64_t row_group;
};
constexpr int64_t kMaxGemvTokens = 16;

// A level's quantizer candidate loops (cpu/scalar/scale_search.h has their meaning): the
// same bits as the references, which complete_kernel_table puts where a level has none.
struct ScaleSearchKernels {
    void (*code_sums)(int n, const float *x, const float *w, float lo, int qmin, int qmax, const float *iscale, int k,
                      double *swq, double *swqq, double *swxq);
    void (*fit_errors)(int n, const float *x, const float *w, float lo, int qmin, int qmax, const float *iscale,
                       const float *d, const float *b, int k, double *err);
    void (*grid_errors)(int n, const float *x, const float *w, int qmin, int qmax, const float *ds, const float *dm,
                        const float *inv, int k, double *err);
    void (*level_sums)(int n, const float *x, const float *w, const int8_t *levels, const float *iscale, int k,
                       double *num, double *den);
};

// A level's kernel table. Every entry agrees with the traits table (type_traits.h): a dot or
// GEMM kernel takes its type's vec_dot_type, and every type with a reference vec_dot has a dot
// entry, the level's own kernel or, where the level has none, the scalar reference (with
// vec_dot_multi nullptr).
struct IsaKernels {
    IsaLevel level;
    IsaVecDot dot[kMaxTensorTypeId + 1];  // indexed by type id; vec_dot == nullptr: no kernels
    IsaGemm gemm[kMaxTensorTypeId + 1];   // indexed by type id; gemm == nullptr: none
    IsaGemv gemv[kMaxTensorTypeId + 1];   // indexed by type id; gemv == nullptr: none
    RowConvertFn fp16_to_fp32;            // uint16 -> float (nullptr: scalar conversion)
    RowConvertFn fp32_to_fp16;            // float -> uint16 (nullptr: scalar conversion)
    FloatRowFn exp_rows;                  // exp_approx of a row (nullptr: exp_approx_rows_scalar)
    HalfCellsDotFn half_cells_dot;        // cpu/ops.h (nullptr: half_cells_dot_scalar)
    HalfCellsMadFn half_cells_mad;        // cpu/ops.h (nullptr: half_cells_mad_scalar)
    ScaleSearchKernels scale_search;      // never null after complete_kernel_table
};

// The kernel table of an available level (throws ember::Error for one that is not available),
// built on first use by the fill_* functions below and then complete_kernel_table.
const IsaKernels &isa_kernels(IsaLevel level);

// Checks a filled table against the traits table and fills the dot entries a level left empty
// with the scalar reference. A kernel for a type without a traits row, or one that expects
// other activations than the row's vec_dot_type, is a bug in that level's registration:
// throws ember::Error (EMBER_ERR_INTERNAL) naming the level, the type and both formats.
void complete_kernel_table(IsaKernels &k);

// Filled in by each level's own translation unit (called only when that level is available):
// they set the entries they accelerate and leave the others untouched.
void fill_avx2_kernels(IsaKernels &k);
void fill_avx2_scale_search(IsaKernels &k);  // its own file: built without contracted FMAs
void fill_avx512_kernels(IsaKernels &k);
void fill_avx512vnni_kernels(IsaKernels &k);
void fill_neon_kernels(IsaKernels &k);
void fill_neon_dotprod_kernels(IsaKernels &k);

}  // namespace ember::cpu
