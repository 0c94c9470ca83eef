// C ABI: text <-> tokens.
#include <string>
#include <vector>

#include "api/api_guard.h"
#include "api/api_params.h"
#include "api/handles.h"

using namespace ember;

extern "C" {

EMBER_API ember_status ember_tokenize(const ember_model *model, const char *text, size_t text_len, bool add_special,
                                      bool parse_special, ember_token *tokens, int32_t max_tokens, int32_t *n_tokens) {
    std::vector<int32_t> ids;
    const ember_status st = api::guarded([&] {
        const ember_model &m = api::require_handle(model, "model");
        if (!text && text_len) fail(EMBER_ERR_INVALID_ARGUMENT, "text is NULL");
        if (max_tokens < 0 || (max_tokens > 0 && !tokens)) fail(EMBER_ERR_INVALID_ARGUMENT, "no room for tokens");
        ids = m.vocab->tokenize(std::string_view(text ? text : "", text_len), add_special, parse_special);
        if (ids.size() > static_cast<size_t>(INT32_MAX)) fail(EMBER_ERR_INVALID_ARGUMENT, "text gives too many tokens");
    });
    if (st != EMBER_OK) return st;
    if (n_tokens) *n_tokens = static_cast<int32_t>(ids.size());
    if (ids.size() > static_cast<size_t>(max_tokens)) {
        api::set_last_error("room for " + std::to_string(max_tokens) + " tokens, the text needs " + std::to_string(ids.size()));
        return EMBER_ERR_BUFFER_TOO_SMALL;
    }
    std::copy(ids.begin(), ids.end(), tokens);
    return EMBER_OK;
}

EMBER_API ember_status ember_token_to_piece(const ember_model *model, ember_token token, bool render_special, char *buf,
                                            size_t buf_size, size_t *needed) {
    std::string piece;
    const ember_status st = api::guarded([&] { piece = api::require_handle(model, "model").vocab->token_to_piece(token, render_special); });
    return st == EMBER_OK ? api::copy_out(piece, buf, buf_size, needed) : st;
}

EMBER_API ember_status ember_detokenize(const ember_model *model, const ember_token *tokens, int32_t n_tokens,
                                        bool render_special, char *buf, size_t buf_size, size_t *needed) {
    std::string text;
    const ember_status st = api::guarded([&] {
        const ember_model &m = api::require_handle(model, "model");
        if (n_tokens < 0 || (n_tokens > 0 && !tokens)) fail(EMBER_ERR_INVALID_ARGUMENT, "tokens is NULL or n_tokens < 0");
        tokenizer::DetokenizeOptions options;
        options.render_special = render_special;
        text = m.vocab->detokenize(tokens, static_cast<size_t>(n_tokens), options);
    });
    return st == EMBER_OK ? api::copy_out(text, buf, buf_size, needed) : st;
}

EMBER_API ember_token ember_token_bos(const ember_model *model) { return model ? model->vocab->bos() : -1; }
EMBER_API ember_token ember_token_eos(const ember_model *model) { return model ? model->vocab->eos() : -1; }
EMBER_API ember_token ember_token_eot(const ember_model *model) { return model ? model->vocab->eot() : -1; }
EMBER_API bool ember_token_is_eog(const ember_model *model, ember_token token) {
    return model && token >= 0 && token < model->vocab->n_tokens() && model->vocab->is_eog(token);
}

}  // extern "C"
