// Facts about every shared GGUF file, read through the public reader API.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <map>

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_shards.h"
#include "support/test_paths.h"

using namespace ember;
namespace fs = std::filesystem;

namespace {
std::vector<std::string> shared_gguf_files(const std::string &dir) {
    std::vector<std::string> files;
    for (const auto &entry : fs::directory_iterator(test::shared_path(dir)))
        if (entry.path().extension() == ".gguf") files.push_back(entry.path().string());
    std::sort(files.begin(), files.end());
    return files;
}
}  // namespace

TEST_CASE("every shared model and vocabulary file parses") {
    const auto models = shared_gguf_files("models");
    const auto vocabs = shared_gguf_files("vocab");
    CHECK(models.size() >= 25);
    CHECK(vocabs.size() >= 11);
    for (const auto &path : models) {
        INFO(path);
        auto f = gguf::File::open(path);
        CHECK(f->version() == 3);
        CHECK(f->get_string("general.architecture").size() > 0);
        CHECK(f->tensors().size() > 0);
        for (const auto &t : f->tensors()) {
            CHECK(t.data >= f->bytes() + f->data_offset());
            CHECK(t.data + t.n_bytes <= f->bytes() + f->size());
        }
    }
    for (const auto &path : vocabs) {
        INFO(path);
        auto f = gguf::File::open(path);
        CHECK(f->tensors().empty());
        CHECK_FALSE(f->get_string("tokenizer.ggml.model").empty());
        CHECK(f->get_string_array("tokenizer.ggml.tokens").size() > 100);
    }
}

TEST_CASE("stories260K: version, tensor and key counts") {
    auto f = gguf::File::open(test::shared_path("models/stories260K.gguf"));
    CHECK(f->version() == 3);
    CHECK(f->tensors().size() == 48);
    CHECK(f->metadata().size() == 19);
    CHECK(f->alignment() == 32);
    CHECK(f->get_string("general.architecture") == "llama");
    CHECK(f->get_u32("llama.embedding_length") == 64);
    CHECK(f->get_u32("llama.block_count") == 5);
    CHECK(f->get_u32("llama.context_length") == 128);
    CHECK(f->get_f32("llama.attention.layer_norm_rms_epsilon") == Approx(1e-5f));
    CHECK(f->get_string_array("tokenizer.ggml.tokens").size() == 512);
    CHECK(f->get_string_array("tokenizer.ggml.tokens")[1] == "<s>");
    CHECK(f->get_f32_array("tokenizer.ggml.scores").size() == 512);
    CHECK(f->get_i32_array("tokenizer.ggml.token_type")[0] == 2);
    const gguf::TensorInfo &emb = f->tensor("token_embd.weight");
    CHECK(emb.type == TensorType::F32);
    CHECK(emb.n_dims == 2);
    CHECK(emb.ne[0] == 64);
    CHECK(emb.ne[1] == 512);
    CHECK(emb.n_bytes == 64 * 512 * 4);
}

TEST_CASE("stories260K-tied has no output.weight") {
    auto f = gguf::File::open(test::shared_path("models/stories260K-tied.gguf"));
    CHECK(f->tensors().size() == 47);
    CHECK(f->find_tensor("output.weight") == nullptr);
}

TEST_CASE("small-llama-Q4_K_M: per-type tensor counts") {
    auto f = gguf::File::open(test::shared_path("models/small-llama-Q4_K_M.gguf"));
    std::map<std::string, int> by_type;
    for (const auto &t : f->tensors()) by_type[tensor_type_name(t.type)]++;
    CHECK(f->tensors().size() == 39);
    CHECK(by_type["Q4_K"] == 25);
    CHECK(by_type["Q6_K"] == 5);
    CHECK(by_type["F32"] == 9);
}

