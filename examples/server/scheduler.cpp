#include "scheduler.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "reply_text.h"

namespace server {

namespace {

size_t common_prefix(const std::vector<ember_token> &a, const std::vector<ember_token> &b) {
    const size_t n = std::min(a.size(), b.size());
    size_t i = 0;
    while (i < n && a[i] == b[i]) ++i;
    return i;
}

// log-softmax of one token, and the top n, from a row's raw logits (the model's
// distribution, before any sampling transform).
TokenLogprob logprob_of(const Engine &engine, const float *logits, ember_token token, int32_t top_n) {
    const int32_t n_vocab = engine.n_vocab();
    float max = logits[0];
    for (int32_t i = 1; i < n_vocab; ++i) max = std::max(max, logits[i]);
    double sum = 0;
    for (int32_t i = 0; i < n_vocab; ++i) sum += std::exp(static_cast<double>(logits[i]) - max);
    const double log_z = max + std::log(sum);
    TokenLogprob lp;
    lp.token = engine.piece(token);
    lp.logprob = static_cast<float>(logits[token] - log_z);
    if (top_n > 0) {
        std::vector<ember_token> ids(static_cast<size_t>(top_n));
        std::vector<float> lps(static_cast<size_t>(top_n));
        if (ember_top_logprobs(logits, n_vocab, top_n, ids.data(), lps.data()) == EMBER_OK)
            for (int32_t i = 0; i < top_n; ++i) lp.top.emplace_back(engine.piece(ids[i]), lps[i]);
    }
    return lp;
}

}  // namespace

Scheduler::Scheduler(Engine &engine, const SchedulerConfig &config, Metrics &metrics)
    : engine_(engine), config_(config), metrics_(metrics) {
    ember_session_params sp = ember_session_default_params();
    sp.n_ctx = config_.slot_ctx * static_cast<uint32_t>(config_.n_slots);
    sp.n_seq_max = static_cast<uint32_t>(config_.n_slots);
    sp.n_threads = config_.n_threads;
    sp.n_batch = static_cast<uint32_t>(config_.step_tokens);
    sp.kv_type = config_.kv_type_k;
    sp.kv_type_v = config_.kv_type_v < 0 ? 0 : EMBER_KV_TYPE_V(config_.kv_type_v);
    if (ember_status st = ember_session_create(engine_.model(), &sp, &session_))
        throw std::runtime_error("cannot create the session: " + ember_error_text(st));
    slots_.resize(static_cast<size_t>(config_.n_slots));
    for (size_t i = 0; i < slots_.size(); ++i) slots_[i].seq = static_cast<int32_t>(i);
    metrics_.slots_total = config_.n_slots;
    metrics_.kv_cells_total = static_cast<int64_t>(sp.n_ctx);
    thread_ = std::thread([this] { run(); });
}

Scheduler::~Scheduler() {
    shutdown(std::chrono::milliseconds(0));
    ember_session_free(session_);
}

Scheduler::Admission Scheduler::submit(std::shared_ptr<Job> job) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!accepting_) return Admission::ShuttingDown;
    // A free slot takes the request at the next step; otherwise it waits if there is room.
    const int32_t waiting = static_cast<int32_t>(queue_.size());
    if (busy_ + waiting >= config_.n_slots && waiting >= config_.queue_max) return Admission::QueueFull;
    queue_.push_back(std::move(job));
    update_gauges_locked();
    cv_.notify_all();
    return Admission::Queued;
}

void Scheduler::shutdown(std::chrono::milliseconds grace) {
    std::unique_lock<std::mutex> lock(mutex_);
    accepting_ = false;
    cv_.wait_for(lock, grace, [&] { return queue_.empty() && busy_ == 0; });
    stop_ = true;
    cv_.notify_all();
    lock.unlock();
    if (thread_.joinable()) thread_.join();
}

void Scheduler::update_gauges_locked() {
    metrics_.queue_depth.store(static_cast<int64_t>(queue_.size()));
    metrics_.slots_busy.store(busy_);
}

void Scheduler::run() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        cv_.wait(lock, [&] { return stop_ || !queue_.empty() || busy_ > 0; });
        if (stop_) break;
        admit_locked();
        lock.unlock();
        step();
        lock.lock();
        cv_.notify_all();  // shutdown() waits for an idle scheduler
    }
    lock.unlock();
    fail_all(ApiError(503, "the server is shutting down", "server_error", "", "shutting_down"));
}

