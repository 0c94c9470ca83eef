#include "convert/convert_hf.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "convert/hf_vocab.h"
#include "convert/safetensors.h"
#include "core/error.h"
#include "core/half.h"
#include "cpu/type_traits.h"
#include "gguf/gguf_writer.h"

namespace ember::convert {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// llama.cpp's file type ids (general.file_type) for the types a conversion writes.
constexpr uint32_t kFileTypeF32 = 0, kFileTypeF16 = 1, kFileTypeQ8_0 = 7, kFileTypeBF16 = 32;
constexpr uint32_t kQuantizationVersion = 2;
constexpr double kPi = 3.14159265358979323846;

const char *const kSupported =
    "LlamaForCausalLM, MistralForCausalLM, MixtralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, Qwen3MoeForCausalLM, "
    "Gemma2ForCausalLM, Gemma3ForCausalLM, Phi3ForCausalLM";

// How a checkpoint lays out its decoder layers.
enum class Layout {
    Llama,  // q/k/v/o projections, input/post-attention norms, gate/up/down (llama, qwen)
    Gemma,  // also post-attention and post-feed-forward norms; norm weights stored as w - 1
    Phi3,   // fused qkv_proj and gate_up_proj
};

// How a checkpoint stores a mixture of experts (the GGUF side is the same for all).
enum class ExpertLayout {
    None,     // a dense mlp
    Mixtral,  // block_sparse_moe.gate, block_sparse_moe.experts.E.{w1 gate, w3 up, w2 down}
    Qwen,     // mlp.gate, mlp.experts.E.{gate_proj, up_proj, down_proj}
};

std::string lower(std::string s) {
    for (char &c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool ends_with(const std::string &s, const std::string &suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// config.json, with errors that name the file and the key.
class Config {
public:
    explicit Config(const fs::path &path) : path_(path.string()) {
        std::error_code ec;
        if (!fs::is_regular_file(path, ec)) fail(EMBER_ERR_NOT_FOUND, path_ + ": no such file (a Hugging Face model directory has a config.json)");
        std::ifstream in(path, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        j_ = json::parse(ss.str(), nullptr, false);
        if (j_.is_discarded() || !j_.is_object()) fail(EMBER_ERR_BAD_FORMAT, path_ + ": not a JSON object");
    }
    const json &json_value() const { return j_; }
    bool has(const char *key) const { return j_.contains(key) && !j_[key].is_null(); }

    uint32_t u32(const char *key) const {
        if (!has(key)) fail(EMBER_ERR_BAD_FORMAT, path_ + ": missing '" + key + "'");
        const json &v = j_[key];
        if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > UINT32_MAX) {
            fail(EMBER_ERR_BAD_FORMAT, path_ + ": '" + key + "' must be a positive integer, got " + v.dump());
        }
        return static_cast<uint32_t>(v.get<int64_t>());
    }
    uint32_t u32_or(const char *key, uint32_t def) const { return has(key) ? u32(key) : def; }
    double number_or(const char *key, double def) const {
        if (!has(key)) return def;
        if (!j_[key].is_number()) fail(EMBER_ERR_BAD_FORMAT, path_ + ": '" + key + "' must be a number, got " + j_[key].dump());
        return j_[key].get<double>();
    }
    bool bool_or(const char *key, bool def) const {
        return has(key) && j_[key].is_boolean() ? j_[key].get<bool>() : def;
    }
    const std::string &path() const { return path_; }

private:
    std::string path_;
    json j_;
};

// What the architectures share; each field is one GGUF key.
struct HParams {
    std::string arch;        // GGUF architecture
    uint32_t n_layer = 0, n_embd = 0, n_ff = 0, n_head = 0, n_head_kv = 0, head_dim = 0;
    uint32_t n_ctx = 0;
    float norm_eps = 1e-5f;
    float rope_theta = 10000.0f;
    bool tied = false;
    bool permute_qk = false; // HF's rotate-half Q/K rows -> GGUF's interleaved pairs (llama only)
    bool qkv_bias = false;   // q/k/v biases required (qwen2)
    bool qk_norm = false;    // per-head q_norm/k_norm (qwen3)
    ExpertLayout experts = ExpertLayout::None;
    uint32_t n_expert = 0, n_expert_used = 0, n_ff_exp = 0;
    Layout layout = Layout::Llama;
    uint32_t sliding_window = 0;             // written where the architecture reads it
    float attn_softcap = 0, final_softcap = 0;  // gemma2
    float rope_theta_swa = 0;                // gemma3's local layers (rope_local_base_freq)
    std::vector<float> longrope_long, longrope_short;  // phi3's LongRoPE factors
    float rope_attn_factor = 0;              // 0: not written
    std::string rope_scaling_type;  // "", "linear", "yarn", "llama3"
    float rope_scaling_factor = 1.0f;
    uint32_t rope_original_ctx = 0;
    float llama3_low_freq_factor = 1.0f, llama3_high_freq_factor = 4.0f;
};

HParams read_hparams(const Config &c, const WarnFn &warn) {
    const json &j = c.json_value();
    std::string hf_arch;
    if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
        j["architectures"][0].is_string()) {
        hf_arch = j["architectures"][0].get<std::string>();
    }
    HParams hp;
    // The qwen architectures use NEOX rope: HF's rotate-half layout is already what they expect.
    if (hf_arch == "LlamaForCausalLM" || hf_arch == "MistralForCausalLM" || hf_arch == "MixtralForCausalLM") {
        hp.arch = "llama";
        hp.permute_qk = true;
        if (hf_arch == "MixtralForCausalLM") hp.experts = ExpertLayout::Mixtral;
    } else if (hf_arch == "Qwen2ForCausalLM") {
        hp.arch = "qwen2";
        hp.qkv_bias = true;
    } else if (hf_arch == "Qwen3ForCausalLM" || hf_arch == "Qwen3MoeForCausalLM") {
        hp.arch = hf_arch == "Qwen3ForCausalLM" ? "qwen3" : "qwen3moe";
        hp.qk_norm = true;
        if (hf_arch == "Qwen3MoeForCausalLM") hp.experts = ExpertLayout::Qwen;
    } else if (hf_arch == "Gemma2ForCausalLM" || hf_arch == "Gemma3ForCausalLM") {
        hp.arch = hf_arch == "Gemma2ForCausalLM" ? "gemma2" : "gemma3";
        hp.layout = Layout::Gemma;
        hp.qk_norm = hf_arch == "Gemma3ForCausalLM";
    } else if (hf_arch == "Phi3ForCausalLM") {
        hp.arch = "phi3";
        hp.layout = Layout::Phi3;
    } else {
        fail(EMBER_ERR_UNSUPPORTED, c.path() + ": unsupported architecture '" + (hf_arch.empty() ? std::string("(none)") : hf_arch) +
                                        "' (supported: " + kSupported + ")");
    }
    hp.n_layer = c.u32("num_hidden_layers");
    hp.n_embd = c.u32("hidden_size");
    hp.n_ff = c.u32("intermediate_size");
    hp.n_head = c.u32("num_attention_heads");
    hp.n_head_kv = c.u32_or("num_key_value_heads", hp.n_head);
    hp.head_dim = c.u32_or("head_dim", hp.n_embd / hp.n_head);
    if (hp.n_head % hp.n_head_kv != 0) {
        fail(EMBER_ERR_BAD_FORMAT, c.path() + ": num_attention_heads " + std::to_string(hp.n_head) +
                                       " is not a multiple of num_key_value_heads " + std::to_string(hp.n_head_kv));
    }
    hp.n_ctx = c.u32_or("max_position_embeddings", 0);
    if (!hp.n_ctx) hp.n_ctx = c.u32_or("n_positions", 2048);
    hp.norm_eps = static_cast<float>(c.number_or("rms_norm_eps", 1e-5));
    hp.rope_theta = static_cast<float>(c.number_or("rope_theta", 10000.0));
    hp.tied = c.bool_or("tie_word_embeddings", hp.layout == Layout::Gemma);  // Gemma's configs default to tied
    if (hp.layout != Layout::Llama) hp.sliding_window = c.u32_or("sliding_window", 0);
    if (hp.arch == "gemma2") {
        hp.attn_softcap = static_cast<float>(c.number_or("attn_logit_softcapping", 0.0));
        hp.final_softcap = static_cast<float>(c.number_or("final_logit_softcapping", 0.0));
    }
    if (hp.arch == "gemma3") hp.rope_theta_swa = static_cast<float>(c.number_or("rope_local_base_freq", 10000.0));
    if (hp.experts == ExpertLayout::Mixtral) {
        hp.n_expert = c.u32("num_local_experts");
        hp.n_ff_exp = hp.n_ff;
    } else if (hp.experts == ExpertLayout::Qwen) {
        hp.n_expert = c.u32("num_experts");
        hp.n_ff_exp = c.u32("moe_intermediate_size");
        // Every layer must be a mixture: Ember's qwen3moe has no dense layers in between.
        const bool dense_layers = (j.contains("mlp_only_layers") && j["mlp_only_layers"].is_array() &&
                                   !j["mlp_only_layers"].empty()) ||
                                  c.u32_or("decoder_sparse_step", 1) != 1;
        if (dense_layers)
            fail(EMBER_ERR_UNSUPPORTED, c.path() + ": dense layers between the expert layers (mlp_only_layers, "
                                                   "decoder_sparse_step) are not supported");
        if (!c.bool_or("norm_topk_prob", true))
            fail(EMBER_ERR_UNSUPPORTED, c.path() + ": norm_topk_prob false (unnormalized expert weights) is not supported");
    }
    if (hp.experts != ExpertLayout::None) {
        hp.n_expert_used = c.u32("num_experts_per_tok");
        if (hp.n_expert_used > hp.n_expert)
            fail(EMBER_ERR_BAD_FORMAT, c.path() + ": num_experts_per_tok " + std::to_string(hp.n_expert_used) +
                                           " exceeds the " + std::to_string(hp.n_expert) + " experts");
    }

    if (c.has("rope_scaling")) {
        const json &rs = j["rope_scaling"];
        if (!rs.is_object()) fail(EMBER_ERR_BAD_FORMAT, c.path() + ": 'rope_scaling' is not an object");
        std::string type = rs.value("rope_type", rs.value("type", std::string()));
        const double factor = rs.contains("factor") && rs["factor"].is_number() ? rs["factor"].get<double>() : 1.0;
        hp.rope_scaling_factor = static_cast<float>(factor);
        if (type == "linear" || type == "yarn") {
            hp.rope_scaling_type = type;
            if (rs.contains("original_max_position_embeddings") && rs["original_max_position_embeddings"].is_number_integer()) {
                hp.rope_original_ctx = rs["original_max_position_embeddings"].get<uint32_t>();
            }
        } else if (type == "llama3") {
            hp.rope_scaling_type = type;
            hp.llama3_low_freq_factor = static_cast<float>(rs.value("low_freq_factor", 1.0));
            hp.llama3_high_freq_factor = static_cast<float>(rs.value("high_freq_factor", 4.0));
            hp.rope_original_ctx = rs.value("original_max_position_embeddings", 8192u);
            if (hp.llama3_high_freq_factor <= hp.llama3_low_freq_factor) {
                fail(EMBER_ERR_BAD_FORMAT, c.path() + ": llama3 rope_scaling needs high_freq_factor > low_freq_factor");
            }
        } else if (hp.layout == Layout::Phi3 && (type == "longrope" || type == "su")) {
            // Per-frequency divisors for long and short contexts, and cos/sin grown by
            // sqrt(1 + ln(scale) / ln(original context)) for the context scale (as llama.cpp).
            auto factors = [&](const char *key) {
                std::vector<float> v;
                if (rs.contains(key) && rs[key].is_array())
                    for (const json &x : rs[key])
                        if (x.is_number()) v.push_back(static_cast<float>(x.get<double>()));
                if (v.size() != hp.head_dim / 2)
                    fail(EMBER_ERR_BAD_FORMAT, c.path() + ": rope_scaling." + key + " must hold " +
                                                   std::to_string(hp.head_dim / 2) + " numbers");
                return v;
            };
            hp.rope_scaling_type = "longrope";
            hp.longrope_long = factors("long_factor");
            hp.longrope_short = factors("short_factor");
            hp.rope_original_ctx = c.u32("original_max_position_embeddings");
            const double scale = static_cast<double>(hp.n_ctx) / hp.rope_original_ctx;
            hp.rope_attn_factor = scale > 1.0 ? static_cast<float>(std::sqrt(1.0 + std::log(scale) / std::log(static_cast<double>(hp.rope_original_ctx)))) : 1.0f;
        } else if (type == "default" || type.empty()) {
        } else {
            warn("rope_scaling type '" + type + "' is not converted; the model will use plain RoPE");
        }
    }
    return hp;
}

// Llama 3's per-frequency RoPE divisors (rope_freqs.weight, head_dim/2 floats): long
// wavelengths are stretched by `factor`, short ones kept, and the band between blended.
std::vector<float> llama3_rope_factors(const HParams &hp) {
    const double old_ctx = hp.rope_original_ctx;
    const double low_wavelen = old_ctx / hp.llama3_low_freq_factor;
    const double high_wavelen = old_ctx / hp.llama3_high_freq_factor;
    std::vector<float> factors;
    for (uint32_t i = 0; i < hp.head_dim; i += 2) {
        const double freq = 1.0 / std::pow(static_cast<double>(hp.rope_theta), static_cast<double>(i) / hp.head_dim);
        const double wavelen = 2.0 * kPi / freq;
        double f = 1.0;
        if (wavelen > low_wavelen) {
            f = hp.rope_scaling_factor;
        } else if (wavelen >= high_wavelen) {
            const double smooth = (old_ctx / wavelen - hp.llama3_low_freq_factor) /
                                  (hp.llama3_high_freq_factor - hp.llama3_low_freq_factor);
            f = 1.0 / ((1.0 - smooth) / hp.rope_scaling_factor + smooth);
        }
        factors.push_back(static_cast<float>(f));
    }
    return factors;
}

TensorType source_type(const StTensor &t) {
    switch (t.dtype) {
        case StDtype::F16: return TensorType::F16;
        case StDtype::BF16: return TensorType::BF16;
        case StDtype::F32: return TensorType::F32;
        default: fail(EMBER_ERR_UNSUPPORTED, t.file + ": tensor '" + t.name + "' has dtype " + t.dtype_name + " (only F32, F16 and BF16 convert)");
    }
}

// One output tensor: where its rows come from and how they are reordered.
struct Item {
    ConvertedTensor info;
    std::vector<const StTensor *> srcs;  // their rows one after another (experts stacked); empty: `computed`
    std::vector<float> computed;
    uint32_t permute_heads = 0;      // >0: rows regrouped per head (Q/K rotary layout)
    float add = 0.0f;                // added to every value (Gemma's norms), rounded as the source
    // The layout produce() walks: n_rows rows of row_len values. A 1-D tensor is one row,
    // except a permuted bias, which is n rows of one value so that its rows move like the
    // matrix rows they belong to.
    uint64_t row_len = 0, n_rows = 1;
};

// Output row r of a permuted Q/K matrix comes from source row permuted_source_row(r): GGUF
// interleaves each head's rotary pairs (x0, x_{d/2}), (x1, x_{d/2+1}), ... that HF keeps in two
// halves. Rows: n_heads x head_dim; within a head, out 2i+j <- in j*head_dim/2 + i.
uint64_t permuted_source_row(uint64_t r, uint64_t rows_per_head) {
    const uint64_t head = r / rows_per_head;
    const uint64_t within = r % rows_per_head;
    const uint64_t i = within / 2, j = within % 2;
    return head * rows_per_head + j * (rows_per_head / 2) + i;
}

void produce(const Item &item, uint8_t *dst, uint64_t n_bytes) {
    const uint64_t row_len = item.row_len;
    const uint64_t n_rows = item.n_rows;
    const cpu::TypeTraits *out = cpu::type_traits(item.info.type);
    uint64_t out_row = 0;
    tensor_row_bytes(item.info.type, row_len, &out_row);
    if (out_row * n_rows != n_bytes) fail(EMBER_ERR_INTERNAL, item.info.name + ": size mismatch");
    std::vector<float> row(row_len);
    const uint64_t rows_per_src = item.srcs.empty() ? n_rows : n_rows / item.srcs.size();
    for (uint64_t r = 0; r < n_rows; ++r) {
        if (item.srcs.empty()) {
            std::memcpy(row.data(), item.computed.data() + r * row_len, row_len * sizeof(float));
        } else {
            const StTensor &src = *item.srcs[r / rows_per_src];
            const uint64_t local = r % rows_per_src;
            const uint64_t s = item.permute_heads ? permuted_source_row(local, rows_per_src / item.permute_heads) : local;
            if (src.dtype == StDtype::F32) {
                std::memcpy(row.data(), src.data + s * row_len * 4, row_len * 4);  // bit-exact copy
            } else {
                for (uint64_t k = 0; k < row_len; ++k) row[k] = src.get(s * row_len + k);
            }
            // The sum in the source's precision, as the reference converter computes it.
            if (item.add != 0.0f)
                for (float &v : row) {
                    v += item.add;
                    if (src.dtype == StDtype::F16) v = fp16_to_fp32(fp32_to_fp16(v));
                    else if (src.dtype == StDtype::BF16) v = bf16_to_fp32(fp32_to_bf16(v));
                }
        }
        out->quantize_row(row.data(), dst + r * out_row, static_cast<int64_t>(row_len), nullptr);
    }
}

TensorType weight_type(OutType out, TensorType source, uint64_t row_len, const std::string &name, const WarnFn &warn) {
    switch (out) {
        case OutType::F32: return TensorType::F32;
        case OutType::F16: return TensorType::F16;
        case OutType::BF16: return TensorType::BF16;
        case OutType::Q8_0:
            if (row_len % 32 == 0) return TensorType::Q8_0;
            warn(name + ": row length " + std::to_string(row_len) + " is not a multiple of 32; writing F16");
            return TensorType::F16;
        case OutType::Auto: break;
    }
    return source;
}

class Planner {
public:
    Planner(const SafetensorsModel &st, OutType out, const WarnFn &warn) : st_(st), out_(out), warn_(warn) {}

    // Adds `gguf_name` from HF tensor `hf_name`; a missing required tensor is an error.
    void add(const std::string &gguf_name, const std::string &hf_name, bool required, uint32_t permute_heads = 0,
             uint64_t expect_rows = 0, uint64_t expect_cols = 0) {
        const StTensor *t = st_.find(hf_name);
        if (!t) {
            if (required) fail(EMBER_ERR_NOT_FOUND, "tensor '" + hf_name + "' (for " + gguf_name + ") is not in the checkpoint");
            return;
        }
        used_.insert(hf_name);
        Item item;
        item.srcs = {t};
        item.info.source_name = hf_name;
        item.info.name = gguf_name;
        item.info.source_type = source_type(*t);
        if (t->shape.empty() || t->shape.size() > 2) {
            fail(EMBER_ERR_UNSUPPORTED, t->file + ": tensor '" + hf_name + "' has " + std::to_string(t->shape.size()) + " dimensions");
        }
        // PyTorch [rows, cols] is GGUF ne = [cols, rows].
        item.info.ne.assign(t->shape.rbegin(), t->shape.rend());
        const uint64_t rows = item.info.ne.size() > 1 ? item.info.ne[1] : item.info.ne[0];
        const uint64_t cols = item.info.ne.size() > 1 ? item.info.ne[0] : 1;
        if ((expect_rows && rows != expect_rows) || (expect_cols && item.info.ne.size() > 1 && cols != expect_cols)) {
            fail(EMBER_ERR_BAD_FORMAT, t->file + ": tensor '" + hf_name + "' has shape [" + std::to_string(rows) + ", " +
                                           std::to_string(cols) + "], expected [" + std::to_string(expect_rows) + ", " +
                                           std::to_string(expect_cols) + "]");
        }
        if (permute_heads) {
            if (rows % permute_heads != 0 || (rows / permute_heads) % 2 != 0) {
                fail(EMBER_ERR_BAD_FORMAT, hf_name + ": " + std::to_string(rows) + " rows do not split into " +
                                               std::to_string(permute_heads) + " heads of even size");
            }
            item.permute_heads = permute_heads;
        }
        item.row_len = item.info.ne.size() == 1 && permute_heads ? 1 : item.info.ne[0];
        item.n_rows = item.info.ne.size() == 1 ? (permute_heads ? rows : 1) : rows;
        // Norms and biases stay F32: they are tiny and feed additions, not matrix products.
        item.info.type = item.info.ne.size() == 1
                             ? TensorType::F32
                             : weight_type(out_, item.info.source_type, item.info.ne[0], gguf_name, warn_);
        items_.push_back(std::move(item));
    }

    // Adds `gguf_name` [cols][rows][n] from n HF matrices [rows, cols] (one per expert), in order.
    void add_stacked(const std::string &gguf_name, const std::vector<std::string> &hf_names, uint64_t expect_rows,
                     uint64_t expect_cols) {
        Item item;
        item.info.name = gguf_name;
        for (const std::string &hf_name : hf_names) {
            const StTensor *t = st_.find(hf_name);
            if (!t) fail(EMBER_ERR_NOT_FOUND, "tensor '" + hf_name + "' (for " + gguf_name + ") is not in the checkpoint");
            if (t->shape.size() != 2 || t->shape[0] != expect_rows || t->shape[1] != expect_cols)
                fail(EMBER_ERR_BAD_FORMAT, t->file + ": tensor '" + hf_name + "' is not [" + std::to_string(expect_rows) +
                                               ", " + std::to_string(expect_cols) + "]");
            const TensorType type = source_type(*t);
            if (!item.srcs.empty() && type != item.info.source_type)
                fail(EMBER_ERR_BAD_FORMAT, t->file + ": tensor '" + hf_name + "' has another dtype than " + hf_names[0]);
            item.info.source_type = type;
            item.srcs.push_back(t);
            used_.insert(hf_name);
        }
        item.info.source_name = hf_names.front() + " (+" + std::to_string(hf_names.size() - 1) + " more)";
        item.info.ne = {expect_cols, expect_rows, hf_names.size()};
        item.row_len = expect_cols;
        item.n_rows = expect_rows * hf_names.size();
        item.info.type = weight_type(out_, item.info.source_type, expect_cols, gguf_name, warn_);
        items_.push_back(std::move(item));
    }

    // Keeps `gguf_name` (already added) in F32, whatever the output type.
    void keep_f32(const std::string &gguf_name) {
        for (Item &item : items_)
            if (item.info.name == gguf_name) item.info.type = TensorType::F32;
    }

    // Adds `value` to every element of `gguf_name` (already added, if present).
    void shift(const std::string &gguf_name, float value) {
        for (Item &item : items_)
            if (item.info.name == gguf_name) item.add = value;
    }

    void add_computed(const std::string &gguf_name, std::vector<float> values) {
        Item item;
        item.info.name = gguf_name;
        item.info.ne = {values.size()};
        item.info.type = TensorType::F32;
        item.row_len = values.size();
        item.computed = std::move(values);
        items_.push_back(std::move(item));
    }

    std::vector<Item> &items() { return items_; }
    const std::set<std::string> &used() const { return used_; }

private:
    const SafetensorsModel &st_;
    OutType out_;
    const WarnFn &warn_;
    std::vector<Item> items_;
    std::set<std::string> used_;
};

}  // namespace

bool parse_out_type(const std::string &text, OutType *out) {
    const std::string t = lower(text);
    if (t == "f32") *out = OutType::F32;
    else if (t == "f16") *out = OutType::F16;
    else if (t == "bf16") *out = OutType::BF16;
    else if (t == "q8_0") *out = OutType::Q8_0;
    else if (t == "auto") *out = OutType::Auto;
    else return false;
    return true;
}

ConvertResult convert_hf_model(const ConvertParams &params) {
    const WarnFn warn = [&](const std::string &m) {
        if (params.log) params.log("warning: " + m);
    };
    const fs::path dir(params.input_dir);
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) fail(EMBER_ERR_NOT_FOUND, params.input_dir + ": no such directory");
    const Config config(dir / "config.json");
    const HParams hp = read_hparams(config, warn);
    const std::unique_ptr<SafetensorsModel> st = SafetensorsModel::open_dir(params.input_dir);

    // --outtype auto follows the checkpoint's own precision (its embedding's dtype).
    OutType out = params.out_type;
    const StTensor *embd = st->find("model.embed_tokens.weight");
    if (!embd) fail(EMBER_ERR_NOT_FOUND, "tensor 'model.embed_tokens.weight' is not in the checkpoint");
    if (embd->shape.size() != 2 || embd->shape[1] != hp.n_embd) {
        fail(EMBER_ERR_BAD_FORMAT, embd->file + ": model.embed_tokens.weight is not [vocab, " + std::to_string(hp.n_embd) + "]");
    }
    const auto n_vocab = static_cast<uint32_t>(embd->shape[0]);
    if (config.has("vocab_size") && config.u32("vocab_size") != n_vocab) {
        warn("config.json says vocab_size " + std::to_string(config.u32("vocab_size")) + ", the embedding has " +
             std::to_string(n_vocab) + " rows; using " + std::to_string(n_vocab));
    }
    if (out == OutType::Auto) {
        const TensorType t = source_type(*embd);
        out = t == TensorType::F16 ? OutType::F16 : t == TensorType::BF16 ? OutType::BF16 : OutType::F32;
    }

    Planner plan(*st, out, warn);
    const uint64_t q_rows = static_cast<uint64_t>(hp.n_head) * hp.head_dim;
    const uint64_t kv_rows = static_cast<uint64_t>(hp.n_head_kv) * hp.head_dim;
    plan.add("token_embd.weight", "model.embed_tokens.weight", true);
    if (hp.rope_scaling_type == "llama3") plan.add_computed("rope_freqs.weight", llama3_rope_factors(hp));
    for (uint32_t l = 0; l < hp.n_layer; ++l) {
        const std::string b = "blk." + std::to_string(l) + ".";
        const std::string h = "model.layers." + std::to_string(l) + ".";
        const uint32_t q_heads = hp.permute_qk ? hp.n_head : 0;
        const uint32_t k_heads = hp.permute_qk ? hp.n_head_kv : 0;
        plan.add(b + "attn_norm.weight", h + "input_layernorm.weight", true, 0, hp.n_embd);
        if (hp.layout == Layout::Phi3) {
            plan.add(b + "attn_qkv.weight", h + "self_attn.qkv_proj.weight", true, 0, q_rows + 2 * kv_rows, hp.n_embd);
            plan.add(b + "attn_output.weight", h + "self_attn.o_proj.weight", true, 0, hp.n_embd, q_rows);
            plan.add(b + "ffn_norm.weight", h + "post_attention_layernorm.weight", true, 0, hp.n_embd);
            plan.add(b + "ffn_up.weight", h + "mlp.gate_up_proj.weight", true, 0, 2 * static_cast<uint64_t>(hp.n_ff), hp.n_embd);
            plan.add(b + "ffn_down.weight", h + "mlp.down_proj.weight", true, 0, hp.n_embd, hp.n_ff);
            continue;
        }
        plan.add(b + "attn_q.weight", h + "self_attn.q_proj.weight", true, q_heads, q_rows, hp.n_embd);
        plan.add(b + "attn_q.bias", h + "self_attn.q_proj.bias", hp.qkv_bias, q_heads, q_rows);
        plan.add(b + "attn_k.weight", h + "self_attn.k_proj.weight", true, k_heads, kv_rows, hp.n_embd);
        plan.add(b + "attn_k.bias", h + "self_attn.k_proj.bias", hp.qkv_bias, k_heads, kv_rows);
        plan.add(b + "attn_v.weight", h + "self_attn.v_proj.weight", true, 0, kv_rows, hp.n_embd);
        plan.add(b + "attn_v.bias", h + "self_attn.v_proj.bias", hp.qkv_bias, 0, kv_rows);
        plan.add(b + "attn_output.weight", h + "self_attn.o_proj.weight", true, 0, hp.n_embd, q_rows);
        plan.add(b + "attn_output.bias", h + "self_attn.o_proj.bias", false, 0, hp.n_embd);
        if (hp.qk_norm) {
            plan.add(b + "attn_q_norm.weight", h + "self_attn.q_norm.weight", true, 0, hp.head_dim);
            plan.add(b + "attn_k_norm.weight", h + "self_attn.k_norm.weight", true, 0, hp.head_dim);
        }
        if (hp.layout == Layout::Gemma) {
            plan.add(b + "post_attention_norm.weight", h + "post_attention_layernorm.weight", true, 0, hp.n_embd);
            plan.add(b + "ffn_norm.weight", h + "pre_feedforward_layernorm.weight", true, 0, hp.n_embd);
            plan.add(b + "post_ffw_norm.weight", h + "post_feedforward_layernorm.weight", true, 0, hp.n_embd);
            for (const char *norm : {"attn_norm", "attn_q_norm", "attn_k_norm", "post_attention_norm", "ffn_norm", "post_ffw_norm"})
                plan.shift(b + norm + ".weight", 1.0f);
        } else {
            plan.add(b + "ffn_norm.weight", h + "post_attention_layernorm.weight", true, 0, hp.n_embd);
        }
        if (hp.experts == ExpertLayout::None) {
            plan.add(b + "ffn_gate.weight", h + "mlp.gate_proj.weight", true, 0, hp.n_ff, hp.n_embd);
            plan.add(b + "ffn_up.weight", h + "mlp.up_proj.weight", true, 0, hp.n_ff, hp.n_embd);
            plan.add(b + "ffn_down.weight", h + "mlp.down_proj.weight", true, 0, hp.n_embd, hp.n_ff);
            continue;
        }
        const bool mixtral = hp.experts == ExpertLayout::Mixtral;
        const std::string moe = h + (mixtral ? "block_sparse_moe." : "mlp.");
        // The router stays F32 (as llama.cpp writes it): its logits pick the experts.
        plan.add(b + "ffn_gate_inp.weight", moe + "gate.weight", true, 0, hp.n_expert, hp.n_embd);
        plan.keep_f32(b + "ffn_gate_inp.weight");
        auto experts = [&](const char *mixtral_name, const char *qwen_name) {
            std::vector<std::string> names;
            for (uint32_t e = 0; e < hp.n_expert; ++e)
                names.push_back(moe + "experts." + std::to_string(e) + "." + (mixtral ? mixtral_name : qwen_name) + ".weight");
            return names;
        };
        plan.add_stacked(b + "ffn_gate_exps.weight", experts("w1", "gate_proj"), hp.n_ff_exp, hp.n_embd);
        plan.add_stacked(b + "ffn_up_exps.weight", experts("w3", "up_proj"), hp.n_ff_exp, hp.n_embd);
        plan.add_stacked(b + "ffn_down_exps.weight", experts("w2", "down_proj"), hp.n_embd, hp.n_ff_exp);
    }
    plan.add("output_norm.weight", "model.norm.weight", true, 0, hp.n_embd);
    if (hp.layout == Layout::Gemma) plan.shift("output_norm.weight", 1.0f);
    if (!hp.longrope_long.empty()) {
        plan.add_computed("rope_factors_long.weight", hp.longrope_long);
        plan.add_computed("rope_factors_short.weight", hp.longrope_short);
    }
    if (!hp.tied) {
        if (st->find("lm_head.weight")) {
            plan.add("output.weight", "lm_head.weight", true, 0, n_vocab, hp.n_embd);
        } else {
            warn("no lm_head.weight and tie_word_embeddings is false; the output shares token_embd (tied)");
        }
    }
    for (const auto &kv : st->tensors()) {
        const std::string &name = kv.first;
        if (plan.used().count(name) || ends_with(name, "rotary_emb.inv_freq")) continue;
        if (name == "lm_head.weight" && hp.tied) continue;  // a tied checkpoint may still store the copy
        fail(EMBER_ERR_UNSUPPORTED, kv.second.file + ": tensor '" + name + "' has no GGUF counterpart for " + hp.arch);
    }

    const GgufVocab vocab = load_hf_vocab(params.input_dir, config.json_value(), n_vocab, hp.arch, warn);

    ConvertResult result;
    result.architecture = hp.arch;
    result.context_length = hp.n_ctx;
    result.file_type = out == OutType::F16 ? kFileTypeF16 : out == OutType::BF16 ? kFileTypeBF16
                     : out == OutType::Q8_0 ? kFileTypeQ8_0 : kFileTypeF32;

    gguf::Writer w;
    const std::string a = hp.arch + ".";
    std::string name = params.name;
    if (name.empty()) name = fs::absolute(dir).lexically_normal().filename().string();
    if (name.empty()) name = fs::absolute(dir).lexically_normal().parent_path().filename().string();
    w.set_string("general.architecture", hp.arch);
    w.set_string("general.type", "model");
    w.set_string("general.name", name);
    w.set_u32(a + "block_count", hp.n_layer);
    w.set_u32(a + "context_length", hp.n_ctx);
    w.set_u32(a + "embedding_length", hp.n_embd);
    w.set_u32(a + "feed_forward_length", hp.n_ff);
    w.set_u32(a + "attention.head_count", hp.n_head);
    w.set_u32(a + "attention.head_count_kv", hp.n_head_kv);
    w.set_f32(a + "rope.freq_base", hp.rope_theta);
    w.set_f32(a + "attention.layer_norm_rms_epsilon", hp.norm_eps);
    w.set_u32("general.file_type", result.file_type);
    w.set_u32(a + "vocab_size", n_vocab);
    w.set_u32(a + "rope.dimension_count", hp.head_dim);
    if (hp.head_dim != hp.n_embd / hp.n_head) {
        w.set_u32(a + "attention.key_length", hp.head_dim);
        w.set_u32(a + "attention.value_length", hp.head_dim);
    }
    if (hp.experts != ExpertLayout::None) {
        w.set_u32(a + "expert_count", hp.n_expert);
        w.set_u32(a + "expert_used_count", hp.n_expert_used);
        if (hp.experts == ExpertLayout::Qwen) w.set_u32(a + "expert_feed_forward_length", hp.n_ff_exp);
    }
    if (hp.rope_scaling_type == "linear" || hp.rope_scaling_type == "yarn") {
        w.set_string(a + "rope.scaling.type", hp.rope_scaling_type);
        w.set_f32(a + "rope.scaling.factor", hp.rope_scaling_factor);
        if (hp.rope_original_ctx) w.set_u32(a + "rope.scaling.original_context_length", hp.rope_original_ctx);
    } else if (hp.rope_scaling_type == "longrope") {
        w.set_u32(a + "rope.scaling.original_context_length", hp.rope_original_ctx);
        w.set_string(a + "rope.scaling.type", "longrope");
        w.set_f32(a + "rope.scaling.attn_factor", hp.rope_attn_factor);
    }
    if (hp.sliding_window) w.set_u32(a + "attention.sliding_window", hp.sliding_window);
    if (hp.attn_softcap > 0) w.set_f32(a + "attn_logit_softcapping", hp.attn_softcap);
    if (hp.final_softcap > 0) w.set_f32(a + "final_logit_softcapping", hp.final_softcap);
    if (hp.rope_theta_swa > 0) w.set_f32(a + "rope.freq_base_swa", hp.rope_theta_swa);
    w.set_u32("general.quantization_version", kQuantizationVersion);
    write_vocab(w, vocab);

    std::vector<Item> &items = plan.items();
    const size_t count = items.size();
    for (size_t i = 0; i < count; ++i) {
        Item &item = items[i];
        uint64_t row = 0;
        if (!tensor_row_bytes(item.info.type, item.row_len, &row)) fail(EMBER_ERR_INTERNAL, item.info.name + ": bad row");
        item.info.n_bytes = row * item.n_rows;
        result.n_bytes += item.info.n_bytes;
        result.tensors.push_back(item.info);
        w.add_tensor(item.info.name, item.info.type, item.info.ne, [&params, &item, i, count](uint8_t *dst, uint64_t n_bytes) {
            produce(item, dst, n_bytes);
            if (params.on_tensor) params.on_tensor(item.info, i, count);
        });
    }
    w.write_file(params.output);
    return result;
}

}  // namespace ember::convert
