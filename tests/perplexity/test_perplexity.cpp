// Perplexity and KL-divergence as a user measures them: llama.cpp's figures on the shared
// held-out texts, a model compared with itself, how batches and chunk limits behave, and the
// statistics on hand-made distributions.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "runtime/perplexity.h"
#include "support/test_paths.h"

using namespace ember;

namespace {

const Model &stories() {
    static std::unique_ptr<Model> m = Model::load(test::shared_path("models/stories260K.gguf"));
    return *m;
}

std::string read_text(const std::string &relative) {
    std::ifstream in(test::shared_path(relative), std::ios::binary);
    REQUIRE(in);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

const std::vector<int32_t> &stories_tokens() {
    static const std::vector<int32_t> t =
        perplexity::tokenize_text(stories(), read_text("conformance/text/stories-heldout.txt"));
    return t;
}

perplexity::Params params(uint32_t n_ctx, uint32_t n_chunks = 0, uint32_t n_batch = 0) {
    perplexity::Params p;
    p.n_ctx = n_ctx;
    p.n_chunks = n_chunks;
    p.n_batch = n_batch;
    p.n_threads = 1;
    return p;
}

}  // namespace

TEST_CASE("stories260K on its held-out text matches llama.cpp's perplexity", "[perplexity]") {
    // conformance/perplexity.json: llama-perplexity -c 128 gives 2.9009 +/- 0.03895.
    const perplexity::Result r = perplexity::evaluate(stories(), nullptr, stories_tokens(), params(128));
    CHECK(r.n_chunks == stories_tokens().size() / 128);
    CHECK(r.model.nll.count() == r.n_chunks * 63);  // positions 64..126 of each chunk
    CHECK(r.model.ppl() == Approx(2.9009).epsilon(0.005));
    CHECK(r.model.ppl_stderr() == Approx(0.03895).epsilon(0.02));
    CHECK_FALSE(r.has_base);
}

TEST_CASE("a chunk decoded in several batches scores as one decoded whole", "[perplexity]") {
    const perplexity::Result whole = perplexity::evaluate(stories(), nullptr, stories_tokens(), params(64, 8));
    const perplexity::Result split = perplexity::evaluate(stories(), nullptr, stories_tokens(), params(64, 8, 16));
    CHECK(whole.n_chunks == 8);
    CHECK(split.model.nll.count() == whole.model.nll.count());
    CHECK(split.model.ppl() == Approx(whole.model.ppl()).epsilon(1e-4));
}

TEST_CASE("the running estimate is reported after every chunk", "[perplexity]") {
    std::vector<double> running;
    const perplexity::Result r = perplexity::evaluate(
        stories(), nullptr, stories_tokens(), params(64, 5),
        [&](const perplexity::Progress &p) {
            CHECK(p.n_chunks == 5);
            CHECK(p.chunk == running.size());
            CHECK(p.kl == nullptr);
            running.push_back(p.model->ppl());
        });
    REQUIRE(running.size() == 5);
    CHECK(running.back() == Approx(r.model.ppl()));
}

TEST_CASE("a model compared with itself has zero KL-divergence and full top-1 agreement", "[perplexity][kl]") {
    const perplexity::Result r = perplexity::evaluate(stories(), &stories(), stories_tokens(), params(64, 6));
    REQUIRE(r.has_base);
    CHECK(r.kl.kl.count() == 6u * 31u);
    CHECK(r.kl.kl.mean() == Approx(0.0).margin(1e-12));
    CHECK(r.kl.kl_quantile(1.0) == Approx(0.0).margin(1e-12));
    CHECK(r.kl.top1_percent() == 100.0);
    CHECK(r.kl.rms_delta_p() == 0.0);
    CHECK(r.base.ppl() == r.model.ppl());
}

TEST_CASE("a different model has positive KL-divergence", "[perplexity][kl]") {
    // The tied-embedding copy computes the same function: KL stays at rounding level.
    auto tied = Model::load(test::shared_path("models/stories260K-tied.gguf"));
    const perplexity::Result same = perplexity::evaluate(*tied, &stories(), stories_tokens(), params(64, 4));
    CHECK(same.kl.kl.mean() < 1e-6);
    CHECK(same.kl.top1_percent() == 100.0);

    // A random-weight model with the same vocabulary disagrees strongly.
    auto random = Model::load(test::shared_path("models/small-llama-pure-Q8_0.gguf"));
    const perplexity::Result other = perplexity::evaluate(*random, &stories(), stories_tokens(), params(64, 4));
    CHECK(other.kl.kl.mean() > 0.5);
    CHECK(other.kl.kl.stderr_of_mean() > 0.0);
    CHECK(other.kl.top1_percent() < 50.0);
    CHECK(other.kl.rms_delta_p() > 0.05);
    CHECK(other.kl.rms_delta_p_stderr() > 0.0);
    CHECK(other.model.ppl() > other.base.ppl());
}

TEST_CASE("texts and settings that cannot be scored are refused", "[perplexity][errors]") {
    const std::vector<int32_t> short_text(stories_tokens().begin(), stories_tokens().begin() + 100);
    CHECK_THROWS_AS(perplexity::evaluate(stories(), nullptr, short_text, params(128)), Error);
    CHECK_THROWS_AS(perplexity::evaluate(stories(), nullptr, stories_tokens(), params(64, 1, 24)), Error);
    CHECK_THROWS_AS(perplexity::evaluate(stories(), nullptr, stories_tokens(), params(2)), Error);
    auto llama3 = Model::load(test::shared_path("models/micro-llama3-F16.gguf"));
    CHECK_THROWS_AS(perplexity::evaluate(stories(), llama3.get(), stories_tokens(), params(64, 1)), Error);
}

TEST_CASE("chunking follows llama.cpp: whole chunks only, second half scored", "[perplexity]") {
    CHECK(perplexity::first_scored(256) == 128);
    CHECK(perplexity::n_scored(256) == 127);
    CHECK(perplexity::chunk_count(1000, params(256)) == 3);
    CHECK(perplexity::chunk_count(1000, params(256, 2)) == 2);
    CHECK(perplexity::chunk_count(1000, params(256, 9)) == 3);
    CHECK(perplexity::chunk_count(255, params(256)) == 0);
    // The whole text is tokenized once, with the model's BOS first.
    REQUIRE(!stories_tokens().empty());
    CHECK(stories_tokens().front() == stories().require_vocab().bos());
}

TEST_CASE("statistics on hand-made distributions", "[perplexity][stats]") {
    perplexity::Mean m;
    for (double x : {1.0, 2.0, 3.0, 4.0}) m.add(x);
    CHECK(m.mean() == Approx(2.5));
    // Sample standard deviation sqrt(5/3); the standard error divides it by sqrt(4).
    CHECK(m.stderr_of_mean() == Approx(std::sqrt(1.25 / 3.0)));

    // KL((0.5, 0.5) || (0.25, 0.75)) = 0.5 ln 2 + 0.5 ln(2/3).
    const double base[2] = {std::log(0.5), std::log(0.5)};
    const double model[2] = {std::log(0.25), std::log(0.75)};
    perplexity::KlStats kl;
    perplexity::add_kl_position(base, model, 2, 0, kl);
    CHECK(kl.kl.mean() == Approx(0.5 * std::log(2.0) + 0.5 * std::log(2.0 / 3.0)));
    CHECK(kl.delta_p.mean() == Approx(-0.25));
    CHECK(kl.rms_delta_p() == Approx(0.25));
    // A tie in the base goes to the first token; the model prefers the second.
    CHECK(kl.top1_percent() == 0.0);

    perplexity::PerplexityStats ppl;
    ppl.nll.add(std::log(4.0));
    ppl.nll.add(std::log(4.0));
    CHECK(ppl.ppl() == Approx(4.0));
    CHECK(ppl.ppl_stderr() == 0.0);
}
