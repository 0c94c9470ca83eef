// Runs a C++ body for a C entry point: exceptions become status codes and the thread-local
// last-error message, so nothing escapes across the C ABI.
#pragma once

#include <string>

#include "ember/ember.h"

namespace ember::api {

void set_last_error(const std::string &message);
void clear_last_error();
const char *last_error_cstr();

template <typename Body>
ember_status guarded(Body &&body) noexcept;

}  // namespace ember::api

#include "api/api_guard_impl.h"
