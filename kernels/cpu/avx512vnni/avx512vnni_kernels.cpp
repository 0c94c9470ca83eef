// AVX-512 with VNNI: as avx512, with VPDPBUSD computing the int8 dot products in one
// instruction (and without PMADDUBSW's int16 saturation).
#define EMBER_X86_AVX512 1
#define EMBER_X86_VNNI 1
#include "cpu/avx2/x86_vec_dot.inc"
#include "cpu/avx2/x86_gemm.inc"
#include "cpu/avx2/x86_gemv.inc"
#include "cpu/avx2/x86_half_attention.inc"

namespace ember::cpu {
void fill_avx512vnni_kernels(IsaKernels &k) {
    fill_x86_kernels(k);
    fill_x86_gemm(k);
    fill_x86_gemv(k);
    fill_x86_half_attention(k);
}
}  // namespace ember::cpu
