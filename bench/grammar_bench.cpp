// Per-token cost of the grammar stage (Google Benchmark): a JSON Schema with nested objects and
// arrays, on a 32k vocabulary (llama-spm, 32000 tokens) and a 152k one (qwen2, 151936). The
// document below is cut into tokens greedily (the longest allowed piece at each step); each
// benchmark walks the grammar stage through it and reports the time per generated token:
//   check:  the chain's fast path, one allows() for the sampled token, then accept();
//   mask:   the slow path, the whole-vocabulary mask, then accept(): a walk over the vocabulary
//           in byte order, or the mask cached when the state was seen before in this document;
//   mask_uncached: the same with every mask walked (a state seen for the first time);
//   chain:  SamplerChain::sample with a grammar stage and the default samplers, logits that
//           favour the document's own next token (so the sampled token is usually allowed);
//           *_no_grammar: the same chain without the grammar, the baseline.
// Usage: ember-grammar-bench [--benchmark_filter=...]; EMBER_SHARED_DIR points at the fixtures.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "sampling/grammar_parser.h"
#include "sampling/grammar_sampler.h"
#include "sampling/json_schema_to_grammar.h"
#include "sampling/sampler.h"
#include "tokenizer/vocab.h"

using namespace ember;
using namespace ember::sampling;

namespace {

const char *kSchema = R"({"type":"object","properties":{
  "name":{"type":"string"},"age":{"type":"integer","minimum":0,"maximum":150},
  "address":{"type":"object","properties":{"street":{"type":"string"},"city":{"type":"string"},
             "zip":{"type":"string","pattern":"^[0-9]{5}$"}},"required":["street","city"]},
  "orders":{"type":"array","items":{"type":"object","properties":{"id":{"type":"integer"},
             "items":{"type":"array","items":{"type":"string"}},"total":{"type":"number"}},
             "required":["id","items"],"additionalProperties":false}}},
  "required":["name","address","orders"]})";

const char *kDocument = R"({"name": "Ada Lovelace", "age": 36, "address": {"street": "12 St James's Square", "city": "London", "zip": "10001"}, "orders": [{"id": 1, "items": ["notebook", "pencil", "analytical engine manual"], "total": 12.5}, {"id": 2, "items": ["ink"]}]})";

std::string shared_path(const std::string &rel) {
    const char *dir = std::getenv("EMBER_SHARED_DIR");
    return std::string(dir ? dir : "../shared") + "/" + rel;
}

struct Fixture {
    std::shared_ptr<const GrammarTokens> tokens;
    std::shared_ptr<const Grammar> grammar;
    std::vector<int32_t> document;  // the document as tokens the grammar allows
};

const Fixture &fixture(const std::string &vocab_name) {
    static std::vector<std::pair<std::string, std::unique_ptr<Fixture>>> cache;
    for (const auto &[name, f] : cache)
        if (name == vocab_name) return *f;
    auto f = std::make_unique<Fixture>();
    const auto file = gguf::File::open(shared_path("vocab/ggml-vocab-" + vocab_name + ".gguf"));
    const tokenizer::Vocab vocab(*file);
    f->tokens = GrammarTokens::from_vocab(vocab);
    f->grammar = parse_grammar(json_schema_to_grammar(kSchema));
    auto stage = make_grammar(f->grammar, f->tokens);
    const std::string doc = kDocument;
    for (size_t at = 0; at < doc.size();) {
        int32_t best = -1;
        size_t best_len = 0;
        for (int32_t id = 0; id < f->tokens->n_tokens(); ++id) {
            const std::string &p = f->tokens->pieces[static_cast<size_t>(id)];
            if (p.size() > best_len && doc.compare(at, p.size(), p) == 0 && stage->allows(id)) {
                best = id;
                best_len = p.size();
            }
        }
        if (best < 0) break;
        stage->accept(best);
        f->document.push_back(best);
        at += best_len;
    }
    cache.emplace_back(vocab_name, std::move(f));
    return *cache.back().second;
}

void check_path(benchmark::State &state, const char *vocab) {
    const Fixture &f = fixture(vocab);
    auto proto = make_grammar(f.grammar, f.tokens);
    size_t tokens = 0;
    for (auto _ : state) {
        auto stage = proto->clone();
        for (int32_t id : f.document) {
            benchmark::DoNotOptimize(stage->allows(id));
            stage->accept(id);
        }
        tokens += f.document.size();
    }
    state.counters["s/token"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    state.counters["doc_tokens"] = static_cast<double>(f.document.size());
}

void mask_path(benchmark::State &state, const char *vocab, bool cached) {
    const Fixture &f = fixture(vocab);
    auto proto = make_grammar(f.grammar, f.tokens);
    std::vector<uint8_t> mask;
    size_t tokens = 0, allowed = 0;
    for (auto _ : state) {
        auto stage = proto->clone();
        for (int32_t id : f.document) {
            grammar_allowed_tokens(cached ? *stage : *stage->clone(), mask);  // (a copy's cache is empty)
            for (uint8_t m : mask) allowed += m;
            stage->accept(id);
        }
        tokens += f.document.size();
    }
    state.counters["s/token"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    state.counters["allowed/token"] = static_cast<double>(allowed) / static_cast<double>(tokens);
}

// with_grammar false: the same chain without the grammar stage, the baseline.
void chain_path(benchmark::State &state, const char *vocab, bool with_grammar) {
    const Fixture &f = fixture(vocab);
    SamplerParams params;
    params.temperature = 0.8f;
    params.seed = 1;
    if (with_grammar) params.grammar = std::shared_ptr<const Sampler>(make_grammar(f.grammar, f.tokens));
    const SamplerChain proto = build_chain(params);
    std::vector<float> logits(static_cast<size_t>(f.tokens->n_tokens()));
    for (size_t i = 0; i < logits.size(); ++i) logits[i] = static_cast<float>((i * 2654435761u) % 1000) / 250.0f;
    size_t tokens = 0;
    for (auto _ : state) {
        SamplerChain chain = proto;
        for (int32_t id : f.document) {
            logits[static_cast<size_t>(id)] += 12.0f;  // a model that mostly wants the document
            const int32_t chosen = chain.sample(logits.data(), static_cast<int32_t>(logits.size()));
            logits[static_cast<size_t>(id)] -= 12.0f;
            benchmark::DoNotOptimize(chosen);
            chain.accept(id);  // stay on the document whatever was drawn
        }
        tokens += f.document.size();
    }
    state.counters["s/token"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

}  // namespace

BENCHMARK_CAPTURE(check_path, vocab32k, "llama-spm")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(check_path, vocab152k, "qwen2")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(mask_path, vocab32k, "llama-spm", true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(mask_path, vocab152k, "qwen2", true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(mask_path, uncached_vocab32k, "llama-spm", false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(mask_path, uncached_vocab152k, "qwen2", false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(chain_path, vocab32k, "llama-spm", true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(chain_path, vocab152k, "qwen2", true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(chain_path, vocab32k_no_grammar, "llama-spm", false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(chain_path, vocab152k_no_grammar, "qwen2", false)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
