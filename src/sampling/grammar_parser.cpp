#include "sampling/grammar_parser.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "core/error.h"

namespace ember::sampling {

bool CharClass::intersects(uint32_t lo, uint32_t hi) const {
    if (!negated) {
        for (const auto &[a, b] : ranges)
            if (a <= hi && b >= lo) return true;
        return false;
    }
    // Negated: some code point of [lo, hi] lies outside every range. Walk up from lo, jumping
    // past each range that covers the current point.
    uint32_t cp = lo;
    for (bool moved = true; moved;) {
        moved = false;
        for (const auto &[a, b] : ranges)
            if (cp >= a && cp <= b) {
                if (b >= hi) return false;
                cp = b + 1;
                moved = true;
            }
    }
    return cp <= hi;
}

namespace {

constexpr uint32_t kMaxCodePoint = 0x10FFFF;

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

class Parser {
public:
    Parser(std::string_view text, const GrammarLimits &limits) : src_(text), limits_(limits) {}

    std::shared_ptr<const Grammar> parse(std::string_view root_rule) {
        if (src_.size() > limits_.max_text)
            error_at(0, "the grammar is " + std::to_string(src_.size()) + " bytes, more than the limit of " +
                            std::to_string(limits_.max_text));
        skip_space(true);
        while (pos_ < src_.size()) {
            parse_rule();
            skip_space(true);
        }
        return finish(root_rule);
    }

private:
    struct RuleInfo {
        bool defined = false;
        size_t defined_at = 0;     // where its definition (or its group) begins
        size_t referenced_at = 0;  // first use, for "undefined rule" errors
    };

