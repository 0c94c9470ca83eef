// Chat templates: the conversation (system / user / assistant messages) rendered as the prompt
// text a model was fine-tuned on. Ember does not run Jinja; it knows the common templates as
// built-in formatters (the names llama.cpp uses) and recognises a model's
// `tokenizer.chat_template` Jinja source as one of them by its distinctive markers.
//
// Everything here is pure and thread-safe; errors are thrown as ember::Error.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ember::chat {

struct ChatMessage {
    std::string role;     // "system", "user", "assistant"; some templates accept any role
    std::string content;
};

// Formats `messages` with the built-in template `template_name` (e.g. "chatml", "llama3").
// add_assistant_prompt: end with the header that opens the assistant's reply, so the model
// continues as the assistant; false renders the conversation alone (no trailing header).
// Errors: EMBER_ERR_INVALID_ARGUMENT for an unknown template name, or for a role the
// template has no markup for (e.g. "tool" in "vicuna").
std::string apply_chat_template(std::string_view template_name,
                                const std::vector<ChatMessage> &messages,
                                bool add_assistant_prompt);

// The name of the built-in template that a Jinja chat template source renders like, or ""
// when none is recognised.
std::string detect_chat_template(std::string_view jinja_source);

// The template to use for a model: `override_name` when not empty (it must be a built-in:
// EMBER_ERR_INVALID_ARGUMENT otherwise), else the template detected in `jinja_source` (the
// model's tokenizer.chat_template). A model without a template gets "chatml", as llama.cpp
// does; a template that is not recognised is EMBER_ERR_UNSUPPORTED, since guessing would
// silently feed the model a format it was not trained on.
std::string resolve_chat_template(std::string_view override_name, std::string_view jinja_source);

// The built-in template names, sorted.
const std::vector<std::string> &builtin_chat_templates();

bool is_builtin_chat_template(std::string_view name);

}  // namespace ember::chat
