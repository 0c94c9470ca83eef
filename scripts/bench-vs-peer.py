#!/usr/bin/python3
"""ember-bench beside llama.cpp's `peer bench` (../shared/peer) in the same run, engine order
alternating per test, and a markdown table of both with Ember ÷ llama.cpp ratios.

usage: bench-vs-peer.py EMBER_BENCH PEER MODEL[,MODEL...] [-p 512] [-n 128] [-t 1,2] [-r 3] [-d 0]
-d N (tokens already in the context) runs PEER-depth, built beside PEER by bench/peer/build.sh,
since `peer bench` starts from an empty context."""
import argparse
import json
import os
import subprocess

parser = argparse.ArgumentParser()
parser.add_argument("ember")
parser.add_argument("peer")
parser.add_argument("models")
parser.add_argument("-p", default="512")
parser.add_argument("-n", default="128")
parser.add_argument("-t", default="1,2")
parser.add_argument("-r", default="3")
parser.add_argument("-d", default="0")
args = parser.parse_args()


def measure(command):
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return next(json.loads(line) for line in out.splitlines() if line.startswith("{"))


rows = []
for i, model in enumerate(args.models.split(",")):
    for threads in args.t.split(","):
        common = ["-p", args.p, "-n", args.n, "-t", threads, "-r", args.r]
        peer = [args.peer + "-depth", model, *common, "-d", args.d] if args.d != "0" else [args.peer, "bench", model, *common]
        engines = [("ember", [args.ember, "-m", model, *common, "-d", args.d, "-o", "json"]), ("peer", peer)]
        if i % 2:
            engines.reverse()
        result = {name: measure(command) for name, command in engines}
        rows.append((os.path.basename(model), threads, result["ember"], result["peer"]))
        e, p = result["ember"], result["peer"]
        print(f"# {os.path.basename(model)} t={threads}: pp {e['pp_tok_s']:.1f} vs {p['pp_tok_s']:.1f}, "
              f"tg {e['tg_tok_s']:.1f} vs {p['tg_tok_s']:.1f}", flush=True)

depth = f" @ d{args.d}" if args.d != "0" else ""
print(f"\n| model | threads | pp{args.p}{depth} Ember | pp{args.p} llama.cpp | pp ratio | tg{args.n} Ember "
      f"| tg{args.n} llama.cpp | tg ratio |")
print("|---|---|---|---|---|---|---|---|")
for model, threads, e, p in rows:
    print(f"| {model} | {threads} | {e['pp_tok_s']:.1f} | {p['pp_tok_s']:.1f} | {e['pp_tok_s'] / p['pp_tok_s']:.2f}× "
          f"| {e['tg_tok_s']:.2f} | {p['tg_tok_s']:.2f} | {e['tg_tok_s'] / p['tg_tok_s']:.2f}× |")
