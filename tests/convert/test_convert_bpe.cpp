// Qwen2 with a byte-level BPE tokenizer.json: micro-qwen2-F16.gguf (llama.cpp's conversion) is
// turned back into the Hugging Face files it came from (safetensors, tokenizer.json with merges
// as pairs, tokenizer_config.json with the chat template), and converting those must give the
// same tensors, tokens, token types, merges, special ids and pre-tokenizer.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "convert/convert_hf.h"
#include "core/error.h"
#include "gguf/gguf_file.h"
#include "support/test_paths.h"

using namespace ember;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

// GGUF name -> HF name for the Qwen2 tensors (the converter's mapping, inverted by hand).
std::string hf_name(const std::string &gguf) {
    static const std::map<std::string, std::string> kFixed = {
        {"token_embd.weight", "model.embed_tokens.weight"}, {"output_norm.weight", "model.norm.weight"}};
    static const std::map<std::string, std::string> kBlock = {
        {"attn_norm.weight", "input_layernorm.weight"},  {"attn_q.weight", "self_attn.q_proj.weight"},
        {"attn_k.weight", "self_attn.k_proj.weight"},    {"attn_v.weight", "self_attn.v_proj.weight"},
        {"attn_q.bias", "self_attn.q_proj.bias"},        {"attn_k.bias", "self_attn.k_proj.bias"},
        {"attn_v.bias", "self_attn.v_proj.bias"},        {"attn_output.weight", "self_attn.o_proj.weight"},
        {"ffn_norm.weight", "post_attention_layernorm.weight"}, {"ffn_gate.weight", "mlp.gate_proj.weight"},
        {"ffn_up.weight", "mlp.up_proj.weight"},         {"ffn_down.weight", "mlp.down_proj.weight"}};
    if (kFixed.count(gguf)) return kFixed.at(gguf);
    const size_t dot = gguf.find('.', 4);
    return "model.layers." + gguf.substr(4, dot - 4) + "." + kBlock.at(gguf.substr(dot + 1));
}

void write_safetensors(const fs::path &path, const gguf::File &src) {
    json header = json::object();
    uint64_t offset = 0;
    for (const gguf::TensorInfo &t : src.tensors()) {
        std::vector<uint64_t> shape(t.ne, t.ne + t.n_dims);
        std::reverse(shape.begin(), shape.end());
        header[hf_name(std::string(t.name))] = {{"dtype", t.type == TensorType::F16 ? "F16" : "F32"},
                                                {"shape", shape},
                                                {"data_offsets", {offset, offset + t.n_bytes}}};
        offset += t.n_bytes;
    }
    const std::string text = header.dump();
    std::ofstream f(path, std::ios::binary);
    const uint64_t n = text.size();
    for (int i = 0; i < 8; ++i) f.put(static_cast<char>((n >> (8 * i)) & 0xff));
    f << text;
    for (const gguf::TensorInfo &t : src.tensors()) f.write(reinterpret_cast<const char *>(t.data), static_cast<std::streamsize>(t.n_bytes));
}

}  // namespace

