// Errors inside the library are exceptions carrying an ember_status; src/api turns them into
// status codes plus a thread-local message, so none crosses the C ABI.
#pragma once

#include <stdexcept>
#include <string>

#include "ember/ember.h"

namespace ember {

class Error : public std::runtime_error {
public:
    Error(ember_status status, const std::string &message)
        : std::runtime_error(message), status_(status) {}
    ember_status status() const { return status_; }

private:
    ember_status status_;
};

[[noreturn]] inline void fail(ember_status status, const std::string &message) {
    throw Error(status, message);
}

}  // namespace ember
