// The built-in chat templates, one small formatter per family, and the table of names (the
// names llama.cpp uses, so `--template NAME` means the same thing in both). Most families are a
// single TaggedStyle or RoleStyle row; the rest say in a comment what makes them different.
#include <algorithm>
#include <iterator>
#include <string>

#include "chat/chat_markup.h"
#include "chat/chat_template.h"
#include "core/error.h"

namespace ember::chat {
namespace {

using Formatter = std::string (*)(const Conversation &);

// Templates whose user turn already ends with the assistant's header (a "reply cue") emit it
// after every user turn that something follows; after the last one only when the caller
// asked for the assistant prompt.
bool reply_cue_due(const Conversation &c, size_t message_index) {
    return message_index + 1 < c.messages.size() || c.add_assistant_prompt;
}

// ---- Role name passed through: "<|im_start|>{role}\n" ----------------------------------------

std::string chatml(const Conversation &c) {
    return render(c, TaggedStyle{"", "<|im_start|>{role}\n", "<|im_end|>\n", "<|im_start|>assistant\n"});
}
std::string phi3(const Conversation &c) {
    return render(c, TaggedStyle{"", "<|{role}|>\n", "<|end|>\n", "<|assistant|>\n"});
}
std::string phi4(const Conversation &c) {
    return render(c, TaggedStyle{"", "<|im_start|>{role}<|im_sep|>", "<|im_end|>",
                                 "<|im_start|>assistant<|im_sep|>"});
}
std::string falcon3(const Conversation &c) {
    return render(c, TaggedStyle{"", "<|{role}|>\n", "\n", "<|assistant|>\n"});
}
std::string zephyr(const Conversation &c) {
    return render(c, TaggedStyle{"", "<|{role}|>\n", "<|endoftext|>\n", "<|assistant|>\n"});
}
std::string llama3(const Conversation &c) {
    return render(c, TaggedStyle{"", "<|start_header_id|>{role}<|end_header_id|>\n\n", "<|eot_id|>",
                                 "<|start_header_id|>assistant<|end_header_id|>\n\n", Trim::yes});
}
std::string llama4(const Conversation &c) {
    return render(c, TaggedStyle{"", "<|header_start|>{role}<|header_end|>\n\n", "<|eot|>",
                                 "<|header_start|>assistant<|header_end|>\n\n", Trim::yes});
}
std::string megrez(const Conversation &c) {
    return render(c, TaggedStyle{"", "<|role_start|>{role}<|role_end|>", "<|turn_end|>",
                                 "<|role_start|>assistant<|role_end|>"});
}
std::string seed_oss(const Conversation &c) {
    return render(c, TaggedStyle{"", "<seed:bos>{role}\n", "<seed:eos>", "<seed:bos>assistant\n"});
}
std::string solar_open(const Conversation &c) {
    return render(c, TaggedStyle{"", "<|begin|>{role}<|content|>", "<|end|>", "<|begin|>assistant"});
}
std::string exaone_moe(const Conversation &c) {
    return render(c, TaggedStyle{"", "<|{role}|>\n", "<|endofturn|>\n", "<|assistant|>\n"});
}
std::string glmedge(const Conversation &c) {
    return render(c, TaggedStyle{"", "<|{role}|>\n", "", "<|assistant|>"});
}
// ChatGLM: a fixed "[gMASK]sop" opening; GLM3 puts a space before each message's content.
std::string chatglm3(const Conversation &c) {
    return render(c, TaggedStyle{"[gMASK]sop", "<|{role}|>\n ", "", "<|assistant|>"});
}
std::string chatglm4(const Conversation &c) {
    return render(c, TaggedStyle{"[gMASK]<sop>", "<|{role}|>\n", "", "<|assistant|>\n"});
}

// Granite: role passed through, except that an assistant turn holding a tool call is
// written as an assistant turn opened by <|tool_call|>.
std::string granite(const Conversation &c) {
    std::string out;
    for (const ChatMessage &m : c.messages) {
        if (m.role == "assistant_tool_call")
            out += "<|start_of_role|>assistant<|end_of_role|><|tool_call|>";
        else
            append_with_role(out, "<|start_of_role|>{role}<|end_of_role|>", m.role);
        out += m.content;
        out += "<|end_of_text|>\n";
    }
    if (c.add_assistant_prompt) out += "<|start_of_role|>assistant<|end_of_role|>";
    return out;
}

// Monarch: chatml-like with bare role names; every turn but the first starts with "<s>"
// (the first one's BOS comes from the tokenizer).
std::string monarch(const Conversation &c) {
    std::string out;
    for (const ChatMessage &m : c.messages) {
        if (!out.empty()) out += "<s>";
        out += m.role + "\n" + m.content + "</s>\n";
    }
    if (c.add_assistant_prompt) out += c.messages.empty() ? "assistant\n" : "<s>assistant\n";
    return out;
}

// ---- Fixed markup per role --------------------------------------------------------------------

std::string vicuna(const Conversation &c) {
    return render(c, RoleStyle{"", {"", "\n\n"}, {"USER: ", "\n"}, {"ASSISTANT: ", "</s>\n"}, "ASSISTANT:"});
}
std::string vicuna_orca(const Conversation &c) {
    return render(c, RoleStyle{"", {"SYSTEM: ", "\n"}, {"USER: ", "\n"}, {"ASSISTANT: ", "</s>\n"},
                               "ASSISTANT:"});
}
std::string openchat(const Conversation &c) {
    return render(c, RoleStyle{"",
                               {"", "<|end_of_turn|>"},
                               {"GPT4 Correct User: ", "<|end_of_turn|>"},
                               {"GPT4 Correct Assistant: ", "<|end_of_turn|>"},
                               "GPT4 Correct Assistant:"});
}
std::string deepseek(const Conversation &c) {
    return render(c, RoleStyle{"",
                               {"", ""},
                               {"### Instruction:\n", "\n"},
                               {"### Response:\n", "\n<|EOT|>\n"},
                               "### Response:\n"});
}
std::string deepseek2(const Conversation &c) {
    return render(c, RoleStyle{"",
                               {"", "\n\n"},
                               {"User: ", "\n\n"},
                               {"Assistant: ", "<｜end▁of▁sentence｜>"},
                               "Assistant:"});
}
std::string deepseek3(const Conversation &c) {
    return render(c, RoleStyle{"",
                               {"", "\n\n"},
                               {"<｜User｜>", ""},
                               {"<｜Assistant｜>", "<｜end▁of▁sentence｜>"},
                               "<｜Assistant｜>"});
}
// DeepSeek-OCR: the contents run together with no markup at all.
std::string deepseek_ocr(const Conversation &c) {
    return render(c, RoleStyle{"", {"", ""}, {"", ""}, {"", ""}, ""});
}
std::string command_r(const Conversation &c) {
    return render(c, RoleStyle{"",
                               {"<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>", "<|END_OF_TURN_TOKEN|>"},
                               {"<|START_OF_TURN_TOKEN|><|USER_TOKEN|>", "<|END_OF_TURN_TOKEN|>"},
                               {"<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>", "<|END_OF_TURN_TOKEN|>"},
                               "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>",
                               Trim::yes});
}
// EXAONE 3 and 4: a user turn ends with a newline only, the others with [|endofturn|].
std::string exaone3(const Conversation &c) {
    return render(c, RoleStyle{"",
                               {"[|system|]", "[|endofturn|]\n"},
                               {"[|user|]", "\n"},
                               {"[|assistant|]", "[|endofturn|]\n"},
                               "[|assistant|]",
                               Trim::yes});
}
std::string rwkv_world(const Conversation &c) {
    return render(c, RoleStyle{"", {"System: ", "\n\n"}, {"User: ", "\n\n"}, {"Assistant: ", "\n\n"},
                               "Assistant:"});
}
std::string grok2(const Conversation &c) {
    return render(c, RoleStyle{"",
                               {"System: ", "<|separator|>\n\n"},
                               {"Human: ", "<|separator|>\n\n"},
                               {"Assistant: ", "<|separator|>\n\n"},
                               "Assistant:"});
}
std::string smolvlm(const Conversation &c) {
    return render(c, RoleStyle{"<|im_start|>",
                               {"", "\n\n"},
                               {"User: ", "<end_of_utterance>\n"},
                               {"Assistant: ", "<end_of_utterance>\n"},
                               "Assistant:"});
}
// gpt-oss (harmony format): a finished assistant turn ends with <|return|>, others with <|end|>.
std::string gpt_oss(const Conversation &c) {
    return render(c, RoleStyle{"",
                               {"<|start|>system<|message|>", "<|end|>"},
                               {"<|start|>user<|message|>", "<|end|>"},
                               {"<|start|>assistant<|message|>", "<|return|>"},
                               "<|start|>assistant"});
}
std::string kimi_k2(const Conversation &c) {
    return render(c, RoleStyle{"",
                               {"<|im_system|>system<|im_middle|>", "<|im_end|>"},
                               {"<|im_user|>user<|im_middle|>", "<|im_end|>"},
                               {"<|im_assistant|>assistant<|im_middle|>", "<|im_end|>"},
                               "<|im_assistant|>assistant<|im_middle|>"});
}
std::string gigachat(const Conversation &c) {
    // Each user turn is followed by the (empty) list of functions the assistant may call.
    return render(c, RoleStyle{"<s>",
                               {"", "<|message_sep|>"},
                               {"user<|role_sep|>",
                                "<|message_sep|>available functions<|role_sep|>[]<|message_sep|>"},
                               {"assistant<|role_sep|>", "<|message_sep|>"},
                               "assistant<|role_sep|>"});
}
// Hunyuan MoE: <|extra_0|> closes a user turn, <|extra_4|> a system turn.
std::string hunyuan_moe(const Conversation &c) {
    return render(c, RoleStyle{"",
                               {"<|startoftext|>", "<|extra_4|>"},
                               {"<|startoftext|>", "<|extra_0|>"},
                               {"", "<|eos|>"},
                               ""});
}
// Hunyuan VL: an explicit begin-of-sentence marker, and each turn closed by a marker named
// after its own role; there is no separate assistant header.
std::string hunyuan_vl(const Conversation &c) {
    return render(c, RoleStyle{"<｜hy_begin▁of▁sentence｜>",
                               {"", "<｜hy_place▁holder▁no▁3｜>"},
                               {"", "<｜hy_User｜>"},
                               {"", "<｜hy_Assistant｜>"},
                               ""});
}

const RoleStyle kBailing{"",
                         {"<role>SYSTEM</role>", ""},
                         {"<role>HUMAN</role>", ""},
                         {"<role>ASSISTANT</role>", ""},
                         "<role>ASSISTANT</role>"};
std::string bailing(const Conversation &c) { return render(c, kBailing); }
// The thinking variant opens the reply inside a <think> block.
std::string bailing_think(const Conversation &c) {
    std::string out = render(c, kBailing);
    if (c.add_assistant_prompt) out += "<think>";
    return out;
}
// Bailing 2 closes every turn and always starts with a system turn; without one from the
// caller it switches thinking off.
std::string bailing2(const Conversation &c) {
    const std::vector<ChatMessage> messages = with_default_system(c.messages, "detailed thinking off");
    return render(Conversation{messages, c.add_assistant_prompt, c.template_name},
                  RoleStyle{"",
                            {"<role>SYSTEM</role>", "<|role_end|>"},
                            {"<role>HUMAN</role>", "<|role_end|>"},
                            {"<role>ASSISTANT</role>", "<|role_end|>"},
                            "<role>ASSISTANT</role>"});
}
// Pangu Embedded always starts with a system turn, empty when the caller gave none.
std::string pangu_embedded(const Conversation &c) {
    const std::vector<ChatMessage> messages = with_default_system(c.messages, "");
    return render(Conversation{messages, c.add_assistant_prompt, c.template_name},
                  RoleStyle{"",
                            {"[unused9]系统：", "[unused10]"},
                            {"[unused9]用户：", "[unused10]"},
                            {"[unused9]助手：", "[unused10]"},
                            "[unused9]助手："});
}
// YandexGPT has no system role: a system message is left out.
std::string yandex(const Conversation &c) {
    std::vector<ChatMessage> messages;
    std::copy_if(c.messages.begin(), c.messages.end(), std::back_inserter(messages),
                 [](const ChatMessage &m) { return m.role != "system"; });
    return render(Conversation{messages, c.add_assistant_prompt, c.template_name},
                  RoleStyle{"",
                            {"", ""},
                            {" Пользователь: ", "\n\n"},
                            {" Ассистент: ", "\n\n"},
                            " Ассистент:[SEP]"});
}

// ---- Mistral v7: [SYSTEM_PROMPT] and [INST] blocks; Tekken tokenizers drop the spaces -----

std::string mistral_v7(const Conversation &c) {
    return render(c, RoleStyle{"",
                               {"[SYSTEM_PROMPT] ", "[/SYSTEM_PROMPT]"},
                               {"[INST] ", "[/INST]"},
                               {" ", "</s>"},
                               ""});
}
std::string mistral_v7_tekken(const Conversation &c) {
    return render(c, RoleStyle{"",
                               {"[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]"},
                               {"[INST]", "[/INST]"},
                               {"", "</s>"},
                               ""});
}

// ---- [INST] blocks holding the system text: Llama 2 and Mistral v1/v3 -----------------------
// A system message has no block of its own: it opens the next [INST] block and the user's text
// follows it inside. "[/INST]" closes the user's turn, so there is no separate assistant
// header and add_assistant_prompt changes nothing.

struct Llama2Variant {
    bool sys_markers;   // -sys: system text inside <<SYS>> ... <</SYS>>
    bool bos_per_turn;  // -sys-bos: every block after the first starts with "<s>"
    Trim trim;          // -sys-strip: contents stripped
};

std::string llama2_family(const Conversation &c, Llama2Variant variant) {
    std::string out;
    bool block_open = false;
    for (const ChatMessage &m : c.messages) {
        const std::string_view content =
            variant.trim == Trim::yes ? trim_whitespace(m.content) : std::string_view(m.content);
        if (m.role == "assistant") {
            out += content;
            out += "</s>";
            continue;
        }
        if (m.role != "system" && m.role != "user") fail_unknown_role(c.template_name, m.role);
        if (!block_open) {
            out += (variant.bos_per_turn && !out.empty()) ? "<s>[INST] " : "[INST] ";
            block_open = true;
        }
        if (m.role == "system") {
            if (variant.sys_markers) {
                out += "<<SYS>>\n";
                out += content;
                out += "\n<</SYS>>\n\n";
            } else {
                out += content;
                out += "\n";
            }
        } else {
            out += content;
            out += " [/INST]";
            block_open = false;
        }
    }
    return out;
}

std::string llama2(const Conversation &c) { return llama2_family(c, {false, false, Trim::no}); }
std::string llama2_sys(const Conversation &c) { return llama2_family(c, {true, false, Trim::no}); }
std::string llama2_sys_bos(const Conversation &c) { return llama2_family(c, {true, true, Trim::no}); }
std::string llama2_sys_strip(const Conversation &c) { return llama2_family(c, {true, false, Trim::yes}); }

struct MistralVariant {
    std::string_view outer_space;  // v1: " [INST]" and " [/INST]"
    std::string_view inner_space;  // not Tekken: "[INST] " and "[/INST] reply"
    Trim trim_replies;             // v3 strips the assistant's replies
};

std::string mistral_family(const Conversation &c, MistralVariant variant) {
    std::string out;
    bool block_open = false;
    for (const ChatMessage &m : c.messages) {
        if (m.role == "assistant") {
            out += variant.inner_space;
            out += variant.trim_replies == Trim::yes ? trim_whitespace(m.content) : std::string_view(m.content);
            out += "</s>";
            continue;
        }
        if (m.role != "system" && m.role != "user") fail_unknown_role(c.template_name, m.role);
        if (!block_open) {
            out += variant.outer_space;
            out += "[INST]";
            out += variant.inner_space;
            block_open = true;
        }
        out += m.content;
        if (m.role == "system") {
            out += "\n\n";
        } else {
            out += variant.outer_space;
            out += "[/INST]";
            block_open = false;
        }
    }
    return out;
}

std::string mistral_v1(const Conversation &c) { return mistral_family(c, {" ", " ", Trim::no}); }
std::string mistral_v3(const Conversation &c) { return mistral_family(c, {"", " ", Trim::yes}); }
std::string mistral_v3_tekken(const Conversation &c) { return mistral_family(c, {"", "", Trim::no}); }

// ---- System text merged into the next user turn ---------------------------------------------

// Gemma has no system role: the system text opens the next user turn. The assistant is
// called "model"; contents are stripped.
std::string gemma(const Conversation &c) {
    std::string out, pending_system;
    for (const ChatMessage &m : c.messages) {
        const std::string_view content = trim_whitespace(m.content);
        if (m.role == "system") {
            if (!pending_system.empty()) pending_system += "\n\n";
            pending_system += content;
            continue;
        }
        const bool is_model = m.role == "assistant";
        out += "<start_of_turn>";
        out += is_model ? std::string_view("model") : std::string_view(m.role);
        out += "\n";
        if (!is_model && !pending_system.empty()) {
            out += pending_system + "\n\n";
            pending_system.clear();
        }
        out += content;
        out += "<end_of_turn>\n";
    }
    if (c.add_assistant_prompt) out += "<start_of_turn>model\n";
    return out;
}

// Orion: the system text opens the next "Human:" turn, and the user turn itself carries the
// assistant's header "Assistant: </s>".
std::string orion(const Conversation &c) {
    std::string out, pending_system;
    for (size_t i = 0; i < c.messages.size(); ++i) {
        const ChatMessage &m = c.messages[i];
        if (m.role == "system") {
            pending_system += m.content;
        } else if (m.role == "user") {
            out += "Human: ";
            if (!pending_system.empty()) {
                out += pending_system + "\n\n";
                pending_system.clear();
            }
            out += m.content;
            if (reply_cue_due(c, i)) out += "\n\nAssistant: </s>";
        } else if (m.role == "assistant") {
            out += m.content + "</s>";
        } else {
            fail_unknown_role(c.template_name, m.role);
        }
    }
    return out;
}

// ---- Assistant header carried by the user turn ------------------------------------------------

// MiniCPM: "<用户>" opens a user turn and "<AI>" the reply; system and assistant contents
// stand bare. Contents are stripped.
std::string minicpm(const Conversation &c) {
    std::string out;
    for (size_t i = 0; i < c.messages.size(); ++i) {
        const ChatMessage &m = c.messages[i];
        if (m.role != "system" && m.role != "user" && m.role != "assistant")
            fail_unknown_role(c.template_name, m.role);
        if (m.role == "user") out += "<用户>";
        out += trim_whitespace(m.content);
        if (m.role == "user" && reply_cue_due(c, i)) out += "<AI>";
    }
    return out;
}

// Hunyuan dense: the assistant marker follows each user turn and also opens the assistant's
// own turn (it appears twice in a row when a reply is given).
std::string hunyuan_dense(const Conversation &c) {
    std::string out;
    for (size_t i = 0; i < c.messages.size(); ++i) {
        const ChatMessage &m = c.messages[i];
        if (m.role == "system") {
            out += m.content + "<｜hy_place▁holder▁no▁3｜>";
        } else if (m.role == "user") {
            out += "<｜hy_User｜>" + m.content;
            if (reply_cue_due(c, i)) out += "<｜hy_Assistant｜>";
        } else if (m.role == "assistant") {
            out += "<｜hy_Assistant｜>" + m.content + "<｜hy_place▁holder▁no▁2｜>";
        } else {
            fail_unknown_role(c.template_name, m.role);
        }
    }
    return out;
}

// ---- The table ----------------------------------------------------------------------------------

struct BuiltinTemplate {
    std::string_view name;
    Formatter format;
};

// Sorted by name (looked up by binary search).
constexpr BuiltinTemplate kBuiltins[] = {
    {"bailing", bailing},
    {"bailing-think", bailing_think},
    {"bailing2", bailing2},
    {"chatglm3", chatglm3},
    {"chatglm4", chatglm4},
    {"chatml", chatml},
    {"command-r", command_r},
    {"deepseek", deepseek},
    {"deepseek-ocr", deepseek_ocr},
    {"deepseek2", deepseek2},
    {"deepseek3", deepseek3},
    {"exaone-moe", exaone_moe},
    {"exaone3", exaone3},
    {"exaone4", exaone3},  // same markup as EXAONE 3 for these roles
    {"falcon3", falcon3},
    {"gemma", gemma},
    {"gigachat", gigachat},
    {"glmedge", glmedge},
    {"gpt-oss", gpt_oss},
    {"granite", granite},
    {"granite-4.0", granite},
    {"granite-4.1", granite},
    {"grok-2", grok2},
    {"hunyuan-dense", hunyuan_dense},
    {"hunyuan-moe", hunyuan_moe},
    {"hunyuan-vl", hunyuan_vl},
    {"kimi-k2", kimi_k2},
    {"llama2", llama2},
    {"llama2-sys", llama2_sys},
    {"llama2-sys-bos", llama2_sys_bos},
    {"llama2-sys-strip", llama2_sys_strip},
    {"llama3", llama3},
    {"llama4", llama4},
    {"megrez", megrez},
    {"minicpm", minicpm},
    {"mistral-v1", mistral_v1},
    {"mistral-v3", mistral_v3},
    {"mistral-v3-tekken", mistral_v3_tekken},
    {"mistral-v7", mistral_v7},
    {"mistral-v7-tekken", mistral_v7_tekken},
    {"monarch", monarch},
    {"openchat", openchat},
    {"orion", orion},
    {"pangu-embedded", pangu_embedded},
    {"phi3", phi3},
    {"phi4", phi4},
    {"rwkv-world", rwkv_world},
    {"seed_oss", seed_oss},
    {"smolvlm", smolvlm},
    {"solar-open", solar_open},
    {"vicuna", vicuna},
    {"vicuna-orca", vicuna_orca},
    {"yandex", yandex},
    {"zephyr", zephyr},
};

const BuiltinTemplate *find_builtin(std::string_view name) {
    const auto *end = std::end(kBuiltins);
    const auto *it = std::lower_bound(std::begin(kBuiltins), end, name,
                                      [](const BuiltinTemplate &t, std::string_view n) { return t.name < n; });
    return (it != end && it->name == name) ? it : nullptr;
}

}  // namespace

const std::vector<std::string> &builtin_chat_templates() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> out;
        for (const BuiltinTemplate &t : kBuiltins) out.emplace_back(t.name);
        return out;
    }();
    return names;
}

bool is_builtin_chat_template(std::string_view name) { return find_builtin(name) != nullptr; }

std::string apply_chat_template(std::string_view template_name, const std::vector<ChatMessage> &messages,
                                bool add_assistant_prompt) {
    const BuiltinTemplate *builtin = find_builtin(template_name);
    if (builtin == nullptr)
        fail(EMBER_ERR_INVALID_ARGUMENT,
             "unknown chat template name '" + std::string(template_name) +
                 "' (builtin_chat_templates() lists the " + std::to_string(std::size(kBuiltins)) +
                 " built-in names, e.g. chatml, llama3, mistral-v7, gemma)");
    return builtin->format(Conversation{messages, add_assistant_prompt, builtin->name});
}

}  // namespace ember::chat
