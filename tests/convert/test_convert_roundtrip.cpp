// A GGUF model turned back into the Hugging Face files it would come from (safetensors with
// llama.cpp's converter mapping inverted, experts unstacked into one matrix each, the
// tokenizer as tokenizer.json or tokenizer.model, config.json from the hyper-parameters), then
// converted by ember-convert: the result must be the same file — every tensor bit for bit in
// type and shape, and every metadata key with the same value. The models: llama.cpp's
// micro-qwen2 (Qwen2ForCausalLM) and the archs fixtures whose logits the conformance test
// checks (Qwen3ForCausalLM, Qwen3MoeForCausalLM, MixtralForCausalLM), so a converted
// checkpoint gives llama.cpp's logits. Also Gemma2/Gemma3ForCausalLM (norms stored as w - 1)
// and Phi3ForCausalLM (fused qkv_proj/gate_up_proj; LongRoPE factors in config.json).
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

struct Case {
    const char *gguf;     // under ../shared
    const char *hf_arch;  // config.json "architectures"
};

bool mixtral(const Case &c) { return std::string(c.hf_arch) == "MixtralForCausalLM"; }
bool gemma(const Case &c) { return std::string(c.hf_arch).rfind("Gemma", 0) == 0; }
bool phi3(const Case &c) { return std::string(c.hf_arch) == "Phi3ForCausalLM"; }

// GGUF block tensor name -> HF name (after "model.layers.N."); the converter's mapping inverted.
std::string hf_block_name(const std::string &name, const Case &c) {
    static const std::map<std::string, std::string> kBlock = {
        {"attn_norm.weight", "input_layernorm.weight"},  {"attn_q.weight", "self_attn.q_proj.weight"},
        {"attn_k.weight", "self_attn.k_proj.weight"},    {"attn_v.weight", "self_attn.v_proj.weight"},
        {"attn_q.bias", "self_attn.q_proj.bias"},        {"attn_k.bias", "self_attn.k_proj.bias"},
        {"attn_v.bias", "self_attn.v_proj.bias"},        {"attn_output.weight", "self_attn.o_proj.weight"},
        {"attn_q_norm.weight", "self_attn.q_norm.weight"}, {"attn_k_norm.weight", "self_attn.k_norm.weight"},
        {"ffn_norm.weight", "post_attention_layernorm.weight"}, {"ffn_gate.weight", "mlp.gate_proj.weight"},
        {"ffn_up.weight", "mlp.up_proj.weight"},         {"ffn_down.weight", "mlp.down_proj.weight"}};
    if (name == "ffn_gate_inp.weight") return mixtral(c) ? "block_sparse_moe.gate.weight" : "mlp.gate.weight";
    if (gemma(c)) {
        static const std::map<std::string, std::string> kGemma = {
            {"post_attention_norm.weight", "post_attention_layernorm.weight"},
            {"ffn_norm.weight", "pre_feedforward_layernorm.weight"},
            {"post_ffw_norm.weight", "post_feedforward_layernorm.weight"}};
        if (kGemma.count(name)) return kGemma.at(name);
    }
    if (phi3(c)) {
        if (name == "attn_qkv.weight") return "self_attn.qkv_proj.weight";
        if (name == "ffn_up.weight") return "mlp.gate_up_proj.weight";
    }
    return kBlock.at(name);
}

// HF experts of a GGUF *_exps tensor: "...experts.E.<name>.weight".
std::string hf_expert_name(const std::string &layer, const std::string &name, uint64_t e, const Case &c) {
    const std::string base = layer + (mixtral(c) ? "block_sparse_moe.experts." : "mlp.experts.") + std::to_string(e) + ".";
    if (name == "ffn_gate_exps.weight") return base + (mixtral(c) ? "w1" : "gate_proj") + ".weight";
    if (name == "ffn_up_exps.weight") return base + (mixtral(c) ? "w3" : "up_proj") + ".weight";
    return base + (mixtral(c) ? "w2" : "down_proj") + ".weight";
}

