// Quantization recipes ("ftypes"): which tensor type each tensor of a model gets for a target
// like Q4_K_M. The rules follow llama.cpp's so that a file quantized by Ember has the same
// per-tensor types as llama.cpp's for the same recipe, and records the same general.file_type.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor_type.h"

namespace ember::quantize {

// llama.cpp's file type ids (llama_ftype), the value of general.file_type.
enum class FileType : uint32_t {
    ALL_F32 = 0,
    MOSTLY_F16 = 1,
    MOSTLY_Q4_0 = 2,
    MOSTLY_Q4_1 = 3,
    MOSTLY_Q8_0 = 7,
    MOSTLY_Q5_0 = 8,
    MOSTLY_Q5_1 = 9,
    MOSTLY_Q2_K = 10,
    MOSTLY_Q3_K_S = 11,
    MOSTLY_Q3_K_M = 12,
    MOSTLY_Q3_K_L = 13,
    MOSTLY_Q4_K_S = 14,
    MOSTLY_Q4_K_M = 15,
    MOSTLY_Q5_K_S = 16,
    MOSTLY_Q5_K_M = 17,
    MOSTLY_Q6_K = 18,
    MOSTLY_IQ4_NL = 25,
    MOSTLY_IQ4_XS = 30,
    MOSTLY_BF16 = 32,
    MOSTLY_MXFP4_MOE = 38,
};

struct Recipe {
    const char *name;        // "Q4_K_M"
    FileType file_type;
    TensorType base_type;    // what most 2-D tensors get
    const char *summary;     // one line for --help
    bool experts_only = false;  // only the stacked expert matrices (*_exps) change type
};

// Every recipe Ember can produce, in the order --help lists them.
const std::vector<Recipe> &recipes();
// Case-insensitive lookup; the bare K names Q3_K, Q4_K and Q5_K mean their _M recipes.
// nullptr when unknown.
const Recipe *find_recipe(const std::string &name);

// What the rules need to know about the model as a whole.
struct ModelShape {
    std::string arch;          // general.architecture
    uint32_t n_head = 0;       // attention.head_count
    uint32_t n_head_kv = 0;    // attention.head_count_kv (n_head when absent)
    int n_attn_v = 0;          // how many attn_v (or fused attn_qkv) weights the model has
    int n_ffn_down = 0;        // how many ffn_down weights
    bool has_output = false;   // false: the output projection is tied to token_embd
    uint32_t n_expert = 0;     // expert_count (Mixtral 8x7B: 8)
    uint32_t gqa() const { return n_head_kv ? n_head / n_head_kv : 1; }
};

// Whether a tensor is a weight matrix that quantization converts; everything else (norms,
// biases, rope_freqs, any 1-D tensor) is copied unchanged.
bool is_quantizable(const std::string &name, uint32_t n_dims);
// Whether the recipe changes this tensor's type at all (experts_only recipes leave every
// tensor but the 3-D *_exps matrices as they are).
bool recipe_applies(const Recipe &recipe, const std::string &name, uint32_t n_dims);

// The block index N of a "blk.N." tensor name, or -1.
int block_index(const std::string &name);

struct TypeChoice {
    TensorType type;
    bool fell_back = false;  // the rule's type did not fit the row length
};

// The type the recipe gives a quantizable tensor of row length `row_length` (ne[0]). With
// `pure`, every such tensor gets the base type. A row that is not a whole number of the
// chosen type's blocks falls back to a 32-block type (see fallback_type).
TypeChoice choose_type(const Recipe &recipe, const ModelShape &model, const std::string &name,
                       uint64_t row_length, bool pure);

// The replacement for `type` when a row of `row_length` is not a whole number of its blocks:
// Q2_K/Q3_K/IQ4_XS -> IQ4_NL, Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, and F16 when even that
// does not fit. Returns `type` when it fits.
TypeChoice fit_row_length(TensorType type, uint64_t row_length);

}  // namespace ember::quantize
