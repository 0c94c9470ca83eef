#include <catch2/catch.hpp>

#include <map>

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "support/test_paths.h"

using namespace ember;

TEST_CASE("stories260K: version, tensor and key counts") {
    auto f = gguf::File::open(test::shared_path("models/stories260K.gguf"));
    CHECK(f->version() == 3);
    CHECK(f->tensors().size() == 48);
    CHECK(f->metadata().size() == 19);
    CHECK(f->get_string("general.architecture") == "llama");
    CHECK(f->get_u32("llama.embedding_length") == 64);
    CHECK(f->get_u32("llama.block_count") == 5);
    CHECK(f->get_string_array("tokenizer.ggml.tokens").size() == 512);
    const gguf::TensorInfo &emb = f->tensor("token_embd.weight");
    CHECK(emb.type == TensorType::F32);
    CHECK(emb.ne[0] == 64);
    CHECK(emb.ne[1] == 512);
    CHECK(emb.n_bytes == 64 * 512 * 4);
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

TEST_CASE("typed accessors report missing keys and wrong types") {
    auto f = gguf::File::open(test::shared_path("models/stories260K.gguf"));
    CHECK_THROWS_WITH(f->get_u32("no.such.key"), Catch::Contains("no.such.key") && Catch::Contains("missing"));
    CHECK_THROWS_WITH(f->get_string("llama.block_count"), Catch::Contains("expected string"));
    CHECK(f->get_u32_or("no.such.key", 7) == 7);
    CHECK_THROWS_AS(f->tensor("nope.weight"), Error);
}
