#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds Ember (release) and runs the main job: chat.
# Usage: scripts/main.sh [MODEL.gguf [ember-chat options]]   (default: ../shared/models/stories260K.gguf)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)"
MODEL="${1:-../shared/models/stories260K.gguf}"
exec build/release/bin/ember-chat -m "$MODEL" "${@:2}"
