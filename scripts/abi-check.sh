#!/usr/bin/env bash
# ABI guard for libember's C API.
#   scripts/abi-check.sh            compare the current ABI with the committed baseline
#   scripts/abi-check.sh --update   rewrite the baseline (only for an intended, versioned change)
# It builds the exported layer (src/api: every exported symbol lives there) with debug info,
# dumps it with abi-dumper restricted to the public headers and compares it with
# abi-compliance-checker. A self-test then breaks the ABI on purpose (a params field widened)
# and requires the same check to fail.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BASELINE="$ROOT/tests/abi/ember-abi.dump"
WORK="${EMBER_ABI_WORK:-$(mktemp -d)}"
trap '[ -z "${EMBER_ABI_WORK:-}" ] && rm -rf "$WORK"' EXIT
VERSION="$(sed -n 's/#define EMBER_VERSION_STRING "\(.*\)"/\1/p' "$ROOT/include/ember/ember.h")"

# build_probe INCLUDE_DIR OUT.so: the C API layer as a shared library with debug info.
build_probe() {
  local inc="$1" out="$2"
  mkdir -p "$out.objs"
  # -O0: only the debug information matters here, and it compiles fastest.
  printf '%s\n' "$ROOT"/src/api/*.cpp | xargs -P "$(nproc)" -I{} sh -c \
    'g++ -std=c++17 -g -O0 -fPIC -fvisibility=hidden -fvisibility-inlines-hidden -DEMBER_BUILDING \
         -I"$1" -I"$2/src" -I"$2/kernels" -c "$3" -o "$4/$(basename "$3").o"' \
    _ "$inc" "$ROOT" {} "$out.objs"
  g++ -shared -g -o "$out" "$out.objs"/*.o
}

dump() {  # dump LIB.so HEADERS_DIR OUT.dump
  abi-dumper "$1" -o "$3" -lver "$VERSION" -public-headers "$2" -quiet >/dev/null
}

compatible() {  # compatible OLD.dump NEW.dump NAME (run in $WORK: the checker leaves logs/ in its cwd)
  (cd "$WORK" && abi-compliance-checker -l ember -old "$1" -new "$2" -report-path "$WORK/$3.html" -quiet >/dev/null 2>&1)
}

echo "abi-check: building the C API layer"
build_probe "$ROOT/include" "$WORK/libember.so"
dump "$WORK/libember.so" "$ROOT/include/ember" "$WORK/current.dump"

if [ "${1:-}" = "--update" ]; then
  cp "$WORK/current.dump" "$BASELINE"
  echo "abi-check: baseline updated ($BASELINE)"
  exit 0
fi

[ -f "$BASELINE" ] || { echo "abi-check: no baseline at $BASELINE (run with --update)" >&2; exit 1; }
if ! compatible "$BASELINE" "$WORK/current.dump" current; then
  echo "abi-check: FAILED: the C ABI is incompatible with the baseline (report: $WORK/current.html)" >&2
  trap - EXIT
  exit 1
fi
echo "abi-check: compatible with the baseline"

# Self-test: widening a params field breaks every caller's struct layout; the check must say so.
mkdir -p "$WORK/broken/ember"
sed 's/    int32_t n_gpu_layers; /    int64_t n_gpu_layers; /' "$ROOT/include/ember/ember.h" > "$WORK/broken/ember/ember.h"
cmp -s "$ROOT/include/ember/ember.h" "$WORK/broken/ember/ember.h" && { echo "abi-check: self-test patch did not apply" >&2; exit 1; }
build_probe "$WORK/broken" "$WORK/libbroken.so"
dump "$WORK/libbroken.so" "$WORK/broken/ember" "$WORK/broken.dump"
if compatible "$BASELINE" "$WORK/broken.dump" broken; then
  echo "abi-check: self-test FAILED: a deliberately incompatible change was not detected" >&2
  exit 1
fi
echo "abi-check: self-test ok (a widened ember_model_params field is reported incompatible)"
