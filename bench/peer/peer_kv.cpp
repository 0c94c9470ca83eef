// peer-kv: llama.cpp with a chosen KV cache type (-ctk / -ctv), the reference for Ember's
// quantized caches. Written against llama.h's public API and built by bench/peer/build.sh beside
// an installed peer (../shared/peer/setup.sh).
//   peer-kv logits MODEL PROMPT_FILE OUT.bin [-ctk T] [-ctv T] [-t 2]
//        OUT.bin as `peer logits`: int32 n_tokens, int32 n_vocab, int32 tokens[], float32 logits[][]
//        (the prompt minus trailing newlines, with the model's BOS, one batch)
//   peer-kv perplexity MODEL TEXT_FILE [-c 512] [--chunks N] [-ctk T] [-ctv T] [-t 2]
//        prints "ppl X", over ember-perplexity's chunks (llama-perplexity's rules: each chunk from
//        an empty cache with BOS first, its second half scored)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "llama.h"
#include "peer_common.h"

namespace {

const char *option(int argc, char **argv, const char *name, const char *fallback) {
    return peer::text_option(argc, argv, 3, name, fallback);
}

std::string read_file(const char *path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        std::fprintf(stderr, "peer-kv: cannot read %s\n", path);
        std::exit(1);
    }
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::vector<llama_token> tokenize(const llama_vocab *vocab, const std::string &text) {
    std::vector<llama_token> t(text.size() + 8);
    int n = llama_tokenize(vocab, text.c_str(), static_cast<int32_t>(text.size()), t.data(), static_cast<int32_t>(t.size()),
                           true, false);
    if (n < 0) {
        t.resize(static_cast<size_t>(-n));
        n = llama_tokenize(vocab, text.c_str(), static_cast<int32_t>(text.size()), t.data(), static_cast<int32_t>(t.size()),
                           true, false);
    }
    t.resize(static_cast<size_t>(std::max(n, 0)));
    return t;
}

// A context of n_ctx cells decoding batches of up to n_ctx tokens, with the cache types asked for.
llama_context *make_context(llama_model *model, int n_ctx, int argc, char **argv) {
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = cp.n_batch = cp.n_ubatch = static_cast<uint32_t>(n_ctx);
    cp.n_threads = cp.n_threads_batch = std::atoi(option(argc, argv, "-t", "2"));
    cp.type_k = peer::cache_type(option(argc, argv, "-ctk", "f16"));
    cp.type_v = peer::cache_type(option(argc, argv, "-ctv", option(argc, argv, "-ctk", "f16")));
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_ENABLED;  // a quantized V cache needs it
    llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) {
        std::fprintf(stderr, "peer-kv: cannot create a context\n");
        std::exit(1);
    }
    return ctx;
}

// Decodes tokens at positions 0.. with logits for every row.
void decode_all(llama_context *ctx, const llama_token *tokens, int n) {
    llama_batch b = llama_batch_init(n, 0, 1);
    for (int i = 0; i < n; ++i) {
        b.token[i] = tokens[i];
        b.pos[i] = i;
        b.n_seq_id[i] = 1;
        b.seq_id[i][0] = 0;
        b.logits[i] = 1;
    }
    b.n_tokens = n;
    if (llama_decode(ctx, b)) {
        std::fprintf(stderr, "peer-kv: decode failed\n");
        std::exit(1);
    }
    llama_batch_free(b);
}

int logits(llama_model *model, int argc, char **argv) {
    if (argc < 5) return 2;
    std::string prompt = read_file(argv[3]);
    while (!prompt.empty() && prompt.back() == '\n') prompt.pop_back();
    const llama_vocab *vocab = llama_model_get_vocab(model);
    const std::vector<llama_token> tokens = tokenize(vocab, prompt);
    const int n = static_cast<int>(tokens.size()), n_vocab = llama_vocab_n_tokens(vocab);
    llama_context *ctx = make_context(model, n, argc, argv);
    decode_all(ctx, tokens.data(), n);
    FILE *f = std::fopen(argv[4], "wb");
    if (!f) return 1;
    std::fwrite(&n, 4, 1, f);
    std::fwrite(&n_vocab, 4, 1, f);
    std::fwrite(tokens.data(), 4, tokens.size(), f);
    for (int i = 0; i < n; ++i) std::fwrite(llama_get_logits_ith(ctx, i), 4, static_cast<size_t>(n_vocab), f);
    std::fclose(f);
    llama_free(ctx);
    return 0;
}

int perplexity(llama_model *model, int argc, char **argv) {
    const int n_ctx = std::atoi(option(argc, argv, "-c", "512"));
    const llama_vocab *vocab = llama_model_get_vocab(model);
    const std::vector<llama_token> tokens = tokenize(vocab, read_file(argv[3]));
    const int n_vocab = llama_vocab_n_tokens(vocab);
    int n_chunks = static_cast<int>(tokens.size()) / n_ctx;
    if (const int limit = std::atoi(option(argc, argv, "--chunks", "0")); limit > 0) n_chunks = std::min(n_chunks, limit);
    if (n_chunks == 0) {
        std::fprintf(stderr, "peer-kv: the text is shorter than one chunk\n");
        return 1;
    }
    llama_context *ctx = make_context(model, n_ctx, argc, argv);
    const bool bos = llama_vocab_get_add_bos(vocab);
    double nll = 0.0;
    long count = 0;
    for (int c = 0; c < n_chunks; ++c) {
        std::vector<llama_token> chunk(tokens.begin() + static_cast<long>(c) * n_ctx, tokens.begin() + static_cast<long>(c + 1) * n_ctx);
        if (bos) chunk[0] = llama_vocab_bos(vocab);
        llama_memory_clear(llama_get_memory(ctx), true);
        decode_all(ctx, chunk.data(), n_ctx);
        const std::vector<llama_token> targets(tokens.begin() + static_cast<long>(c) * n_ctx, tokens.begin() + static_cast<long>(c + 1) * n_ctx);
        for (int i = n_ctx / 2; i < n_ctx - 1; ++i) {
            const float *lg = llama_get_logits_ith(ctx, i);
            const float mx = *std::max_element(lg, lg + n_vocab);
            double sum = 0.0;
            for (int v = 0; v < n_vocab; ++v) sum += std::exp(static_cast<double>(lg[v]) - mx);
            nll += std::log(sum) + mx - lg[targets[static_cast<size_t>(i + 1)]];
            ++count;
        }
    }
    std::printf("ppl %.6f\n", std::exp(nll / static_cast<double>(count)));
    llama_free(ctx);
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 4 || (std::strcmp(argv[1], "logits") && std::strcmp(argv[1], "perplexity"))) {
        std::fprintf(stderr,
                     "usage: peer-kv logits MODEL PROMPT_FILE OUT.bin [-ctk T] [-ctv T] [-t N]\n"
                     "       peer-kv perplexity MODEL TEXT_FILE [-c N] [--chunks N] [-ctk T] [-ctv T] [-t N]\n");
        return 2;
    }
    llama_log_set([](ggml_log_level, const char *, void *) {}, nullptr);
    llama_model *model = peer::load_model("peer-kv", argv[2]);
    const int rc = !std::strcmp(argv[1], "logits") ? logits(model, argc, argv) : perplexity(model, argc, argv);
    llama_model_free(model);
    return rc;
}
