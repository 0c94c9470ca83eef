// ember::convert: Hugging Face checkpoints to GGUF. stories260K-hf must reproduce
// stories260K-tied.gguf (llama.cpp's file) tensor for tensor and token for token; synthetic
// checkpoints cover sharding, BF16/F16, Qwen2 with a byte-level BPE tokenizer.json, rope
// scaling, and the errors a user meets (missing files, unsupported architectures, hostile
// safetensors headers).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "convert/convert_hf.h"
#include "convert/safetensors.h"
#include "convert/sentencepiece_model.h"
#include "core/error.h"
#include "core/half.h"
#include "gguf/gguf_file.h"
#include "support/test_paths.h"

using namespace ember;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kHfDir = "models/stories260K-hf";

std::string convert_to(const std::string &dir, const std::string &out, convert::OutType type) {
    convert::ConvertParams p;
    p.input_dir = dir;
    p.output = out;
    p.out_type = type;
    convert::convert_hf_model(p);
    return out;
}

void write_text(const fs::path &path, const std::string &text) {
    std::ofstream f(path, std::ios::binary);
    f << text;
}

struct StEntry {
    std::string name;
    std::string dtype;
    std::vector<uint64_t> shape;
    std::vector<uint8_t> bytes;
};

// A safetensors file: u64 header length, JSON header, data.
void write_safetensors(const fs::path &path, const std::vector<StEntry> &entries) {
    json header = json::object();
    header["__metadata__"] = {{"format", "pt"}};
    uint64_t offset = 0;
    for (const StEntry &e : entries) {
        header[e.name] = {{"dtype", e.dtype}, {"shape", e.shape}, {"data_offsets", {offset, offset + e.bytes.size()}}};
        offset += e.bytes.size();
    }
    const std::string text = header.dump();
    std::ofstream f(path, std::ios::binary);
    const uint64_t n = text.size();
    for (int i = 0; i < 8; ++i) f.put(static_cast<char>((n >> (8 * i)) & 0xff));
    f << text;
    for (const StEntry &e : entries) f.write(reinterpret_cast<const char *>(e.bytes.data()), static_cast<std::streamsize>(e.bytes.size()));
}

// The tensors of the stories260K checkpoint, optionally re-encoded as BF16 (2-D only).
std::vector<StEntry> stories_entries(bool bf16) {
    convert::SafetensorsModel st;
    st.add_file(test::shared_path(kHfDir + "/model.safetensors"));
    std::vector<StEntry> out;
    for (const auto &kv : st.tensors()) {
        const convert::StTensor &t = kv.second;
        StEntry e{t.name, "F32", t.shape, std::vector<uint8_t>(t.data, t.data + t.n_bytes)};
        if (bf16 && t.shape.size() == 2) {
            e.dtype = "BF16";
            e.bytes.resize(t.n_elements() * 2);
            for (uint64_t i = 0; i < t.n_elements(); ++i) {
                const uint16_t h = fp32_to_bf16(t.get(i));
                std::memcpy(e.bytes.data() + 2 * i, &h, 2);
            }
        }
        out.push_back(std::move(e));
    }
    return out;
}

// A copy of stories260K-hf in `dir` with config.json edited by `edit`.
std::string stories_copy(const std::string &name, const std::function<void(json &)> &edit) {
    const fs::path dir = test::temp_dir(name);
    for (const char *f : {"model.safetensors", "tokenizer.model", "tokenizer_config.json", "generation_config.json"}) {
        fs::copy_file(test::shared_path(kHfDir + "/" + f), dir / f);
    }
    std::ifstream in(test::shared_path(kHfDir + "/config.json"));
    json config = json::parse(in);
    edit(config);
    write_text(dir / "config.json", config.dump(2));
    return dir.string();
}

ember_status status_of(const std::function<void()> &f, std::string *message = nullptr) {
    try {
        f();
    } catch (const Error &e) {
        if (message) *message = e.what();
        return e.status();
    }
    return EMBER_OK;
}

