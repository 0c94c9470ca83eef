#include "convert/hf_vocab.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "convert/sentencepiece_model.h"
#include "core/error.h"
#include "gguf/gguf_writer.h"

namespace ember::convert {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Scores of tokens the tokenizer never produces: padding ids and added tokens, which are
// matched as whole strings rather than merged, so their score must never win a merge.
constexpr float kPaddingScore = -10000.0f;
constexpr float kAddedTokenScore = -1000.0f;

bool file_exists(const fs::path &p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec);
}

std::string read_text(const fs::path &p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) fail(EMBER_ERR_NOT_FOUND, p.string() + ": cannot open");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

json read_json(const fs::path &p) {
    json j = json::parse(read_text(p), nullptr, false);
    if (j.is_discarded() || !j.is_object()) fail(EMBER_ERR_BAD_FORMAT, p.string() + ": not a JSON object");
    return j;
}

json read_json_or_empty(const fs::path &p) { return file_exists(p) ? read_json(p) : json::object(); }

// tokenizer_config.json writes special tokens as "text" or {"content": "text", ...}.
std::string token_text(const json &v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
    return {};
}

int64_t json_id(const json &obj, const char *key) {
    const auto it = obj.find(key);
    if (it == obj.end()) return -1;
    if (it->is_number_integer()) return it->get<int64_t>();
    if (it->is_array() && !it->empty() && (*it)[0].is_number_integer()) return (*it)[0].get<int64_t>();  // eos lists
    return -1;
}

// Resolves BOS/EOS/UNK/PAD: the token text tokenizer_config.json names, else the id in
// config.json, else generation_config.json, else the tokenizer's own default.
int64_t special_id(const char *what, const json &tok_config, const json &config, const json &gen_config,
                   const std::unordered_map<std::string, int64_t> &ids, int64_t fallback) {
    const std::string key = std::string(what) + "_token";
    if (tok_config.contains(key)) {
        const std::string text = token_text(tok_config[key]);
        if (!text.empty()) {
            const auto it = ids.find(text);
            if (it != ids.end()) return it->second;
        }
    }
    const std::string id_key = key + "_id";
    int64_t id = json_id(config, id_key.c_str());
    if (id < 0) id = json_id(gen_config, id_key.c_str());
    return id >= 0 ? id : fallback;
}

void pad_or_cut(GgufVocab &v, uint32_t n_vocab, const WarnFn &warn, bool with_scores) {
    if (v.tokens.size() > n_vocab) {
        warn("tokenizer has " + std::to_string(v.tokens.size()) + " tokens, the model " + std::to_string(n_vocab) +
             "; dropping the extra tokens");
        v.tokens.resize(n_vocab);
        v.types.resize(n_vocab);
        if (with_scores) v.scores.resize(n_vocab);
    }
    for (size_t i = v.tokens.size(); i < n_vocab; ++i) {
        v.tokens.push_back("[PAD" + std::to_string(i) + "]");
        v.types.push_back(kTokenUnused);
        if (with_scores) v.scores.push_back(kPaddingScore);
    }
}

void load_spm(GgufVocab &v, const fs::path &dir, const json &tok_config, uint32_t n_vocab, const WarnFn &warn) {
    const SpmModel spm = load_sentencepiece_model((dir / "tokenizer.model").string());
    v.model = "llama";
    v.pre = "default";
    for (const SpmPiece &p : spm.pieces) {
        v.tokens.push_back(p.piece);
        v.scores.push_back(p.score);
        v.types.push_back(p.type);
    }
    // Tokens added on top of the SentencePiece model (fine-tuning special tokens).
    auto add_token = [&](int64_t id, const std::string &text, bool special) {
        if (id < 0 || id >= static_cast<int64_t>(n_vocab)) {
            warn("added token '" + text + "' has id " + std::to_string(id) + " outside the vocabulary; ignored");
            return;
        }
        const auto i = static_cast<size_t>(id);
        if (i < v.tokens.size()) {
            // A piece the model already has keeps its score and its UNKNOWN/CONTROL/BYTE type.
            if (v.types[i] == kTokenNormal || v.types[i] == kTokenUnused || v.tokens[i] != text) {
                v.tokens[i] = text;
                v.types[i] = special ? kTokenControl : kTokenUserDefined;
            }
            return;
        }
        while (v.tokens.size() < i) {
            v.tokens.push_back("[PAD" + std::to_string(v.tokens.size()) + "]");
            v.types.push_back(kTokenUnused);
            v.scores.push_back(kPaddingScore);
        }
        v.tokens.push_back(text);
        v.types.push_back(special ? kTokenControl : kTokenUserDefined);
        v.scores.push_back(kAddedTokenScore);
    };
    const json added = read_json_or_empty(dir / "added_tokens.json");
    for (auto it = added.begin(); it != added.end(); ++it) {
        if (it->is_number_integer()) add_token(it->get<int64_t>(), it.key(), false);
    }
    if (tok_config.contains("added_tokens_decoder") && tok_config["added_tokens_decoder"].is_object()) {
        for (auto it = tok_config["added_tokens_decoder"].begin(); it != tok_config["added_tokens_decoder"].end(); ++it) {
            const std::string text = token_text(*it);
            if (text.empty()) continue;
            const bool special = it->is_object() && it->value("special", false);
            add_token(std::strtoll(it.key().c_str(), nullptr, 10), text, special);
        }
    }
    pad_or_cut(v, n_vocab, warn, true);
    v.unk = spm.unk_id;
    v.bos = spm.bos_id;
    v.eos = spm.eos_id;
    if (!spm.add_dummy_prefix) v.add_space_prefix = 0;
}

