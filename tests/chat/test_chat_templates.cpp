// Chat templates: the built-ins against llama.cpp's output (conformance/chat_templates.json),
// detection of the templates stored in GGUF files, the assistant prompt switch, and errors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "chat/chat_template.h"
#include "core/error.h"
#include "gguf/gguf_file.h"
#include "support/test_paths.h"

using ember::chat::apply_chat_template;
using ember::chat::builtin_chat_templates;
using ember::chat::ChatMessage;
using ember::chat::detect_chat_template;
using ember::chat::resolve_chat_template;

namespace {

nlohmann::json load_goldens() {
    std::ifstream in(ember::test::shared_path("conformance/chat_templates.json"));
    REQUIRE(in.good());
    return nlohmann::json::parse(in);
}

std::vector<ChatMessage> conversation_from(const nlohmann::json &goldens) {
    std::vector<ChatMessage> messages;
    for (const auto &m : goldens.at("conversation"))
        messages.push_back({m.at("role").get<std::string>(), m.at("content").get<std::string>()});
    return messages;
}

std::vector<ChatMessage> without_system(std::vector<ChatMessage> messages) {
    messages.erase(std::remove_if(messages.begin(), messages.end(),
                                  [](const ChatMessage &m) { return m.role == "system"; }),
                   messages.end());
    return messages;
}

std::string model_template(const std::string &relative) {
    return ember::gguf::File::open(ember::test::shared_path(relative))->get_string("tokenizer.chat_template");
}

// Expects `fn` to throw ember::Error with `status` and a message containing `part`.
template <typename Fn>
void require_error(Fn fn, ember_status status, const std::string &part) {
    try {
        fn();
        FAIL("no error thrown");
    } catch (const ember::Error &e) {
        INFO(e.what());
        CHECK(e.status() == status);
        CHECK(std::string(e.what()).find(part) != std::string::npos);
    }
}

bool starts_with(const std::string &text, const std::string &prefix) {
    return text.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

TEST_CASE("every built-in reproduces llama.cpp's output for the shared conversation", "[chat]") {
    const nlohmann::json goldens = load_goldens();
    const std::vector<ChatMessage> with_system = conversation_from(goldens);
    const std::vector<ChatMessage> no_system = without_system(with_system);

    size_t passed = 0;
    for (const auto &[name, expected] : goldens.at("builtin").items()) {
        INFO("template " << name);
        const std::string got_with = apply_chat_template(name, with_system, true);
        const std::string got_without = apply_chat_template(name, no_system, true);
        CHECK(got_with == expected.at("with_system").get<std::string>());
        CHECK(got_without == expected.at("no_system").get<std::string>());
        if (got_with == expected.at("with_system") && got_without == expected.at("no_system")) ++passed;
    }
    INFO(passed << " of " << goldens.at("builtin").size() << " built-ins match");
    CHECK(passed == goldens.at("builtin").size());
}

TEST_CASE("the built-in names are exactly llama.cpp's, sorted", "[chat]") {
    const nlohmann::json goldens = load_goldens();
    std::set<std::string> expected;
    for (const auto &item : goldens.at("builtin").items()) expected.insert(item.key());

    const std::vector<std::string> &names = builtin_chat_templates();
    CHECK(std::is_sorted(names.begin(), names.end()));
    CHECK(std::set<std::string>(names.begin(), names.end()) == expected);
    for (const std::string &name : names) CHECK(ember::chat::is_builtin_chat_template(name));
    CHECK_FALSE(ember::chat::is_builtin_chat_template("chatml2"));
}

TEST_CASE("a model's Jinja template is recognised and renders like llama.cpp", "[chat]") {
    const nlohmann::json goldens = load_goldens();
    const std::vector<ChatMessage> conversation = conversation_from(goldens);
    const std::pair<const char *, const char *> models[] = {
        {"ggml-vocab-qwen2.gguf", "chatml"},
        {"ggml-vocab-phi-3.gguf", "phi3"},
    };
    for (const auto &[file, name] : models) {
        INFO(file);
        const std::string source = model_template(std::string("vocab/") + file);
        CHECK(detect_chat_template(source) == name);
        const std::string resolved = resolve_chat_template("", source);
        CHECK(resolved == name);
        CHECK(apply_chat_template(resolved, conversation, true) ==
              goldens.at("by_model").at(file).at("with_system").get<std::string>());
    }
    CHECK(detect_chat_template(model_template("models/micro-qwen2-F16.gguf")) == "chatml");
}

TEST_CASE("detection recognises each family by its markers", "[chat]") {
    // Fragments in the style of the families' published Jinja templates.
    const std::pair<const char *, const char *> cases[] = {
        {"{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}", "llama3"},
        {"{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}", "gemma"},
        {"{{ '<|im_start|>' + message['role'] + '<|im_sep|>' + message['content'] + '<|im_end|>' }}", "phi4"},
        {"{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }} <<SYS>>", "llama2-sys-bos"},
        {"{{ '[INST] ' + message['content'] + ' [/INST]' }}", "llama2"},
        {"{{ '[SYSTEM_PROMPT] ' + system_message + '[/SYSTEM_PROMPT]' }}", "mistral-v7"},
        {"{{ '[SYSTEM_PROMPT]' + system_message + '[/SYSTEM_PROMPT]' }}", "mistral-v7-tekken"},
        {"{{ '[INST]' + message['content'] + '[/INST]' }}", "mistral-v3-tekken"},
        {"{{ '<|START_OF_TURN_TOKEN|><|USER_TOKEN|>' + content + '<|END_OF_TURN_TOKEN|>' }}", "command-r"},
        {"{{ '<｜User｜>' + message['content'] + '<｜Assistant｜>' }}", "deepseek3"},
        {"{{ 'GPT4 Correct ' + message['role'] | title + ': ' + content + '<|end_of_turn|>' }}", "openchat"},
        {"{{ '<|start_of_role|>' + message['role'] + '<|end_of_role|>' }}", "granite"},
        {"{{ '<|user|>\\n' + message['content'] + '<|endoftext|>' }}{{ '<|assistant|>\\n' }}", "zephyr"},
        // Qwen3: chatml whose assistant turns may hold a reasoning block (llama.cpp renders chatml)
        {"{{ '<|im_start|>' + message.role + '\\n' }}{% if reasoning_content %}{{ '<think>\\n' + reasoning_content + "
         "'\\n</think>\\n\\n' }}{% endif %}{{ content + '<|im_end|>\\n' }}",
         "chatml"},
        {"{{ '<|start|>' + message.role + '<|channel|>final<|message|>' + message.content + '<|end|>' }}", "gpt-oss"},
        {"{{ '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' }}{{ '<|assistant|>\\n' }}", "phi3"},
    };
    for (const auto &[source, name] : cases) {
        INFO(source);
        CHECK(detect_chat_template(source) == name);
    }
    CHECK(detect_chat_template("{{ messages | tojson }}") == "");
}

TEST_CASE("without the assistant prompt the conversation ends where the messages end", "[chat]") {
    const std::vector<ChatMessage> chat = {{"system", "Be brief."}, {"user", "Hi"}};
    CHECK(apply_chat_template("chatml", chat, false) ==
          "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");
    CHECK(apply_chat_template("llama3", chat, false) ==
          "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
          "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>");
    CHECK(apply_chat_template("gemma", chat, false) == "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n");
    // Templates whose user turn carries the assistant's header leave it out after the last one...
    CHECK(apply_chat_template("minicpm", chat, false) == "Be brief.<用户>Hi");
    CHECK(apply_chat_template("orion", chat, false) == "Human: Be brief.\n\nHi");
    CHECK(apply_chat_template("hunyuan-dense", chat, false) == "Be brief.<｜hy_place▁holder▁no▁3｜><｜hy_User｜>Hi");
    // ...but [/INST] closes the user's instruction block, so Llama 2 / Mistral keep it.
    CHECK(apply_chat_template("llama2-sys", chat, false) == "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST]");
    CHECK(apply_chat_template("mistral-v3", chat, false) == "[INST] Be brief.\n\nHi[/INST]");

    // For every template, leaving out the prompt only removes text from the end.
    const nlohmann::json goldens = load_goldens();
    const std::vector<ChatMessage> conversation = conversation_from(goldens);
    for (const std::string &name : builtin_chat_templates()) {
        INFO("template " << name);
        CHECK(starts_with(apply_chat_template(name, conversation, true),
                          apply_chat_template(name, conversation, false)));
    }
}

TEST_CASE("a prompt plus the model's reply is a prefix of the next turn's prompt", "[chat]") {
    // What a chat program relies on to keep the conversation in the KV cache: the prompt it
    // decoded, followed by the generated reply, is how the next prompt starts. Two templates
    // open the reply with text that is not part of a finished reply.
    const std::set<std::string> reply_opening_differs = {
        "bailing-think",  // the prompt opens a <think> block
        "yandex",         // the prompt ends with [SEP]
    };
    const std::vector<ChatMessage> asked = {{"system", "S"}, {"user", "Q"}};
    std::vector<ChatMessage> answered = asked;
    answered.push_back({"assistant", "A"});
    answered.push_back({"user", "Q2"});
    for (const std::string &name : builtin_chat_templates()) {
        INFO("template " << name);
        const std::string prompt = apply_chat_template(name, asked, true);
        const std::string next = apply_chat_template(name, answered, true);
        CHECK(starts_with(next, prompt) == (reply_opening_differs.count(name) == 0));
    }
}

TEST_CASE("chat template errors name the problem", "[chat]") {
    const std::vector<ChatMessage> chat = {{"user", "Hi"}};
    require_error([&] { apply_chat_template("chatml2", chat, true); }, EMBER_ERR_INVALID_ARGUMENT, "'chatml2'");
    require_error([&] { resolve_chat_template("no-such-template", "{{ anything }}"); }, EMBER_ERR_INVALID_ARGUMENT,
                  "'no-such-template'");
    require_error([&] { resolve_chat_template("", "{% for m in messages %}{{ m.content }}{% endfor %}"); },
                  EMBER_ERR_UNSUPPORTED, "matches none of the built-in templates");
    // Fixed-role templates refuse a role they cannot express instead of dropping the message.
    require_error([&] { apply_chat_template("vicuna", {{"tool", "42"}}, true); }, EMBER_ERR_INVALID_ARGUMENT,
                  "role 'tool'");
    // Templates that pass the role through accept it.
    CHECK(apply_chat_template("chatml", {{"tool", "42"}}, false) == "<|im_start|>tool\n42<|im_end|>\n");
}

TEST_CASE("resolving a template: override first, then the model's, chatml for none", "[chat]") {
    const std::string qwen2 = model_template("vocab/ggml-vocab-qwen2.gguf");
    CHECK(resolve_chat_template("llama3", qwen2) == "llama3");
    CHECK(resolve_chat_template("", qwen2) == "chatml");
    CHECK(resolve_chat_template("", "") == "chatml");
    CHECK(resolve_chat_template("", "gemma") == "gemma");  // metadata holding a name
}
