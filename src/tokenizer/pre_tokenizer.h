// Pre-tokenization for byte-level BPE: the rules that cut text into words before merges run,
// one set per `tokenizer.ggml.pre` family. Each rule set is a sequence of stages; a stage
// re-splits every piece from the previous stage into the stretches its pattern matches and
// the stretches between them, so no byte is ever dropped or reordered.
#pragma once

#include <string_view>
#include <vector>

namespace ember::tokenizer {

enum class PreTokenizerKind {
    Default,        // punctuation runs, then GPT-2 rules, then number runs, then 3-digit groups
    Gpt2,           // GPT-2: contractions, ' '?letters, ' '?numbers, ' '?other, whitespace
    Llama3,         // Llama 3: case-insensitive contractions, numbers in groups of up to 3
    Qwen2,          // Llama 3 rules with single-digit numbers
    DeepseekLlm,    // DeepSeek LLM: newlines, cased letters, ASCII/CJK punctuation, CJK runs
    DeepseekCoder,  // DeepSeek Coder: newlines, letters, punctuation, CJK runs, single digits
    Starcoder,      // single digits, then GPT-2 rules (also refact)
    Falcon,         // punctuation runs, then GPT-2 rules, then 3-digit groups
};

// The kind for a `tokenizer.ggml.pre` value; false for a name this library does not know.
bool pre_tokenizer_from_name(std::string_view name, PreTokenizerKind &kind);
const char *pre_tokenizer_name(PreTokenizerKind kind);

class PreTokenizer {
public:
    explicit PreTokenizer(PreTokenizerKind kind = PreTokenizerKind::Default) : kind_(kind) {}
    PreTokenizerKind kind() const { return kind_; }

    // Appends to `words` the consecutive, non-empty pieces of `text` (views into it) whose
    // concatenation is `text`. Invalid UTF-8 bytes count as U+FFFD for classification.
    void split(std::string_view text, std::vector<std::string_view> &words) const;

private:
    PreTokenizerKind kind_;
};

}  // namespace ember::tokenizer
