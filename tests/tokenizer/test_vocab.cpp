// The Vocab API: metadata, special tokens, pieces, errors.
#include <catch2/catch.hpp>

#include <cstdio>

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "tokenizer/vocab.h"
#include "vocab_fixtures.h"

using ember::test::shared_vocab;
using ember::tokenizer::DetokenizeOptions;
using ember::tokenizer::PreTokenizerKind;
using ember::tokenizer::TokenType;
using ember::tokenizer::Vocab;
using ember::tokenizer::VocabType;

namespace {

// Expects `fn` to throw ember::Error with `status` and a message containing `part`.
template <typename Fn>
void require_error(Fn fn, ember_status status, const std::string &part) {
    try {
        fn();
        FAIL("no error thrown");
    } catch (const ember::Error &e) {
        INFO(e.what());
        CHECK(e.status() == status);
        CHECK(std::string(e.what()).find(part) != std::string::npos);
    }
}

// A vocabulary-only GGUF built in memory.
struct MemoryGguf {
    std::vector<uint8_t> bytes;
    std::unique_ptr<ember::gguf::File> file;
    explicit MemoryGguf(const ember::gguf::Writer &w) : bytes(w.write_buffer()) {
        file = ember::gguf::File::from_buffer(bytes.data(), bytes.size(), "test.gguf");
    }
};

// A tiny byte-level BPE vocabulary: the 256 byte characters plus "ab" and "abc".
ember::gguf::Writer tiny_bpe_writer(const std::string &pre) {
    ember::gguf::Writer w;
    w.set_string("general.architecture", "llama");
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", pre);
    std::vector<std::string> tokens;
    for (char c = 'a'; c <= 'c'; ++c) tokens.emplace_back(1, c);
    tokens.push_back("ab");
    tokens.push_back("abc");
    w.set_string_array("tokenizer.ggml.tokens", tokens);
    w.set_string_array("tokenizer.ggml.merges", {"a b", "ab c"});
    return w;
}

// A tiny SentencePiece-style BPE vocabulary ("gemma4"): <unk>, the 256 byte tokens, then
// pieces and merges whose ranks disagree with their scores.
ember::gguf::Writer tiny_spm_bpe_writer() {
    ember::gguf::Writer w;
    w.set_string("general.architecture", "gemma4");
    w.set_string("tokenizer.ggml.model", "gemma4");
    std::vector<std::string> tokens{"<unk>"};
    std::vector<int32_t> types{static_cast<int32_t>(TokenType::Unknown)};
    char hex[8];
    for (int b = 0; b < 256; ++b) {
        std::snprintf(hex, sizeof hex, "<0x%02X>", b);
        tokens.emplace_back(hex);
        types.push_back(static_cast<int32_t>(TokenType::Byte));
    }
    // 257 a, 258 b, 259 c, 260 ▁, 261 ab, 262 bc, 263 ▁a, 264 c▁
    for (const char *t : {"a", "b", "c", "\xE2\x96\x81", "ab", "bc", "\xE2\x96\x81" "a", "c\xE2\x96\x81"}) {
        tokens.emplace_back(t);
        types.push_back(static_cast<int32_t>(TokenType::Normal));
    }
    std::vector<float> scores(tokens.size(), 0.0f);
    scores[261] = 10.0f;  // a score-driven tokenizer would prefer "ab" to "bc"
    w.set_string_array("tokenizer.ggml.tokens", tokens);
    w.set_array("tokenizer.ggml.token_type", ember::gguf::ValueType::I32, types.data(), types.size());
    w.set_array("tokenizer.ggml.scores", ember::gguf::ValueType::F32, scores.data(), scores.size());
    w.set_string_array("tokenizer.ggml.merges",
                       {"b c", "a b", "c \xE2\x96\x81", "\xE2\x96\x81 a"});
    w.set_u32("tokenizer.ggml.unknown_token_id", 0);
    return w;
}

}  // namespace