    [[noreturn]] void error_at(size_t at, const std::string &message) const {
        size_t line = 1, column = 1;
        for (size_t i = 0; i < at && i < src_.size(); ++i) {
            if (src_[i] == '\n') {
                ++line;
                column = 1;
            } else if ((static_cast<unsigned char>(src_[i]) & 0xC0) != 0x80) {
                ++column;  // columns count characters, not bytes
            }
        }
        fail(EMBER_ERR_INVALID_ARGUMENT,
             "grammar: line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + message);
    }

    bool at_end() const { return pos_ >= src_.size(); }
    char peek(size_t ahead = 0) const { return pos_ + ahead < src_.size() ? src_[pos_ + ahead] : '\0'; }

    // Spaces, tabs and comments; newlines too when `newlines` (inside a group, after `|`).
    void skip_space(bool newlines) {
        while (!at_end()) {
            const char c = peek();
            if (c == ' ' || c == '\t' || c == '\r') {
                ++pos_;
            } else if (c == '#') {
                while (!at_end() && peek() != '\n') ++pos_;
            } else if (c == '\n' && newlines) {
                ++pos_;
            } else {
                break;
            }
        }
    }

    std::string parse_name() {
        const size_t start = pos_;
        while (!at_end() && is_name_char(peek())) ++pos_;
        if (pos_ == start) error_at(start, "expected a rule name");
        return std::string(src_.substr(start, pos_ - start));
    }

    uint32_t rule_index(const std::string &name, size_t at) {
        const auto it = by_name_.find(name);
        if (it != by_name_.end()) return it->second;
        const auto index = static_cast<uint32_t>(grammar_.rule_names.size());
        grammar_.rule_names.push_back(name);
        grammar_.alternatives.emplace_back();
        info_.push_back(RuleInfo{false, at, at});
        by_name_.emplace(name, index);
        return index;
    }

    uint32_t new_generated_rule(uint32_t parent, size_t at) {
        std::string name;
        do {
            name = grammar_.rule_names[parent] + "~" + std::to_string(++generated_);  // "~": no written name clashes
        } while (by_name_.count(name));
        const uint32_t r = rule_index(name, at);
        info_[r].defined = true;
        return r;
    }

    void parse_rule() {
        const size_t start = pos_;
        const std::string name = parse_name();
        const uint32_t rule = rule_index(name, start);
        if (info_[rule].defined) error_at(start, "rule '" + name + "' is defined twice");
        info_[rule].defined = true;
        info_[rule].defined_at = start;
        skip_space(false);
        if (src_.compare(pos_, 3, "::=") != 0) error_at(pos_, "expected '::=' after the rule name '" + name + "'");
        pos_ += 3;
        skip_space(true);
        parse_alternatives(rule, 0);
        skip_space(false);
        if (!at_end() && peek() != '\n') error_at(pos_, std::string("unexpected '") + peek() + "'");
    }

    // alternatives := sequence ('|' sequence)*; each becomes an alternative of `rule`.
    void parse_alternatives(uint32_t rule, size_t depth) {
        for (;;) {
            std::vector<GrammarElement> seq;
            parse_sequence(rule, depth, seq);
            add_alternative(rule, seq);
            skip_space(depth > 0);
            if (depth == 0) {  // a rule may also continue on a line that begins with '|'
                const size_t save = pos_;
                skip_space(true);
                if (peek() != '|') pos_ = save;
            }
            if (peek() != '|') break;
            ++pos_;
            skip_space(true);
        }
    }

    void add_alternative(uint32_t rule, const std::vector<GrammarElement> &seq) {
        grow(seq.size() + 1);
        grammar_.alternatives[rule].push_back(static_cast<uint32_t>(grammar_.elements.size()));
        grammar_.elements.insert(grammar_.elements.end(), seq.begin(), seq.end());
        grammar_.elements.push_back(GrammarElement{GrammarElement::End, 0});
    }

    void grow(size_t n) {
        element_budget_ += n;
        if (element_budget_ > limits_.max_elements)
            error_at(pos_, "the grammar expands to more than " + std::to_string(limits_.max_elements) +
                               " elements (repetitions counted out)");
    }

    void parse_sequence(uint32_t rule, size_t depth, std::vector<GrammarElement> &seq) {
        size_t last_symbol = seq.size();  // where the last symbol's elements begin
        bool have_symbol = false;
        for (;;) {
            skip_space(depth > 0);
            if (at_end()) return;
            const char c = peek();
            const size_t start = pos_;
            if (c == '"') {
                last_symbol = seq.size();
                parse_literal(seq);
                have_symbol = true;
            } else if (c == '[') {
                last_symbol = seq.size();
                seq.push_back(chars(parse_class()));
                have_symbol = true;
            } else if (c == '.') {
                ++pos_;
                last_symbol = seq.size();
                CharClass any;
                any.negated = true;
                seq.push_back(chars(any));
                have_symbol = true;
            } else if (c == '(') {
                if (depth + 1 > limits_.max_nesting)
                    error_at(pos_, "groups nested more than " + std::to_string(limits_.max_nesting) + " deep");
                ++pos_;
                skip_space(true);
                const uint32_t group = new_generated_rule(rule, start);
                parse_alternatives(group, depth + 1);
                skip_space(true);
                if (peek() != ')') error_at(start, "this '(' is never closed");
                ++pos_;
                last_symbol = seq.size();
                seq.push_back(GrammarElement{GrammarElement::Rule, group});
                have_symbol = true;
            } else if (is_name_char(c)) {
                // A name followed by ::= starts the next rule: this sequence ended at a newline.
                const size_t save = pos_;
                const std::string name = parse_name();
                size_t look = pos_;
                while (look < src_.size() && (src_[look] == ' ' || src_[look] == '\t')) ++look;
                if (src_.compare(look, 3, "::=") == 0) error_at(save, "expected a newline before rule '" + name + "'");
                last_symbol = seq.size();
                seq.push_back(GrammarElement{GrammarElement::Rule, rule_index(name, save)});
                have_symbol = true;
            } else if (c == '*' || c == '+' || c == '?' || c == '{') {
                if (!have_symbol) error_at(pos_, std::string("'") + c + "' has nothing to repeat");
                uint32_t min = 0, max = 0;
                bool unbounded = false;
                parse_repetition(min, max, unbounded);
                repeat(rule, start, seq, last_symbol, min, max, unbounded);
                have_symbol = false;  // x** is an error, as in llama.cpp
            } else if (c == '|' || c == ')' || c == '\n') {
                return;
            } else {
                error_at(pos_, std::string("unexpected '") + c + "'");
            }
        }
    }

    void parse_repetition(uint32_t &min, uint32_t &max, bool &unbounded) {
        const char c = peek();
        ++pos_;
        if (c == '*') { min = 0; unbounded = true; return; }
        if (c == '+') { min = 1; unbounded = true; return; }
        if (c == '?') { min = 0; max = 1; return; }
        skip_space(false);
        min = parse_count();
        skip_space(false);
        if (peek() == '}') {
            ++pos_;
            max = min;
            return;
        }
        if (peek() != ',') error_at(pos_, "expected ',' or '}' in a repetition");
        ++pos_;
        skip_space(false);
        if (peek() == '}') {
            ++pos_;
            unbounded = true;
            return;
        }
        const size_t at = pos_;
        max = parse_count();
        skip_space(false);
        if (peek() != '}') error_at(pos_, "expected '}' to end the repetition");
        ++pos_;
        if (max < min) error_at(at, "repetition {m,n} with n < m");
    }

    uint32_t parse_count() {
        const size_t start = pos_;
        uint64_t v = 0;
        while (!at_end() && peek() >= '0' && peek() <= '9') {
            v = v * 10 + static_cast<uint64_t>(peek() - '0');
            if (v > limits_.max_repetition)
                error_at(start, "repetition count above the limit of " + std::to_string(limits_.max_repetition));
            ++pos_;
        }
        if (pos_ == start) error_at(start, "expected a number in the repetition");
        return static_cast<uint32_t>(v);
    }

    // seq[from..] repeated min..max times (max ignored when unbounded), as generated rules:
    // x{2,4} = x x opt2 with opt2 ::= x opt1 | "", opt1 ::= x | ""; x{1,} = x star with
    // star ::= x star | "".
    void repeat(uint32_t rule, size_t at, std::vector<GrammarElement> &seq, size_t from, uint32_t min,
                uint32_t max, bool unbounded) {
        const std::vector<GrammarElement> symbol(seq.begin() + static_cast<std::ptrdiff_t>(from), seq.end());
        seq.resize(from);
        const size_t optional = unbounded ? 1 : max - min;
        grow(symbol.size() * (static_cast<size_t>(min) + optional) + 3 * optional);
        for (uint32_t i = 0; i < min; ++i) seq.insert(seq.end(), symbol.begin(), symbol.end());
        if (unbounded) {
            const uint32_t star = new_generated_rule(rule, at);
            std::vector<GrammarElement> body = symbol;
            body.push_back(GrammarElement{GrammarElement::Rule, star});
            add_alternative(star, body);
            add_alternative(star, {});
            seq.push_back(GrammarElement{GrammarElement::Rule, star});
            return;
        }
        if (optional == 0) return;
        uint32_t inner = 0;
        for (size_t k = 1; k <= optional; ++k) {
            const uint32_t opt = new_generated_rule(rule, at);
            std::vector<GrammarElement> body = symbol;
            if (k > 1) body.push_back(GrammarElement{GrammarElement::Rule, inner});
            add_alternative(opt, body);
            add_alternative(opt, {});
            inner = opt;
        }
        seq.push_back(GrammarElement{GrammarElement::Rule, inner});
    }

    GrammarElement chars(const CharClass &cls) {
        const auto key = std::make_pair(cls.negated, cls.ranges);
        const auto it = class_index_.find(key);
        if (it != class_index_.end()) return GrammarElement{GrammarElement::Chars, it->second};
        const auto index = static_cast<uint32_t>(grammar_.classes.size());
        grammar_.classes.push_back(cls);
        class_index_.emplace(key, index);
        return GrammarElement{GrammarElement::Chars, index};
    }

    void parse_literal(std::vector<GrammarElement> &seq) {
        const size_t start = pos_;
        ++pos_;  // the opening quote
        std::vector<GrammarElement> chars_of_literal;
        for (;;) {
            if (at_end() || peek() == '\n') error_at(start, "unterminated string literal");
            if (peek() == '"') {
                ++pos_;
                break;
            }
            const uint32_t cp = parse_char();
            CharClass one;
            one.ranges.emplace_back(cp, cp);
            chars_of_literal.push_back(chars(one));
        }
        seq.insert(seq.end(), chars_of_literal.begin(), chars_of_literal.end());
    }

    CharClass parse_class() {
        const size_t start = pos_;
        ++pos_;  // '['
        CharClass cls;
        if (peek() == '^') {
            cls.negated = true;
            ++pos_;
        }
        for (;;) {
            if (at_end() || peek() == '\n') error_at(start, "unterminated character class");
            if (peek() == ']') {
                ++pos_;
                break;
            }
            const size_t at = pos_;
            const uint32_t lo = parse_char();
            uint32_t hi = lo;
            if (peek() == '-' && peek(1) != ']' && pos_ + 1 < src_.size()) {
                ++pos_;
                hi = parse_char();
                if (hi < lo) error_at(at, "character range with its end before its start");
            }
            cls.ranges.emplace_back(lo, hi);
        }
        if (cls.ranges.empty() && !cls.negated) error_at(start, "an empty character class matches nothing");
        std::sort(cls.ranges.begin(), cls.ranges.end());
        return cls;
    }

    // One character of a literal or class: an escape or a UTF-8 encoded code point.
    uint32_t parse_char() {
        const size_t start = pos_;
        const auto byte = static_cast<unsigned char>(peek());
        if (byte == '\\') {
            ++pos_;
            if (at_end()) error_at(start, "escape at the end of the grammar");
            const char e = peek();
            ++pos_;
            switch (e) {
                case 'n': return '\n';
                case 'r': return '\r';
                case 't': return '\t';
                case '0': return 0;
                case '\\': case '"': case '[': case ']': case '-': case '^': case '/': case '\'': case '.':
                    return static_cast<unsigned char>(e);
                case 'x': return parse_hex(start, 2);
                case 'u': return parse_hex(start, 4);
                case 'U': return parse_hex(start, 8);
                default: error_at(start, std::string("unknown escape '\\") + e + "'");
            }
        }
        if (byte < 0x80) {
            ++pos_;
            return byte;
        }
        int extra = 0;
        uint32_t cp = 0;
        if ((byte & 0xE0) == 0xC0 && byte >= 0xC2) { extra = 1; cp = byte & 0x1Fu; }
        else if ((byte & 0xF0) == 0xE0) { extra = 2; cp = byte & 0x0Fu; }
        else if ((byte & 0xF8) == 0xF0 && byte <= 0xF4) { extra = 3; cp = byte & 0x07u; }
        else error_at(start, "invalid UTF-8 in the grammar");
        ++pos_;
        for (int i = 0; i < extra; ++i) {
            const auto b = static_cast<unsigned char>(peek());
            if (at_end() || (b & 0xC0) != 0x80) error_at(start, "invalid UTF-8 in the grammar");
            cp = (cp << 6) | (b & 0x3Fu);
            ++pos_;
        }
        if (cp > kMaxCodePoint || (cp >= 0xD800 && cp <= 0xDFFF) || (extra == 2 && cp < 0x800) ||
            (extra == 3 && cp < 0x10000))
            error_at(start, "invalid UTF-8 in the grammar");
        return cp;
    }

    uint32_t parse_hex(size_t start, int digits) {
        uint32_t v = 0;
        for (int i = 0; i < digits; ++i) {
            const char c = peek();
            int d = -1;
            if (c >= '0' && c <= '9') d = c - '0';
            else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
            else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
            if (d < 0) error_at(start, "expected " + std::to_string(digits) + " hex digits in the escape");
            v = v * 16 + static_cast<uint32_t>(d);
            ++pos_;
        }
        if (v > kMaxCodePoint) error_at(start, "code point above U+10FFFF");
        return v;
    }

    std::shared_ptr<const Grammar> finish(std::string_view root_rule) {
        const size_t n = grammar_.rule_names.size();
        for (size_t r = 0; r < n; ++r)
            if (!info_[r].defined) error_at(info_[r].referenced_at, "undefined rule '" + grammar_.rule_names[r] + "'");
        const auto root = by_name_.find(std::string(root_rule));
        if (root == by_name_.end())
            fail(EMBER_ERR_INVALID_ARGUMENT, "grammar: no rule named '" + std::string(root_rule) + "' (the start rule)");
        grammar_.root = root->second;
        check_finishes();
        check_left_recursion();
        return std::make_shared<const Grammar>(std::move(grammar_));
    }

    // A rule that can never finish (every alternative needs the rule itself again) would
    // leave the matcher with no way to complete.
    void check_finishes() {
        const size_t n = grammar_.rule_names.size();
        std::vector<bool> finishes(n, false);
        for (bool changed = true; changed;) {
            changed = false;
            for (size_t r = 0; r < n; ++r) {
                if (finishes[r]) continue;
                for (uint32_t alt : grammar_.alternatives[r]) {
                    bool ok = true;
                    for (uint32_t i = alt; grammar_.elements[i].kind != GrammarElement::End; ++i)
                        if (grammar_.elements[i].kind == GrammarElement::Rule && !finishes[grammar_.elements[i].index]) {
                            ok = false;
                            break;
                        }
                    if (ok) {
                        finishes[r] = changed = true;
                        break;
                    }
                }
            }
        }
        for (size_t r = 0; r < n; ++r)
            if (!finishes[r])
                error_at(info_[r].defined_at, "rule '" + grammar_.rule_names[r] +
                                                  "' can never finish: every alternative needs the rule again");
    }

    // Left recursion: a rule reaching itself through the leftmost symbols of its alternatives,
    // where everything before a reference can match the empty string.
    void check_left_recursion() {
        const size_t n = grammar_.rule_names.size();
        std::vector<bool> nullable(n, false);
        for (bool changed = true; changed;) {
            changed = false;
            for (size_t r = 0; r < n; ++r) {
                if (nullable[r]) continue;
                for (uint32_t alt : grammar_.alternatives[r]) {
                    bool all = true;
                    for (uint32_t i = alt; grammar_.elements[i].kind != GrammarElement::End; ++i) {
                        const GrammarElement &e = grammar_.elements[i];
                        if (e.kind == GrammarElement::Chars || !nullable[e.index]) {
                            all = false;
                            break;
                        }
                    }
                    if (all) {
                        nullable[r] = changed = true;
                        break;
                    }
                }
            }
        }
        std::vector<std::vector<uint32_t>> leftmost(n);
        for (size_t r = 0; r < n; ++r)
            for (uint32_t alt : grammar_.alternatives[r])
                for (uint32_t i = alt; grammar_.elements[i].kind != GrammarElement::End; ++i) {
                    const GrammarElement &e = grammar_.elements[i];
                    if (e.kind == GrammarElement::Chars) break;
                    leftmost[r].push_back(e.index);
                    if (!nullable[e.index]) break;
                }
        // Iterative depth-first search; a back edge is a cycle.
        enum : uint8_t { Unseen, Open, Done };
        std::vector<uint8_t> color(n, Unseen);
        std::vector<std::pair<uint32_t, size_t>> stack;
        for (size_t start = 0; start < n; ++start) {
            if (color[start] != Unseen) continue;
            stack.emplace_back(static_cast<uint32_t>(start), 0);
            color[start] = Open;
            while (!stack.empty()) {
                auto &[r, next] = stack.back();
                if (next == leftmost[r].size()) {
                    color[r] = Done;
                    stack.pop_back();
                    continue;
                }
                const uint32_t to = leftmost[r][next++];
                if (color[to] == Open)
                    error_at(info_[to].defined_at,
                             "rule '" + grammar_.rule_names[to] +
                                 "' is left-recursive: it can reach itself without matching a character"
                                 " (a repetition of something that can match nothing does this too)");
                if (color[to] == Unseen) {
                    color[to] = Open;
                    stack.emplace_back(to, 0);
                }
            }
        }
    }

    std::string_view src_;
    GrammarLimits limits_;
    size_t pos_ = 0;
    Grammar grammar_;
    std::vector<RuleInfo> info_;
    std::unordered_map<std::string, uint32_t> by_name_;
    std::map<std::pair<bool, std::vector<std::pair<uint32_t, uint32_t>>>, uint32_t> class_index_;
    size_t element_budget_ = 0;
    size_t generated_ = 0;
};

}  // namespace

std::shared_ptr<const Grammar> parse_grammar(std::string_view text, std::string_view root_rule,
                                             const GrammarLimits &limits) {
    return Parser(text, limits).parse(root_rule);
}

}  // namespace ember::sampling
