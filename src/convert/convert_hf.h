// Hugging Face checkpoint directory -> GGUF file, natively: config.json, *.safetensors (single or
// sharded) and the tokenizer become the metadata, tensor names, layouts and types llama.cpp's
// converter writes, so llama.cpp and Ember load the result the same way.
//
// Supported architectures: LlamaForCausalLM (and Mistral-style configs: MistralForCausalLM),
// Qwen2ForCausalLM.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/tensor_type.h"

namespace ember::convert {

enum class OutType {
    F32,
    F16,
    BF16,
    Q8_0,
    Auto,  // F16 for an F16 checkpoint, BF16 for BF16, F32 for F32
};

// "f32", "f16", "bf16", "q8_0", "auto" (case-insensitive); false when unknown.
bool parse_out_type(const std::string &text, OutType *out);

struct ConvertedTensor {
    std::string source_name;       // "model.layers.0.self_attn.q_proj.weight" ("" when computed)
    std::string name;              // "blk.0.attn_q.weight"
    std::vector<uint64_t> ne;      // GGUF order: ne[0] is the row length
    TensorType source_type = TensorType::F32;
    TensorType type = TensorType::F32;
    uint64_t n_bytes = 0;
};

struct ConvertParams {
    std::string input_dir;         // the checkpoint directory (config.json, *.safetensors, tokenizer)
    std::string output;            // GGUF path
    OutType out_type = OutType::Auto;
    std::string name;              // general.name; empty: the directory's name
    // Warnings and notes (the CLI prints them to stderr).
    std::function<void(const std::string &)> log;
    // After each tensor is written (index counts from 0).
    std::function<void(const ConvertedTensor &, size_t index, size_t count)> on_tensor;
};

struct ConvertResult {
    std::string architecture;      // GGUF architecture: "llama" or "qwen2"
    uint32_t file_type = 0;        // general.file_type written
    uint32_t context_length = 0;   // <arch>.context_length written
    std::vector<ConvertedTensor> tensors;  // in file order
    uint64_t n_bytes = 0;          // tensor data
};

// Converts; throws ember::Error: EMBER_ERR_NOT_FOUND naming a missing file or tensor,
// EMBER_ERR_UNSUPPORTED naming an unsupported architecture, dtype or setting,
// EMBER_ERR_BAD_FORMAT for malformed inputs, EMBER_ERR_IO when the output cannot be written.
ConvertResult convert_hf_model(const ConvertParams &params);

}  // namespace ember::convert
