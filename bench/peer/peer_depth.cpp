// peer-depth: llama.cpp's prompt and generation speed at a depth (tokens already in the
// context), the measurement `ember-bench -d` makes, for side-by-side ratios; ../shared's
// `peer bench` starts from an empty context. Written against llama.h's public API and built by
// bench/peer/build.sh beside an installed peer (../shared/peer/setup.sh).
//   peer-depth MODEL [-p 512] [-n 128] [-d 0] [-t 2] [-r 3] [-ctk f16] [-ctv f16]
//        -> one JSON line, ember-bench's keys
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "llama.h"
#include "peer_common.h"

namespace {

int option(int argc, char **argv, const char *name, int fallback) {
    for (int i = 2; i + 1 < argc; ++i)
        if (!std::strcmp(argv[i], name)) return std::atoi(argv[i + 1]);
    return fallback;
}

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Decodes n tokens after the context's last position, in pieces of at most `piece`; false on
// failure. (No copy or allocation: it also runs inside the timed generation loop.)
bool decode(llama_context *ctx, llama_token *tokens, size_t n, int piece) {
    for (size_t i = 0; i < n; i += static_cast<size_t>(piece)) {
        const int m = static_cast<int>(std::min(n - i, static_cast<size_t>(piece)));
        if (llama_decode(ctx, llama_batch_get_one(tokens + i, m))) return false;
    }
    llama_synchronize(ctx);
    return true;
}

struct Stat {
    double median, min, max;
};
Stat stat(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return {n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]), v.front(), v.back()};
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: peer-depth MODEL [-p 512] [-n 128] [-d 0] [-t 2] [-r 3] [-ctk T] [-ctv T]\n");
        return 2;
    }
    const int np = option(argc, argv, "-p", 512), ng = option(argc, argv, "-n", 128), nd = option(argc, argv, "-d", 0);
    const int threads = option(argc, argv, "-t", 2), reps = option(argc, argv, "-r", 3);
    const double load_start = now();
    llama_model *model = peer::load_model("peer-depth", argv[1]);
    const double load_s = now() - load_start;
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    llama_context_params cp = llama_context_default_params();
    const int piece = std::max({np, std::min(nd, 512), 1});  // as ember-bench: the prompt is one micro-batch
    cp.n_ctx = static_cast<uint32_t>(nd + np + ng + 8);
    cp.n_batch = cp.n_ubatch = static_cast<uint32_t>(piece);
    cp.n_threads = cp.n_threads_batch = threads;
    const char *type_k = peer::text_option(argc, argv, 2, "-ctk", "f16");
    const char *type_v = peer::text_option(argc, argv, 2, "-ctv", type_k);
    cp.type_k = peer::cache_type(type_k);
    cp.type_v = peer::cache_type(type_v);
    llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) {
        std::fprintf(stderr, "peer-depth: cannot create a context\n");
        return 1;
    }
    // ember-bench's token ids, so both engines do the same work.
    std::vector<llama_token> depth(static_cast<size_t>(nd)), prompt(static_cast<size_t>(np));
    for (int i = 0; i < nd; ++i) depth[static_cast<size_t>(i)] = static_cast<llama_token>((static_cast<long long>(i) * 4099 + 17) % n_vocab);
    for (int i = 0; i < np; ++i) prompt[static_cast<size_t>(i)] = static_cast<llama_token>((static_cast<long long>(i) * 7919 + 13) % n_vocab);
    std::vector<double> pp, tg;
    for (int r = -1; r < reps; ++r) {  // r = -1 warms up
        llama_memory_clear(llama_get_memory(ctx), true);
        if (!decode(ctx, depth.data(), depth.size(), 512)) return 1;
        const double t0 = now();
        if (np > 0 && !decode(ctx, prompt.data(), prompt.size(), np)) return 1;
        const double t1 = now();
        llama_token token = np > 0 ? prompt.back() % n_vocab : 1 % n_vocab;
        for (int i = 0; i < ng; ++i) {
            if (!decode(ctx, &token, 1, 1)) return 1;
            token = static_cast<llama_token>((static_cast<long long>(token) * 31 + 7) % n_vocab);
        }
        const double t2 = now();
        if (r >= 0) {
            if (np > 0) pp.push_back(np / (t1 - t0));
            if (ng > 0) tg.push_back(ng / (t2 - t1));
        }
    }
    std::string line = "{";
    char buf[256];
    if (np > 0) {
        const Stat s = stat(pp);
        std::snprintf(buf, sizeof buf, "\"pp_tok_s\": %.2f, \"pp_min\": %.2f, \"pp_max\": %.2f, ", s.median, s.min, s.max);
        line += buf;
    }
    if (ng > 0) {
        const Stat s = stat(tg);
        std::snprintf(buf, sizeof buf, "\"tg_tok_s\": %.2f, \"tg_min\": %.2f, \"tg_max\": %.2f, ", s.median, s.min, s.max);
        line += buf;
    }
    std::snprintf(buf, sizeof buf,
                  "\"n_prompt\": %d, \"n_gen\": %d, \"n_depth\": %d, \"threads\": %d, \"reps\": %d, \"load_s\": %.3f, ", np, ng,
                  nd, threads, reps, load_s);
    line += buf;
    std::printf("%s\"type_k\": \"%s\", \"type_v\": \"%s\", \"engine\": \"llama.cpp\", \"model\": \"%s\"}\n", line.c_str(),
                type_k, type_v, argv[1]);
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
