// -ctk / -ctv (--cache-type-k / --cache-type-v), llama.cpp's KV cache type options, for the
// programs built on the runtime (ember-chat and ember-server parse them through the C API).
#pragma once

#include <optional>
#include <string>

#include "common/cli.h"
#include "model/kv_cache.h"

namespace ember::cli {

// A cache type by llama.cpp's name ("q8_0", any case), or UsageError listing the names.
inline TensorType parse_kv_type(const std::string &option, const std::string &text) {
    TensorType t;
    if (!model::kv_type_from_name(text, &t))
        throw UsageError(option + ": '" + text + "' is not a KV cache type (" + model::kv_type_names() + ")");
    return t;
}

struct KvTypeOptions {
    TensorType k = TensorType::F16;
    std::optional<TensorType> v;  // unset: as k

    static bool is_k(const std::string &option) { return option == "-ctk" || option == "--cache-type-k"; }
    static bool is_v(const std::string &option) { return option == "-ctv" || option == "--cache-type-v"; }
    static bool is_option(const std::string &option) { return is_k(option) || is_v(option); }
    // Sets the type `option` (is_option) names.
    void set(const std::string &option, const std::string &value) {
        if (is_k(option)) k = parse_kv_type(option, value);
        else v = parse_kv_type(option, value);
    }
    model::KvTypes types() const { return {k, v.value_or(k)}; }
};

}  // namespace ember::cli
