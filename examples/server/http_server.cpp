#include "http_server.h"

#include <chrono>
#include <cstdio>

#include "api_error.h"
#include "openai_format.h"

namespace server {

namespace {

constexpr size_t kMaxBodyBytes = 4u << 20;

// What the log line of the request this thread serves reports; filled by the handlers
// (for a stream, as its last event is written, which happens before the logger runs).
struct RequestLog {
    const httplib::Request *req = nullptr;
    Clock::time_point start;
    Usage usage;
    bool has_usage = false;
};
thread_local RequestLog t_log;

void send_error(httplib::Response &res, const ApiError &e) {
    res.status = e.status;
    res.set_content(dump(error_body(e)), "application/json");
}

void send_json(httplib::Response &res, const nlohmann::json &j) { res.set_content(dump(j), "application/json"); }

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

void HttpServer::handle_generation(const httplib::Request &req, httplib::Response &res, Endpoint endpoint) {
    const nlohmann::json body = parse_json_body(req.body);
    GenerationRequest request = endpoint == Endpoint::Chat ? parse_chat_request(body, *parse_ctx_)
                                                           : parse_completion_request(body, *parse_ctx_);
    SamplerPtr sampler = make_sampler(request.sampling);
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(options_.timeout_s));
    auto job = std::make_shared<Job>(std::move(request), std::move(sampler), deadline);
    switch (scheduler_->submit(job)) {
        case Scheduler::Admission::Queued: break;
        case Scheduler::Admission::QueueFull:
            res.set_header("Retry-After", "1");
            throw ApiError(503, "every slot is busy and the queue is full; retry later", "server_error", "",
                           "queue_full");
        case Scheduler::Admission::ShuttingDown:
            throw ApiError(503, "the server is shutting down", "server_error", "", "shutting_down");
    }
    const ResponseHeader header = new_response_header(endpoint, job->request().model);

    if (!job->request().stream) {
        std::string text;
        std::vector<TokenLogprob> lps;
        for (;;) {
            JobUpdate u = job->take(std::chrono::milliseconds(1000));
            text += u.text;
            for (auto &lp : u.logprobs) lps.push_back(std::move(lp));
            if (u.error) {
                t_log.usage = u.usage;
                throw *u.error;
            }
            if (u.finished) {
                t_log.usage = u.usage;
                t_log.has_usage = true;
                send_json(res, full_response(header, text, lps, job->request().logprobs, u.finish_reason, u.usage));
                return;
            }
            // The scheduler times requests out; this only guards against it being stuck.
            if (Clock::now() > job->deadline() + std::chrono::seconds(30)) {
                job->cancel();
                throw ApiError(504, "the request ran past --timeout", "server_error", "", "timeout");
            }
        }
    }

    struct StreamState {
        std::shared_ptr<Job> job;
        ResponseHeader header;
        bool opened = false;
        Clock::time_point last_write = Clock::now();
    };
    auto state = std::make_shared<StreamState>(StreamState{job, header});
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [state](size_t, httplib::DataSink &sink) {
            const GenerationRequest &r = state->job->request();
            std::string out;
            if (!state->opened) {
                state->opened = true;
                if (r.endpoint == Endpoint::Chat) out += sse_role_chunk(state->header, r.include_usage);
            }
            JobUpdate u = state->job->take(std::chrono::milliseconds(out.empty() ? 250 : 0));
            if (!u.text.empty() || !u.logprobs.empty())
                out += sse_content_chunk(state->header, u.text, u.logprobs, r.logprobs, r.include_usage);
            bool end = false;
            if (u.error) {
                out += sse_error(*u.error);
                end = true;
            } else if (u.finished) {
                out += sse_final_chunk(state->header, u.finish_reason, r.include_usage);
                if (r.include_usage) out += sse_usage_chunk(state->header, u.usage);
                out += sse_done();
                t_log.usage = u.usage;
                t_log.has_usage = true;
                end = true;
            } else if (out.empty() && !u.started && Clock::now() - state->last_write > std::chrono::seconds(1)) {
                out = ": ping\n\n";  // waiting in the queue: keeps proxies (and our disconnect check) alive
            }
            if (!out.empty()) {
                if (!sink.write(out.data(), out.size())) {
                    state->job->cancel();
                    return false;
                }
                state->last_write = Clock::now();
            }
            if (end) sink.done();
            return true;
        },
        [state](bool) {
            if (!state->job->done()) state->job->cancel();  // the client went away mid-stream
        });
}

