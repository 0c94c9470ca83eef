// AArch64 Advanced SIMD level (every AArch64 CPU): int8 dots with SMULL + pairwise adds.
#include "cpu/neon/neon_vec_dot.inc"
#include "cpu/neon/neon_gemm.inc"

namespace ember::cpu {
void fill_neon_kernels(IsaKernels &k) {
    fill_neon_table(k);
    fill_neon_gemm(k);
}
}  // namespace ember::cpu
