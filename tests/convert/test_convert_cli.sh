#!/bin/sh
# ember-convert as a user runs it: exit statuses (0 ok, 1 bad input, 2 bad usage), progress on
# stderr, errors that name the missing file or the unsupported architecture.
# usage: test_convert_cli.sh EMBER_CONVERT SHARED_DIR SCRATCH_DIR
set -u
bin=$1; shared=$2; dir=$3
rm -rf "$dir"; mkdir -p "$dir"
hf="$shared/models/stories260K-hf"
failures=0

expect() {  # expect STATUS DESCRIPTION -- COMMAND...
    want=$1; what=$2; shift 3
    "$@" >"$dir/out.txt" 2>&1
    got=$?
    if [ "$got" -ne "$want" ]; then
        echo "FAIL: $what: exit $got, expected $want"; cat "$dir/out.txt"; failures=$((failures + 1))
    fi
}
mentions() {  # mentions TEXT: the last command's output contains TEXT
    grep -qF -- "$1" "$dir/out.txt" || { echo "FAIL: output does not mention '$1'"; cat "$dir/out.txt"; failures=$((failures + 1)); }
}

expect 0 "help" -- "$bin" --help
mentions "--outtype"
expect 2 "no arguments" -- "$bin"
expect 2 "missing -o" -- "$bin" "$hf"
expect 2 "bad outtype" -- "$bin" "$hf" -o "$dir/x.gguf" --outtype q4_k
expect 1 "missing directory" -- "$bin" "$dir/nope" -o "$dir/x.gguf"
mentions "$dir/nope"
mkdir -p "$dir/phi"
printf '{"architectures": ["PhiForCausalLM"], "hidden_size": 8}' >"$dir/phi/config.json"
expect 1 "unsupported architecture" -- "$bin" "$dir/phi" -o "$dir/x.gguf"
mentions "PhiForCausalLM"
expect 0 "convert stories260K" -- "$bin" "$hf" -o "$dir/s.gguf" --outtype f16
mentions "model.layers.0.self_attn.q_proj.weight"
mentions "blk.0.attn_q.weight"
mentions "general.file_type 1"
[ -s "$dir/s.gguf" ] || { echo "FAIL: no output file"; failures=$((failures + 1)); }

[ "$failures" -eq 0 ] && echo "all ember-convert CLI checks passed"
exit "$failures"
