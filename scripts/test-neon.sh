#!/usr/bin/env bash
# Cross-compiles the kernel tests for AArch64 and runs them under qemu-user on two CPU models:
# `max` (has the dot-product extension: levels scalar, neon, neon-dotprod) and `cortex-a53`
# (ARMv8.0, no dotprod: scalar and neon; forcing neon-dotprod must be a clean error).
# Needs g++-aarch64-linux-gnu and qemu-user. Usage: scripts/test-neon.sh [build dir]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build/aarch64}"
JOBS="${EMBER_JOBS:-2}"
QEMU=(qemu-aarch64 -L /usr/aarch64-linux-gnu)

cmake -S . -B "$BUILD" -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake -DCMAKE_BUILD_TYPE=Release \
    -DEMBER_WERROR=ON -DEMBER_BUILD_BENCH=OFF >/dev/null
cmake --build "$BUILD" --target test_kernels -j"$JOBS"
BIN="$BUILD/bin/test_kernels"

status=0
run() {  # run CPU EMBER_ISA [catch args...]
    local cpu="$1" isa="$2"
    shift 2
    echo "== qemu-aarch64 -cpu $cpu, EMBER_ISA=${isa:-<best>} $*"
    if ! EMBER_ISA="$isa" "${QEMU[@]}" -cpu "$cpu" "$BIN" "$@"; then status=1; fi
}
run max ""                                    # every level available on a dotprod CPU
run max "neon-dotprod" "[isa-env]"
run cortex-a53 ""                             # plain NEON CPU: dotprod level is not offered
run cortex-a53 "neon" "[isa-env]"
run cortex-a53 "neon-dotprod" "[isa-env-invalid]"  # forcing it is an error, not SIGILL
if [ "$status" -eq 0 ]; then echo "NEON tests: PASSED"; else echo "NEON tests: FAILED"; fi
exit "$status"
