// Tokenizing 1 MB of mixed text must take well under a second (the bound here is loose so
// that sanitizer builds on slow machines pass; the measured times are printed).
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>

#include "vocab_fixtures.h"

namespace {

// About 1 MB: the shared test inputs (English, code, CJK, Cyrillic, Khmer, emoji, numbers,
// whitespace runs) repeated.
std::string mixed_text() {
    std::string unit;
    for (const auto &c : ember::test::vocab_cases("llama-bpe")) unit += c.input + "\n";
    unit += "int main(int argc, char **argv) { return argc > 1 ? 0 : 1; }\n";
    std::string text;
    while (text.size() < (1u << 20)) text += unit;
    return text;
}

double seconds_to_tokenize(const ember::tokenizer::Vocab &vocab, const std::string &text, size_t &n_tokens) {
    const auto t0 = std::chrono::steady_clock::now();
    n_tokens = vocab.tokenize(text, false, false).size();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("1 MB of mixed text tokenizes quickly", "[tokenizer][speed]") {
    const std::string text = mixed_text();
    for (const char *name : {"llama-bpe", "qwen2", "deepseek-llm", "llama-spm", "archs/gemma-4"}) {
        const auto &vocab = ember::test::shared_vocab(name);
        size_t n_tokens = 0;
        const double s = seconds_to_tokenize(vocab, text, n_tokens);
        std::printf("speed %-14s %.2f MB in %.3f s (%.1f MB/s, %zu tokens)\n", name, text.size() / 1e6, s,
                    text.size() / 1e6 / s, n_tokens);
        CHECK(s < 5.0);
    }
}

TEST_CASE("long runs without word breaks stay fast", "[tokenizer][speed]") {
    // One 200 KB word (no pre-tokenizer break) and one 200 KB whitespace run.
    const std::string letters(200000, 'a'), spaces(200000, ' ');
    for (const char *name : {"gpt-2", "llama-spm", "archs/gemma-4"}) {
        const auto &vocab = ember::test::shared_vocab(name);
        for (const std::string *text : {&letters, &spaces}) {
            size_t n_tokens = 0;
            const double s = seconds_to_tokenize(vocab, *text, n_tokens);
            CHECK(s < 5.0);
            CHECK(vocab.detokenize(vocab.tokenize(*text, false, false)) == *text);
        }
    }
}
