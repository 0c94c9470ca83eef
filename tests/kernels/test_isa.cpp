// Run-time ISA selection: names, availability, EMBER_ISA and its errors.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

#include "core/error.h"
#include "cpu/isa.h"

using namespace ember;
using namespace ember::cpu;

TEST_CASE("ISA level names round-trip", "[isa]") {
    for (IsaLevel level : {IsaLevel::Scalar, IsaLevel::Avx2, IsaLevel::Avx512, IsaLevel::Avx512Vnni, IsaLevel::Neon,
                           IsaLevel::NeonDotprod}) {
        IsaLevel parsed;
        REQUIRE(isa_from_name(isa_name(level), &parsed));
        CHECK(parsed == level);
    }
    IsaLevel parsed;
    CHECK(isa_from_name("AVX2", &parsed));
    CHECK(parsed == IsaLevel::Avx2);
    CHECK_FALSE(isa_from_name("sse9", &parsed));
}

TEST_CASE("available levels start at scalar and end at the best", "[isa]") {
    const auto levels = available_isa_levels();
    REQUIRE(!levels.empty());
    CHECK(levels.front() == IsaLevel::Scalar);
    CHECK(levels.back() == best_isa_level());
    for (IsaLevel level : levels) {
        CHECK(isa_compiled(level));
        CHECK(isa_cpu_supports(level));
        CHECK(isa_kernels(level).level == level);
    }
#if defined(__x86_64__)
    CHECK_FALSE(isa_compiled(IsaLevel::Neon));
#elif defined(__aarch64__)
    CHECK(isa_compiled(IsaLevel::Neon));
    CHECK_FALSE(isa_compiled(IsaLevel::Avx2));
#endif
}

TEST_CASE("resolve_isa_level is what EMBER_ISA selects", "[isa]") {
    CHECK(resolve_isa_level(nullptr) == best_isa_level());
    CHECK(resolve_isa_level("") == best_isa_level());
    CHECK(resolve_isa_level("scalar") == IsaLevel::Scalar);
    for (IsaLevel level : available_isa_levels()) CHECK(resolve_isa_level(isa_name(level)) == level);

    try {
        resolve_isa_level("sse9");
        FAIL("an unknown level must throw");
    } catch (const Error &e) {
        CHECK(e.status() == EMBER_ERR_INVALID_ARGUMENT);
        CHECK(std::string(e.what()).find("sse9") != std::string::npos);
    }
}

TEST_CASE("forcing a level this build or CPU lacks is an error, not SIGILL", "[isa]") {
    for (IsaLevel level : {IsaLevel::Avx2, IsaLevel::Avx512, IsaLevel::Avx512Vnni, IsaLevel::Neon,
                           IsaLevel::NeonDotprod}) {
        if (isa_compiled(level) && isa_cpu_supports(level)) continue;
        INFO(isa_name(level));
        try {
            resolve_isa_level(isa_name(level));
            FAIL("an unavailable level must throw");
        } catch (const Error &e) {
            CHECK(e.status() == EMBER_ERR_UNSUPPORTED);
            CHECK(std::string(e.what()).find(isa_name(level)) != std::string::npos);
        }
        CHECK_THROWS_AS(isa_kernels(level), Error);
    }
}

TEST_CASE("the process level follows EMBER_ISA", "[isa-env]") {
    const char *env = std::getenv("EMBER_ISA");
    const IsaLevel expected = resolve_isa_level(env);
    CHECK(active_isa_level() == expected);
}

TEST_CASE("an invalid EMBER_ISA fails every kernel entry point cleanly", "[.][isa-env-invalid]") {
    REQUIRE(std::getenv("EMBER_ISA") != nullptr);
    CHECK_THROWS_AS(active_isa_level(), Error);
    CHECK_THROWS_AS(active_isa_level(), Error);  // stays an error
}
