#include "tokenizer/vocab.h"


#include "core/error.h"
#include "core/log.h"
#include "gguf/gguf_file.h"
#include "tokenizer/bpe_tokenizer.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/spm_tokenizer.h"
#include "tokenizer/unicode.h"

namespace ember::tokenizer {

namespace {

constexpr uint8_t kFlagEog = 1;

// Texts that end a generation in common chat formats, whatever their ids.
constexpr const char *kEndOfGenerationTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<turn|>", "<|endoftext|>", "<|eom_id|>",
    "<EOT>", "_<EOT>", "<|end_of_text|>",
    "<｜end▁of▁sentence｜>",  // DeepSeek's (fullwidth bars, U+2581 spaces; the source is UTF-8)
};
// Candidates for the end-of-turn token when the file names none, most specific first.
constexpr const char *kEndOfTurnTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<turn|>",  // <turn|>: Gemma 4
    "<|endoftext|>", "<EOT>", "_<EOT>",
};

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // "▁", SentencePiece's space

std::string lower(std::string s) {
    for (char &c : s) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    }
    return s;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// True when the "▁" at `at` comes right after another "▁".
bool follows_space(std::string_view text, size_t at) {
    return at >= kSpmSpace.size() && text.compare(at - kSpmSpace.size(), kSpmSpace.size(), kSpmSpace) == 0;
}

// True when `text` has a "▁" right after a character other than "▁" (e.g. "a▁b").
bool has_space_after_text(std::string_view text) {
    for (size_t at = text.find(kSpmSpace, 1); at != std::string_view::npos; at = text.find(kSpmSpace, at + 1)) {
        if (!follows_space(text, at)) return true;
    }
    return false;
}

