#include "tokenizer/pre_tokenizer.h"

#include <cstdint>

#include "tokenizer/unicode.h"

namespace ember::tokenizer {

namespace {

using unicode::Category;

// The text as code points with their class, so stages never decode UTF-8 twice.
struct Text {
    std::vector<char32_t> cp;
    std::vector<uint8_t> cls;       // Category, plus kWhitespace when White_Space
    std::vector<uint32_t> offset;   // byte offset of each code point; offset[n] = byte size
};
constexpr uint8_t kWhitespace = 0x80;

// A stretch of code points [begin, end).
struct Span {
    uint32_t begin, end;
};

Text decode(std::string_view text) {
    Text t;
    t.cp.reserve(text.size());
    t.cls.reserve(text.size());
    t.offset.reserve(text.size() + 1);
    for (size_t pos = 0; pos < text.size();) {
        const unicode::Decoded d = unicode::decode_utf8(text, pos);
        t.cp.push_back(d.cp);
        uint8_t cls = static_cast<uint8_t>(unicode::category(d.cp));
        if (unicode::is_whitespace(d.cp)) cls |= kWhitespace;
        t.cls.push_back(cls);
        t.offset.push_back(static_cast<uint32_t>(pos));
        pos += d.len;
    }
    t.offset.push_back(static_cast<uint32_t>(text.size()));
    return t;
}

// Character tests as the patterns use them: \s, \p{L}, \p{N}, \p{P}, [^\s\p{L}\p{N}].
struct Chars {
    const Text &t;
    bool ws(size_t i) const { return t.cls[i] & kWhitespace; }
    Category cat(size_t i) const { return static_cast<Category>(t.cls[i] & 0x7F); }
    bool letter(size_t i) const { return cat(i) == Category::Letter; }
    bool number(size_t i) const { return cat(i) == Category::Number; }
    bool punct(size_t i) const { return cat(i) == Category::Punctuation; }
    bool other(size_t i) const { return !ws(i) && !letter(i) && !number(i); }
    bool newline(size_t i) const { return t.cp[i] == '\r' || t.cp[i] == '\n'; }
    char32_t lower_ascii(size_t i) const {
        const char32_t c = t.cp[i];
        return (c >= 'A' && c <= 'Z') ? c + 32 : c;
    }
};

// Re-splits `s` around the leftmost, non-overlapping matches of `match`, which returns the
// length of a match starting at `pos` (0 for none) without looking past `end`.
template <typename Match>
void split_matches(const Text &t, Span s, std::vector<Span> &out, Match match) {
    uint32_t gap = s.begin;
    uint32_t pos = s.begin;
    while (pos < s.end) {
        const uint32_t n = static_cast<uint32_t>(match(Chars{t}, pos, s.end));
        if (n == 0) {
            ++pos;
            continue;
        }
        if (gap < pos) out.push_back({gap, pos});
        out.push_back({pos, pos + n});
        pos += n;
        gap = pos;
    }
    if (gap < s.end) out.push_back({gap, s.end});
}

// 's 't 're 've 'm 'll 'd, optionally in any ASCII case.
size_t match_contraction(const Chars &c, size_t p, size_t end, bool any_case) {
    if (c.t.cp[p] != '\'' || p + 1 >= end) return 0;
    const char32_t a = any_case ? c.lower_ascii(p + 1) : c.t.cp[p + 1];
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if (p + 2 >= end) return 0;
    const char32_t b = any_case ? c.lower_ascii(p + 2) : c.t.cp[p + 2];
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    return 0;
}

template <typename Pred>
size_t run_length(const Chars &c, size_t p, size_t end, Pred pred) {
    size_t q = p;
    while (q < end && pred(c, q)) ++q;
    return q - p;
}

// Whitespace that is not the last one before a non-space: a run of n spaces before a word
// leaves its last space to the word (\s+(?!\S)), a run at the end or a single one is taken
// whole (\s+).
size_t match_whitespace_run(const Chars &c, size_t p, size_t end) {
    size_t q = p;
    while (q < end && c.ws(q)) ++q;
    const size_t n = q - p;
    if (n > 1 && q < end) return n - 1;
    return n;
}

bool letter_of(const Chars &c, size_t i) { return c.letter(i); }
bool number_of(const Chars &c, size_t i) { return c.number(i); }
bool other_of(const Chars &c, size_t i) { return c.other(i); }

// GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
size_t match_gpt2(const Chars &c, size_t p, size_t end) {
    if (size_t n = match_contraction(c, p, end, false)) return n;
    const size_t q = p + (c.t.cp[p] == ' ' && p + 1 < end ? 1 : 0);
    if (c.letter(q)) return q - p + run_length(c, q, end, letter_of);
    if (c.number(q)) return q - p + run_length(c, q, end, number_of);
    if (c.other(q)) return q - p + run_length(c, q, end, other_of);
    const size_t n = match_whitespace_run(c, p, end);
    return n ? n : 1;
}

// Llama 3 (max_digits 3) and Qwen2 (max_digits 1):
// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,max_digits}
//   | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
size_t match_llama3(const Chars &c, size_t p, size_t end, size_t max_digits) {
    if (size_t n = match_contraction(c, p, end, true)) return n;
    if (c.letter(p)) return run_length(c, p, end, letter_of);
    if (!c.newline(p) && !c.number(p) && p + 1 < end && c.letter(p + 1)) {
        return 1 + run_length(c, p + 1, end, letter_of);
    }
    if (c.number(p)) {
        size_t q = p;
        while (q < end && q - p < max_digits && c.number(q)) ++q;
        return q - p;
    }
    size_t q = p + (c.t.cp[p] == ' ' && p + 1 < end ? 1 : 0);
    if (c.other(q)) {
        while (q < end && c.other(q)) ++q;
        while (q < end && c.newline(q)) ++q;
        return q - p;
    }
    // \s*[\r\n]+ takes the whitespace up to and including its last line break.
    size_t r = p;
    size_t after_newline = 0;
    while (r < end && c.ws(r)) {
        if (c.newline(r)) after_newline = r + 1;
        ++r;
    }
    if (after_newline) return after_newline - p;
    const size_t n = match_whitespace_run(c, p, end);
    return n ? n : 1;
}

bool in_ranges(char32_t cp, const char32_t (*ranges)[2], size_t count) {
    for (size_t i = 0; i < count; ++i) {
        if (cp >= ranges[i][0] && cp <= ranges[i][1]) return true;
    }
    return false;
}

// DeepSeek LLM's letter class: the cased letters (Lu, Ll, Lt) as its tokenizer lists them.
constexpr char32_t kDeepseekLetters[][2] = {
    {0x41, 0x5A},       {0x61, 0x7A},       {0xB5, 0xB5},       {0xC0, 0xD6},
    {0xD8, 0xF6},       {0xF8, 0x1BA},      {0x1BC, 0x1BF},     {0x1C4, 0x293},
    {0x295, 0x2AF},     {0x370, 0x373},     {0x376, 0x377},     {0x37B, 0x37D},
    {0x37F, 0x37F},     {0x386, 0x386},     {0x388, 0x38A},     {0x38C, 0x38C},
    {0x38E, 0x3A1},     {0x3A3, 0x3F5},     {0x3F7, 0x481},     {0x48A, 0x52F},
    {0x531, 0x556},     {0x10A0, 0x10C5},   {0x13A0, 0x13F5},   {0x13F8, 0x13FD},
    {0x1C90, 0x1CBA},   {0x1CBD, 0x1CBF},   {0x1D00, 0x1D2B},   {0x1D6B, 0x1D77},
    {0x1D79, 0x1D9A},   {0x1E00, 0x1F15},   {0x1F18, 0x1F1D},   {0x1F20, 0x1F45},
    {0x1F48, 0x1F4D},   {0x1F50, 0x1F57},   {0x1F59, 0x1F59},   {0x1F5B, 0x1F5B},
    {0x1F5D, 0x1F5D},   {0x1F5F, 0x1F7D},   {0x1F80, 0x1FB4},   {0x1FB6, 0x1FBC},
    {0x1FBE, 0x1FBE},   {0x1FC2, 0x1FC4},   {0x1FC6, 0x1FCC},   {0x1FD0, 0x1FD3},
    {0x1FD6, 0x1FDB},   {0x1FE0, 0x1FEC},   {0x1FF2, 0x1FF4},   {0x1FF6, 0x1FFC},
    {0x2102, 0x2102},   {0x2107, 0x2107},   {0x210A, 0x2113},   {0x2115, 0x2115},
    {0x2119, 0x211D},   {0x2124, 0x2124},   {0x2126, 0x2126},   {0x2128, 0x2128},
    {0x212A, 0x212D},   {0x212F, 0x2134},   {0x2139, 0x2139},   {0x213C, 0x213F},
    {0x2145, 0x2149},   {0x214E, 0x214E},   {0x2183, 0x2184},   {0x2C00, 0x2C7B},
    {0x2C7E, 0x2CE4},   {0x2CEB, 0x2CEE},   {0x2CF2, 0x2CF3},   {0xA640, 0xA66D},
    {0xA680, 0xA69B},   {0xA722, 0xA76F},   {0xA771, 0xA787},   {0xA78B, 0xA78E},
    {0xAB70, 0xABBF},   {0xFB00, 0xFB06},   {0xFB13, 0xFB17},   {0xFF21, 0xFF3A},
    {0xFF41, 0xFF5A},   {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB},
    {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
};
// DeepSeek LLM's punctuation class: ASCII punctuation and letters outside [0-9], fullwidth
// forms, curly quotes and the ideographic full stops.
constexpr char32_t kDeepseekPunct[][2] = {
    {0x21, 0x2F}, {0x3A, 0x7E}, {0xFF01, 0xFF0F}, {0xFF1A, 0xFF5E}, {0x2018, 0x201F},
    {0x3000, 0x3002},
};
// The CJK class both DeepSeek tokenizers use (it also covers everything from U+0800).
constexpr char32_t kDeepseekCjk[][2] = {{0x4E00, 0x9FA5}, {0x0800, 0x4E00}, {0xAC00, 0xD7FF}};

template <size_t N>
bool in_class(const Chars &c, size_t i, const char32_t (&ranges)[N][2]) {
    // These classes were written for a matcher that sees every non-ASCII White_Space
    // character as a plain whitespace, so U+3000 is \s and never a class member.
    return !(c.ws(i) && c.t.cp[i] >= 0x80) && in_ranges(c.t.cp[i], ranges, N);
}

// \s?X+ : an optional leading whitespace, then a run of X.
template <typename Pred>
size_t match_space_then_run(const Chars &c, size_t p, size_t end, Pred pred) {
    if (c.ws(p) && p + 1 < end && pred(c, p + 1)) return 1 + run_length(c, p + 1, end, pred);
    return run_length(c, p, end, pred);
}

bool is_one_of(char32_t cp, const char *set) {
    for (const char *s = set; *s; ++s) {
        if (cp == static_cast<unsigned char>(*s)) return true;
    }
    return false;
}

// Character classes, as predicates over a position.
bool punct_of(const Chars &c, size_t i) { return c.punct(i); }
bool digit_of(const Chars &c, size_t i) { return c.t.cp[i] >= '0' && c.t.cp[i] <= '9'; }
bool deepseek_letter_of(const Chars &c, size_t i) { return in_class(c, i, kDeepseekLetters); }
bool deepseek_punct_of(const Chars &c, size_t i) { return in_class(c, i, kDeepseekPunct); }
bool cjk_of(const Chars &c, size_t i) { return in_class(c, i, kDeepseekCjk); }
bool falcon_punct_of(const Chars &c, size_t i) { return c.punct(i) || is_one_of(c.t.cp[i], "$+<=>^~|`"); }
bool default_punct_of(const Chars &c, size_t i) { return c.punct(i) || is_one_of(c.t.cp[i], "$+<=>^~|"); }

using Pred = bool (*)(const Chars &, size_t);

// Matchers for the generic patterns X (one), X+ (run) and \s?X+ (space_run).
template <Pred X>
size_t one(const Chars &c, size_t p, size_t) { return X(c, p) ? 1 : 0; }
template <Pred X>
size_t run(const Chars &c, size_t p, size_t end) { return run_length(c, p, end, X); }
template <Pred X>
size_t space_run(const Chars &c, size_t p, size_t end) { return match_space_then_run(c, p, end, X); }

bool newline_of(const Chars &c, size_t i) { return c.newline(i); }
size_t match_qwen2(const Chars &c, size_t p, size_t end) { return match_llama3(c, p, end, 1); }
size_t match_llama3_digits3(const Chars &c, size_t p, size_t end) { return match_llama3(c, p, end, 3); }
size_t match_three_digits(const Chars &c, size_t p, size_t end) {
    return p + 3 <= end && digit_of(c, p) && digit_of(c, p + 1) && digit_of(c, p + 2) ? 3 : 0;
}

// One stage of a rule set, applied to every piece.
enum class Stage {
    Gpt2, Llama3, Qwen2,
    Newline,          // [\r\n]
    SpaceLetters,     // \s?\p{L}+
    SpacePunct,       // \s?\p{P}+
    DeepseekLetters,  // \s?[cased letters]+
    DeepseekPunct,    // \s?[ASCII and CJK punctuation]+
    TrailingSpace,    // \s+$
    CjkRun,           // [CJK]+
    NumberRun,        // \p{N}+
    SingleNumber,     // \p{N}
    ThreeDigits,      // [0-9][0-9][0-9]
    FalconPunctRun,   // [\p{P}$+<=>^~|`]+
    DefaultPunctRun,  // [\p{P}$+<=>^~|]+
};

// \s+$ : the whitespace at the end of a piece becomes its own piece.
void split_trailing_space(const Text &t, Span s, std::vector<Span> &out) {
    uint32_t start = s.end;
    while (start > s.begin && Chars{t}.ws(start - 1)) --start;
    if (start > s.begin && start < s.end) {
        out.push_back({s.begin, start});
        out.push_back({start, s.end});
    } else {
        out.push_back(s);
    }
}

void apply_stage(Stage stage, const Text &t, Span s, std::vector<Span> &out) {
    switch (stage) {
    case Stage::Gpt2: return split_matches(t, s, out, match_gpt2);
    case Stage::Llama3: return split_matches(t, s, out, match_llama3_digits3);
    case Stage::Qwen2: return split_matches(t, s, out, match_qwen2);
    case Stage::Newline: return split_matches(t, s, out, one<newline_of>);
    case Stage::SpaceLetters: return split_matches(t, s, out, space_run<letter_of>);
    case Stage::SpacePunct: return split_matches(t, s, out, space_run<punct_of>);
    case Stage::DeepseekLetters: return split_matches(t, s, out, space_run<deepseek_letter_of>);
    case Stage::DeepseekPunct: return split_matches(t, s, out, space_run<deepseek_punct_of>);
    case Stage::TrailingSpace: return split_trailing_space(t, s, out);
    case Stage::CjkRun: return split_matches(t, s, out, run<cjk_of>);
    case Stage::NumberRun: return split_matches(t, s, out, run<number_of>);
    case Stage::SingleNumber: return split_matches(t, s, out, one<number_of>);
    case Stage::ThreeDigits: return split_matches(t, s, out, match_three_digits);
    case Stage::FalconPunctRun: return split_matches(t, s, out, run<falcon_punct_of>);
    case Stage::DefaultPunctRun: return split_matches(t, s, out, run<default_punct_of>);
    }
}

std::vector<Stage> stages_of(PreTokenizerKind kind) {
    switch (kind) {
    case PreTokenizerKind::Gpt2: return {Stage::Gpt2};
    case PreTokenizerKind::Llama3: return {Stage::Llama3};
    case PreTokenizerKind::Qwen2: return {Stage::Qwen2};
    case PreTokenizerKind::DeepseekLlm:
        return {Stage::Newline, Stage::DeepseekLetters, Stage::DeepseekPunct, Stage::TrailingSpace,
                Stage::CjkRun, Stage::NumberRun};
    case PreTokenizerKind::DeepseekCoder:
        return {Stage::Newline, Stage::SpaceLetters, Stage::SpacePunct, Stage::CjkRun, Stage::SingleNumber};
    case PreTokenizerKind::Starcoder: return {Stage::SingleNumber, Stage::Gpt2};
    case PreTokenizerKind::Falcon: return {Stage::FalconPunctRun, Stage::Gpt2, Stage::ThreeDigits};
    case PreTokenizerKind::Default: break;
    }
    return {Stage::DefaultPunctRun, Stage::Gpt2, Stage::NumberRun, Stage::ThreeDigits};
}

struct NamedKind {
    const char *name;
    PreTokenizerKind kind;
};
// tokenizer.ggml.pre values; the first name of each kind is its canonical name.
constexpr NamedKind kNames[] = {
    {"default", PreTokenizerKind::Default},
    {"gpt-2", PreTokenizerKind::Gpt2},
    {"mpt", PreTokenizerKind::Gpt2},
    {"olmo", PreTokenizerKind::Gpt2},
    {"jais", PreTokenizerKind::Gpt2},
    {"llama-bpe", PreTokenizerKind::Llama3},
    {"llama3", PreTokenizerKind::Llama3},
    {"llama-v3", PreTokenizerKind::Llama3},
    {"dbrx", PreTokenizerKind::Llama3},
    {"smaug-bpe", PreTokenizerKind::Llama3},
    {"qwen2", PreTokenizerKind::Qwen2},
    {"stablelm2", PreTokenizerKind::Qwen2},
    {"deepseek-llm", PreTokenizerKind::DeepseekLlm},
    {"deepseek-coder", PreTokenizerKind::DeepseekCoder},
    {"starcoder", PreTokenizerKind::Starcoder},
    {"refact", PreTokenizerKind::Starcoder},
    {"command-r", PreTokenizerKind::Starcoder},
    {"smollm", PreTokenizerKind::Starcoder},
    {"codeshell", PreTokenizerKind::Starcoder},
    {"falcon", PreTokenizerKind::Falcon},
};

}  // namespace

bool pre_tokenizer_from_name(std::string_view name, PreTokenizerKind &kind) {
    for (const NamedKind &n : kNames) {
        if (name == n.name) {
            kind = n.kind;
            return true;
        }
    }
    return false;
}

const char *pre_tokenizer_name(PreTokenizerKind kind) {
    for (const NamedKind &n : kNames) {
        if (n.kind == kind) return n.name;
    }
    return "default";
}

void PreTokenizer::split(std::string_view text, std::vector<std::string_view> &words) const {
    if (text.empty()) return;
    const Text t = decode(text);
    std::vector<Span> pieces{{0, static_cast<uint32_t>(t.cp.size())}};
    std::vector<Span> next;
    for (Stage stage : stages_of(kind_)) {
        next.clear();
        for (const Span &s : pieces) apply_stage(stage, t, s, next);
        pieces.swap(next);
    }
    for (const Span &s : pieces) {
        words.push_back(text.substr(t.offset[s.begin], t.offset[s.end] - t.offset[s.begin]));
    }
}

}  // namespace ember::tokenizer
