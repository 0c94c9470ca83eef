#include "metrics.h"

#include <sstream>

namespace server {

namespace {

template <typename T>
void line(std::ostringstream &out, const char *name, const char *type, const char *help, T value) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n' << name << ' ' << value << '\n';
}

}  // namespace

std::string Metrics::prometheus_text() const {
    std::ostringstream out;
    line(out, "ember_http_requests_total", "counter", "HTTP requests answered.", http_requests.load());
    line(out, "ember_http_errors_total", "counter", "HTTP responses with a status of 400 or more.", http_errors.load());
    line(out, "ember_requests_total", "counter", "Generation requests admitted to a slot.", generation_requests.load());
    line(out, "ember_requests_cancelled_total", "counter", "Generation requests whose client went away.",
         cancelled_requests.load());
    line(out, "ember_prompt_tokens_total", "counter", "Prompt tokens of admitted requests.", prompt_tokens.load());
    line(out, "ember_prompt_tokens_cached_total", "counter", "Prompt tokens reused from a slot's cache.",
         prompt_tokens_cached.load());
    line(out, "ember_prompt_tokens_evaluated_total", "counter", "Prompt tokens decoded.", prompt_tokens_evaluated.load());
    line(out, "ember_generated_tokens_total", "counter", "Tokens generated.", generated_tokens.load());
    line(out, "ember_decode_steps_total", "counter", "Batches decoded by the scheduler.", decode_steps.load());
    line(out, "ember_decode_rows_total", "counter", "Tokens in those batches.", decode_rows.load());
    const double busy_s = decode_micros.load() / 1e6;
    line(out, "ember_decode_seconds_total", "counter", "Time spent decoding and sampling.", busy_s);
    line(out, "ember_generated_tokens_per_second", "gauge", "Generated tokens per second of decoding time.",
         busy_s > 0 ? generated_tokens.load() / busy_s : 0.0);
    line(out, "ember_requests_in_flight", "gauge", "Requests holding a slot.", slots_busy.load());
    line(out, "ember_queue_depth", "gauge", "Requests waiting for a slot.", queue_depth.load());
    line(out, "ember_slots", "gauge", "Slots (-np).", slots_total);
    line(out, "ember_kv_cells_used", "gauge", "KV cache cells holding tokens (kept ones included).", kv_cells_used.load());
    line(out, "ember_kv_cells", "gauge", "KV cache cells (-c).", kv_cells_total);
    const double usage = kv_cells_total > 0 ? static_cast<double>(kv_cells_used.load()) / kv_cells_total : 0.0;
    line(out, "ember_kv_usage_ratio", "gauge", "Fraction of the KV cache in use.", usage);
    return out.str();
}

}  // namespace server
