// The add with xsimd at the build's baseline vector width (SSE2 on x86-64, NEON on AArch64);
// row conversions go through the active ISA level.
#include "cpu/ops.h"

#include <xsimd/xsimd.hpp>

#include "core/half.h"
#include "cpu/isa.h"

namespace ember::cpu {

namespace {

using fbatch = xsimd::batch<float>;
constexpr int64_t W = static_cast<int64_t>(fbatch::size);

}  // namespace

void add(const float *a, const float *b, float *out, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W)
        (fbatch::load_unaligned(a + i) + fbatch::load_unaligned(b + i)).store_unaligned(out + i);
    for (; i < n; ++i) out[i] = a[i] + b[i];
}

void fp16_to_fp32_row(const uint16_t *src, float *dst, int64_t n) {
    if (RowConvertFn f = isa_kernels(active_isa_level()).fp16_to_fp32) return f(src, dst, n);
    for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(src[i]);
}

void fp32_to_fp16_row(const float *src, uint16_t *dst, int64_t n) {
    if (RowConvertFn f = isa_kernels(active_isa_level()).fp32_to_fp16) return f(src, dst, n);
    for (int64_t i = 0; i < n; ++i) dst[i] = fp32_to_fp16(src[i]);
}

}  // namespace ember::cpu