// Llama's Q/K rows as HF stores them (rotate-half): the inverse of the converter's permutation.
std::vector<uint8_t> unpermute(const gguf::TensorInfo &t, uint64_t n_heads) {
    const uint64_t row = t.row_bytes(), rows = t.n_rows(), per_head = rows / n_heads;
    std::vector<uint8_t> out(t.n_bytes);
    for (uint64_t r = 0; r < rows; ++r) {  // GGUF row r (head h, pair i, j) came from HF row h*d + j*d/2 + i
        const uint64_t h = r / per_head, within = r % per_head, i = within / 2, j = within % 2;
        std::memcpy(out.data() + (h * per_head + j * (per_head / 2) + i) * row, t.data + r * row, row);
    }
    return out;
}

void write_safetensors(const fs::path &path, const gguf::File &src, const Case &c) {
    struct Entry {
        std::string name;
        std::vector<uint64_t> shape;
        const uint8_t *data;
        uint64_t bytes;
        std::vector<uint8_t> owned;
    };
    std::vector<Entry> entries;
    const std::string arch = src.get_string("general.architecture");
    for (const gguf::TensorInfo &t : src.tensors()) {
        const std::string name(t.name);
        if (name == "rope_factors_long.weight" || name == "rope_factors_short.weight") continue;  // config.json
        // Gemma checkpoints store norm weights as w - 1 (the converter adds the 1 back).
        std::vector<uint8_t> shifted;
        if (gemma(c) && name.size() > 11 && name.compare(name.size() - 11, 11, "norm.weight") == 0) {
            REQUIRE(t.type == TensorType::F32);
            shifted.assign(t.data, t.data + t.n_bytes);
            for (size_t i = 0; i < t.n_bytes / 4; ++i) {
                float v;
                std::memcpy(&v, shifted.data() + 4 * i, 4);
                v -= 1.0f;
                std::memcpy(shifted.data() + 4 * i, &v, 4);
            }
        }
        const uint8_t *data = shifted.empty() ? t.data : shifted.data();
        if (name == "token_embd.weight" || name == "output_norm.weight" || name == "output.weight") {
            const char *hf = name == "token_embd.weight" ? "model.embed_tokens.weight"
                           : name == "output.weight"     ? "lm_head.weight"
                                                         : "model.norm.weight";
            std::vector<uint64_t> shape(t.ne, t.ne + t.n_dims);
            std::reverse(shape.begin(), shape.end());
            entries.push_back({hf, shape, data, t.n_bytes, std::move(shifted)});
            entries.back().data = entries.back().owned.empty() ? t.data : entries.back().owned.data();
            continue;
        }
        const size_t dot = name.find('.', 4);
        const std::string layer = "model.layers." + name.substr(4, dot - 4) + ".";
        const std::string local = name.substr(dot + 1);
        if (t.n_dims == 3) {  // one [rows, cols] matrix per expert
            const uint64_t bytes = t.n_bytes / t.ne[2];
            for (uint64_t e = 0; e < t.ne[2]; ++e)
                entries.push_back({hf_expert_name(layer, local, e, c), {t.ne[1], t.ne[0]}, t.data + e * bytes, bytes, {}});
            continue;
        }
        std::vector<uint64_t> shape(t.ne, t.ne + t.n_dims);
        std::reverse(shape.begin(), shape.end());
        Entry entry{layer + hf_block_name(local, c), shape, data, t.n_bytes, std::move(shifted)};
        if (!entry.owned.empty()) entry.data = entry.owned.data();
        if (arch == "llama" && (local == "attn_q.weight" || local == "attn_k.weight")) {
            const uint32_t heads = src.get_u32(local == "attn_q.weight" ? "llama.attention.head_count" : "llama.attention.head_count_kv");
            entry.owned = unpermute(t, heads);
            entry.data = entry.owned.data();
        }
        entries.push_back(std::move(entry));
    }
    json header = json::object();
    uint64_t offset = 0;
    for (const Entry &e : entries) {
        const bool half = e.bytes == [&] {
            uint64_t n = 1;
            for (uint64_t d : e.shape) n *= d;
            return 2 * n;
        }();
        header[e.name] = {{"dtype", half ? "F16" : "F32"}, {"shape", e.shape}, {"data_offsets", {offset, offset + e.bytes}}};
        offset += e.bytes;
    }
    const std::string text = header.dump();
    std::ofstream f(path, std::ios::binary);
    const uint64_t n = text.size();
    for (int i = 0; i < 8; ++i) f.put(static_cast<char>((n >> (8 * i)) & 0xff));
    f << text;
    for (const Entry &e : entries) f.write(reinterpret_cast<const char *>(e.data), static_cast<std::streamsize>(e.bytes));
}

