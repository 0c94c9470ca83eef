// A GGUF metadata value as parsed from a file: a view into the file's bytes, never a copy of
// large arrays (a 128k-token vocabulary stays in the mapping).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace ember::gguf {

// Metadata value type ids as stored in GGUF files.
enum class ValueType : uint32_t {
    U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
    STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};
constexpr uint32_t kValueTypeCount = 13;

const char *value_type_name(ValueType type);
// Size in bytes of a fixed-size value type; 0 for STRING and ARRAY.
size_t value_type_size(ValueType type);
inline bool value_type_is_integer(ValueType t) {
    return t == ValueType::U8 || t == ValueType::I8 || t == ValueType::U16 || t == ValueType::I16 ||
           t == ValueType::U32 || t == ValueType::I32 || t == ValueType::U64 || t == ValueType::I64;
}
inline bool value_type_is_float(ValueType t) { return t == ValueType::F32 || t == ValueType::F64; }

struct Value {
    ValueType type = ValueType::U8;

    // Scalars: integers are widened to both signed and unsigned forms; `is_negative` tells
    // which one is meaningful. Floats and bools go to f64 / b.
    uint64_t u64 = 0;
    int64_t i64 = 0;
    bool is_negative = false;
    double f64 = 0;
    bool b = false;
    std::string_view str;  // STRING (not NUL-terminated)

    // ARRAY: element type and count; numeric elements stay as little-endian bytes at `raw`
    // (possibly unaligned), strings are views, nested arrays are parsed values.
    ValueType elem_type = ValueType::U8;
    uint64_t count = 0;
    const uint8_t *raw = nullptr;
    std::vector<std::string_view> strings;
    std::vector<Value> items;

    // Numeric array element i converted to double / int64 (no bounds check beyond `count`).
    double number_at(uint64_t i) const;
    int64_t integer_at(uint64_t i) const;
};

}  // namespace ember::gguf
