// KV cache bookkeeping: placement, masks, per-sequence edits and state round trips.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "model/kv_cache.h"

using ember::TensorType;
using ember::model::KvCache;

namespace {
// n layers on the CPU backend.
std::vector<ember::backend::Backend *> cpu_layers(size_t n) {
    static const auto cpu = ember::backend::create_cpu_backend();
    return std::vector<ember::backend::Backend *>(n, cpu.get());
}
}  // namespace

namespace {

bool visible(const std::vector<float> &mask, int64_t n_kv, int64_t t, int64_t c) {
    return mask[static_cast<size_t>(t * n_kv + c)] == 0.0f;
}

}  // namespace

TEST_CASE("cells are taken first-fit and a full cache refuses without changing", "[kv]") {
    KvCache kv(cpu_layers(2), 8, 4, 2, TensorType::F16, 8);
    std::vector<int32_t> cells;
    const int32_t pos[3] = {0, 1, 2}, seq[3] = {0, 0, 0};
    REQUIRE(kv.place(pos, seq, 3, cells));
    CHECK(cells == std::vector<int32_t>{0, 1, 2});
    CHECK(kv.n_used() == 3);
    CHECK_FALSE(kv.place(pos, seq, 2, cells));  // one free cell left
    CHECK(kv.n_used() == 3);

    kv.seq_rm(0, 1, 2);  // frees cell 1
    CHECK(kv.n_used() == 2);
    const int32_t p3[1] = {3}, s0[1] = {0};
    REQUIRE(kv.place(p3, s0, 1, cells));
    CHECK(cells == std::vector<int32_t>{1});
    CHECK(kv.seq_pos_max(0) == 3);
    CHECK(kv.seq_pos_min(0) == 0);
}

TEST_CASE("the mask is causal within a sequence and hides other sequences", "[kv]") {
    KvCache kv(cpu_layers(1), 4, 8, 2, TensorType::F32, 4);
    std::vector<int32_t> cells;
    // Two sequences interleaved in one batch: seq 0 at positions 0,1; seq 1 at 0,1.
    const int32_t pos[4] = {0, 0, 1, 1}, seq[4] = {0, 1, 0, 1};
    REQUIRE(kv.place(pos, seq, 4, cells));
    std::vector<float> mask;
    int64_t n_kv = 0;
    kv.build_mask(pos, seq, 4, mask, n_kv);
    REQUIRE(n_kv == 4);
    // token 2 (seq 0, pos 1) sees cells 0 (seq 0, pos 0) and 2 (itself) only
    CHECK(visible(mask, n_kv, 2, 0));
    CHECK_FALSE(visible(mask, n_kv, 2, 1));
    CHECK(visible(mask, n_kv, 2, 2));
    CHECK_FALSE(visible(mask, n_kv, 2, 3));
    // token 0 (seq 0, pos 0) does not see the future
    CHECK_FALSE(visible(mask, n_kv, 0, 2));
    CHECK(std::isinf(mask[1]));
}

TEST_CASE("seq_cp shares cells, seq_keep and seq_rm drop ownership", "[kv]") {
    KvCache kv(cpu_layers(1), 4, 8, 3, TensorType::F16, 4);
    std::vector<int32_t> cells;
    const int32_t pos[3] = {0, 1, 2}, seq[3] = {0, 0, 0};
    REQUIRE(kv.place(pos, seq, 3, cells));
    kv.seq_cp(0, 1, 0, 2);  // seq 1 shares positions 0 and 1
    CHECK(kv.n_used() == 3);
    CHECK(kv.seq_pos_max(1) == 1);

    std::vector<float> mask;
    int64_t n_kv = 0;
    const int32_t p[1] = {2}, s1[1] = {1};
    kv.build_mask(p, s1, 1, mask, n_kv);
    CHECK(visible(mask, n_kv, 0, 0));
    CHECK(visible(mask, n_kv, 0, 1));
    CHECK_FALSE(visible(mask, n_kv, 0, 2));  // position 2 stayed with seq 0

    kv.seq_rm(0, -1, -1);  // seq 0 gone; the shared cells stay for seq 1
    CHECK(kv.n_used() == 2);
    CHECK(kv.seq_pos_max(0) == -1);
    kv.seq_keep(2);
    CHECK(kv.n_used() == 0);

    CHECK_THROWS_AS(kv.seq_rm(3, 0, -1), ember::Error);
    CHECK_THROWS_AS(kv.seq_cp(0, 5, 0, -1), ember::Error);
}

