#!/usr/bin/env python3
"""ember-bench as a user runs it: exit statuses, the markdown table, and JSON lines with the
keys of ../shared/peer's `peer bench` (so that the two can be compared line by line), depths.
usage: test_bench_cli.py EMBER_BENCH SHARED_DIR"""
import json
import os
import subprocess
import sys

binary, shared = sys.argv[1], sys.argv[2]
models = [os.path.join(shared, "models", m) for m in ("stories260K.gguf", "small-llama-pure-Q4_0.gguf")]
failures = []
PEER_KEYS = {"pp_tok_s", "pp_min", "pp_max", "tg_tok_s", "tg_min", "tg_max",
             "n_prompt", "n_gen", "threads", "reps", "engine", "model"}


def run(*args):
    p = subprocess.run([binary, *args], capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def expect_status(want, what, *args):
    code, out, err = run(*args)
    if code != want:
        failures.append(f"{what}: exit {code}, expected {want}\n{out}{err}")
    return out, err


out, _ = expect_status(0, "help", "--help")
if "-ngl" not in out or "tg_tok_s" not in out:
    failures.append("--help does not document -ngl and the JSON keys")
expect_status(2, "no arguments")
expect_status(2, "bad -o", "-m", models[0], "-o", "xml")
expect_status(2, "bad -p", "-m", models[0], "-p", "x")
expect_status(2, "zero threads", "-m", models[0], "-t", "0")
expect_status(1, "missing model", "-m", os.path.join(shared, "no-such.gguf"))

small = ["-p", "32", "-n", "4", "-r", "2"]
out, err = expect_status(0, "json", "-m", ",".join(models), *small, "-t", "1,2", "-o", "json", "-ngl", "99")
if "no GPU backend" not in err:
    failures.append("-ngl gives no CPU warning")
lines = [l for l in out.splitlines() if l.strip()]
if len(lines) != 4:
    failures.append(f"expected one JSON line per model x thread count (4), got {len(lines)}:\n{out}")
for line in lines:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as e:
        failures.append(f"not JSON ({e}): {line}")
        continue
    # peer bench's keys, so scripts read both the same way, plus where the layers ran, the cache
    # types and the model's load time.
    if set(row) != PEER_KEYS | {"n_depth", "n_gpu_layers", "backend", "type_k", "type_v", "load_s"}:
        failures.append(f"keys {sorted(row)} are not peer bench's {sorted(PEER_KEYS)} + n_depth, n_gpu_layers, "
                        "backend, type_k, type_v, load_s")
        continue
    if not 0 <= row["load_s"] < 60:
        failures.append(f"load_s is not a load time in seconds: {line}")
    if row["type_k"] != "f16" or row["type_v"] != "f16":
        failures.append(f"the default cache is f16: {line}")
    if row["n_gpu_layers"] != 0 or row["backend"] != "cpu":
        failures.append(f"-ngl 99 without a GPU backend must report n_gpu_layers 0 on cpu: {line}")
    if row["engine"] != "ember" or row["n_prompt"] != 32 or row["n_gen"] != 4 or row["reps"] != 2:
        failures.append(f"wrong settings echoed: {line}")
    for k in ("pp", "tg"):
        if not 0 < row[f"{k}_min"] <= row[f"{k}_tok_s"] <= row[f"{k}_max"]:
            failures.append(f"{k}: expected 0 < min <= median <= max: {line}")
if lines and [json.loads(l)["threads"] for l in lines] != [1, 2, 1, 2]:
    failures.append("threads not varied per model")

out, _ = expect_status(0, "markdown", "-m", models[0], *small)
if "| model |" not in out or "pp32" not in out or "tg4" not in out:
    failures.append("markdown table lacks its header or pp32/tg4 rows:\n" + out)
out, _ = expect_status(0, "generation only", "-m", models[0], "-p", "0", "-n", "4", "-r", "1", "-o", "json")
if out.strip():
    row = json.loads(out)
    if "pp_tok_s" in row or "tg_tok_s" not in row:
        failures.append("-p 0 should report tg only: " + out)

# -d: tests after tokens already in the context, one per depth.
expect_status(2, "bad -d", "-m", models[0], "-d", "-5")
out, _ = expect_status(0, "depth", "-m", models[0], "-p", "8", "-n", "4", "-d", "0,40", "-r", "1", "-o", "json")
rows = [json.loads(l) for l in out.splitlines() if l.strip()]
if [r.get("n_depth") for r in rows] != [0, 40] or not all(r["pp_tok_s"] > 0 and r["tg_tok_s"] > 0 for r in rows):
    failures.append("-d 0,40: expected one measured line per depth:\n" + out)
out, _ = expect_status(0, "depth markdown", "-m", models[0], "-p", "8", "-n", "4", "-d", "40", "-r", "1")
if "pp8 @ d40" not in out or "tg4 @ d40" not in out:
    failures.append("markdown rows do not name the depth:\n" + out)

for f in failures:
    print("FAIL:", f)
if not failures:
    print("all ember-bench CLI checks passed")
sys.exit(1 if failures else 0)