// Protobuf wire format, enough for a SentencePiece ModelProto.
void varint(std::string &out, uint64_t v) {
    do {
        const auto b = static_cast<uint8_t>(v & 0x7f);
        v >>= 7;
        out.push_back(static_cast<char>(v ? b | 0x80 : b));
    } while (v);
}
void tag(std::string &out, uint32_t field, uint32_t wire) { varint(out, field << 3 | wire); }
void bytes_field(std::string &out, uint32_t field, const std::string &s) {
    tag(out, field, 2);
    varint(out, s.size());
    out += s;
}

// tokenizer.model for a GGUF "llama" (SentencePiece) vocabulary.
void write_sentencepiece(const fs::path &path, const gguf::File &ref) {
    const std::vector<std::string_view> tokens = ref.get_string_array("tokenizer.ggml.tokens");
    const std::vector<float> scores = ref.get_f32_array("tokenizer.ggml.scores");
    const std::vector<int32_t> types = ref.get_i32_array("tokenizer.ggml.token_type");
    std::string model;
    for (size_t i = 0; i < tokens.size(); ++i) {
        std::string piece;
        bytes_field(piece, 1, std::string(tokens[i]));
        tag(piece, 2, 5);
        uint32_t bits;
        std::memcpy(&bits, &scores[i], 4);
        for (int b = 0; b < 4; ++b) piece.push_back(static_cast<char>((bits >> (8 * b)) & 0xff));
        tag(piece, 3, 0);
        varint(piece, static_cast<uint64_t>(types[i]));
        bytes_field(model, 1, piece);
    }
    std::string trainer;
    tag(trainer, 3, 0);
    varint(trainer, 2);  // BPE
    tag(trainer, 35, 0);
    varint(trainer, 1);  // byte_fallback
    const std::pair<uint32_t, const char *> ids[] = {{40, "tokenizer.ggml.unknown_token_id"},
                                                     {41, "tokenizer.ggml.bos_token_id"},
                                                     {42, "tokenizer.ggml.eos_token_id"},
                                                     {43, "tokenizer.ggml.padding_token_id"}};
    for (const auto &[field, key] : ids) {
        tag(trainer, field, 0);
        varint(trainer, ref.has(key) ? ref.get_u32(key) : static_cast<uint64_t>(-1));
    }
    bytes_field(model, 2, trainer);
    std::ofstream(path, std::ios::binary) << model;
}

