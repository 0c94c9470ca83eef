#include "quantize/quantize_recipe.h"

#include <cctype>
#include <cstdlib>

namespace ember::quantize {

namespace {

using T = TensorType;
using F = FileType;

bool contains(const std::string &s, const char *part) { return s.find(part) != std::string::npos; }

bool ends_with(const std::string &s, const std::string &suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

uint32_t block_size(T type) { return tensor_type_info(type).block_size; }

// The layers that get more bits in the _M recipes: the first and last eighth of the stack
// plus every third layer in between (the layers where quantization error hurts most).
bool use_more_bits(int i_layer, int n_layers) {
    return i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 || (i_layer - n_layers / 8) % 3 == 2;
}

std::string upper(std::string s) {
    for (char &c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

const std::vector<Recipe> &recipes() {
    static const std::vector<Recipe> all = {
        {"Q2_K", F::MOSTLY_Q2_K, T::Q2_K, "Q2_K; attn_v Q3_K (Q4_K when n_head/n_head_kv >= 4), ffn_down and attn_output Q3_K"},
        {"Q3_K_S", F::MOSTLY_Q3_K_S, T::Q3_K, "Q3_K everywhere"},
        {"Q3_K_M", F::MOSTLY_Q3_K_M, T::Q3_K, "Q3_K; attn_v Q5_K in layers 0-1 else Q4_K, attn_output Q4_K, ffn_down Q4_K (Q5_K in the first 1/16 of layers)"},
        {"Q3_K_L", F::MOSTLY_Q3_K_L, T::Q3_K, "Q3_K; attn_v, attn_output and ffn_down Q5_K"},
        {"Q4_K_S", F::MOSTLY_Q4_K_S, T::Q4_K, "Q4_K; attn_v Q5_K in layers 0-3, ffn_down Q5_K in the first 1/8 of layers"},
        {"Q4_K_M", F::MOSTLY_Q4_K_M, T::Q4_K, "Q4_K; attn_v and ffn_down Q6_K on the more-bits layers"},
        {"Q5_K_S", F::MOSTLY_Q5_K_S, T::Q5_K, "Q5_K everywhere"},
        {"Q5_K_M", F::MOSTLY_Q5_K_M, T::Q5_K, "Q5_K; attn_v and ffn_down Q6_K on the more-bits layers"},
        {"Q6_K", F::MOSTLY_Q6_K, T::Q6_K, "Q6_K everywhere"},
        {"Q8_0", F::MOSTLY_Q8_0, T::Q8_0, "Q8_0 everywhere (output too)"},
        {"Q4_0", F::MOSTLY_Q4_0, T::Q4_0, "Q4_0"},
        {"Q4_1", F::MOSTLY_Q4_1, T::Q4_1, "Q4_1"},
        {"Q5_0", F::MOSTLY_Q5_0, T::Q5_0, "Q5_0"},
        {"Q5_1", F::MOSTLY_Q5_1, T::Q5_1, "Q5_1"},
        {"IQ4_NL", F::MOSTLY_IQ4_NL, T::IQ4_NL, "IQ4_NL; attn_v Q5_K when n_head/n_head_kv >= 4, ffn_down Q5_K in the first 1/8 of layers"},
        {"IQ4_XS", F::MOSTLY_IQ4_XS, T::IQ4_XS, "IQ4_XS; same exceptions as IQ4_NL"},
        {"MXFP4_MOE", F::MOSTLY_MXFP4_MOE, T::MXFP4, "the expert matrices MXFP4, every other tensor unchanged (gpt-oss)", true},
        {"F16", F::MOSTLY_F16, T::F16, "every weight matrix F16"},
        {"BF16", F::MOSTLY_BF16, T::BF16, "every weight matrix BF16"},
        {"F32", F::ALL_F32, T::F32, "every weight matrix F32"},
    };
    return all;
}

const Recipe *find_recipe(const std::string &name) {
    std::string key = upper(name);
    if (key == "Q3_K" || key == "Q4_K" || key == "Q5_K") key += "_M";
    for (const Recipe &r : recipes()) {
        if (key == r.name) return &r;
    }
    return nullptr;
}

bool recipe_applies(const Recipe &recipe, const std::string &name, uint32_t n_dims) {
    if (!is_quantizable(name, n_dims)) return false;
    return !recipe.experts_only || (n_dims == 3 && contains(name, "_exps"));
}

bool is_quantizable(const std::string &name, uint32_t n_dims) {
    if (n_dims < 2 || !ends_with(name, "weight")) return false;
    // Small or precision-critical matrices that every runtime expects in their source type.
    static const char *const kKeep[] = {"_norm.weight", "ffn_gate_inp.weight", "ssm_conv1d.weight",
                                        "attn_rel_b.weight"};
    for (const char *k : kKeep) {
        if (contains(name, k)) return false;
    }
    return name != "position_embd.weight" && name != "token_types.weight";
}

int block_index(const std::string &name) {
    if (name.compare(0, 4, "blk.") != 0) return -1;
    char *end = nullptr;
    const long v = std::strtol(name.c_str() + 4, &end, 10);
    if (end == name.c_str() + 4 || *end != '.' || v < 0 || v > 1000000) return -1;
    return static_cast<int>(v);
}

TypeChoice fit_row_length(TensorType type, uint64_t row_length) {
    if (row_length % block_size(type) == 0) return {type, false};
    T repl = T::F16;
    switch (type) {
        case T::Q2_K: case T::Q3_K: case T::IQ4_XS: repl = T::IQ4_NL; break;
        case T::Q4_K: repl = T::Q5_0; break;
        case T::Q5_K: repl = T::Q5_1; break;
        case T::Q6_K: repl = T::Q8_0; break;
        default: break;
    }
    if (row_length % block_size(repl) != 0) repl = T::F16;
    return {repl, true};
}

TypeChoice choose_type(const Recipe &recipe, const ModelShape &model, const std::string &name,
                       uint64_t row_length, bool pure) {
    T type = recipe.base_type;
    if (pure || !tensor_type_info(type).quantized) return fit_row_length(type, row_length);

    const F ft = recipe.file_type;
    const bool falcon = model.arch == "falcon";
    const int layer = block_index(name) < 0 ? 0 : block_index(name);

    if (name == "output.weight" || (!model.has_output && name == "token_embd.weight")) {
        // The output projection decides every token's logits: 6 bits unless the recipe is
        // already 8-bit, and Q8_0 when its rows do not fit the recipe's blocks.
        if (falcon || row_length % block_size(type) != 0) {
            type = T::Q8_0;
        } else if (type != T::Q8_0) {
            type = T::Q6_K;
        }
    } else if (name == "token_embd.weight") {
        // Embedding rows are only looked up, never multiplied: the base type is enough.
    } else if (contains(name, "attn_v.weight")) {
        const int n = model.n_attn_v;
        if (ft == F::MOSTLY_Q2_K) {
            type = model.gqa() >= 4 ? T::Q4_K : T::Q3_K;
        } else if (ft == F::MOSTLY_Q3_K_M) {
            type = layer < 2 ? T::Q5_K : T::Q4_K;
        } else if (ft == F::MOSTLY_Q3_K_L) {
            type = T::Q5_K;
        } else if ((ft == F::MOSTLY_IQ4_NL || ft == F::MOSTLY_IQ4_XS) && model.gqa() >= 4) {
            type = T::Q5_K;
        } else if ((ft == F::MOSTLY_Q4_K_M || ft == F::MOSTLY_Q5_K_M) && use_more_bits(layer, n)) {
            type = T::Q6_K;
        } else if (ft == F::MOSTLY_Q4_K_S && layer < 4) {
            type = T::Q5_K;
        }
        // With 8 experts the attention is a small part of the file: 8 bits cost little.
        if (model.n_expert == 8) type = T::Q8_0;
    } else if (contains(name, "attn_k.weight")) {
        if (model.n_expert == 8) type = T::Q8_0;
    } else if (contains(name, "ffn_down")) {
        const int n = model.n_ffn_down;
        if (ft == F::MOSTLY_Q2_K) {
            type = T::Q3_K;
        } else if (ft == F::MOSTLY_Q3_K_M) {
            type = layer < n / 16 ? T::Q5_K : (!falcon || use_more_bits(layer, n)) ? T::Q4_K : T::Q3_K;
        } else if (ft == F::MOSTLY_Q3_K_L) {
            type = falcon ? T::Q4_K : T::Q5_K;
        } else if (ft == F::MOSTLY_Q4_K_M) {
            if (falcon) {
                type = layer < n / 16 ? T::Q6_K : use_more_bits(layer, n) ? T::Q5_K : T::Q4_K;
            } else if (use_more_bits(layer, n)) {
                type = T::Q6_K;
            }
        } else if (layer < n / 8 && (ft == F::MOSTLY_IQ4_NL || ft == F::MOSTLY_IQ4_XS)) {
            type = T::Q5_K;
        } else if (ft == F::MOSTLY_Q5_K_M && use_more_bits(layer, n)) {
            type = T::Q6_K;
        } else if (ft == F::MOSTLY_Q4_K_S && !falcon && layer < n / 8) {
            type = T::Q5_K;
        }
    } else if (contains(name, "attn_output.weight")) {
        if (!falcon && model.n_expert == 8) {
            if (ft == F::MOSTLY_Q2_K || ft == F::MOSTLY_Q3_K_S || ft == F::MOSTLY_Q3_K_M || ft == F::MOSTLY_IQ4_NL ||
                ft == F::MOSTLY_Q4_K_S || ft == F::MOSTLY_Q4_K_M || ft == F::MOSTLY_IQ4_XS)
                type = T::Q5_K;
        } else if (!falcon) {
            if (ft == F::MOSTLY_Q2_K) type = T::Q3_K;
            else if (ft == F::MOSTLY_Q3_K_M) type = T::Q4_K;
            else if (ft == F::MOSTLY_Q3_K_L) type = T::Q5_K;
        } else if (ft == F::MOSTLY_Q3_K_L) {
            type = T::Q4_K;
        }
    } else if (contains(name, "attn_qkv.weight")) {
        if (ft == F::MOSTLY_Q3_K_M || ft == F::MOSTLY_Q3_K_L) type = T::Q4_K;
        else if (ft == F::MOSTLY_Q4_K_M) type = T::Q5_K;
        else if (ft == F::MOSTLY_Q5_K_M) type = T::Q6_K;
    }
    return fit_row_length(type, row_length);
}

}  // namespace ember::quantize
