// ember-chat: talk to a model in the terminal, with streaming output. Uses only ember.h.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "chat_options.h"
#include "conversation.h"
#include "ember/ember.h"

namespace {

volatile sig_atomic_t g_interrupt = 0;

void on_sigint(int) { g_interrupt = 1; }

// No SA_RESTART: a Ctrl-C at the prompt interrupts the read, so it can end the program.
void install_sigint() {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
}

// One line from stdin without its newline; false at end of input or on Ctrl-C.
bool read_line(std::string &line) {
    line.clear();
    for (;;) {
        const int c = std::fgetc(stdin);
        if (c == EOF) {
            if (errno == EINTR && !g_interrupt) {
                std::clearerr(stdin);
                continue;
            }
            return !line.empty() && !g_interrupt;
        }
        if (c == '\n') return true;
        line.push_back(static_cast<char>(c));
    }
}

void report(const chat::TurnResult &r) {
    const auto rate = [](int32_t n, double s) { return s > 0 ? n / s : 0.0; };
    std::fprintf(stderr, "[prompt: %d tokens, %.1f tokens/s | reply: %d tokens, %.1f tokens/s]\n", r.stats.n_prompt_tokens,
                 rate(r.stats.n_prompt_tokens, r.stats.prompt_seconds), r.stats.n_generated,
                 rate(r.stats.n_generated, r.stats.generate_seconds));
}

struct Handles {
    ember_model *model = nullptr;
    ember_session *session = nullptr;
    ember_sampler *sampler = nullptr;
    ~Handles() {
        ember_sampler_free(sampler);
        ember_session_free(session);
        ember_model_free(model);
    }
};

[[noreturn]] void fail_call(ember_status st, const std::string &what) {
    throw std::runtime_error(what + ": " + (*ember_last_error() ? ember_last_error() : ember_status_string(st)));
}

int run(const chat::Options &o) {
    ember_set_log_callback(ember_log_to_stderr, o.verbose ? EMBER_LOG_INFO : EMBER_LOG_WARN, nullptr);
    Handles h;
    ember_model_params mp = ember_model_default_params();
    mp.n_gpu_layers = o.n_gpu_layers;
    if (ember_status st = ember_model_load(o.model.c_str(), &mp, &h.model)) fail_call(st, "cannot load model");
    ember_session_params sp = ember_session_default_params();
    sp.n_ctx = o.n_ctx;
    sp.n_threads = o.n_threads;
    if (ember_status st = ember_session_create(h.model, &sp, &h.session)) fail_call(st, "cannot create a session");
    if (ember_status st = ember_sampler_create(&o.sampling, &h.sampler)) fail_call(st, "bad sampling options");

    chat::Conversation conv(h.model, h.session, o.template_name, o.no_chat, o.system_prompt);
    install_sigint();
    if (!o.prompt.empty()) {
        const chat::TurnResult r = conv.reply(o.prompt, h.sampler, o.n_predict, &g_interrupt);
        std::printf("\n");
        if (o.verbose) report(r);
        return 0;
    }
    const bool tty = isatty(STDIN_FILENO);
    if (tty)
        std::fprintf(stderr, "ember-chat: %s (%s); /reset, /exit, Ctrl-C stops a reply\n", o.model.c_str(),
                     o.no_chat ? "plain completion" : "chat");
    std::string line;
    for (;;) {
        if (tty) std::fputs("> ", stdout);
        std::fflush(stdout);
        g_interrupt = 0;
        if (!read_line(line)) break;
        if (line == "/exit") break;
        if (line == "/reset") {
            conv.reset();
            std::printf("[conversation reset]\n");
            continue;
        }
        if (line.empty()) continue;
        const chat::TurnResult r = conv.reply(line, h.sampler, o.n_predict, &g_interrupt);
        std::printf(r.interrupted ? " [interrupted]\n" : "\n");
        if (o.verbose) report(r);
    }
    if (tty) std::printf("\n");
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    chat::Options options;
    try {
        if (!chat::parse_options(argc, argv, options)) {
            std::fputs(chat::kUsage, stdout);
            return 0;
        }
    } catch (const std::invalid_argument &e) {
        std::fprintf(stderr, "ember-chat: %s\n\n%s", e.what(), chat::kUsage);
        return 2;
    }
    try {
        return run(options);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "\nember-chat: %s\n", e.what());
        return 1;
    }
}
