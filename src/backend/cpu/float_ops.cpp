#include "backend/cpu/float_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/half.h"
#include "cpu/exp_approx.h"

namespace ember::backend {

void rms_norm_row(const float *x, const float *weight, float *y, int64_t n, float eps) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * x[i]);
    const float mean = static_cast<float>(sum / static_cast<double>(n));
    const float scale = 1.0f / std::sqrt(mean + eps);
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * weight[i];
}

namespace {

// cos/sin of each of the n_rot/2 rotation angles at position `pos`: [n_rot/2][2].
void rope_table(const RopeParams &p, const float *freq_factors, int32_t pos, std::vector<float> &cs) {
    const int64_t half = p.n_rot / 2;
    cs.resize(static_cast<size_t>(2 * half));
    const float theta_scale = std::pow(p.freq_base, -2.0f / static_cast<float>(p.n_rot));
    float mscale = p.attn_factor;
    if (p.ext_factor != 0.0f) mscale *= 1.0f + 0.1f * std::log(1.0f / p.freq_scale);
    float theta = static_cast<float>(pos);
    for (int64_t i = 0; i < half; ++i) {
        const float ff = freq_factors != nullptr ? freq_factors[i] : 1.0f;
        const float extrap = theta / ff;
        float angle = p.freq_scale * extrap;
        if (p.ext_factor != 0.0f) {  // YaRN: blend towards the unscaled angle for the fast pairs
            const float y = (static_cast<float>(i) - p.corr_dims[0]) / std::max(0.001f, p.corr_dims[1] - p.corr_dims[0]);
            const float mix = (1.0f - std::min(1.0f, std::max(0.0f, y))) * p.ext_factor;
            angle = angle * (1.0f - mix) + extrap * mix;
        }
        cs[static_cast<size_t>(2 * i)] = std::cos(angle) * mscale;
        cs[static_cast<size_t>(2 * i + 1)] = std::sin(angle) * mscale;
        theta *= theta_scale;
    }
}

EMBER_FMA_CLONES
void rotate_heads(float *v, const float *cs, const RopeParams &p) {
    const int64_t half = p.n_rot / 2;
    const bool neox = p.kind == RopeKind::Neox;
    for (int64_t h = 0; h < p.n_heads; ++h, v += p.head_dim) {
        for (int64_t i = 0; i < half; ++i) {
            const float c = cs[2 * i], s = cs[2 * i + 1];
            float &a = v[neox ? i : 2 * i];
            float &b = v[neox ? i + half : 2 * i + 1];
            const float x0 = a, x1 = b;
            const float x1s = x1 * s, x1c = x1 * c;
            a = std::fma(x0, c, -x1s);
            b = std::fma(x0, s, x1c);
        }
    }
}

}  // namespace

void rope_rows(const float *x, float *out, int64_t n_tokens, int64_t n_cols, const RopeParams &p,
               const int32_t *positions, const float *freq_factors) {
    std::memcpy(out, x, static_cast<size_t>(n_tokens * n_cols) * sizeof(float));
    std::vector<float> cs;
    for (int64_t t = 0; t < n_tokens; ++t) {
        rope_table(p, freq_factors, positions[t], cs);
        rotate_heads(out + t * n_cols, cs.data(), p);
    }
}

EMBER_FMA_CLONES
void swiglu_row(const float *gate, const float *up, float *out, int64_t n) {
    const int64_t n16 = n - n % 16;
    constexpr int64_t kChunk = 256;  // a multiple of 16: one exp call per chunk, not per group
    float e[kChunk];
    for (int64_t i0 = 0; i0 < n16; i0 += kChunk) {
        const int64_t m = std::min(kChunk, n16 - i0);
        for (int64_t i = 0; i < m; ++i) e[i] = 0.0f - gate[i0 + i];
        cpu::exp_approx_rows(e, e, m);
        for (int64_t i = 0; i < m; ++i) out[i0 + i] = gate[i0 + i] / (1.0f + e[i]) * up[i0 + i];
    }
    for (int64_t i = n16; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

namespace {

// GELU (tanh approximation) of every F16 value, rounded to F16 and widened back: llama.cpp's
// CPU backend computes GELU as this table lookup on the F16-rounded input.
const std::vector<float> &gelu_table() {
    static const std::vector<float> table = [] {
        std::vector<float> t(65536);
        for (uint32_t i = 0; i < 65536; ++i) {
            const float x = fp16_to_fp32(static_cast<uint16_t>(i));
            const float inner = 0.79788456080286535587989211986876f * x * (1.0f + 0.044715f * x * x);
            t[i] = fp16_to_fp32(fp32_to_fp16(0.5f * x * (1.0f + std::tanh(inner))));
        }
        return t;
    }();
    return table;
}

}  // namespace

void geglu_row(const float *gate, const float *up, float *out, int64_t n) {
    const std::vector<float> &table = gelu_table();
    for (int64_t i = 0; i < n; ++i) {
        const float x = gate[i];
        if (x <= -10.0f) out[i] = 0.0f;
        else if (x >= 10.0f) out[i] = x * up[i];
        else out[i] = table[fp32_to_fp16(x)] * up[i];
    }
}

void glu_row(Activation act, const float *gate, const float *up, float *out, int64_t n) {
    switch (act) {
        case Activation::Silu: swiglu_row(gate, up, out, n); return;
        case Activation::GeluTanh: geglu_row(gate, up, out, n); return;
        case Activation::SwigluOai:
            for (int64_t i = 0; i < n; ++i) {
                const float g = std::min(gate[i], 7.0f);
                const float u = std::min(std::max(up[i], -7.0f), 7.0f);
                out[i] = g / (1.0f + std::exp(1.702f * (0.0f - g))) * (u + 1.0f);
            }
            return;
    }
}

void softmax_row(float *x, int64_t n) {
    const float max = *std::max_element(x, x + n);
    const int64_t n16 = n - n % 16;
    for (int64_t i = 0; i < n; ++i) x[i] -= max;
    cpu::exp_approx_rows(x, x, n16);
    for (int64_t i = n16; i < n; ++i) x[i] = std::exp(x[i]);
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]);
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace ember::backend
