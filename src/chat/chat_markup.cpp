#include "chat/chat_markup.h"

#include "core/error.h"

namespace ember::chat {

std::string_view trim_whitespace(std::string_view text) {
    constexpr std::string_view kSpace = " \t\n\r\f\v";
    const size_t first = text.find_first_not_of(kSpace);
    if (first == std::string_view::npos) return {};
    const size_t last = text.find_last_not_of(kSpace);
    return text.substr(first, last - first + 1);
}

void append_with_role(std::string &out, std::string_view pattern, std::string_view role) {
    constexpr std::string_view kPlaceholder = "{role}";
    for (;;) {
        const size_t at = pattern.find(kPlaceholder);
        if (at == std::string_view::npos) break;
        out += pattern.substr(0, at);
        out += role;
        pattern.remove_prefix(at + kPlaceholder.size());
    }
    out += pattern;
}

static std::string_view content_of(const ChatMessage &message, Trim trim) {
    return trim == Trim::yes ? trim_whitespace(message.content) : std::string_view(message.content);
}

std::string render(const Conversation &conversation, const TaggedStyle &style) {
    std::string out(style.prefix);
    for (const ChatMessage &message : conversation.messages) {
        append_with_role(out, style.before, message.role);
        out += content_of(message, style.trim);
        out += style.after;
    }
    if (conversation.add_assistant_prompt) out += style.generation;
    return out;
}

void fail_unknown_role(std::string_view template_name, std::string_view role) {
    fail(EMBER_ERR_INVALID_ARGUMENT,
         "chat template '" + std::string(template_name) + "' has no markup for role '" +
             std::string(role) + "' (it knows system, user and assistant)");
}

static const Wrap &wrap_for_role(const RoleStyle &style, std::string_view role,
                                 std::string_view template_name) {
    if (role == "system") return style.system;
    if (role == "user") return style.user;
    if (role == "assistant") return style.assistant;
    fail_unknown_role(template_name, role);
}

std::string render(const Conversation &conversation, const RoleStyle &style) {
    std::string out(style.prefix);
    for (const ChatMessage &message : conversation.messages) {
        const Wrap &wrap = wrap_for_role(style, message.role, conversation.template_name);
        out += wrap.before;
        out += content_of(message, style.trim);
        out += wrap.after;
    }
    if (conversation.add_assistant_prompt) out += style.generation;
    return out;
}

std::vector<ChatMessage> with_default_system(const std::vector<ChatMessage> &messages,
                                             std::string_view system_text) {
    if (!messages.empty() && messages.front().role == "system") return messages;
    std::vector<ChatMessage> out;
    out.reserve(messages.size() + 1);
    out.push_back({"system", std::string(system_text)});
    out.insert(out.end(), messages.begin(), messages.end());
    return out;
}

}  // namespace ember::chat
