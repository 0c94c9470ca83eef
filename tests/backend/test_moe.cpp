// The MoeFfn op on the CPU against a plain per-token loop: routing (softmax-then-top-k with
// renormalized weights, and top-k-then-softmax), ties to the lower expert, expert biases, and
// a batch grouped by expert giving each token what it gets alone.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "backend/cpu/moe.h"

using namespace ember;

namespace {

constexpr int64_t kEmbd = 32, kFf = 16, kExperts = 6, kUsed = 2;

struct Experts {
    std::vector<float> gate, up, down, gate_b, up_b, down_b;  // [e][out][in], biases [e][out]
    Tensor t[3], b[3];

    explicit Experts(uint32_t seed) {
        std::mt19937 rng(seed);
        std::normal_distribution<float> nd(0.0f, 0.3f);
        auto fill = [&](std::vector<float> &v, size_t n) {
            v.resize(n);
            for (float &x : v) x = nd(rng);
        };
        fill(gate, kExperts * kFf * kEmbd);
        fill(up, kExperts * kFf * kEmbd);
        fill(down, kExperts * kEmbd * kFf);
        fill(gate_b, kExperts * kFf);
        fill(up_b, kExperts * kFf);
        fill(down_b, kExperts * kEmbd);
        matrix(t[0], gate, kEmbd, kFf);
        matrix(t[1], up, kEmbd, kFf);
        matrix(t[2], down, kFf, kEmbd);
        bias(b[0], gate_b, kFf);
        bias(b[1], up_b, kFf);
        bias(b[2], down_b, kEmbd);
    }
    static void matrix(Tensor &t, const std::vector<float> &v, int64_t n_in, int64_t n_out) {
        t.name = "exps";
        t.ne[0] = n_in;
        t.ne[1] = n_out;
        t.ne[2] = kExperts;
        t.row_bytes = static_cast<size_t>(n_in) * sizeof(float);
        t.data = v.data();
    }
    static void bias(Tensor &t, const std::vector<float> &v, int64_t n_out) {
        t.name = "bias";
        t.ne[0] = n_out;
        t.ne[1] = kExperts;
        t.row_bytes = static_cast<size_t>(n_out) * sizeof(float);
        t.data = v.data();
    }
};

Node moe_node(const Experts &w, int64_t n_tokens, ExpertGating gating, bool biases) {
    Node n(OpType::MoeFfn);
    n.n_rows = n_tokens;
    n.n_cols = kEmbd;
    n.moe.n_expert = kExperts;
    n.moe.n_used = kUsed;
    n.moe.gating = gating;
    for (int i = 0; i < 3; ++i) {
        n.experts[i] = &w.t[i];
        n.expert_bias[i] = biases ? &w.b[i] : nullptr;
    }
    return n;
}

// One token through the experts, in double.
std::vector<double> reference(const Experts &w, const float *x, const float *logits, ExpertGating gating, bool biases) {
    std::vector<double> s(logits, logits + kExperts);
    if (gating == ExpertGating::SoftmaxTopK) {
        const double m = *std::max_element(s.begin(), s.end());
        double sum = 0;
        for (double &v : s) sum += (v = std::exp(v - m));
        for (double &v : s) v /= sum;
    }
    std::vector<int> order(kExperts);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return s[a] > s[b]; });
    std::vector<double> wt(kUsed);
    for (int r = 0; r < kUsed; ++r) wt[r] = s[order[r]];
    double sum = 0;
    if (gating == ExpertGating::TopKSoftmax) {
        for (double &v : wt) sum += (v = std::exp(v - s[order[0]]));
    } else {
        for (double v : wt) sum += v;
    }
    for (double &v : wt) v /= sum;

    std::vector<double> out(kEmbd, 0.0);
    for (int r = 0; r < kUsed; ++r) {
        const int e = order[r];
        std::vector<double> h(kFf);
        for (int o = 0; o < kFf; ++o) {
            double g = biases ? w.gate_b[e * kFf + o] : 0, u = biases ? w.up_b[e * kFf + o] : 0;
            for (int i = 0; i < kEmbd; ++i) {
                g += static_cast<double>(w.gate[(e * kFf + o) * kEmbd + i]) * x[i];
                u += static_cast<double>(w.up[(e * kFf + o) * kEmbd + i]) * x[i];
            }
            h[o] = g / (1 + std::exp(-g)) * u;
        }
        for (int o = 0; o < kEmbd; ++o) {
            double y = biases ? w.down_b[e * kEmbd + o] : 0;
            for (int i = 0; i < kFf; ++i) y += static_cast<double>(w.down[(e * kEmbd + o) * kFf + i]) * h[i];
            out[o] += wt[r] * y;
        }
    }
    return out;
}

}  // namespace

TEST_CASE("moe_ffn routes each token to its experts as the reference does", "[backend][moe]") {
    const Experts w(7);
    constexpr int64_t n_tokens = 9;
    std::mt19937 rng(11);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> x(n_tokens * kEmbd), logits(n_tokens * kExperts);
    for (float &v : x) v = nd(rng);
    for (float &v : logits) v = 2.0f * nd(rng);
    // Token 3 ties experts 4 and 1 for first place: the lower index wins, both are used.
    std::fill(logits.begin() + 3 * kExperts, logits.begin() + 4 * kExperts, -1.0f);
    logits[3 * kExperts + 4] = logits[3 * kExperts + 1] = 1.5f;
    // Token 5 ties three experts for second place: expert 0 is chosen.
    std::fill(logits.begin() + 5 * kExperts, logits.begin() + 6 * kExperts, 0.25f);
    logits[5 * kExperts + 2] = 3.0f;

    for (ExpertGating gating : {ExpertGating::SoftmaxTopK, ExpertGating::TopKSoftmax}) {
        for (bool biases : {false, true}) {
            INFO("gating " << static_cast<int>(gating) << " biases " << biases);
            const Node n = moe_node(w, n_tokens, gating, biases);
            std::vector<float> out(n_tokens * kEmbd);
            backend::moe_ffn(n, x.data(), logits.data(), out.data(), 2);
            for (int64_t t = 0; t < n_tokens; ++t) {
                const std::vector<double> ref = reference(w, &x[t * kEmbd], &logits[t * kExperts], gating, biases);
                double err = 0, norm = 0;
                for (int64_t i = 0; i < kEmbd; ++i) {
                    err = std::max(err, std::fabs(out[t * kEmbd + i] - ref[i]));
                    norm = std::max(norm, std::fabs(ref[i]));
                }
                INFO("token " << t);
                CHECK(err <= 1e-5 * std::max(1.0, norm));
                // Alone, the token gets what it got in the batch.
                const Node one = moe_node(w, 1, gating, biases);
                std::vector<float> alone(kEmbd);
                backend::moe_ffn(one, &x[t * kEmbd], &logits[t * kExperts], alone.data(), 1);
                // (F32 experts: on AVX2 the one-token GEMV and the batched GEMM sum in different
                // orders, measured 5e-6 relative apart; the routing itself must not differ.)
                for (int64_t i = 0; i < kEmbd; ++i) CHECK(alone[i] == Approx(out[t * kEmbd + i]).epsilon(2e-5).margin(1e-6));
            }
        }
    }
}
