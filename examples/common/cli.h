// What every Ember program shares: exit statuses (0 success, 1 bad input or failure, 2 bad
// usage) and the translation of errors into a message on stderr.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>

#include "core/error.h"

namespace ember::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Thrown for wrong arguments; the program prints the message and its usage, exits 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Runs body(); maps UsageError to 2 (after printing `usage`), any other error to 1.
template <typename Body>
int run(const char *program, const char *usage, Body &&body) {
    try {
        return body();
    } catch (const UsageError &e) {
        std::fprintf(stderr, "%s: %s\n\n%s", program, e.what(), usage);
        return kExitUsage;
    } catch (const std::bad_alloc &) {
        std::fprintf(stderr, "%s: out of memory\n", program);
        return kExitFailure;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "%s: %s\n", program, e.what());
        return kExitFailure;
    }
}

// Parses a non-negative integer argument of `option`, or throws UsageError.
inline unsigned long long parse_count(const std::string &option, const std::string &text) {
    if (text.empty() || text[0] == '-') throw UsageError(option + " needs a non-negative integer, got '" + text + "'");
    char *end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
    if (errno != 0 || *end != '\0') throw UsageError(option + " needs a non-negative integer, got '" + text + "'");
    return v;
}

// Parses -ngl's value: a layer count, or -1 for all layers (llama.cpp's meaning).
inline int32_t parse_gpu_layers(const std::string &option, const std::string &text) {
    if (text == "-1") return -1;
    const unsigned long long v = parse_count(option, text);
    return v > 1000000 ? 1000000 : static_cast<int32_t>(v);
}

// Parses a size like 2G, 500M, 4096 (K/M/G are powers of 1024), or throws UsageError.
inline unsigned long long parse_size(const std::string &option, const std::string &text) {
    if (text.empty()) throw UsageError(option + " needs a size like 2G");
    std::string digits = text;
    unsigned long long mult = 1;
    switch (text.back()) {
        case 'K': case 'k': mult = 1ull << 10; digits.pop_back(); break;
        case 'M': case 'm': mult = 1ull << 20; digits.pop_back(); break;
        case 'G': case 'g': mult = 1ull << 30; digits.pop_back(); break;
        default: break;
    }
    const unsigned long long n = parse_count(option, digits);
    if (n == 0 || n > (~0ull) / mult) throw UsageError(option + ": size '" + text + "' is out of range");
    return n * mult;
}

}  // namespace ember::cli
