// C ABI: logging.
#include <cstdio>

#include "core/log.h"
#include "ember/ember.h"

extern "C" {

EMBER_API void ember_set_log_callback(ember_log_callback callback, ember_log_level min_level, void *user_data) {
    ember::set_log_callback(callback, min_level, user_data);
}

EMBER_API void ember_log_to_stderr(ember_log_level level, const char *message, void * /*user_data*/) {
    static const char *const names[] = {"debug", "info", "warning", "error"};
    const char *name = level >= EMBER_LOG_DEBUG && level <= EMBER_LOG_ERROR ? names[level] : "log";
    std::fprintf(stderr, "ember: %s: %s\n", name, message ? message : "");
}

}  // extern "C"
