// Just enough Unicode for tokenizers: UTF-8 decoding that never fails (a bad byte reads as
// U+FFFD and advances one byte, so every input splits into pieces that cover all its bytes),
// UTF-8 encoding, the coarse general category of a code point and the White_Space property.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ember::tokenizer::unicode {

constexpr char32_t kReplacement = 0xFFFD;

// The first letter of the Unicode general category (L, N, P, S, M, Z, C), with unassigned
// code points (Cn) apart from the other C categories.
enum class Category : uint8_t {
    Letter, Number, Punctuation, Symbol, Mark, Separator, Other, Unassigned,
};

namespace detail {
struct CategoryRun {
    uint32_t first;  // the run lasts until the next run's first code point
    Category category;
};
struct CodepointRange {
    uint32_t first, last;  // inclusive
};
extern const Category kLatin1Categories[256];
extern const CategoryRun kCategoryRuns[];
extern const size_t kCategoryRunCount;
extern const CodepointRange kWhiteSpace[];
extern const size_t kWhiteSpaceCount;
Category category_slow(char32_t cp);
}  // namespace detail

inline Category category(char32_t cp) {
    return cp < 256 ? detail::kLatin1Categories[cp] : detail::category_slow(cp);
}
inline bool is_letter(char32_t cp) { return category(cp) == Category::Letter; }
inline bool is_number(char32_t cp) { return category(cp) == Category::Number; }
inline bool is_punctuation(char32_t cp) { return category(cp) == Category::Punctuation; }
bool is_whitespace(char32_t cp);

struct Decoded {
    char32_t cp;   // U+FFFD for an invalid or truncated sequence
    uint32_t len;  // bytes consumed, >= 1
};
// Decodes the character starting at text[pos] (pos < text.size()). Overlong forms,
// surrogates and values above U+10FFFF are invalid.
Decoded decode_utf8(std::string_view text, size_t pos);

// Appends cp as UTF-8 (cp must be a valid scalar value).
void append_utf8(std::string &out, char32_t cp);

// Length of the longest prefix of `bytes` that cannot be the start of a still-incomplete
// character: the bytes after it are a valid but unfinished UTF-8 sequence (at most 3 bytes).
size_t complete_utf8_prefix(std::string_view bytes);

}  // namespace ember::tokenizer::unicode