// tokenizer.json for a GGUF "gpt2" (byte-level BPE, qwen2 pre-tokenizer) vocabulary.
void write_tokenizer_json(const fs::path &path, const gguf::File &ref) {
    const std::vector<std::string_view> tokens = ref.get_string_array("tokenizer.ggml.tokens");
    const std::vector<int32_t> types = ref.get_i32_array("tokenizer.ggml.token_type");
    json vocab = json::object();
    json added = json::array();
    for (size_t i = 0; i < tokens.size(); ++i) {
        const std::string text(tokens[i]);
        if (types[i] == 1) vocab[text] = i;
        else if (types[i] == 3 || types[i] == 4) added.push_back({{"id", i}, {"content", text}, {"special", types[i] == 3}});
    }
    json merges = json::array();
    for (std::string_view m : ref.get_string_array("tokenizer.ggml.merges")) {
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
    std::ofstream(path) << tokenizer.dump();
}

std::vector<float> tensor_floats(const gguf::File &f, const char *name) {
    const gguf::TensorInfo &t = f.tensor(name);
    std::vector<float> v(t.n_elements());
    std::memcpy(v.data(), t.data, v.size() * 4);
    return v;
}

// config.json from the GGUF hyper-parameters.
json hf_config(const gguf::File &ref, const Case &c) {
    const std::string a = ref.get_string("general.architecture") + ".";
    json j = {{"architectures", {c.hf_arch}},
              {"hidden_size", ref.get_u32(a + "embedding_length")},
              {"intermediate_size", ref.get_u32(a + "feed_forward_length")},
              {"num_hidden_layers", ref.get_u32(a + "block_count")},
              {"num_attention_heads", ref.get_u32(a + "attention.head_count")},
              {"num_key_value_heads", ref.get_u32(a + "attention.head_count_kv")},
              {"max_position_embeddings", ref.get_u32(a + "context_length")},
              {"rms_norm_eps", ref.get_f32(a + "attention.layer_norm_rms_epsilon")},
              {"rope_theta", ref.get_f32(a + "rope.freq_base")},
              {"tie_word_embeddings", ref.find_tensor("output.weight") == nullptr},
              {"vocab_size", ref.get_array("tokenizer.ggml.tokens").count}};
    if (ref.has(a + "attention.key_length")) j["head_dim"] = ref.get_u32(a + "attention.key_length");
    for (const char *id : {"bos", "eos"})
        if (ref.has(std::string("tokenizer.ggml.") + id + "_token_id"))
            j[std::string(id) + "_token_id"] = ref.get_u32(std::string("tokenizer.ggml.") + id + "_token_id");
    if (ref.has(a + "attention.sliding_window")) j["sliding_window"] = ref.get_u32(a + "attention.sliding_window");
    if (ref.has(a + "attn_logit_softcapping")) j["attn_logit_softcapping"] = ref.get_f32(a + "attn_logit_softcapping");
    if (ref.has(a + "final_logit_softcapping")) j["final_logit_softcapping"] = ref.get_f32(a + "final_logit_softcapping");
    if (ref.has(a + "rope.freq_base_swa")) j["rope_local_base_freq"] = ref.get_f32(a + "rope.freq_base_swa");
    if (ref.get_string_or(a + "rope.scaling.type", "") == "linear")
        j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", ref.get_f32(a + "rope.scaling.factor")}};
    if (ref.get_string_or(a + "rope.scaling.type", "") == "longrope") {
        j["rope_scaling"] = {{"type", "longrope"},
                             {"long_factor", tensor_floats(ref, "rope_factors_long.weight")},
                             {"short_factor", tensor_floats(ref, "rope_factors_short.weight")}};
        j["original_max_position_embeddings"] = ref.get_u32(a + "rope.scaling.original_context_length");
    }
    if (ref.has(a + "expert_count")) {
        j[mixtral(c) ? "num_local_experts" : "num_experts"] = ref.get_u32(a + "expert_count");
        j["num_experts_per_tok"] = ref.get_u32(a + "expert_used_count");
        if (!mixtral(c)) {
            j["moe_intermediate_size"] = ref.get_u32(a + "expert_feed_forward_length");
            j["norm_topk_prob"] = true;
        }
    }
    return j;
}

// The same value under `key` in both files (arrays element by element).
void check_same_value(const gguf::File &ours, const gguf::File &ref, const std::string &key) {
    INFO(key);
    const gguf::Value &r = *ref.find(key);
    REQUIRE(ours.has(key));
    switch (r.type) {
        case gguf::ValueType::STRING: CHECK(ours.get_string(key) == ref.get_string(key)); break;
        case gguf::ValueType::F32:
        case gguf::ValueType::F64: CHECK(ours.get_f32(key) == ref.get_f32(key)); break;
        case gguf::ValueType::BOOL: CHECK(ours.get_bool(key) == ref.get_bool(key)); break;
        case gguf::ValueType::ARRAY:
            if (r.elem_type == gguf::ValueType::STRING) CHECK(ours.get_string_array(key) == ref.get_string_array(key));
            else if (r.elem_type == gguf::ValueType::F32) CHECK(ours.get_f32_array(key) == ref.get_f32_array(key));
            else CHECK(ours.get_i32_array(key) == ref.get_i32_array(key));
            break;
        default: CHECK(ours.get_u64(key) == ref.get_u64(key)); break;
    }
}

}  // namespace

