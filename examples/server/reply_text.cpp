#include "reply_text.h"

#include <algorithm>

namespace server {

namespace {

// The end of the last complete UTF-8 character in s[begin, end).
size_t complete_utf8_end(const std::string &s, size_t begin, size_t end) {
    size_t i = end;
    for (int back = 0; back < 4 && i > begin; ++back) {
        --i;
        const auto c = static_cast<unsigned char>(s[i]);
        if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
        const size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
        return i + len <= end ? end : i;
    }
    return end;  // not UTF-8 at all: nothing to wait for
}

}  // namespace

bool ReplyText::add(const std::string &piece) {
    if (stopped_) return true;
    text_ += piece;
    // Nothing sent can begin a stop string, so a match starts at sent_ or later.
    size_t first = std::string::npos;
    for (const std::string &s : stop_) first = std::min(first, text_.find(s, sent_));
    if (first != std::string::npos) {
        text_.resize(first);
        stopped_ = true;
    }
    return stopped_;
}

std::string ReplyText::take_ready() {
    size_t end = text_.size();
    if (!stopped_) {
        // Hold back the longest tail that is the beginning of some stop string.
        size_t hold = 0;
        for (const std::string &s : stop_)
            for (size_t n = std::min(s.size() - 1, end - sent_); n > hold; --n)
                if (text_.compare(end - n, n, s, 0, n) == 0) {
                    hold = n;
                    break;
                }
        end -= hold;
    }
    end = complete_utf8_end(text_, sent_, end);
    std::string out = text_.substr(sent_, end - sent_);
    sent_ = end;
    return out;
}

std::string ReplyText::take_rest() {
    std::string out = text_.substr(sent_);
    sent_ = text_.size();
    return out;
}

}  // namespace server
