#include "sampling/regex_to_grammar.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "sampling/grammar_parser.h"

namespace ember::sampling {

namespace {

using Ranges = std::vector<std::pair<uint32_t, uint32_t>>;

// Characters a JSON string may hold as they are: everything but ", \ and controls.
Ranges raw_json_chars() { return {{0x20, 0x21}, {0x23, 0x5B}, {0x5D, 0x10FFFF}}; }

Ranges normalize(Ranges r) {
    std::sort(r.begin(), r.end());
    Ranges out;
    for (const auto &p : r) {
        if (!out.empty() && p.first <= out.back().second + 1) out.back().second = std::max(out.back().second, p.second);
        else out.push_back(p);
    }
    return out;
}

Ranges intersect(const Ranges &a, const Ranges &b) {
    Ranges out;
    for (const auto &x : a)
        for (const auto &y : b) {
            const uint32_t lo = std::max(x.first, y.first), hi = std::min(x.second, y.second);
            if (lo <= hi) out.emplace_back(lo, hi);
        }
    return normalize(out);
}

Ranges complement(const Ranges &r) {
    Ranges out;
    uint32_t next = 0;
    for (const auto &p : normalize(r)) {
        if (p.first > next) out.emplace_back(next, p.first - 1);
        next = p.second + 1;
    }
    if (next <= 0x10FFFF) out.emplace_back(next, 0x10FFFF);
    return out;
}

std::string gbnf_code_point(uint32_t cp) {
    if ((cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) return std::string(1, char(cp));
    char buf[16];
    if (cp <= 0xFFFF) std::snprintf(buf, sizeof buf, "\\u%04X", cp);
    else std::snprintf(buf, sizeof buf, "\\U%08X", cp);
    return buf;
}

std::string gbnf_class(const Ranges &r) {
    std::string out = "[";
    for (const auto &[lo, hi] : r) {
        out += gbnf_code_point(lo);
        if (hi != lo) out += "-" + gbnf_code_point(hi);
    }
    return out + "]";
}

class RegexConverter {
public:
    RegexConverter(std::string_view pattern, std::string_view pointer) : re_(pattern), pointer_(pointer) {}

    std::string convert() {
        bool anchored_start = false, anchored_end = false;
        if (!re_.empty() && re_[0] == '^') {
            anchored_start = true;
            pos_ = 1;
        }
        std::string body = parse_alternation(0);
        if (pos_ < re_.size() && re_[pos_] == '$' && pos_ + 1 == re_.size()) {
            anchored_end = true;
            ++pos_;
        }
        if (pos_ != re_.size()) unsupported("unexpected '" + std::string(1, re_[pos_]) + "'");
        const std::string any = gbnf_class(raw_json_chars()) + "*";
        return std::string("(") + (anchored_start ? "" : any + " ") + "(" + body + ")" + (anchored_end ? "" : " " + any) + ")";
    }

private:
    [[noreturn]] void unsupported(const std::string &what) const {
        fail(EMBER_ERR_UNSUPPORTED, "json schema: unsupported 'pattern' at #" + std::string(pointer_) + ": " + what +
                                        " (in /" + std::string(re_) + "/)");
    }

    bool more() const { return pos_ < re_.size(); }
    char peek() const { return re_[pos_]; }

    std::string parse_alternation(size_t depth) {
        if (depth > 32) unsupported("groups nested too deep");
        std::string out = parse_concat(depth);
        while (more() && peek() == '|') {
            ++pos_;
            out += " | " + parse_concat(depth);
        }
        return out;
    }

    std::string parse_concat(size_t depth) {
        std::string out;
        while (more() && peek() != '|' && peek() != ')') {
            if (peek() == '$') {
                if (pos_ + 1 == re_.size() && depth == 0) break;
                unsupported("'$' is supported only at the end");
            }
            std::string atom = parse_atom(depth);
            atom = parse_quantifier(atom);
            out += (out.empty() ? "" : " ") + atom;
        }
        return out.empty() ? "\"\"" : out;
    }

    std::string parse_quantifier(const std::string &atom) {
        if (!more()) return atom;
        std::string q;
        const char c = peek();
        if (c == '*' || c == '+' || c == '?') {
            ++pos_;
            q = std::string(1, c);
        } else if (c == '{') {
            const size_t close = re_.find('}', pos_);
            if (close == std::string_view::npos) unsupported("unterminated '{'");
            const std::string inner(re_.substr(pos_ + 1, close - pos_ - 1));
            for (char d : inner)
                if (!(d >= '0' && d <= '9') && d != ',') unsupported("bad repetition {" + inner + "}");
            // {m}, {m,} or {m,n} with m <= n: anything else is not a repetition GBNF accepts.
            const size_t comma = inner.find(',');
            const bool bad_shape = inner.empty() || inner[0] == ',' || inner.size() > 12 ||
                                   (comma != std::string::npos && inner.find(',', comma + 1) != std::string::npos);
            if (bad_shape) unsupported("bad repetition {" + inner + "}");
            const unsigned long long lo = std::stoull(inner.substr(0, comma));
            const bool bounded = comma != std::string::npos && comma + 1 < inner.size();
            const unsigned long long hi = bounded ? std::stoull(inner.substr(comma + 1)) : lo;
            if (lo > hi) unsupported("bad repetition {" + inner + "} (minimum above maximum)");
            if (hi > GrammarLimits{}.max_repetition) unsupported("repetition {" + inner + "} beyond the grammar limit");
            q = "{" + inner + "}";
            pos_ = close + 1;
        } else {
            return atom;
        }
        if (more() && (peek() == '?' || peek() == '+')) unsupported("lazy and possessive quantifiers");
        return "(" + atom + ")" + q;
    }

    std::string literal(uint32_t cp) {
        // ", \ and controls appear in the JSON text as escapes.
        switch (cp) {
            case '"': return "\"\\\\\\\"\"";
            case '\\': return "\"\\\\\\\\\"";
            case '\n': return "\"\\\\n\"";
            case '\t': return "\"\\\\t\"";
            case '\r': return "\"\\\\r\"";
            default: break;
        }
        if (cp < 0x20) unsupported("control characters");
        return "[" + gbnf_code_point(cp) + "]";
    }

    uint32_t next_code_point() {
        const auto b = static_cast<unsigned char>(re_[pos_]);
        int extra = b < 0x80 ? 0 : (b & 0xE0) == 0xC0 ? 1 : (b & 0xF0) == 0xE0 ? 2 : (b & 0xF8) == 0xF0 ? 3 : -1;
        if (extra < 0 || pos_ + static_cast<size_t>(extra) >= re_.size() + (extra == 0 ? 1 : 0)) unsupported("invalid UTF-8");
        uint32_t cp = extra == 0 ? b : extra == 1 ? (b & 0x1Fu) : extra == 2 ? (b & 0x0Fu) : (b & 0x07u);
        ++pos_;
        for (int i = 0; i < extra; ++i) {
            if (!more() || (static_cast<unsigned char>(peek()) & 0xC0) != 0x80) unsupported("invalid UTF-8");
            cp = (cp << 6) | (static_cast<unsigned char>(peek()) & 0x3Fu);
            ++pos_;
        }
        return cp;
    }

    // An escape after '\': a class (\d \w \s and their complements) or one character.
    Ranges parse_escape(bool &is_class) {
        if (!more()) unsupported("'\\' at the end");
        const char e = peek();
        ++pos_;
        is_class = true;
        switch (e) {
            case 'd': return {{'0', '9'}};
            case 'D': return complement({{'0', '9'}});
            case 'w': return normalize({{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}});
            case 'W': return complement({{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}});
            case 's': return normalize({{' ', ' '}, {'\t', '\r'}});
            case 'S': return complement({{' ', ' '}, {'\t', '\r'}});
            default: break;
        }
        is_class = false;
        switch (e) {
            case 'n': return {{'\n', '\n'}};
            case 't': return {{'\t', '\t'}};
            case 'r': return {{'\r', '\r'}};
            case 'u': {
                if (pos_ + 4 > re_.size()) unsupported("bad \\u escape");
                uint32_t v = 0;
                for (int i = 0; i < 4; ++i) {
                    const char h = re_[pos_++];
                    const int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
                    if (d < 0) unsupported("bad \\u escape");
                    v = v * 16 + static_cast<uint32_t>(d);
                }
                return {{v, v}};
            }
            default: break;
        }
        if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9'))
            unsupported(std::string("the escape \\") + e);
        return {{static_cast<unsigned char>(e), static_cast<unsigned char>(e)}};
    }

    std::string parse_atom(size_t depth) {
        const char c = peek();
        if (c == '(') {
            ++pos_;
            if (more() && peek() == '?') {
                if (pos_ + 1 < re_.size() && re_[pos_ + 1] == ':') pos_ += 2;
                else unsupported("lookarounds and named groups");
            }
            std::string inner = parse_alternation(depth + 1);
            if (!more() || peek() != ')') unsupported("unclosed '('");
            ++pos_;
            return "(" + inner + ")";
        }
        if (c == '[') return class_expression(parse_class());
        if (c == '.') {
            ++pos_;
            return gbnf_class(raw_json_chars());
        }
        if (c == '^') unsupported("'^' is supported only at the start");
        if (c == '*' || c == '+' || c == '?' || c == '{') unsupported("a quantifier with nothing to repeat");
        if (c == '\\') {
            ++pos_;
            bool is_class = false;
            const Ranges r = parse_escape(is_class);
            if (!is_class && (r[0].first == '1' || (r[0].first >= '1' && r[0].first <= '9'))) unsupported("backreferences");
            return is_class ? class_expression(r) : literal(r[0].first);
        }
        return literal(next_code_point());
    }

    // A class as characters of a JSON string: its raw characters, plus ", \ and the escaped
    // controls (\n \t \r) when the class holds them.
    std::string class_expression(const Ranges &r) {
        const Ranges raw = intersect(r, raw_json_chars());
        std::vector<std::string> alts;
        if (!raw.empty()) alts.push_back(gbnf_class(raw));
        for (uint32_t special : {uint32_t('"'), uint32_t('\\'), uint32_t('\n'), uint32_t('\t'), uint32_t('\r')})
            if (!intersect(r, {{special, special}}).empty()) alts.push_back(literal(special));
        if (alts.empty()) unsupported("a class that matches no character of a JSON string");
        std::string out = "(";
        for (size_t i = 0; i < alts.size(); ++i) out += (i ? " | " : "") + alts[i];
        return out + ")";
    }

    Ranges parse_class() {
        ++pos_;  // '['
        bool negated = false;
        if (more() && peek() == '^') {
            negated = true;
            ++pos_;
        }
        Ranges r;
        bool first = true;
        for (;;) {
            if (!more()) unsupported("unterminated '['");
            if (peek() == ']' && !first) {
                ++pos_;
                break;
            }
            first = false;
            uint32_t lo;
            if (peek() == '\\') {
                ++pos_;
                bool is_class = false;
                const Ranges e = parse_escape(is_class);
                if (is_class) {
                    r.insert(r.end(), e.begin(), e.end());
                    continue;
                }
                lo = e[0].first;
            } else {
                lo = next_code_point();
            }
            uint32_t hi = lo;
            if (pos_ + 1 < re_.size() && peek() == '-' && re_[pos_ + 1] != ']') {
                ++pos_;
                if (peek() == '\\') {
                    ++pos_;
                    bool is_class = false;
                    const Ranges e = parse_escape(is_class);
                    if (is_class) unsupported("a range ending in a class");
                    hi = e[0].first;
                } else {
                    hi = next_code_point();
                }
                if (hi < lo) unsupported("a range with its end before its start");
            }
            r.emplace_back(lo, hi);
        }
        r = normalize(r);
        return negated ? complement(r) : r;
    }

    std::string_view re_;
    std::string_view pointer_;
    size_t pos_ = 0;
};

}  // namespace

std::string regex_to_grammar(std::string_view pattern, std::string_view json_pointer) {
    return RegexConverter(pattern, json_pointer).convert();
}

}  // namespace ember::sampling
