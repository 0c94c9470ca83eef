#include "gguf/gguf_file.h"

#include <cstring>
#include <limits>

#include "core/checked_math.h"
#include "core/error.h"

namespace ember::gguf {

namespace {

constexpr uint32_t kMaxNesting = 8;  // arrays of arrays deeper than this are rejected

// Reads little-endian fields from [begin, end) and throws on any read past the end.
class Cursor {
public:
    Cursor(const uint8_t *data, size_t size, const std::string &file) : data_(data), size_(size), file_(file) {}

    size_t pos() const { return pos_; }
    size_t remaining() const { return size_ - pos_; }

    template <typename T>
    T read(const char *what) {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, data_ + pos_, sizeof v);
        pos_ += sizeof v;
        return v;
    }
    std::string_view read_string(const char *what) {
        const uint64_t len = read<uint64_t>(what);
        need(len, what);
        std::string_view s(reinterpret_cast<const char *>(data_ + pos_), static_cast<size_t>(len));
        pos_ += static_cast<size_t>(len);
        return s;
    }
    const uint8_t *skip(uint64_t n, const char *what) {
        need(n, what);
        const uint8_t *p = data_ + pos_;
        pos_ += static_cast<size_t>(n);
        return p;
    }
    void need(uint64_t n, const char *what) const {
        if (n > remaining())
            fail(EMBER_ERR_BAD_FORMAT, file_ + ": truncated GGUF: " + what + " needs " + std::to_string(n) +
                                           " bytes at offset " + std::to_string(pos_) + ", only " +
                                           std::to_string(remaining()) + " left");
    }
    // Rejects a count whose minimal encoding could not fit in what is left, before any
    // allocation sized by it.
    void check_count(uint64_t count, uint64_t min_bytes_each, const char *what) const {
        uint64_t total;
        if (mul_overflows(count, min_bytes_each, &total) || total > remaining())
            fail(EMBER_ERR_BAD_FORMAT, file_ + ": " + what + " count " + std::to_string(count) +
                                           " does not fit in the file (offset " + std::to_string(pos_) + ")");
    }
    [[noreturn]] void error(const std::string &what) const {
        fail(EMBER_ERR_BAD_FORMAT, file_ + ": " + what + " (offset " + std::to_string(pos_) + ")");
    }

private:
    const uint8_t *data_;
    size_t size_;
    size_t pos_ = 0;
    const std::string &file_;
};

ValueType read_value_type(Cursor &c, const char *what) {
    const uint32_t t = c.read<uint32_t>(what);
    if (t >= kValueTypeCount) c.error(std::string("unknown metadata value type ") + std::to_string(t) + " in " + what);
    return static_cast<ValueType>(t);
}

void read_scalar(Cursor &c, ValueType type, Value &v) {
    v.type = type;
    auto set_unsigned = [&v](uint64_t x) { v.u64 = x; v.i64 = static_cast<int64_t>(x); };
    auto set_signed = [&v](int64_t x) { v.i64 = x; v.u64 = static_cast<uint64_t>(x); v.is_negative = x < 0; };
    switch (type) {
        case ValueType::U8: set_unsigned(c.read<uint8_t>("u8 value")); break;
        case ValueType::I8: set_signed(c.read<int8_t>("i8 value")); break;
        case ValueType::U16: set_unsigned(c.read<uint16_t>("u16 value")); break;
        case ValueType::I16: set_signed(c.read<int16_t>("i16 value")); break;
        case ValueType::U32: set_unsigned(c.read<uint32_t>("u32 value")); break;
        case ValueType::I32: set_signed(c.read<int32_t>("i32 value")); break;
        case ValueType::U64: set_unsigned(c.read<uint64_t>("u64 value")); break;
        case ValueType::I64: set_signed(c.read<int64_t>("i64 value")); break;
        case ValueType::F32: v.f64 = c.read<float>("f32 value"); break;
        case ValueType::F64: v.f64 = c.read<double>("f64 value"); break;
        case ValueType::BOOL: {
            const uint8_t b = c.read<uint8_t>("bool value");
            if (b > 1) c.error("bool value " + std::to_string(b) + " is neither 0 nor 1");
            v.b = b != 0;
            v.u64 = b;
            v.i64 = b;
            break;
        }
        case ValueType::STRING: v.str = c.read_string("string value"); break;
        case ValueType::ARRAY: break;  // handled by read_value
    }
}

void read_value(Cursor &c, ValueType type, Value &v, uint32_t depth) {
    if (type != ValueType::ARRAY) {
        read_scalar(c, type, v);
        return;
    }
    if (depth >= kMaxNesting) c.error("arrays nested deeper than " + std::to_string(kMaxNesting));
    v.type = ValueType::ARRAY;
    v.elem_type = read_value_type(c, "array element type");
    v.count = c.read<uint64_t>("array length");
    switch (v.elem_type) {
        case ValueType::STRING:
            c.check_count(v.count, 8, "string array");
            v.strings.reserve(static_cast<size_t>(v.count));
            for (uint64_t i = 0; i < v.count; ++i) v.strings.push_back(c.read_string("array string"));
            break;
        case ValueType::ARRAY:
            c.check_count(v.count, 12, "nested array");
            v.items.resize(static_cast<size_t>(v.count));
            for (uint64_t i = 0; i < v.count; ++i) read_value(c, ValueType::ARRAY, v.items[i], depth + 1);
            break;
        default: {
            const uint64_t elem = value_type_size(v.elem_type);
            c.check_count(v.count, elem, "array");
            v.raw = c.skip(v.count * elem, "array data");
            if (v.elem_type == ValueType::BOOL)
                for (uint64_t i = 0; i < v.count; ++i)
                    if (v.raw[i] > 1) c.error("bool array element is neither 0 nor 1");
            break;
        }
    }
}

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

}  // namespace

