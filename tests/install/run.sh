#!/usr/bin/env bash
# run.sh BUILD_DIR CONSUMER_SRC: install BUILD_DIR into a scratch prefix, then build and run
# the consumer with CMake's find_package and with pkg-config.
set -euo pipefail
BUILD="$1"
SRC="$2"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cmake --install "$BUILD" --prefix "$WORK/prefix" >/dev/null
test -f "$WORK/prefix/include/ember/ember.h"
ls "$WORK"/prefix/lib*/libember.so.0 >/dev/null
ls "$WORK"/prefix/lib*/libember.a >/dev/null

cmake -S "$SRC" -B "$WORK/build" -DCMAKE_PREFIX_PATH="$WORK/prefix" >/dev/null
cmake --build "$WORK/build" >/dev/null
LD_LIBRARY_PATH="$(echo "$WORK"/prefix/lib*)" "$WORK/build/consumer"

PKG_CONFIG_PATH="$(echo "$WORK"/prefix/lib*/pkgconfig)"
export PKG_CONFIG_PATH
cc -std=c99 -Wall -Wextra -Wpedantic -Werror "$SRC/consumer.c" $(pkg-config --cflags --libs ember) -o "$WORK/consumer-pc"
LD_LIBRARY_PATH="$(echo "$WORK"/prefix/lib*)" "$WORK/consumer-pc"

# Only the C API is exported from the shared library.
if nm -D --defined-only "$(echo "$WORK"/prefix/lib*/libember.so.0)" | awk '{print $3}' | grep -v '^ember_' | grep -v '^_' | grep -q .; then
  echo "libember.so exports non-API symbols:" >&2
  nm -D --defined-only "$(echo "$WORK"/prefix/lib*/libember.so.0)" | awk '{print $3}' | grep -v '^ember_' | head >&2
  exit 1
fi
echo "install consumer: ok"