TEST_CASE("SentencePiece-style BPE (gemma4): merges by rank over characters, byte fallback",
          "[tokenizer][vocab]") {
    MemoryGguf gguf(tiny_spm_bpe_writer());
    const Vocab vocab(*gguf.file);
    CHECK(vocab.type() == VocabType::SpmBpe);
    CHECK(vocab.warnings().empty());
    CHECK(vocab.add_bos());  // the default when the file does not say
    CHECK_FALSE(vocab.add_space_prefix());
    const auto byte = [](int b) { return 1 + b; };
    // Rank, not score: "b c" (rank 0) wins over "a b" (rank 1).
    CHECK(vocab.tokenize("abc", false, false) == std::vector<int32_t>{257, 262});
    CHECK(vocab.tokenize(" ab", false, false) == std::vector<int32_t>{260, 261});
    CHECK(vocab.tokenize(" ac", false, false) == std::vector<int32_t>{263, 259});
    // No pre-tokenizer: a merge may join a character to the space after it.
    CHECK(vocab.tokenize("c a", false, false) == std::vector<int32_t>{264, 257});
    // Characters without a piece are spelled in byte tokens, invalid UTF-8 byte by byte.
    CHECK(vocab.tokenize("a\xC3\xA9", false, false) == std::vector<int32_t>{257, byte(0xC3), byte(0xA9)});
    CHECK(vocab.tokenize("\xFF" "b", false, false) == std::vector<int32_t>{byte(0xFF), 258});
    for (const char *text : {"abc", " ab", "c a", "a\xC3\xA9", "\xFF" "b", "  cab  c"}) {
        INFO(text);
        CHECK(vocab.detokenize(vocab.tokenize(text, false, false)) == text);
    }
    CHECK(vocab.token_to_piece(264) == "c ");
    CHECK(vocab.token_to_piece(byte(0x41)) == "A");
}

TEST_CASE("Gemma 4 vocabulary metadata and special tokens", "[tokenizer][vocab]") {
    const Vocab &gemma = shared_vocab("archs/gemma-4");
    CHECK(gemma.type() == VocabType::SpmBpe);
    CHECK(gemma.n_tokens() == 262144);
    CHECK(gemma.bos() == 2);
    CHECK(gemma.eos() == 1);
    CHECK(gemma.unk() == 3);
    CHECK(gemma.pad() == 0);
    CHECK(gemma.add_bos());
    CHECK_FALSE(gemma.add_space_prefix());
    CHECK(gemma.tokenize("Hello", true, false) == std::vector<int32_t>{2, 9259});
    // <turn|> ends a chat turn.
    CHECK(gemma.eot() == gemma.find_token("<turn|>"));
    CHECK(gemma.is_eog(gemma.eot()));
    CHECK(gemma.is_eog(gemma.eos()));
    const std::vector<int32_t> turn = gemma.tokenize("<|turn>user\nHi<turn|>", false, true);
    REQUIRE(turn.size() >= 2);
    CHECK(turn.front() == gemma.find_token("<|turn>"));
    CHECK(turn.back() == gemma.find_token("<turn|>"));
    DetokenizeOptions render;
    render.render_special = true;
    CHECK(gemma.detokenize(turn, render) == "<|turn>user\nHi<turn|>");
    CHECK(gemma.detokenize(turn) == "user\nHi");
}

TEST_CASE("vocabulary metadata and the add-BOS rule", "[tokenizer][vocab]") {
    const Vocab &spm = shared_vocab("llama-spm");
    CHECK(spm.type() == VocabType::Spm);
    CHECK(spm.n_tokens() == 32000);
    CHECK(spm.bos() == 1);
    CHECK(spm.eos() == 2);
    CHECK(spm.unk() == 0);
    CHECK(spm.add_bos());
    CHECK_FALSE(spm.add_eos());
    CHECK(spm.add_space_prefix());
    CHECK(spm.token_text(1) == "<s>");
    CHECK(spm.token_type(1) == TokenType::Control);
    CHECK(spm.token_type(13) == TokenType::Byte);
    CHECK(spm.find_token("\xE2\x96\x81Hello") == 15043);
    CHECK(spm.find_token("no such token") == -1);

    // Llama 3 adds BOS although its file does not say so; other BPE vocabularies do not.
    const Vocab &llama3 = shared_vocab("llama-bpe");
    CHECK(llama3.type() == VocabType::Bpe);
    CHECK(llama3.pre_tokenizer() == PreTokenizerKind::Llama3);
    CHECK(llama3.add_bos());
    CHECK(llama3.tokenize("Hello", true, false) == std::vector<int32_t>{128000, 9906});
    CHECK(llama3.tokenize("Hello", false, false) == std::vector<int32_t>{9906});
    CHECK_FALSE(shared_vocab("gpt-2").add_bos());
    CHECK_FALSE(shared_vocab("qwen2").add_bos());
    CHECK(shared_vocab("qwen2").tokenize("Hello", true, false) == std::vector<int32_t>{9707});
    CHECK(shared_vocab("deepseek-coder").add_bos());  // the file says so

    CHECK(spm.tokenize("Hello", true, false) == std::vector<int32_t>{1, 15043});
    CHECK(spm.tokenize("", true, false) == std::vector<int32_t>{1});
    CHECK(spm.tokenize("", false, false).empty());
}

