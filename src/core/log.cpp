#include "core/log.h"

#include <mutex>

namespace ember {

namespace {
struct LogSink {
    std::mutex mutex;
    ember_log_callback callback = nullptr;
    ember_log_level min_level = EMBER_LOG_NONE;
    void *user_data = nullptr;
};
LogSink &sink() {
    static LogSink s;
    return s;
}
}  // namespace

void set_log_callback(ember_log_callback callback, ember_log_level min_level, void *user_data) {
    LogSink &s = sink();
    std::lock_guard<std::mutex> lock(s.mutex);
    s.callback = callback;
    s.min_level = callback ? min_level : EMBER_LOG_NONE;
    s.user_data = user_data;
}

bool log_enabled(ember_log_level level) {
    LogSink &s = sink();
    std::lock_guard<std::mutex> lock(s.mutex);
    return s.callback && level >= s.min_level && level < EMBER_LOG_NONE;
}

void log(ember_log_level level, const std::string &message) {
    ember_log_callback callback;
    void *user_data;
    {
        LogSink &s = sink();
        std::lock_guard<std::mutex> lock(s.mutex);
        if (!s.callback || level < s.min_level || level >= EMBER_LOG_NONE) return;
        callback = s.callback;
        user_data = s.user_data;
    }
    callback(level, message.c_str(), user_data);  // outside the lock: the callback may log
}

}  // namespace ember