void require_same_tokenizer(const gguf::File &a, const gguf::File &b) {
    CHECK(a.get_string_array("tokenizer.ggml.tokens") == b.get_string_array("tokenizer.ggml.tokens"));
    CHECK(a.get_i32_array("tokenizer.ggml.token_type") == b.get_i32_array("tokenizer.ggml.token_type"));
    CHECK(a.get_string("tokenizer.ggml.model") == b.get_string("tokenizer.ggml.model"));
    for (const char *key : {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"}) {
        INFO(key);
        CHECK(a.get_u32(key) == b.get_u32(key));
    }
}

}  // namespace

TEST_CASE("stories260K-hf converts to llama.cpp's stories260K-tied, bit for bit in F32", "[convert]") {
    const std::string out = convert_to(test::shared_path(kHfDir), test::temp_dir("convert_f32") + "/s.gguf", convert::OutType::F32);
    const auto ours = gguf::File::open(out);
    const auto ref = gguf::File::open(test::shared_path("models/stories260K-tied.gguf"));

    REQUIRE(ours->tensors().size() == ref->tensors().size());
    CHECK(ours->find_tensor("output.weight") == nullptr);  // tied: the embedding is the output
    for (const gguf::TensorInfo &r : ref->tensors()) {
        INFO(r.name);
        const gguf::TensorInfo &o = ours->tensor(r.name);
        CHECK(o.type == r.type);
        CHECK(o.n_dims == r.n_dims);
        for (uint32_t d = 0; d < gguf::kMaxDims; ++d) CHECK(o.ne[d] == r.ne[d]);
        REQUIRE(o.n_bytes == r.n_bytes);
        CHECK(std::memcmp(o.data, r.data, o.n_bytes) == 0);  // incl. the Q/K row permutation
    }

    require_same_tokenizer(*ours, *ref);
    CHECK(ours->get_f32_array("tokenizer.ggml.scores") == ref->get_f32_array("tokenizer.ggml.scores"));
    CHECK(ours->get_u32("tokenizer.ggml.unknown_token_id") == ref->get_u32("tokenizer.ggml.unknown_token_id"));
    CHECK(ours->get_bool("tokenizer.ggml.add_bos_token"));
    CHECK_FALSE(ours->get_bool("tokenizer.ggml.add_eos_token"));
    for (const char *key : {"llama.embedding_length", "llama.feed_forward_length", "llama.attention.head_count",
                            "llama.attention.head_count_kv", "llama.block_count", "llama.rope.dimension_count"}) {
        INFO(key);
        CHECK(ours->get_u32(key) == ref->get_u32(key));
    }
    CHECK(ours->get_f32("llama.attention.layer_norm_rms_epsilon") == ref->get_f32("llama.attention.layer_norm_rms_epsilon"));
    CHECK(ours->get_f32("llama.rope.freq_base") == 10000.0f);
    CHECK(ours->get_u32("general.file_type") == 0);
    // The HF config's max_position_embeddings (512); llama2.c's converter wrote its own 128.
    CHECK(ours->get_u32("llama.context_length") == 512);
    CHECK(ref->get_u32("llama.context_length") == 128);
}

TEST_CASE("output types: f16, q8_0 and auto", "[convert]") {
    const auto ref = gguf::File::open(test::shared_path("models/stories260K-tied.gguf"));
    const std::string dir = test::temp_dir("convert_types");

    const auto f16 = gguf::File::open(convert_to(test::shared_path(kHfDir), dir + "/f16.gguf", convert::OutType::F16));
    CHECK(f16->get_u32("general.file_type") == 1);
    for (const gguf::TensorInfo &t : f16->tensors()) {
        INFO(t.name);
        CHECK(t.type == (t.n_dims == 2 ? TensorType::F16 : TensorType::F32));
    }
    const gguf::TensorInfo &wq = f16->tensor("blk.2.attn_q.weight");
    const gguf::TensorInfo &wq_ref = ref->tensor("blk.2.attn_q.weight");
    for (uint64_t i = 0; i < wq.n_elements(); ++i) {
        uint16_t h;
        std::memcpy(&h, wq.data + 2 * i, 2);
        float f;
        std::memcpy(&f, wq_ref.data + 4 * i, 4);
        REQUIRE(h == fp32_to_fp16(f));
    }

    const auto q8 = gguf::File::open(convert_to(test::shared_path(kHfDir), dir + "/q8.gguf", convert::OutType::Q8_0));
    CHECK(q8->get_u32("general.file_type") == 7);
    CHECK(q8->tensor("blk.0.attn_q.weight").type == TensorType::Q8_0);
    CHECK(q8->tensor("blk.0.ffn_down.weight").type == TensorType::F16);  // rows of 172 are not 32-blocks
    CHECK(q8->tensor("blk.0.attn_norm.weight").type == TensorType::F32);

    const auto autot = gguf::File::open(convert_to(test::shared_path(kHfDir), dir + "/auto.gguf", convert::OutType::Auto));
    CHECK(autot->tensor("token_embd.weight").type == TensorType::F32);  // an F32 checkpoint stays F32

    convert::OutType t;
    CHECK(convert::parse_out_type("Q8_0", &t));
    CHECK(t == convert::OutType::Q8_0);
    CHECK_FALSE(convert::parse_out_type("q4_k", &t));
}

