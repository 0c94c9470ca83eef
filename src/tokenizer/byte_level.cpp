#include "tokenizer/byte_level.h"

#include <array>

#include "tokenizer/unicode.h"

namespace ember::tokenizer::byte_level {

namespace {
// Printable Latin-1 bytes stand for themselves; the other 68 bytes (controls, space, DEL,
// NBSP, soft hyphen) take the characters from U+0100 upwards, in byte order.
bool is_printable(unsigned b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct Tables {
    std::array<char32_t, 256> to_char{};
    std::array<int16_t, 324> to_byte{};  // indexed by character, U+0000..U+0143
    Tables() {
        to_byte.fill(-1);
        char32_t next = 0x100;
        for (unsigned b = 0; b < 256; ++b) {
            to_char[b] = is_printable(b) ? static_cast<char32_t>(b) : next++;
            to_byte[to_char[b]] = static_cast<int16_t>(b);
        }
    }
};
const Tables &tables() {
    static const Tables t;
    return t;
}
}  // namespace

char32_t byte_to_char(uint8_t byte) { return tables().to_char[byte]; }

int char_to_byte(char32_t c) { return c < tables().to_byte.size() ? tables().to_byte[c] : -1; }

void encode(std::string_view bytes, std::string &out) {
    const Tables &t = tables();
    for (char ch : bytes) unicode::append_utf8(out, t.to_char[static_cast<uint8_t>(ch)]);
}

void decode(std::string_view token_text, std::string &out) {
    for (size_t pos = 0; pos < token_text.size();) {
        const unicode::Decoded d = unicode::decode_utf8(token_text, pos);
        const int b = d.cp == unicode::kReplacement ? -1 : char_to_byte(d.cp);
        if (b >= 0) {
            out.push_back(static_cast<char>(b));
        } else {
            out.append(token_text.substr(pos, d.len));
        }
        pos += d.len;
    }
}

}  // namespace ember::tokenizer::byte_level