// The pre-tokenizer name a runtime needs for byte-level BPE, recognized from the split regex
// in tokenizer.json (the part that differs between model families).
std::string detect_pre_tokenizer(const json &tokenizer, const std::string &arch, const WarnFn &warn) {
    std::vector<std::string> regexes;
    bool byte_level_regex = false;
    std::vector<const json *> stack;
    if (tokenizer.contains("pre_tokenizer")) stack.push_back(&tokenizer["pre_tokenizer"]);
    while (!stack.empty()) {
        const json &p = *stack.back();
        stack.pop_back();
        if (!p.is_object()) continue;
        const std::string type = p.value("type", "");
        if (type == "Sequence" && p.contains("pretokenizers") && p["pretokenizers"].is_array()) {
            for (const json &c : p["pretokenizers"]) stack.push_back(&c);
        } else if (type == "Split" && p.contains("pattern") && p["pattern"].is_object()) {
            const json &pat = p["pattern"];
            if (pat.contains("Regex") && pat["Regex"].is_string()) regexes.push_back(pat["Regex"].get<std::string>());
        } else if (type == "ByteLevel") {
            byte_level_regex = byte_level_regex || p.value("use_regex", true);
        }
    }
    for (const std::string &r : regexes) {
        const bool contractions = r.rfind("(?i:'s|'t|'re|'ve|'m|'ll|'d)", 0) == 0;
        if (contractions && r.find("\\p{N}{1,3}") != std::string::npos) return "llama-bpe";
        if (contractions && r.find("|\\p{N}|") != std::string::npos) return "qwen2";
    }
    if (regexes.empty() && byte_level_regex) return "gpt-2";
    if (arch.rfind("qwen", 0) == 0) return "qwen2";  // qwen2, qwen3, qwen3moe share the vocabulary
    warn("unrecognized BPE pre-tokenizer; writing tokenizer.ggml.pre = \"default\"");
    return "default";
}

void load_bpe(GgufVocab &v, const fs::path &dir, const std::string &arch, uint32_t n_vocab, const WarnFn &warn) {
    const fs::path path = dir / "tokenizer.json";
    const json tokenizer = read_json(path);
    const json &model = tokenizer.contains("model") ? tokenizer["model"] : json();
    if (!model.is_object() || model.value("type", "") != "BPE") {
        fail(EMBER_ERR_UNSUPPORTED, path.string() + ": only byte-level BPE tokenizer.json models are supported (model.type \"" +
                                        (model.is_object() ? model.value("type", "?") : std::string("?")) + "\")");
    }
    if (!model.contains("vocab") || !model["vocab"].is_object()) fail(EMBER_ERR_BAD_FORMAT, path.string() + ": model.vocab is missing");
    v.model = "gpt2";
    v.pre = detect_pre_tokenizer(tokenizer, arch, warn);

    std::vector<std::string> by_id(n_vocab);
    std::vector<bool> present(n_vocab, false);
    std::vector<int32_t> types(n_vocab, kTokenNormal);
    auto put = [&](const std::string &text, int64_t id, int32_t type) {
        if (id < 0 || id >= static_cast<int64_t>(n_vocab)) {
            warn("token '" + text + "' has id " + std::to_string(id) + " outside the model's " + std::to_string(n_vocab) + "; ignored");
            return;
        }
        by_id[static_cast<size_t>(id)] = text;
        present[static_cast<size_t>(id)] = true;
        types[static_cast<size_t>(id)] = type;
    };
    for (auto it = model["vocab"].begin(); it != model["vocab"].end(); ++it) {
        if (!it->is_number_integer()) fail(EMBER_ERR_BAD_FORMAT, path.string() + ": vocab entry '" + it.key() + "' has no integer id");
        put(it.key(), it->get<int64_t>(), kTokenNormal);
    }
    if (tokenizer.contains("added_tokens") && tokenizer["added_tokens"].is_array()) {
        for (const json &t : tokenizer["added_tokens"]) {
            if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer()) continue;
            put(token_text(t), t["id"].get<int64_t>(), t.value("special", false) ? kTokenControl : kTokenUserDefined);
        }
    }
    for (uint32_t i = 0; i < n_vocab; ++i) {
        v.tokens.push_back(present[i] ? by_id[i] : "[PAD" + std::to_string(i) + "]");
        v.types.push_back(present[i] ? types[i] : kTokenUnused);
    }

    // Merges come as "left right" strings or, in newer files, as ["left", "right"] pairs.
    if (model.contains("merges") && model["merges"].is_array()) {
        v.merges.reserve(model["merges"].size());
        for (const json &m : model["merges"]) {
            if (m.is_string()) {
                v.merges.push_back(m.get<std::string>());
            } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
                v.merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
            } else {
                fail(EMBER_ERR_BAD_FORMAT, path.string() + ": merge #" + std::to_string(v.merges.size()) + " is neither \"a b\" nor [\"a\", \"b\"]");
            }
        }
    }
}