// The byte of a SentencePiece byte token "<0xNN>", or -1.
int spm_byte_value(std::string_view text) {
    if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
    const int hi = hex_digit(text[3]), lo = hex_digit(text[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

}  // namespace

Vocab::Vocab(const gguf::File &file) {
    const std::string &name = file.name();
    if (!file.has("tokenizer.ggml.model")) {
        fail(EMBER_ERR_NOT_FOUND,
             name + ": the file has no tokenizer (metadata key 'tokenizer.ggml.model' is missing)");
    }
    const std::string model = file.get_string("tokenizer.ggml.model");
    if (model == "llama") {
        type_ = VocabType::Spm;
    } else if (model == "gpt2") {
        type_ = VocabType::Bpe;
    } else if (model == "gemma4") {
        type_ = VocabType::SpmBpe;
    } else {
        fail(EMBER_ERR_UNSUPPORTED, name + ": tokenizer model '" + model +
                                        "' is not supported (expected 'llama', 'gpt2' or 'gemma4')");
    }
    load_tokens(file);

    if (type_ == VocabType::Bpe) {
        const std::string pre = file.get_string_or("tokenizer.ggml.pre", "default");
        PreTokenizerKind kind = PreTokenizerKind::Default;
        if (!pre_tokenizer_from_name(pre, kind)) {
            warnings_.push_back(name + ": unknown pre-tokenizer '" + pre + "', using 'default'");
        }
        pre_ = PreTokenizer(kind);
        // Llama 3's tokenizer takes a word that is itself a token before trying merges.
        ignore_merges_ = pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3";
        load_merges(file);
        for (unsigned b = 0; b < 256; ++b) {
            std::string text;
            unicode::append_utf8(text, byte_level::byte_to_char(static_cast<uint8_t>(b)));
            byte_tokens_[b] = find_token(text);
        }
    } else {
        // SentencePiece pieces: "▁" for spaces, <0xNN> tokens for bytes. SpmBpe vocabularies
        // (Gemma 4) ship merges instead of relying on scores.
        if (type_ == VocabType::SpmBpe) load_merges(file);
        byte_tokens_.fill(-1);
        spm_words_independent_ = type_ == VocabType::Spm;
        for (int32_t id = 0; id < n_tokens(); ++id) {
            const std::string_view text = text_of(id);
            const int b = spm_byte_value(text);
            if (b >= 0 && byte_tokens_[b] < 0) byte_tokens_[b] = id;
            if (spm_words_independent_ && has_space_after_text(text)) spm_words_independent_ = false;
        }
    }

    load_special_ids(file);
    const bool is_llama3 = ignore_merges_;
    add_bos_ = file.get_bool_or("tokenizer.ggml.add_bos_token", type_ != VocabType::Bpe || is_llama3);
    add_eos_ = file.get_bool_or("tokenizer.ggml.add_eos_token", false);
    add_space_prefix_ = file.get_bool_or("tokenizer.ggml.add_space_prefix", type_ == VocabType::Spm);

    // Phi-3's tokenizer drops the whitespace after its chat markers.
    const std::string model_name = lower(file.get_string_or("general.name", ""));
    const bool strip_after_special =
        model_name.find("phi-3") != std::string::npos || model_name.find("phi3") != std::string::npos;
    for (int32_t id = 0; id < n_tokens(); ++id) {
        if (!is_special(id)) continue;
        SpecialTokenMatcher::Options options;
        options.always = types_[id] == TokenType::UserDefined;
        const std::string_view text = text_of(id);
        options.rstrip = strip_after_special && text != "<unk>" && text != "<s>" && text != "<|endoftext|>";
        special_matcher_.add(text, id, options);
    }
    for (const std::string &warning : warnings_) log_warn(warning);
}

void Vocab::load_tokens(const gguf::File &file) {
    const std::string &name = file.name();
    const std::vector<std::string_view> tokens = file.get_string_array("tokenizer.ggml.tokens");
    if (tokens.empty()) fail(EMBER_ERR_BAD_FORMAT, name + ": 'tokenizer.ggml.tokens' is empty");
    if (tokens.size() > static_cast<size_t>(INT32_MAX)) {
        fail(EMBER_ERR_BAD_FORMAT, name + ": 'tokenizer.ggml.tokens' has too many entries");
    }
    const size_t n = tokens.size();
    n_tokens_ = static_cast<int32_t>(n);
    size_t total = 0;
    for (std::string_view t : tokens) total += t.size();
    if (total >= UINT32_MAX) fail(EMBER_ERR_BAD_FORMAT, name + ": 'tokenizer.ggml.tokens' is too large");
    text_arena_.reserve(total);
    text_offsets_.reserve(n + 1);
    for (std::string_view t : tokens) {
        text_offsets_.push_back(static_cast<uint32_t>(text_arena_.size()));
        text_arena_.append(t);
    }
    text_offsets_.push_back(static_cast<uint32_t>(text_arena_.size()));

    if (file.has("tokenizer.ggml.scores")) {
        scores_ = file.get_f32_array("tokenizer.ggml.scores");
        if (scores_.size() != n) {
            fail(EMBER_ERR_BAD_FORMAT, name + ": 'tokenizer.ggml.scores' has " + std::to_string(scores_.size()) +
                                           " entries for " + std::to_string(n) + " tokens");
        }
    } else {
        scores_.assign(n, 0.0f);
    }

    types_.assign(n, TokenType::Normal);
    if (file.has("tokenizer.ggml.token_type")) {
        const std::vector<int32_t> types = file.get_i32_array("tokenizer.ggml.token_type");
        if (types.size() != n) {
            fail(EMBER_ERR_BAD_FORMAT, name + ": 'tokenizer.ggml.token_type' has " + std::to_string(types.size()) +
                                           " entries for " + std::to_string(n) + " tokens");
        }
        for (size_t i = 0; i < n; ++i) {
            types_[i] = types[i] >= 0 && types[i] <= 6 ? static_cast<TokenType>(types[i]) : TokenType::Undefined;
        }
    }
    flags_.assign(n, 0);

    // With duplicate texts the last id wins, as in the reference implementation.
    ids_by_text_.reset(n);
    auto text_of_id = [this](int32_t id) { return text_of(id); };
    for (size_t i = 0; i < n; ++i) {
        const std::string_view text = text_of(static_cast<int32_t>(i));
        if (!text.empty()) ids_by_text_.insert(text, static_cast<int32_t>(i), text_of_id);
    }
}

void Vocab::load_merges(const gguf::File &file) {
    const std::string &name = file.name();
    const std::vector<std::string_view> merges = file.get_string_array("tokenizer.ggml.merges");
    merges_.reset(merges.size());
    std::string joined;
    size_t unusable = 0;
    for (size_t rank = 0; rank < merges.size(); ++rank) {
        const std::string_view m = merges[rank];
        const size_t space = m.find(' ', 1);
        if (space == std::string_view::npos) {
            fail(EMBER_ERR_BAD_FORMAT, name + ": 'tokenizer.ggml.merges' entry " + std::to_string(rank) +
                                           " is not two tokens separated by a space");
        }
        const std::string_view left = m.substr(0, space), right = m.substr(space + 1);
        joined.assign(left);
        joined.append(right);
        const int32_t a = find_token(left), b = find_token(right), result = find_token(joined);
        if (a < 0 || b < 0 || result < 0) {
            ++unusable;
            continue;
        }
        // The first (lowest-ranked) entry for a pair is the one that applies.
        merges_.insert(PairIndex::key(a, b), {static_cast<int32_t>(rank), result});
    }
    if (unusable) {
        warnings_.push_back(name + ": " + std::to_string(unusable) +
                            " merges name texts that are not tokens and are ignored");
    }
}

void Vocab::load_special_ids(const gguf::File &file) {
    const std::string &name = file.name();
    auto read_id = [&](const char *key, int32_t fallback) -> int32_t {
        const gguf::Value *v = file.find(key);
        if (!v) return fallback;
        if (!gguf::value_type_is_integer(v->type)) {
            fail(EMBER_ERR_BAD_FORMAT, name + ": metadata key '" + key + "' is not an integer");
        }
        // -1 written as an unsigned integer also means "none".
        if (v->is_negative || v->u64 == UINT32_MAX || v->u64 == UINT64_MAX) return -1;
        if (v->u64 >= static_cast<uint64_t>(n_tokens())) {
            warnings_.push_back(name + ": '" + key + "' = " + std::to_string(v->u64) +
                                " is not a token id (vocabulary of " + std::to_string(n_tokens()) +
                                "); ignored");
            return -1;
        }
        return static_cast<int32_t>(v->u64);
    };
    // Old SentencePiece files rely on the classic layout: <unk> 0, <s> 1, </s> 2.
    const bool spm = type_ == VocabType::Spm;
    auto classic = [&](int32_t id) { return spm && id < n_tokens() ? id : -1; };
    bos_ = read_id("tokenizer.ggml.bos_token_id", classic(1));
    eos_ = read_id("tokenizer.ggml.eos_token_id", classic(2));
    unk_ = read_id("tokenizer.ggml.unknown_token_id", classic(0));
    eot_ = read_id("tokenizer.ggml.eot_token_id", -1);
    eom_ = read_id("tokenizer.ggml.eom_token_id", -1);
    pad_ = read_id("tokenizer.ggml.padding_token_id", -1);
    // GGUF spells this key "seperator"; accept the correct spelling too.
    sep_ = read_id("tokenizer.ggml.seperator_token_id", read_id("tokenizer.ggml.separator_token_id", -1));

    if (eot_ < 0) {
        for (const char *text : kEndOfTurnTexts) {
            const int32_t id = find_token(text);
            if (id >= 0 && is_special(id)) {
                eot_ = id;
                break;
            }
        }
    }
    if (eom_ < 0) {
        const int32_t id = find_token("<|eom_id|>");
        if (id >= 0 && is_special(id)) eom_ = id;
    }
    for (int32_t id : {eos_, eot_, eom_}) {
        if (id >= 0) flags_[id] |= kFlagEog;
    }
    for (const char *text : kEndOfGenerationTexts) {
        const int32_t id = find_token(text);
        if (id >= 0 && is_special(id)) flags_[id] |= kFlagEog;
    }
}

void Vocab::check_id(int32_t id) const {
    if (id < 0 || id >= n_tokens()) {
        fail(EMBER_ERR_INVALID_ARGUMENT, "token id " + std::to_string(id) + " is out of range (the vocabulary has " +
                                             std::to_string(n_tokens()) + " tokens)");
    }
}

std::string_view Vocab::token_text(int32_t id) const {
    check_id(id);
    return text_of(id);
}

float Vocab::token_score(int32_t id) const {
    check_id(id);
    return scores_[id];
}

TokenType Vocab::token_type(int32_t id) const {
    check_id(id);
    return types_[id];
}

int32_t Vocab::find_token(std::string_view text) const {
    return ids_by_text_.find(text, [this](int32_t id) { return text_of(id); });
}

bool Vocab::is_eog(int32_t id) const {
    return id >= 0 && id < n_tokens() && (flags_[id] & kFlagEog);
}

bool Vocab::is_special(int32_t id) const {
    if (id < 0 || id >= n_tokens()) return false;
    const TokenType t = types_[id];
    return t == TokenType::Control || t == TokenType::Unknown || t == TokenType::UserDefined;
}

bool Vocab::find_merge(int32_t left, int32_t right, Merge &merge) const {
    const PairIndex::Value *v = merges_.find(PairIndex::key(left, right));
    if (!v) return false;
    merge = {v->a, v->b};
    return true;
}

std::vector<int32_t> Vocab::tokenize(std::string_view text, bool add_special, bool parse_special) const {
    std::vector<int32_t> out;
    out.reserve(text.size() / 3 + 2);
    if (add_special && add_bos_ && bos_ >= 0) out.push_back(bos_);
    std::vector<SpecialTokenMatcher::Piece> pieces;
    special_matcher_.partition(text, parse_special, pieces);
    bool after_special = true;  // the start of the text counts as "after a special token"
    for (const SpecialTokenMatcher::Piece &piece : pieces) {
        if (piece.id >= 0) {
            out.push_back(piece.id);
            after_special = true;
        } else {
            tokenize_text(piece.text, after_special, out);
            after_special = false;
        }
    }
    if (add_special && add_eos_ && eos_ >= 0) out.push_back(eos_);
    return out;
}

void Vocab::tokenize_text(std::string_view text, bool after_special, std::vector<int32_t> &out) const {
    if (type_ == VocabType::Spm || type_ == VocabType::SpmBpe) {
        std::string escaped;
        escaped.reserve(text.size() + text.size() / 4 + 3);
        if (add_space_prefix_ && after_special) escaped.append(kSpmSpace);
        for (char c : text) {
            if (c == ' ') {
                escaped.append(kSpmSpace);
            } else {
                escaped.push_back(c);
            }
        }
        if (type_ == VocabType::SpmBpe) {
            // Merges by rank over the whole text: the reference cuts no words first (its Gemma 4
            // vectors join "▁" runs, newlines and punctuation exactly as the merges say).
            bpe_tokenize_chars(*this, escaped, out);
            return;
        }
        if (!spm_words_independent_) {
            spm_tokenize(*this, escaped, out);
            return;
        }
        // Word by word: the same result with small merge queues (fast on long texts).
        const std::string_view all = escaped;
        size_t word_start = 0;
        for (size_t at = all.find(kSpmSpace, 1); at != std::string_view::npos; at = all.find(kSpmSpace, at + 1)) {
            if (follows_space(all, at)) continue;
            spm_tokenize(*this, all.substr(word_start, at - word_start), out);
            word_start = at;
        }
        spm_tokenize(*this, all.substr(word_start), out);
        return;
    }
    std::vector<std::string_view> words;
    pre_.split(text, words);
    for (std::string_view word : words) bpe_tokenize_word(*this, word, out);
}

void Vocab::append_piece(int32_t id, const DetokenizeOptions &options, DetokenizeState &state,
                         std::string &out) const {
    check_id(id);
    const std::string_view text = text_of(id);
    switch (types_[id]) {
    case TokenType::Control:
    case TokenType::Unknown:
        if (options.render_special) out += text;
        state.at_text_start = true;
        return;
    case TokenType::UserDefined:
        out += text;
        state.at_text_start = true;
        return;
    case TokenType::Unused:
    case TokenType::Undefined:
        return;
    case TokenType::Byte:
        if (type_ != VocabType::Bpe) {
            const int b = spm_byte_value(text);
            if (b >= 0) {
                out.push_back(static_cast<char>(b));
                state.at_text_start = false;
                return;
            }
        }
        break;
    case TokenType::Normal:
        break;
    }
    if (type_ == VocabType::Bpe) {
        byte_level::decode(text, out);
        state.at_text_start = false;
        return;
    }
    size_t pos = 0;
    if (options.remove_space_prefix && add_space_prefix_ && state.at_text_start &&
        text.compare(0, kSpmSpace.size(), kSpmSpace) == 0) {
        pos = kSpmSpace.size();
    }
    state.at_text_start = false;
    while (pos < text.size()) {
        if (text.compare(pos, kSpmSpace.size(), kSpmSpace) == 0) {
            out.push_back(' ');
            pos += kSpmSpace.size();
        } else {
            out.push_back(text[pos++]);
        }
    }
}

std::string Vocab::token_to_piece(int32_t id, bool render_special) const {
    DetokenizeOptions options;
    options.render_special = render_special;
    options.remove_space_prefix = false;
    DetokenizeState state;
    std::string out;
    append_piece(id, options, state, out);
    return out;
}

std::string Vocab::detokenize(const int32_t *ids, size_t n_ids, const DetokenizeOptions &options) const {
    std::string out;
    DetokenizeState state;
    for (size_t i = 0; i < n_ids; ++i) append_piece(ids[i], options, state, out);
    return out;
}

}  // namespace ember::tokenizer
