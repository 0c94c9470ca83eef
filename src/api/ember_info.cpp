// C ABI: version, status strings, last error, system information.
#include <cstring>
#include <string>

#include "api/api_params.h"

#include "api/api_guard.h"
#include "cpu/cpu_features.h"
#include "cpu/isa.h"
#include "ember/ember.h"

namespace ember::api {
namespace {
thread_local std::string g_last_error;
}
void set_last_error(const std::string &message) {
    try {
        g_last_error = message;
    } catch (...) {
        g_last_error.clear();
    }
}
void clear_last_error() { g_last_error.clear(); }
const char *last_error_cstr() { return g_last_error.c_str(); }

ember_status copy_out(const std::string &text, char *buf, size_t buf_size, size_t *needed) {
    if (needed) *needed = text.size();
    if (!buf || buf_size <= text.size()) {
        if (buf && buf_size) buf[0] = '\0';
        set_last_error("buffer of " + std::to_string(buf_size) + " bytes is too small for " + std::to_string(text.size() + 1));
        return EMBER_ERR_BUFFER_TOO_SMALL;
    }
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    return EMBER_OK;
}
}  // namespace ember::api

extern "C" {

EMBER_API uint32_t ember_version(void) { return EMBER_VERSION_NUMBER; }

EMBER_API const char *ember_version_string(void) { return EMBER_VERSION_STRING; }

EMBER_API const char *ember_status_string(ember_status status) {
    switch (status) {
        case EMBER_OK: return "ok";
        case EMBER_ERR_INVALID_ARGUMENT: return "invalid argument";
        case EMBER_ERR_IO: return "I/O error";
        case EMBER_ERR_BAD_FORMAT: return "bad or unsupported file format";
        case EMBER_ERR_UNSUPPORTED: return "unsupported";
        case EMBER_ERR_OUT_OF_MEMORY: return "out of memory";
        case EMBER_ERR_NOT_FOUND: return "not found";
        case EMBER_ERR_CONTEXT_FULL: return "context full";
        case EMBER_ERR_ABORTED: return "aborted";
        case EMBER_ERR_INTERNAL: return "internal error";
        case EMBER_ERR_BUFFER_TOO_SMALL: return "buffer too small";
    }
    return "unknown status";
}

EMBER_API const char *ember_last_error(void) { return ember::api::last_error_cstr(); }

EMBER_API const char *ember_system_info(void) {
    // Built once; the CPU does not change under a running process.
    static const std::string info = [] {
        std::string s = std::string("Ember ") + EMBER_VERSION_STRING + " | CPU: " + ember::cpu::cpu_features_string();
        try {
            s += std::string(" | kernels: ") + ember::cpu::isa_name(ember::cpu::active_isa_level());
        } catch (const std::exception &e) {  // a bad EMBER_ISA: say so rather than throw across the C ABI
            s += std::string(" | kernels: unavailable (") + e.what() + ")";
        }
        return s;
    }();
    return info.c_str();
}

}  // extern "C"
