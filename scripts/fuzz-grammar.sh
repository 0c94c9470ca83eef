#!/usr/bin/env bash
# Builds the grammar fuzzer (clang, libFuzzer + ASan/UBSan) and runs it for N seconds (default
# 20) on a seed corpus: the GBNF grammars and JSON schemas of the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN="${1:-20}"

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$(nproc)" --target fuzz_grammar

SEEDS=build/fuzz/grammar-seeds
CORPUS=build/fuzz/grammar-corpus
rm -rf "$SEEDS"
mkdir -p "$SEEDS" "$CORPUS"
cp tests/tools/grammars/*.gbnf tests/sampling/json_schemas/valid/*.json "$SEEDS"/
# A grammar followed by text to match (after a NUL byte).
printf 'root ::= [a-z]+ ("," [a-z]+)* "."\0abc,de.' > "$SEEDS/with-text"

build/fuzz/bin/fuzz_grammar -max_total_time="$SECONDS_TO_RUN" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 "$CORPUS" "$SEEDS" 2>&1 | tail -n 15
echo "fuzz_grammar: no crash in ${SECONDS_TO_RUN}s"
