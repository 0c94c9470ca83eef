// Sessions as a user meets them: batches over several sequences, KV edits, state snapshots,
// aborts, a full context, thread-count independence and seeded generation.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "runtime/generate.h"
#include "runtime/session.h"
#include "support/test_paths.h"

using namespace ember;

namespace {

const Model &stories() {
    static std::unique_ptr<Model> m = Model::load(test::shared_path("models/stories260K.gguf"));
    return *m;
}

const std::vector<int32_t> kPrompt = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376};  // "Once upon a time, ..."
const std::vector<int32_t> kOther = {1, 274, 287, 269, 345, 262};

std::vector<float> row(const Session &s, int32_t i) {
    const float *l = s.logits(i);
    return std::vector<float>(l, l + s.model().n_vocab());
}

SessionParams params(uint32_t n_ctx, uint32_t n_seq = 1, int threads = 1) {
    SessionParams p;
    p.n_ctx = n_ctx;
    p.n_seq_max = n_seq;
    p.n_threads = threads;
    return p;
}

}  // namespace

TEST_CASE("two sequences in one batch equal each decoded alone", "[runtime]") {
    Session alone(stories(), params(64));
    REQUIRE(alone.decode(Batch::sequence(kPrompt, 0, 0)) == EMBER_OK);
    const std::vector<float> a = row(alone, -1);
    alone.clear();
    REQUIRE(alone.decode(Batch::sequence(kOther, 0, 0)) == EMBER_OK);
    const std::vector<float> b = row(alone, -1);

    // Interleave both prompts in one batch, each in its own sequence.
    Session both(stories(), params(64, 2));
    Batch batch;
    for (size_t i = 0; i < kPrompt.size(); ++i) {
        batch.add(kPrompt[i], static_cast<int32_t>(i), 0, i + 1 == kPrompt.size());
        if (i < kOther.size()) batch.add(kOther[i], static_cast<int32_t>(i), 1, i + 1 == kOther.size());
    }
    REQUIRE(both.decode(batch) == EMBER_OK);
    const int32_t last_a = static_cast<int32_t>(batch.size() - 1);
    const int32_t last_b = static_cast<int32_t>(2 * kOther.size() - 1);
    const std::vector<float> got_a = row(both, last_a), got_b = row(both, last_b);
    for (size_t i = 0; i < a.size(); ++i) {
        REQUIRE(got_a[i] == Approx(a[i]).margin(1e-4));
        REQUIRE(got_b[i] == Approx(b[i]).margin(1e-4));
    }
    CHECK_THROWS_AS(both.logits(0), Error);  // row 0 asked for no logits
}

TEST_CASE("micro-batches and single tokens give the prompt's logits", "[runtime]") {
    Session whole(stories(), params(64));
    REQUIRE(whole.decode(Batch::sequence(kPrompt, 0, 0, true)) == EMBER_OK);
    SessionParams small = params(64);
    small.n_ubatch = 3;
    Session split(stories(), small);
    REQUIRE(split.decode(Batch::sequence(kPrompt, 0, 0, true)) == EMBER_OK);
    for (int32_t t = 0; t < static_cast<int32_t>(kPrompt.size()); ++t) {
        const std::vector<float> x = row(whole, t), y = row(split, t);
        for (size_t i = 0; i < x.size(); ++i) REQUIRE(y[i] == Approx(x[i]).margin(1e-4));
    }
}

TEST_CASE("removing and re-decoding a tail reproduces the logits; seq_cp shares a prefix", "[runtime]") {
    Session s(stories(), params(64, 2));
    REQUIRE(s.decode(Batch::sequence(kPrompt, 0, 0)) == EMBER_OK);
    const std::vector<float> full = row(s, -1);

    s.seq_rm(0, 7, -1);  // drop positions 7..9
    CHECK(s.seq_pos_max(0) == 6);
    std::vector<int32_t> tail(kPrompt.begin() + 7, kPrompt.end());
    REQUIRE(s.decode(Batch::sequence(tail, 7, 0)) == EMBER_OK);
    const std::vector<float> again = row(s, -1);
    for (size_t i = 0; i < full.size(); ++i) REQUIRE(again[i] == Approx(full[i]).margin(1e-4));

    // Sequence 1 borrows positions 0..6 of sequence 0 and continues with the same tail.
    s.seq_cp(0, 1, 0, 7);
    REQUIRE(s.decode(Batch::sequence(tail, 7, 1)) == EMBER_OK);
    const std::vector<float> copy = row(s, -1);
    for (size_t i = 0; i < full.size(); ++i) REQUIRE(copy[i] == Approx(full[i]).margin(1e-4));
    CHECK(s.kv_cache().n_used() == kPrompt.size() + tail.size());  // the prefix is stored once
}

