// The library's only process-wide mutable state: where log messages go (nowhere by default).
#pragma once

#include <string>

#include "ember/ember.h"

namespace ember {

void set_log_callback(ember_log_callback callback, ember_log_level min_level, void *user_data);
// True when a message at `level` would reach a callback (to skip formatting otherwise).
bool log_enabled(ember_log_level level);
void log(ember_log_level level, const std::string &message);
inline void log_warn(const std::string &message) { log(EMBER_LOG_WARN, message); }
inline void log_info(const std::string &message) { log(EMBER_LOG_INFO, message); }

}  // namespace ember
