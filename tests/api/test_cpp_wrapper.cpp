// ember.hpp, the header-only C++ wrapper, as an engine or app uses it.
#include <catch2/catch.hpp>

#include <string>

#include "ember/ember.hpp"
#include "support/test_paths.h"

namespace {
const std::string kStories = ember::test::shared_path("models/stories260K.gguf");
}

TEST_CASE("C++ wrapper: load, generate with a lambda, reproduce llama.cpp's greedy text") {
    ember::Model model(kStories);
    CHECK(model.arch() == "llama");
    CHECK(model.n_vocab() == 512);
    CHECK(model.meta("llama.embedding_length") == "64");
    ember::Session session(model);
    std::string text;
    int pieces = 0;
    ember::Sampler greedy = ember::Sampler::greedy();
    const ember_generate_result r = session.generate("Once upon a time, there was a little", [&](std::string_view piece) {
        text += piece;
        ++pieces;
        return true;
    }, 16, &greedy);
    CHECK(text == " girl named Lily. She loved to play outside");
    CHECK(pieces > 1);
    CHECK(r.n_generated == 16);
}

TEST_CASE("C++ wrapper: tokens, logits, chat templates, errors as exceptions") {
    ember::Model model(kStories);
    const auto ids = model.tokenize("Once upon a time");
    CHECK(ids.front() == 1);
    CHECK(model.detokenize({ids.begin() + 1, ids.end()}) == "Once upon a time");
    ember::Session session(model);
    const float *logits = session.eval(ids);
    CHECK(logits != nullptr);
    CHECK(model.apply_chat_template({{"user", "Hi"}}, true, "chatml") == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");

    try {
        ember::Model missing("/nonexistent/model.gguf");
        FAIL("no exception");
    } catch (const ember::Exception &e) {
        CHECK(e.status() == EMBER_ERR_IO);
        CHECK_THAT(e.what(), Catch::Contains("/nonexistent/model.gguf"));
    }
    CHECK_THROWS_AS(model.apply_chat_template({{"user", "Hi"}}, true, "nope"), ember::Exception);
}

TEST_CASE("C++ wrapper: a JSON schema constrains the reply; unsupported keywords throw") {
    ember::Model model(kStories);
    ember::Session session(model);
    ember_sampler_params p = ember_sampler_default_params();
    p.temperature = 1.0f;
    p.seed = 3;
    ember::Sampler sampler(&p);
    sampler.add_json_schema(model, R"({"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"],"additionalProperties":false})");
    CHECK_FALSE(sampler.is_complete());
    std::string text;
    session.generate("Once upon a time", [&](std::string_view piece) { text += piece; return true; }, 64, &sampler);
    CHECK(sampler.is_complete());
    // Only these documents exist, up to the bounded whitespace.
    std::string squeezed;
    for (char c : text)
        if (c != ' ' && c != '\n' && c != '\t') squeezed += c;
    CHECK((squeezed == R"({"ok":true})" || squeezed == R"({"ok":false})"));
    CHECK_THROWS_WITH(ember::json_schema_to_grammar(R"({"type":"array","uniqueItems":true})"),
                      Catch::Contains("'uniqueItems' at #"));
    CHECK(ember::json_schema_to_grammar(R"({"type":"null"})").find("root ::=") == 0);
    CHECK_THROWS_WITH(ember::Sampler(&p).add_grammar(model, "root ::= (", "root"), Catch::Contains("line 1, column 10"));
}
