// ember-gguf info: what a GGUF file holds and what it will need in memory.
#include <cinttypes>
#include <cstdio>
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "commands.h"
#include "common/cli.h"
#include "common/kv_options.h"
#include "gguf/gguf_shards.h"
#include "runtime/memory_estimate.h"

namespace ember::tools {

namespace {

using gguf::Value;
using gguf::ValueType;

constexpr uint64_t kArrayPreview = 8;   // arrays longer than this are summarized
constexpr size_t kStringPreview = 80;   // strings longer than this are cut in text output

std::string escaped(std::string_view s, size_t limit) {
    std::string out;
    for (size_t i = 0; i < s.size() && i < limit; ++i) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c == '"') out += "\\\"";
        else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else out += static_cast<char>(c);
    }
    if (s.size() > limit) out += "...";
    return out;
}

std::string scalar_text(const Value &v) {
    switch (v.type) {
        case ValueType::F32: case ValueType::F64: {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%g", v.f64);
            return buf;
        }
        case ValueType::BOOL: return v.b ? "true" : "false";
        case ValueType::STRING: return "\"" + escaped(v.str, kStringPreview) + "\"";
        default: return v.is_negative ? std::to_string(v.i64) : std::to_string(v.u64);
    }
}

std::string value_text(const Value &v) {
    if (v.type != ValueType::ARRAY) return scalar_text(v);
    std::string out = "[";
    const uint64_t shown = v.count <= kArrayPreview ? v.count : 5;
    for (uint64_t i = 0; i < shown; ++i) {
        if (i) out += ", ";
        if (v.elem_type == ValueType::STRING) out += "\"" + escaped(v.strings[i], 24) + "\"";
        else if (v.elem_type == ValueType::ARRAY) out += value_text(v.items[i]);
        else if (gguf::value_type_is_float(v.elem_type)) {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%g", v.number_at(i));
            out += buf;
        } else out += std::to_string(v.integer_at(i));
    }
    if (shown < v.count) out += ", ... (" + std::to_string(v.count) + " total)";
    return out + "]";
}

std::string type_text(const Value &v) {
    if (v.type != ValueType::ARRAY) return gguf::value_type_name(v.type);
    return std::string("arr[") + gguf::value_type_name(v.elem_type) + "," + std::to_string(v.count) + "]";
}

nlohmann::json value_json(const Value &v, bool summarize) {
    using nlohmann::json;
    switch (v.type) {
        case ValueType::F32: case ValueType::F64: return v.f64;
        case ValueType::BOOL: return v.b;
        case ValueType::STRING: return std::string(v.str);
        case ValueType::ARRAY: {
            json items = json::array();
            const uint64_t shown = (summarize && v.count > kArrayPreview) ? kArrayPreview : v.count;
            for (uint64_t i = 0; i < shown; ++i) {
                if (v.elem_type == ValueType::STRING) items.push_back(std::string(v.strings[i]));
                else if (v.elem_type == ValueType::ARRAY) items.push_back(value_json(v.items[i], summarize));
                else if (gguf::value_type_is_float(v.elem_type)) items.push_back(v.number_at(i));
                else if (v.elem_type == ValueType::BOOL) items.push_back(v.integer_at(i) != 0);
                else items.push_back(v.integer_at(i));
            }
            if (shown == v.count) return items;
            return json{{"type", "array"}, {"elem_type", gguf::value_type_name(v.elem_type)}, {"count", v.count},
                        {"head", items}};
        }
        default:
            if (v.is_negative) return v.i64;
            return v.u64;
    }
}

std::string shape_text(const gguf::TensorInfo &t) {
    std::string s = "[";
    for (uint32_t d = 0; d < t.n_dims; ++d) s += (d ? ", " : "") + std::to_string(t.ne[d]);
    return s + "]";
}

std::string mib(uint64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
    return buf;
}

