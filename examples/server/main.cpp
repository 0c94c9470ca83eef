// ember-server: an OpenAI-compatible HTTP server on the public C API (ember.h).
#include <malloc.h>
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "engine.h"
#include "http_server.h"
#include "scheduler.h"
#include "server_options.h"

namespace {

// After the grace the scheduler fails what still runs; the streams get this long to send
// that error event before the connections close.
constexpr auto kStreamDrain = std::chrono::seconds(2);

std::string base_name(const std::string &path) {
    std::string name = path.substr(path.find_last_of('/') + 1);
    const size_t dot = name.rfind(".gguf");
    if (dot != std::string::npos && dot + 5 == name.size() && dot > 0) name.resize(dot);
    return name;
}

int serve(const server::Options &o, sigset_t &signals) {
    ember_set_log_callback(ember_log_to_stderr, EMBER_LOG_WARN, nullptr);
    server::HttpServer http(o);
    const int port = http.bind();
    if (port < 0) {
        std::fprintf(stderr, "ember-server: cannot listen on %s:%d\n", o.host.c_str(), o.port);
        return 1;
    }
    http.start();
    std::fprintf(stderr, "ember-server: listening on http://%s:%d\n", o.host.c_str(), port);

    int status = 0;
    std::unique_ptr<server::Engine> engine;
    std::unique_ptr<server::Scheduler> scheduler;
    try {
        engine = std::make_unique<server::Engine>(o.model, o.n_gpu_layers);
        const uint32_t n_ctx = o.n_ctx ? o.n_ctx : static_cast<uint32_t>(engine->n_ctx_train());
        const uint32_t slot_ctx = n_ctx / static_cast<uint32_t>(o.n_slots);
        if (slot_ctx < 8)
            throw std::runtime_error("-c " + std::to_string(n_ctx) + " split between " + std::to_string(o.n_slots) +
                                     " slots leaves " + std::to_string(slot_ctx) + " tokens per slot; give a larger -c");
        server::SchedulerConfig sc;
        sc.n_slots = o.n_slots;
        sc.slot_ctx = slot_ctx;
        sc.n_threads = o.n_threads;
        sc.kv_type_k = o.kv_type_k;
        sc.kv_type_v = o.kv_type_v;
        sc.queue_max = o.queue_max;
        scheduler = std::make_unique<server::Scheduler>(*engine, sc, http.metrics());
        const std::string id = o.alias.empty() ? base_name(o.model) : o.alias;
        http.set_ready(engine.get(), scheduler.get(), id, static_cast<int32_t>(slot_ctx));
        std::fprintf(stderr, "ember-server: serving '%s' with %d slot(s) of %u tokens\n", id.c_str(), o.n_slots, slot_ctx);
        int sig = 0;
        sigwait(&signals, &sig);
        std::fprintf(stderr, "ember-server: %s: shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    } catch (const std::exception &e) {
        std::fprintf(stderr, "ember-server: %s\n", e.what());
        status = 1;
    }
    http.begin_shutdown();
    if (scheduler)
        scheduler->shutdown(std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::duration<double>(o.shutdown_grace_s)));
    http.drain_streams(kStreamDrain);
    http.stop();
    scheduler.reset();
    engine.reset();
    return status;
}

}  // namespace

int main(int argc, char **argv) {
    // Signals are taken by sigwait on the main thread: every thread started later inherits
    // the mask, so none is interrupted.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    signal(SIGPIPE, SIG_IGN);  // a client gone mid-write is an error return, not a crash
    // glibc gives each new thread its own malloc arena; with a thread per connection that
    // lets memory grow with the number of threads ever used rather than with the load.
    mallopt(M_ARENA_MAX, 2);

    server::Options options;
    try {
        if (!server::parse_options(argc, argv, options)) {
            std::fputs(server::kUsage, stdout);
            return 0;
        }
    } catch (const server::UsageError &e) {
        std::fprintf(stderr, "ember-server: %s\n\n%s", e.what(), server::kUsage);
        return 2;
    }
    try {
        return serve(options, signals);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "ember-server: %s\n", e.what());
        return 1;
    }
}
