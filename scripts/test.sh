#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs the whole test suite: release build (warnings
# are errors), the same suite under Address+UndefinedBehavior sanitizers, and the GGUF fuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
JOBS="$(nproc)"
FUZZ_SECONDS="${EMBER_FUZZ_SECONDS:-60}"

echo "== release build and tests"
cmake --preset release -DEMBER_WERROR=ON >/dev/null
cmake --build --preset release -j"$JOBS"
ctest --preset release -j"$JOBS"

echo "== asan+ubsan build and tests"
cmake --preset asan -DEMBER_WERROR=ON >/dev/null
cmake --build --preset asan -j"$JOBS"
ctest --preset asan -j"$JOBS"

echo "== fuzzing the GGUF reader for ${FUZZ_SECONDS}s"
scripts/fuzz-gguf.sh "$FUZZ_SECONDS"

echo "== final suite summary (release)"
ctest --preset release -j"$JOBS"
