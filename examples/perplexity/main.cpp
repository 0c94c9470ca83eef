// ember-perplexity: perplexity of a model over a text file and, against a base model, the
// KL-divergence, top-1 agreement and RMS delta-p of its next-token distributions.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "common/cli.h"
#include "common/kv_options.h"
#include "core/error.h"
#include "model/kv_cache.h"
#include "runtime/model.h"
#include "runtime/perplexity.h"

namespace {

using namespace ember;

const char *kUsage =
    "usage: ember-perplexity -m MODEL -f TEXT [-c N] [-b N] [-t N] [--chunks N] [--kl-base BASE_MODEL] [-ngl L]\n"
    "                        [-ctk T] [-ctv T]\n"
    "\n"
    "Perplexity over non-overlapping chunks of N tokens of TEXT, tokenized once with the model's\n"
    "BOS rule. Each chunk starts from an empty context with BOS as its first token (when the model\n"
    "adds BOS); only the second half of each chunk is scored, so every scored token has at least\n"
    "N/2 tokens of context. These are llama.cpp's llama-perplexity rules: figures compare directly.\n"
    "\n"
    "options:\n"
    "  -m MODEL              GGUF model\n"
    "  -f TEXT               text file\n"
    "  -c N                  tokens per chunk (default 512)\n"
    "  -b N                  tokens per decode, a divisor of -c (default: the whole chunk)\n"
    "  -t N                  threads (default: hardware threads)\n"
    "  -ngl L                layers to offload (the last L; -1: all, with the output head)\n"
    "  --chunks N            evaluate only the first N chunks (default: all)\n"
    "  -ctk, -ctv T          KV cache type of the K / V rows: f16 (default), f32, bf16, q8_0, q4_0, q4_1,\n"
    "                        iq4_nl, q5_0, q5_1 (-ctv defaults to -ctk)\n"
    "  --kl-base BASE_MODEL  also compare MODEL's distributions with BASE_MODEL's (same vocabulary)\n"
    "                        at the scored positions: mean KL(BASE || MODEL), top-1 agreement,\n"
    "                        RMS of the change in the probability of the actual next token\n"
    "\n"
    "Prints a running estimate after each chunk, then 'Final estimate: PPL = X +/- SE' (standard\n"
    "error from the spread of the per-token log-likelihoods). Exit status: 0 success, 1 failure\n"
    "(file, model, text too short), 2 bad usage.\n";

struct Options {
    std::string model, text, kl_base;
    int32_t n_gpu_layers = 0;
    perplexity::Params params;
};

uint32_t parse_u32(const std::string &option, const std::string &value, uint32_t min) {
    const unsigned long long v = cli::parse_count(option, value);
    if (v < min || v > (1u << 24)) throw cli::UsageError(option + " is out of range: " + value);
    return static_cast<uint32_t>(v);
}

// Returns false when the caller asked for help (already printed).
bool parse_args(int argc, char **argv, Options &o) {
    cli::KvTypeOptions kv;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "-h" || a == "--help") {
            std::fputs(kUsage, stdout);
            return false;
        }
        if (i + 1 >= argc) throw cli::UsageError(a + " needs a value");
        const std::string v = argv[++i];
        if (a == "-m") o.model = v;
        else if (a == "-f") o.text = v;
        else if (a == "--kl-base") o.kl_base = v;
        else if (a == "-ngl") o.n_gpu_layers = cli::parse_gpu_layers(a, v);
        else if (a == "-c") o.params.n_ctx = parse_u32(a, v, 4);
        else if (a == "-b") o.params.n_batch = parse_u32(a, v, 1);
        else if (a == "-t") o.params.n_threads = static_cast<int>(parse_u32(a, v, 1));
        else if (a == "--chunks") o.params.n_chunks = parse_u32(a, v, 1);
        else if (cli::KvTypeOptions::is_option(a)) kv.set(a, v);
        else throw cli::UsageError("unknown argument '" + a + "'");
    }
    o.params.kv_types = kv.types();
    if (o.model.empty()) throw cli::UsageError("-m MODEL is required");
    if (o.text.empty()) throw cli::UsageError("-f TEXT is required");
    if (o.params.n_batch != 0 && o.params.n_ctx % o.params.n_batch != 0)
        throw cli::UsageError("-b " + std::to_string(o.params.n_batch) + " does not divide -c " +
                              std::to_string(o.params.n_ctx));
    return true;
}

