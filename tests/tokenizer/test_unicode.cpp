// Unicode classification and UTF-8 helpers used by the pre-tokenizers.
#include <catch2/catch.hpp>

#include "tokenizer/byte_level.h"
#include "tokenizer/unicode.h"

namespace u = ember::tokenizer::unicode;
using u::Category;

TEST_CASE("general categories cover all of Unicode", "[tokenizer][unicode]") {
    CHECK(u::category('A') == Category::Letter);
    CHECK(u::category('z') == Category::Letter);
    CHECK(u::category('7') == Category::Number);
    CHECK(u::category('!') == Category::Punctuation);
    CHECK(u::category('_') == Category::Punctuation);
    CHECK(u::category('$') == Category::Symbol);
    CHECK(u::category('+') == Category::Symbol);
    CHECK(u::category(' ') == Category::Separator);
    CHECK(u::category('\n') == Category::Other);
    CHECK(u::category(0xE9) == Category::Letter);     // é
    CHECK(u::category(0xBD) == Category::Number);     // ½
    CHECK(u::category(0x0660) == Category::Number);   // Arabic-Indic zero
    CHECK(u::category(0x0301) == Category::Mark);     // combining acute
    CHECK(u::category(0x17B6) == Category::Mark);     // Khmer vowel sign
    CHECK(u::category(0x4E2D) == Category::Letter);   // 中
    CHECK(u::category(0x3001) == Category::Punctuation);
    CHECK(u::category(0x1F999) == Category::Symbol);  // 🦙
    CHECK(u::category(0x200D) == Category::Other);    // zero-width joiner (Cf)
    CHECK(u::category(0x1D7CE) == Category::Number);  // mathematical bold zero
    CHECK(u::category(0x20000) == Category::Letter);  // CJK extension B
    CHECK(u::category(0xE0001) == Category::Other);   // language tag (Cf)
    CHECK(u::category(0x10FFFF) == Category::Unassigned);
    CHECK(u::category(0x110000) == Category::Unassigned);

    CHECK(u::is_whitespace(' '));
    CHECK(u::is_whitespace('\t'));
    CHECK(u::is_whitespace(0x0B));
    CHECK(u::is_whitespace(0x85));
    CHECK(u::is_whitespace(0xA0));
    CHECK(u::is_whitespace(0x3000));
    CHECK(u::is_whitespace(0x2009));
    CHECK_FALSE(u::is_whitespace(0x1C));
    CHECK_FALSE(u::is_whitespace(0x200B));  // zero-width space is not White_Space
    CHECK_FALSE(u::is_whitespace('a'));
}

TEST_CASE("UTF-8 decoding never fails", "[tokenizer][unicode]") {
    auto one = [](const std::string &s) { return u::decode_utf8(s, 0); };
    CHECK(one("a").cp == 'a');
    CHECK(one("\xC3\xA9").cp == 0xE9);
    CHECK(one("\xC3\xA9").len == 2);
    CHECK(one("\xE4\xB8\xAD").cp == 0x4E2D);
    CHECK(one("\xF0\x9F\xA6\x99").cp == 0x1F999);
    CHECK(one("\xF0\x9F\xA6\x99").len == 4);
    for (const char *bad : {"\x80", "\xC0\x80", "\xC3", "\xE0\x80\x80", "\xED\xA0\x80", "\xF4\x90\x80\x80",
                            "\xF8\x88\x80\x80\x80", "\xE4\xB8"}) {
        CHECK(one(bad).cp == u::kReplacement);
        CHECK(one(bad).len == 1);
    }
    std::string out;
    for (char32_t cp : {0x41u, 0xE9u, 0x4E2Du, 0x1F999u}) u::append_utf8(out, cp);
    CHECK(out == "A\xC3\xA9\xE4\xB8\xAD\xF0\x9F\xA6\x99");
}

TEST_CASE("the complete prefix of a UTF-8 stream", "[tokenizer][unicode]") {
    CHECK(u::complete_utf8_prefix("") == 0);
    CHECK(u::complete_utf8_prefix("abc") == 3);
    CHECK(u::complete_utf8_prefix("ab\xF0") == 2);
    CHECK(u::complete_utf8_prefix("ab\xF0\x9F") == 2);
    CHECK(u::complete_utf8_prefix("ab\xF0\x9F\xA6") == 2);
    CHECK(u::complete_utf8_prefix("ab\xF0\x9F\xA6\x99") == 6);
    CHECK(u::complete_utf8_prefix("\xC3") == 0);
    CHECK(u::complete_utf8_prefix("\xC3\xA9") == 2);
    // Bytes that cannot become a character are not waited for.
    CHECK(u::complete_utf8_prefix("a\x80") == 2);
    CHECK(u::complete_utf8_prefix("a\xFF") == 2);
    CHECK(u::complete_utf8_prefix("a\xE0\x80") == 3);  // overlong: the second byte is already wrong
    CHECK(u::complete_utf8_prefix("a\xF0\x9F" "b") == 4);
}

TEST_CASE("GPT-2 byte mapping is a bijection", "[tokenizer][unicode]") {
    namespace bl = ember::tokenizer::byte_level;
    CHECK(bl::byte_to_char(' ') == 0x120);   // Ġ
    CHECK(bl::byte_to_char('\n') == 0x10A);  // Ċ
    CHECK(bl::byte_to_char('a') == 'a');
    for (int b = 0; b < 256; ++b) CHECK(bl::char_to_byte(bl::byte_to_char(static_cast<uint8_t>(b))) == b);
    std::string all;
    for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
    std::string encoded, decoded;
    bl::encode(all, encoded);
    bl::decode(encoded, decoded);
    CHECK(decoded == all);
}
