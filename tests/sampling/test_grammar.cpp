// GBNF grammars: the parser's compact form and errors, the matcher over UTF-8, the sampler
// stage's token masks (pieces spanning terminals, characters split across tokens, EOS only
// when complete) and the JSON Schema converter's refusals.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "sampling/grammar_matcher.h"
#include "sampling/grammar_parser.h"
#include "sampling/grammar_sampler.h"
#include "sampling/json_schema_to_grammar.h"
#include "support/test_paths.h"
#include "tokenizer/vocab.h"

using namespace ember;
using namespace ember::sampling;

namespace {

const char *kArithmetic = R"G(# integers with + - * / and parentheses
root   ::= expr
expr   ::= term (("+" | "-") term)*
term   ::= factor (("*" | "/") factor)*
factor ::= [0-9]+ | "(" expr ")"
)G";

// Whether the whole text is a sentence of the grammar.
bool matches(const std::string &gbnf, const std::string &text) {
    GrammarMatcher m(parse_grammar(gbnf));
    MatchState s = m.initial();
    return m.advance(s, text) && GrammarMatcher::complete(s);
}

// Whether the text can begin a sentence.
bool prefix_ok(const std::string &gbnf, const std::string &text) {
    GrammarMatcher m(parse_grammar(gbnf));
    MatchState s = m.initial();
    return m.advance(s, text) && m.viable(s);
}

std::string parse_error(const std::string &gbnf) {
    try {
        parse_grammar(gbnf);
    } catch (const Error &e) {
        return e.what();
    }
    return "";
}

