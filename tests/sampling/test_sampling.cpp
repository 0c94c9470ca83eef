// Each sampler on fixed logits, against results worked out by hand in the comments.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "sampling/log_softmax.h"
#include "sampling/sampler.h"

using namespace ember::sampling;

namespace {

// Logits whose softmax is exactly the given probabilities (up to rounding).
std::vector<float> logits_of(const std::vector<float> &probs) {
    std::vector<float> l;
    for (float p : probs) l.push_back(std::log(p));
    return l;
}

// Runs one sampler (then nothing) and returns the surviving ids in candidate order.
std::vector<int32_t> survivors(std::unique_ptr<Sampler> s, const std::vector<float> &logits) {
    SamplerChain chain;
    chain.add(std::move(s));
    chain.sample(logits.data(), static_cast<int32_t>(logits.size()));
    std::vector<int32_t> ids;
    for (const TokenData &t : chain.candidates().data) ids.push_back(t.id);
    return ids;
}

const std::vector<float> kProbs = {0.4f, 0.3f, 0.2f, 0.1f};

}  // namespace

TEST_CASE("greedy picks the highest logit, the lowest id on ties", "[sampling]") {
    SamplerChain chain;
    chain.add(make_greedy());
    const std::vector<float> logits = {1.0f, 3.0f, 2.0f, 3.0f};
    CHECK(chain.sample(logits.data(), 4) == 1);
}

TEST_CASE("temperature divides logits; zero keeps only the maximum", "[sampling]") {
    SamplerChain chain;
    chain.add(make_temperature(2.0f));
    const std::vector<float> logits = {2.0f, 4.0f};
    chain.sample(logits.data(), 2);
    const auto &d = chain.candidates().data;
    REQUIRE(d.size() == 2);
    CHECK(d[0].logit == 1.0f);
    CHECK(d[1].logit == 2.0f);

    CHECK(survivors(make_temperature(0.0f), {0.5f, 2.0f, -1.0f}) == std::vector<int32_t>{1});
}

TEST_CASE("top-k keeps the k highest logits in descending order", "[sampling]") {
    CHECK(survivors(make_top_k(2), {1.0f, 3.0f, 2.0f, 0.5f}) == std::vector<int32_t>{1, 2});
    CHECK(survivors(make_top_k(0), {1.0f, 3.0f}).size() == 2);   // disabled
    CHECK(survivors(make_top_k(10), {1.0f, 3.0f}).size() == 2);  // k beyond the vocabulary
}

TEST_CASE("top-p keeps the smallest prefix reaching p", "[sampling]") {
    // p = .4 .3 .2 .1: cumulative .4 .7 .9 1.0
    CHECK(survivors(make_top_p(0.35f), logits_of(kProbs)) == std::vector<int32_t>{0});
    CHECK(survivors(make_top_p(0.65f), logits_of(kProbs)) == std::vector<int32_t>{0, 1});
    CHECK(survivors(make_top_p(0.85f), logits_of(kProbs)) == std::vector<int32_t>{0, 1, 2});
    CHECK(survivors(make_top_p(0.35f, 3), logits_of(kProbs)) == std::vector<int32_t>{0, 1, 2});
    CHECK(survivors(make_top_p(1.0f), logits_of(kProbs)).size() == 4);
}

TEST_CASE("min-p keeps tokens with p >= min_p * p_max", "[sampling]") {
    // p_max = .4: min_p .3 -> threshold .12 keeps .4 .3 .2; min_p .6 -> .24 keeps .4 .3
    CHECK(survivors(make_min_p(0.3f), logits_of(kProbs)) == std::vector<int32_t>{0, 1, 2});
    CHECK(survivors(make_min_p(0.6f), logits_of(kProbs)) == std::vector<int32_t>{0, 1});
    CHECK(survivors(make_min_p(0.9f), logits_of(kProbs)) == std::vector<int32_t>{0});
    CHECK(survivors(make_min_p(0.9f, 2), logits_of(kProbs)) == std::vector<int32_t>{0, 1});
}

