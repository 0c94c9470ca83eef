// AVX2 + FMA + F16C level: the shared x86 kernels on 256-bit vectors with PMADDUBSW int8 dots.
#include "cpu/avx2/x86_vec_dot.inc"
#include "cpu/avx2/x86_gemm.inc"
#include "cpu/avx2/x86_gemv.inc"
#include "cpu/avx2/x86_half_attention.inc"
#include "cpu/exp_approx_xsimd.inc"

namespace ember::cpu {
void fill_avx2_kernels(IsaKernels &k) {
    fill_x86_kernels(k);
    fill_x86_gemm(k);
    fill_x86_gemv(k);
    k.exp_rows = exp_approx_rows_xsimd<xsimd::fma3<xsimd::avx2>>;  // also the AVX-512 levels'
    fill_x86_half_attention(k);
    fill_avx2_scale_search(k);  // also the AVX-512 levels'
}
}  // namespace ember::cpu
