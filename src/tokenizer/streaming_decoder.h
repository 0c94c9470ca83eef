// Turns generated tokens into text as they arrive. A token can end in the middle of a UTF-8
// character (byte tokens, or byte-level BPE tokens that split a character); the decoder
// holds such bytes back until the character is complete, so every string it returns can be
// printed on its own.
#pragma once

#include <cstdint>
#include <string>

#include "tokenizer/vocab.h"

namespace ember::tokenizer {

class StreamingDecoder {
public:
    // The vocabulary must outlive the decoder. By default special tokens are hidden and
    // pieces are kept exactly as generated (no space-prefix removal).
    explicit StreamingDecoder(const Vocab &vocab, const DetokenizeOptions &options = streaming_defaults());

    // Adds one token; returns the text that is now complete (possibly ""). Throws
    // EMBER_ERR_INVALID_ARGUMENT for an id out of range, leaving the decoder unchanged.
    std::string push(int32_t id);
    // Returns whatever is held back (an unfinished character's bytes) and empties the decoder.
    std::string flush();
    // Forgets held-back bytes and starts over as at the beginning of a text.
    void reset();
    // Bytes currently held back (0 to 3).
    size_t pending() const { return pending_.size(); }

    static DetokenizeOptions streaming_defaults() {
        DetokenizeOptions o;
        o.remove_space_prefix = false;
        return o;
    }

private:
    const Vocab &vocab_;
    DetokenizeOptions options_;
    DetokenizeState state_;
    std::string pending_;
};

}  // namespace ember::tokenizer