TEST_CASE("Qwen2 + tokenizer.json round trip reproduces llama.cpp's micro-qwen2", "[convert]") {
    const auto ref = gguf::File::open(test::shared_path("models/micro-qwen2-F16.gguf"));
    const fs::path dir = test::temp_dir("convert_qwen2");
    write_safetensors(dir / "model.safetensors", *ref);

    const std::vector<std::string_view> tokens = ref->get_string_array("tokenizer.ggml.tokens");
    const std::vector<int32_t> types = ref->get_i32_array("tokenizer.ggml.token_type");
    json vocab = json::object();
    json added = json::array();
    for (size_t i = 0; i < tokens.size(); ++i) {
        const std::string text(tokens[i]);
        if (types[i] == 1) vocab[text] = i;
        else if (types[i] == 3 || types[i] == 4) added.push_back({{"id", i}, {"content", text}, {"special", types[i] == 3}});
    }
    json merges = json::array();
    for (std::string_view m : ref->get_string_array("tokenizer.ggml.merges")) {
        const size_t sp = m.find(' ');
        merges.push_back({std::string(m.substr(0, sp)), std::string(m.substr(sp + 1))});  // the newer pair form
    }
    const std::string qwen2_split =
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    const json tokenizer = {
        {"version", "1.0"},
        {"added_tokens", added},
        {"pre_tokenizer",
         {{"type", "Sequence"},
          {"pretokenizers",
           {{{"type", "Split"}, {"pattern", {{"Regex", qwen2_split}}}, {"behavior", "Isolated"}, {"invert", false}},
            {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}}}}}},
        {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}},
    };
    std::ofstream(dir / "tokenizer.json") << tokenizer.dump();
    const json tok_config = {{"bos_token", nullptr},
                             {"eos_token", "<|endoftext|>"},
                             {"pad_token", "<|endoftext|>"},
                             {"chat_template", ref->get_string("tokenizer.chat_template")}};
    std::ofstream(dir / "tokenizer_config.json") << tok_config.dump();
    const json config = {{"architectures", {"Qwen2ForCausalLM"}}, {"hidden_size", 32}, {"intermediate_size", 96},
                         {"num_hidden_layers", 2}, {"num_attention_heads", 2}, {"num_key_value_heads", 1},
                         {"max_position_embeddings", 2048}, {"rms_norm_eps", 1e-6}, {"rope_theta", 1000000.0},
                         {"tie_word_embeddings", true}, {"vocab_size", tokens.size()}, {"bos_token_id", 151643},
                         {"eos_token_id", 151643}, {"torch_dtype", "float16"}};
    std::ofstream(dir / "config.json") << config.dump();

    convert::ConvertParams p;
    p.input_dir = dir.string();
    p.output = (dir / "out.gguf").string();
    std::vector<std::string> warnings;
    p.log = [&](const std::string &m) { warnings.push_back(m); };
    const convert::ConvertResult result = convert::convert_hf_model(p);
    CHECK(result.architecture == "qwen2");
    CHECK(warnings.empty());

    const auto ours = gguf::File::open(p.output);
    CHECK(ours->get_string("general.architecture") == "qwen2");
    CHECK(ours->get_u32("general.file_type") == 1);  // auto: F16 checkpoint -> F16
    for (const char *key : {"qwen2.context_length", "qwen2.embedding_length", "qwen2.block_count",
                            "qwen2.feed_forward_length", "qwen2.attention.head_count", "qwen2.attention.head_count_kv",
                            "qwen2.rope.dimension_count", "qwen2.vocab_size", "tokenizer.ggml.bos_token_id",
                            "tokenizer.ggml.eos_token_id", "tokenizer.ggml.padding_token_id"}) {
        INFO(key);
        CHECK(ours->get_u32(key) == ref->get_u32(key));
    }
    CHECK(ours->get_f32("qwen2.rope.freq_base") == ref->get_f32("qwen2.rope.freq_base"));
    CHECK(ours->get_f32("qwen2.attention.layer_norm_rms_epsilon") == ref->get_f32("qwen2.attention.layer_norm_rms_epsilon"));
    CHECK(ours->get_string("tokenizer.ggml.model") == "gpt2");
    CHECK(ours->get_string("tokenizer.ggml.pre") == "qwen2");
    CHECK(ours->get_string_array("tokenizer.ggml.tokens") == tokens);
    CHECK(ours->get_i32_array("tokenizer.ggml.token_type") == types);
    CHECK(ours->get_string_array("tokenizer.ggml.merges") == ref->get_string_array("tokenizer.ggml.merges"));
    CHECK(ours->get_string("tokenizer.chat_template") == ref->get_string("tokenizer.chat_template"));
    CHECK_FALSE(ours->has("tokenizer.ggml.scores"));

    REQUIRE(ours->tensors().size() == ref->tensors().size());
    for (const gguf::TensorInfo &r : ref->tensors()) {
        INFO(r.name);
        const gguf::TensorInfo &o = ours->tensor(r.name);
        CHECK(o.type == r.type);
        for (uint32_t d = 0; d < gguf::kMaxDims; ++d) CHECK(o.ne[d] == r.ne[d]);
        REQUIRE(o.n_bytes == r.n_bytes);
        CHECK(std::memcmp(o.data, r.data, o.n_bytes) == 0);  // no Q/K permutation for NEOX rope
    }
}
