// The shared test vectors: every input of every vocabulary tokenizes to exactly the ids the
// reference tokenizer produced (no BOS, special-token text not parsed), and detokenizes back
// to the input.
#include <catch2/catch.hpp>

#include <cstdio>

#include "vocab_fixtures.h"

using ember::test::shared_vocab;
using ember::test::vocab_cases;
using ember::test::vocab_names;

namespace {
std::string ids_to_string(const std::vector<int32_t> &ids) {
    std::string s;
    for (int32_t id : ids) s += " " + std::to_string(id);
    return s;
}
}  // namespace

TEST_CASE("every shared test vector tokenizes exactly", "[tokenizer][vectors]") {
    for (const std::string &name : vocab_names()) {
        const ember::tokenizer::Vocab &vocab = shared_vocab(name);
        const auto cases = vocab_cases(name);
        REQUIRE(!cases.empty());
        size_t passed = 0;
        for (const auto &c : cases) {
            const std::vector<int32_t> ids = vocab.tokenize(c.input, /*add_special=*/false, /*parse_special=*/false);
            if (ids == c.expected) {
                ++passed;
                continue;
            }
            INFO(name << ": input '" << c.input << "'\n  expected" << ids_to_string(c.expected) << "\n  got     "
                      << ids_to_string(ids));
            CHECK(ids == c.expected);
        }
        std::printf("vectors %-15s %zu/%zu\n", name.c_str(), passed, cases.size());
        CHECK(passed == cases.size());
    }
}

TEST_CASE("detokenize(tokenize(text)) == text for every shared input", "[tokenizer][vectors]") {
    for (const std::string &name : vocab_names()) {
        const ember::tokenizer::Vocab &vocab = shared_vocab(name);
        for (const auto &c : vocab_cases(name)) {
            const std::vector<int32_t> ids = vocab.tokenize(c.input, false, false);
            INFO(name << ": input '" << c.input << "'");
            CHECK(vocab.detokenize(ids) == c.input);
        }
    }
}