struct Totals {
    uint64_t n_params = 0, n_bytes = 0;
    uint64_t n_active = 0;                   // parameters one token runs through (MoE: its experts only)
    uint32_t n_expert = 0, n_expert_used = 0;
    std::map<std::string, std::pair<uint64_t, uint64_t>> by_type;  // name -> (tensors, bytes)
    double bits_per_weight() const { return n_params ? 8.0 * static_cast<double>(n_bytes) / static_cast<double>(n_params) : 0; }
};

Totals compute_totals(const gguf::ShardedModel &m) {
    Totals t;
    const gguf::File &meta = m.metadata();
    const std::string arch = meta.get_string_or("general.architecture", "");
    t.n_expert = meta.get_u32_or(arch + ".expert_count", 0);
    t.n_expert_used = std::min(meta.get_u32_or(arch + ".expert_used_count", 0), t.n_expert);
    for (const gguf::TensorInfo *ti : m.tensors()) {
        t.n_params += ti->n_elements();
        // A stack of expert matrices ("*_exps", one slice per expert): a token uses k of them.
        const bool experts = t.n_expert > 0 && ti->n_dims == 3 && ti->ne[2] == t.n_expert &&
                             std::string_view(ti->name).find("_exps") != std::string_view::npos;
        t.n_active += experts ? ti->n_elements() / t.n_expert * t.n_expert_used : ti->n_elements();
        t.n_bytes += ti->n_bytes;
        auto &row = t.by_type[tensor_type_name(ti->type)];
        row.first += 1;
        row.second += ti->n_bytes;
    }
    return t;
}

int print_json(const gguf::ShardedModel &m, const Totals &totals, const MemoryEstimate &e, model::KvTypes types) {
    using nlohmann::json;
    const gguf::File &meta = m.metadata();
    json out;
    out["file"] = meta.name();
    out["version"] = meta.version();
    out["n_shards"] = m.n_shards();
    out["architecture"] = e.arch;
    json kv = json::object();
    for (const auto &[key, value] : meta.metadata()) kv[std::string(key)] = value_json(value, true);
    out["metadata"] = kv;
    json tensors = json::array();
    for (const gguf::TensorInfo *t : m.tensors())
        tensors.push_back({{"name", std::string(t->name)},
                           {"type", tensor_type_name(t->type)},
                           {"shape", std::vector<uint64_t>(t->ne, t->ne + t->n_dims)},
                           {"n_elements", t->n_elements()},
                           {"bytes", t->n_bytes},
                           {"offset", t->offset}});
    out["tensors"] = tensors;
    json by_type = json::object();
    for (const auto &[name, row] : totals.by_type) by_type[name] = {{"tensors", row.first}, {"bytes", row.second}};
    out["totals"] = {{"n_tensors", m.tensors().size()}, {"n_params", totals.n_params}, {"bytes", totals.n_bytes},
                     {"n_params_active", totals.n_active}, {"n_expert", totals.n_expert},
                     {"n_expert_used", totals.n_expert_used}, {"bits_per_weight", totals.bits_per_weight()},
                     {"by_type", by_type}};
    out["memory_estimate"] = {
        {"n_ctx", e.n_ctx}, {"n_layers", e.n_layers}, {"n_gpu_layers", e.n_gpu_layers},
        {"type_k", model::kv_type_name(types.k)}, {"type_v", model::kv_type_name(types.v)},
        {"cpu", {{"weights", e.weights_cpu}, {"kv_cache", e.kv_cpu}, {"compute", e.compute_cpu}, {"total", e.total_cpu()}}},
        {"gpu", {{"weights", e.weights_gpu}, {"kv_cache", e.kv_gpu}, {"compute", e.compute_gpu}, {"total", e.total_gpu()}}}};
    std::puts(out.dump(2, ' ', false, json::error_handler_t::replace).c_str());
    return 0;
}

