// What the log line of the request a thread serves reports: the handlers fill it (for a
// stream, as its last event is written, which happens before httplib's logger runs on the
// same thread).
#pragma once

#include <httplib.h>

#include "job.h"

namespace server {

struct RequestLog {
    const httplib::Request *req = nullptr;
    Clock::time_point start;
    Usage usage;
    bool has_usage = false;
};
extern thread_local RequestLog t_log;

void send_error(httplib::Response &res, const ApiError &e);
void send_json(httplib::Response &res, const nlohmann::json &j);

}  // namespace server