TEST_CASE("GGUF -> Hugging Face files -> ember-convert gives the same file", "[convert]") {
    const Case cases[] = {{"models/micro-qwen2-F16.gguf", "Qwen2ForCausalLM"},
                          {"archs/models/qwen3-F32.gguf", "Qwen3ForCausalLM"},
                          {"archs/models/qwen3moe-F32.gguf", "Qwen3MoeForCausalLM"},
                          {"archs/models/mixtral-F32.gguf", "MixtralForCausalLM"},
                          {"archs/models/gemma2-F32.gguf", "Gemma2ForCausalLM"},
                          {"archs/models/gemma3-F32.gguf", "Gemma3ForCausalLM"},
                          {"archs/models/phi3-F32.gguf", "Phi3ForCausalLM"},
                          {"archs/models/phi3-128k-F32.gguf", "Phi3ForCausalLM"}};
    for (const Case &c : cases) {
        INFO(c.gguf);
        const auto ref = gguf::File::open(test::shared_path(c.gguf));
        const fs::path dir = test::temp_dir("convert_" + fs::path(c.gguf).stem().string());
        write_safetensors(dir / "model.safetensors", *ref, c);
        const bool spm = ref->get_string("tokenizer.ggml.model") == "llama";
        if (spm) write_sentencepiece(dir / "tokenizer.model", *ref);
        else write_tokenizer_json(dir / "tokenizer.json", *ref);
        json tok_config = {{"bos_token", nullptr}};
        for (const auto &[field, key] : {std::pair<const char *, const char *>{"eos_token", "tokenizer.ggml.eos_token_id"},
                                         {"pad_token", "tokenizer.ggml.padding_token_id"}})
            if (ref->has(key) && (!spm || std::string(field) == "pad_token"))  // SentencePiece has no pad piece of its own
                tok_config[field] = std::string(ref->get_string_array("tokenizer.ggml.tokens")[ref->get_u32(key)]);
        if (ref->has("tokenizer.chat_template")) tok_config["chat_template"] = ref->get_string("tokenizer.chat_template");
        for (const char *key : {"add_bos_token", "add_eos_token"})
            if (ref->has(std::string("tokenizer.ggml.") + key)) tok_config[key] = ref->get_bool(std::string("tokenizer.ggml.") + key);
        std::ofstream(dir / "tokenizer_config.json") << tok_config.dump();
        std::ofstream(dir / "config.json") << hf_config(*ref, c).dump();

        convert::ConvertParams p;
        p.input_dir = dir.string();
        p.output = (dir / "out.gguf").string();
        std::vector<std::string> warnings;
        p.log = [&](const std::string &m) { warnings.push_back(m); };
        const convert::ConvertResult result = convert::convert_hf_model(p);
        CHECK(result.architecture == ref->get_string("general.architecture"));
        CHECK(warnings.empty());

        const auto ours = gguf::File::open(p.output);
        for (const auto &[key, value] : ref->metadata()) {
            (void)value;
            if (key == "general.name" || key == "general.description") continue;
            check_same_value(*ours, *ref, std::string(key));
        }
        REQUIRE(ours->tensors().size() == ref->tensors().size());
        for (const gguf::TensorInfo &r : ref->tensors()) {
            INFO(r.name);
            const gguf::TensorInfo &o = ours->tensor(r.name);
            CHECK(o.type == r.type);
            for (uint32_t d = 0; d < gguf::kMaxDims; ++d) CHECK(o.ne[d] == r.ne[d]);
            REQUIRE(o.n_bytes == r.n_bytes);
            CHECK(std::memcmp(o.data, r.data, o.n_bytes) == 0);
        }
    }
}
