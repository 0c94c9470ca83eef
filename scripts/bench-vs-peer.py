#!/usr/bin/python3
"""ember-bench beside llama.cpp (../shared/peer) in the same run, engine order alternating per
test, and a markdown table of both with Ember ÷ llama.cpp ratios, peak RSS and load times.

usage: bench-vs-peer.py EMBER_BENCH PEER MODEL[,MODEL...] [-p 512] [-n 128] [-t 1,2] [-r 3] [-d 0]
                        [--probe GBPS] [--gguf EMBER_GGUF]
PEER is `peer` from ../shared/peer/setup.sh; with PEER-depth beside it (bench/peer/build.sh)
llama.cpp runs through that (it starts at any depth and reports its load time), else through
`peer bench` (depth 0 only). --probe (the machine's streaming-read GB/s at the same thread
count, e.g. ember-kernel-bench's bandwidth/read) with --gguf (ember-gguf, for the tensor sizes)
adds the generation's bandwidth fraction: weights read per token (every tensor but the token
embeddings) plus the KV cache at the generation's mean depth, times tokens/s, over the probe."""
import argparse
import json
import os
import subprocess
import tempfile

parser = argparse.ArgumentParser()
parser.add_argument("ember")
parser.add_argument("peer")
parser.add_argument("models")
parser.add_argument("-p", default="512")
parser.add_argument("-n", default="128")
parser.add_argument("-t", default="1,2")
parser.add_argument("-r", default="3")
parser.add_argument("-d", default="0")
parser.add_argument("--probe", default="", help="GB/s per thread count, e.g. 1=19.9,2=30.5")
parser.add_argument("--gguf", default="")
args = parser.parse_args()
peer_depth = args.peer + "-depth"
have_depth = os.path.exists(peer_depth)
if args.d != "0" and not have_depth:
    parser.error(f"-d needs {peer_depth} (bench/peer/build.sh)")
probe = dict(item.split("=") for item in args.probe.split(",")) if args.probe else {}


def measure(command):
    """The command's JSON line and its peak resident memory in MB."""
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True)
        out = proc.stdout.read()
        proc.stdout.close()
        _, status, usage = os.wait4(proc.pid, 0)  # reaped here, for its rusage
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            err.seek(0)
            raise SystemExit(f"{command[0]} failed ({proc.returncode}): {err.read().strip()[-400:]}")
    result = next(json.loads(line) for line in out.splitlines() if line.startswith("{"))
    result["rss_mb"] = usage.ru_maxrss / 1024
    return result


def bytes_per_token(model):
    """Weights a decoded token reads, and KV cache bytes per cell (f16 cache)."""
    n_ctx = 1024
    info = json.loads(subprocess.run([args.gguf, "info", model, "--json", "--ctx", str(n_ctx)], check=True,
                                     capture_output=True, text=True).stdout)
    weights = sum(t["bytes"] for t in info["tensors"] if t["name"] != "token_embd.weight")
    return weights, info["memory_estimate"]["cpu"]["kv_cache"] / n_ctx


rows = []
for i, model in enumerate(args.models.split(",")):
    for threads in args.t.split(","):
        common = ["-p", args.p, "-n", args.n, "-t", threads, "-r", args.r]
        peer = [peer_depth, model, *common, "-d", args.d] if have_depth else [args.peer, "bench", model, *common]
        engines = [("ember", [args.ember, "-m", model, *common, "-d", args.d, "-o", "json"]), ("peer", peer)]
        if i % 2:
            engines.reverse()
        result = {name: measure(command) for name, command in engines}
        e, p = result["ember"], result["peer"]
        fraction = ""
        if threads in probe and args.gguf and args.n != "0":
            weights, kv_cell = bytes_per_token(model)
            depth = int(args.d) + int(args.p) + int(args.n) / 2
            fraction = f"{(weights + kv_cell * depth) * e['tg_tok_s'] / (float(probe[threads]) * 1e9):.0%}"
        rows.append((os.path.basename(model), threads, e, p, fraction))
        print(f"# {os.path.basename(model)} t={threads}: pp {e.get('pp_tok_s', 0):.1f} vs {p.get('pp_tok_s', 0):.1f}, "
              f"tg {e.get('tg_tok_s', 0):.1f} vs {p.get('tg_tok_s', 0):.1f}", flush=True)


def rate(r, key):
    return f"{r[key]:.1f}" if key in r else "-"


def ratio(e, p, key):
    return f"{e[key] / p[key]:.2f}×" if key in e and key in p else "-"


depth = f" @ d{args.d}" if args.d != "0" else ""
print(f"\n| model | threads | pp{args.p}{depth} Ember | llama.cpp | ratio | tg{args.n} Ember | llama.cpp | ratio "
      f"| tg bandwidth | RSS MB Ember / llama.cpp | load s Ember / llama.cpp |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for model, threads, e, p, fraction in rows:
    load = f"{e.get('load_s', float('nan')):.2f} / {p['load_s']:.2f}" if "load_s" in p else f"{e.get('load_s', float('nan')):.2f} / -"
    print(f"| {model} | {threads} | {rate(e, 'pp_tok_s')} | {rate(p, 'pp_tok_s')} | {ratio(e, p, 'pp_tok_s')} "
          f"| {rate(e, 'tg_tok_s')} | {rate(p, 'tg_tok_s')} | {ratio(e, p, 'tg_tok_s')} | {fraction or '-'} "
          f"| {e['rss_mb']:.0f} / {p['rss_mb']:.0f} | {load} |")
