// C ABI: grammar stages (GBNF and JSON Schema) and the schema -> GBNF conversion.
#include <string>

#include "api/api_guard.h"
#include "api/api_params.h"
#include "api/handles.h"
#include "sampling/grammar_parser.h"
#include "sampling/grammar_sampler.h"
#include "sampling/json_schema_to_grammar.h"

using namespace ember;

namespace {

std::shared_ptr<const sampling::GrammarTokens> tokens_of(const ember_model &m) {
    std::call_once(m.grammar_tokens_once, [&] { m.grammar_tokens = sampling::GrammarTokens::from_vocab(*m.vocab); });
    if (!m.grammar_tokens) fail(EMBER_ERR_INTERNAL, "the grammar's view of the vocabulary was not built");
    return m.grammar_tokens;
}

void add_grammar_stage(ember_sampler *chain, const ember_model *model, const std::string &gbnf, const char *root) {
    ember_sampler &s = api::require_handle(chain, "sampler");
    const ember_model &m = api::require_handle(model, "model");
    auto grammar = sampling::parse_grammar(gbnf, root ? root : "root");
    s.chain.add(sampling::make_grammar(std::move(grammar), tokens_of(m)));
}

}  // namespace

extern "C" {

EMBER_API ember_status ember_sampler_add_grammar(ember_sampler *chain, const ember_model *model, const char *gbnf,
                                                 const char *root_rule) {
    return api::guarded([&] {
        if (!gbnf) fail(EMBER_ERR_INVALID_ARGUMENT, "gbnf is NULL");
        add_grammar_stage(chain, model, gbnf, root_rule);
    });
}

EMBER_API ember_status ember_sampler_add_json_schema(ember_sampler *chain, const ember_model *model,
                                                     const char *schema_json) {
    return api::guarded([&] {
        if (!schema_json) fail(EMBER_ERR_INVALID_ARGUMENT, "schema_json is NULL");
        add_grammar_stage(chain, model, sampling::json_schema_to_grammar(schema_json), "root");
    });
}

EMBER_API ember_status ember_json_schema_to_grammar(const char *schema_json, char *buf, size_t buf_size,
                                                    size_t *needed) {
    std::string gbnf;
    const ember_status st = api::guarded([&] {
        if (!schema_json) fail(EMBER_ERR_INVALID_ARGUMENT, "schema_json is NULL");
        gbnf = sampling::json_schema_to_grammar(schema_json);
        sampling::parse_grammar(gbnf, "root");  // what the converter writes must always parse
    });
    return st == EMBER_OK ? api::copy_out(gbnf, buf, buf_size, needed) : st;
}

EMBER_API ember_status ember_sampler_is_complete(const ember_sampler *sampler, bool *complete) {
    return api::guarded([&] {
        const ember_sampler &s = api::require_handle(sampler, "sampler");
        if (!complete) fail(EMBER_ERR_INVALID_ARGUMENT, "complete is NULL");
        *complete = s.chain.satisfied();
    });
}

}  // extern "C"