TEST_CASE("typical-p keeps tokens whose surprise is nearest the entropy", "[sampling]") {
    // H = -(.4 ln .4 + .3 ln .3 + .2 ln .2 + .1 ln .1) = 1.2799 nats.
    // |-ln p - H|: .4 -> .3636, .3 -> .0759, .2 -> .3296, .1 -> 1.0227
    // order by that: ids 1, 2, 0, 3 with cumulative mass .3 .5 .9 1.0
    CHECK(survivors(make_typical(0.25f), logits_of(kProbs)) == std::vector<int32_t>{1});
    CHECK(survivors(make_typical(0.45f), logits_of(kProbs)) == std::vector<int32_t>{1, 2});
    CHECK(survivors(make_typical(0.85f), logits_of(kProbs)) == std::vector<int32_t>{1, 2, 0});
    CHECK(survivors(make_typical(1.0f), logits_of(kProbs)).size() == 4);
}

TEST_CASE("penalties: repetition, frequency and presence over a window", "[sampling]") {
    auto pen = make_penalties(3, 2.0f, 0.5f, 0.25f);
    pen->accept(3);  // falls out of the 3-token window below
    pen->accept(1);
    pen->accept(1);
    pen->accept(2);
    SamplerChain chain;
    chain.add(std::move(pen));
    const std::vector<float> logits = {1.0f, 2.0f, -1.0f, 3.0f};
    chain.sample(logits.data(), 4);
    std::vector<float> out(4);
    for (const TokenData &t : chain.candidates().data) out[static_cast<size_t>(t.id)] = t.logit;
    CHECK(out[0] == 1.0f);    // never seen
    CHECK(out[1] == -0.25f);  // seen twice: 2 / 2 - 2 * .5 - .25
    CHECK(out[2] == -2.75f);  // seen once, negative: -1 * 2 - .5 - .25
    CHECK(out[3] == 3.0f);    // outside the window

    SamplerChain reset_chain;
    reset_chain.add(make_penalties(-1, 2.0f, 0.0f, 0.0f));
    reset_chain.accept(0);
    reset_chain.reset();
    reset_chain.sample(logits.data(), 4);
    for (const TokenData &t : reset_chain.candidates().data) CHECK(t.logit == logits[static_cast<size_t>(t.id)]);
}

TEST_CASE("logit bias adds per token and can ban a token", "[sampling]") {
    SamplerChain chain;
    chain.add(make_logit_bias({{0, -std::numeric_limits<float>::infinity()}, {2, 5.0f}}));
    chain.add(make_greedy());
    const std::vector<float> logits = {10.0f, 1.0f, 2.0f};
    CHECK(chain.sample(logits.data(), 3) == 2);  // 0 banned, 2 -> 7
}

TEST_CASE("dist draws from the softmax with a reproducible seeded generator", "[sampling]") {
    // std::mt19937(42)'s first output is 1608637542; its top 24 bits give u = 0.37454.
    SamplerChain half;
    half.add(make_dist(42));
    const std::vector<float> even = {0.0f, 0.0f};
    CHECK(half.sample(even.data(), 2) == 0);  // u < .5

    SamplerChain quarter;
    quarter.add(make_dist(42));
    const std::vector<float> skew = logits_of({0.25f, 0.75f});
    CHECK(quarter.sample(skew.data(), 2) == 1);  // cumulative .75 (sorted first), u < .75 -> id 1

    // Same seed, same draws; reset() restarts the sequence.
    const std::vector<float> flat(50, 0.0f);
    SamplerChain a, b;
    a.add(make_dist(7));
    b.add(make_dist(7));
    std::vector<int32_t> da, db;
    for (int i = 0; i < 20; ++i) {
        da.push_back(a.sample(flat.data(), 50));
        db.push_back(b.sample(flat.data(), 50));
    }
    CHECK(da == db);
    a.reset();
    CHECK(a.sample(flat.data(), 50) == da[0]);

    // Frequencies follow the distribution (10000 draws of p = .4 .3 .2 .1).
    SamplerChain c;
    c.add(make_dist(123));
    std::vector<int> counts(4);
    const auto l = logits_of(kProbs);
    for (int i = 0; i < 10000; ++i) ++counts[static_cast<size_t>(c.sample(l.data(), 4))];
    CHECK(counts[0] == Approx(4000).margin(250));
    CHECK(counts[3] == Approx(1000).margin(150));
}

