// Continuous batching over one session with one sequence per slot. A single thread runs
// steps; each step decodes ONE batch holding the next token of every generating slot plus
// prompt chunks of slots still reading their prompt, then samples every row that has an
// output. Requests beyond the slots wait in a bounded queue; a new request takes the free
// slot whose cached tokens share the longest prefix with its prompt and decodes only the rest.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine.h"
#include "job.h"
#include "metrics.h"

namespace server {

struct SchedulerConfig {
    int32_t n_slots = 1;
    uint32_t slot_ctx = 0;  // cells per slot; the session holds n_slots * slot_ctx
    int32_t n_threads = 0;
    int32_t kv_type_k = 0;      // an ember_kv_type
    int32_t kv_type_v = -1;     // -1: as kv_type_k
    int32_t queue_max = 64;
    int32_t step_tokens = 512;  // batch rows per step (generation rows first, then prompt chunks)
};

class Scheduler {
public:
    // Creates the session; throws std::runtime_error when it cannot.
    Scheduler(Engine &engine, const SchedulerConfig &config, Metrics &metrics);
    ~Scheduler();
    Scheduler(const Scheduler &) = delete;
    Scheduler &operator=(const Scheduler &) = delete;

    enum class Admission { Queued, QueueFull, ShuttingDown };
    Admission submit(std::shared_ptr<Job> job);

    // Stops taking requests, lets the running and queued ones finish for up to `grace`,
    // fails whatever is left (503) and stops the thread.
    void shutdown(std::chrono::milliseconds grace);

private:
    struct Slot {
        int32_t seq = 0;
        std::vector<ember_token> cached;  // exactly the tokens sequence `seq` holds in the KV cache
        std::shared_ptr<Job> job;         // null: free
        std::unique_ptr<class ReplyText> text;
        ember_token next = -1;            // sampled, to be decoded at the next step (generating)
        bool generating = false;          // false: still decoding the prompt
        int32_t n_generated = 0;
        uint64_t last_used = 0;
        uint64_t admitted = 0;
    };

    void run();
    void admit_locked();
    void step();
    void sample_row(Slot &slot, int32_t row);
    void release(Slot &slot);
    void fail_all(const ApiError &error);
    void update_gauges_locked();

    Engine &engine_;
    SchedulerConfig config_;
    Metrics &metrics_;
    ember_session *session_ = nullptr;
    std::vector<Slot> slots_;
    uint64_t tick_ = 0;

    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::shared_ptr<Job>> queue_;
    int32_t busy_ = 0;  // slots with a job; written by the scheduler thread under mutex_
    bool accepting_ = true;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace server
