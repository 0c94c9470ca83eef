#include "job.h"

namespace server {

JobUpdate Job::take(std::chrono::milliseconds wait) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait_for(lock, wait, [&] { return !text_.empty() || !logprobs_.empty() || finished_ || error_; });
    JobUpdate u;
    u.text.swap(text_);
    u.logprobs.swap(logprobs_);
    u.started = started_;
    u.finished = finished_;
    u.finish_reason = finish_reason_;
    u.error = error_;
    u.usage = usage_;
    return u;
}

void Job::mark_started(int32_t prompt_tokens, int32_t cached_tokens) {
    std::lock_guard<std::mutex> lock(mutex_);
    started_ = true;
    usage_.prompt_tokens = prompt_tokens;
    usage_.cached_tokens = cached_tokens;
    cv_.notify_all();
}

void Job::push(const std::string &text, std::optional<TokenLogprob> logprob) {
    std::lock_guard<std::mutex> lock(mutex_);
    text_ += text;
    if (logprob) logprobs_.push_back(std::move(*logprob));
    cv_.notify_all();
}

void Job::finish(const std::string &reason, int32_t completion_tokens) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_ || error_) return;
    finished_ = true;
    finish_reason_ = reason;
    usage_.completion_tokens = completion_tokens;
    cv_.notify_all();
}

void Job::fail(const ApiError &error) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_ || error_) return;
    error_ = error;
    cv_.notify_all();
}

bool Job::done() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return finished_ || error_.has_value();
}

}  // namespace server
