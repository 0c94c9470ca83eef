// StreamingDecoder: text comes out only as complete UTF-8 characters.
#include <catch2/catch.hpp>

#include "tokenizer/streaming_decoder.h"
#include "tokenizer/unicode.h"
#include "vocab_fixtures.h"

using ember::test::shared_vocab;
using ember::tokenizer::StreamingDecoder;
using ember::tokenizer::Vocab;

namespace {
bool is_valid_utf8(const std::string &s) {
    for (size_t pos = 0; pos < s.size();) {
        const auto d = ember::tokenizer::unicode::decode_utf8(s, pos);
        if (d.cp == ember::tokenizer::unicode::kReplacement && s.compare(pos, 3, "\xEF\xBF\xBD") != 0) return false;
        pos += d.len;
    }
    return true;
}
}  // namespace

TEST_CASE("a character spelled in byte tokens is held back until complete", "[tokenizer][streaming]") {
    const Vocab &spm = shared_vocab("llama-spm");
    const std::vector<int32_t> ids = spm.tokenize("\xF0\x9F\xA6\x99!", false, false);  // "🦙!"
    // "▁", <0xF0>, <0x9F>, <0xA6>, <0x99>, "!"
    REQUIRE(ids.size() == 6);
    StreamingDecoder decoder(spm);
    CHECK(decoder.push(ids[0]) == " ");
    CHECK(decoder.push(ids[1]).empty());
    CHECK(decoder.pending() == 1);
    CHECK(decoder.push(ids[2]).empty());
    CHECK(decoder.push(ids[3]).empty());
    CHECK(decoder.pending() == 3);
    CHECK(decoder.push(ids[4]) == "\xF0\x9F\xA6\x99");
    CHECK(decoder.pending() == 0);
    CHECK(decoder.push(ids[5]) == "!");
    CHECK(decoder.flush().empty());
}

TEST_CASE("byte-level BPE tokens that split a character", "[tokenizer][streaming]") {
    const Vocab &gpt2 = shared_vocab("gpt-2");
    // GPT-2 spells the llama emoji in several tokens that each hold part of its bytes.
    const std::vector<int32_t> ids = gpt2.tokenize(" this is \xF0\x9F\xA6\x99.cpp", false, false);
    StreamingDecoder decoder(gpt2);
    std::string streamed;
    bool held_back = false;
    for (int32_t id : ids) {
        const std::string piece = decoder.push(id);
        CHECK(is_valid_utf8(piece));
        held_back |= decoder.pending() > 0;
        streamed += piece;
    }
    CHECK(held_back);
    streamed += decoder.flush();
    CHECK(streamed == " this is \xF0\x9F\xA6\x99.cpp");
}

TEST_CASE("streaming every shared input gives the detokenized text", "[tokenizer][streaming]") {
    for (const std::string &name : ember::test::vocab_names()) {
        const Vocab &vocab = shared_vocab(name);
        for (const auto &c : ember::test::vocab_cases(name)) {
            const std::vector<int32_t> ids = vocab.tokenize(c.input, false, false);
            StreamingDecoder decoder(vocab);
            std::string streamed;
            for (int32_t id : ids) {
                const std::string piece = decoder.push(id);
                INFO(name << ": '" << c.input << "'");
                CHECK(is_valid_utf8(piece));
                streamed += piece;
            }
            streamed += decoder.flush();
            ember::tokenizer::DetokenizeOptions keep_spaces;
            keep_spaces.remove_space_prefix = false;
            CHECK(streamed == vocab.detokenize(ids, keep_spaces));
        }
    }
}

TEST_CASE("flush, reset and bad ids", "[tokenizer][streaming]") {
    const Vocab &spm = shared_vocab("llama-spm");
    const int32_t e2 = spm.find_token("<0xE2>");
    StreamingDecoder decoder(spm);
    CHECK(decoder.push(e2).empty());
    CHECK_THROWS(decoder.push(-7));
    CHECK(decoder.pending() == 1);  // unchanged by the failed push
    CHECK(decoder.flush() == "\xE2");  // an unfinished character comes out as its raw bytes
    CHECK(decoder.pending() == 0);

    CHECK(decoder.push(e2).empty());
    decoder.reset();
    CHECK(decoder.push(spm.find_token("!")) == "!");

    // Bytes that can never start a character are not held back.
    CHECK(decoder.push(spm.find_token("<0x80>")) == "\x80");

    // Special tokens: hidden by default, rendered on request.
    ember::tokenizer::DetokenizeOptions render = StreamingDecoder::streaming_defaults();
    render.render_special = true;
    StreamingDecoder rendering(spm, render);
    CHECK(rendering.push(2) == "</s>");
    CHECK(decoder.push(2).empty());
}