std::string chat_template(const fs::path &dir, const json &tok_config) {
    if (tok_config.contains("chat_template")) {
        const json &t = tok_config["chat_template"];
        if (t.is_string()) return t.get<std::string>();
        // A list of named templates: the one named "default".
        if (t.is_array()) {
            for (const json &e : t) {
                if (e.is_object() && e.value("name", "") == "default" && e.contains("template") && e["template"].is_string()) {
                    return e["template"].get<std::string>();
                }
            }
        }
    }
    if (file_exists(dir / "chat_template.jinja")) return read_text(dir / "chat_template.jinja");
    return {};
}

}  // namespace

GgufVocab load_hf_vocab(const std::string &dir_text, const json &config, uint32_t n_vocab, const std::string &arch,
                        const WarnFn &warn) {
    const fs::path dir(dir_text);
    const json tok_config = read_json_or_empty(dir / "tokenizer_config.json");
    const json gen_config = read_json_or_empty(dir / "generation_config.json");

    GgufVocab v;
    // The qwen family ships tokenizer.json (a tokenizer.model beside it is not theirs) unless
    // it has no other.
    const bool qwen = arch.rfind("qwen", 0) == 0;
    if (file_exists(dir / "tokenizer.model") && (!qwen || !file_exists(dir / "tokenizer.json"))) {
        load_spm(v, dir, tok_config, n_vocab, warn);
    } else if (file_exists(dir / "tokenizer.json")) {
        load_bpe(v, dir, arch, n_vocab, warn);
    } else {
        fail(EMBER_ERR_NOT_FOUND, (dir / "tokenizer.model").string() + " and " + (dir / "tokenizer.json").string() +
                                      ": neither exists; the model's tokenizer is needed");
    }

    std::unordered_map<std::string, int64_t> ids;
    ids.reserve(v.tokens.size());
    for (size_t i = v.tokens.size(); i-- > 0;) ids[v.tokens[i]] = static_cast<int64_t>(i);  // lowest id wins
    v.bos = special_id("bos", tok_config, config, gen_config, ids, v.bos);
    v.eos = special_id("eos", tok_config, config, gen_config, ids, v.eos);
    v.unk = special_id("unk", tok_config, config, gen_config, ids, v.unk);
    v.pad = special_id("pad", tok_config, config, gen_config, ids, -1);
    for (int64_t *id : {&v.bos, &v.eos, &v.unk, &v.pad}) {
        if (*id >= static_cast<int64_t>(n_vocab)) {
            warn("special token id " + std::to_string(*id) + " is outside the vocabulary; not written");
            *id = -1;
        }
    }
    if (tok_config.contains("add_bos_token") && tok_config["add_bos_token"].is_boolean()) {
        v.add_bos = tok_config["add_bos_token"].get<bool>() ? 1 : 0;
    }
    if (tok_config.contains("add_eos_token") && tok_config["add_eos_token"].is_boolean()) {
        v.add_eos = tok_config["add_eos_token"].get<bool>() ? 1 : 0;
    }
    v.chat_template = chat_template(dir, tok_config);
    return v;
}

void write_vocab(gguf::Writer &out, const GgufVocab &v) {
    out.set_string("tokenizer.ggml.model", v.model);
    out.set_string("tokenizer.ggml.pre", v.pre);
    out.set_string_array("tokenizer.ggml.tokens", v.tokens);
    if (!v.scores.empty()) out.set_array("tokenizer.ggml.scores", gguf::ValueType::F32, v.scores.data(), v.scores.size());
    out.set_array("tokenizer.ggml.token_type", gguf::ValueType::I32, v.types.data(), v.types.size());
    if (!v.merges.empty()) out.set_string_array("tokenizer.ggml.merges", v.merges);
    if (v.bos >= 0) out.set_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(v.bos));
    if (v.eos >= 0) out.set_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(v.eos));
    if (v.unk >= 0) out.set_u32("tokenizer.ggml.unknown_token_id", static_cast<uint32_t>(v.unk));
    if (v.pad >= 0) out.set_u32("tokenizer.ggml.padding_token_id", static_cast<uint32_t>(v.pad));
    if (v.add_bos >= 0) out.set_bool("tokenizer.ggml.add_bos_token", v.add_bos == 1);
    if (v.add_eos >= 0) out.set_bool("tokenizer.ggml.add_eos_token", v.add_eos == 1);
    if (v.add_space_prefix >= 0) out.set_bool("tokenizer.ggml.add_space_prefix", v.add_space_prefix == 1);
    if (!v.chat_template.empty()) out.set_string("tokenizer.chat_template", v.chat_template);
}

}  // namespace ember::convert
