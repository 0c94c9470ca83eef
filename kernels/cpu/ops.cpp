// Float kernels with xsimd at the build's baseline vector width (SSE2 on x86-64, NEON on
// AArch64): these are a small share of a forward pass next to the weight matmuls, so they stay
// in this one portable translation unit. Row conversions go through the active ISA level.
#include "cpu/ops.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "core/half.h"
#include "cpu/isa.h"

namespace ember::cpu {

namespace {

using fbatch = xsimd::batch<float>;
constexpr int64_t W = static_cast<int64_t>(fbatch::size);

}  // namespace

void rms_norm(const float *x, const float *weight, float *y, int64_t n, float eps) {
    fbatch acc0(0.0f), acc1(0.0f);
    int64_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
        const fbatch a = fbatch::load_unaligned(x + i), b = fbatch::load_unaligned(x + i + W);
        acc0 = xsimd::fma(a, a, acc0);
        acc1 = xsimd::fma(b, b, acc1);
    }
    double sum = static_cast<double>(xsimd::hadd(acc0 + acc1));
    for (; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
    const float s = 1.0f / std::sqrt(static_cast<float>(sum / static_cast<double>(n)) + eps);
    const fbatch vs(s);
    i = 0;
    if (weight != nullptr) {
        for (; i + W <= n; i += W)
            (fbatch::load_unaligned(x + i) * vs * fbatch::load_unaligned(weight + i)).store_unaligned(y + i);
        for (; i < n; ++i) y[i] = x[i] * s * weight[i];
    } else {
        for (; i + W <= n; i += W) (fbatch::load_unaligned(x + i) * vs).store_unaligned(y + i);
        for (; i < n; ++i) y[i] = x[i] * s;
    }
}

void softmax(float *x, int64_t n) {
    if (n <= 0) return;
    float mx = -INFINITY;
    int64_t i = 0;
    if (n >= W) {
        fbatch vmx = fbatch::load_unaligned(x);
        for (i = W; i + W <= n; i += W) vmx = xsimd::max(vmx, fbatch::load_unaligned(x + i));
        alignas(64) float lanes[W];
        vmx.store_aligned(lanes);
        for (int64_t l = 0; l < W; ++l) mx = std::max(mx, lanes[l]);
    }
    for (; i < n; ++i) mx = std::max(mx, x[i]);
    const fbatch vmx(mx);
    fbatch vsum(0.0f);
    for (i = 0; i + W <= n; i += W) {
        const fbatch e = xsimd::exp(fbatch::load_unaligned(x + i) - vmx);
        e.store_unaligned(x + i);
        vsum += e;
    }
    double sum = static_cast<double>(xsimd::hadd(vsum));
    for (; i < n; ++i) {
        x[i] = std::exp(x[i] - mx);
        sum += x[i];
    }
    const float inv = static_cast<float>(1.0 / sum);
    scale(x, inv, n);
}

void swiglu(const float *gate, const float *up, float *out, int64_t n) {
    const fbatch one(1.0f);
    int64_t i = 0;
    for (; i + W <= n; i += W) {
        const fbatch g = fbatch::load_unaligned(gate + i);
        const fbatch silu = g / (one + xsimd::exp(-g));
        (silu * fbatch::load_unaligned(up + i)).store_unaligned(out + i);
    }
    for (; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void add(const float *a, const float *b, float *out, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W)
        (fbatch::load_unaligned(a + i) + fbatch::load_unaligned(b + i)).store_unaligned(out + i);
    for (; i < n; ++i) out[i] = a[i] + b[i];
}

void mul(const float *a, const float *b, float *out, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W)
        (fbatch::load_unaligned(a + i) * fbatch::load_unaligned(b + i)).store_unaligned(out + i);
    for (; i < n; ++i) out[i] = a[i] * b[i];
}

void scale(float *x, float s, int64_t n) {
    const fbatch vs(s);
    int64_t i = 0;
    for (; i + W <= n; i += W) (fbatch::load_unaligned(x + i) * vs).store_unaligned(x + i);
    for (; i < n; ++i) x[i] *= s;
}

void rope(float *x, int64_t n_heads, int64_t head_dim, int64_t n_rot, int64_t pos, float freq_base,
          float freq_scale, const float *freq_factors, RopeStyle style) {
    // cos/sin of each of the n_rot/2 frequencies, shared by every head. theta_i advances by a
    // constant factor base^(-2/n_rot) per pair, computed in float as the reference engine does.
    const int64_t half = n_rot / 2;
    thread_local std::vector<float> cs;
    cs.resize(static_cast<size_t>(2 * half));
    const float theta_scale = std::pow(freq_base, -2.0f / static_cast<float>(n_rot));
    float theta_base = static_cast<float>(pos);
    for (int64_t i = 0; i < half; ++i) {
        const float ff = freq_factors != nullptr ? freq_factors[i] : 1.0f;
        const float theta = freq_scale * (theta_base / ff);
        cs[2 * i] = std::cos(theta);
        cs[2 * i + 1] = std::sin(theta);
        theta_base *= theta_scale;
    }
    for (int64_t h = 0; h < n_heads; ++h) {
        float *v = x + h * head_dim;
        for (int64_t i = 0; i < half; ++i) {
            const float c = cs[2 * i], s = cs[2 * i + 1];
            const int64_t a = style == RopeStyle::Interleaved ? 2 * i : i;
            const int64_t b = style == RopeStyle::Interleaved ? 2 * i + 1 : i + half;
            const float x0 = v[a], x1 = v[b];
            v[a] = x0 * c - x1 * s;
            v[b] = x0 * s + x1 * c;
        }
    }
}

void fp16_to_fp32_row(const uint16_t *src, float *dst, int64_t n) {
    if (RowConvertFn f = isa_kernels(active_isa_level()).fp16_to_fp32) return f(src, dst, n);
    for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(src[i]);
}

void fp32_to_fp16_row(const float *src, uint16_t *dst, int64_t n) {
    if (RowConvertFn f = isa_kernels(active_isa_level()).fp32_to_fp16) return f(src, dst, n);
    for (int64_t i = 0; i < n; ++i) dst[i] = fp32_to_fp16(src[i]);
}

void bf16_to_fp32_row(const uint16_t *src, float *dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(src[i]);
}

void fp32_to_bf16_row(const float *src, uint16_t *dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] = fp32_to_bf16(src[i]);
}

}  // namespace ember::cpu
