// One generation request in flight: the request thread that waits for it and the scheduler
// thread that produces it meet here. The scheduler pushes text and the outcome; the request
// thread takes what arrived since it last looked, or cancels (client gone).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api_error.h"
#include "request.h"
#include "sampler_factory.h"

namespace server {

using Clock = std::chrono::steady_clock;

struct TokenLogprob {
    std::string token;  // the token's bytes (maybe part of a UTF-8 character)
    float logprob = 0;
    std::vector<std::pair<std::string, float>> top;
};

struct Usage {
    int32_t prompt_tokens = 0;
    int32_t cached_tokens = 0;  // prompt tokens reused from a slot's cache, not evaluated
    int32_t completion_tokens = 0;
};

// What happened since the last take().
struct JobUpdate {
    std::string text;
    std::vector<TokenLogprob> logprobs;
    bool started = false;  // admitted to a slot (stays true)
    bool finished = false;
    std::string finish_reason;  // "stop" or "length" when finished
    std::optional<ApiError> error;
    Usage usage;
};

class Job {
public:
    Job(GenerationRequest request, SamplerPtr sampler, Clock::time_point deadline)
        : request_(std::move(request)), sampler_(std::move(sampler)), arrival_(Clock::now()), deadline_(deadline) {}

    const GenerationRequest &request() const { return request_; }
    ember_sampler *sampler() const { return sampler_.get(); }
    Clock::time_point arrival() const { return arrival_; }
    Clock::time_point deadline() const { return deadline_; }

    // Request thread: waits up to `wait` for news, then takes it.
    JobUpdate take(std::chrono::milliseconds wait);
    // Request thread: the client is gone; the scheduler frees the slot at its next step.
    void cancel() { cancelled_.store(true); }
    bool cancelled() const { return cancelled_.load(); }

    // Scheduler thread.
    void mark_started(int32_t prompt_tokens, int32_t cached_tokens);
    void push(const std::string &text, std::optional<TokenLogprob> logprob);
    void finish(const std::string &reason, int32_t completion_tokens);
    void fail(const ApiError &error);
    bool done() const;

private:
    GenerationRequest request_;
    SamplerPtr sampler_;
    Clock::time_point arrival_, deadline_;
    std::atomic<bool> cancelled_{false};

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::string text_;
    std::vector<TokenLogprob> logprobs_;
    bool started_ = false, finished_ = false;
    std::string finish_reason_;
    std::optional<ApiError> error_;
    Usage usage_;
};

}  // namespace server
