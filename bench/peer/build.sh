#!/bin/sh
# Builds Ember's own llama.cpp programs against a peer installed by ../shared/peer/setup.sh (its
# llama.cpp headers and prebuilt CPU libraries): bench/peer/peer_depth.cpp as PEER_DIR/peer-depth
# bench/peer/peer_kv.cpp as PEER_DIR/peer-kv and bench/peer/peer_quantize.cpp as PEER_DIR/peer-quantize.
# Usage: bench/peer/build.sh [PEER_DIR=/tmp/peer]
set -e
D=${1:-/tmp/peer}; HERE=$(cd "$(dirname "$0")" && pwd)
BINS=$D/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64
[ -d "$BINS" ] || { echo "bench/peer/build.sh: no peer in $D (run ../shared/peer/setup.sh $D first)" >&2; exit 1; }
for prog in depth kv quantize; do
  g++ -O2 -std=c++17 "$HERE/peer_$prog.cpp" -I "$D/src/include" -I "$D/src/ggml/include" -L "$BINS" \
      -l:libllama.v0.5.0.so -l:libggml.v0.5.0.so -l:libggml-base.so -Wl,-rpath,"$BINS" -o "$D/peer-$prog.bin"
  printf '#!/bin/sh\nPEER_BACKENDS=%s exec %s/peer-%s.bin "$@"\n' "$BINS" "$D" "$prog" > "$D/peer-$prog" && chmod +x "$D/peer-$prog"
done
echo "ready: $D/peer-depth MODEL [-p 512] [-n 128] [-d 0] [-t 2] [-r 3]"
echo "       $D/peer-kv logits|perplexity MODEL FILE ... [-ctk T] [-ctv T]"
echo "       $D/peer-quantize IN.gguf OUT.gguf TYPE [-t N]"
