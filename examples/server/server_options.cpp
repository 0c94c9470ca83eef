#include "server_options.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "ember/ember.h"


namespace server {

const char kUsage[] =
    "usage: ember-server -m MODEL [options]\n"
    "An OpenAI-compatible HTTP server: /v1/chat/completions, /v1/completions, /v1/embeddings,\n"
    "/v1/models, /health, /tokenize, /detokenize and (with --metrics) /metrics.\n"
    "  -m, --model MODEL     GGUF model to serve (required)\n"
    "  --host HOST           address to listen on (default 127.0.0.1)\n"
    "  --port N              port (default 8080; 0: any free port, printed at start)\n"
    "  -c, --ctx-size N      total context in tokens, split evenly between the -np slots:\n"
    "                        each request gets N / np tokens (default: the model's training context)\n"
    "  -np, --parallel N     slots: requests generated together in one batch (default 1, at most 64)\n"
    "  -t, --threads N       CPU threads (default: all)\n"
    "  -ngl N                layers to offload to a GPU (the last N; -1: all)\n"
    "  -ctk, --cache-type-k T  KV cache type of the K rows: f16 (default), f32, bf16, q8_0, q4_0,\n"
    "                        q4_1, iq4_nl, q5_0, q5_1 (quantized: head size a multiple of 32)\n"
    "  -ctv, --cache-type-v T  of the V rows (default: as -ctk)\n"
    "  --api-key KEY         require 'Authorization: Bearer KEY' (not for /health)\n"
    "  --api-key-file F      the same, the key read from the first line of file F\n"
    "  --alias NAME          the model id /v1/models lists and requests must name\n"
    "                        (default: the file's base name; a request without 'model' gets it)\n"
    "  --timeout S           a request's time limit in seconds (default 600)\n"
    "  --shutdown-grace S    after SIGINT/SIGTERM, how long running requests may finish before\n"
    "                        they end with an error event (default 10; 0: at once)\n"
    "  --metrics             serve Prometheus metrics at /metrics\n"
    "  --queue N             requests waiting for a slot before 503 + Retry-After (default 64)\n"
    "  -h, --help            this text\n"
    "Exit status: 0 after SIGINT/SIGTERM (in-flight requests get --shutdown-grace), 1 on failure,\n"
    "2 on bad usage.\n";

namespace {

double to_seconds(const std::string &opt, const std::string &v, bool zero_ok) {
    char *end = nullptr;
    const double s = std::strtod(v.c_str(), &end);
    if (v.empty() || *end || !std::isfinite(s) || s < 0 || (s == 0 && !zero_ok) || s > 1e7)
        throw UsageError(opt + " needs " + (zero_ok ? "a number of seconds >= 0" : "a positive number of seconds") +
                         ", got '" + v + "'");
    return s;
}

long long to_int(const std::string &opt, const std::string &v, long long lo, long long hi) {
    char *end = nullptr;
    errno = 0;
    const long long x = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end || errno || x < lo || x > hi)
        throw UsageError(opt + " needs an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got '" +
                         v + "'");
    return x;
}

int32_t to_kv_type(const std::string &opt, const std::string &v) {
    int32_t type = 0;
    if (ember_kv_type_from_name(v.c_str(), &type) != EMBER_OK) throw UsageError(opt + ": " + ember_last_error());
    return type;
}

std::string read_key_file(const std::string &path) {
    std::ifstream f(path);
    if (!f) throw UsageError("--api-key-file: cannot read '" + path + "'");
    std::string line;
    std::getline(f, line);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (line.empty()) throw UsageError("--api-key-file: '" + path + "' holds no key on its first line");
    return line;
}

}  // namespace

bool parse_options(int argc, char **argv, Options &o) {
    bool have_key = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw UsageError(a + " needs a value");
            return argv[++i];
        };
        if (a == "-h" || a == "--help") return false;
        else if (a == "-m" || a == "--model") o.model = value();
        else if (a == "--host") o.host = value();
        else if (a == "--port") o.port = static_cast<int>(to_int(a, value(), 0, 65535));
        else if (a == "-c" || a == "--ctx-size") o.n_ctx = static_cast<uint32_t>(to_int(a, value(), 0, 1 << 24));
        else if (a == "-np" || a == "--parallel") o.n_slots = static_cast<int32_t>(to_int(a, value(), 1, 64));
        else if (a == "-t" || a == "--threads") o.n_threads = static_cast<int32_t>(to_int(a, value(), 0, 1024));
        else if (a == "-ctk" || a == "--cache-type-k") o.kv_type_k = to_kv_type(a, value());
        else if (a == "-ctv" || a == "--cache-type-v") o.kv_type_v = to_kv_type(a, value());
        else if (a == "-ngl" || a == "--n-gpu-layers") o.n_gpu_layers = static_cast<int32_t>(to_int(a, value(), -1, 1000000));
        else if (a == "--api-key" || a == "--api-key-file") {
            if (have_key) throw UsageError("give one of --api-key and --api-key-file, once");
            have_key = true;
            o.api_key = a == "--api-key" ? value() : read_key_file(value());
            if (o.api_key.empty()) throw UsageError("--api-key must not be empty");
        } else if (a == "--alias") {
            o.alias = value();
            if (o.alias.empty()) throw UsageError("--alias must not be empty");
        } else if (a == "--timeout") {
            o.timeout_s = to_seconds(a, value(), false);
        } else if (a == "--shutdown-grace") {
            o.shutdown_grace_s = to_seconds(a, value(), true);
        } else if (a == "--metrics") o.metrics = true;
        else if (a == "--queue") o.queue_max = static_cast<int32_t>(to_int(a, value(), 0, 4096));
        else throw UsageError("unknown option '" + a + "'");
    }
    if (o.model.empty()) throw UsageError("-m MODEL is required");
    return true;
}

}  // namespace server