TEST_CASE("a sharded BF16 checkpoint converts to BF16 with auto", "[convert]") {
    const fs::path dir = test::temp_dir("convert_sharded");
    for (const char *f : {"config.json", "tokenizer.model", "tokenizer_config.json"}) {
        fs::copy_file(test::shared_path(kHfDir + "/" + f), dir / f);
    }
    const std::vector<StEntry> all = stories_entries(true);
    std::vector<StEntry> a(all.begin(), all.begin() + static_cast<long>(all.size() / 2));
    std::vector<StEntry> b(all.begin() + static_cast<long>(all.size() / 2), all.end());
    write_safetensors(dir / "model-00001-of-00002.safetensors", a);
    write_safetensors(dir / "model-00002-of-00002.safetensors", b);
    json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", json::object()}};
    for (const StEntry &e : a) index["weight_map"][e.name] = "model-00001-of-00002.safetensors";
    for (const StEntry &e : b) index["weight_map"][e.name] = "model-00002-of-00002.safetensors";
    write_text(dir / "model.safetensors.index.json", index.dump());

    const auto out = gguf::File::open(convert_to(dir.string(), dir.string() + "/out.gguf", convert::OutType::Auto));
    const auto ref = gguf::File::open(test::shared_path("models/stories260K-tied.gguf"));
    CHECK(out->get_u32("general.file_type") == 32);
    for (const gguf::TensorInfo &r : ref->tensors()) {
        INFO(r.name);
        const gguf::TensorInfo &o = out->tensor(r.name);
        REQUIRE(o.type == (r.n_dims == 2 ? TensorType::BF16 : TensorType::F32));
        if (o.type != TensorType::BF16) continue;
        for (uint64_t i = 0; i < o.n_elements(); ++i) {
            uint16_t h;
            std::memcpy(&h, o.data + 2 * i, 2);
            float f;
            std::memcpy(&f, r.data + 4 * i, 4);
            REQUIRE(h == fp32_to_bf16(f));
        }
    }

    // An index naming a shard outside the directory is refused, not followed.
    index["weight_map"]["model.norm.weight"] = "../elsewhere.safetensors";
    write_text(dir / "model.safetensors.index.json", index.dump());
    std::string msg;
    CHECK(status_of([&] { convert::SafetensorsModel::open_dir(dir.string()); }, &msg) == EMBER_ERR_BAD_FORMAT);
    CHECK(msg.find("elsewhere") != std::string::npos);
}

