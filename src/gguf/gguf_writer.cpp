#include "gguf/gguf_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/checked_math.h"
#include "core/error.h"

namespace ember::gguf {

namespace {

template <typename T>
void append(std::vector<uint8_t> &out, T v) {
    const size_t at = out.size();
    out.resize(at + sizeof v);
    std::memcpy(out.data() + at, &v, sizeof v);
}
void append_string(std::vector<uint8_t> &out, std::string_view s) {
    append<uint64_t>(out, s.size());
    out.insert(out.end(), s.begin(), s.end());
}
void append_type(std::vector<uint8_t> &out, ValueType t) { append<uint32_t>(out, static_cast<uint32_t>(t)); }

// Encodes a parsed value's payload (without its type id).
void encode_payload(std::vector<uint8_t> &out, const Value &v) {
    switch (v.type) {
        case ValueType::U8: append<uint8_t>(out, static_cast<uint8_t>(v.u64)); break;
        case ValueType::I8: append<int8_t>(out, static_cast<int8_t>(v.i64)); break;
        case ValueType::U16: append<uint16_t>(out, static_cast<uint16_t>(v.u64)); break;
        case ValueType::I16: append<int16_t>(out, static_cast<int16_t>(v.i64)); break;
        case ValueType::U32: append<uint32_t>(out, static_cast<uint32_t>(v.u64)); break;
        case ValueType::I32: append<int32_t>(out, static_cast<int32_t>(v.i64)); break;
        case ValueType::U64: append<uint64_t>(out, v.u64); break;
        case ValueType::I64: append<int64_t>(out, v.i64); break;
        case ValueType::F32: append<float>(out, static_cast<float>(v.f64)); break;
        case ValueType::F64: append<double>(out, v.f64); break;
        case ValueType::BOOL: append<uint8_t>(out, v.b ? 1 : 0); break;
        case ValueType::STRING: append_string(out, v.str); break;
        case ValueType::ARRAY:
            append_type(out, v.elem_type);
            append<uint64_t>(out, v.count);
            if (v.elem_type == ValueType::STRING) {
                for (std::string_view s : v.strings) append_string(out, s);
            } else if (v.elem_type == ValueType::ARRAY) {
                for (const Value &item : v.items) encode_payload(out, item);
            } else {
                out.insert(out.end(), v.raw, v.raw + v.count * value_type_size(v.elem_type));
            }
            break;
    }
}

template <typename T>
std::vector<uint8_t> encode_scalar(ValueType type, T v) {
    std::vector<uint8_t> out;
    append_type(out, type);
    append<T>(out, v);
    return out;
}

class FileSink {
public:
    explicit FileSink(const std::string &path) : path_(path), f_(std::fopen(path.c_str(), "wb")) {
        if (!f_) fail(EMBER_ERR_IO, path + ": cannot create: " + std::strerror(errno));
    }
    ~FileSink() {
        if (f_) std::fclose(f_);
    }
    void write(const void *p, size_t n) {
        if (n && std::fwrite(p, 1, n, f_) != n) fail(EMBER_ERR_IO, path_ + ": write failed: " + std::strerror(errno));
    }
    void close() {
        const int rc = std::fclose(f_);
        f_ = nullptr;
        if (rc != 0) fail(EMBER_ERR_IO, path_ + ": write failed on close: " + std::strerror(errno));
    }

private:
    std::string path_;
    std::FILE *f_;
};

struct BufferSink {
    std::vector<uint8_t> bytes;
    void write(const void *p, size_t n) {
        const uint8_t *b = static_cast<const uint8_t *>(p);
        bytes.insert(bytes.end(), b, b + n);
    }
};

}  // namespace

void Writer::put(std::string_view key, std::vector<uint8_t> encoded) {
    for (Kv &kv : kv_)
        if (kv.key == key) {
            kv.encoded = std::move(encoded);
            return;
        }
    kv_.push_back({std::string(key), std::move(encoded)});
}

void Writer::set_alignment(uint32_t alignment) {
    if (!is_power_of_two(alignment)) fail(EMBER_ERR_INVALID_ARGUMENT, "GGUF alignment must be a power of two");
    alignment_ = alignment;
    set_u32("general.alignment", alignment);
}

void Writer::set_u8(std::string_view k, uint8_t v) { put(k, encode_scalar(ValueType::U8, v)); }
void Writer::set_i8(std::string_view k, int8_t v) { put(k, encode_scalar(ValueType::I8, v)); }
void Writer::set_u16(std::string_view k, uint16_t v) { put(k, encode_scalar(ValueType::U16, v)); }
void Writer::set_i16(std::string_view k, int16_t v) { put(k, encode_scalar(ValueType::I16, v)); }
void Writer::set_u32(std::string_view k, uint32_t v) { put(k, encode_scalar(ValueType::U32, v)); }
void Writer::set_i32(std::string_view k, int32_t v) { put(k, encode_scalar(ValueType::I32, v)); }
void Writer::set_u64(std::string_view k, uint64_t v) { put(k, encode_scalar(ValueType::U64, v)); }
void Writer::set_i64(std::string_view k, int64_t v) { put(k, encode_scalar(ValueType::I64, v)); }
void Writer::set_f32(std::string_view k, float v) { put(k, encode_scalar(ValueType::F32, v)); }
void Writer::set_f64(std::string_view k, double v) { put(k, encode_scalar(ValueType::F64, v)); }
void Writer::set_bool(std::string_view k, bool v) { put(k, encode_scalar<uint8_t>(ValueType::BOOL, v ? 1 : 0)); }

void Writer::set_string(std::string_view k, std::string_view v) {
    std::vector<uint8_t> out;
    append_type(out, ValueType::STRING);
    append_string(out, v);
    put(k, std::move(out));
}

void Writer::set_string_array(std::string_view k, const std::vector<std::string> &v) {
    std::vector<uint8_t> out;
    append_type(out, ValueType::ARRAY);
    append_type(out, ValueType::STRING);
    append<uint64_t>(out, v.size());
    for (const std::string &s : v) append_string(out, s);
    put(k, std::move(out));
}

void Writer::set_array(std::string_view k, ValueType elem_type, const void *data, uint64_t count) {
    const size_t elem = value_type_size(elem_type);
    if (elem == 0) fail(EMBER_ERR_INVALID_ARGUMENT, "set_array: '" + std::string(k) + "' needs a numeric element type");
    std::vector<uint8_t> out;
    append_type(out, ValueType::ARRAY);
    append_type(out, elem_type);
    append<uint64_t>(out, count);
    const uint8_t *p = static_cast<const uint8_t *>(data);
    out.insert(out.end(), p, p + count * elem);
    put(k, std::move(out));
}

void Writer::set_value(std::string_view k, const Value &v) {
    if (k == "general.alignment" && value_type_is_integer(v.type) && is_power_of_two(v.u64)) alignment_ = static_cast<uint32_t>(v.u64);
    std::vector<uint8_t> out;
    append_type(out, v.type);
    encode_payload(out, v);
    put(k, std::move(out));
}

void Writer::remove(std::string_view key) {
    for (size_t i = 0; i < kv_.size(); ++i)
        if (kv_[i].key == key) {
            kv_.erase(kv_.begin() + static_cast<std::ptrdiff_t>(i));
            if (key == "general.alignment") alignment_ = kDefaultAlignment;
            return;
        }
}

bool Writer::has(std::string_view key) const {
    for (const Kv &kv : kv_)
        if (kv.key == key) return true;
    return false;
}

void Writer::add_tensor(std::string_view name, TensorType type, const std::vector<uint64_t> &ne, TensorProducer produce) {
    if (ne.empty() || ne.size() > kMaxDims)
        fail(EMBER_ERR_INVALID_ARGUMENT, "tensor '" + std::string(name) + "': 1 to 4 dimensions required");
    for (const Tensor &t : tensors_)
        if (t.name == name) fail(EMBER_ERR_INVALID_ARGUMENT, "duplicate tensor name '" + std::string(name) + "'");
    uint64_t rows = 1, row_bytes = 0, n_bytes = 0;
    for (size_t d = 1; d < ne.size(); ++d)
        if (mul_overflows(rows, ne[d], &rows)) fail(EMBER_ERR_INVALID_ARGUMENT, "tensor '" + std::string(name) + "' is too large");
    if (!tensor_row_bytes(type, ne[0], &row_bytes) || mul_overflows(row_bytes, rows, &n_bytes))
        fail(EMBER_ERR_INVALID_ARGUMENT, "tensor '" + std::string(name) + "': row length " + std::to_string(ne[0]) +
                                             " does not fit type " + tensor_type_name(type));
    tensors_.push_back({std::string(name), type, ne, n_bytes, std::move(produce)});
}

void Writer::add_tensor(std::string_view name, TensorType type, const std::vector<uint64_t> &ne, const void *data) {
    add_tensor(name, type, ne, [data](uint8_t *dst, uint64_t n) { std::memcpy(dst, data, n); });
}

void Writer::add_tensor(const TensorInfo &t) {
    add_tensor(t.name, t.type, std::vector<uint64_t>(t.ne, t.ne + t.n_dims), static_cast<const void *>(t.data));
}

std::vector<uint8_t> Writer::header_bytes() const {
    std::vector<uint8_t> out;
    out.insert(out.end(), {'G', 'G', 'U', 'F'});
    append<uint32_t>(out, 3);
    append<uint64_t>(out, tensors_.size());
    append<uint64_t>(out, kv_.size());
    for (const Kv &kv : kv_) {
        append_string(out, kv.key);
        out.insert(out.end(), kv.encoded.begin(), kv.encoded.end());
    }
    uint64_t offset = 0;
    for (const Tensor &t : tensors_) {
        append_string(out, t.name);
        append<uint32_t>(out, static_cast<uint32_t>(t.ne.size()));
        for (uint64_t n : t.ne) append<uint64_t>(out, n);
        append<uint32_t>(out, static_cast<uint32_t>(t.type));
        append<uint64_t>(out, offset);
        align_up(offset + t.n_bytes, alignment_, &offset);
    }
    uint64_t padded = out.size();
    align_up(out.size(), alignment_, &padded);
    out.resize(padded, 0);
    return out;
}

template <typename Sink>
void Writer::emit(Sink &sink) const {
    const std::vector<uint8_t> header = header_bytes();
    sink.write(header.data(), header.size());
    std::vector<uint8_t> buf;
    const std::vector<uint8_t> zeros(alignment_, 0);
    for (const Tensor &t : tensors_) {
        buf.assign(t.n_bytes, 0);
        t.produce(buf.data(), t.n_bytes);
        sink.write(buf.data(), buf.size());
        const uint64_t pad = (alignment_ - t.n_bytes % alignment_) % alignment_;
        sink.write(zeros.data(), pad);
    }
}

void Writer::write_file(const std::string &path) const {
    const std::string tmp = path + ".tmp";
    try {
        FileSink sink(tmp);
        emit(sink);
        sink.close();
    } catch (...) {
        std::remove(tmp.c_str());
        throw;
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        std::remove(tmp.c_str());
        fail(EMBER_ERR_IO, path + ": cannot rename the written file into place: " + std::strerror(err));
    }
}

std::vector<uint8_t> Writer::write_buffer() const {
    BufferSink sink;
    emit(sink);
    return std::move(sink.bytes);
}

}  // namespace ember::gguf
