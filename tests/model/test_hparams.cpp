// Hyper-parameters from metadata: defaults for optional keys, named errors for the rest.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "model/hparams.h"
#include "support/test_paths.h"

using namespace ember;

namespace {

gguf::Writer minimal(const std::string &arch, uint32_t n_layer = 2) {
    gguf::Writer w;
    w.set_string("general.architecture", arch);
    w.set_u32(arch + ".context_length", 128);
    w.set_u32(arch + ".embedding_length", 64);
    w.set_u32(arch + ".block_count", n_layer);
    w.set_u32(arch + ".feed_forward_length", 172);
    w.set_u32(arch + ".attention.head_count", 8);
    w.set_f32(arch + ".attention.layer_norm_rms_epsilon", 1e-5f);
    w.set_string_array("tokenizer.ggml.tokens", {"a", "b", "c"});
    return w;
}

gguf::Writer minimal_llama() { return minimal("llama"); }

std::vector<uint8_t> local_layers(const model::Hparams &hp) {
    std::vector<uint8_t> out;
    for (uint32_t i = 0; i < hp.n_layer; ++i) out.push_back(hp.is_swa(i) ? 1 : 0);
    return out;
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

    // YaRN: the factor, the blend on and llama.cpp's default betas unless the file has its own.
    w.set_string("llama.rope.scaling.type", "yarn");
    w.set_f32("llama.rope.scaling.factor", 32.0f);
    const model::Hparams yarn = parse(w);
    CHECK(yarn.rope_freq_scale == 1.0f / 32.0f);
    CHECK(yarn.rope_ext_factor == 1.0f);
    CHECK(yarn.yarn_beta_fast == 32.0f);
    CHECK(yarn.yarn_beta_slow == 1.0f);
    w.set_f32("llama.rope.scaling.yarn_beta_fast", 16.0f);
    CHECK(parse(w).yarn_beta_fast == 16.0f);
    // LongRoPE keeps the frequencies (its factors are tensors) and takes attn_factor.
    w.set_string("llama.rope.scaling.type", "longrope");
    w.remove("llama.rope.scaling.factor");
    w.set_f32("llama.rope.scaling.attn_factor", 1.25f);
    const model::Hparams longrope = parse(w);
    CHECK(longrope.rope_freq_scale == 1.0f);
    CHECK(longrope.rope_ext_factor == 0.0f);
    CHECK(longrope.rope_attn_factor == 1.25f);

    w.set_string("llama.rope.scaling.type", "dynamic-ntk");
    CHECK(error_of(w).find("dynamic-ntk") != std::string::npos);

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

    // A hostile layer count fails before anything is sized by it (the GGUF fuzzer's find:
    // ember-gguf info's estimate allocated per-layer tables of 2^29 entries).
    gguf::Writer layers = minimal_llama();
    layers.set_u32("llama.block_count", 0x20000000u);
    CHECK(error_of(layers).find("block_count 536870912 exceeds 512") != std::string::npos);

    gguf::Writer arch = minimal_llama();
    arch.set_string("general.architecture", "mamba");
    CHECK(error_of(arch).find("'mamba'") != std::string::npos);

    gguf::Writer gqa = minimal_llama();
    gqa.set_u32("llama.attention.head_count_kv", 3);
    CHECK(error_of(gqa).find("head_count_kv") != std::string::npos);
}

TEST_CASE("sliding-window layers: the pattern key, each architecture's default, none without a window", "[hparams]") {
    using L = std::vector<uint8_t>;
    gguf::Writer w = minimal("gemma2", 6);
    CHECK(local_layers(parse(w)) == L{0, 0, 0, 0, 0, 0});  // no attention.sliding_window
    w.set_u32("gemma2.attention.sliding_window", 16);
    const model::Hparams g2 = parse(w);
    CHECK(g2.n_swa == 16);
    CHECK(local_layers(g2) == L{1, 0, 1, 0, 1, 0});  // gemma2: period 2, even layers local
    CHECK(g2.query_scale == Approx(1.0f / std::sqrt(8.0f)));  // 1/sqrt(key_length = 64/8)
    w.set_u32("gemma2.attention.sliding_window_pattern", 3);
    CHECK(local_layers(parse(w)) == L{1, 1, 0, 1, 1, 0});
    w.set_u32("gemma2.attention.sliding_window_pattern", 0);
    CHECK(local_layers(parse(w)) == L{1, 1, 1, 1, 1, 1});
    const uint8_t flags[6] = {0, 1, 1, 0, 0, 1};
    w.set_array("gemma2.attention.sliding_window_pattern", gguf::ValueType::BOOL, flags, 6);
    CHECK(local_layers(parse(w)) == L{0, 1, 1, 0, 0, 1});
    w.set_array("gemma2.attention.sliding_window_pattern", gguf::ValueType::BOOL, flags, 5);
    CHECK(error_of(w).find("one bool per layer") != std::string::npos);

    gguf::Writer g3 = minimal("gemma3", 7);
    g3.set_u32("gemma3.attention.sliding_window", 512);
    g3.set_f32("gemma3.rope.freq_base", 1e6f);
    g3.set_string("gemma3.rope.scaling.type", "linear");
    g3.set_f32("gemma3.rope.scaling.factor", 8.0f);
    const model::Hparams h3 = parse(g3);
    CHECK(local_layers(h3) == L{1, 1, 1, 1, 1, 0, 1});  // period 6
    CHECK(h3.rope_freq_base == 1e6f);
    CHECK(h3.rope_freq_scale == 0.125f);
    CHECK(h3.rope_freq_base_swa == 10000.0f);  // local layers: rope.freq_base_swa, unscaled
    CHECK(h3.rope_freq_scale_swa == 1.0f);

    // phi3 carries a window that llama.cpp ignores; llama never reads one.
    gguf::Writer phi = minimal("phi3", 4);
    phi.set_u32("phi3.attention.sliding_window", 2047);
    CHECK_FALSE(parse(phi).has_swa());

    gguf::Writer oss = minimal("gpt-oss", 4);
    oss.set_u32("gpt-oss.attention.sliding_window", 128);
    CHECK(error_of(oss).find("expert_count") != std::string::npos);
    oss.set_u32("gpt-oss.expert_count", 4);
    oss.set_u32("gpt-oss.expert_used_count", 5);
    CHECK(error_of(oss).find("expert_used_count 5") != std::string::npos);
    oss.set_u32("gpt-oss.expert_used_count", 2);
    CHECK(local_layers(parse(oss)) == L{1, 0, 1, 0});
}
