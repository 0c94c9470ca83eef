// The StoreKv and Attention ops on the CPU for every KV cache type, against softmax(q·K)·V
// computed in double from the rows the cache actually holds (dequantized): grouped-query
// heads, a causal mask over a shared context, single tokens and batches on both paths (row by
// row and, for F16 / F32 caches, tiled), and a row's result independent of its batch and of
// the thread count.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "backend/cpu/attention.h"
#include "cpu/type_traits.h"
#include "model/kv_cache.h"

using namespace ember;

namespace {

constexpr int64_t kHeads = 4, kKvHeads = 2, kHeadDim = 64, kEmbdKv = kKvHeads * kHeadDim;

struct Cache {
    std::vector<uint8_t> k, v;
    backend::KvLayer layer;
    Cache(model::KvTypes types, int64_t n_cells) {
        uint64_t kb = 0, vb = 0;
        REQUIRE(tensor_row_bytes(types.k, kEmbdKv, &kb));
        REQUIRE(tensor_row_bytes(types.v, kEmbdKv, &vb));
        k.resize(kb * n_cells);
        v.resize(vb * n_cells);
        layer = {k.data(), v.data(), types.k, types.v};
    }
    // Cell c's rows as float, dequantized.
    std::vector<float> row(bool values, int64_t c) const {
        const TensorType t = values ? layer.v_type : layer.k_type;
        const std::vector<uint8_t> &bytes = values ? v : k;
        uint64_t row_bytes = 0;
        tensor_row_bytes(t, kEmbdKv, &row_bytes);
        std::vector<float> out(kEmbdKv);
        cpu::type_traits(t)->dequantize_row(bytes.data() + c * row_bytes, out.data(), kEmbdKv);
        return out;
    }
};

std::vector<float> random(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> v(n);
    for (float &x : v) x = nd(rng);
    return v;
}

// Token t (position n_past + t) sees cells 0 .. n_past + t.
std::vector<float> causal_mask(int64_t n_tokens, int64_t n_past, int64_t n_kv) {
    std::vector<float> m(static_cast<size_t>(n_tokens * n_kv), -INFINITY);
    for (int64_t t = 0; t < n_tokens; ++t)
        for (int64_t c = 0; c <= n_past + t; ++c) m[t * n_kv + c] = 0.0f;
    return m;
}

// The exact attention of token t's heads over the cache's (dequantized) rows.
std::vector<double> reference(const Cache &cache, const float *q, const float *mask, int64_t n_kv, float scale) {
    std::vector<double> out(kHeads * kHeadDim, 0.0);
    for (int64_t h = 0; h < kHeads; ++h) {
        const int64_t g = h / (kHeads / kKvHeads);
        std::vector<double> s(n_kv, -INFINITY);
        double mx = -INFINITY;
        for (int64_t c = 0; c < n_kv; ++c) {
            if (mask[c] == -INFINITY) continue;
            const std::vector<float> k = cache.row(false, c);
            double d = 0.0;
            for (int64_t i = 0; i < kHeadDim; ++i) d += static_cast<double>(q[h * kHeadDim + i]) * k[g * kHeadDim + i];
            s[c] = d * scale;
            mx = std::max(mx, s[c]);
        }
        double sum = 0.0;
        for (int64_t c = 0; c < n_kv; ++c) {
            if (s[c] == -INFINITY) continue;
            const double p = std::exp(s[c] - mx);
            sum += p;
            const std::vector<float> v = cache.row(true, c);
            for (int64_t i = 0; i < kHeadDim; ++i) out[h * kHeadDim + i] += p * v[g * kHeadDim + i];
        }
        for (int64_t i = 0; i < kHeadDim; ++i) out[h * kHeadDim + i] /= sum;
    }
    return out;
}

double relative_error(const float *got, const std::vector<double> &want) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < want.size(); ++i) {
        num += (got[i] - want[i]) * (got[i] - want[i]);
        den += want[i] * want[i];
    }
    return std::sqrt(num / den);
}

}  // namespace

