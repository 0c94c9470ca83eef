// Versioned params structs: a caller compiled against an older header passes a smaller
// struct_size, and the fields it does not know keep their defaults; a newer caller's extra
// fields must be zero (this library cannot honour what it does not know).
#pragma once

#include <cstddef>
#include <cstring>
#include <string>

#include "core/error.h"

namespace ember::api {

template <typename Params>
Params read_params(const Params *user, Params defaults, const char *what) {
    if (!user) return defaults;
    const size_t size = user->struct_size;
    if (size < sizeof(uint32_t))
        fail(EMBER_ERR_INVALID_ARGUMENT, std::string(what) + ".struct_size is " + std::to_string(size) + "; set it to sizeof(" + what + ")");
    if (size > sizeof(Params)) {
        const unsigned char *extra = reinterpret_cast<const unsigned char *>(user) + sizeof(Params);
        for (size_t i = 0; i < size - sizeof(Params); ++i)
            if (extra[i] != 0)
                fail(EMBER_ERR_UNSUPPORTED, std::string(what) + " has fields this library version (" EMBER_VERSION_STRING
                                                               ") does not know");
    }
    std::memcpy(static_cast<void *>(&defaults), user, size < sizeof(Params) ? size : sizeof(Params));
    defaults.struct_size = static_cast<uint32_t>(sizeof(Params));
    return defaults;
}

// Copies `text` into a caller's buffer: NUL-terminated when it fits; *needed (nullable)
// gets text.size(). EMBER_ERR_BUFFER_TOO_SMALL when buf_size <= text.size().
ember_status copy_out(const std::string &text, char *buf, size_t buf_size, size_t *needed);

template <typename T>
T &require_handle(T *handle, const char *what) {
    if (!handle) fail(EMBER_ERR_INVALID_ARGUMENT, std::string(what) + " is NULL");
    return *handle;
}

}  // namespace ember::api
