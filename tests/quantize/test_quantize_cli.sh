#!/bin/sh
# ember-quantize as a user runs it: exit statuses (0 ok, 1 bad input, 2 bad usage), --help
# documents the recipes, a pure quantization reports its sizes.
# usage: test_quantize_cli.sh EMBER_QUANTIZE SHARED_DIR SCRATCH_DIR
set -u
bin=$1; shared=$2; dir=$3
mkdir -p "$dir"
src="$shared/models/small-llama-F32.gguf"
failures=0

expect() {  # expect STATUS DESCRIPTION -- COMMAND...
    want=$1; what=$2; shift 3
    "$@" >"$dir/out.txt" 2>&1
    got=$?
    if [ "$got" -ne "$want" ]; then
        echo "FAIL: $what: exit $got, expected $want"; cat "$dir/out.txt"; failures=$((failures + 1))
    fi
}

expect 0 "help" -- "$bin" --help
grep -q "Q4_K_M" "$dir/out.txt" || { echo "FAIL: --help does not list Q4_K_M"; failures=$((failures + 1)); }
expect 2 "no arguments" -- "$bin"
expect 2 "unknown type" -- "$bin" "$src" "$dir/x.gguf" Q9_K
expect 2 "unknown option" -- "$bin" "$src" "$dir/x.gguf" Q4_0 --frobnicate
expect 2 "bad override type" -- "$bin" "$src" "$dir/x.gguf" Q4_0 --override "attn=Q9"
expect 1 "missing input" -- "$bin" "$dir/does-not-exist.gguf" "$dir/x.gguf" Q4_0
expect 1 "requantize refused" -- "$bin" "$shared/models/small-llama-Q4_K_M.gguf" "$dir/x.gguf" Q4_0
grep -q "allow-requantize" "$dir/out.txt" || { echo "FAIL: refusal does not mention --allow-requantize"; failures=$((failures + 1)); }
expect 0 "requantize allowed" -- "$bin" "$shared/models/small-llama-Q4_K_M.gguf" "$dir/x.gguf" Q4_0 --allow-requantize -t 2
EMBER_ISA=bogus expect 1 "a bad EMBER_ISA, threaded (an error, not an abort)" -- "$bin" "$src" "$dir/x.gguf" Q4_K_M -t 2
grep -q "EMBER_ISA='bogus'" "$dir/out.txt" || { echo "FAIL: a bad EMBER_ISA is not named"; cat "$dir/out.txt"; failures=$((failures + 1)); }
expect 0 "pure Q4_0" -- "$bin" "$src" "$dir/pure.gguf" Q4_0 --pure -t 2
grep -q "blk.0.attn_q.weight .*F32 -> Q4_0" "$dir/out.txt" || { echo "FAIL: per-tensor line missing"; cat "$dir/out.txt"; failures=$((failures + 1)); }
grep -q "tensor data 13.01 MiB -> " "$dir/out.txt" || { echo "FAIL: size summary missing"; failures=$((failures + 1)); }
[ -s "$dir/pure.gguf" ] || { echo "FAIL: no output file"; failures=$((failures + 1)); }

# The same bytes at every ISA level (the scale searches run vectorized on x86), and on x86-64
# the bytes this quantizer has written since the searches were written (a change to them is a
# change of output that must be deliberate: update the digests with it).
for t in Q2_K Q3_K_S Q4_K_M Q5_K_M Q6_K IQ4_XS IQ4_NL; do
    EMBER_ISA=scalar "$bin" "$src" "$dir/scalar-$t.gguf" "$t" --pure -t 2 >/dev/null 2>&1 &&
        "$bin" "$src" "$dir/best-$t.gguf" "$t" --pure -t 2 >/dev/null 2>&1 ||
        { echo "FAIL: quantizing to $t"; failures=$((failures + 1)); continue; }
    cmp -s "$dir/scalar-$t.gguf" "$dir/best-$t.gguf" ||
        { echo "FAIL: $t: the best ISA level writes other bytes than EMBER_ISA=scalar"; failures=$((failures + 1)); }
done
if [ "$(uname -m)" = x86_64 ]; then
    while read -r digest t; do
        got=$(sha256sum "$dir/best-$t.gguf" | cut -c1-16)
        [ "$got" = "$digest" ] || { echo "FAIL: $t: sha256 $got..., expected $digest..."; failures=$((failures + 1)); }
    done <<DIGESTS
6e1f9c4dbf8363ae Q2_K
e83f109c97d6d57a Q3_K_S
5851c94a1e612dfd Q4_K_M
c2fee8dd3e43f068 Q5_K_M
7d1c2fa26f1f67ea Q6_K
8a862774b22c1aad IQ4_XS
b2e0950abad1c183 IQ4_NL
DIGESTS
fi

[ "$failures" -eq 0 ] && echo "all ember-quantize CLI checks passed"
exit "$failures"