TEST_CASE("state round trip restores cells and rows", "[kv]") {
    KvCache a(cpu_layers(2), 4, 6, 2, TensorType::F32, 4);
    std::vector<int32_t> cells;
    const int32_t pos[3] = {0, 1, 0}, seq[3] = {0, 0, 1};
    REQUIRE(a.place(pos, seq, 3, cells));
    static_cast<float *>(a.layers()[1].k)[4 * 2 + 3] = 7.5f;  // layer 1, cell 2, value 3
    std::vector<uint8_t> state;
    a.write_state(state);

    KvCache b(cpu_layers(2), 4, 6, 2, TensorType::F32, 4);
    b.read_state(state.data(), state.size());
    CHECK(b.n_used() == 3);
    CHECK(b.seq_pos_max(1) == 0);
    CHECK(static_cast<float *>(b.layers()[1].k)[4 * 2 + 3] == 7.5f);

    KvCache other_type(cpu_layers(2), 4, 6, 2, TensorType::F16, 4);
    CHECK_THROWS_AS(other_type.read_state(state.data(), state.size()), ember::Error);
    CHECK_THROWS_AS(b.read_state(state.data(), state.size() - 1), ember::Error);
}

TEST_CASE("cache parameters are validated", "[kv]") {
    CHECK_THROWS_AS(KvCache(cpu_layers(1), 4, 4, 0, TensorType::F16, 4), ember::Error);
    CHECK_THROWS_AS(KvCache(cpu_layers(1), 4, 4, 65, TensorType::F16, 4), ember::Error);
    CHECK_THROWS_AS(KvCache(cpu_layers(1), 4, 4, 1, TensorType::Q2_K, 4), ember::Error);  // not a cache type
    // A quantized row's blocks must not cross heads: 32-blocks need heads of 32, 64, ...
    CHECK_THROWS_AS(KvCache(cpu_layers(1), 64, 4, 1, TensorType::Q8_0, 16), ember::Error);
    CHECK_THROWS_AS(KvCache(cpu_layers(1), 64, 4, 1, {TensorType::F16, TensorType::Q4_0}, 16), ember::Error);
    CHECK_NOTHROW(KvCache(cpu_layers(1), 64, 4, 1, TensorType::Q8_0, 32));
}

TEST_CASE("K and V rows take their own types", "[kv]") {
    using ember::model::KvTypes;
    // Per cell and layer: 64 values of Q8_0 (2 blocks of 34 bytes) and of Q4_0 (2 of 18).
    KvCache kv(cpu_layers(3), 64, 10, 1, KvTypes{TensorType::Q8_0, TensorType::Q4_0}, 32);
    CHECK(kv.bytes() == 3u * 10u * (68u + 36u));
    CHECK(KvCache::layer_bytes(64, 10, KvTypes{TensorType::BF16, TensorType::F32}) == 10u * (128u + 256u));
    CHECK(kv.layers()[0].k_type == TensorType::Q8_0);
    CHECK(kv.layers()[0].v_type == TensorType::Q4_0);

    // State: each row at its own size; a cache with the types swapped does not take it.
    std::vector<int32_t> cells;
    const int32_t pos[2] = {0, 1}, seq[2] = {0, 0};
    REQUIRE(kv.place(pos, seq, 2, cells));
    static_cast<uint8_t *>(kv.layers()[2].v)[36 + 5] = 0x5a;  // layer 2, cell 1, V byte 5
    std::vector<uint8_t> state;
    kv.write_state(state);
    KvCache same(cpu_layers(3), 64, 10, 1, KvTypes{TensorType::Q8_0, TensorType::Q4_0}, 32);
    same.read_state(state.data(), state.size());
    CHECK(static_cast<uint8_t *>(same.layers()[2].v)[36 + 5] == 0x5a);
    KvCache swapped(cpu_layers(3), 64, 10, 1, KvTypes{TensorType::Q4_0, TensorType::Q8_0}, 32);
    CHECK_THROWS_AS(swapped.read_state(state.data(), state.size()), ember::Error);
}

TEST_CASE("cache type names are llama.cpp's", "[kv]") {
    TensorType t;
    REQUIRE(ember::model::kv_type_from_name("q8_0", &t));
    CHECK(t == TensorType::Q8_0);
    REQUIRE(ember::model::kv_type_from_name("BF16", &t));
    CHECK(t == TensorType::BF16);
    REQUIRE(ember::model::kv_type_from_name("iq4_nl", &t));
    CHECK(t == TensorType::IQ4_NL);
    CHECK_FALSE(ember::model::kv_type_from_name("q4_k", &t));
    CHECK_FALSE(ember::model::kv_type_from_name("f8", &t));
}
