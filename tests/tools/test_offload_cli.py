"""-ngl in every program, run through the whole offload path with the cpu-copy test device
(EMBER_TEST_DEVICE=cpu-copy plays the GPU): each program's output must be identical to the plain
CPU run, the split must be visible where a program reports it, and bad values must fail clearly."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from checks import check, finish  # noqa: E402

BIN, SHARED = sys.argv[1], sys.argv[2]
MODELS = os.path.join(SHARED, "models")
STORIES = os.path.join(MODELS, "stories260K.gguf")  # 5 layers
QUANT = os.path.join(MODELS, "small-llama-Q4_K_M.gguf")
PROMPT = os.path.join(SHARED, "conformance", "prompts", "long.txt")
HELDOUT = os.path.join(SHARED, "conformance", "text", "stories-heldout.txt")
SPLITS = ["1", "2", "4", "5", "-1"]  # one layer, about half, n_layer - 1, all, and -1 (with the head)


def run(program, args, device=None):
    env = dict(os.environ)
    env.pop("EMBER_TEST_DEVICE", None)
    if device is not None:
        env["EMBER_TEST_DEVICE"] = device
    return subprocess.run([os.path.join(BIN, program)] + args, capture_output=True, env=env, timeout=300)


def dump_logits(model, ngl, device, out):
    r = run("ember-eval", ["-m", model, "-f", PROMPT, "-t", "2", "--dump-logits", out, "-ngl", ngl], device)
    check(r.returncode == 0, f"ember-eval -ngl {ngl} on {os.path.basename(model)} exits 0: {r.stderr.decode()}")
    with open(out, "rb") as f:
        return f.read()


with tempfile.TemporaryDirectory() as tmp:
    for model in (STORIES, QUANT):
        base = dump_logits(model, "0", None, os.path.join(tmp, "base.bin"))
        check(len(base) > 12, "ember-eval wrote logits")
        for ngl in SPLITS:
            split = dump_logits(model, ngl, "cpu-copy", os.path.join(tmp, f"split{ngl}.bin"))
            check(split == base, f"ember-eval -ngl {ngl} on cpu-copy: logits bit-identical ({os.path.basename(model)})")

# ember-chat: the greedy reply is the same text whatever the split.
chat = ["-m", STORIES, "-p", "Once upon a time", "--no-chat", "-n", "24", "--temp", "0", "-t", "2"]
base_chat = run("ember-chat", chat)
check(base_chat.returncode == 0 and len(base_chat.stdout) > 20, "ember-chat greedy completion runs")
for ngl in SPLITS:
    r = run("ember-chat", chat + ["-ngl", ngl], "cpu-copy")
    check(r.returncode == 0 and r.stdout == base_chat.stdout, f"ember-chat -ngl {ngl} on cpu-copy: same reply")

# ember-perplexity: the same figure to the last printed digit, with a micro-batch (-b) smaller than a chunk.
ppl = ["-m", STORIES, "-f", HELDOUT, "-c", "64", "-b", "32", "--chunks", "3", "-t", "2"]


def final_estimate(r):
    lines = [ln for ln in r.stdout.decode().splitlines() if ln.startswith("Final estimate")]
    return lines[0] if lines else None


base = run("ember-perplexity", ppl)
check(base.returncode == 0 and final_estimate(base), "ember-perplexity runs")
for ngl in ("2", "-1"):
    r = run("ember-perplexity", ppl + ["-ngl", ngl], "cpu-copy")
    check(r.returncode == 0 and final_estimate(r) == final_estimate(base),
          f"ember-perplexity -ngl {ngl} on cpu-copy: {final_estimate(r)} == {final_estimate(base)}")

# ember-bench: the JSON line says where the layers ran.
for ngl, want_layers, want_backend in (("0", 0, "cpu"), ("2", 2, "cpu+cpu-copy"), ("-1", 5, "cpu+cpu-copy")):
    r = run("ember-bench", ["-m", STORIES, "-p", "8", "-n", "4", "-r", "1", "-t", "2", "-o", "json", "-ngl", ngl],
            "cpu-copy")
    rows = [json.loads(ln) for ln in r.stdout.decode().splitlines() if ln.startswith("{")]
    check(r.returncode == 0 and len(rows) == 1, f"ember-bench -ngl {ngl}: one JSON line")
    if rows:
        check(rows[0]["n_gpu_layers"] == want_layers and rows[0]["backend"] == want_backend,
              f"ember-bench -ngl {ngl}: n_gpu_layers {rows[0]['n_gpu_layers']}, backend {rows[0]['backend']}")
        check(rows[0]["pp_tok_s"] > 0 and rows[0]["tg_tok_s"] > 0, f"ember-bench -ngl {ngl}: speeds measured")

# ember-gguf info: -1 is accepted and means every layer plus the head.
r = run("ember-gguf", ["info", STORIES, "--ngl", "-1", "--ctx", "256"])
out = r.stdout.decode()
check(r.returncode == 0 and "5 of 5 layers on GPU" in out and "GPU" in out, "ember-gguf info --ngl -1: all layers on GPU")
r = run("ember-gguf", ["info", STORIES, "--ngl", "2", "--ctx", "256"])
check(r.returncode == 0 and "2 of 5 layers on GPU" in r.stdout.decode(), "ember-gguf info --ngl 2")

# Without the variable a build with no GPU backend warns and runs everything on the CPU.
r = run("ember-chat", chat + ["-ngl", "2"])
check(r.returncode == 0 and r.stdout == base_chat.stdout, "ember-chat -ngl 2 without a GPU backend: same reply")
check(b"no GPU backend" in r.stderr, f"ember-chat -ngl 2 without a GPU backend warns: {r.stderr.decode()}")
r = run("ember-eval", ["-m", STORIES, "-f", PROMPT, "-ngl", "-1", "--greedy", "4"])
check(r.returncode == 0 and b"no GPU backend" in r.stderr, "ember-eval -ngl -1 without a GPU backend warns, exits 0")

# Bad values: an unknown test device is a load failure (1); a malformed -ngl is bad usage (2).
for program, args in (("ember-eval", ["-m", STORIES, "-f", PROMPT, "-ngl", "1"]),
                      ("ember-chat", ["-m", STORIES, "-p", "x", "--no-chat", "-n", "2", "-ngl", "1"]),
                      ("ember-perplexity", ["-m", STORIES, "-f", HELDOUT, "-c", "64", "--chunks", "1", "-ngl", "1"]),
                      ("ember-bench", ["-m", STORIES, "-p", "8", "-n", "0", "-r", "1", "-ngl", "1"])):
    r = run(program, args, "bogus")
    check(r.returncode == 1 and b"bogus" in r.stderr and b"cpu-copy" in r.stderr,
          f"{program} with EMBER_TEST_DEVICE=bogus: exit {r.returncode}, {r.stderr.decode()[:200]}")
    bad = [a if a != "1" or i == 0 or args[i - 1] != "-ngl" else "abc" for i, a in enumerate(args)]
    r = run(program, bad)
    check(r.returncode == 2 and b"-ngl" in r.stderr, f"{program} -ngl abc: exit {r.returncode}")
r = run("ember-gguf", ["info", STORIES, "--ngl", "abc"])
check(r.returncode == 2, f"ember-gguf info --ngl abc: exit {r.returncode}")

finish()
