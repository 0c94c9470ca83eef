// Writing GGUF: read -> write -> read keeps every key, value and tensor byte; split -> merge
// gives back the original file.
#include <catch2/catch.hpp>

#include <filesystem>

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_shards.h"
#include "gguf/gguf_writer.h"
#include "gguf/shard_writer.h"
#include "support/test_paths.h"

using namespace ember;
using gguf::Value;
using gguf::ValueType;

namespace {

bool same_value(const Value &a, const Value &b) {
    if (a.type != b.type) return false;
    switch (a.type) {
        case ValueType::STRING: return a.str == b.str;
        case ValueType::F32: case ValueType::F64: return a.f64 == b.f64 || (a.f64 != a.f64 && b.f64 != b.f64);
        case ValueType::BOOL: return a.b == b.b;
        case ValueType::ARRAY:
            if (a.elem_type != b.elem_type || a.count != b.count) return false;
            if (a.elem_type == ValueType::STRING) return a.strings == b.strings;
            if (a.elem_type == ValueType::ARRAY) {
                for (uint64_t i = 0; i < a.count; ++i)
                    if (!same_value(a.items[i], b.items[i])) return false;
                return true;
            }
            return std::memcmp(a.raw, b.raw, a.count * gguf::value_type_size(a.elem_type)) == 0;
        default: return a.u64 == b.u64 && a.i64 == b.i64;
    }
}

void require_same(const gguf::File &a, const gguf::File &b) {
    REQUIRE(a.metadata().size() == b.metadata().size());
    for (size_t i = 0; i < a.metadata().size(); ++i) {
        INFO(a.metadata()[i].first);
        CHECK(a.metadata()[i].first == b.metadata()[i].first);
        CHECK(same_value(a.metadata()[i].second, b.metadata()[i].second));
    }
    REQUIRE(a.tensors().size() == b.tensors().size());
    for (size_t i = 0; i < a.tensors().size(); ++i) {
        const auto &ta = a.tensors()[i];
        const auto &tb = b.tensors()[i];
        INFO(ta.name);
        CHECK(ta.name == tb.name);
        CHECK(ta.type == tb.type);
        CHECK(ta.n_dims == tb.n_dims);
        CHECK(std::equal(ta.ne, ta.ne + 4, tb.ne));
        REQUIRE(ta.n_bytes == tb.n_bytes);
        CHECK(std::memcmp(ta.data, tb.data, ta.n_bytes) == 0);
    }
}

}  // namespace

TEST_CASE("read -> write -> read round trip of shared files") {
    for (const char *name : {"models/stories260K.gguf", "models/small-llama-Q4_K_M.gguf", "models/micro-qwen2-F16.gguf",
                             "vocab/ggml-vocab-phi-3.gguf", "vocab/ggml-vocab-llama-bpe.gguf"}) {
        INFO(name);
        auto original = gguf::File::open(test::shared_path(name));
        gguf::Writer w;
        for (const auto &[key, value] : original->metadata()) w.set_value(key, value);
        for (const auto &t : original->tensors()) w.add_tensor(t);
        const std::vector<uint8_t> bytes = w.write_buffer();
        auto again = gguf::File::from_buffer(bytes.data(), bytes.size());
        require_same(*original, *again);
    }
}

TEST_CASE("all 13 value types, nested arrays and a custom alignment round trip") {
    gguf::Writer w;
    w.set_alignment(64);
    w.set_u8("u8", 200);
    w.set_i8("i8", -100);
    w.set_u16("u16", 60000);
    w.set_i16("i16", -30000);
    w.set_u32("u32", 4000000000u);
    w.set_i32("i32", -2000000000);
    w.set_u64("u64", 1ull << 60);
    w.set_i64("i64", -(1ll << 60));
    w.set_f32("f32", 1.5f);
    w.set_f64("f64", -2.25);
    w.set_bool("bool", true);
    w.set_string("string", std::string("with\0nul", 8));
    w.set_string_array("strings", {"a", "", "ccc"});
    const int32_t ints[3] = {1, -2, 3};
    w.set_array("ints", ValueType::I32, ints, 3);
    w.set_u32("u32", 7);  // replaces in place
    const float weights[64] = {1.0f, 2.0f};
    w.add_tensor("w", TensorType::F32, {16, 4}, weights);
    w.add_tensor("lazy", TensorType::F32, {8}, [](uint8_t *dst, uint64_t n) { std::memset(dst, 0x3f, n); });

    const auto bytes = w.write_buffer();
    auto f = gguf::File::from_buffer(bytes.data(), bytes.size());
    CHECK(f->alignment() == 64);
    CHECK(f->data_offset() % 64 == 0);
    CHECK(f->get_u32("u8") == 200);
    CHECK(f->get_i32("i8") == -100);
    CHECK(f->get_u32("u16") == 60000);
    CHECK(f->get_i32("i16") == -30000);
    CHECK(f->get_u32("u32") == 7);
    CHECK(f->metadata()[5].first == "u32");  // kept its position
    CHECK(f->get_i32("i32") == -2000000000);
    CHECK(f->get_u64("u64") == (1ull << 60));
    CHECK(f->find("i64")->i64 == -(1ll << 60));
    CHECK(f->get_f32("f32") == 1.5f);
    CHECK(f->get_f32("f64") == -2.25f);
    CHECK(f->get_bool("bool"));
    CHECK(f->get_string("string") == std::string("with\0nul", 8));
    CHECK(f->get_string_array("strings") == std::vector<std::string_view>{"a", "", "ccc"});
    CHECK(f->get_i32_array("ints") == std::vector<int32_t>{1, -2, 3});
    CHECK(f->tensor("w").offset % 64 == 0);
    CHECK(f->tensor("lazy").offset % 64 == 0);
    CHECK(reinterpret_cast<const float *>(f->tensor("w").data)[1] == 2.0f);
    CHECK(f->tensor("lazy").data[7] == 0x3f);

    // Nested arrays survive a copy through set_value.
    gguf::Writer nested;
    Value inner;
    inner.type = ValueType::ARRAY;
    inner.elem_type = ValueType::I32;
    inner.count = 3;
    inner.raw = reinterpret_cast<const uint8_t *>(ints);
    Value outer;
    outer.type = ValueType::ARRAY;
    outer.elem_type = ValueType::ARRAY;
    outer.count = 2;
    outer.items = {inner, inner};
    nested.set_value("nested", outer);
    const auto nb = nested.write_buffer();
    auto nf = gguf::File::from_buffer(nb.data(), nb.size());
    const Value &got = nf->get_array("nested");
    REQUIRE(got.items.size() == 2);
    CHECK(got.items[1].integer_at(1) == -2);
}

