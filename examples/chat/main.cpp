// ember-chat: talk to a model in the terminal, with streaming output. Uses only ember.h.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

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

void must(ember_status st, const char *what) {
    if (st != EMBER_OK) fail_call(st, what);
}

std::string read_text_file(const std::string &path, const char *what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(std::string("cannot read the ") + what + " file '" + path + "'");
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// --grammar / --json-schema: a grammar stage (it constrains the chain wherever it is added).
void add_grammar(const chat::Options &o, ember_model *model, ember_sampler *s) {
    if (!o.grammar_file.empty()) {
        const std::string gbnf = read_text_file(o.grammar_file, "grammar");
        must(ember_sampler_add_grammar(s, model, gbnf.c_str(), nullptr), ("grammar '" + o.grammar_file + "'").c_str());
    } else if (!o.json_schema.empty()) {
        const std::string schema = o.json_schema[0] == '{' ? o.json_schema : read_text_file(o.json_schema, "JSON schema");
        must(ember_sampler_add_json_schema(s, model, schema.c_str()), "JSON schema");
    }
}

bool has_grammar(const chat::Options &o) { return !o.grammar_file.empty() || !o.json_schema.empty(); }

// A reply that stopped for a token limit or a full context before its grammar was complete.
bool cut_before_grammar_complete(const chat::Options &o, ember_sampler *s, const chat::TurnResult &r) {
    if (!has_grammar(o) || r.interrupted) return false;
    bool complete = true;
    must(ember_sampler_is_complete(s, &complete), "sampler");
    return !complete && (r.context_full || r.stats.stop_reason == EMBER_STOP_MAX_TOKENS ||
                         r.stats.stop_reason == EMBER_STOP_CONTEXT_FULL);
}

// The conventional sampler chain, built step by step so --ignore-eos can ban the model's
// end-of-generation tokens first.
ember_sampler *make_sampler(const chat::Options &o, ember_model *model) {
    if (!o.ignore_eos) {
        ember_sampler *s = nullptr;
        must(ember_sampler_create(&o.sampling, &s), "bad sampling options");
        return s;
    }
    const ember_sampler_params &p = o.sampling;
    ember_sampler *s = nullptr;
    must(ember_sampler_chain_create(&s), "sampler");
    std::vector<ember_token> banned;
    std::vector<float> bias;
    for (int32_t t = 0; t < ember_model_n_vocab(model); ++t)
        if (ember_token_is_eog(model, t)) {
            banned.push_back(t);
            bias.push_back(-INFINITY);
        }
    must(ember_sampler_add_logit_bias(s, banned.data(), bias.data(), banned.size()), "sampler");
    must(ember_sampler_add_penalties(s, p.penalty_last_n, p.penalty_repeat, p.penalty_frequency, p.penalty_presence), "sampler");
    if (p.temperature <= 0) {
        must(ember_sampler_add_greedy(s), "sampler");
        return s;
    }
    must(ember_sampler_add_top_k(s, p.top_k), "sampler");
    must(ember_sampler_add_typical(s, p.typical_p, 1), "sampler");
    must(ember_sampler_add_top_p(s, p.top_p, 1), "sampler");
    must(ember_sampler_add_min_p(s, p.min_p, 1), "sampler");
    must(ember_sampler_add_temperature(s, p.temperature), "sampler");
    must(ember_sampler_add_dist(s, p.seed), "sampler");
    return s;
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
    sp.kv_type = o.kv_type_k;
    sp.kv_type_v = o.kv_type_v < 0 ? 0 : EMBER_KV_TYPE_V(o.kv_type_v);
    if (ember_status st = ember_session_create(h.model, &sp, &h.session)) fail_call(st, "cannot create a session");
    h.sampler = make_sampler(o, h.model);
    add_grammar(o, h.model, h.sampler);

    chat::Conversation conv(h.model, h.session, o.template_name, o.no_chat, o.system_prompt);
    install_sigint();
    if (!o.prompt.empty()) {
        const chat::TurnResult r = conv.reply(o.prompt, h.sampler, o.n_predict, &g_interrupt);
        std::printf("\n");
        if (r.context_full) std::fprintf(stderr, "[context full: the reply was cut short]\n");
        if (o.verbose) report(r);
        if (cut_before_grammar_complete(o, h.sampler, r)) {
            std::fprintf(stderr, "ember-chat: output ended before the grammar completed\n");
            return 1;
        }
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
        try {
            const chat::TurnResult r = conv.reply(line, h.sampler, o.n_predict, &g_interrupt);
            std::printf(r.interrupted ? " [interrupted]\n" : r.context_full ? " [context full]\n" : "\n");
            if (o.verbose) report(r);
            if (cut_before_grammar_complete(o, h.sampler, r))
                std::fprintf(stderr, "ember-chat: output ended before the grammar completed\n");
        } catch (const std::runtime_error &e) {  // this turn failed; the chat goes on
            std::fprintf(stderr, "\nember-chat: %s\n", e.what());
        }
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
