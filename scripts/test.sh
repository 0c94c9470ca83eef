#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs the whole test suite:
#  1. release build (warnings are errors) and every test: unit, conformance per ISA level,
#     programs, C ABI (+ ABI baseline check), Python binding, install consumer;
#  2. the same suite under AddressSanitizer + UndefinedBehaviorSanitizer (conformance at the
#     best ISA level only: the per-level runs repeat the same code under the sanitizers; the
#     "heavy" toolchain run, minutes of decoding, is left to the release stage);
#  3. a clang build of the library and programs (warnings are errors), so it stays portable;
#  4. the GGUF reader under libFuzzer for EMBER_FUZZ_SECONDS (default 60), the grammar parser
#     and JSON Schema converter for EMBER_FUZZ_GRAMMAR_SECONDS (default 20);
#  5. the NEON / NEON-dotprod kernels, cross-compiled and run under qemu-aarch64.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
JOBS="$(nproc)"
# The server tests install the openai npm package; here its absence is a failure, not a skip.
export EMBER_REQUIRE_OPENAI=1
FUZZ_SECONDS="${EMBER_FUZZ_SECONDS:-60}"
FUZZ_GRAMMAR_SECONDS="${EMBER_FUZZ_GRAMMAR_SECONDS:-20}"
start=$(date +%s)
stage() { echo; echo "== $* ($(( $(date +%s) - start ))s)"; }

stage "release build"
cmake --preset release -DEMBER_WERROR=ON >/dev/null
cmake --build --preset release -j"$JOBS"
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
stage "release tests"
ctest --preset release -j"$JOBS" | tee -a "$LOG"

stage "asan+ubsan build"
cmake --preset asan -DEMBER_WERROR=ON >/dev/null
cmake --build --preset asan -j"$JOBS"
stage "asan+ubsan tests"
ctest --preset asan -j"$JOBS" -E "^test_conformance_" -LE heavy | tee -a "$LOG"

stage "clang build"
cmake --preset clang -DEMBER_WERROR=ON >/dev/null
cmake --build --preset clang -j"$JOBS"

stage "fuzzing the GGUF reader for ${FUZZ_SECONDS}s"
scripts/fuzz-gguf.sh "$FUZZ_SECONDS"
stage "fuzzing the grammar parser for ${FUZZ_GRAMMAR_SECONDS}s"
scripts/fuzz-grammar.sh "$FUZZ_GRAMMAR_SECONDS"

stage "NEON kernels under qemu"
EMBER_JOBS="$JOBS" scripts/test-neon.sh build/aarch64

# Every stage passed (set -e stops at the first failure): CTest tests of both builds, plus the
# two fuzzing stages and the NEON stage (the clang build is a build check, not counted).
tests=$(awk '/tests failed out of/ {n += $NF} END {print n + 0}' "$LOG")
stage "done"
echo "$((tests + 3)) passed, 0 failed"
