#include "gguf/gguf_value.h"

namespace ember::gguf {

const char *value_type_name(ValueType type) {
    switch (type) {
        case ValueType::U8: return "u8";
        case ValueType::I8: return "i8";
        case ValueType::U16: return "u16";
        case ValueType::I16: return "i16";
        case ValueType::U32: return "u32";
        case ValueType::I32: return "i32";
        case ValueType::F32: return "f32";
        case ValueType::BOOL: return "bool";
        case ValueType::STRING: return "string";
        case ValueType::ARRAY: return "array";
        case ValueType::U64: return "u64";
        case ValueType::I64: return "i64";
        case ValueType::F64: return "f64";
    }
    return "unknown";
}

size_t value_type_size(ValueType type) {
    switch (type) {
        case ValueType::U8: case ValueType::I8: case ValueType::BOOL: return 1;
        case ValueType::U16: case ValueType::I16: return 2;
        case ValueType::U32: case ValueType::I32: case ValueType::F32: return 4;
        case ValueType::U64: case ValueType::I64: case ValueType::F64: return 8;
        case ValueType::STRING: case ValueType::ARRAY: return 0;
    }
    return 0;
}

namespace {
template <typename T>
T load(const uint8_t *p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
}  // namespace

int64_t Value::integer_at(uint64_t i) const {
    const uint8_t *p = raw + i * value_type_size(elem_type);
    switch (elem_type) {
        case ValueType::U8: return load<uint8_t>(p);
        case ValueType::I8: return load<int8_t>(p);
        case ValueType::U16: return load<uint16_t>(p);
        case ValueType::I16: return load<int16_t>(p);
        case ValueType::U32: return load<uint32_t>(p);
        case ValueType::I32: return load<int32_t>(p);
        case ValueType::U64: return static_cast<int64_t>(load<uint64_t>(p));
        case ValueType::I64: return load<int64_t>(p);
        case ValueType::BOOL: return load<uint8_t>(p) != 0;
        case ValueType::F32: return static_cast<int64_t>(load<float>(p));
        case ValueType::F64: return static_cast<int64_t>(load<double>(p));
        default: return 0;
    }
}

double Value::number_at(uint64_t i) const {
    const uint8_t *p = raw + i * value_type_size(elem_type);
    switch (elem_type) {
        case ValueType::F32: return load<float>(p);
        case ValueType::F64: return load<double>(p);
        case ValueType::U64: return static_cast<double>(load<uint64_t>(p));
        default: return static_cast<double>(integer_at(i));
    }
}

}  // namespace ember::gguf
