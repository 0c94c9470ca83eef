// A chat kept in a session's KV cache: each turn decodes only what the template adds since
// the last turn, and when the context fills, the oldest turns (never the system prompt) are
// dropped and the rest is decoded again.
#pragma once

#include <string>
#include <vector>

#include "ember/ember.h"

namespace chat {

struct Message {
    std::string role, content;
};

struct TurnResult {
    std::string reply;
    ember_generate_result stats{};
    bool interrupted = false;
    bool context_full = false;  // the context filled up during the reply: it is cut short
};

class Conversation {
public:
    // template_name empty: the model's own (chatml when it has none); plain: no template.
    Conversation(ember_model *model, ember_session *session, std::string template_name, bool plain,
                 std::string system_prompt);

    // Adds the user's message and generates the reply, streaming pieces to stdout.
    // max_tokens < 0: until the model ends its turn. `stop_flag` is polled per piece.
    TurnResult reply(const std::string &user_text, ember_sampler *sampler, int32_t max_tokens,
                     volatile const int *stop_flag);
    void reset();
    const std::string &template_name() const { return template_name_; }

private:
    std::string render(bool add_assistant) const;
    // Decodes the whole conversation again after dropping the oldest turn; false when only
    // the system prompt and the last message are left.
    bool drop_oldest_turn();
    ember_status generate(const std::string &prompt, ember_sampler *sampler, int32_t max_tokens,
                          volatile const int *stop_flag, TurnResult &out);

    ember_model *model_;
    ember_session *session_;
    std::string template_name_;
    bool plain_;
    std::vector<Message> messages_;
    std::string rendered_;  // what the KV cache holds, as text
};

}  // namespace chat