TEST_CASE("rope scaling: linear keys and llama3 rope_freqs", "[convert]") {
    const std::string linear = stories_copy("convert_rope_linear", [](json &c) {
        c["rope_scaling"] = {{"type", "linear"}, {"factor", 4.0}};
    });
    const auto lin = gguf::File::open(convert_to(linear, linear + "/out.gguf", convert::OutType::F32));
    CHECK(lin->get_string("llama.rope.scaling.type") == "linear");
    CHECK(lin->get_f32("llama.rope.scaling.factor") == 4.0f);

    // head_dim 8, theta 10000: wavelengths 2*pi*10000^(i/8) for i = 0, 2, 4, 6 are all shorter
    // than 8192/4, so with original context 8192 nothing is scaled; with 64, the longest
    // (6283) exceeds 64/1 and gets the full factor, and 628 lies in the blended band.
    const std::string l3 = stories_copy("convert_rope_llama3", [](json &c) {
        c["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                             {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 64}};
    });
    const auto r3 = gguf::File::open(convert_to(l3, l3 + "/out.gguf", convert::OutType::F32));
    const gguf::TensorInfo &rf = r3->tensor("rope_freqs.weight");
    REQUIRE(rf.type == TensorType::F32);
    REQUIRE(rf.ne[0] == 4);
    const float *f = reinterpret_cast<const float *>(rf.data);
    const double two_pi = 6.283185307179586;
    const double wavelen[4] = {two_pi, two_pi * 10, two_pi * 100, two_pi * 1000};
    for (int i = 0; i < 4; ++i) {
        double expect = 1.0;
        if (wavelen[i] > 64.0) expect = 8.0;
        else if (wavelen[i] >= 16.0) {
            const double smooth = (64.0 / wavelen[i] - 1.0) / 3.0;
            expect = 1.0 / ((1.0 - smooth) / 8.0 + smooth);
        }
        INFO(i);
        CHECK(f[i] == Approx(expect).epsilon(1e-6));
    }
    CHECK(f[0] == 1.0f);
    CHECK(f[3] == 8.0f);
}

TEST_CASE("conversion errors name the problem", "[convert]") {
    std::string msg;
    CHECK(status_of([&] { convert_to("/nonexistent/model", "/tmp/x.gguf", convert::OutType::F32); }, &msg) == EMBER_ERR_NOT_FOUND);
    CHECK(msg.find("/nonexistent/model") != std::string::npos);

    const std::string gemma = stories_copy("convert_bad_arch", [](json &c) { c["architectures"] = {"GemmaForCausalLM"}; });
    CHECK(status_of([&] { convert_to(gemma, gemma + "/o.gguf", convert::OutType::F32); }, &msg) == EMBER_ERR_UNSUPPORTED);
    CHECK(msg.find("GemmaForCausalLM") != std::string::npos);

    const std::string no_tok = stories_copy("convert_no_tokenizer", [](json &) {});
    fs::remove(fs::path(no_tok) / "tokenizer.model");
    CHECK(status_of([&] { convert_to(no_tok, no_tok + "/o.gguf", convert::OutType::F32); }, &msg) == EMBER_ERR_NOT_FOUND);
    CHECK(msg.find("tokenizer.model") != std::string::npos);

    const std::string no_st = stories_copy("convert_no_weights", [](json &) {});
    fs::remove(fs::path(no_st) / "model.safetensors");
    CHECK(status_of([&] { convert_to(no_st, no_st + "/o.gguf", convert::OutType::F32); }, &msg) == EMBER_ERR_NOT_FOUND);
    CHECK(msg.find("safetensors") != std::string::npos);

    const std::string wrong_layers = stories_copy("convert_layers", [](json &c) { c["num_hidden_layers"] = 6; });
    CHECK(status_of([&] { convert_to(wrong_layers, wrong_layers + "/o.gguf", convert::OutType::F32); }, &msg) == EMBER_ERR_NOT_FOUND);
    CHECK(msg.find("model.layers.5.") != std::string::npos);

    // stories260K as a Mixtral: experts that the checkpoint lacks, and a k beyond the experts.
    const std::string no_experts = stories_copy("convert_no_experts", [](json &c) {
        c["architectures"] = {"MixtralForCausalLM"};
        c["num_local_experts"] = 4;
        c["num_experts_per_tok"] = 2;
    });
    CHECK(status_of([&] { convert_to(no_experts, no_experts + "/o.gguf", convert::OutType::F32); }, &msg) == EMBER_ERR_NOT_FOUND);
    CHECK(msg.find("block_sparse_moe.gate.weight") != std::string::npos);
    const std::string too_many = stories_copy("convert_k_too_big", [](json &c) {
        c["architectures"] = {"MixtralForCausalLM"};
        c["num_local_experts"] = 2;
        c["num_experts_per_tok"] = 3;
    });
    CHECK(status_of([&] { convert_to(too_many, too_many + "/o.gguf", convert::OutType::F32); }, &msg) == EMBER_ERR_BAD_FORMAT);
    CHECK(msg.find("num_experts_per_tok 3") != std::string::npos);
    // Qwen3-MoE with dense layers in between is refused, not converted wrongly.
    const std::string dense = stories_copy("convert_qwen3moe_dense", [](json &c) {
        c["architectures"] = {"Qwen3MoeForCausalLM"};
        c["num_experts"] = 4;
        c["num_experts_per_tok"] = 2;
        c["moe_intermediate_size"] = 32;
        c["mlp_only_layers"] = {1};
    });
    CHECK(status_of([&] { convert_to(dense, dense + "/o.gguf", convert::OutType::F32); }, &msg) == EMBER_ERR_UNSUPPORTED);
    CHECK(msg.find("mlp_only_layers") != std::string::npos);
}

TEST_CASE("hostile safetensors headers are rejected", "[convert]") {
    auto file_with = [](const std::string &header, size_t data_bytes) {
        std::string bytes;
        const uint64_t n = header.size();
        for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
        bytes += header;
        bytes.append(data_bytes, '\0');
        return std::vector<uint8_t>(bytes.begin(), bytes.end());
    };
    auto status = [](const std::vector<uint8_t> &bytes) {
        return status_of([&] {
            convert::SafetensorsModel st;
            st.add_buffer(bytes.data(), bytes.size(), "crafted.safetensors");
        });
    };
    CHECK(status(file_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8)) == EMBER_OK);
    CHECK(status({1, 2, 3}) == EMBER_ERR_BAD_FORMAT);
    std::vector<uint8_t> huge = file_with("{}", 0);
    huge[7] = 0x7f;  // header length far past the end
    CHECK(status(huge) == EMBER_ERR_BAD_FORMAT);
    CHECK(status(file_with("{not json", 0)) == EMBER_ERR_BAD_FORMAT);
    CHECK(status(file_with("[1,2]", 0)) == EMBER_ERR_BAD_FORMAT);
    CHECK(status(file_with(std::string(1000, '[') + std::string(1000, ']'), 0)) == EMBER_ERR_BAD_FORMAT);
    CHECK(status(file_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", 8)) == EMBER_ERR_BAD_FORMAT);
    CHECK(status(file_with(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)) == EMBER_ERR_BAD_FORMAT);
    CHECK(status(file_with(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8)) == EMBER_ERR_BAD_FORMAT);
    CHECK(status(file_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8)) == EMBER_ERR_BAD_FORMAT);
    CHECK(status(file_with(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8)) ==
          EMBER_ERR_BAD_FORMAT);
    CHECK(status(file_with(R"({"a":{"dtype":"F32","shape":[2]}})", 8)) == EMBER_ERR_BAD_FORMAT);
    CHECK(status(file_with(R"({"a":7})", 8)) == EMBER_ERR_BAD_FORMAT);
}

TEST_CASE("SentencePiece protobuf reader", "[convert]") {
    const convert::SpmModel m = convert::load_sentencepiece_model(test::shared_path(kHfDir + "/tokenizer.model"));
    REQUIRE(m.pieces.size() == 512);
    CHECK(m.pieces[0].piece == "<unk>");
    CHECK(m.pieces[0].type == 2);
    CHECK(m.pieces[1].type == 3);
    CHECK(m.pieces[3].piece == "<0x00>");
    CHECK(m.pieces[3].type == 6);
    CHECK(m.byte_fallback);
    CHECK(m.add_dummy_prefix);
    CHECK(m.unk_id == 0);
    CHECK(m.bos_id == 1);
    CHECK(m.eos_id == 2);

    // Truncations and a length running past the end fail cleanly at every cut.
    std::vector<uint8_t> bytes = test::read_file_bytes(test::shared_path(kHfDir + "/tokenizer.model"));
    for (size_t cut : {size_t(1), size_t(2), size_t(7), bytes.size() / 2}) {
        std::vector<uint8_t> part(bytes.begin(), bytes.begin() + static_cast<long>(cut));
        try {
            convert::parse_sentencepiece_model(part.data(), part.size(), "cut");
        } catch (const Error &e) {
            CHECK(e.status() == EMBER_ERR_BAD_FORMAT);
        }
    }
    const uint8_t bad_len[] = {0x0a, 0xff, 0xff, 0xff, 0x0f};
    CHECK(status_of([&] { convert::parse_sentencepiece_model(bad_len, sizeof bad_len, "x"); }) == EMBER_ERR_BAD_FORMAT);
}
