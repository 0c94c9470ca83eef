// The HTTP side: routes, the API key, errors in OpenAI's shape, body limits, one log line
// per request (http_server.cpp); the endpoints themselves are in endpoints.cpp. Everything
// but /health answers 503 until the model is loaded (set_ready).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "engine.h"
#include "metrics.h"
#include "request_parse.h"
#include "scheduler.h"
#include "server_options.h"

namespace server {

class HttpServer {
public:
    explicit HttpServer(const Options &options);
    ~HttpServer() { stop(); }

    // Binds (port 0: any free port); returns the port, or -1 when it cannot.
    int bind();
    // Serves on a thread of its own until stop(); returns once it accepts connections.
    void start();
    void set_ready(Engine *engine, Scheduler *scheduler, const std::string &model_id, int32_t slot_ctx);
    // New requests get 503; /health says so.
    void begin_shutdown() { shutting_down_.store(true); }
    // Waits, up to `limit`, until every open event stream has written its last event: httplib's
    // stop() ends a stream mid-way, so the final [DONE] or error event would be lost.
    void drain_streams(std::chrono::milliseconds limit);
    // Stops serving (waits for the requests being answered) and joins the thread.
    void stop();
    Metrics &metrics() { return metrics_; }

private:
    void routes();
    bool authorized(const httplib::Request &req) const;
    void handle_generation(const httplib::Request &req, httplib::Response &res, Endpoint endpoint);
    void handle_embeddings(const httplib::Request &req, httplib::Response &res);
    void handle_models(httplib::Response &res);
    void handle_tokenize(const httplib::Request &req, httplib::Response &res);
    void handle_detokenize(const httplib::Request &req, httplib::Response &res);

    const Options options_;
    httplib::Server http_;
    Metrics metrics_;
    std::atomic<bool> ready_{false};
    std::atomic<bool> shutting_down_{false};
    std::atomic<int> open_streams_{0};
    Engine *engine_ = nullptr;
    Scheduler *scheduler_ = nullptr;
    std::unique_ptr<ParseContext> parse_ctx_;
    std::thread listener_;
    std::atomic<bool> listen_returned_{false};
};

}  // namespace server
