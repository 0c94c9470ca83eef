// A model's tokenizer as its GGUF metadata describes it (`tokenizer.ggml.*`): the token table,
// the special ids, and text <-> token conversion for SentencePiece-style (`llama`),
// byte-level BPE (`gpt2`) and SentencePiece-style BPE (`gemma4`) vocabularies. A Vocab is
// immutable after loading; every method is const and safe to call from several threads at once.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/flat_index.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/special_token_matcher.h"

namespace ember::gguf {
class File;
}

namespace ember::tokenizer {

enum class VocabType {
    Spm,  // tokenizer.ggml.model = "llama": score-driven merges, "▁" for spaces, <0xNN> bytes
    Bpe,  // tokenizer.ggml.model = "gpt2": byte-level BPE with ranked merges
    // tokenizer.ggml.model = "gemma4": ranked merges over characters of the whole text, "▁"
    // for spaces and <0xNN> bytes for characters that are no token (no pre-tokenizer)
    SpmBpe,
};

// tokenizer.ggml.token_type values.
enum class TokenType : int32_t {
    Undefined = 0,
    Normal = 1,
    Unknown = 2,
    Control = 3,      // BOS, EOS, chat markers: no text unless rendered on purpose
    UserDefined = 4,  // added text that always tokenizes to this one id
    Unused = 5,
    Byte = 6,         // <0xNN> byte fallback of SentencePiece
};

struct DetokenizeOptions {
    // Control and unknown tokens produce their text (e.g. "<|im_end|>") instead of nothing.
    bool render_special = false;
    // Undo the space a SentencePiece vocabulary adds in front of text (at the start and after
    // every special token), so that detokenize(tokenize(text)) == text.
    bool remove_space_prefix = true;
};

// Where a detokenizer is in the token stream (see Vocab::append_piece).
struct DetokenizeState {
    bool at_text_start = true;  // the next text piece follows the start or a special token
};

class Vocab {
public:
    // Reads the vocabulary of a GGUF file. Throws ember::Error naming the file and key when
    // the file has no tokenizer (EMBER_ERR_NOT_FOUND), an unsupported tokenizer model
    // (EMBER_ERR_UNSUPPORTED) or inconsistent arrays (EMBER_ERR_BAD_FORMAT).
    explicit Vocab(const gguf::File &file);

    VocabType type() const { return type_; }
    PreTokenizerKind pre_tokenizer() const { return pre_.kind(); }
    int32_t n_tokens() const { return n_tokens_; }

    // Text -> ids. `add_special` adds BOS / EOS where add_bos() / add_eos() say so;
    // `parse_special` turns the text of control tokens (e.g. "<|im_start|>") into their ids.
    // User-defined tokens are always matched as whole tokens, as the model's own tokenizer
    // does. Any bytes are accepted; invalid UTF-8 is kept byte for byte.
    std::vector<int32_t> tokenize(std::string_view text, bool add_special, bool parse_special) const;

    // The bytes one token stands for (may be a partial UTF-8 character, e.g. <0xE2>).
    // Control and unknown tokens give "" unless render_special. Throws
    // EMBER_ERR_INVALID_ARGUMENT for an id outside [0, n_tokens()).
    std::string token_to_piece(int32_t id, bool render_special = false) const;

    // Ids -> text: the concatenated pieces, with the options above.
    std::string detokenize(const int32_t *ids, size_t n_ids, const DetokenizeOptions &options = {}) const;
    std::string detokenize(const std::vector<int32_t> &ids, const DetokenizeOptions &options = {}) const {
        return detokenize(ids.data(), ids.size(), options);
    }
    // Appends one token's piece to `out`, carrying the space-prefix state from piece to
    // piece; detokenize and StreamingDecoder are built on it.
    void append_piece(int32_t id, const DetokenizeOptions &options, DetokenizeState &state,
                      std::string &out) const;

    // Token table. All throw EMBER_ERR_INVALID_ARGUMENT for an id out of range.
    std::string_view token_text(int32_t id) const;  // as stored (e.g. "▁the", "Ġthe")
    float token_score(int32_t id) const;              // 0 when the file has no scores
    TokenType token_type(int32_t id) const;
    // The id whose stored text is exactly `text`, or -1.
    int32_t find_token(std::string_view text) const;

    // Special ids, -1 when the model has none.
    int32_t bos() const { return bos_; }
    int32_t eos() const { return eos_; }
    int32_t eot() const { return eot_; }  // end of turn (chat models)
    int32_t eom() const { return eom_; }  // end of message (tool calls)
    int32_t unk() const { return unk_; }
    int32_t pad() const { return pad_; }
    int32_t sep() const { return sep_; }
    // End of generation: EOS, EOT, EOM and the end markers of common chat formats.
    bool is_eog(int32_t id) const;
    // Control, unknown or user-defined: tokens that tokenize() cuts out of text whole.
    bool is_special(int32_t id) const;

    bool add_bos() const { return add_bos_; }
    bool add_eos() const { return add_eos_; }
    bool add_space_prefix() const { return add_space_prefix_; }

    // Things a careful caller may want to log (e.g. an unknown pre-tokenizer replaced by
    // the default one, a special id out of range that was ignored).
    const std::vector<std::string> &warnings() const { return warnings_; }

    // --- Used by the tokenizer algorithms ---------------------------------------------
    struct Merge {
        int32_t rank;    // lower merges first
        int32_t result;  // the id of the joined text
    };
    // The merge of two adjacent BPE tokens, or false if the pair never merges.
    bool find_merge(int32_t left, int32_t right, Merge &merge) const;
    // The token of one input byte: <0xNN> for SentencePiece (and SpmBpe), the byte's mapped
    // character for byte-level BPE; -1 when the vocabulary lacks it.
    int32_t byte_token(uint8_t byte) const { return byte_tokens_[byte]; }
    // Byte-level BPE: the whole word is looked up before merging (Llama 3).
    bool ignore_merges() const { return ignore_merges_; }

private:
    void load_tokens(const gguf::File &file);
    void load_merges(const gguf::File &file);
    void load_special_ids(const gguf::File &file);
    void check_id(int32_t id) const;
    void tokenize_text(std::string_view text, bool after_special, std::vector<int32_t> &out) const;
    std::string_view text_of(int32_t id) const {
        const uint32_t begin = text_offsets_[id], end = text_offsets_[id + 1];
        return std::string_view(text_arena_.data() + begin, end - begin);
    }

    VocabType type_ = VocabType::Spm;
    PreTokenizer pre_;
    int32_t n_tokens_ = 0;
    std::string text_arena_;              // all token texts, back to back
    std::vector<uint32_t> text_offsets_;  // token i is [offsets[i], offsets[i + 1]) of the arena
    std::vector<float> scores_;
    std::vector<TokenType> types_;
    std::vector<uint8_t> flags_;  // kFlag* bits per token
    TextIndex ids_by_text_;
    PairIndex merges_;  // (left, right) -> {rank, result}
    std::array<int32_t, 256> byte_tokens_{};
    SpecialTokenMatcher special_matcher_;

    int32_t bos_ = -1, eos_ = -1, eot_ = -1, eom_ = -1, unk_ = -1, pad_ = -1, sep_ = -1;
    bool add_bos_ = false;
    bool add_eos_ = false;
    bool add_space_prefix_ = false;
    bool ignore_merges_ = false;
    // SentencePiece: no token has "▁" after another character, so no merge can cross the
    // start of a "▁" that follows other text, and each such word can be tokenized alone.
    bool spm_words_independent_ = false;
    std::vector<std::string> warnings_;
};

}  // namespace ember::tokenizer