void Scheduler::admit_locked() {
    const auto now = Clock::now();
    for (auto it = queue_.begin(); it != queue_.end();) {  // drop what nobody waits for any more
        Job &job = **it;
        if (job.cancelled()) {
            metrics_.cancelled_requests++;
            job.fail(ApiError(499, "the client closed the connection", "invalid_request_error", "", "cancelled"));
            it = queue_.erase(it);
        } else if (now > job.deadline()) {
            job.fail(ApiError(504, "the request waited past --timeout for a slot", "server_error", "", "timeout"));
            it = queue_.erase(it);
        } else {
            ++it;
        }
    }
    while (!queue_.empty() && busy_ < config_.n_slots) {
        std::shared_ptr<Job> job = std::move(queue_.front());
        queue_.pop_front();
        const std::vector<ember_token> &prompt = job->request().prompt;
        // The free slot with the longest cached prefix of this prompt; the least recently
        // used among equals, so the caches of other conversations live longest.
        Slot *best = nullptr;
        size_t best_len = 0;
        for (Slot &s : slots_) {
            if (s.job) continue;
            const size_t len = common_prefix(s.cached, prompt);
            if (!best || len > best_len || (len == best_len && s.last_used < best->last_used)) {
                best = &s;
                best_len = len;
            }
        }
        // The last prompt token is always decoded: its logits choose the first reply token.
        const size_t keep = std::min(best_len, prompt.size() - 1);
        ember_kv_seq_remove(session_, best->seq, static_cast<int32_t>(keep), -1);
        best->cached.resize(keep);
        best->job = std::move(job);
        best->text = std::make_unique<ReplyText>(best->job->request().stop);
        best->generating = false;
        best->next = -1;
        best->n_generated = 0;
        best->admitted = ++tick_;
        ++busy_;
        const auto n_prompt = static_cast<int32_t>(prompt.size());
        best->job->mark_started(n_prompt, static_cast<int32_t>(keep));
        metrics_.generation_requests++;
        metrics_.prompt_tokens += static_cast<uint64_t>(n_prompt);
        metrics_.prompt_tokens_cached += keep;
        metrics_.prompt_tokens_evaluated += static_cast<uint64_t>(n_prompt) - keep;
    }
    update_gauges_locked();
}

void Scheduler::release(Slot &slot) {
    slot.job.reset();
    slot.text.reset();
    slot.generating = false;
    slot.last_used = ++tick_;
    std::lock_guard<std::mutex> lock(mutex_);
    --busy_;
    update_gauges_locked();
}

void Scheduler::fail_all(const ApiError &error) {
    for (Slot &s : slots_)
        if (s.job) {
            s.job->fail(error);
            release(s);
        }
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto &job : queue_) job->fail(error);
    queue_.clear();
    update_gauges_locked();
}

