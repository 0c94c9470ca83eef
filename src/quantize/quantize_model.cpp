#include "quantize/quantize_model.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <regex>
#include <exception>
#include <thread>

#include "core/error.h"
#include "cpu/type_traits.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"

namespace ember::quantize {

namespace {

// The quantization format version llama.cpp records (general.quantization_version); 2 is the
// current block layout of every legacy and K type.
constexpr uint32_t kQuantizationVersion = 2;

ModelShape model_shape(const gguf::File &in) {
    ModelShape m;
    m.arch = in.get_string_or("general.architecture", "");
    // Some architectures store per-layer head counts as arrays; the recipes only use the
    // ratio, so an array simply disables the GQA-dependent rules.
    try {
        m.n_head = in.get_u32_or(m.arch + ".attention.head_count", 0);
        m.n_head_kv = in.get_u32_or(m.arch + ".attention.head_count_kv", m.n_head);
    } catch (const Error &) {
        m.n_head = m.n_head_kv = 0;
    }
    for (const gguf::TensorInfo &t : in.tensors()) {
        const std::string name(t.name);
        if (!is_quantizable(name, t.n_dims)) continue;
        if (name.find("attn_v.weight") != std::string::npos || name.find("attn_qkv.weight") != std::string::npos) {
            ++m.n_attn_v;
        }
        if (name.find("ffn_down") != std::string::npos) ++m.n_ffn_down;
    }
    m.has_output = in.find_tensor("output.weight") != nullptr;
    m.n_expert = in.get_u32_or(m.arch + ".expert_count", 0);
    return m;
}

uint64_t tensor_bytes(TensorType type, const std::vector<uint64_t> &ne) {
    uint64_t row = 0;
    if (!tensor_row_bytes(type, ne[0], &row)) {
        fail(EMBER_ERR_INTERNAL, "row of " + std::to_string(ne[0]) + " values does not fit " + tensor_type_name(type));
    }
    uint64_t n = row;
    for (size_t i = 1; i < ne.size(); ++i) n *= ne[i];
    return n;
}

// Converts rows [row_begin, row_end) of `src` (type `from`) into `dst` (type `to`). `scratch`
// holds one row of floats when the source is not F32.
void convert_rows(const gguf::TensorInfo &src, const TensorPlan &plan, uint8_t *dst, uint64_t row_begin,
                  uint64_t row_end, std::vector<float> &scratch) {
    const cpu::TypeTraits *from = cpu::type_traits(plan.from);
    const cpu::TypeTraits *to = cpu::type_traits(plan.to);
    const uint64_t n = plan.ne[0];
    const uint64_t in_row = src.row_bytes();
    uint64_t out_row = 0;
    tensor_row_bytes(plan.to, n, &out_row);
    for (uint64_t r = row_begin; r < row_end; ++r) {
        const uint8_t *in = src.data + r * in_row;
        const float *values = nullptr;
        if (plan.from == TensorType::F32) {
            values = reinterpret_cast<const float *>(in);  // GGUF data is 32-byte aligned
        } else {
            from->dequantize_row(in, scratch.data(), static_cast<int64_t>(n));
            values = scratch.data();
        }
        to->quantize_row(values, dst + r * out_row, static_cast<int64_t>(n), nullptr);
    }
}

void convert_tensor(const gguf::TensorInfo &src, const TensorPlan &plan, uint8_t *dst, int n_threads) {
    const uint64_t n_rows = src.n_rows();
    // At least 16 rows per thread: starting a thread costs more than a few tiny rows.
    const uint64_t max_useful = std::max<uint64_t>(1, n_rows / 16);
    const int n = static_cast<int>(std::min<uint64_t>(static_cast<uint64_t>(std::max(1, n_threads)), max_useful));
    std::vector<std::vector<float>> scratch(static_cast<size_t>(n));
    if (plan.from != TensorType::F32) {
        for (auto &s : scratch) s.resize(plan.ne[0]);
    }
    if (n == 1) {
        convert_rows(src, plan, dst, 0, n_rows, scratch[0]);
        return;
    }
    // A worker's error (a bad EMBER_ISA met by the kernels, out of memory) is rethrown here: one
    // escaping a std::thread would terminate the process.
    std::vector<std::thread> workers;
    std::vector<std::exception_ptr> errors(static_cast<size_t>(n));
    workers.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        const uint64_t begin = n_rows * static_cast<uint64_t>(i) / static_cast<uint64_t>(n);
        const uint64_t end = n_rows * static_cast<uint64_t>(i + 1) / static_cast<uint64_t>(n);
        workers.emplace_back([&, begin, end, i] {
            try {
                convert_rows(src, plan, dst, begin, end, scratch[static_cast<size_t>(i)]);
            } catch (...) {
                errors[static_cast<size_t>(i)] = std::current_exception();
            }
        });
    }
    for (auto &w : workers) w.join();
    for (const std::exception_ptr &e : errors)
        if (e) std::rethrow_exception(e);
}

}  // namespace

