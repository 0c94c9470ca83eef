// Counters and gauges for /metrics (Prometheus text format) and the final log line.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace server {

struct Metrics {
    std::atomic<uint64_t> http_requests{0};
    std::atomic<uint64_t> http_errors{0};             // responses with status >= 400
    std::atomic<uint64_t> generation_requests{0};     // admitted to a slot
    std::atomic<uint64_t> cancelled_requests{0};      // the client went away
    std::atomic<uint64_t> prompt_tokens{0};           // prompt tokens of admitted requests
    std::atomic<uint64_t> prompt_tokens_cached{0};    // ... reused from a slot's cache
    std::atomic<uint64_t> prompt_tokens_evaluated{0}; // ... decoded
    std::atomic<uint64_t> generated_tokens{0};
    std::atomic<uint64_t> decode_steps{0};
    std::atomic<uint64_t> decode_rows{0};
    std::atomic<uint64_t> decode_micros{0};           // time spent in ember_decode + sampling
    std::atomic<int64_t> slots_busy{0};
    std::atomic<int64_t> queue_depth{0};
    std::atomic<int64_t> kv_cells_used{0};
    int64_t kv_cells_total = 0;
    int64_t slots_total = 0;

    std::string prometheus_text() const;
};

}  // namespace server