TEST_CASE("a full context is a status and changes nothing", "[runtime]") {
    Session s(stories(), params(12));
    REQUIRE(s.decode(Batch::sequence(kPrompt, 0, 0)) == EMBER_OK);
    const std::vector<float> before = row(s, -1);
    CHECK(s.decode(Batch::sequence({5, 6, 7}, 10, 0)) == EMBER_ERR_CONTEXT_FULL);
    CHECK(s.kv_cache().n_used() == kPrompt.size());
    CHECK(row(s, -1) == before);
    CHECK(s.decode(Batch::sequence({5, 6}, 10, 0)) == EMBER_OK);  // exactly fits
}

TEST_CASE("malformed batches are errors naming the row", "[runtime]") {
    Session s(stories(), params(16, 2));
    CHECK_THROWS_AS(s.decode(Batch{}), Error);
    CHECK_THROWS_WITH(s.decode(Batch::sequence({1, 100000}, 0, 0)), Catch::Contains("row 1"));
    CHECK_THROWS_WITH(s.decode(Batch::sequence({1}, 0, 2)), Catch::Contains("sequence id 2"));
    CHECK(s.kv_cache().n_used() == 0);
}

TEST_CASE("an abort stops a decode cleanly and the session stays usable", "[runtime]") {
    Session s(stories(), params(64));
    int calls = 0;
    s.set_abort_callback([&] { return ++calls == 3; });  // stop before the second layer
    CHECK(s.decode(Batch::sequence(kPrompt, 0, 0)) == EMBER_ERR_ABORTED);
    CHECK(s.kv_cache().n_used() == 0);
    s.set_abort_callback(nullptr);
    REQUIRE(s.decode(Batch::sequence(kPrompt, 0, 0)) == EMBER_OK);
    Session ref(stories(), params(64));
    REQUIRE(ref.decode(Batch::sequence(kPrompt, 0, 0)) == EMBER_OK);
    CHECK(row(s, -1) == row(ref, -1));
}

TEST_CASE("state save and load continue exactly where the snapshot was taken", "[runtime]") {
    Session a(stories(), params(64));
    REQUIRE(a.decode(Batch::sequence(kPrompt, 0, 0)) == EMBER_OK);
    const std::vector<uint8_t> state = a.save_state();

    Session b(stories(), params(64));
    b.load_state(state.data(), state.size());
    CHECK(row(b, -1) == row(a, -1));
    REQUIRE(a.decode(Batch::sequence({298}, 10, 0)) == EMBER_OK);
    REQUIRE(b.decode(Batch::sequence({298}, 10, 0)) == EMBER_OK);
    CHECK(row(b, -1) == row(a, -1));

    const std::string path = test::temp_dir("state") + "/s.bin";
    a.save_state_file(path);
    Session c(stories(), params(64));
    c.load_state_file(path);
    CHECK(row(c, -1) == row(a, -1));
    CHECK_THROWS_AS(c.load_state(state.data(), state.size() / 2), Error);
}

TEST_CASE("logits do not depend on the thread count", "[runtime]") {
    const Model &m = stories();
    Session one(m, params(64, 1, 1)), two(m, params(64, 1, 2));
    REQUIRE(one.decode(Batch::sequence(kPrompt, 0, 0, true)) == EMBER_OK);
    REQUIRE(two.decode(Batch::sequence(kPrompt, 0, 0, true)) == EMBER_OK);
    for (int32_t t = 0; t < static_cast<int32_t>(kPrompt.size()); ++t) CHECK(row(one, t) == row(two, t));
}