std::string schema_error(const std::string &schema) {
    try {
        json_schema_to_grammar(schema);
    } catch (const Error &e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("an arithmetic grammar accepts expressions and nothing else", "[grammar]") {
    CHECK(matches(kArithmetic, "1+2*(3-40)/5"));
    CHECK(matches(kArithmetic, "((7))"));
    CHECK_FALSE(matches(kArithmetic, "1+"));          // a prefix, not complete
    CHECK(prefix_ok(kArithmetic, "1+"));
    CHECK_FALSE(prefix_ok(kArithmetic, "1+*"));
    CHECK_FALSE(prefix_ok(kArithmetic, "(1))"));
    CHECK_FALSE(matches(kArithmetic, ""));
}

TEST_CASE("GBNF syntax: classes, escapes, repetition counts, any character, Unicode", "[grammar]") {
    CHECK(matches(R"(root ::= [^a-c\]]+)", "xyz"));  // \] inside the class is a character
    CHECK_FALSE(matches(R"(root ::= [^a-c\]]+)", "x]"));
    CHECK_FALSE(matches(R"(root ::= [^a-c\]]+)", "xbz"));
    CHECK(matches(R"(root ::= "\x41\u00e9\U0001F600\n\t\\\"")", "A\xC3\xA9\xF0\x9F\x98\x80\n\t\\\""));
    CHECK(matches(R"(root ::= "a"{3})", "aaa"));
    CHECK_FALSE(matches(R"(root ::= "a"{3})", "aa"));
    CHECK_FALSE(matches(R"(root ::= "a"{3})", "aaaa"));
    CHECK(matches(R"(root ::= "ab"{2,})", "ababab"));
    CHECK_FALSE(matches(R"(root ::= "ab"{2,})", "ab"));
    CHECK(matches(R"(root ::= ("x" | "y"){1,3} "!")", "xy!"));
    CHECK_FALSE(matches(R"(root ::= ("x" | "y"){1,3} "!")", "xyxy!"));
    CHECK(matches("root ::= . . .", "a\xCE\xB1!"));       // `.` is one code point, whatever its bytes
    CHECK(matches("root ::= [α-ω]+ \"→\"", "λμ→"));
    CHECK_FALSE(matches("root ::= [α-ω]+ \"→\"", "λA→"));
    CHECK(matches("root ::= x? y\nx ::= \"x\"\ny ::= | \"y\"", "x"));  // empty alternative
    CHECK(matches("root ::=\n  \"a\" # a comment\n  | \"b\"\n", "b"));   // continued after ::= and |
}

TEST_CASE("malformed grammars are errors with line and column", "[grammar]") {
    CHECK_THAT(parse_error("root ::= \"a\"\nx ::= [a-"), Catch::Contains("line 2, column 7") && Catch::Contains("unterminated"));
    CHECK_THAT(parse_error("root ::= foo"), Catch::Contains("line 1, column 10") && Catch::Contains("undefined rule 'foo'"));
    CHECK_THAT(parse_error("root ::= \"a\"\nroot ::= \"b\""), Catch::Contains("defined twice"));
    CHECK_THAT(parse_error("start ::= \"a\""), Catch::Contains("no rule named 'root'"));
    CHECK_THAT(parse_error("root ::= \"a\" )"), Catch::Contains("unexpected ')'"));
    CHECK_THAT(parse_error("root ::= [z-a]"), Catch::Contains("end before its start"));
    CHECK_THAT(parse_error("root ::= \"\\q\""), Catch::Contains("unknown escape"));
    CHECK_THAT(parse_error("root ::= *"), Catch::Contains("nothing to repeat"));
    CHECK_THAT(parse_error("root ::= []"), Catch::Contains("empty character class"));
    CHECK_THAT(parse_error("root ::= \"\\xZZ\""), Catch::Contains("hex digits"));
    CHECK_THAT(parse_error("root ::= \"a\"{3,2}"), Catch::Contains("n < m"));
}

TEST_CASE("left recursion and rules that never finish are rejected", "[grammar]") {
    CHECK_THAT(parse_error("root ::= root \"a\" | \"b\""), Catch::Contains("left-recursive"));
    CHECK_THAT(parse_error("root ::= x\nx ::= y? x \"a\" | \"b\"\ny ::= \"c\""), Catch::Contains("'x' is left-recursive"));
    CHECK_THAT(parse_error("root ::= (\"\")*"), Catch::Contains("left-recursive"));      // repeating the empty string
    CHECK_THAT(parse_error("root ::= (\"a\"?)+"), Catch::Contains("left-recursive"));
    CHECK_THAT(parse_error("root ::= \"a\" root"), Catch::Contains("can never finish"));
}

TEST_CASE("hostile grammars give errors, not hangs or crashes", "[grammar]") {
    CHECK_THAT(parse_error("root ::= " + std::string(100000, '(') + "\"a\"" + std::string(100000, ')')),
               Catch::Contains("nested more than"));
    CHECK_THAT(parse_error("root ::= \"a\"{99999999999}"), Catch::Contains("above the limit"));
    CHECK_THAT(parse_error("root ::= \"" + std::string(200, 'a') + "\"{10000}"), Catch::Contains("more than"));
    CHECK(parse_error("root ::= ((\"a\"{10000}){10000}){10000}").empty());  // nested: small, only its language is huge
    CHECK_THAT(parse_error("root ::= \"a\" |"), Catch::Equals(""));  // an empty alternative is allowed
    // Exponential ambiguity: the matcher stops at its stack limit with an error.
    const std::string ambiguous = "root ::= a\na ::= \"x\" a \"y\" | \"x\" a \"z\" | \"\"";
    GrammarMatcher m(parse_grammar(ambiguous), MatcherLimits{64, 100000});
    MatchState s = m.initial();
    bool failed_cleanly = false;
    try {
        m.advance(s, std::string(200, 'x'));
    } catch (const Error &e) {
        failed_cleanly = std::string(e.what()).find("too ambiguous") != std::string::npos;
    }
    CHECK(failed_cleanly);
}

TEST_CASE("a character split across several advances", "[grammar]") {
    GrammarMatcher m(parse_grammar("root ::= \"é\" [€]"));
    MatchState s = m.initial();
    REQUIRE(m.advance(s, std::string("\xC3")));   // the first byte of é: pending
    CHECK(s.partial_remaining == 1);
    CHECK(m.viable(s));
    CHECK_FALSE(GrammarMatcher::complete(s));
    REQUIRE(m.advance(s, std::string("\xA9\xE2\x82")));
    CHECK(m.viable(s));
    MatchState wrong = s;
    CHECK_FALSE(m.advance(wrong, std::string("\xAD")));  // U+20AD, not €
    REQUIRE(m.advance(s, std::string("\xAC")));          // U+20AC
    CHECK(GrammarMatcher::complete(s));
    MatchState bad = m.initial();
    CHECK_FALSE(m.advance(bad, std::string("\xC4")));   // no character the grammar allows starts with C4
}

namespace {

// A toy vocabulary: pieces spanning terminals, é split into two byte tokens, and EOS.
struct ToyVocab {
    std::vector<std::string> pieces = {"{", "\"", "ab", "\"}", "}", "\xC3", "\xA9", "", "x", "{\"a"};
    enum { kOpen, kQuote, kAb, kQuoteClose, kClose, kE1, kE2, kEos, kX, kOpenQuoteA };
    std::shared_ptr<const GrammarTokens> tokens() const {
        std::vector<uint8_t> eog(pieces.size(), 0);
        eog[kEos] = 1;
        return GrammarTokens::from_pieces(pieces, eog);
    }
};

const char *kToyGrammar = R"(root ::= "{" "\"" [abé]* "\"" "}")";

std::vector<int32_t> allowed(const Sampler &stage) {
    std::vector<uint8_t> mask;
    grammar_allowed_tokens(stage, mask);
    std::vector<int32_t> ids;
    for (size_t i = 0; i < mask.size(); ++i)
        if (mask[i]) ids.push_back(static_cast<int32_t>(i));
    return ids;
}

}  // namespace

TEST_CASE("the grammar stage masks tokens; pieces may span terminals and split characters", "[grammar]") {
    const ToyVocab v;
    auto stage = make_grammar(parse_grammar(kToyGrammar), v.tokens());
    CHECK(allowed(*stage) == std::vector<int32_t>{ToyVocab::kOpen, ToyVocab::kOpenQuoteA});
    CHECK_FALSE(stage->satisfied());
    stage->accept(ToyVocab::kOpenQuoteA);  // three terminals in one token
    CHECK(allowed(*stage) == std::vector<int32_t>{ToyVocab::kQuote, ToyVocab::kAb, ToyVocab::kQuoteClose, ToyVocab::kE1});
    stage->accept(ToyVocab::kE1);          // half of é
    CHECK(allowed(*stage) == std::vector<int32_t>{ToyVocab::kE2});
    CHECK_FALSE(stage->allows(ToyVocab::kEos));
    stage->accept(ToyVocab::kE2);
    CHECK_THROWS_WITH(stage->accept(ToyVocab::kX), Catch::Contains("does not continue the grammar"));
    stage->accept(ToyVocab::kQuoteClose);  // the end of the string and the object
    CHECK(stage->satisfied());
    CHECK(allowed(*stage) == std::vector<int32_t>{ToyVocab::kEos});  // EOS only when complete
    stage->accept(ToyVocab::kEos);
    stage->accept_prompt(ToyVocab::kX);  // a new prompt: the grammar starts over
    CHECK(allowed(*stage) == std::vector<int32_t>{ToyVocab::kOpen, ToyVocab::kOpenQuoteA});
}

TEST_CASE("a chain with a grammar never chooses a refused token", "[grammar]") {
    const ToyVocab v;
    SamplerChain chain;
    chain.add(make_top_k(3));
    chain.add(make_dist(7));
    chain.add(make_grammar(parse_grammar(kToyGrammar), v.tokens()));  // constrains wherever it is added
    std::string text;
    for (int step = 0; step < 40 && !chain.satisfied(); ++step) {
        std::vector<float> logits(v.pieces.size(), 0.0f);
        logits[ToyVocab::kX] = 5.0f;  // the model's favourite is never allowed
        logits[ToyVocab::kEos] = 4.0f;
        logits[ToyVocab::kAb] = 1.0f;
        logits[ToyVocab::kQuoteClose] = 0.5f;
        const int32_t id = chain.sample(logits.data(), static_cast<int32_t>(logits.size()));
        chain.accept(id);
        text += v.pieces[static_cast<size_t>(id)];
    }
    REQUIRE(chain.satisfied());
    CHECK(matches(kToyGrammar, text));
}

TEST_CASE("a grammar that allows no continuation is an error", "[grammar]") {
    const ToyVocab v;
    auto stage = make_grammar(parse_grammar("root ::= \"q\""), v.tokens());  // no token has a q
    SamplerChain chain;
    chain.add(std::move(stage));
    std::vector<float> logits(v.pieces.size(), 0.0f);
    CHECK_THROWS_WITH(chain.sample(logits.data(), static_cast<int32_t>(logits.size())),
                      Catch::Contains("allows no continuation"));
}

TEST_CASE("the byte-order walk and the mask cache give the same mask as checking each token (real vocabularies)", "[grammar]") {
    const std::string schema = R"({"type":"object","properties":{"name":{"type":"string"},"n":{"type":"integer"},
        "tags":{"type":"array","items":{"type":"string","maxLength":4}}},"required":["name"]})";
    const auto grammar = parse_grammar(json_schema_to_grammar(schema));
    for (const char *name : {"vocab/ggml-vocab-llama-spm.gguf", "vocab/ggml-vocab-gpt-2.gguf"}) {
        const auto file = gguf::File::open(test::shared_path(name));
        const tokenizer::Vocab vocab(*file);
        const auto tokens = GrammarTokens::from_vocab(vocab);
        auto stage = make_grammar(grammar, tokens);
        // Walk a document prefix token by token (the middle allowed id), comparing masks at
        // every step: inside keys, strings, numbers and between tokens. States recur (inside a
        // string), so later steps also read masks from the cache.
        for (int step = 0; step < 24; ++step) {
            const std::vector<int32_t> walk = allowed(*stage);
            std::vector<int32_t> each;
            for (int32_t id = 0; id < tokens->n_tokens(); ++id)
                if (stage->allows(id)) each.push_back(id);
            INFO(name << " step " << step);
            REQUIRE(walk == each);
            REQUIRE(allowed(*stage) == each);  // this state's mask again: from the cache
            REQUIRE(allowed(*stage->clone()) == each);  // a copy starts with an empty cache
            REQUIRE_FALSE(walk.empty());
            stage->accept(walk[walk.size() / 2]);
        }
    }
}

