#include "http_server.h"

#include <chrono>
#include <cstdio>

#include "api_error.h"
#include "openai_format.h"
#include "request_log.h"

namespace server {

thread_local RequestLog t_log;

void send_error(httplib::Response &res, const ApiError &e) {
    res.status = e.status;
    res.set_content(dump(error_body(e)), "application/json");
}

void send_json(httplib::Response &res, const nlohmann::json &j) { res.set_content(dump(j), "application/json"); }

namespace {

constexpr size_t kMaxBodyBytes = 4u << 20;

bool same_key(const std::string &a, const std::string &b) {  // no early exit on the first difference
    unsigned diff = a.size() == b.size() ? 0u : 1u;
    for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned>(a[i] ^ (i < b.size() ? b[i] : 0));
    return diff == 0;
}

}  // namespace

HttpServer::HttpServer(const Options &options) : options_(options) {
    // A thread per connection being served: every slot, every queued request, and spare ones
    // for the quick endpoints (a request beyond them waits for a thread, it is not refused).
    const size_t threads = static_cast<size_t>(options_.n_slots + options_.queue_max + 8);
    http_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    http_.set_payload_max_length(kMaxBodyBytes);
    http_.set_keep_alive_timeout(2);
    http_.set_read_timeout(30);
    http_.set_write_timeout(30);
    routes();
}

int HttpServer::bind() {
    if (options_.port == 0) return http_.bind_to_any_port(options_.host);
    return http_.bind_to_port(options_.host, options_.port) ? options_.port : -1;
}

void HttpServer::start() {
    listener_ = std::thread([this] {
        http_.listen_after_bind();
        listen_returned_.store(true);
    });
    // httplib's stop() does nothing before the server runs: wait until it does.
    while (!http_.is_running() && !listen_returned_.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void HttpServer::drain_streams(std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (open_streams_.load() > 0 && std::chrono::steady_clock::now() < end)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

void HttpServer::stop() {
    http_.stop();
    if (listener_.joinable()) listener_.join();
}

void HttpServer::set_ready(Engine *engine, Scheduler *scheduler, const std::string &model_id, int32_t slot_ctx) {
    engine_ = engine;
    scheduler_ = scheduler;
    parse_ctx_.reset(new ParseContext{*engine, model_id, slot_ctx});
    ready_.store(true, std::memory_order_release);
}

bool HttpServer::authorized(const httplib::Request &req) const {
    if (options_.api_key.empty()) return true;
    const std::string auth = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    return auth.compare(0, prefix.size(), prefix) == 0 && same_key(auth.substr(prefix.size()), options_.api_key);
}

void HttpServer::routes() {
    using httplib::Request;
    using httplib::Response;
    using HR = httplib::Server::HandlerResponse;

    http_.set_pre_routing_handler([this](const Request &req, Response &res) {
        t_log = RequestLog{&req, Clock::now(), {}, false};
        if (req.path == "/health") return HR::Unhandled;
        if (!authorized(req)) {
            send_error(res, ApiError(401, "a valid API key is needed: 'Authorization: Bearer KEY'",
                                     "authentication_error", "", "invalid_api_key"));
            return HR::Handled;
        }
        if (shutting_down_.load()) {
            send_error(res, ApiError(503, "the server is shutting down", "server_error", "", "shutting_down"));
            return HR::Handled;
        }
        if (!ready_.load(std::memory_order_acquire)) {
            res.set_header("Retry-After", "1");
            send_error(res, ApiError(503, "the model is still loading", "server_error", "", "loading"));
            return HR::Handled;
        }
        return HR::Unhandled;
    });
    // httplib calls this for every status >= 400: fill in only what it answered itself.
    http_.set_error_handler([](const Request &, Response &res) {
        if (!res.body.empty()) return;
        if (res.status == 413)
            send_error(res, ApiError(413, "the request body is larger than " + std::to_string(kMaxBodyBytes) + " bytes",
                                     "invalid_request_error", "", "payload_too_large"));
        else if (res.status == 404)
            send_error(res, ApiError(404, "no such endpoint", "invalid_request_error", "", "not_found"));
        else
            send_error(res, ApiError(res.status, "the request could not be served (HTTP " + std::to_string(res.status) + ")",
                                     res.status >= 500 ? "server_error" : "invalid_request_error"));
    });
    http_.set_exception_handler([](const Request &, Response &res, std::exception_ptr ep) {
        std::string what = "internal error";
        try {
            if (ep) std::rethrow_exception(ep);
        } catch (const std::exception &e) {
            what = e.what();
        } catch (...) {
        }
        send_error(res, ApiError(500, what, "server_error"));
    });
    http_.set_logger([this](const Request &req, const Response &res) {
        metrics_.http_requests++;
        if (res.status >= 400) metrics_.http_errors++;
        const bool mine = t_log.req == &req;
        const double secs = mine ? std::chrono::duration<double>(Clock::now() - t_log.start).count() : 0.0;
        char tokens[96] = "";
        if (mine && t_log.has_usage)
            std::snprintf(tokens, sizeof tokens, " prompt=%d cached=%d completion=%d", t_log.usage.prompt_tokens,
                          t_log.usage.cached_tokens, t_log.usage.completion_tokens);
        std::fprintf(stderr, "ember-server: %s %s %d%s %.3fs\n", req.method.c_str(), req.path.c_str(), res.status,
                     tokens, secs);
    });

    // Every handler answers its own errors in OpenAI's shape.
    auto guarded = [](auto body) {
        return [body](const Request &req, Response &res) {
            try {
                body(req, res);
            } catch (const ApiError &e) {
                send_error(res, e);
            } catch (const std::bad_alloc &) {
                send_error(res, ApiError(500, "out of memory", "server_error"));
            } catch (const std::exception &e) {
                send_error(res, ApiError(500, e.what(), "server_error"));
            }
        };
    };

    http_.Get("/health", [this](const Request &, Response &res) {
        if (shutting_down_.load()) {
            res.status = 503;
            send_json(res, {{"status", "shutting down"}});
        } else if (!ready_.load(std::memory_order_acquire)) {
            res.status = 503;
            send_json(res, {{"status", "loading"}});
        } else {
            send_json(res, {{"status", "ok"}});
        }
    });
    http_.Post("/v1/chat/completions",
               guarded([this](const Request &req, Response &res) { handle_generation(req, res, Endpoint::Chat); }));
    http_.Post("/v1/completions",
               guarded([this](const Request &req, Response &res) { handle_generation(req, res, Endpoint::Completion); }));
    http_.Post("/v1/embeddings", guarded([this](const Request &req, Response &res) { handle_embeddings(req, res); }));
    http_.Get("/v1/models", guarded([this](const Request &, Response &res) { handle_models(res); }));
    http_.Post("/tokenize", guarded([this](const Request &req, Response &res) { handle_tokenize(req, res); }));
    http_.Post("/detokenize", guarded([this](const Request &req, Response &res) { handle_detokenize(req, res); }));
    if (options_.metrics)
        http_.Get("/metrics", [this](const Request &, Response &res) {
            res.set_content(metrics_.prometheus_text(), "text/plain; version=0.0.4");
        });
}

}  // namespace server
