// Fuzzes the GGUF reader through the memory-buffer entry point, then exercises everything a
// caller can do with what parsed: every accessor on every key, every tensor's bytes, the
// shard bookkeeping, the memory estimate and a write -> re-read round trip. Only ember::Error
// may come out; anything else (a crash, a sanitizer report, another exception) is a bug.
#include <cstdint>
#include <cstring>
#include <string>

#include "core/error.h"
#include "gguf/gguf_shards.h"
#include "gguf/gguf_writer.h"
#include "runtime/memory_estimate.h"

using namespace ember;

namespace {

template <typename F>
void expect_ok_or_error(F &&f) {
    try {
        f();
    } catch (const Error &) {
    }
}

volatile uint64_t g_sink;  // keeps reads from being optimized away

void touch_value(const gguf::Value &v) {
    if (v.type == gguf::ValueType::STRING && !v.str.empty()) g_sink = g_sink + static_cast<uint8_t>(v.str.back());
    if (v.type != gguf::ValueType::ARRAY) return;
    if (v.elem_type == gguf::ValueType::STRING) {
        for (std::string_view s : v.strings)
            if (!s.empty()) g_sink = g_sink + static_cast<uint8_t>(s.front()) + static_cast<uint8_t>(s.back());
    } else if (v.elem_type == gguf::ValueType::ARRAY) {
        for (const gguf::Value &item : v.items) touch_value(item);
    } else if (v.count) {
        g_sink = g_sink + static_cast<uint64_t>(v.number_at(0) != 0) + static_cast<uint64_t>(v.integer_at(v.count - 1));
    }
}

void exercise(const gguf::ShardedModel &model) {
    const gguf::File &f = model.metadata();
    for (const auto &entry : f.metadata()) {
        const std::string_view key = entry.first;  // clang 14 cannot capture structured bindings
        touch_value(entry.second);
        expect_ok_or_error([&] { g_sink = g_sink + f.get_u32(key); });
        expect_ok_or_error([&] { g_sink = g_sink + static_cast<uint64_t>(f.get_i32(key)); });
        expect_ok_or_error([&] { g_sink = g_sink + f.get_u64(key); });
        expect_ok_or_error([&] { g_sink = g_sink + (f.get_f32(key) > 0); });
        expect_ok_or_error([&] { g_sink = g_sink + f.get_bool(key); });
        expect_ok_or_error([&] { g_sink = g_sink + f.get_string(key).size(); });
        expect_ok_or_error([&] { g_sink = g_sink + f.get_string_array(key).size(); });
        expect_ok_or_error([&] { g_sink = g_sink + f.get_f32_array(key).size(); });
        expect_ok_or_error([&] { g_sink = g_sink + f.get_i32_array(key).size(); });
        std::string prefix;
        uint32_t index = 0, count = 0;
        gguf::parse_shard_path(std::string(key), &prefix, &index, &count);
    }
    for (const gguf::TensorInfo *t : model.tensors()) {
        if (model.find_tensor(t->name) != t) __builtin_trap();
        if (t->n_bytes) g_sink = g_sink + t->data[0] + t->data[t->n_bytes - 1];
    }
    expect_ok_or_error([&] {
        MemoryEstimateParams p;
        p.n_gpu_layers = 2;
        const auto e = estimate_memory(model, p);
        g_sink = g_sink + e.total_cpu() + e.total_gpu();
    });
    // Whatever parsed must survive a write and re-read unchanged in shape.
    gguf::Writer w;
    for (const auto &[key, value] : f.metadata()) w.set_value(key, value);
    for (const gguf::TensorInfo *t : model.tensors()) w.add_tensor(*t);
    const auto bytes = w.write_buffer();
    const auto again = gguf::File::from_buffer(bytes.data(), bytes.size(), "rewritten");
    if (again->metadata().size() != f.metadata().size() || again->tensors().size() != model.tensors().size())
        __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    try {
        const auto model = gguf::ShardedModel::from_buffer(data, size, "fuzz");
        exercise(*model);
    } catch (const Error &) {
        // A clear error is the expected outcome for most inputs.
    }
    return 0;
}
