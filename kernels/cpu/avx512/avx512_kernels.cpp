// AVX-512 F/BW/VL level: float dot products on 512-bit vectors; the int8 kernels are the AVX2
// ones compiled with EVEX encodings (32 vector registers).
#define EMBER_X86_AVX512 1
#include "cpu/avx2/x86_vec_dot.inc"
#include "cpu/avx2/x86_gemm.inc"
#include "cpu/avx2/x86_gemv.inc"
#include "cpu/avx2/x86_half_attention.inc"

namespace ember::cpu {
void fill_avx512_kernels(IsaKernels &k) {
    fill_x86_kernels(k);
    fill_x86_gemm(k);
    fill_x86_gemv(k);
    fill_x86_half_attention(k);
}
}  // namespace ember::cpu