TEST_CASE("attention reads every cache type in place", "[attention]") {
    const int64_t n_past = 60, n_tokens = 70, n_kv = n_past + n_tokens;  // 70 tokens: the tiled path where it exists
    const std::vector<float> k = random(static_cast<size_t>(n_kv * kEmbdKv), 1);
    const std::vector<float> v = random(static_cast<size_t>(n_kv * kEmbdKv), 2);
    const std::vector<float> q = random(static_cast<size_t>(n_tokens * kHeads * kHeadDim), 3);
    AttentionParams a;
    a.n_head = kHeads, a.n_head_kv = kKvHeads, a.head_dim = kHeadDim, a.scale = 1.0f / 8.0f;
    std::vector<int32_t> cells(n_kv);
    for (int64_t c = 0; c < n_kv; ++c) cells[c] = static_cast<int32_t>(c);

    const model::KvTypes cases[] = {
        TensorType::F32,  TensorType::F16,  TensorType::BF16, TensorType::Q8_0, TensorType::Q4_0,
        TensorType::Q4_1, TensorType::IQ4_NL, TensorType::Q5_0, TensorType::Q5_1,
        {TensorType::Q8_0, TensorType::F16}, {TensorType::F16, TensorType::Q4_0}, {TensorType::F32, TensorType::F16}};
    for (const model::KvTypes &types : cases) {
        INFO("K " << tensor_type_name(types.k) << ", V " << tensor_type_name(types.v));
        Cache cache(types, n_kv);
        backend::store_kv(cache.layer, kEmbdKv, k.data(), v.data(), cells.data(), n_kv);

        // The stored rows are the type's quantization of the input.
        const std::vector<float> k0 = cache.row(false, 5);
        double err = 0.0, norm = 0.0;
        for (int64_t i = 0; i < kEmbdKv; ++i) {
            err += (k0[i] - k[5 * kEmbdKv + i]) * (k0[i] - k[5 * kEmbdKv + i]);
            norm += k[5 * kEmbdKv + i] * k[5 * kEmbdKv + i];
        }
        CHECK(std::sqrt(err / norm) < 0.12);  // 4-bit types: about 0.1

        // Queries against the stored rows: within what the query's own conversion costs (F16
        // rounding; Q8_0 / Q8_1 quantization against quantized keys), the accumulator's F16
        // rounding over F16 values, and the tiled path's exp approximation.
        const std::vector<float> mask = causal_mask(n_tokens, n_past, n_kv);
        std::vector<float> batch(static_cast<size_t>(n_tokens * kHeads * kHeadDim));
        backend::attention(a, cache.layer, n_kv, mask.data(), q.data(), batch.data(), n_tokens, 2);
        const bool float_k = types.k == TensorType::F32 || types.k == TensorType::F16;
        for (int64_t t : {int64_t{0}, int64_t{33}, n_tokens - 1}) {
            const std::vector<double> want =
                reference(cache, q.data() + t * kHeads * kHeadDim, mask.data() + t * n_kv, n_kv, a.scale);
            CHECK(relative_error(batch.data() + t * kHeads * kHeadDim, want) < (float_k ? 0.004 : 0.012));
        }

        // One token alone (the row path), on one thread and on three: the same bits each time,
        // and the same bits as in the batch wherever the batch took the row path too.
        const int64_t t = 41;
        std::vector<float> one(kHeads * kHeadDim), three(kHeads * kHeadDim);
        backend::attention(a, cache.layer, n_kv, mask.data() + t * n_kv, q.data() + t * kHeads * kHeadDim, one.data(), 1, 1);
        backend::attention(a, cache.layer, n_kv, mask.data() + t * n_kv, q.data() + t * kHeads * kHeadDim, three.data(), 1, 3);
        CHECK(one == three);
        const bool tiled = types.k == types.v && float_k;
        if (!tiled) CHECK(std::equal(one.begin(), one.end(), batch.begin() + t * kHeads * kHeadDim));
        const std::vector<double> want =
            reference(cache, q.data() + t * kHeads * kHeadDim, mask.data() + t * n_kv, n_kv, a.scale);
        CHECK(relative_error(one.data(), want) < (float_k ? 0.004 : 0.012));
    }
}
