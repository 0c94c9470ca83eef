// The two shapes most chat templates share, so a template can be written as one row of strings
// instead of a loop. Templates with quirks (system text merged into a user turn, a reply cue
// after each user turn, lazily opened [INST] blocks) are written by hand from the helpers here.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "chat/chat_template.h"

namespace ember::chat {

// What a formatter reads: the messages, whether to open the assistant's reply, and the
// template's name for error messages.
struct Conversation {
    const std::vector<ChatMessage> &messages;
    bool add_assistant_prompt;
    std::string_view template_name;
};

// Whether message contents are stripped of surrounding whitespace (some templates do,
// following their Jinja source's `| trim`).
enum class Trim { no, yes };

// Every message is  before + content + after, where "{role}" in `before` is replaced by the
// message's role as given. Any role is accepted, which is what these templates do.
struct TaggedStyle {
    std::string_view prefix;      // once, before the first message (e.g. "[gMASK]sop")
    std::string_view before;      // e.g. "<|im_start|>{role}\n"
    std::string_view after;       // e.g. "<|im_end|>\n"
    std::string_view generation;  // opens the assistant's reply, e.g. "<|im_start|>assistant\n"
    Trim trim = Trim::no;
};

// The text around one message's content.
struct Wrap {
    std::string_view before, after;
};

// Every role has its own fixed wrapping (e.g. "USER: " ... "\n"). Only system, user and
// assistant exist; other roles are an error rather than silently dropped.
struct RoleStyle {
    std::string_view prefix;  // once, before the first message
    Wrap system, user, assistant;
    std::string_view generation;  // opens the assistant's reply
    Trim trim = Trim::no;
};

std::string render(const Conversation &conversation, const TaggedStyle &style);
std::string render(const Conversation &conversation, const RoleStyle &style);

// `text` without leading and trailing ASCII whitespace.
std::string_view trim_whitespace(std::string_view text);

// Appends `pattern` with every "{role}" replaced by `role`.
void append_with_role(std::string &out, std::string_view pattern, std::string_view role);

// EMBER_ERR_INVALID_ARGUMENT: `template_name` has no markup for `role`.
[[noreturn]] void fail_unknown_role(std::string_view template_name, std::string_view role);

// `messages` with a system message holding `system_text` in front, unless the first message
// already is one: for templates that always begin with a system turn.
std::vector<ChatMessage> with_default_system(const std::vector<ChatMessage> &messages,
                                             std::string_view system_text);

}  // namespace ember::chat
