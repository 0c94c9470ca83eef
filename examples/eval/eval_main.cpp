// ember-eval: logits of a prompt in llama.cpp's conformance format, and a greedy continuation.
//   ember-eval -m MODEL -f PROMPT_FILE [--dump-logits OUT.bin] [--greedy N] [-t N] [-c N] [-ctk T] [-ctv T]
// The prompt is the file minus trailing newlines, tokenized with the model's BOS rule and no
// special-token parsing, decoded as one batch with logits for every position. Exit status:
// 0 success, 1 failure (file, model, context), 2 bad usage.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "common/kv_options.h"
#include "runtime/model.h"
#include "runtime/session.h"

namespace {

const char *kUsage =
    "usage: ember-eval -m MODEL -f PROMPT_FILE [--dump-logits OUT.bin] [--greedy N] [-t N] [-c N] [-ngl L]\n"
    "                  [-ctk T] [-ctv T]\n"
    "  -m MODEL              GGUF model\n"
    "  -f PROMPT_FILE        prompt text (trailing newlines removed)\n"
    "  --dump-logits OUT.bin write int32 n_tokens, int32 n_vocab, int32 tokens[], float32 logits[][]\n"
    "  --greedy N            print N greedy continuation token ids and their text (default 0)\n"
    "  -t N                  threads (default: hardware threads)\n"
    "  -c N                  context size (default: prompt + N)\n"
    "  -ngl L                layers to offload (the last L; -1: all, with the output head)\n"
    "  -ctk, -ctv T          KV cache type of the K / V rows (f16, f32, bf16, q8_0, q4_0, q4_1, iq4_nl,\n"
    "                        q5_0, q5_1; default f16, -ctv as -ctk)\n";

struct Options {
    std::string model, prompt_file, dump_path;
    int greedy = 0, threads = 0, n_ctx = 0, n_gpu_layers = 0;
    ember::cli::KvTypeOptions kv;
};

[[noreturn]] void usage_error(const std::string &msg) {
    std::fprintf(stderr, "ember-eval: %s\n%s", msg.c_str(), kUsage);
    std::exit(2);
}

int parse_int(const std::string &flag, const char *value, int min) {
    char *end = nullptr;
    const long v = std::strtol(value, &end, 10);
    if (*value == '\0' || *end != '\0' || v < min || v > 1 << 24)
        usage_error("bad value '" + std::string(value) + "' for " + flag);
    return static_cast<int>(v);
}

void set_kv_type(ember::cli::KvTypeOptions &kv, const std::string &flag, const char *value) {
    try {
        kv.set(flag, value);
    } catch (const ember::cli::UsageError &e) {
        usage_error(e.what());
    }
}

Options parse_args(int argc, char **argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "-h" || a == "--help") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        }
        if (i + 1 >= argc) usage_error("missing value for " + a);
        const char *v = argv[++i];
        if (a == "-m") o.model = v;
        else if (a == "-f") o.prompt_file = v;
        else if (a == "--dump-logits") o.dump_path = v;
        else if (a == "--greedy") o.greedy = parse_int(a, v, 0);
        else if (a == "-t") o.threads = parse_int(a, v, 1);
        else if (a == "-c") o.n_ctx = parse_int(a, v, 1);
        else if (ember::cli::KvTypeOptions::is_option(a)) set_kv_type(o.kv, a, v);
        else if (a == "-ngl") o.n_gpu_layers = std::string(v) == "-1" ? -1 : parse_int(a, v, 0);
        else usage_error("unknown argument '" + a + "'");
    }
    if (o.model.empty()) usage_error("-m MODEL is required");
    if (o.prompt_file.empty()) usage_error("-f PROMPT_FILE is required");
    return o;
}

std::string read_prompt(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) ember::fail(EMBER_ERR_IO, path + ": cannot open prompt file");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
}