TEST_CASE("JSON Schema: unsupported keywords are errors naming the keyword and its pointer", "[grammar][json-schema]") {
    CHECK_THAT(schema_error(R"({"type":"object","properties":{"a":{"type":"string","contentEncoding":"base64"}}})"),
               Catch::Contains("unsupported keyword 'contentEncoding' at #/properties/a"));
    CHECK_THAT(schema_error(R"({"patternProperties":{"^x":{}}})"), Catch::Contains("'patternProperties' at #"));
    CHECK_THAT(schema_error(R"({"type":"array","items":{"uniqueItems":true}})"), Catch::Contains("'uniqueItems' at #/items"));
    CHECK_THAT(schema_error(R"({"type":"string","format":"email"})"), Catch::Contains("format 'email'"));
    CHECK_THAT(schema_error(R"({"type":"number","minimum":0.5})"), Catch::Contains("'minimum' for type 'number'"));
    CHECK_THAT(schema_error(R"({"type":"string","pattern":"(?=a)b"})"), Catch::Contains("lookarounds"));
    // Found by the fuzzer: a repetition the GBNF parser would refuse is the converter's error.
    CHECK_THAT(schema_error(R"({"type":"string","pattern":"^a(b|c){4,2}d?$"})"), Catch::Contains("minimum above maximum"));
    CHECK_THAT(schema_error(R"({"type":"string","pattern":"^a{1,2,3}$"})"), Catch::Contains("bad repetition"));
    CHECK_THAT(schema_error(R"({"type":"string","pattern":"^a{20000}$"})"), Catch::Contains("beyond the grammar limit"));
    CHECK_THAT(schema_error(R"({"$ref":"https://example.com/s.json"})"), Catch::Contains("only references inside"));
    CHECK_THAT(schema_error(R"({"type":)"), Catch::Contains("not valid JSON"));
    CHECK_THAT(schema_error(R"({"oneOf":[{"type":"integer"},{"type":"number"}]})"),
               Catch::Contains("'oneOf' at #: alternatives 0 and 1 may match the same value"));
    CHECK_THAT(schema_error(R"({"oneOf":[{"type":"object","properties":{"k":{"const":1}},"required":["k"]},
                                         {"type":"object","properties":{"k":{"enum":[2,1]}},"required":["k"]}]})"),
               Catch::Contains("alternatives 0 and 1"));
    CHECK(schema_error(R"({"oneOf":[{"type":"object","properties":{"k":{"const":1}},"required":["k"]},
                                    {"type":"object","properties":{"k":{"enum":[2,3]}},"required":["k"]},{"type":"string"}]})").empty());
    CHECK_THAT(schema_error(R"({"type":"string","const":3})"), Catch::Contains("no value of the declared 'type'"));
    // allOf through a chain of $refs keeps every part; a keyword beside a $ref is refused.
    const std::string chained = R"({"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"type":"object","properties":{"x":{"type":"integer"}},"required":["x"]}},
                                     "allOf":[{"$ref":"#/$defs/a"},{"properties":{"y":{"type":"null"}},"required":["y"]}]})";
    CHECK(matches(json_schema_to_grammar(chained), R"({"x": 1, "y": null})"));
    CHECK_FALSE(matches(json_schema_to_grammar(chained), R"({"y": null})"));
    CHECK_THAT(schema_error(R"({"$defs":{"a":{"type":"object"}},"allOf":[{"$ref":"#/$defs/a","maxProperties":1}]})"),
               Catch::Contains("keyword 'maxProperties'"));
    CHECK(schema_error(R"({"title":"t","description":"d","$comment":"c","examples":[1],"type":"integer"})").empty());
}

