// Fuzzes the grammar front ends. The input is GBNF text, optionally followed by a NUL byte and
// text to match: it is parsed (an ember::Error is the only allowed failure) and, when it
// parses, matched byte by byte through the matcher (errors allowed: too ambiguous). The same
// input is also read as a JSON Schema: whatever the converter accepts must produce GBNF that
// parses. Anything else (a crash, a hang, a sanitizer report, another exception) is a bug.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/error.h"
#include "sampling/grammar_matcher.h"
#include "sampling/grammar_parser.h"
#include "sampling/json_schema_to_grammar.h"

using namespace ember;
using namespace ember::sampling;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string_view input(reinterpret_cast<const char *>(data), size);
    const size_t nul = input.find('\0');
    const std::string_view gbnf = input.substr(0, nul);
    const std::string_view text = nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);
    try {
        // Small limits keep each run fast; the checks are the same at any size.
        GrammarLimits limits;
        limits.max_elements = 1u << 16;
        limits.max_repetition = 1000;
        GrammarMatcher matcher(parse_grammar(gbnf, "root", limits), MatcherLimits{64, 20000});
        MatchState state = matcher.initial();
        MatchState next;
        for (char c : text) {
            if (!matcher.advance(state, static_cast<uint8_t>(c), next)) break;
            std::swap(state, next);
            (void)matcher.viable(state);
            (void)GrammarMatcher::complete(state);
        }
    } catch (const Error &) {
    }
    std::string converted;
    try {
        converted = json_schema_to_grammar(gbnf);
    } catch (const Error &) {
        return 0;
    }
    try {
        parse_grammar(converted);
    } catch (const Error &e) {
        (void)e;
        std::abort();  // the converter wrote GBNF that does not parse: a bug
    }
    return 0;
}
