// C ABI: chat templates.
#include <string>
#include <vector>

#include "api/api_guard.h"
#include "api/api_params.h"
#include "api/handles.h"
#include "chat/chat_template.h"

using namespace ember;

extern "C" {

EMBER_API ember_status ember_chat_apply_template(const ember_model *model, const char *template_name,
                                                 const ember_chat_message *messages, size_t n_messages,
                                                 bool add_assistant, char *buf, size_t buf_size, size_t *needed) {
    std::string text;
    const ember_status st = api::guarded([&] {
        if (n_messages && !messages) fail(EMBER_ERR_INVALID_ARGUMENT, "messages is NULL");
        std::vector<chat::ChatMessage> msgs;
        for (size_t i = 0; i < n_messages; ++i) {
            if (!messages[i].role || !messages[i].content)
                fail(EMBER_ERR_INVALID_ARGUMENT, "message " + std::to_string(i) + " has a NULL role or content");
            msgs.push_back({messages[i].role, messages[i].content});
        }
        const std::string source = model && model->has_chat_template ? model->chat_template : "";
        const std::string name = chat::resolve_chat_template(template_name ? template_name : "", source);
        text = chat::apply_chat_template(name, msgs, add_assistant);
    });
    return st == EMBER_OK ? api::copy_out(text, buf, buf_size, needed) : st;
}

EMBER_API size_t ember_chat_template_count(void) { return chat::builtin_chat_templates().size(); }

EMBER_API const char *ember_chat_template_name(size_t index) {
    const auto &names = chat::builtin_chat_templates();
    return index < names.size() ? names[index].c_str() : nullptr;
}

}  // extern "C"