int print_text(const gguf::ShardedModel &m, const Totals &totals, const MemoryEstimate &e, model::KvTypes types) {
    const gguf::File &meta = m.metadata();
    std::printf("file: %s (GGUF v%u, %zu shard%s, %" PRIu64 " bytes, alignment %u)\n", meta.name().c_str(), meta.version(),
                m.n_shards(), m.n_shards() == 1 ? "" : "s", m.total_bytes(), meta.alignment());
    std::printf("architecture: %s\n\n", e.arch.empty() ? "(none)" : e.arch.c_str());
    std::printf("metadata (%zu keys):\n", meta.metadata().size());
    for (const auto &[key, value] : meta.metadata())
        std::printf("  %-44s %-16s %s\n", std::string(key).c_str(), type_text(value).c_str(), value_text(value).c_str());
    std::printf("\ntensors (%zu):\n  %-40s %-8s %-22s %12s\n", m.tensors().size(), "name", "type", "shape", "bytes");
    for (const gguf::TensorInfo *t : m.tensors())
        std::printf("  %-40s %-8s %-22s %12" PRIu64 "\n", std::string(t->name).c_str(), tensor_type_name(t->type),
                    shape_text(*t).c_str(), t->n_bytes);
    std::printf("\ntotals: %" PRIu64 " parameters, %" PRIu64 " bytes (%s), %.2f bits per weight\n", totals.n_params,
                totals.n_bytes, mib(totals.n_bytes).c_str(), totals.bits_per_weight());
    if (totals.n_expert > 0)
        std::printf("  mixture of experts: %u experts, %u used per token; %" PRIu64 " parameters active per token\n",
                    totals.n_expert, totals.n_expert_used, totals.n_active);
    for (const auto &[name, row] : totals.by_type)
        std::printf("  %-8s %4" PRIu64 " tensors %14" PRIu64 " bytes\n", name.c_str(), row.first, row.second);
    if (!e.has_hparams) {
        std::printf("\nmemory estimate: weights %s (no model hyper-parameters: KV cache and compute unknown)\n",
                    mib(e.weights_cpu + e.weights_gpu).c_str());
        return 0;
    }
    std::printf("\nmemory estimate (context %" PRIu64 ", KV cache K %s / V %s, %u of %u layers on GPU%s):\n", e.n_ctx,
                model::kv_type_name(types.k), model::kv_type_name(types.v), e.n_gpu_layers, e.n_layers,
                e.head_on_gpu ? " with output head" : "");
    std::printf("  %-10s %14s %14s\n", "", "CPU", "GPU");
    std::printf("  %-10s %14s %14s\n", "weights", mib(e.weights_cpu).c_str(), mib(e.weights_gpu).c_str());
    std::printf("  %-10s %14s %14s\n", "KV cache", mib(e.kv_cpu).c_str(), mib(e.kv_gpu).c_str());
    std::printf("  %-10s %14s %14s\n", "compute", mib(e.compute_cpu).c_str(), mib(e.compute_gpu).c_str());
    std::printf("  %-10s %14s %14s\n", "total", mib(e.total_cpu()).c_str(), mib(e.total_gpu()).c_str());
    return 0;
}

}  // namespace

int info_command(const std::vector<std::string> &args) {
    std::string path;
    MemoryEstimateParams params;
    cli::KvTypeOptions kv;
    bool json = false;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string &a = args[i];
        auto value = [&]() -> const std::string & {
            if (i + 1 >= args.size()) throw cli::UsageError(a + " needs a value");
            return args[++i];
        };
        if (a == "--json") json = true;
        else if (a == "--ctx") params.n_ctx = cli::parse_count(a, value());
        else if (a == "--ngl") params.n_gpu_layers = cli::parse_gpu_layers(a, value());
        else if (cli::KvTypeOptions::is_option(a)) kv.set(a, value());
        else if (!a.empty() && a[0] == '-') throw cli::UsageError("unknown option '" + a + "'");
        else if (path.empty()) path = a;
        else throw cli::UsageError("unexpected argument '" + a + "'");
    }
    if (path.empty()) throw cli::UsageError("info needs a FILE");
    params.kv_types = kv.types();
    const auto model = gguf::ShardedModel::open(path);
    const Totals totals = compute_totals(*model);
    const MemoryEstimate estimate = estimate_memory(*model, params);
    return json ? print_json(*model, totals, estimate, params.kv_types)
                : print_text(*model, totals, estimate, params.kv_types);
}

}  // namespace ember::tools