TEST_CASE("JSON Schema grammars accept valid documents and refuse invalid ones", "[grammar][json-schema]") {
    auto ok = [](const std::string &schema, const std::string &doc) { return matches(json_schema_to_grammar(schema), doc); };
    const std::string person = R"({"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0,"maximum":150}},
        "required":["name"],"additionalProperties":false})";
    CHECK(ok(person, R"({"name": "Ann", "age": 42})"));
    CHECK(ok(person, R"({"name":"Ann"})"));
    CHECK_FALSE(ok(person, R"({"age": 42})"));
    CHECK_FALSE(ok(person, R"({"name": "Ann", "age": 151})"));
    CHECK_FALSE(ok(person, R"({"name": "Ann", "x": 1})"));
    CHECK(ok(R"({"type":"object","properties":{"a":{"type":"integer"}}})", R"({"a": 3, "b": [1, 2]})"));  // extra keys allowed, after the named ones
    CHECK_FALSE(ok(R"({"type":"object","properties":{"a":{"type":"integer"}}})", R"({"b": 1, "a": "x"})"));
    CHECK(ok(R"({"type":"integer","minimum":-15,"maximum":215})", "-15"));
    CHECK(ok(R"({"type":"integer","minimum":-15,"maximum":215})", "215"));
    CHECK_FALSE(ok(R"({"type":"integer","minimum":-15,"maximum":215})", "216"));
    CHECK_FALSE(ok(R"({"type":"integer","minimum":-15,"maximum":215})", "-16"));
    CHECK(ok(R"({"type":"string","pattern":"^[A-Z]{2}-\\d{3}$"})", R"("AB-123")"));
    CHECK_FALSE(ok(R"({"type":"string","pattern":"^[A-Z]{2}-\\d{3}$"})", R"("AB-12")"));
    CHECK(ok(R"({"type":"array","prefixItems":[{"type":"boolean"},{"type":"null"}],"items":false})", "[true, null]"));
    CHECK_FALSE(ok(R"({"type":"array","prefixItems":[{"type":"boolean"},{"type":"null"}],"items":false})", "[true, null, 1]"));
    CHECK(ok(R"({"type":"string","enum":["a",1,null]})", R"("a")"));
    CHECK_FALSE(ok(R"({"type":"string","enum":["a",1,null]})", "1"));  // not a string
    CHECK(ok(R"({"type":"array","minItems":2,"maxItems":3})", "[1,2,3]"));
    CHECK_FALSE(ok(R"({"type":"array","minItems":2,"maxItems":3})", "[1]"));
    CHECK(ok(R"({"$defs":{"t":{"type":"object","properties":{"kids":{"type":"array","items":{"$ref":"#/$defs/t"}}},"additionalProperties":false}},"$ref":"#/$defs/t"})",
             R"({"kids": [{"kids": []}, {}]})"));
}
