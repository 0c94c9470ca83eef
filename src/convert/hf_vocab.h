// A Hugging Face tokenizer turned into GGUF tokenizer.* metadata: SentencePiece
// (tokenizer.model) or byte-level BPE (tokenizer.json), with special tokens, BOS/EOS rules and
// the chat template from tokenizer_config.json. Key names, token types and padding follow
// llama.cpp's converter, so both runtimes load the result the same way.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace ember::gguf {
class Writer;
}

namespace ember::convert {

// GGUF token types (tokenizer.ggml.token_type), the same numbers as SentencePiece's piece types.
enum GgufTokenType : int32_t {
    kTokenNormal = 1, kTokenUnknown = 2, kTokenControl = 3, kTokenUserDefined = 4, kTokenUnused = 5, kTokenByte = 6,
};

struct GgufVocab {
    std::string model;                 // tokenizer.ggml.model: "llama" (SentencePiece) or "gpt2" (BPE)
    std::string pre;                   // tokenizer.ggml.pre (BPE pre-tokenizer name; "default" for SPM)
    std::vector<std::string> tokens;   // id order, exactly n_vocab entries
    std::vector<float> scores;         // SentencePiece only
    std::vector<int32_t> types;        // GgufTokenType per token
    std::vector<std::string> merges;   // BPE only: "left right"
    int64_t bos = -1, eos = -1, unk = -1, pad = -1;  // -1: not written
    int add_bos = -1, add_eos = -1, add_space_prefix = -1;  // -1: not written, else 0/1
    std::string chat_template;         // empty: not written
};

using WarnFn = std::function<void(const std::string &)>;

// Reads DIR/tokenizer.model (preferred for Llama-family SentencePiece models) or
// DIR/tokenizer.json, plus DIR/tokenizer_config.json and DIR/generation_config.json when
// present. `config` is config.json; `n_vocab` the embedding's row count (the vocabulary is
// padded with "[PADi]" unused tokens or cut to it). Throws ember::Error naming the file.
GgufVocab load_hf_vocab(const std::string &dir, const nlohmann::json &config, uint32_t n_vocab,
                        const std::string &arch, const WarnFn &warn);

// Writes the tokenizer.* keys.
void write_vocab(gguf::Writer &out, const GgufVocab &vocab);

}  // namespace ember::convert
