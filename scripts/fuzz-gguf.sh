#!/usr/bin/env bash
# Builds the GGUF fuzzer (clang, libFuzzer + ASan/UBSan) and runs it for N seconds (default 60)
# on a seed corpus made from the shared fixtures: the first 256 KiB of every model and
# vocabulary file, and complete small shards of stories260K.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN="${1:-60}"
SHARED="${EMBER_SHARED_DIR:-../shared}"

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$(nproc)" --target fuzz_gguf

SEEDS=build/fuzz/seeds
CORPUS=build/fuzz/corpus
rm -rf "$SEEDS"
mkdir -p "$SEEDS" "$CORPUS"
for f in "$SHARED"/models/*.gguf "$SHARED"/vocab/*.gguf; do
  head -c 262144 "$f" > "$SEEDS/$(basename "$f").head"
done
# Whole, small files: a minimal GGUF, and stories260K in 4-tensor shards (with split.* keys).
python3 - "$SHARED/models/stories260K.gguf" "$SEEDS" <<'PY'
import struct, sys
# A minimal valid GGUF with one key and one tiny tensor, written without Ember's own writer.
data = b"GGUF" + struct.pack("<IQQ", 3, 1, 1)
data += struct.pack("<Q", 12) + b"general.name" + struct.pack("<I", 8) + struct.pack("<Q", 4) + b"seed"
data += struct.pack("<Q", 1) + b"t" + struct.pack("<IQIQ", 1, 8, 0, 0)
data += b"\0" * (-len(data) % 32) + struct.pack("<8f", *range(8))
open(sys.argv[2] + "/minimal.gguf", "wb").write(data)
PY
if [ -x build/release/bin/ember-gguf ]; then
  build/release/bin/ember-gguf split --max-tensors 4 "$SHARED/models/stories260K.gguf" "$SEEDS/shard" >/dev/null
fi

build/fuzz/bin/fuzz_gguf -max_total_time="$SECONDS_TO_RUN" -max_len=262144 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 "$CORPUS" "$SEEDS" 2>&1 | tail -n 15
echo "fuzz_gguf: no crash in ${SECONDS_TO_RUN}s"