std::string read_text(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(EMBER_ERR_IO, path + ": cannot open text file");
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void print_kl(const perplexity::Result &r) {
    const perplexity::KlStats &kl = r.kl;
    std::printf("\nKL-divergence against the base model over %llu positions:\n",
                static_cast<unsigned long long>(kl.kl.count()));
    std::printf("  PPL(base)        = %.4f +/- %.5f\n", r.base.ppl(), r.base.ppl_stderr());
    std::printf("  PPL(model)       = %.4f +/- %.5f\n", r.model.ppl(), r.model.ppl_stderr());
    std::printf("  PPL ratio        = %.6f\n", r.model.ppl() / r.base.ppl());
    std::printf("  mean KL          = %.6f +/- %.6f nats\n", kl.kl.mean(), kl.kl.stderr_of_mean());
    std::printf("  median KL        = %.6f\n", kl.kl_quantile(0.5));
    std::printf("  99th pct KL      = %.6f\n", kl.kl_quantile(0.99));
    std::printf("  max KL           = %.6f\n", kl.kl_quantile(1.0));
    std::printf("  top-1 agreement  = %.3f %% +/- %.3f %%\n", kl.top1_percent(), kl.top1_percent_stderr());
    std::printf("  mean delta-p     = %.4f %% +/- %.4f %%\n", 100.0 * kl.delta_p.mean(), 100.0 * kl.delta_p.stderr_of_mean());
    std::printf("  RMS delta-p      = %.4f %% +/- %.4f %%\n", 100.0 * kl.rms_delta_p(), 100.0 * kl.rms_delta_p_stderr());
}

int perplexity_main(int argc, char **argv) {
    Options o;
    if (!parse_args(argc, argv, o)) return cli::kExitOk;

    const std::string text = read_text(o.text);
    ModelParams mp;
    mp.n_gpu_layers = o.n_gpu_layers;
    auto model = Model::load(o.model, mp);
    for (const std::string &w : model->warnings()) std::fprintf(stderr, "ember-perplexity: warning: %s\n", w.c_str());
    std::unique_ptr<Model> base;
    if (!o.kl_base.empty()) base = Model::load(o.kl_base, mp);

    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<int32_t> tokens = perplexity::tokenize_text(*model, text);
    if (base && perplexity::tokenize_text(*base, text) != tokens)
        fail(EMBER_ERR_INVALID_ARGUMENT, o.kl_base + ": its tokenizer splits the text differently from " + o.model);
    const auto t1 = std::chrono::steady_clock::now();

    const size_t n_chunks = perplexity::chunk_count(tokens.size(), o.params);
    const uint32_t n_ctx = o.params.n_ctx;
    std::fprintf(stderr, "ember-perplexity: %s: %zu tokens (tokenized in %.2f s), %zu chunks of %u, scoring %u tokens each\n",
                 o.text.c_str(), tokens.size(), std::chrono::duration<double>(t1 - t0).count(), n_chunks, n_ctx,
                 perplexity::n_scored(n_ctx));

    const perplexity::Result r = perplexity::evaluate(
        *model, base.get(), tokens, o.params, [](const perplexity::Progress &p) {
            std::printf("[%zu]%.4f%s", p.chunk + 1, p.model->ppl(),
                        p.chunk + 1 == p.n_chunks ? "\n" : ((p.chunk + 1) % 10 == 0 ? ",\n" : ","));
            std::fflush(stdout);
        });
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();

    std::printf("Final estimate: PPL = %.4f +/- %.5f\n", r.model.ppl(), r.model.ppl_stderr());
    if (r.has_base) print_kl(r);
    const double n_decoded = static_cast<double>(r.n_chunks) * n_ctx * (r.has_base ? 2.0 : 1.0);
    std::fprintf(stderr, "ember-perplexity: %zu chunks, %llu scored tokens in %.2f s (%.1f tokens/s decoded)\n",
                 r.n_chunks, static_cast<unsigned long long>(r.model.nll.count()), secs, n_decoded / secs);
    return cli::kExitOk;
}

}  // namespace

int main(int argc, char **argv) {
    return cli::run("ember-perplexity", kUsage, [&] { return perplexity_main(argc, argv); });
}
