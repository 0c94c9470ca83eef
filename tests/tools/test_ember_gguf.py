"""ember-gguf as a user runs it: info agrees with an independent parse of every shared model,
exit statuses follow the project's rule, split/merge and dequant produce the right bytes."""
import glob
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import gguf_py  # noqa: E402
from checks import check, finish  # noqa: E402

EMBER_GGUF, SHARED = sys.argv[1], sys.argv[2]


def run(*args, binary=False):
    return subprocess.run([EMBER_GGUF, *args], capture_output=True, timeout=120, text=not binary)


# info --json agrees with the independent reader on every shared model, the newer
# architectures' fixtures included.
models = sorted(glob.glob(os.path.join(SHARED, "models", "*.gguf")))
check(len(models) >= 25, "shared models found")
models += sorted(glob.glob(os.path.join(SHARED, "archs", "models", "*.gguf")))
# Each architecture's default sliding-window period (phi3's window is ignored, as llama.cpp does).
LOCAL_PERIOD = {"gemma2": 2, "gemma3": 6, "gpt-oss": 2}
for path in models:
    name = os.path.basename(path)
    ref = gguf_py.read(path)
    p = run("info", "--json", path)
    check(p.returncode == 0, f"{name}: info exits 0 ({p.stderr.strip()})")
    if p.returncode != 0:
        continue
    info = json.loads(p.stdout)
    check(info["version"] == ref["version"], f"{name}: version")
    check(set(info["metadata"]) == set(ref["metadata"]), f"{name}: metadata keys")
    check(info["architecture"] == ref["metadata"]["general.architecture"], f"{name}: architecture")
    got = [(t["name"], t["type"], t["shape"], t["bytes"], t["offset"]) for t in info["tensors"]]
    want = [(t["name"], t["type"], t["shape"], t["bytes"], t["offset"]) for t in ref["tensors"]]
    check(got == want, f"{name}: tensor table")
    check(info["totals"]["n_params"] == sum(t["n_elements"] for t in ref["tensors"]), f"{name}: parameter count")
    check(info["totals"]["bytes"] == sum(t["bytes"] for t in ref["tensors"]), f"{name}: total bytes")
    md = ref["metadata"]
    arch = md["general.architecture"]
    # Mixture of experts: a token runs through expert_used_count of the expert_count slices of
    # each *_exps tensor.
    n_expert, n_used = md.get(f"{arch}.expert_count", 0), md.get(f"{arch}.expert_used_count", 0)
    active = sum(t["n_elements"] // n_expert * n_used if n_expert and "_exps" in t["name"] and len(t["shape"]) == 3
                 else t["n_elements"] for t in ref["tensors"])
    check(info["totals"]["n_params_active"] == active and info["totals"]["n_expert"] == n_expert,
          f"{name}: active parameter count")
    if n_expert:
        check(f"{n_expert} experts, {n_used} used per token; {active} parameters active" in run("info", path).stdout,
              f"{name}: text info shows the experts")
    n_layer, n_head = md[f"{arch}.block_count"], md[f"{arch}.attention.head_count"]
    n_head_kv = md.get(f"{arch}.attention.head_count_kv", n_head)
    head_dim = md.get(f"{arch}.attention.key_length", md[f"{arch}.embedding_length"] // n_head)
    mem = info["memory_estimate"]
    # Sliding-window layers hold their window plus one 512-token micro-batch (capped by the
    # context); without a window every layer holds the context.
    ctx = md[f"{arch}.context_length"]
    n_local = 0
    if arch in LOCAL_PERIOD and md.get(f"{arch}.attention.sliding_window", 0):
        period = md.get(f"{arch}.attention.sliding_window_pattern", LOCAL_PERIOD[arch])
        n_local = sum(1 for i in range(n_layer) if period == 0 or i % period < period - 1)
    swa_cells = min(ctx, md.get(f"{arch}.attention.sliding_window", 0) + 512)
    kv_cells = (n_layer - n_local) * ctx + n_local * swa_cells
    check(mem["cpu"]["kv_cache"] == 2 * kv_cells * n_head_kv * head_dim * 2, f"{name}: KV cache estimate")
    text = run("info", path)
    check(text.returncode == 0 and "memory estimate" in text.stdout, f"{name}: text info")

# Offload split: --ngl moves the last layers' weights and KV cache to the GPU column.
tiny = os.path.join(SHARED, "models", "tiny-stories-F16.gguf")
half = json.loads(run("info", "--json", "--ngl", "4", "--ctx", "256", tiny).stdout)["memory_estimate"]
full = json.loads(run("info", "--json", "--ngl", "99", "--ctx", "256", tiny).stdout)["memory_estimate"]
check(half["n_gpu_layers"] == 4 and half["cpu"]["kv_cache"] == half["gpu"]["kv_cache"], "--ngl 4 of 8: KV split in half")
check(full["cpu"]["kv_cache"] == 0 and full["gpu"]["weights"] > half["gpu"]["weights"], "--ngl 99: everything offloaded")

# Exit statuses: 0 ok, 1 bad input, 2 bad usage.
check(run().returncode == 2, "no command: exit 2")
check(run("frobnicate").returncode == 2, "unknown command: exit 2")
check(run("info").returncode == 2, "info without FILE: exit 2")
check(run("info", "--ctx", "abc", models[0]).returncode == 2, "bad --ctx: exit 2")
p = run("info", "/nonexistent.gguf")
check(p.returncode == 1 and "/nonexistent.gguf" in p.stderr, "missing file: exit 1 naming it")
with tempfile.TemporaryDirectory() as tmp:
    junk = os.path.join(tmp, "junk.gguf")
    with open(junk, "wb") as f:
        f.write(b"GGUF\x03\x00\x00\x00" + b"\xff" * 40)
    p = run("info", junk)
    check(p.returncode == 1 and "junk.gguf" in p.stderr, "corrupt file: exit 1 naming it")

    # split / merge round trip through the command line.
    src = os.path.join(SHARED, "models", "stories260K.gguf")
    check(run("split", src, os.path.join(tmp, "s")).returncode == 2, "split without a limit: exit 2")
    p = run("split", "--max-size", "400K", src, os.path.join(tmp, "s"))
    check(p.returncode == 0, "split --max-size")
    first = os.path.join(tmp, "s-00001-of-00003.gguf")
    check(os.path.exists(first), "first shard named <prefix>-00001-of-00003.gguf")
    info = json.loads(run("info", "--json", first).stdout)
    check(info["n_shards"] == 3 and len(info["tensors"]) == 48, "info on a split model sees all shards")
    merged = os.path.join(tmp, "merged.gguf")
    check(run("merge", first, merged).returncode == 0, "merge")
    with open(src, "rb") as a, open(merged, "rb") as b:
        check(a.read() == b.read(), "split + merge is byte-identical")

    # dequant: every type in ../shared/quant equals llama.cpp's values bit for bit.
    with open(os.path.join(SHARED, "quant", "reference.json")) as f:
        reference = json.load(f)["types"]
    check(len(reference) >= 14, "quant reference types found")
    for file_type, tensors in sorted(reference.items()):
        model = os.path.join(SHARED, "models", f"small-llama-pure-{file_type}.gguf")
        for tensor_name, entry in tensors.items():
            out = os.path.join(tmp, "out.f32")
            with open(out, "wb") as f:
                p = subprocess.run([EMBER_GGUF, "dequant", model, tensor_name], stdout=f, timeout=60)
            with open(out, "rb") as a, open(os.path.join(SHARED, entry["dequant_file"]), "rb") as b:
                check(p.returncode == 0 and a.read() == b.read(), f"dequant {entry['ggml_type']} {tensor_name} is bit-exact")
    p = run("dequant", src, "no.such.tensor", binary=True)
    check(p.returncode == 1 and b"no.such.tensor" in p.stderr, "dequant of a missing tensor: exit 1")

finish()
