// Writes GGUF v3 files that llama.cpp reads: metadata in insertion order, then tensor infos,
// then tensor data in tensor-info order, each tensor padded to the alignment.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor_type.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_value.h"

namespace ember::gguf {

class Writer {
public:
    // Fills `dst` (exactly the tensor's byte size) when the file is written; lets a tool
    // produce tensors one at a time (quantize, convert) without holding them all in memory.
    using TensorProducer = std::function<void(uint8_t *dst, uint64_t n_bytes)>;

    void set_alignment(uint32_t alignment);  // power of two; stored as general.alignment
    uint32_t alignment() const { return alignment_; }

    // Metadata setters replace an existing key in place, keeping its position.
    void set_u8(std::string_view key, uint8_t v);
    void set_i8(std::string_view key, int8_t v);
    void set_u16(std::string_view key, uint16_t v);
    void set_i16(std::string_view key, int16_t v);
    void set_u32(std::string_view key, uint32_t v);
    void set_i32(std::string_view key, int32_t v);
    void set_u64(std::string_view key, uint64_t v);
    void set_i64(std::string_view key, int64_t v);
    void set_f32(std::string_view key, float v);
    void set_f64(std::string_view key, double v);
    void set_bool(std::string_view key, bool v);
    void set_string(std::string_view key, std::string_view v);
    void set_string_array(std::string_view key, const std::vector<std::string> &v);
    // A numeric array: `count` elements of `elem_type` at `data` (little-endian).
    void set_array(std::string_view key, ValueType elem_type, const void *data, uint64_t count);
    // Copies any parsed value (including nested arrays) from another file.
    void set_value(std::string_view key, const Value &v);
    void remove(std::string_view key);
    bool has(std::string_view key) const;

    // Adds a tensor whose bytes are at `data` (must stay valid until write_file returns).
    void add_tensor(std::string_view name, TensorType type, const std::vector<uint64_t> &ne, const void *data);
    // Adds a tensor whose bytes are produced while writing.
    void add_tensor(std::string_view name, TensorType type, const std::vector<uint64_t> &ne, TensorProducer produce);
    // Copies a tensor of a parsed file (name, type, shape and bytes).
    void add_tensor(const TensorInfo &t);
    size_t n_tensors() const { return tensors_.size(); }

    // Writes the file (to a temporary name, renamed on success); throws ember::Error on failure.
    void write_file(const std::string &path) const;
    // The whole file in memory (for tests and small outputs).
    std::vector<uint8_t> write_buffer() const;

private:
    struct Kv {
        std::string key;
        std::vector<uint8_t> encoded;  // type id + value, as in the file
    };
    struct Tensor {
        std::string name;
        TensorType type;
        std::vector<uint64_t> ne;
        uint64_t n_bytes;
        TensorProducer produce;
    };
    void put(std::string_view key, std::vector<uint8_t> encoded);
    std::vector<uint8_t> header_bytes() const;  // everything up to the data section, padded
    template <typename Sink>
    void emit(Sink &sink) const;

    uint32_t alignment_ = kDefaultAlignment;
    std::vector<Kv> kv_;
    std::vector<Tensor> tensors_;
};

}  // namespace ember::gguf
