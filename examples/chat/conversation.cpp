#include "conversation.h"

#include <cstdio>
#include <stdexcept>

namespace chat {

namespace {

struct StreamContext {
    TurnResult *out;
    volatile const int *stop_flag;
};

bool print_piece(const char *piece, size_t len, void *user_data) {
    auto *ctx = static_cast<StreamContext *>(user_data);
    ctx->out->reply.append(piece, len);
    std::fwrite(piece, 1, len, stdout);
    std::fflush(stdout);
    if (*ctx->stop_flag) {
        ctx->out->interrupted = true;
        return false;
    }
    return true;
}

[[noreturn]] void fail(ember_status st, const std::string &what) {
    throw std::runtime_error(what + ": " + (*ember_last_error() ? ember_last_error() : ember_status_string(st)));
}

}  // namespace

Conversation::Conversation(ember_model *model, ember_session *session, std::string template_name, bool plain,
                           std::string system_prompt)
    : model_(model), session_(session), template_name_(std::move(template_name)), plain_(plain) {
    if (!system_prompt.empty()) messages_.push_back({"system", std::move(system_prompt)});
    if (!plain_) render(true);  // fails early for an unknown or unsupported template
}

std::string Conversation::render(bool add_assistant) const {
    if (plain_) {
        std::string text;
        for (const Message &m : messages_) text += m.content;
        return text;
    }
    std::vector<ember_chat_message> msgs;
    for (const Message &m : messages_) msgs.push_back({m.role.c_str(), m.content.c_str()});
    const char *name = template_name_.empty() ? nullptr : template_name_.c_str();
    std::string out(1024, '\0');
    size_t needed = 0;
    ember_status st = ember_chat_apply_template(model_, name, msgs.data(), msgs.size(), add_assistant, &out[0], out.size(), &needed);
    if (st == EMBER_ERR_BUFFER_TOO_SMALL) {
        out.assign(needed + 1, '\0');
        st = ember_chat_apply_template(model_, name, msgs.data(), msgs.size(), add_assistant, &out[0], out.size(), &needed);
    }
    if (st != EMBER_OK) fail(st, "chat template");
    out.resize(needed);
    return out;
}

void Conversation::reset() {
    if (!messages_.empty() && messages_.front().role == "system") messages_.resize(1);
    else messages_.clear();
    rendered_.clear();
    ember_kv_clear(session_);
}

bool Conversation::drop_oldest_turn() {
    const size_t first = (!messages_.empty() && messages_.front().role == "system") ? 1 : 0;
    // Keep the message being answered: there must be an older one to drop.
    if (messages_.size() < first + 2) return false;
    size_t end = first + 1;  // drop the oldest message and the replies that follow it
    while (end + 1 < messages_.size() && messages_[end].role != "user") ++end;
    messages_.erase(messages_.begin() + static_cast<std::ptrdiff_t>(first), messages_.begin() + static_cast<std::ptrdiff_t>(end));
    rendered_.clear();
    ember_kv_clear(session_);
    return true;
}

ember_status Conversation::generate(const std::string &prompt, ember_sampler *sampler, int32_t max_tokens,
                                    volatile const int *stop_flag, TurnResult &out) {
    StreamContext ctx{&out, stop_flag};
    ember_generate_params p = ember_generate_default_params();
    p.max_tokens = max_tokens;
    p.add_special = true;  // BOS only when the session is empty
    p.parse_special = !plain_;
    p.sampler = sampler;
    p.callback = print_piece;
    p.user_data = &ctx;
    out.stats.struct_size = sizeof out.stats;
    return ember_generate(session_, prompt.c_str(), &p, &out.stats);
}

TurnResult Conversation::reply(const std::string &user_text, ember_sampler *sampler, int32_t max_tokens,
                               volatile const int *stop_flag) {
    messages_.push_back({"user", user_text});
    for (;;) {
        const std::string full = render(true);
        // Decode only what is new; a template that rewrites earlier text forces a full redo.
        if (full.compare(0, rendered_.size(), rendered_) != 0) {
            rendered_.clear();
            ember_kv_clear(session_);
        }
        TurnResult out;
        const ember_status st = generate(full.substr(rendered_.size()), sampler, max_tokens, stop_flag, out);
        // The prompt itself did not fit: forget the oldest turn and try again.
        const bool prompt_too_long = st == EMBER_ERR_CONTEXT_FULL ||
                                     (st == EMBER_OK && out.stats.stop_reason == EMBER_STOP_CONTEXT_FULL &&
                                      out.stats.n_generated == 0);
        if (prompt_too_long) {
            if (!drop_oldest_turn()) {
                messages_.pop_back();
                rendered_.clear();
                ember_kv_clear(session_);
                throw std::runtime_error("the message does not fit in the context (-c to enlarge it)");
            }
            std::fprintf(stderr, "\n[context full: forgot the oldest turn]\n");
            continue;
        }
        if (st != EMBER_OK) {
            messages_.pop_back();
            fail(st, "generation");
        }
        // A reply the context cut short is kept; the next turn makes room.
        out.context_full = out.stats.stop_reason == EMBER_STOP_CONTEXT_FULL;
        messages_.push_back({"assistant", out.reply});
        rendered_ = full + out.reply;
        return out;
    }
}

}  // namespace chat
