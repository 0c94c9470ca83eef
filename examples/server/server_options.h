// ember-server's command line.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace server {

struct Options {
    std::string model;
    std::string host = "127.0.0.1";
    int port = 8080;             // 0: any free port (printed when listening)
    uint32_t n_ctx = 0;          // total KV cells, split evenly between the slots; 0: the model's
    int32_t n_slots = 1;         // -np: requests decoded together
    int32_t n_threads = 0;       // 0: all hardware threads
    int32_t n_gpu_layers = 0;
    int32_t kv_type_k = 0;       // -ctk: an ember_kv_type (0: f16)
    int32_t kv_type_v = -1;      // -ctv; -1: as -ctk
    std::string api_key;         // "" : no key needed
    std::string alias;           // model id; "": the file's base name
    double timeout_s = 600;      // bound on one request, from arrival to its last byte
    double shutdown_grace_s = 10;  // running requests' time to finish after SIGINT/SIGTERM
    bool metrics = false;
    int32_t queue_max = 64;      // requests waiting for a slot before 503
};

extern const char kUsage[];

// Wrong arguments: the program prints the message and its usage, and exits 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Fills `o` from argv; false when --help was asked. Throws UsageError.
bool parse_options(int argc, char **argv, Options &o);

}  // namespace server