std::unique_ptr<File> File::open(const std::string &path) {
    std::unique_ptr<File> f(new File());
    f->name_ = path;
    f->mapping_ = std::make_unique<MappedFile>(path);
    f->bytes_ = f->mapping_->data();
    f->size_ = f->mapping_->size();
    f->parse();
    return f;
}

std::unique_ptr<File> File::from_buffer(const void *data, size_t size, const std::string &name) {
    if (!data && size) fail(EMBER_ERR_INVALID_ARGUMENT, name + ": NULL buffer");
    std::unique_ptr<File> f(new File());
    f->name_ = name;
    f->bytes_ = static_cast<const uint8_t *>(data);
    f->size_ = size;
    f->parse();
    return f;
}

void File::parse() {
    static const uint8_t empty = 0;
    Cursor c(bytes_ ? bytes_ : &empty, size_, name_);

    // Header: magic, version, tensor count, metadata count.
    const uint8_t *magic = c.skip(4, "magic");
    if (std::memcmp(magic, "GGUF", 4) != 0) {
        if (std::memcmp(magic, "FUGG", 4) == 0)
            fail(EMBER_ERR_BAD_FORMAT, name_ + ": big-endian GGUF is not supported");
        fail(EMBER_ERR_BAD_FORMAT, name_ + ": not a GGUF file (bad magic)");
    }
    version_ = c.read<uint32_t>("version");
    if (version_ != 0 && (version_ & 0xFFFF) == 0)
        fail(EMBER_ERR_BAD_FORMAT, name_ + ": big-endian GGUF is not supported");
    if (version_ == 1)
        fail(EMBER_ERR_BAD_FORMAT, name_ + ": GGUF version 1 is not supported (convert it to v3)");
    if (version_ != 2 && version_ != 3)
        fail(EMBER_ERR_BAD_FORMAT, name_ + ": unsupported GGUF version " + std::to_string(version_));
    const uint64_t n_tensors = c.read<uint64_t>("tensor count");
    const uint64_t n_kv = c.read<uint64_t>("metadata count");

    // Metadata: each entry is at least a key length (8), a type (4) and one byte of value.
    c.check_count(n_kv, 13, "metadata");
    kv_.reserve(static_cast<size_t>(n_kv));
    for (uint64_t i = 0; i < n_kv; ++i) {
        const std::string_view key = c.read_string("metadata key");
        if (kv_index_.count(key)) c.error("duplicate metadata key " + quoted(key));
        Value v;
        const ValueType type = read_value_type(c, "metadata value type");
        read_value(c, type, v, 0);
        kv_index_.emplace(key, kv_.size());
        kv_.emplace_back(key, std::move(v));
    }

    if (const Value *a = find("general.alignment")) {
        if (!value_type_is_integer(a->type) || a->is_negative || a->u64 > std::numeric_limits<uint32_t>::max() ||
            !is_power_of_two(a->u64))
            fail(EMBER_ERR_BAD_FORMAT, name_ + ": general.alignment must be a power of two (got " +
                                           (value_type_is_integer(a->type) ? std::to_string(a->i64)
                                                                           : std::string(value_type_name(a->type))) +
                                           ")");
        alignment_ = static_cast<uint32_t>(a->u64);
    }

    // Tensor infos: name (>= 8), n_dims (4), >= 1 dim (8), type (4), offset (8).
    c.check_count(n_tensors, 32, "tensor");
    tensors_.reserve(static_cast<size_t>(n_tensors));
    for (uint64_t i = 0; i < n_tensors; ++i) {
        TensorInfo t;
        t.name = c.read_string("tensor name");
        if (t.name.empty()) c.error("tensor " + std::to_string(i) + " has an empty name");
        if (tensor_index_.count(t.name)) c.error("duplicate tensor name " + quoted(t.name));
        t.n_dims = c.read<uint32_t>("tensor dimension count");
        if (t.n_dims == 0 || t.n_dims > kMaxDims)
            c.error("tensor " + quoted(t.name) + " has " + std::to_string(t.n_dims) + " dimensions (1 to 4 allowed)");
        uint64_t n_elements = 1;
        for (uint32_t d = 0; d < t.n_dims; ++d) {
            t.ne[d] = c.read<uint64_t>("tensor dimension");
            if (t.ne[d] > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
                mul_overflows(n_elements, t.ne[d], &n_elements) ||
                n_elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                c.error("tensor " + quoted(t.name) + " has an impossible shape");
        }
        const uint32_t type_id = c.read<uint32_t>("tensor type");
        const TensorTypeInfo *info = tensor_type_info(type_id);
        if (!info) c.error("tensor " + quoted(t.name) + " has unknown type id " + std::to_string(type_id));
        t.type = info->type;
        if (t.ne[0] % info->block_size != 0)
            c.error("tensor " + quoted(t.name) + " (" + info->name + ") has row length " + std::to_string(t.ne[0]) +
                    ", not a multiple of the block size " + std::to_string(info->block_size));
        uint64_t row_bytes = 0;
        if (!tensor_row_bytes(t.type, t.ne[0], &row_bytes) || mul_overflows(row_bytes, t.n_rows(), &t.n_bytes))
            c.error("tensor " + quoted(t.name) + " is too large");
        t.offset = c.read<uint64_t>("tensor offset");
        if (t.offset % alignment_ != 0)
            c.error("tensor " + quoted(t.name) + " offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
                    std::to_string(alignment_));
        tensor_index_.emplace(t.name, tensors_.size());
        tensors_.push_back(t);
    }

    // Data section: starts at the next alignment boundary; every tensor must lie inside it.
    if (!align_up(c.pos(), alignment_, &data_offset_)) c.error("data section offset overflows");
    if (!tensors_.empty() && data_offset_ > size_)
        fail(EMBER_ERR_BAD_FORMAT, name_ + ": truncated GGUF: data section starts at " + std::to_string(data_offset_) +
                                       " but the file has " + std::to_string(size_) + " bytes");
    const uint64_t data_size = data_offset_ <= size_ ? size_ - data_offset_ : 0;
    for (TensorInfo &t : tensors_) {
        uint64_t end;
        if (add_overflows(t.offset, t.n_bytes, &end) || end > data_size)
            fail(EMBER_ERR_BAD_FORMAT, name_ + ": tensor " + quoted(t.name) + " data [" + std::to_string(t.offset) + ", +" +
                                           std::to_string(t.n_bytes) + ") lies outside the data section (" +
                                           std::to_string(data_size) + " bytes); the file may be truncated");
        t.data = bytes_ + data_offset_ + t.offset;
    }
}

const Value *File::find(std::string_view key) const {
    auto it = kv_index_.find(key);
    return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

const TensorInfo *File::find_tensor(std::string_view name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo &File::tensor(std::string_view name) const {
    const TensorInfo *t = find_tensor(name);
    if (!t) fail(EMBER_ERR_NOT_FOUND, name_ + ": tensor " + quoted(name) + " not found");
    return *t;
}

void File::key_error(std::string_view key, const std::string &what) const {
    fail(EMBER_ERR_BAD_FORMAT, name_ + ": metadata key " + quoted(key) + " " + what);
}

const Value &File::require(std::string_view key) const {
    const Value *v = find(key);
    if (!v) fail(EMBER_ERR_NOT_FOUND, name_ + ": required metadata key " + quoted(key) + " is missing");
    return *v;
}

int64_t File::require_integer(std::string_view key, int64_t lo, int64_t hi) const {
    const Value &v = require(key);
    if (!value_type_is_integer(v.type))
        key_error(key, std::string("has type ") + value_type_name(v.type) + ", expected an integer");
    const bool too_big = !v.is_negative && v.u64 > static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    if (too_big || v.i64 < lo || v.i64 > hi)
        key_error(key, "value " + (v.is_negative ? std::to_string(v.i64) : std::to_string(v.u64)) + " is out of range");
    return v.i64;
}

uint64_t File::require_unsigned(std::string_view key) const {
    const Value &v = require(key);
    if (!value_type_is_integer(v.type))
        key_error(key, std::string("has type ") + value_type_name(v.type) + ", expected an integer");
    if (v.is_negative) key_error(key, "value " + std::to_string(v.i64) + " is negative");
    return v.u64;
}

uint32_t File::get_u32(std::string_view key) const {
    return static_cast<uint32_t>(require_integer(key, 0, std::numeric_limits<uint32_t>::max()));
}
int32_t File::get_i32(std::string_view key) const {
    return static_cast<int32_t>(
        require_integer(key, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()));
}
uint64_t File::get_u64(std::string_view key) const { return require_unsigned(key); }

float File::get_f32(std::string_view key) const {
    const Value &v = require(key);
    if (!value_type_is_float(v.type)) key_error(key, std::string("has type ") + value_type_name(v.type) + ", expected a float");
    return static_cast<float>(v.f64);
}
bool File::get_bool(std::string_view key) const {
    const Value &v = require(key);
    if (v.type != ValueType::BOOL) key_error(key, std::string("has type ") + value_type_name(v.type) + ", expected bool");
    return v.b;
}
std::string File::get_string(std::string_view key) const {
    const Value &v = require(key);
    if (v.type != ValueType::STRING) key_error(key, std::string("has type ") + value_type_name(v.type) + ", expected string");
    return std::string(v.str);
}
const Value &File::get_array(std::string_view key) const {
    const Value &v = require(key);
    if (v.type != ValueType::ARRAY) key_error(key, std::string("has type ") + value_type_name(v.type) + ", expected array");
    return v;
}
const Value &File::get_array(std::string_view key, ValueType elem_type) const {
    const Value &v = get_array(key);
    if (v.elem_type != elem_type)
        key_error(key, std::string("is an array of ") + value_type_name(v.elem_type) + ", expected " +
                           value_type_name(elem_type));
    return v;
}
std::vector<std::string_view> File::get_string_array(std::string_view key) const {
    return get_array(key, ValueType::STRING).strings;
}
std::vector<float> File::get_f32_array(std::string_view key) const {
    const Value &v = get_array(key);
    if (!value_type_is_float(v.elem_type) && !value_type_is_integer(v.elem_type))
        key_error(key, std::string("is an array of ") + value_type_name(v.elem_type) + ", expected numbers");
    std::vector<float> out(static_cast<size_t>(v.count));
    for (uint64_t i = 0; i < v.count; ++i) out[i] = static_cast<float>(v.number_at(i));
    return out;
}
std::vector<int32_t> File::get_i32_array(std::string_view key) const {
    const Value &v = get_array(key);
    if (!value_type_is_integer(v.elem_type))
        key_error(key, std::string("is an array of ") + value_type_name(v.elem_type) + ", expected integers");
    std::vector<int32_t> out(static_cast<size_t>(v.count));
    for (uint64_t i = 0; i < v.count; ++i) {
        const int64_t x = v.integer_at(i);
        if (x < std::numeric_limits<int32_t>::min() || x > std::numeric_limits<int32_t>::max() ||
            (v.elem_type == ValueType::U64 && x < 0))
            key_error(key, "element " + std::to_string(i) + " does not fit in 32 bits");
        out[i] = static_cast<int32_t>(x);
    }
    return out;
}

uint32_t File::get_u32_or(std::string_view key, uint32_t def) const { return has(key) ? get_u32(key) : def; }
int32_t File::get_i32_or(std::string_view key, int32_t def) const { return has(key) ? get_i32(key) : def; }
uint64_t File::get_u64_or(std::string_view key, uint64_t def) const { return has(key) ? get_u64(key) : def; }
float File::get_f32_or(std::string_view key, float def) const { return has(key) ? get_f32(key) : def; }
bool File::get_bool_or(std::string_view key, bool def) const { return has(key) ? get_bool(key) : def; }
std::string File::get_string_or(std::string_view key, const std::string &def) const {
    return has(key) ? get_string(key) : def;
}

}  // namespace ember::gguf
