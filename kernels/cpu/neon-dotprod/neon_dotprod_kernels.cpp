// AArch64 with the dot-product extension (ARMv8.2 SDOT): four int8 products summed per lane
// in one instruction.
#define EMBER_NEON_DOTPROD 1
#include "cpu/neon/neon_vec_dot.inc"
#include "cpu/neon/neon_gemm.inc"

namespace ember::cpu {
void fill_neon_dotprod_kernels(IsaKernels &k) {
    fill_neon_table(k);
    fill_neon_gemm(k);
}
}  // namespace ember::cpu
