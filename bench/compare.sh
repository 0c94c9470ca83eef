#!/bin/sh
# Ember beside llama.cpp on the speed issue's 1.1B shape (hidden 2048, 22 layers, 32 heads, 4 KV
# heads, FFN 5632; the tokenizer and so the 512-token vocabulary are stories260K's), every model
# made by Ember's own tools and cached in WORK: a random-weight checkpoint
# (scripts/make-bench-model.py), ember-convert to F16, ember-quantize to each type. Then, per
# type and thread count, both engines alternately (scripts/bench-vs-peer.py: median of REPS runs
# each, pp and tg tokens/s, ratios, peak RSS, load time) and the generation's fraction of the
# streaming-read bandwidth that ember-kernel-bench's probe measures in the same run.
#
# usage: bench/compare.sh [BUILD_DIR=build/release] [WORK=/tmp/ember-compare]
#   env: TYPES="F16 Q8_0 Q4_0 Q4_K_M Q5_K_M Q6_K IQ4_XS"  THREADS=1,2  REPS=3  P=512  N=128  DEPTH=0
#        PEER=/tmp/peer (installed there by ../shared/peer/setup.sh when missing)
set -e
HERE=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "${1:-$HERE/build/release}" && pwd)/bin
W=${2:-/tmp/ember-compare}
TYPES=${TYPES:-"F16 Q8_0 Q4_0 Q4_K_M Q5_K_M Q6_K IQ4_XS"}
THREADS=${THREADS:-1,2}
PEER=${PEER:-/tmp/peer}
for tool in ember-bench ember-convert ember-quantize ember-gguf ember-kernel-bench; do
  [ -x "$B/$tool" ] || { echo "bench/compare.sh: no $B/$tool (build the release preset first)" >&2; exit 1; }
done
mkdir -p "$W"
if [ ! -f "$W/bench-F16.gguf" ]; then
  [ -f "$W/hf/model.safetensors" ] || /usr/bin/python3 "$HERE/scripts/make-bench-model.py" "$W/hf" --layers 22 --heads 32 --kv-heads 4
  "$B/ember-convert" "$W/hf" -o "$W/bench-F16.gguf" --outtype f16 > /dev/null
fi
MODELS=""
for t in $TYPES; do
  m="$W/bench-$t.gguf"
  [ -f "$m" ] || "$B/ember-quantize" "$W/bench-F16.gguf" "$m" "$t" > "$W/quantize-$t.log" 2>&1 || { cat "$W/quantize-$t.log" >&2; exit 1; }
  MODELS="${MODELS:+$MODELS,}$m"
done
[ -x "$PEER/peer" ] || sh "$HERE/../shared/peer/setup.sh" "$PEER"
[ -x "$PEER/peer-depth" ] || sh "$HERE/bench/peer/build.sh" "$PEER" > /dev/null

# The read probe at each thread count (GB/s), measured now: the machine's neighbours vary.
PROBE=""
for t in $(echo "$THREADS" | tr , ' '); do
  gbps=$("$B/ember-kernel-bench" --benchmark_filter="bandwidth/read/threads:$t/" --benchmark_min_time=0.5 \
         --benchmark_format=json | /usr/bin/python3 -c 'import json,sys; b=json.load(sys.stdin)["benchmarks"][0]; print(round(b["GBps"], 1))')
  PROBE="${PROBE:+$PROBE,}$t=$gbps"
done
echo "# read probe GB/s (threads=GB/s): $PROBE; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 "$HERE/scripts/bench-vs-peer.py" "$B/ember-bench" "$PEER/peer" "$MODELS" -p "${P:-512}" -n "${N:-128}" \
  -t "$THREADS" -r "${REPS:-3}" -d "${DEPTH:-0}" --probe "$PROBE" --gguf "$B/ember-gguf"
