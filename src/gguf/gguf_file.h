// A parsed GGUF file (v2/v3): metadata, tensor infos and zero-copy tensor views, over a
// read-only mapping of a path or over a caller's memory buffer. Parsing trusts nothing: every
// count, length, offset and size is checked against the buffer before use.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/mapped_file.h"
#include "core/tensor_type.h"
#include "gguf/gguf_value.h"

namespace ember::gguf {

constexpr uint32_t kDefaultAlignment = 32;
constexpr uint32_t kMaxDims = 4;

struct TensorInfo {
    std::string_view name;
    TensorType type = TensorType::F32;
    uint32_t n_dims = 0;
    uint64_t ne[kMaxDims] = {1, 1, 1, 1};  // ne[0] is the row length (contiguous)
    uint64_t offset = 0;                   // relative to the data section
    uint64_t n_bytes = 0;
    const uint8_t *data = nullptr;         // into the file's bytes

    uint64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
    uint64_t n_rows() const { return ne[1] * ne[2] * ne[3]; }
    uint64_t row_bytes() const { return n_rows() ? n_bytes / n_rows() : 0; }
};

class File {
public:
    // Maps and parses `path`; throws ember::Error naming the file and the problem.
    static std::unique_ptr<File> open(const std::string &path);
    // Parses a caller's buffer, which must outlive the File. `name` appears in errors.
    static std::unique_ptr<File> from_buffer(const void *data, size_t size,
                                             const std::string &name = "<memory>");

    const std::string &name() const { return name_; }
    uint32_t version() const { return version_; }
    uint32_t alignment() const { return alignment_; }
    uint64_t data_offset() const { return data_offset_; }
    const uint8_t *bytes() const { return bytes_; }
    size_t size() const { return size_; }
    MappedFile *mapping() const { return mapping_.get(); }

    // Metadata in file order.
    const std::vector<std::pair<std::string_view, Value>> &metadata() const { return kv_; }
    const Value *find(std::string_view key) const;
    bool has(std::string_view key) const { return find(key) != nullptr; }

    // Typed accessors: a missing key or a value of the wrong type (or out of range for the
    // requested integer width) throws an error naming the key. Integers of any width are
    // accepted where they fit; floats accept F32 and F64.
    uint32_t get_u32(std::string_view key) const;
    int32_t get_i32(std::string_view key) const;
    uint64_t get_u64(std::string_view key) const;
    float get_f32(std::string_view key) const;
    bool get_bool(std::string_view key) const;
    std::string get_string(std::string_view key) const;
    const Value &get_array(std::string_view key) const;
    const Value &get_array(std::string_view key, ValueType elem_type) const;
    std::vector<std::string_view> get_string_array(std::string_view key) const;
    std::vector<float> get_f32_array(std::string_view key) const;
    std::vector<int32_t> get_i32_array(std::string_view key) const;

    // Optional keys: the default when absent; still an error when present with a bad type.
    uint32_t get_u32_or(std::string_view key, uint32_t def) const;
    int32_t get_i32_or(std::string_view key, int32_t def) const;
    uint64_t get_u64_or(std::string_view key, uint64_t def) const;
    float get_f32_or(std::string_view key, float def) const;
    bool get_bool_or(std::string_view key, bool def) const;
    std::string get_string_or(std::string_view key, const std::string &def) const;

    const std::vector<TensorInfo> &tensors() const { return tensors_; }
    const TensorInfo *find_tensor(std::string_view name) const;
    // Like find_tensor but throws EMBER_ERR_NOT_FOUND naming the tensor and file.
    const TensorInfo &tensor(std::string_view name) const;

private:
    File() = default;
    void parse();
    [[noreturn]] void key_error(std::string_view key, const std::string &what) const;
    const Value &require(std::string_view key) const;
    int64_t require_integer(std::string_view key, int64_t lo, int64_t hi) const;
    uint64_t require_unsigned(std::string_view key) const;

    std::string name_;
    std::unique_ptr<MappedFile> mapping_;
    const uint8_t *bytes_ = nullptr;
    size_t size_ = 0;
    uint32_t version_ = 0;
    uint32_t alignment_ = kDefaultAlignment;
    uint64_t data_offset_ = 0;
    std::vector<std::pair<std::string_view, Value>> kv_;
    std::unordered_map<std::string_view, size_t> kv_index_;
    std::vector<TensorInfo> tensors_;
    std::unordered_map<std::string_view, size_t> tensor_index_;
};

}  // namespace ember::gguf
