// Quantizes a GGUF model file into another: metadata copied, general.file_type set, each weight
// matrix converted to the type its recipe chooses (quantize_recipe.h), everything else copied.
// Tensors are produced one at a time while the output is written, so memory stays at one
// row buffer per thread beyond the two mappings.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/tensor_type.h"
#include "quantize/quantize_recipe.h"

namespace ember::gguf {
class File;
}

namespace ember::quantize {

// --override: tensors whose name matches `pattern` (ECMAScript regex, searched anywhere in the
// name) get `type` instead of the recipe's choice; the first matching override wins.
struct TypeOverride {
    std::string pattern;
    TensorType type;
};

struct TensorPlan {
    std::string name;
    std::vector<uint64_t> ne;      // ne[0] is the row length
    TensorType from;
    TensorType to;
    bool converted = false;        // false: bytes copied unchanged
    bool fell_back = false;        // the recipe's type did not fit the row length
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;
};

struct QuantizeParams {
    std::string input;             // GGUF path (one file; merge split models first)
    std::string output;
    std::string type = "Q4_K_M";   // a recipe name (find_recipe)
    bool pure = false;             // every weight matrix in the recipe's base type
    std::vector<TypeOverride> overrides;
    bool allow_requantize = false; // accept already-quantized weights (quality suffers)
    int n_threads = 0;             // 0: the hardware's concurrency
    // Called after each tensor is written (index counts from 0); may print progress.
    std::function<void(const TensorPlan &, size_t index, size_t count)> on_tensor;
};

struct QuantizeResult {
    FileType file_type = FileType::ALL_F32;
    std::vector<TensorPlan> tensors;  // in file order
    uint64_t bytes_in = 0;            // tensor data only
    uint64_t bytes_out = 0;
};

// Decides every tensor's output type without writing anything. Throws ember::Error:
// EMBER_ERR_INVALID_ARGUMENT for an unknown type or a bad override pattern,
// EMBER_ERR_UNSUPPORTED for quantized input without allow_requantize (naming the tensor) or
// a type Ember cannot produce.
QuantizeResult plan_quantization(const gguf::File &input, const QuantizeParams &params);

// Plans, then writes params.output. Same errors as plan_quantization, plus EMBER_ERR_IO.
QuantizeResult quantize_model(const QuantizeParams &params);

}  // namespace ember::quantize