QuantizeResult plan_quantization(const gguf::File &in, const QuantizeParams &params) {
    const Recipe *recipe = find_recipe(params.type);
    if (!recipe) fail(EMBER_ERR_INVALID_ARGUMENT, "unknown quantization type '" + params.type + "'");

    std::vector<std::pair<std::regex, TensorType>> overrides;
    for (const TypeOverride &o : params.overrides) {
        try {
            overrides.emplace_back(std::regex(o.pattern, std::regex::ECMAScript), o.type);
        } catch (const std::regex_error &e) {
            fail(EMBER_ERR_INVALID_ARGUMENT, "bad override pattern '" + o.pattern + "': " + e.what());
        }
    }

    const ModelShape model = model_shape(in);
    QuantizeResult result;
    result.file_type = recipe->file_type;
    for (const gguf::TensorInfo &t : in.tensors()) {
        TensorPlan p;
        p.name = std::string(t.name);
        p.ne.assign(t.ne, t.ne + std::max<uint32_t>(1, t.n_dims));
        p.from = p.to = t.type;
        p.bytes_in = t.n_bytes;
        if (recipe_applies(*recipe, p.name, t.n_dims)) {
            TypeChoice choice = choose_type(*recipe, model, p.name, t.ne[0], params.pure);
            for (const auto &o : overrides) {
                if (std::regex_search(p.name, o.first)) {
                    choice = fit_row_length(o.second, t.ne[0]);
                    break;
                }
            }
            p.to = choice.type;
            p.fell_back = choice.fell_back;
        }
        p.converted = p.to != p.from;
        if (p.converted) {
            const cpu::TypeTraits *from = cpu::type_traits(p.from);
            const cpu::TypeTraits *to = cpu::type_traits(p.to);
            if (!from || !from->dequantize_row) {
                fail(EMBER_ERR_UNSUPPORTED, p.name + ": cannot read tensors of type " + tensor_type_name(p.from));
            }
            if (!to || !to->quantize_row) {
                fail(EMBER_ERR_UNSUPPORTED, p.name + ": Ember cannot produce type " + std::string(tensor_type_name(p.to)));
            }
            const bool from_float = p.from == TensorType::F32 || p.from == TensorType::F16 || p.from == TensorType::BF16;
            if (!from_float && !params.allow_requantize) {
                fail(EMBER_ERR_UNSUPPORTED, p.name + " is already " + tensor_type_name(p.from) +
                                                "; requantizing compounds the error, pass --allow-requantize to do it anyway");
            }
            p.bytes_out = tensor_bytes(p.to, p.ne);
        } else {
            p.bytes_out = p.bytes_in;
        }
        result.bytes_in += p.bytes_in;
        result.bytes_out += p.bytes_out;
        result.tensors.push_back(std::move(p));
    }
    return result;
}

QuantizeResult quantize_model(const QuantizeParams &params) {
    const std::unique_ptr<gguf::File> in = gguf::File::open(params.input);
    if (in->get_u32_or("split.count", 1) > 1) {
        fail(EMBER_ERR_UNSUPPORTED, params.input + " is one shard of a split model; merge it first (ember-gguf merge)");
    }
    QuantizeResult result = plan_quantization(*in, params);

    gguf::Writer out;
    out.set_alignment(in->alignment());
    for (const auto &kv : in->metadata()) {
        if (kv.first.compare(0, 6, "split.") == 0) continue;
        out.set_value(kv.first, kv.second);
    }
    out.set_u32("general.quantization_version", kQuantizationVersion);
    out.set_u32("general.file_type", static_cast<uint32_t>(result.file_type));

    const int n_threads = params.n_threads > 0 ? params.n_threads
                                               : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const size_t count = result.tensors.size();
    for (size_t i = 0; i < count; ++i) {
        const TensorPlan &plan = result.tensors[i];
        const gguf::TensorInfo &src = in->tensors()[i];
        out.add_tensor(plan.name, plan.to, plan.ne, [&, i](uint8_t *dst, uint64_t n_bytes) {
            if (n_bytes != plan.bytes_out) fail(EMBER_ERR_INTERNAL, plan.name + ": size mismatch");
            if (plan.converted) {
                convert_tensor(src, plan, dst, n_threads);
            } else {
                std::memcpy(dst, src.data, n_bytes);
            }
            // Each tensor is read once: its pages need not stay resident (peak memory is then
            // about one tensor, not the input file).
            if (in->mapping()) in->mapping()->release(src.data, src.n_bytes);
            if (params.on_tensor) params.on_tensor(plan, i, count);
        });
    }
    out.write_file(params.output);
    return result;
}

}  // namespace ember::quantize
