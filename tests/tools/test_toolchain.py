"""The model toolchain as a user runs it, end to end with the programs only:

1. stories260K's Hugging Face checkpoint -> ember-convert -> ember-quantize Q8_0 ->
   ember-perplexity (llama.cpp's figure; the Q8_0 file against the converted one with
   --kl-base) -> ember-bench;
2. the quantizer's quality bar: tiny-stories-F16.gguf quantized by ember-quantize to Q8_0,
   Q6_K, Q5_K_M, Q4_K_M, Q4_0 and Q2_K scores within 0.3 % of llama.cpp's perplexity for the
   same type at -c 256 (conformance/perplexity.json); the F16 source and llama.cpp's own
   Q4_K_M file within 0.5 %.

usage: test_toolchain.py BIN_DIR SHARED_DIR"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from checks import check, finish  # noqa: E402

BIN, SHARED = sys.argv[1], sys.argv[2]
THREADS = "2"


def tool(name):
    return os.path.join(BIN, name)


def shared(*parts):
    return os.path.join(SHARED, *parts)


def run(*args, merged=True):
    started = time.time()
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=900)
    check(p.returncode == 0, f"{os.path.basename(args[0])} {' '.join(map(str, args[1:4]))} exits 0 "
                             f"(got {p.returncode}: {p.stderr.strip()[-400:]})")
    print(f"  {os.path.basename(args[0])}: {time.time() - started:.1f} s", flush=True)
    return p.stdout + p.stderr if merged else p.stdout


def final_ppl(out):
    m = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", out)
    check(m is not None, "perplexity prints a final estimate")
    return float(m.group(1)) if m else float("nan")


def kl_field(out, name):
    m = re.search(rf"{name}\s+= ([0-9.]+)", out)
    check(m is not None, f"--kl-base prints '{name}'")
    return float(m.group(1)) if m else float("nan")


with open(shared("conformance", "perplexity.json")) as f:
    REFERENCE = json.load(f)["entries"]


def reference(n_ctx, **match):
    for e in REFERENCE:
        if e["n_ctx"] == n_ctx and all(e.get(k) == v for k, v in match.items()):
            return e["ppl"]
    raise KeyError(f"no reference for n_ctx={n_ctx} {match}")


def relative(got, want):
    return got / want - 1.0


with tempfile.TemporaryDirectory() as tmp:
    # 1. Hugging Face checkpoint to a benchmark.
    print("stories260K: convert -> quantize -> perplexity -> bench", flush=True)
    converted = os.path.join(tmp, "stories260K-f32.gguf")
    q8 = os.path.join(tmp, "stories260K-q8_0.gguf")
    text = shared("conformance", "text", "stories-heldout.txt")
    run(tool("ember-convert"), shared("models", "stories260K-hf"), "-o", converted, "--outtype", "f32")
    out = run(tool("ember-quantize"), converted, q8, "Q8_0", "-t", THREADS)
    check("F32 -> Q8_0" in out, "ember-quantize reports the types it chose")
    # The checkpoint ties its embeddings; it computes the same function as stories260K.gguf.
    want = reference(128, model="models/stories260K.gguf")
    got = final_ppl(run(tool("ember-perplexity"), "-m", converted, "-f", text, "-c", "128", "-t", THREADS))
    check(abs(relative(got, want)) <= 0.005, f"converted stories260K: PPL {got} vs llama.cpp's {want} (0.5 %)")
    out = run(tool("ember-perplexity"), "-m", q8, "-f", text, "-c", "128", "-t", THREADS, "--kl-base", converted)
    got = final_ppl(out)
    check(abs(relative(got, want)) <= 0.005, f"Q8_0 stories260K: PPL {got} vs llama.cpp's F32 {want} (0.5 %)")
    kl, top1 = kl_field(out, "mean KL"), kl_field(out, "top-1 agreement")
    check(0.0 < kl < 0.01, f"Q8_0 against F32: mean KL {kl} is small but not zero")
    check(top1 > 95.0, f"Q8_0 against F32: top-1 agreement {top1} %")
    out = run(tool("ember-bench"), "-m", q8, "-p", "64", "-n", "16", "-t", THREADS, "-r", "2", "-o", "json", merged=False)
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    check(len(rows) == 1 and rows[0]["pp_tok_s"] > 0 and rows[0]["tg_tok_s"] > 0,
          f"ember-bench measures the quantized model: {rows}")

    # 2. The quantizer's quality bar on tiny-stories (-c 256, 504 chunks of the held-out text).
    print("tiny-stories: quantize -> perplexity against llama.cpp's figures", flush=True)
    f16 = shared("models", "tiny-stories-F16.gguf")
    text = shared("conformance", "text", "tiny-stories-heldout.txt")

    def perplexity(model):
        return final_ppl(run(tool("ember-perplexity"), "-m", model, "-f", text, "-c", "256", "-t", THREADS))

    for name, model, ref_type in (("F16 source", f16, "F16"),
                                  ("llama.cpp's Q4_K_M file", shared("models", "tiny-stories-Q4_K_M.gguf"), "Q4_K_M")):
        got, want = perplexity(model), reference(256, type=ref_type)
        print(f"  {name}: PPL {got:.4f}, llama.cpp {want:.4f} ({100 * relative(got, want):+.3f} %)")
        check(abs(relative(got, want)) <= 0.005, f"{name}: PPL {got} vs llama.cpp's {want} (0.5 %)")
    for qtype in ("Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_0", "Q2_K"):
        quantized = os.path.join(tmp, f"tiny-stories-{qtype}.gguf")
        run(tool("ember-quantize"), f16, quantized, qtype, "-t", THREADS)
        got, want = perplexity(quantized), reference(256, type=qtype)
        print(f"  ember-quantize {qtype}: PPL {got:.4f}, llama.cpp {want:.4f} ({100 * relative(got, want):+.3f} %)")
        check(abs(relative(got, want)) <= 0.003, f"{qtype}: PPL {got} vs llama.cpp's {want} (0.3 %)")
        os.remove(quantized)

sys.exit(finish())
