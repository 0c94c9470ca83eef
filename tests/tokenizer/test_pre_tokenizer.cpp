// Pre-tokenizer rules on small examples: how each family cuts text into words.
#include <catch2/catch.hpp>

#include "tokenizer/pre_tokenizer.h"

using ember::tokenizer::PreTokenizer;
using ember::tokenizer::PreTokenizerKind;

namespace {
std::vector<std::string> split(PreTokenizerKind kind, const std::string &text) {
    std::vector<std::string_view> words;
    PreTokenizer(kind).split(text, words);
    return {words.begin(), words.end()};
}
using Words = std::vector<std::string>;
}  // namespace

TEST_CASE("GPT-2 rules", "[tokenizer][pre]") {
    const auto k = PreTokenizerKind::Gpt2;
    CHECK(split(k, "Hello world's  end") == Words{"Hello", " world", "'s", " ", " end"});
    CHECK(split(k, "I'LL x") == Words{"I", "'", "LL", " x"});  // contractions are lower-case only
    CHECK(split(k, "a\tb") == Words{"a", "\t", "b"});
    CHECK(split(k, "x   ") == Words{"x", "   "});
    CHECK(split(k, "12345 !!") == Words{"12345", " !!"});
    CHECK(split(k, "\xD0\xBD\xD0\xB5 \xE4\xB8\xAD") == Words{"\xD0\xBD\xD0\xB5", " \xE4\xB8\xAD"});
}

TEST_CASE("Llama 3 and Qwen2 rules", "[tokenizer][pre]") {
    CHECK(split(PreTokenizerKind::Llama3, "I'LL 1234567") == Words{"I", "'LL", " ", "123", "456", "7"});
    CHECK(split(PreTokenizerKind::Qwen2, "x 123") == Words{"x", " ", "1", "2", "3"});
    CHECK(split(PreTokenizerKind::Llama3, "(hello)") == Words{"(hello", ")"});
    CHECK(split(PreTokenizerKind::Llama3, "a \n\n b") == Words{"a", " \n\n", " b"});
    CHECK(split(PreTokenizerKind::Llama3, "...\n\nx") == Words{"...\n\n", "x"});
}

TEST_CASE("DeepSeek, StarCoder, Falcon and default rules", "[tokenizer][pre]") {
    CHECK(split(PreTokenizerKind::DeepseekCoder, "ab 12\ncd") == Words{"ab", " ", "1", "2", "\n", "cd"});
    CHECK(split(PreTokenizerKind::DeepseekLlm, "Hi \xE4\xB8\xAD\xE6\x96\x87 42  ") ==
          Words{"Hi", " ", "\xE4\xB8\xAD\xE6\x96\x87", " ", "42", "  "});
    CHECK(split(PreTokenizerKind::Starcoder, "x12") == Words{"x", "1", "2"});
    CHECK(split(PreTokenizerKind::Falcon, "12345 a+b") == Words{"123", "45", " a", "+", "b"});
    CHECK(split(PreTokenizerKind::Default, "1234567") == Words{"123", "456", "7"});
}

TEST_CASE("pieces always cover the text, even invalid UTF-8", "[tokenizer][pre]") {
    const std::string text = "ok \xFF\xFE bad \xE4\xB8 cut \xF0\x9F\xA6\x99\xF0";
    for (auto kind : {PreTokenizerKind::Default, PreTokenizerKind::Gpt2, PreTokenizerKind::Llama3,
                      PreTokenizerKind::Qwen2, PreTokenizerKind::DeepseekLlm, PreTokenizerKind::DeepseekCoder,
                      PreTokenizerKind::Starcoder, PreTokenizerKind::Falcon}) {
        std::string joined;
        for (const std::string &w : split(kind, text)) {
            CHECK(!w.empty());
            joined += w;
        }
        CHECK(joined == text);
    }
}

TEST_CASE("pre-tokenizer names", "[tokenizer][pre]") {
    PreTokenizerKind k = PreTokenizerKind::Default;
    CHECK(ember::tokenizer::pre_tokenizer_from_name("llama-bpe", k));
    CHECK(k == PreTokenizerKind::Llama3);
    CHECK(ember::tokenizer::pre_tokenizer_from_name("refact", k));
    CHECK(k == PreTokenizerKind::Starcoder);
    CHECK_FALSE(ember::tokenizer::pre_tokenizer_from_name("no-such-pre", k));
    CHECK(std::string(ember::tokenizer::pre_tokenizer_name(PreTokenizerKind::Qwen2)) == "qwen2");
}
