// What a loaded model and a session really take, against `ember-gguf info`'s estimate
// (estimate_memory): the weights stay in the file mapping (never copied), and the
// session's KV cache and compute buffers match the estimate within 10 %.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/memory_estimate.h"
#include "runtime/model.h"
#include "runtime/session.h"
#include "support/resident.h"
#include "support/test_paths.h"

using namespace ember;

namespace {

// Anonymous resident set of this process from /proc/self/status (heap: KV cache, buffers).
// Returns false where /proc is not there.
struct Rss {
    long long anon_kb = 0;
};
bool read_rss(Rss &r) {
    FILE *f = std::fopen("/proc/self/status", "r");
    if (!f) return false;
    char line[256];
    bool found = false;
    while (std::fgets(line, sizeof line, f))
        if (std::sscanf(line, "RssAnon: %lld kB", &r.anon_kb) == 1) found = true;
    std::fclose(f);
    return found;
}

double relative(double measured, double estimate) { return (measured - estimate) / estimate; }

}  // namespace

TEST_CASE("KV cache and compute buffers match ember-gguf's estimate; weights are not copied", "[memory]") {
    struct Case {
        const char *model;
        uint32_t n_ctx;
    };
    const Case cases[] = {{"models/stories260K.gguf", 128}, {"models/stories260K.gguf", 256},
                          {"models/tiny-stories-F16.gguf", 128}, {"models/tiny-stories-F16.gguf", 256}};
    for (const Case &c : cases) {
        INFO(c.model << " n_ctx " << c.n_ctx);
        const std::string path = test::shared_path(c.model);
        Rss before, loaded, decoded;
        const bool have_rss = read_rss(before);
        auto model = Model::load(path);
        if (have_rss) read_rss(loaded);

        MemoryEstimateParams ep;
        ep.n_ctx = c.n_ctx;
        const MemoryEstimate e = estimate_memory(model->files(), ep);
        REQUIRE(e.has_hparams);

        // One micro-batch that fills the context, logits for every row: the case the compute
        // estimate describes (n_batch 512 >= n_ctx, so n_ub = n_ctx).
        SessionParams sp;
        sp.n_ctx = c.n_ctx;
        sp.n_threads = 1;
        std::vector<int32_t> prompt(c.n_ctx);
        for (uint32_t i = 0; i < c.n_ctx; ++i) prompt[i] = static_cast<int32_t>((i * 7919u + 13u) % model->n_vocab());
        prompt[0] = 1;
        Session session(*model, sp);
        REQUIRE(session.decode(Batch::sequence(prompt, 0, 0, /*all_outputs=*/true)) == EMBER_OK);
        if (have_rss) read_rss(decoded);
        const long long mapped_kb = have_rss ? test::mapped_resident_kb(path) : -1;

        const double kv = static_cast<double>(session.kv_bytes());
        const double compute = static_cast<double>(session.compute_bytes());
        std::printf("memory %-30s n_ctx %3u: weights %8.2f MB (mapped RSS %7.2f MB) | KV %6.2f MB (estimate %6.2f) | "
                    "compute %6.2f MB (estimate %6.2f) | anonymous RSS +%7.2f MB\n",
                    c.model, c.n_ctx, e.weights_cpu / 1e6, have_rss ? mapped_kb / 1e3 : 0.0,
                    kv / 1e6, e.kv_cpu / 1e6, compute / 1e6, e.compute_cpu / 1e6,
                    have_rss ? (decoded.anon_kb - loaded.anon_kb) / 1e3 : 0.0);

        CHECK(kv == static_cast<double>(e.kv_cpu));
        CHECK(std::abs(relative(compute, static_cast<double>(e.compute_cpu))) <= 0.10);
        CHECK(std::abs(relative(kv + compute, static_cast<double>(e.total_cpu() - e.weights_cpu))) <= 0.10);

        if (have_rss) {
            // Weights are used in place: loading copies nothing big (the anonymous growth of a
            // load is the metadata, tokenizer and small converted vectors).
            const double load_anon = (loaded.anon_kb - before.anon_kb) * 1024.0;
            CHECK(load_anon <= 0.25 * static_cast<double>(e.weights_cpu) + 4e6);
            // The decode read the weights through the mapping (so it is found and resident),
            // and it holds no more than the file.
            CHECK(mapped_kb > 0);
            CHECK(mapped_kb * 1024.0 <= static_cast<double>(e.weights_cpu) + 4e6);
            // The session's heap growth is its KV cache and buffers, plus slack for the
            // allocator, per-thread matmul scratch and the runtime (a generous floor, since
            // RSS moves in pages and freed memory is not always returned).
            const double session_anon = (decoded.anon_kb - loaded.anon_kb) * 1024.0;
            CHECK(session_anon <= 1.25 * static_cast<double>(e.kv_cpu + e.compute_cpu) + 8e6);
        }
    }
}
