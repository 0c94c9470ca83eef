// The C ABI's fixed points: version, status strings, the thread-local last error.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <thread>

#include "api/api_guard.h"
#include "core/error.h"
#include "ember/ember.h"

TEST_CASE("version macros and functions agree") {
    CHECK(ember_version() == EMBER_VERSION_NUMBER);
    CHECK(std::string(ember_version_string()) == EMBER_VERSION_STRING);
    CHECK(EMBER_VERSION_NUMBER == EMBER_VERSION_MAJOR * 1000000 + EMBER_VERSION_MINOR * 1000 + EMBER_VERSION_PATCH);
}

TEST_CASE("every status has a description, unknown ones too") {
    for (int s = EMBER_OK; s <= EMBER_ERR_INTERNAL; ++s) CHECK(std::strlen(ember_status_string(static_cast<ember_status>(s))) > 0);
    CHECK(std::string(ember_status_string(static_cast<ember_status>(999))) == "unknown status");
    CHECK(std::string(ember_status_string(EMBER_ERR_CONTEXT_FULL)) == "context full");
}

TEST_CASE("system info names the CPU features") {
    const std::string info = ember_system_info();
    CHECK(info.find("Ember " EMBER_VERSION_STRING) == 0);
    CHECK(info.find("CPU:") != std::string::npos);
}

TEST_CASE("guarded bodies turn exceptions into status codes and a thread-local message") {
    using ember::api::guarded;
    CHECK(guarded([] {}) == EMBER_OK);
    CHECK(std::string(ember_last_error()).empty());
    CHECK(guarded([] { ember::fail(EMBER_ERR_NOT_FOUND, "model.gguf: tensor 'x' not found"); }) == EMBER_ERR_NOT_FOUND);
    CHECK(std::string(ember_last_error()) == "model.gguf: tensor 'x' not found");
    CHECK(guarded([] { throw std::bad_alloc(); }) == EMBER_ERR_OUT_OF_MEMORY);
    CHECK(guarded([] { throw 42; }) == EMBER_ERR_INTERNAL);

    // Another thread has its own message.
    std::string other;
    std::thread([&] {
        other = ember_last_error();
        guarded([] { ember::fail(EMBER_ERR_IO, "thread error"); });
    }).join();
    CHECK(other.empty());
    CHECK(std::string(ember_last_error()) == "internal error: unknown exception");
    CHECK(guarded([] {}) == EMBER_OK);
    CHECK(std::string(ember_last_error()).empty());
}
