#!/usr/bin/env bash
# Runs one ember-server test script under Node with the official `openai` npm package,
# installed once into a cache in the build directory.
# Usage: run.sh BIN_DIR SHARED_DIR CACHE_DIR SCRIPT.mjs
# Exit 77 (CTest: skipped) only when npm cannot install the package and
# EMBER_REQUIRE_OPENAI is not 1; scripts/test.sh sets it, so CI fails instead.
set -euo pipefail
BIN="$1" SHARED="$2" CACHE="$3" SCRIPT="$4"
OPENAI_VERSION="6"  # the major version the tests are written against (works with Node 20)

if ! command -v node >/dev/null; then
  echo "test_server: Node.js is not installed" >&2
  [ "${EMBER_REQUIRE_OPENAI:-0}" = 1 ] && exit 1 || exit 77
fi
if [ ! -f "$CACHE/node_modules/openai/package.json" ]; then
  mkdir -p "$CACHE"
  if ! (cd "$CACHE" && npm install --no-audit --no-fund --silent "openai@$OPENAI_VERSION" >npm.log 2>&1); then
    echo "test_server: npm could not install openai@$OPENAI_VERSION (see $CACHE/npm.log):" >&2
    tail -5 "$CACHE/npm.log" >&2 || true
    if [ "${EMBER_REQUIRE_OPENAI:-0}" = 1 ]; then exit 1; fi
    echo "test_server: SKIPPED (set EMBER_REQUIRE_OPENAI=1 to make this a failure)" >&2
    exit 77
  fi
fi
export NODE_PATH="$CACHE/node_modules"
exec node "$(dirname "$0")/$SCRIPT" "$BIN" "$SHARED" "$CACHE/node_modules"
