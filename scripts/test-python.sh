#!/usr/bin/env bash
# test-python.sh BUILD_DIR: installs the Python binding offline into a venv (Debian's python3
# with system packages: pytest, numpy), points it at BUILD_DIR's libember, runs its pytest
# suite and the streaming example, and checks the example prints the reference text.
set -euo pipefail
BUILD="$(realpath "$1")"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${EMBER_SHARED_DIR:-$ROOT/../shared}"
VENV="$BUILD/python-venv"
LIB="$(ls "$BUILD"/src/libember.so.* | head -n 1)"

rm -rf "$VENV" "$BUILD/python-src"
/usr/bin/python3 -m venv --system-site-packages "$VENV"
cp -r "$ROOT/bindings/python" "$BUILD/python-src"  # pip writes build files next to the sources
"$VENV/bin/pip" install --quiet --no-build-isolation --no-index "$BUILD/python-src" >/dev/null
export EMBER_LIBRARY="$LIB" EMBER_SHARED_DIR="$SHARED"
cd "$BUILD"  # not the source tree: the installed package must be the one imported
"$VENV/bin/python" -m pytest -q -p no:cacheprovider "$ROOT/bindings/python/tests"
out="$("$VENV/bin/python" "$ROOT/examples/python/stream.py" "$SHARED/models/stories260K.gguf" \
      "Once upon a time, there was a little" 16)"
if [ "$out" != " girl named Lily. She loved to play outside" ]; then
  echo "examples/python/stream.py printed: '$out'" >&2
  exit 1
fi
echo "python example: ok"
