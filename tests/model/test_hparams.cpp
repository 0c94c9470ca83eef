// Hyper-parameters from metadata: defaults for optional keys, named errors for the rest.
#include <catch2/catch.hpp>

#include <string>

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "model/hparams.h"
#include "support/test_paths.h"

using namespace ember;

namespace {

gguf::Writer minimal_llama() {
    gguf::Writer w;
    w.set_string("general.architecture", "llama");
    w.set_u32("llama.context_length", 128);
    w.set_u32("llama.embedding_length", 64);
    w.set_u32("llama.block_count", 2);
    w.set_u32("llama.feed_forward_length", 172);
    w.set_u32("llama.attention.head_count", 8);
    w.set_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
    w.set_string_array("tokenizer.ggml.tokens", {"a", "b", "c"});
    return w;
}

model::Hparams parse(const gguf::Writer &w) {
    const std::vector<uint8_t> bytes = w.write_buffer();
    auto f = gguf::File::from_buffer(bytes.data(), bytes.size(), "test.gguf");
    return model::read_hparams(*f);
}

std::string error_of(const gguf::Writer &w) {
    try {
        parse(w);
    } catch (const Error &e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("optional keys take llama.cpp's defaults", "[hparams]") {
    const model::Hparams hp = parse(minimal_llama());
    CHECK(hp.n_head_kv == 8);
    CHECK(hp.head_dim == 8);
    CHECK(hp.n_rot == 8);
    CHECK(hp.rope_freq_base == 10000.0f);
    CHECK(hp.rope_freq_scale == 1.0f);
    CHECK(hp.n_vocab == 3);
    CHECK(hp.rope_kind == RopeKind::Interleaved);
}

TEST_CASE("linear rope scaling and qwen2's neox rotation", "[hparams]") {
    gguf::Writer w = minimal_llama();
    w.set_string("llama.rope.scaling.type", "linear");
    w.set_f32("llama.rope.scaling.factor", 4.0f);
    CHECK(parse(w).rope_freq_scale == 0.25f);

    w.set_string("llama.rope.scaling.type", "yarn");
    CHECK(error_of(w).find("yarn") != std::string::npos);

    const model::Hparams real = model::read_hparams(*gguf::File::open(test::shared_path("models/micro-qwen2-F16.gguf")));
    CHECK(real.arch_name == "qwen2");
    CHECK(real.rope_kind == RopeKind::Neox);
    CHECK(real.rope_freq_base == 1000000.0f);
}

TEST_CASE("missing required keys and unknown architectures are named", "[hparams]") {
    gguf::Writer w = minimal_llama();
    w.remove("llama.block_count");
    const std::string e = error_of(w);
    CHECK(e.find("test.gguf") != std::string::npos);
    CHECK(e.find("llama.block_count") != std::string::npos);

    gguf::Writer eps = minimal_llama();
    eps.remove("llama.attention.layer_norm_rms_epsilon");
    CHECK(error_of(eps).find("layer_norm_rms_epsilon") != std::string::npos);

    gguf::Writer arch = minimal_llama();
    arch.set_string("general.architecture", "mamba");
    CHECK(error_of(arch).find("'mamba'") != std::string::npos);

    gguf::Writer gqa = minimal_llama();
    gqa.set_u32("llama.attention.head_count_kv", 3);
    CHECK(error_of(gqa).find("head_count_kv") != std::string::npos);
}