void write_logits(const std::string &path, const std::vector<int32_t> &tokens, int32_t n_vocab,
                  const ember::Session &session) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    const int32_t header[2] = {static_cast<int32_t>(tokens.size()), n_vocab};
    out.write(reinterpret_cast<const char *>(header), sizeof header);
    out.write(reinterpret_cast<const char *>(tokens.data()), static_cast<std::streamsize>(tokens.size() * sizeof(int32_t)));
    for (size_t t = 0; t < tokens.size(); ++t)
        out.write(reinterpret_cast<const char *>(session.logits(static_cast<int32_t>(t))),
                  static_cast<std::streamsize>(n_vocab * sizeof(float)));
    if (!out.flush()) ember::fail(EMBER_ERR_IO, path + ": cannot write logits");
}

int32_t argmax(const float *x, int32_t n) {
    int32_t best = 0;
    for (int32_t i = 1; i < n; ++i)
        if (x[i] > x[best]) best = i;
    return best;
}

int run(const Options &o) {
    const std::string text = read_prompt(o.prompt_file);
    ember::ModelParams mp;
    mp.n_gpu_layers = o.n_gpu_layers;
    auto model = ember::Model::load(o.model, mp);
    for (const std::string &w : model->warnings()) std::fprintf(stderr, "ember-eval: warning: %s\n", w.c_str());
    const ember::tokenizer::Vocab &vocab = model->require_vocab();
    const std::vector<int32_t> tokens = vocab.tokenize(text, /*add_special=*/true, /*parse_special=*/false);
    if (tokens.empty()) ember::fail(EMBER_ERR_INVALID_ARGUMENT, o.prompt_file + ": the prompt has no tokens");
    const int32_t n_vocab = static_cast<int32_t>(model->n_vocab());

    ember::SessionParams sp;
    const uint32_t needed = static_cast<uint32_t>(tokens.size() + static_cast<size_t>(o.greedy));
    sp.n_ctx = o.n_ctx > 0 ? static_cast<uint32_t>(o.n_ctx) : needed;
    sp.n_ubatch = std::max<uint32_t>(512, static_cast<uint32_t>(tokens.size()));  // one batch
    sp.n_threads = o.threads;
    sp.kv_types = o.kv.types();
    ember::Session session(*model, sp);
    for (const std::string &w : session.warnings()) std::fprintf(stderr, "ember-eval: warning: %s\n", w.c_str());

    if (session.decode(ember::Batch::sequence(tokens, 0, 0, /*all_outputs=*/true)) != EMBER_OK)
        ember::fail(EMBER_ERR_CONTEXT_FULL, "the prompt (" + std::to_string(tokens.size()) +
                                                " tokens) does not fit the context of " + std::to_string(session.n_ctx()));
    if (!o.dump_path.empty()) write_logits(o.dump_path, tokens, n_vocab, session);

    if (o.greedy > 0) {
        std::vector<int32_t> out;
        int32_t next = argmax(session.logits(-1), n_vocab);
        for (int i = 0; i < o.greedy; ++i) {
            out.push_back(next);
            if (i + 1 == o.greedy) break;
            ember::Batch b;
            b.add(next, static_cast<int32_t>(tokens.size()) + i, 0, true);
            if (session.decode(b) != EMBER_OK)
                ember::fail(EMBER_ERR_CONTEXT_FULL, "the context of " + std::to_string(session.n_ctx()) +
                                                        " is full after " + std::to_string(out.size()) + " tokens (use -c)");
            next = argmax(session.logits(0), n_vocab);
        }
        for (size_t i = 0; i < out.size(); ++i) std::printf("%s%d", i ? " " : "", out[i]);
        ember::tokenizer::DetokenizeOptions opts;
        opts.remove_space_prefix = false;  // the continuation's leading space is part of its text
        std::printf("\n%s\n", vocab.detokenize(out, opts).c_str());
    }
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    const Options o = parse_args(argc, argv);
    try {
        return run(o);
    } catch (const ember::Error &e) {
        std::fprintf(stderr, "ember-eval: %s\n", e.what());
    } catch (const std::exception &e) {
        std::fprintf(stderr, "ember-eval: %s\n", e.what());
    }
    return 1;
}