TEST_CASE("greedy generation gives the reference story; seeded sampling repeats", "[runtime]") {
    Session s(stories(), params(64));
    sampling::SamplerChain greedy;
    greedy.add(sampling::make_greedy());
    GenerateParams gp;
    gp.max_tokens = 16;
    gp.n_logprobs = 3;
    std::vector<GeneratedToken> streamed;
    const GenerateResult r = generate(s, greedy, kPrompt, gp, [&](const GeneratedToken &t) {
        streamed.push_back(t);
        return true;
    });
    CHECK(r.text == " girl named Lily. She loved to play outside");
    CHECK(r.stop_reason == StopReason::MaxTokens);
    REQUIRE(streamed.size() == 16);
    CHECK(streamed[0].top[0].id == streamed[0].id);  // greedy picks the most likely token
    CHECK(streamed[0].logprob == streamed[0].top[0].logprob);
    CHECK(streamed[0].logprob < 0.0f);

    // Without n_logprobs nothing is computed: no log-probability, no alternatives.
    s.clear();
    gp.n_logprobs = 0;
    bool any_logprob = false;
    generate(s, greedy, kPrompt, gp, [&](const GeneratedToken &t) {
        any_logprob = any_logprob || !std::isnan(t.logprob) || !t.top.empty();
        return true;
    });
    CHECK_FALSE(any_logprob);

    // Stop strings cut the text; the callback can stop early.
    s.clear();
    gp.stop = {" Lily"};
    CHECK(generate(s, greedy, kPrompt, gp).text == " girl named");
    s.clear();
    gp.stop.clear();
    int n = 0;
    CHECK(generate(s, greedy, kPrompt, gp, [&](const GeneratedToken &) { return ++n < 3; }).stop_reason ==
          StopReason::Callback);

    // The same seed gives the same story, on one thread or two.
    auto sample_story = [&](int threads) {
        Session t(stories(), params(128, 1, threads));
        sampling::SamplerParams sp;
        sp.seed = 1234;
        sp.temperature = 1.0f;
        sampling::SamplerChain chain = sampling::build_chain(sp);
        GenerateParams g;
        g.max_tokens = 40;
        return generate(t, chain, kPrompt, g).tokens;
    };
    const std::vector<int32_t> first = sample_story(1);
    CHECK(first == sample_story(1));
    CHECK(first == sample_story(2));
}

TEST_CASE("embeddings mode gives hidden states and pooled vectors", "[runtime]") {
    SessionParams p = params(64, 2);
    p.embeddings = true;
    p.pooling = Pooling::Mean;
    Session s(stories(), p);
    Batch b = Batch::sequence(kPrompt, 0, 0, true);
    REQUIRE(s.decode(b) == EMBER_OK);
    const uint32_t n_embd = stories().n_embd();
    std::vector<double> mean(n_embd, 0.0);
    for (int32_t t = 0; t < static_cast<int32_t>(kPrompt.size()); ++t)
        for (uint32_t j = 0; j < n_embd; ++j) mean[j] += s.embeddings(t)[j] / static_cast<double>(kPrompt.size());
    for (uint32_t j = 0; j < n_embd; ++j) CHECK(s.sequence_embeddings(0)[j] == Approx(mean[j]).margin(1e-5));
    CHECK_THROWS_AS(s.logits(0), Error);
}

TEST_CASE("an aborted decode leaves no embeddings to read, stale or half-written", "[runtime]") {
    SessionParams p = params(64, 2);
    p.embeddings = true;
    p.pooling = Pooling::Last;
    Session s(stories(), p);
    REQUIRE(s.decode(Batch::sequence(kPrompt, 0, 0, true)) == EMBER_OK);
    REQUIRE_NOTHROW(s.embeddings(0));
    REQUIRE_NOTHROW(s.sequence_embeddings(0));
    int calls = 0;
    s.set_abort_callback([&] { return ++calls == 3; });
    CHECK(s.decode(Batch::sequence({298, 1}, static_cast<int32_t>(kPrompt.size()), 0, true)) == EMBER_ERR_ABORTED);
    CHECK(s.kv_cache().n_used() == kPrompt.size());
    CHECK_THROWS_WITH(s.embeddings(0), Catch::Contains("no outputs"));
    CHECK_THROWS_AS(s.sequence_embeddings(0), Error);
    CHECK(s.n_outputs() == 0);
    s.set_abort_callback(nullptr);
    REQUIRE(s.decode(Batch::sequence({298, 1}, static_cast<int32_t>(kPrompt.size()), 0, true)) == EMBER_OK);
    CHECK_NOTHROW(s.sequence_embeddings(0));
}
