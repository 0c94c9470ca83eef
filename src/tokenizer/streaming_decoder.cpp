#include "tokenizer/streaming_decoder.h"

#include "tokenizer/unicode.h"

namespace ember::tokenizer {

StreamingDecoder::StreamingDecoder(const Vocab &vocab, const DetokenizeOptions &options)
    : vocab_(vocab), options_(options) {}

std::string StreamingDecoder::push(int32_t id) {
    std::string text = pending_;
    DetokenizeState state = state_;
    vocab_.append_piece(id, options_, state, text);  // throws before anything changes
    state_ = state;
    // Invalid bytes can never become complete and pass through; only a valid but unfinished
    // sequence at the end waits for the next token.
    const size_t complete = unicode::complete_utf8_prefix(text);
    pending_.assign(text, complete, std::string::npos);
    text.resize(complete);
    return text;
}

std::string StreamingDecoder::flush() {
    std::string text;
    text.swap(pending_);
    return text;
}

void StreamingDecoder::reset() {
    pending_.clear();
    state_ = DetokenizeState{};
}

}  // namespace ember::tokenizer
