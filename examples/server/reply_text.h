// The text of a reply as tokens arrive: cut at the first stop string, and released only as
// complete UTF-8 characters that cannot be the start of a stop string.
#pragma once

#include <string>
#include <vector>

namespace server {

class ReplyText {
public:
    explicit ReplyText(std::vector<std::string> stop) : stop_(std::move(stop)) {}

    // Appends a token's bytes; true when a stop string appeared (the text ends before it).
    bool add(const std::string &piece);
    // The text that may be sent now (removed from what is pending).
    std::string take_ready();
    // Everything not yet sent, at the end of the reply.
    std::string take_rest();
    bool stopped() const { return stopped_; }

private:
    std::vector<std::string> stop_;
    std::string text_;
    size_t sent_ = 0;
    bool stopped_ = false;
};

}  // namespace server
