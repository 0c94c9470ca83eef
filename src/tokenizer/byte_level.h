// GPT-2's reversible byte <-> character mapping: byte-level BPE vocabularies store every byte
// as a printable character (a space is "Ġ", a newline "Ċ"), so that token texts are strings
// without control characters or spaces.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ember::tokenizer::byte_level {

// The character that stands for `byte` in token texts.
char32_t byte_to_char(uint8_t byte);
// The byte a token-text character stands for, or -1 if it stands for none.
int char_to_byte(char32_t c);

// Appends the token-text form of raw bytes.
void encode(std::string_view bytes, std::string &out);
// Appends the raw bytes of a token text; characters outside the mapping are kept as UTF-8.
void decode(std::string_view token_text, std::string &out);

}  // namespace ember::tokenizer::byte_level
