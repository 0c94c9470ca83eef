// The endpoints: generation (whole or streamed), embeddings, models, tokenize/detokenize.
#include <chrono>

#include "api_error.h"
#include "client_connection.h"
#include "http_server.h"
#include "openai_format.h"
#include "request_log.h"

namespace server {

void HttpServer::handle_generation(const httplib::Request &req, httplib::Response &res, Endpoint endpoint) {
    const nlohmann::json body = parse_json_body(req.body);
    GenerationRequest request = endpoint == Endpoint::Chat ? parse_chat_request(body, *parse_ctx_)
                                                           : parse_completion_request(body, *parse_ctx_);
    SamplerPtr sampler = make_sampler(parse_ctx_->engine.model(), request.sampling);
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
        const ClientConnection client(req);
        std::string text;
        std::vector<TokenLogprob> lps;
        for (;;) {
            JobUpdate u = job->take(std::chrono::milliseconds(100));
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
            if (client.gone()) {  // nobody to answer: free the slot at the scheduler's next step
                job->cancel();
                throw ApiError(499, "the client closed the connection", "invalid_request_error", "", "client_closed");
            }
            // The scheduler times requests out; this only guards against it being stuck.
            if (Clock::now() > job->deadline() + std::chrono::seconds(30)) {
                job->cancel();
                throw ApiError(504, "the request ran past --timeout", "server_error", "", "timeout");
            }
        }
    }

    // The state lives as long as httplib holds the provider, that is until the response is
    // written or abandoned; while it lives the stream counts as open (see drain_streams).
    struct StreamState {
        StreamState(std::shared_ptr<Job> j, ResponseHeader h, std::atomic<int> &open)
            : job(std::move(j)), header(std::move(h)), open_streams(open) {
            open_streams++;
        }
        ~StreamState() { open_streams--; }
        StreamState(const StreamState &) = delete;
        StreamState &operator=(const StreamState &) = delete;
        std::shared_ptr<Job> job;
        ResponseHeader header;
        std::atomic<int> &open_streams;
        bool opened = false;
        Clock::time_point last_write = Clock::now();
    };
    auto state = std::make_shared<StreamState>(job, header, open_streams_);
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
            item["embedding"] = base64_floats(vectors[i]);
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
