#include "core/tensor_type.h"

#include <cctype>

#include "core/checked_math.h"
#include "core/error.h"

namespace ember {

namespace {

constexpr uint32_t QK_K = 256;  // super-block of the K-quants and most IQ types

// Indexed by type id; unknown ids have a null name.
constexpr TensorTypeInfo kTable[kMaxTensorTypeId + 1] = {
    {TensorType::F32, "F32", 1, 4, false},
    {TensorType::F16, "F16", 1, 2, false},
    {TensorType::Q4_0, "Q4_0", 32, 2 + 16, true},
    {TensorType::Q4_1, "Q4_1", 32, 2 + 2 + 16, true},
    {},
    {},
    {TensorType::Q5_0, "Q5_0", 32, 2 + 4 + 16, true},
    {TensorType::Q5_1, "Q5_1", 32, 2 + 2 + 4 + 16, true},
    {TensorType::Q8_0, "Q8_0", 32, 2 + 32, true},
    {TensorType::Q8_1, "Q8_1", 32, 2 + 2 + 32, true},
    {TensorType::Q2_K, "Q2_K", QK_K, 16 + 64 + 2 + 2, true},
    {TensorType::Q3_K, "Q3_K", QK_K, 32 + 64 + 12 + 2, true},
    {TensorType::Q4_K, "Q4_K", QK_K, 2 + 2 + 12 + 128, true},
    {TensorType::Q5_K, "Q5_K", QK_K, 2 + 2 + 12 + 32 + 128, true},
    {TensorType::Q6_K, "Q6_K", QK_K, 128 + 64 + 16 + 2, true},
    {TensorType::Q8_K, "Q8_K", QK_K, 4 + 256 + 16 * 2, true},
    {TensorType::IQ2_XXS, "IQ2_XXS", QK_K, 2 + 64, true},
    {TensorType::IQ2_XS, "IQ2_XS", QK_K, 2 + 64 + 8, true},
    {TensorType::IQ3_XXS, "IQ3_XXS", QK_K, 2 + 96, true},
    {TensorType::IQ1_S, "IQ1_S", QK_K, 2 + 32 + 16, true},
    {TensorType::IQ4_NL, "IQ4_NL", 32, 2 + 16, true},
    {TensorType::IQ3_S, "IQ3_S", QK_K, 2 + 64 + 8 + 32 + 4, true},
    {TensorType::IQ2_S, "IQ2_S", QK_K, 2 + 64 + 8 + 8, true},
    {TensorType::IQ4_XS, "IQ4_XS", QK_K, 2 + 2 + 4 + 128, true},
    {TensorType::I8, "I8", 1, 1, false},
    {TensorType::I16, "I16", 1, 2, false},
    {TensorType::I32, "I32", 1, 4, false},
    {TensorType::I64, "I64", 1, 8, false},
    {TensorType::F64, "F64", 1, 8, false},
    {TensorType::IQ1_M, "IQ1_M", QK_K, 32 + 16 + 8, true},
    {TensorType::BF16, "BF16", 1, 2, false},
    {},
    {},
    {},
    {TensorType::TQ1_0, "TQ1_0", QK_K, 48 + 4 + 2, true},
    {TensorType::TQ2_0, "TQ2_0", QK_K, 64 + 2, true},
    {},
    {},
    {},
    {TensorType::MXFP4, "MXFP4", 32, 1 + 16, true},
};

}  // namespace

const TensorTypeInfo *tensor_type_info(uint32_t type_id) {
    if (type_id > kMaxTensorTypeId || kTable[type_id].name == nullptr) return nullptr;
    return &kTable[type_id];
}

const char *tensor_type_name(TensorType type) {
    const TensorTypeInfo *info = tensor_type_info(static_cast<uint32_t>(type));
    return info ? info->name : "unknown";
}

bool tensor_type_from_name(const std::string &name, TensorType *out) {
    for (const TensorTypeInfo &row : kTable) {
        if (!row.name) continue;
        const std::string candidate = row.name;
        if (candidate.size() != name.size()) continue;
        bool same = true;
        for (size_t i = 0; i < name.size() && same; ++i)
            same = std::toupper(static_cast<unsigned char>(name[i])) == candidate[i];
        if (same) {
            *out = row.type;
            return true;
        }
    }
    return false;
}

bool tensor_row_bytes(TensorType type, uint64_t n_elements, uint64_t *out) {
    const TensorTypeInfo *info = tensor_type_info(static_cast<uint32_t>(type));
    if (!info || n_elements % info->block_size != 0) return false;
    return !mul_overflows(n_elements / info->block_size, info->block_bytes, out);
}

size_t tensor_row_bytes_checked(TensorType type, uint64_t n_elements) {
    uint64_t n = 0;
    if (!tensor_row_bytes(type, n_elements, &n))
        fail(EMBER_ERR_INTERNAL, std::to_string(n_elements) + " values are not whole " + tensor_type_name(type) + " blocks");
    return static_cast<size_t>(n);
}

}  // namespace ember
