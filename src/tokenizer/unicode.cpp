#include "tokenizer/unicode.h"

#include <algorithm>

namespace ember::tokenizer::unicode {

namespace detail {
Category category_slow(char32_t cp) {
    if (cp > 0x10FFFF) return Category::Unassigned;
    // The last run that starts at or before cp.
    const CategoryRun *end = kCategoryRuns + kCategoryRunCount;
    const CategoryRun *it = std::upper_bound(
        kCategoryRuns, end, static_cast<uint32_t>(cp),
        [](uint32_t value, const CategoryRun &run) { return value < run.first; });
    return (it - 1)->category;
}
}  // namespace detail

bool is_whitespace(char32_t cp) {
    if (cp < 0x80) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
    for (size_t i = 0; i < detail::kWhiteSpaceCount; ++i) {
        if (cp < detail::kWhiteSpace[i].first) return false;
        if (cp <= detail::kWhiteSpace[i].last) return true;
    }
    return false;
}

namespace {
bool is_continuation(uint8_t b) { return (b & 0xC0) == 0x80; }

// The allowed range of the second byte after a lead byte (it excludes overlong forms,
// surrogates and values above U+10FFFF); {0, 0} for a byte that cannot lead.
struct LeadInfo {
    uint32_t len;
    uint8_t second_lo, second_hi;
};
LeadInfo lead_info(uint8_t b) {
    if (b < 0x80) return {1, 0, 0};
    if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
    if (b == 0xE0) return {3, 0xA0, 0xBF};
    if (b == 0xED) return {3, 0x80, 0x9F};
    if (b >= 0xE1 && b <= 0xEF) return {3, 0x80, 0xBF};
    if (b == 0xF0) return {4, 0x90, 0xBF};
    if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
    if (b == 0xF4) return {4, 0x80, 0x8F};
    return {0, 0, 0};
}
}  // namespace

Decoded decode_utf8(std::string_view text, size_t pos) {
    const auto *s = reinterpret_cast<const uint8_t *>(text.data());
    const size_t n = text.size();
    const uint8_t b0 = s[pos];
    if (b0 < 0x80) return {b0, 1};
    const LeadInfo info = lead_info(b0);
    if (info.len == 0 || pos + info.len > n) return {kReplacement, 1};
    const uint8_t b1 = s[pos + 1];
    if (b1 < info.second_lo || b1 > info.second_hi) return {kReplacement, 1};
    if (info.len == 2) return {static_cast<char32_t>(((b0 & 0x1F) << 6) | (b1 & 0x3F)), 2};
    const uint8_t b2 = s[pos + 2];
    if (!is_continuation(b2)) return {kReplacement, 1};
    if (info.len == 3) {
        return {static_cast<char32_t>(((b0 & 0x0F) << 12) | ((b1 & 0x3F) << 6) | (b2 & 0x3F)), 3};
    }
    const uint8_t b3 = s[pos + 3];
    if (!is_continuation(b3)) return {kReplacement, 1};
    return {static_cast<char32_t>(((b0 & 0x07) << 18) | ((b1 & 0x3F) << 12) | ((b2 & 0x3F) << 6) |
                                  (b3 & 0x3F)),
            4};
}

void append_utf8(std::string &out, char32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

size_t complete_utf8_prefix(std::string_view bytes) {
    const auto *s = reinterpret_cast<const uint8_t *>(bytes.data());
    const size_t n = bytes.size();
    // Only the last 3 bytes can belong to an unfinished character; find a lead byte there
    // whose sequence runs past the end and whose bytes so far are all acceptable.
    const size_t lookback = n < 3 ? n : 3;
    for (size_t k = 1; k <= lookback; ++k) {
        const size_t start = n - k;
        const LeadInfo info = lead_info(s[start]);
        if (info.len <= 1) {
            if (is_continuation(s[start])) continue;  // keep looking for its lead byte
            return n;
        }
        if (info.len <= k) return n;  // the sequence ends within the buffer
        if (k >= 2 && (s[start + 1] < info.second_lo || s[start + 1] > info.second_hi)) return n;
        if (k >= 3 && !is_continuation(s[start + 2])) return n;
        return start;
    }
    return n;
}

}  // namespace ember::tokenizer::unicode
