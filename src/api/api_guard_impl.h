#pragma once

#include <exception>
#include <new>

#include "core/error.h"

namespace ember::api {

template <typename Body>
ember_status guarded(Body &&body) noexcept {
    try {
        clear_last_error();
        body();
        return EMBER_OK;
    } catch (const Error &e) {
        set_last_error(e.what());
        return e.status();
    } catch (const std::bad_alloc &) {
        set_last_error("out of memory");
        return EMBER_ERR_OUT_OF_MEMORY;
    } catch (const std::exception &e) {
        set_last_error(std::string("internal error: ") + e.what());
        return EMBER_ERR_INTERNAL;
    } catch (...) {
        set_last_error("internal error: unknown exception");
        return EMBER_ERR_INTERNAL;
    }
}

}  // namespace ember::api
