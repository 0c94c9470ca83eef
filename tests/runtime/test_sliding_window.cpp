// The sliding-window layers' own cache (gemma2 fixture: window 16 on layers 0 and 2): it keeps
// each sequence's last window positions plus one micro-batch, pruning what no later query can
// see, and still gives llama.cpp's logits; KV editing, sequence copies and state save/load
// work across it, and a rollback past what it still holds is a clear error, not wrong logits.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "runtime/model.h"
#include "runtime/session.h"
#include "support/test_paths.h"

using namespace ember;

namespace {

const std::string kModel = "archs/models/gemma2-F32.gguf";

std::vector<int32_t> long_prompt(const Model &m) {
    const std::vector<uint8_t> bytes = test::read_file_bytes(test::shared_path("conformance/prompts/long.txt"));
    std::string text(bytes.begin(), bytes.end());
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return m.require_vocab().tokenize(text, true, false);
}

// llama.cpp's logits for the long prompt ([n_tokens][n_vocab]).
std::vector<float> reference_logits(size_t n_tokens, size_t n_vocab) {
    const std::vector<uint8_t> bytes = test::read_file_bytes(test::shared_path("archs/logits/gemma2-F32__long.bin"));
    std::vector<float> out(n_tokens * n_vocab);
    REQUIRE(bytes.size() == 8 + 4 * n_tokens + out.size() * 4);
    std::memcpy(out.data(), bytes.data() + 8 + 4 * n_tokens, out.size() * 4);
    return out;
}

double nrmse(const float *a, const float *ref, size_t n) {
    double d = 0, r = 0;
    for (size_t i = 0; i < n; ++i) {
        d += (static_cast<double>(a[i]) - ref[i]) * (static_cast<double>(a[i]) - ref[i]);
        r += static_cast<double>(ref[i]) * ref[i];
    }
    return std::sqrt(d / r);
}

SessionParams small_ubatch(uint32_t n_seq = 1) {
    SessionParams sp;
    sp.n_ctx = 256;
    sp.n_ubatch = 8;
    sp.n_seq_max = n_seq;
    sp.n_threads = 2;
    return sp;
}

std::vector<float> last_logits(const Session &s, size_t n_vocab) { return {s.logits(-1), s.logits(-1) + n_vocab}; }

}  // namespace

TEST_CASE("the sliding-window cache holds the window plus a micro-batch and gives llama.cpp's logits", "[swa]") {
    const auto model = Model::load(test::shared_path(kModel));
    const std::vector<int32_t> prompt = long_prompt(*model);
    const size_t nv = model->n_vocab();
    REQUIRE(prompt.size() > 64);  // far beyond the window and the cache

    Session s(*model, small_ubatch());
    REQUIRE(s.kv_cache_swa() != nullptr);
    CHECK(s.kv_cache_swa()->n_cells() == 16 + 8);
    CHECK(s.kv_cache().n_cells() == 256);
    CHECK(s.kv_bytes() == s.kv_cache().bytes() + s.kv_cache_swa()->bytes());
    CHECK(s.kv_cache_swa()->bytes() * 256 == s.kv_cache().bytes() * 24);  // 2 of 4 layers each, 24 vs 256 cells

    REQUIRE(s.decode(Batch::sequence(prompt, 0, 0, /*all_outputs=*/true)) == EMBER_OK);
    CHECK(s.kv_cache_swa()->n_used() <= 24);
    const std::vector<float> ref = reference_logits(prompt.size(), nv);
    double worst = 0;
    for (size_t t = 0; t < prompt.size(); ++t) worst = std::max(worst, nrmse(s.logits(static_cast<int32_t>(t)), ref.data() + t * nv, nv));
    INFO("max nrmse " << 100 * worst << "%");
    CHECK(worst <= 0.005);

    // Without a sliding window the model would differ: the cache must not see past the window.
    SessionParams full = small_ubatch();
    full.n_ubatch = 512;
    Session whole(*model, full);
    CHECK(whole.kv_cache_swa()->n_cells() == 256);  // window + micro-batch exceeds the context
    REQUIRE(whole.decode(Batch::sequence(prompt, 0, 0, true)) == EMBER_OK);
    for (size_t t = 0; t < prompt.size(); t += 17)
        CHECK(nrmse(whole.logits(static_cast<int32_t>(t)), s.logits(static_cast<int32_t>(t)), nv) <= 0.005);
}

TEST_CASE("KV editing, copies and state across the sliding-window cache", "[swa]") {
    const auto model = Model::load(test::shared_path(kModel));
    const std::vector<int32_t> prompt = long_prompt(*model);
    const size_t nv = model->n_vocab();
    const int32_t n = static_cast<int32_t>(prompt.size());
    Session s(*model, small_ubatch(2));
    REQUIRE(s.decode(Batch::sequence(prompt, 0, 0, true)) == EMBER_OK);
    const std::vector<float> at_end = last_logits(s, nv);
    const std::vector<float> before_end(s.logits(n - 3), s.logits(n - 3) + nv);

    // A short rollback stays within what the window cache holds: the same logits again.
    s.seq_rm(0, n - 3, -1);
    REQUIRE(s.decode(Batch::sequence({prompt.end() - 3, prompt.end()}, n - 3, 0, true)) == EMBER_OK);
    CHECK(nrmse(s.logits(0), before_end.data(), nv) <= 1e-5);
    CHECK(nrmse(s.logits(-1), at_end.data(), nv) <= 1e-5);

    // Save, then continue: a restored session continues identically.
    const std::vector<uint8_t> state = s.save_state();
    Batch next;
    next.add(prompt[5], n, 0, true);
    REQUIRE(s.decode(next) == EMBER_OK);
    const std::vector<float> continued = last_logits(s, nv);
    Session restored(*model, small_ubatch(2));
    restored.load_state(state.data(), state.size());
    REQUIRE(restored.decode(next) == EMBER_OK);
    CHECK(std::memcmp(restored.logits(-1), continued.data(), nv * sizeof(float)) == 0);

    // A copied sequence continues like its source.
    restored.seq_rm(0, n, -1);
    restored.seq_cp(0, 1, -1, -1);
    Batch on1;
    on1.add(prompt[5], n, 1, true);
    REQUIRE(restored.decode(on1) == EMBER_OK);
    CHECK(nrmse(restored.logits(-1), continued.data(), nv) <= 1e-5);

    // A rollback deeper than the window cache still holds is refused with a clear message.
    s.seq_rm(0, 40, -1);
    Batch deep;
    deep.add(prompt[40], 40, 0, true);
    try {
        s.decode(deep);
        FAIL("a decode needing pruned window positions must fail");
    } catch (const Error &e) {
        CHECK(e.status() == EMBER_ERR_INVALID_ARGUMENT);
        CHECK(std::string(e.what()).find("sliding-window layers no longer hold positions below") != std::string::npos);
    }
    CHECK(s.seq_pos_max(0) == 39);  // nothing changed
    // Removing the sequence from the start and decoding it again works.
    s.seq_rm(0, 0, -1);
    REQUIRE(s.decode(Batch::sequence(prompt, 0, 0, true)) == EMBER_OK);
    CHECK(nrmse(s.logits(n - 1), at_end.data(), nv) <= 1e-5);

    // A state of another shape is refused, nothing changed.
    Session other(*model, [] {
        SessionParams p = small_ubatch(2);
        p.n_ubatch = 4;
        return p;
    }());
    CHECK_THROWS_AS(other.load_state(state.data(), state.size() - 1), Error);
    CHECK(other.seq_pos_max(0) == -1);
}