void Scheduler::step() {
    const auto now = Clock::now();
    for (Slot &s : slots_) {
        if (!s.job) continue;
        if (s.job->cancelled()) {
            metrics_.cancelled_requests++;
            s.job->fail(ApiError(499, "the client closed the connection", "invalid_request_error", "", "cancelled"));
            release(s);
        } else if (now > s.job->deadline()) {
            s.job->fail(ApiError(504, "the request ran past --timeout", "server_error", "", "timeout"));
            release(s);
        }
    }

    // One batch: every generating slot's next token, then prompt chunks in admission order.
    std::vector<ember_token> tokens;
    std::vector<int32_t> positions, seq_ids;
    std::vector<int8_t> want;
    std::vector<std::pair<Slot *, int32_t>> outputs;  // slot, batch row
    std::vector<Slot *> in_batch;
    for (Slot &s : slots_)
        if (s.job && s.generating) {
            outputs.emplace_back(&s, static_cast<int32_t>(tokens.size()));
            tokens.push_back(s.next);
            positions.push_back(static_cast<int32_t>(s.cached.size()));
            seq_ids.push_back(s.seq);
            want.push_back(1);
            in_batch.push_back(&s);
        }
    std::vector<Slot *> prefilling;
    for (Slot &s : slots_)
        if (s.job && !s.generating) prefilling.push_back(&s);
    std::sort(prefilling.begin(), prefilling.end(), [](const Slot *a, const Slot *b) { return a->admitted < b->admitted; });
    std::vector<std::pair<Slot *, size_t>> chunks;  // slot, tokens taken
    for (Slot *s : prefilling) {
        const int32_t room = config_.step_tokens - static_cast<int32_t>(tokens.size());
        if (room <= 0) break;
        const std::vector<ember_token> &prompt = s->job->request().prompt;
        const size_t from = s->cached.size();
        const size_t n = std::min(prompt.size() - from, static_cast<size_t>(room));
        const bool last = from + n == prompt.size();
        for (size_t i = 0; i < n; ++i) {
            const bool output = last && i + 1 == n;
            if (output) outputs.emplace_back(s, static_cast<int32_t>(tokens.size()));
            tokens.push_back(prompt[from + i]);
            positions.push_back(static_cast<int32_t>(from + i));
            seq_ids.push_back(s->seq);
            want.push_back(output ? 1 : 0);
        }
        chunks.emplace_back(s, n);
    }
    if (tokens.empty()) return;

    const auto t0 = Clock::now();
    ember_batch batch{};
    batch.struct_size = sizeof batch;
    batch.n_tokens = static_cast<int32_t>(tokens.size());
    batch.tokens = tokens.data();
    batch.positions = positions.data();
    batch.seq_ids = seq_ids.data();
    batch.want_output = want.data();
    const ember_status st = ember_decode(session_, &batch);
    if (st != EMBER_OK) {
        // The cache is as before the call; the requests in this batch cannot go on.
        const ApiError error(500, "decoding failed: " + ember_error_text(st), "server_error", "", "decode_failed");
        for (Slot *s : in_batch) {
            s->job->fail(error);
            release(*s);
        }
        for (auto &[s, n] : chunks) {
            s->job->fail(error);
            release(*s);
        }
        return;
    }
    for (Slot *s : in_batch) s->cached.push_back(s->next);
    for (auto &[s, n] : chunks) {
        const std::vector<ember_token> &prompt = s->job->request().prompt;
        s->cached.insert(s->cached.end(), prompt.begin() + static_cast<std::ptrdiff_t>(s->cached.size()),
                         prompt.begin() + static_cast<std::ptrdiff_t>(s->cached.size() + n));
    }
    for (auto &[s, row] : outputs) sample_row(*s, row);

    int64_t used = 0;
    for (const Slot &s : slots_) used += static_cast<int64_t>(s.cached.size());
    metrics_.kv_cells_used.store(used);
    metrics_.decode_steps++;
    metrics_.decode_rows += tokens.size();
    metrics_.decode_micros +=
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count());
}

void Scheduler::sample_row(Slot &s, int32_t row) {
    Job &job = *s.job;
    const GenerationRequest &req = job.request();
    const float *logits = nullptr;
    std::optional<TokenLogprob> lp_pending;
    if (req.logprobs && ember_session_logits(session_, row, &logits) == EMBER_OK) {
        // Read before sampling: the chain may transform the logits it is given.
        std::vector<float> copy(logits, logits + engine_.n_vocab());
        ember_token token = -1;
        if (ember_sampler_sample(job.sampler(), session_, row, &token) == EMBER_OK) {
            lp_pending = logprob_of(engine_, copy.data(), token, req.top_logprobs);
            s.next = token;
        } else {
            s.next = -1;
        }
    } else {
        ember_token token = -1;
        s.next = ember_sampler_sample(job.sampler(), session_, row, &token) == EMBER_OK ? token : -1;
    }
    if (s.next < 0) {
        job.fail(ApiError(500, "sampling failed: " + ember_error_text(EMBER_ERR_INTERNAL), "server_error"));
        release(s);
        return;
    }
    ember_sampler_accept(job.sampler(), s.next);
    s.generating = true;

    auto finish = [&](const char *reason) {
        job.push(s.text->take_rest(), std::nullopt);
        job.finish(reason, s.n_generated);
        release(s);
    };
    if (engine_.is_eog(s.next)) {  // the end-of-turn token is neither shown nor counted
        finish("stop");
        return;
    }
    ++s.n_generated;
    metrics_.generated_tokens++;
    const bool stopped = s.text->add(engine_.piece(s.next));
    if (lp_pending) lp_pending->token = engine_.piece(s.next);
    job.push(s.text->take_ready(), std::move(lp_pending));
    if (stopped) finish("stop");
    else if (req.max_tokens >= 0 && s.n_generated >= req.max_tokens) finish("length");
    else if (s.cached.size() >= config_.slot_ctx) finish("length");  // no cell left for `next`
}

}  // namespace server
