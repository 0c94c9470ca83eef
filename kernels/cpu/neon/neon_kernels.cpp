// AArch64 Advanced SIMD level (every AArch64 CPU): int8 dots with SMULL + pairwise adds.
#include "cpu/neon/neon_vec_dot.inc"
#include "cpu/neon/neon_gemm.inc"
#include "cpu/neon/neon_half_attention.inc"
#include "cpu/exp_approx_xsimd.inc"

namespace ember::cpu {
void fill_neon_kernels(IsaKernels &k) {
    fill_neon_table(k);
    fill_neon_gemm(k);
    k.exp_rows = exp_approx_rows_xsimd<xsimd::neon64>;  // also the dot-product level's
    fill_neon_half_attention(k);                        // likewise
}
}  // namespace ember::cpu