TEST_CASE("end-of-generation tokens", "[tokenizer][vocab]") {
    const Vocab &llama3 = shared_vocab("llama-bpe");
    CHECK(llama3.eot() == llama3.find_token("<|eot_id|>"));
    CHECK(llama3.is_eog(llama3.eos()));
    CHECK(llama3.is_eog(llama3.eot()));
    CHECK_FALSE(llama3.is_eog(9906));
    CHECK_FALSE(llama3.is_eog(-1));
    CHECK_FALSE(llama3.is_eog(llama3.n_tokens()));

    const Vocab &qwen2 = shared_vocab("qwen2");
    CHECK(qwen2.eot() == 151645);  // <|im_end|>
    CHECK(qwen2.is_eog(151643));   // <|endoftext|>
    CHECK(qwen2.is_eog(151645));
    CHECK_FALSE(qwen2.is_eog(151644));  // <|im_start|>
    CHECK(shared_vocab("phi-3").is_eog(shared_vocab("phi-3").find_token("<|end|>")));
}

TEST_CASE("special-token text is parsed only on request", "[tokenizer][special]") {
    const Vocab &qwen2 = shared_vocab("qwen2");
    const int32_t im_start = qwen2.find_token("<|im_start|>");
    REQUIRE(im_start == 151644);
    const std::vector<int32_t> user = qwen2.tokenize("user", false, false);

    std::vector<int32_t> expected{im_start};
    expected.insert(expected.end(), user.begin(), user.end());
    CHECK(qwen2.tokenize("<|im_start|>user", false, true) == expected);

    // Without parsing, the marker is ordinary text.
    const std::vector<int32_t> plain = qwen2.tokenize("<|im_start|>user", false, false);
    CHECK(plain == std::vector<int32_t>{27, 91, 318, 4906, 91, 29, 872});
    CHECK(qwen2.detokenize(plain) == "<|im_start|>user");

    // A whole chat turn; hidden or rendered special tokens on the way back.
    const std::string chat = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n";
    const std::vector<int32_t> ids = qwen2.tokenize(chat, false, true);
    CHECK(std::count(ids.begin(), ids.end(), im_start) == 2);
    CHECK(std::count(ids.begin(), ids.end(), 151645) == 2);
    DetokenizeOptions render;
    render.render_special = true;
    CHECK(qwen2.detokenize(ids, render) == chat);
    CHECK(qwen2.detokenize(ids) == "system\nBe brief.\nuser\nHi\n");
}

TEST_CASE("user-defined tokens always match whole", "[tokenizer][special]") {
    // deepseek-coder lists single Latin-1 letters as user-defined tokens; MPT lists runs of spaces.
    const Vocab &coder = shared_vocab("deepseek-coder");
    const int32_t o_tilde = coder.find_token("\xC3\xB5");  // õ
    REQUIRE(coder.token_type(o_tilde) == TokenType::UserDefined);
    const std::vector<int32_t> ids = coder.tokenize("S\xC3\xB5na", false, false);
    CHECK(std::find(ids.begin(), ids.end(), o_tilde) != ids.end());
    CHECK(coder.detokenize(ids) == "S\xC3\xB5na");

    const Vocab &mpt = shared_vocab("mpt");
    CHECK(mpt.tokenize("    Hello", false, false) == std::vector<int32_t>{50274, 12092});
}

TEST_CASE("SentencePiece puts a space before text that starts a fragment", "[tokenizer][special]") {
    const Vocab &spm = shared_vocab("llama-spm");
    // "<s>" parsed as BOS; the text after it gets the space prefix like the start of input.
    const std::vector<int32_t> ids = spm.tokenize("<s>Hello", false, true);
    CHECK(ids == std::vector<int32_t>{1, 15043});
    CHECK(spm.detokenize(ids) == "Hello");
    DetokenizeOptions render;
    render.render_special = true;
    CHECK(spm.detokenize(ids, render) == "<s>Hello");
    // Without parsing, "<s>" is text.
    CHECK(spm.tokenize("<s>Hello", false, false).size() > 2);
}

