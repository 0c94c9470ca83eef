// AVX2 + FMA + F16C level: the shared x86 kernels on 256-bit vectors with PMADDUBSW int8 dots.
#include "cpu/avx2/x86_vec_dot.inc"
#include "cpu/avx2/x86_gemm.inc"

namespace ember::cpu {
void fill_avx2_kernels(IsaKernels &k) {
    fill_x86_kernels(k);
    fill_x86_gemm(k);
}
}  // namespace ember::cpu