void HttpServer::handle_embeddings(const httplib::Request &req, httplib::Response &res) {
    const EmbeddingRequest r = parse_embedding_request(parse_json_body(req.body), *parse_ctx_);
    const auto vectors = engine_->embed(r.inputs, static_cast<uint32_t>(parse_ctx_->slot_ctx), options_.n_threads);
    nlohmann::json data = nlohmann::json::array();
    int32_t n_tokens = 0;
    for (size_t i = 0; i < vectors.size(); ++i) {
        n_tokens += static_cast<int32_t>(r.inputs[i].size());
        nlohmann::json item = {{"object", "embedding"}, {"index", i}};
        if (r.base64) {
            // Little-endian float32, as OpenAI's base64 encoding is.
            static const char *digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            const auto *bytes = reinterpret_cast<const unsigned char *>(vectors[i].data());
            const size_t n = vectors[i].size() * sizeof(float);
            std::string b64;
            for (size_t k = 0; k < n; k += 3) {
                const uint32_t v = (uint32_t{bytes[k]} << 16) | (k + 1 < n ? uint32_t{bytes[k + 1]} << 8 : 0) |
                                   (k + 2 < n ? uint32_t{bytes[k + 2]} : 0);
                b64 += digits[(v >> 18) & 63];
                b64 += digits[(v >> 12) & 63];
                b64 += k + 1 < n ? digits[(v >> 6) & 63] : '=';
                b64 += k + 2 < n ? digits[v & 63] : '=';
            }
            item["embedding"] = b64;
        } else {
            item["embedding"] = vectors[i];
        }
        data.push_back(item);
    }
    t_log.usage.prompt_tokens = n_tokens;
    t_log.has_usage = true;
    send_json(res, {{"object", "list"},
                    {"data", data},
                    {"model", parse_ctx_->model_id},
                    {"usage", {{"prompt_tokens", n_tokens}, {"total_tokens", n_tokens}}}});
}

void HttpServer::handle_models(httplib::Response &res) {
    const long long created =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    send_json(res, {{"object", "list"},
                    {"data", nlohmann::json::array({{{"id", parse_ctx_->model_id},
                                                     {"object", "model"},
                                                     {"created", created},
                                                     {"owned_by", "ember"}}})}});
}

void HttpServer::handle_tokenize(const httplib::Request &req, httplib::Response &res) {
    const nlohmann::json body = parse_json_body(req.body);
    for (auto it = body.begin(); it != body.end(); ++it)
        if (it.key() != "content" && it.key() != "add_special" && it.key() != "parse_special")
            throw invalid_request("unknown field '" + it.key() + "'", it.key(), "unknown_parameter");
    if (!body.contains("content") || !body["content"].is_string())
        throw invalid_request("'content' must be a string", "content", "invalid_type");
    auto flag = [&](const char *name, bool fallback) {
        if (!body.contains(name)) return fallback;
        if (!body[name].is_boolean()) throw invalid_request(std::string("'") + name + "' must be true or false", name, "invalid_type");
        return body[name].get<bool>();
    };
    const bool add_special = flag("add_special", false), parse_special = flag("parse_special", false);
    try {
        send_json(res, {{"tokens", engine_->tokenize(body["content"].get<std::string>(), add_special, parse_special)}});
    } catch (const std::invalid_argument &e) {
        throw invalid_request(e.what(), "content");
    }
}

void HttpServer::handle_detokenize(const httplib::Request &req, httplib::Response &res) {
    const nlohmann::json body = parse_json_body(req.body);
    for (auto it = body.begin(); it != body.end(); ++it)
        if (it.key() != "tokens") throw invalid_request("unknown field '" + it.key() + "'", it.key(), "unknown_parameter");
    if (!body.contains("tokens") || !body["tokens"].is_array())
        throw invalid_request("'tokens' must be an array of token ids", "tokens", "invalid_type");
    std::vector<ember_token> ids;
    for (const auto &t : body["tokens"]) {
        if (!t.is_number_integer() || t.get<long long>() < 0 || t.get<long long>() >= engine_->n_vocab())
            throw invalid_request("'tokens' must hold token ids in [0, " + std::to_string(engine_->n_vocab() - 1) + "]",
                                  "tokens");
        ids.push_back(static_cast<ember_token>(t.get<long long>()));
    }
    try {
        send_json(res, {{"content", engine_->detokenize(ids)}});
    } catch (const std::invalid_argument &e) {
        throw invalid_request(e.what(), "tokens");
    }
}

}  // namespace server
