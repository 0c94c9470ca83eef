// The GGUF tensor type table: one row per type id with its name and block geometry, so sizes
// are known for every type even where no kernel exists yet (kernels/cpu adds the arithmetic).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ember {

// Values are the GGUF (ggml) type ids stored in files; ids 4, 5, 31-33 and 36-38 are retired.
enum class TensorType : uint32_t {
    F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
    Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
    IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22,
    IQ4_XS = 23, I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
    TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39,
};

struct TensorTypeInfo {
    TensorType type;
    const char *name;      // as llama.cpp prints it, e.g. "Q4_K"
    uint32_t block_size;   // elements per block (1 for plain types)
    uint32_t block_bytes;  // bytes per block
    bool quantized;
};

constexpr uint32_t kMaxTensorTypeId = 39;

// The row for a type id, or nullptr for an unknown/retired id.
const TensorTypeInfo *tensor_type_info(uint32_t type_id);
inline const TensorTypeInfo &tensor_type_info(TensorType type) {
    return *tensor_type_info(static_cast<uint32_t>(type));
}
const char *tensor_type_name(TensorType type);
// Case-insensitive lookup by name ("q4_k", "F16"); false if no such type.
bool tensor_type_from_name(const std::string &name, TensorType *out);

// Bytes of `n_elements` values of `type` laid out as whole blocks; n_elements must be a
// multiple of the block size. Returns false on overflow or a partial block.
bool tensor_row_bytes(TensorType type, uint64_t n_elements, uint64_t *out);
// The same where the caller has already checked the shape: throws ember::Error
// (EMBER_ERR_INTERNAL) when it is not whole blocks.
size_t tensor_row_bytes_checked(TensorType type, uint64_t n_elements);

}  // namespace ember