TEST_CASE("writer rejects impossible tensors") {
    gguf::Writer w;
    const float x[4] = {};
    CHECK_THROWS_WITH(w.add_tensor("q", TensorType::Q4_0, {4}, x), Catch::Contains("does not fit type Q4_0"));
    w.add_tensor("a", TensorType::F32, {4}, x);
    CHECK_THROWS_WITH(w.add_tensor("a", TensorType::F32, {4}, x), Catch::Contains("duplicate"));
    CHECK_THROWS_AS(w.set_alignment(48), Error);
}

TEST_CASE("split then merge reproduces the original, and shards open as one model") {
    const std::string dir = test::temp_dir("split");
    const std::string original = test::shared_path("models/stories260K.gguf");
    auto model = gguf::ShardedModel::open(original);

    gguf::SplitLimits by_count;
    by_count.max_tensors = 20;
    const auto paths = gguf::write_split(*model, dir + "/s", by_count);
    REQUIRE(paths.size() == 3);
    CHECK(paths[0] == dir + "/s-00001-of-00003.gguf");

    auto sharded = gguf::ShardedModel::open(paths[0]);
    CHECK(sharded->n_shards() == 3);
    CHECK(sharded->tensors().size() == 48);
    CHECK(sharded->shard(1).metadata().size() == 3);  // only split.* keys after the first
    CHECK(std::memcmp(sharded->tensor("blk.4.ffn_up.weight").data, model->tensor("blk.4.ffn_up.weight").data,
                      model->tensor("blk.4.ffn_up.weight").n_bytes) == 0);

    gguf::write_merged(*sharded, dir + "/merged.gguf");
    CHECK(test::read_file_bytes(dir + "/merged.gguf") == test::read_file_bytes(original));

    gguf::SplitLimits by_size;
    by_size.max_bytes = 300 * 1024;
    const auto sized = gguf::write_split(*model, dir + "/z", by_size);
    CHECK(sized.size() >= 4);  // 1.1 MiB of tensors in shards of at most 300 KiB
    size_t n_tensors = 0;
    for (const std::string &path : sized) {
        auto shard = gguf::File::open(path);
        uint64_t bytes = 0;
        for (const auto &t : shard->tensors()) bytes += t.n_bytes;
        CHECK(bytes <= by_size.max_bytes);
        n_tensors += shard->tensors().size();
    }
    CHECK(n_tensors == 48);

    // Opening a later shard, a missing shard, a mismatched shard list.
    CHECK_THROWS_WITH(gguf::ShardedModel::open(paths[1]), Catch::Contains("open the first shard"));
    CHECK_THROWS_WITH(gguf::ShardedModel::open_shards({paths[0], paths[1]}), Catch::Contains("split.count says 3"));
    CHECK_THROWS_WITH(gguf::ShardedModel::open_shards({paths[0], paths[2], paths[1]}), Catch::Contains("expected shard 2"));
    std::filesystem::remove(paths[2]);
    CHECK_THROWS_WITH(gguf::ShardedModel::open(paths[0]), Catch::Contains("shard 3 of 3"));
    std::filesystem::remove_all(dir);
}

TEST_CASE("shard names") {
    CHECK(gguf::shard_path("out/m", 0, 3) == "out/m-00001-of-00003.gguf");
    std::string prefix;
    uint32_t index = 0, count = 0;
    REQUIRE(gguf::parse_shard_path("a/b-00002-of-00005.gguf", &prefix, &index, &count));
    CHECK(prefix == "a/b");
    CHECK(index == 1);
    CHECK(count == 5);
    CHECK_FALSE(gguf::parse_shard_path("model.gguf", &prefix, &index, &count));
    CHECK_FALSE(gguf::parse_shard_path("m-00006-of-00005.gguf", &prefix, &index, &count));
}

TEST_CASE("a sharded model can be copied out of its mappings") {
    auto model = gguf::ShardedModel::open(test::shared_path("models/stories260K.gguf"));
    const auto bytes = test::read_file_bytes(test::shared_path("models/stories260K.gguf"));
    const auto &before = model->tensor("output.weight");
    std::vector<uint8_t> expect(before.data, before.data + before.n_bytes);
    model->copy_into_memory();
    CHECK(model->metadata().mapping() == nullptr);
    const auto &after = model->tensor("output.weight");
    CHECK(std::vector<uint8_t>(after.data, after.data + after.n_bytes) == expect);
    CHECK(model->tensors().size() == 48);
    CHECK(model->metadata().get_u32("llama.block_count") == 5);
}