TEST_CASE("pure quantized files hold every 2-D tensor in their type") {
    const std::map<std::string, TensorType> files = {
        {"F16", TensorType::F16},       {"BF16", TensorType::BF16},     {"Q8_0", TensorType::Q8_0},
        {"Q4_0", TensorType::Q4_0},     {"Q4_1", TensorType::Q4_1},     {"Q5_0", TensorType::Q5_0},
        {"Q5_1", TensorType::Q5_1},     {"Q2_K", TensorType::Q2_K},     {"Q3_K_S", TensorType::Q3_K},
        {"Q4_K_S", TensorType::Q4_K},   {"Q5_K_S", TensorType::Q5_K},   {"Q6_K", TensorType::Q6_K},
        {"IQ4_NL", TensorType::IQ4_NL}, {"IQ4_XS", TensorType::IQ4_XS}};
    for (const auto &[suffix, type] : files) {
        INFO(suffix);
        auto f = gguf::File::open(test::shared_path("models/small-llama-pure-" + suffix + ".gguf"));
        CHECK(f->tensors().size() == 39);
        for (const auto &t : f->tensors()) {
            if (t.n_dims == 2) CHECK(t.type == type);
            else CHECK(t.type == TensorType::F32);
        }
        const auto &q = f->tensor("blk.0.attn_q.weight");
        CHECK(q.ne[0] == 256);
        CHECK(q.ne[1] == 256);
    }
}

TEST_CASE("micro-llama3: BPE vocabulary and rope_freqs") {
    auto f = gguf::File::open(test::shared_path("models/micro-llama3-F16.gguf"));
    CHECK(f->get_string("tokenizer.ggml.model") == "gpt2");
    CHECK(f->get_string("tokenizer.ggml.pre") == "llama-bpe");
    CHECK(f->get_string_array("tokenizer.ggml.tokens").size() == 128256);
    CHECK(f->get_string_array("tokenizer.ggml.merges").size() > 100000);
    CHECK(f->find_tensor("rope_freqs.weight") != nullptr);
    CHECK(f->find_tensor("output.weight") == nullptr);
}

TEST_CASE("typed accessors report missing keys and wrong types") {
    auto f = gguf::File::open(test::shared_path("models/stories260K.gguf"));
    CHECK_THROWS_WITH(f->get_u32("no.such.key"), Catch::Contains("no.such.key") && Catch::Contains("missing"));
    CHECK_THROWS_WITH(f->get_string("llama.block_count"), Catch::Contains("expected string"));
    CHECK_THROWS_WITH(f->get_f32("general.name"), Catch::Contains("expected a float"));
    CHECK_THROWS_WITH(f->get_array("general.name"), Catch::Contains("expected array"));
    CHECK_THROWS_WITH(f->get_string_array("tokenizer.ggml.scores"), Catch::Contains("array of f32"));
    // 4294967295 fits u32 but not i32.
    CHECK(f->get_u32("tokenizer.ggml.padding_token_id") == 4294967295u);
    CHECK_THROWS_WITH(f->get_i32("tokenizer.ggml.padding_token_id"), Catch::Contains("out of range"));
    CHECK(f->get_u32_or("no.such.key", 7) == 7);
    CHECK(f->get_string_or("no.such.key", "x") == "x");
    CHECK_THROWS_WITH(f->get_u32_or("general.name", 7), Catch::Contains("expected an integer"));
    CHECK_THROWS_AS(f->tensor("nope.weight"), Error);
}

TEST_CASE("a caller's memory buffer parses like the mapped file") {
    const auto bytes = test::read_file_bytes(test::shared_path("models/stories260K.gguf"));
    auto f = gguf::File::from_buffer(bytes.data(), bytes.size(), "asset");
    CHECK(f->tensors().size() == 48);
    CHECK(f->tensor("output.weight").data == bytes.data() + f->data_offset() + f->tensor("output.weight").offset);
    CHECK_THROWS_WITH(gguf::File::from_buffer(bytes.data(), 10, "asset"), Catch::Contains("asset"));
}