TEST_CASE("a chain applies its samplers in order", "[sampling]") {
    // top-k 3 leaves .4 .3 .2; temperature 0 keeps the max.
    SamplerChain chain;
    chain.add(make_top_k(3)).add(make_temperature(0.0f)).add(make_dist(1));
    const auto l = logits_of(kProbs);
    CHECK(chain.sample(l.data(), 4) == 0);

    SamplerParams greedy;
    greedy.temperature = 0.0f;
    SamplerChain g = build_chain(greedy);
    CHECK(std::string(g.at(g.size() - 1).name()) == "greedy");

    SamplerParams p;
    p.seed = 5;
    SamplerChain x = build_chain(p);
    SamplerChain y = x;  // copies share no state
    const std::vector<float> flat(32, 0.0f);
    for (int i = 0; i < 5; ++i) CHECK(x.sample(flat.data(), 32) == y.sample(flat.data(), 32));
}

TEST_CASE("top-n log-probabilities", "[sampling]") {
    const auto l = logits_of(kProbs);
    const auto top = top_logprobs(l.data(), 4, 2);
    REQUIRE(top.size() == 2);
    CHECK(top[0].id == 0);
    CHECK(top[0].logprob == Approx(std::log(0.4)).epsilon(1e-5));
    CHECK(top[1].id == 1);
    CHECK(top[1].logprob == Approx(std::log(0.3)).epsilon(1e-5));
    CHECK(top_logprobs(l.data(), 4, 10).size() == 4);
}

TEST_CASE("log_softmax: log-probabilities that sum to one, without overflow", "[sampling]") {
    const float logits[3] = {1.0f, 2.0f, 3.0f};
    std::vector<double> lp;
    log_softmax(logits, 3, lp);
    REQUIRE(lp.size() == 3);
    CHECK(std::exp(lp[0]) + std::exp(lp[1]) + std::exp(lp[2]) == Approx(1.0));
    CHECK(lp[2] - lp[1] == Approx(1.0));
    CHECK(log_sum_exp(logits, 3) == Approx(3.0 + std::log(1.0 + std::exp(-1.0) + std::exp(-2.0))));

    // Logits far beyond exp's float range, and a banned token.
    const float extreme[3] = {1000.0f, 1000.0f, -std::numeric_limits<float>::infinity()};
    log_softmax(extreme, 3, lp);
    CHECK(lp[0] == Approx(-std::log(2.0)));
    CHECK(lp[1] == lp[0]);
    CHECK(std::isinf(lp[2]));

    // A Llama-3-sized vocabulary of equal logits: every token gets -log(n).
    const std::vector<float> flat(128256, 0.5f);
    log_softmax(flat.data(), flat.size(), lp);
    CHECK(lp[77] == Approx(-std::log(128256.0)).epsilon(1e-12));
}

TEST_CASE("top-n log-probabilities agree with log_softmax", "[sampling]") {
    const auto l = logits_of({0.05f, 0.5f, 0.15f, 0.3f});
    std::vector<double> lp;
    log_softmax(l.data(), l.size(), lp);
    const auto top = top_logprobs(l.data(), 4, 4);
    REQUIRE(top.size() == 4);
    for (const TokenLogprob &t : top) CHECK(t.logprob == static_cast<float>(lp[static_cast<size_t>(t.id)]));
    const auto same = top_logprobs(l.data(), 4, 2, log_sum_exp(l.data(), l.size()));
    CHECK(same[0].id == 1);
    CHECK(same[0].logprob == top[0].logprob);
}