TEST_CASE("token pieces", "[tokenizer][vocab]") {
    const Vocab &spm = shared_vocab("llama-spm");
    CHECK(spm.token_to_piece(15043) == " Hello");
    CHECK(spm.token_to_piece(13) == "\n");  // <0x0A>
    CHECK(spm.token_to_piece(1).empty());
    CHECK(spm.token_to_piece(1, true) == "<s>");
    CHECK(spm.token_to_piece(0, true) == "<unk>");

    const Vocab &gpt2 = shared_vocab("gpt-2");
    CHECK(gpt2.token_text(18435) == "\xC4\xA0Hello");  // "ĠHello"
    CHECK(gpt2.token_to_piece(18435) == " Hello");
    CHECK(gpt2.token_to_piece(198) == "\n");
    CHECK(gpt2.token_to_piece(50256).empty());
    CHECK(gpt2.token_to_piece(50256, true) == "<|endoftext|>");

    // A character split over tokens: each piece holds part of its bytes.
    const std::vector<int32_t> ids = spm.tokenize("\xF0\x9F\xA6\x99", false, false);  // 🦙
    REQUIRE(ids.size() == 5);  // "▁" and four byte tokens
    CHECK(spm.token_to_piece(ids[1]) == "\xF0");
}

TEST_CASE("ids out of range are errors, not undefined behaviour", "[tokenizer][errors]") {
    const Vocab &spm = shared_vocab("llama-spm");
    for (int32_t bad : {-1, 32000, INT32_MAX, INT32_MIN}) {
        require_error([&] { spm.token_to_piece(bad); }, EMBER_ERR_INVALID_ARGUMENT, "out of range");
        require_error([&] { spm.token_text(bad); }, EMBER_ERR_INVALID_ARGUMENT, std::to_string(bad));
        require_error([&] { spm.token_score(bad); }, EMBER_ERR_INVALID_ARGUMENT, "32000 tokens");
        require_error([&] { spm.token_type(bad); }, EMBER_ERR_INVALID_ARGUMENT, "out of range");
        require_error([&] { spm.detokenize(std::vector<int32_t>{1, 15043, bad}); }, EMBER_ERR_INVALID_ARGUMENT,
                      "out of range");
        CHECK_FALSE(spm.is_eog(bad));
        CHECK_FALSE(spm.is_special(bad));
    }
}

TEST_CASE("files without a usable vocabulary", "[tokenizer][errors]") {
    ember::gguf::Writer none;
    none.set_string("general.architecture", "llama");
    MemoryGguf no_vocab(none);
    require_error([&] { Vocab v(*no_vocab.file); }, EMBER_ERR_NOT_FOUND, "tokenizer.ggml.model");

    ember::gguf::Writer bert = tiny_bpe_writer("default");
    bert.set_string("tokenizer.ggml.model", "bert");
    MemoryGguf unsupported(bert);
    require_error([&] { Vocab v(*unsupported.file); }, EMBER_ERR_UNSUPPORTED, "'bert'");
    ember::gguf::Writer future = tiny_spm_bpe_writer();
    future.set_string("tokenizer.ggml.model", "gemma5");
    MemoryGguf unknown_model(future);
    require_error([&] { Vocab v(*unknown_model.file); }, EMBER_ERR_UNSUPPORTED,
                  "tokenizer model 'gemma5' is not supported");

    ember::gguf::Writer no_tokens;
    no_tokens.set_string("tokenizer.ggml.model", "llama");
    MemoryGguf missing_tokens(no_tokens);
    require_error([&] { Vocab v(*missing_tokens.file); }, EMBER_ERR_NOT_FOUND, "tokenizer.ggml.tokens");

    ember::gguf::Writer short_scores = tiny_bpe_writer("default");
    const float scores[2] = {0, 0};
    short_scores.set_array("tokenizer.ggml.scores", ember::gguf::ValueType::F32, scores, 2);
    MemoryGguf bad_scores(short_scores);
    require_error([&] { Vocab v(*bad_scores.file); }, EMBER_ERR_BAD_FORMAT, "tokenizer.ggml.scores");
}

TEST_CASE("an unknown pre-tokenizer falls back to the default one with a warning", "[tokenizer][vocab]") {
    MemoryGguf gguf(tiny_bpe_writer("brand-new-model"));
    const Vocab vocab(*gguf.file);
    CHECK(vocab.pre_tokenizer() == PreTokenizerKind::Default);
    REQUIRE(vocab.warnings().size() == 1);
    CHECK(vocab.warnings()[0].find("brand-new-model") != std::string::npos);
    // Merges apply in rank order: a+b, then ab+c.
    CHECK(vocab.tokenize("abcab", false, false) == std::vector<int32_t>{4, 3});
    CHECK(vocab.tokenize("cba", false, false) == std::vector<int32_t>{2, 1, 0});
    CHECK(vocab.bos() == -1);
    CHECK(vocab.eos() == -1);
    CHECK_FALSE(vocab.add_bos());
    // Bytes without a token are dropped (there is no UNK here), never invented.
    CHECK(vocab.tokenize("a d", false, false) == std::vector<int32_t>{0});
}
