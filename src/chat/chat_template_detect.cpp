// Recognising a model's Jinja chat template among the built-ins. Ember does not evaluate
// Jinja; each family's template source carries literal markers (special tokens, fixed role
// prefixes) that no other family uses, so a few substring tests identify it. The rules are
// ordered: a family whose markers contain another's (phi4's "<|im_start|>" ... "<|im_sep|>"
// vs chatml's "<|im_start|>") comes first.
#include <algorithm>
#include <array>
#include <string>

#include "chat/chat_template.h"
#include "core/error.h"

namespace ember::chat {
namespace {

struct DetectionRule {
    std::string_view name;
    std::array<std::string_view, 3> all_of;  // every non-empty entry must occur
};

// Markers are written as they appear in the Jinja source: "\\n" is the two characters of a
// Jinja string escape, not a newline.
constexpr DetectionRule kRules[] = {
    // <|im_start|> families
    {"gpt-oss", {"<|start|>", "<|message|>"}},
    {"kimi-k2", {"<|im_assistant|>", "<|im_middle|>"}},
    {"phi4", {"<|im_start|>", "<|im_sep|>"}},
    {"smolvlm", {"<end_of_utterance>"}},
    {"chatml", {"<|im_start|>"}},
    // [INST] families: Mistral v7 has [SYSTEM_PROMPT]; Tekken tokenizers write no space
    // after the opening tag; <<SYS>> marks Llama 2 with a system block.
    {"mistral-v7", {"[SYSTEM_PROMPT] "}},
    {"mistral-v7-tekken", {"[SYSTEM_PROMPT]"}},
    {"llama2-sys-bos", {"[INST]", "<<SYS>>", "bos_token + '[INST]"}},
    {"llama2-sys-strip", {"[INST]", "<<SYS>>", "content.strip()"}},
    {"llama2-sys", {"[INST]", "<<SYS>>"}},
    {"mistral-v3-tekken", {"[INST]'"}},
    {"mistral-v3-tekken", {"[INST]\""}},
    {"mistral-v1", {"' [INST] '"}},
    {"mistral-v1", {"\" [INST] \""}},
    {"mistral-v3", {"[INST]", "[AVAILABLE_TOOLS]"}},
    {"llama2", {"[INST]"}},
    // header-token families
    {"llama3", {"<|start_header_id|>", "<|end_header_id|>"}},
    {"llama4", {"<|header_start|>", "<|header_end|>"}},
    {"gemma", {"<start_of_turn>"}},
    {"command-r", {"<|START_OF_TURN_TOKEN|>", "<|USER_TOKEN|>"}},
    {"granite", {"<|start_of_role|>"}},
    {"megrez", {"<|role_start|>"}},
    {"seed_oss", {"<seed:bos>"}},
    {"gigachat", {"<|message_sep|>"}},
    {"pangu-embedded", {"[unused9]", "[unused10]"}},
    {"grok-2", {"<|separator|>"}},
    {"bailing2", {"<role>", "<|role_end|>"}},
    {"bailing-think", {"<role>", "HUMAN", "<think>"}},
    {"bailing", {"<role>", "HUMAN"}},
    // <|role|> families: told apart by how a turn ends
    {"chatglm3", {"[gMASK]sop"}},
    {"chatglm4", {"[gMASK]<sop>"}},
    {"exaone-moe", {"<|endofturn|>"}},
    {"exaone4", {"[|endofturn|]", "[|tool|]"}},
    {"exaone3", {"[|endofturn|]"}},
    {"solar-open", {"<|begin|>", "<|content|>"}},
    {"phi3", {"<|assistant|>", "<|end|>"}},
    {"zephyr", {"<|user|>", "<|endoftext|>"}},
    {"falcon3", {"<|user|>", "<|assistant|>", "eos_token"}},
    {"glmedge", {"<|user|>", "<|assistant|>"}},
    // DeepSeek and Hunyuan special tokens
    {"deepseek3", {"<｜User｜>", "<｜Assistant｜>"}},
    {"deepseek2", {"'Assistant: ' + message['content'] + eos_token"}},
    {"deepseek", {"### Instruction:", "<|EOT|>"}},
    {"hunyuan-moe", {"<|startoftext|>", "<|extra_4|>"}},
    {"hunyuan-dense", {"<｜hy_place▁holder▁no▁2｜>"}},
    {"hunyuan-vl", {"<｜hy_"}},
    // plain-text role prefixes
    {"openchat", {"GPT4 Correct "}},
    {"vicuna-orca", {"SYSTEM: ", "USER: ", "ASSISTANT: "}},
    {"vicuna", {"USER: ", "ASSISTANT: "}},
    {"orion", {"\\n\\nAssistant: ' + eos_token"}},
    {"rwkv-world", {"'User: ' + message['content']|trim + '\\n\\n'"}},
    {"minicpm", {"<用户>"}},
    {"yandex", {"Ассистент:"}},
    {"monarch", {"bos_token + message['role']"}},
};

bool matches(const DetectionRule &rule, std::string_view source) {
    for (std::string_view marker : rule.all_of)
        if (!marker.empty() && source.find(marker) == std::string_view::npos) return false;
    return true;
}

// The start of a template source on one line, for error messages.
std::string excerpt(std::string_view source) {
    constexpr size_t kMaxBytes = 60;
    size_t end = std::min(source.size(), kMaxBytes);
    // Cut on a UTF-8 character boundary (not before a continuation byte 10xxxxxx).
    while (end < source.size() && end > 0 && (static_cast<unsigned char>(source[end]) & 0xC0) == 0x80) --end;
    std::string out;
    for (char ch : source.substr(0, end)) out += ch == '\n' ? std::string("\\n") : std::string(1, ch);
    if (end < source.size()) out += "...";
    return out;
}

}  // namespace

std::string detect_chat_template(std::string_view jinja_source) {
    for (const DetectionRule &rule : kRules)
        if (matches(rule, jinja_source)) return std::string(rule.name);
    return "";
}

std::string resolve_chat_template(std::string_view override_name, std::string_view jinja_source) {
    if (!override_name.empty()) {
        if (!is_builtin_chat_template(override_name))
            fail(EMBER_ERR_INVALID_ARGUMENT,
                 "unknown chat template name '" + std::string(override_name) +
                     "' (builtin_chat_templates() lists the supported names, e.g. chatml, llama3, gemma)");
        return std::string(override_name);
    }
    // A model without a template (a base model) gets chatml, as in llama.cpp.
    if (jinja_source.empty()) return "chatml";
    // The metadata sometimes holds a template's name rather than its source.
    if (is_builtin_chat_template(jinja_source)) return std::string(jinja_source);
    std::string name = detect_chat_template(jinja_source);
    if (name.empty())
        fail(EMBER_ERR_UNSUPPORTED,
             "the model's chat template (tokenizer.chat_template, " + std::to_string(jinja_source.size()) +
                 " bytes: \"" + excerpt(jinja_source) +
                 "\") matches none of the built-in templates; name one explicitly (e.g. chatml)");
    return name;
}

}  // namespace ember::chat
