#!/usr/bin/env python3
"""ember-perplexity as a user runs it: exit statuses (0 ok, 1 bad input, 2 bad usage), the
running estimate, llama.cpp's figure for stories260K (conformance/perplexity.json) and a model
compared with itself.
usage: test_perplexity_cli.py EMBER_PERPLEXITY SHARED_DIR"""
import json
import os
import re
import subprocess
import sys
import tempfile

binary, shared = sys.argv[1], sys.argv[2]
model = os.path.join(shared, "models", "stories260K.gguf")
text = os.path.join(shared, "conformance", "text", "stories-heldout.txt")
failures = []


def run(*args):
    p = subprocess.run([binary, *args], capture_output=True, text=True, timeout=600)
    return p.returncode, p.stdout, p.stderr


def expect_status(want, what, *args):
    code, out, err = run(*args)
    if code != want:
        failures.append(f"{what}: exit {code}, expected {want}\n{out}{err}")
    return out, err


def final_estimate(out):
    m = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", out)
    return (float(m.group(1)), float(m.group(2))) if m else None


out, _ = expect_status(0, "help", "--help")
if "--kl-base" not in out:
    failures.append("--help does not mention --kl-base")
expect_status(2, "no arguments")
expect_status(2, "no text", "-m", model)
expect_status(2, "unknown option", "-m", model, "-f", text, "--frobnicate", "1")
expect_status(2, "bad context", "-m", model, "-f", text, "-c", "abc")
expect_status(2, "batch not dividing the context", "-m", model, "-f", text, "-c", "64", "-b", "24")
expect_status(1, "missing model", "-m", os.path.join(shared, "no-such.gguf"), "-f", text)
expect_status(1, "missing text", "-m", model, "-f", os.path.join(shared, "no-such.txt"))
with tempfile.TemporaryDirectory() as tmp:
    short = os.path.join(tmp, "short.txt")
    with open(short, "w") as f:
        f.write("Once upon a time there was a cat.\n")
    expect_status(1, "text shorter than one chunk", "-m", model, "-f", short, "-c", "64")

# llama.cpp's figure for the whole held-out text at -c 64.
with open(os.path.join(shared, "conformance", "perplexity.json")) as f:
    ref = next(e for e in json.load(f)["entries"]
               if e.get("model") == "models/stories260K.gguf" and e["n_ctx"] == 64)
out, _ = expect_status(0, "stories260K -c 64", "-m", model, "-f", text, "-c", "64", "-t", "1")
got = final_estimate(out)
if got is None:
    failures.append("no final estimate:\n" + out)
else:
    if abs(got[0] / ref["ppl"] - 1) > 0.005:
        failures.append(f"PPL {got[0]} differs from llama.cpp's {ref['ppl']} by more than 0.5 %")
    if abs(got[1] / ref["stderr"] - 1) > 0.05:
        failures.append(f"standard error {got[1]} differs from llama.cpp's {ref['stderr']}")
    running = re.findall(r"\[(\d+)\]([0-9.]+)", out)
    if not running or float(running[-1][1]) != round(got[0], 4):
        failures.append("the running estimate does not end at the final value")

# A model against itself: zero KL, full agreement.
out, _ = expect_status(0, "--kl-base itself", "-m", model, "-f", text, "-c", "64", "--chunks", "3", "-t", "1",
                       "--kl-base", model)
for pattern in (r"mean KL\s+= 0\.000000 ", r"top-1 agreement\s+= 100\.000 %", r"RMS delta-p\s+= 0\.0000 %"):
    if not re.search(pattern, out):
        failures.append(f"--kl-base itself: no line matching {pattern!r}:\n{out}")
if "[3]" not in out or "[4]" in out:
    failures.append("--chunks 3 did not stop after three chunks")
expect_status(1, "--kl-base with another vocabulary", "-m", model, "-f", text, "-c", "64", "--chunks", "1",
              "--kl-base", os.path.join(shared, "models", "micro-llama3-F16.gguf"))

for f in failures:
    print("FAIL:", f)
if not failures:
    print("all ember-perplexity CLI checks passed")
sys.exit(1 if failures else 0)
