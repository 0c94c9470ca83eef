#!/usr/bin/env python3
"""Turns ember-kernel-bench JSON (--benchmark_format=json, with --benchmark_repetitions) into the
Markdown tables of RESULTS.md. Rates are taken from the median repetition over all files; for
1-thread rows they are computed from CPU time (robust when other processes share the cores), for
2-thread rows from wall time. Given several GEMM files (batches), it also tabulates the median and
best batch. Usage: results_table.py run.json [more.json ...]"""
import json
import statistics
import sys
from collections import defaultdict

LEVELS = ["scalar", "avx2", "avx512", "avx512vnni", "neon", "neon-dotprod"]


def load(paths):
    """All repetitions of every benchmark (name -> [(real_s, cpu_s)]), and the same per file."""
    runs, batches = defaultdict(list), []
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        batch = defaultdict(list)
        for b in data["benchmarks"]:
            if b.get("run_type") != "iteration":
                continue
            name = b["run_name"] if "run_name" in b else b["name"]
            name = name.replace("/real_time", "")
            unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
            runs[name].append((b["real_time"] * unit, b["cpu_time"] * unit))
            batch[name].append(runs[name][-1])
            if "GBps" in b:  # the counter is a rate over wall time: recover the bytes per iteration
                BYTES[name] = b["GBps"] * 1e9 * b["real_time"] * unit
        batches.append(batch)
    return runs, batches


BYTES = {}


def work(name):
    """(bytes, flops) per iteration for a benchmark name."""
    parts = name.split("/")
    kind = parts[0]
    if kind == "bandwidth":
        return (256 << 20, 0.0)
    out, inp = (int(v) for v in parts[3].split("x"))
    tokens = 1
    for p in parts:
        if p.startswith("tokens:"):
            tokens = int(p.split(":")[1])
    return (None, 2.0 * out * inp * tokens)


def rate(runs, name, what):
    """Median GFLOP/s ("flops") or seconds ("time") of a benchmark; None if absent."""
    if name not in runs:
        return None
    threads = int(name.split("threads:")[1])
    times = [cpu if threads == 1 else real for real, cpu in runs[name]]
    t = statistics.median(times)
    if what == "time":
        return t
    return work(name)[1] / t * 1e-9


def batch_table(batches, types, levels):
    """GEMM(128) per batch (file): the median and best batch against the best batch's GEMV. Whole
    batches run 25-30 % slow when other tenants load the shared cores, the compute-bound GEMM far
    more than the cache-bound GEMV, so the pooled median alone understates GEMM ÷ GEMV."""
    def per_batch(name):
        return [rate(b, name, "flops") for b in batches if name in b]
    rows, n = [], 0
    for t in types:
        for l in levels:
            gm = per_batch(f"gemm/{t}/{l}/2048x2048/tokens:128/threads:1")
            gv = per_batch(f"gemv/{t}/{l}/2048x2048/threads:1")
            if len(gm) < 2 or not gv or l == "scalar":
                continue
            med, best, v, n = statistics.median(gm), max(gm), max(gv), max(n, len(gm))
            rows.append(f"| {t} | {l} | {med:.1f} | {best:.1f} | {v:.1f} | {med / v:.1f}× | {best / v:.1f}× |")
    if not rows:
        return
    print(f"### GEMM(128) 2048×2048, 1 thread, per batch ({n} batches): median and best batch ÷ the best GEMV batch\n")
    print("| type | level | GEMM median | GEMM best batch | GEMV (best batch) | ratio (median) | ratio (best) |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print()


def main():
    runs, batches = load(sys.argv[1:])
    types, levels = [], []
    for name in runs:
        p = name.split("/")
        if p[0] in ("gemv", "gemm"):
            if p[1] not in types:
                types.append(p[1])
            if p[2] not in levels:
                levels.append(p[2])
    levels.sort(key=LEVELS.index)
    simd = [l for l in levels if l != "scalar"]

    print("### GEMV, 1 thread: GB/s of weights (2048×2048 / 5632×2048) and SIMD ÷ scalar\n")
    print("| type | " + " | ".join(levels) + " | " + " | ".join(f"{l} ÷ scalar" for l in simd) + " |")
    print("|---" * (1 + len(levels) + len(simd)) + "|")
    for t in types:
        cells, ratios = [], []
        for l in levels:
            vals = []
            for shape in ("2048x2048", "5632x2048"):
                name = f"gemv/{t}/{l}/{shape}/threads:1"
                s = rate(runs, name, "time")
                vals.append(s)
            cells.append(vals)
        row = [t]
        for vals, l in zip(cells, levels):
            gbps = []
            for v, shape in zip(vals, ("2048x2048", "5632x2048")):
                nbytes = BYTES.get(f"gemv/{t}/{l}/{shape}/threads:1")
                gbps.append("–" if v is None or nbytes is None else f"{nbytes / v * 1e-9:.2f}")
            row.append(" / ".join(gbps))
        sc = cells[levels.index("scalar")] if "scalar" in levels else None
        for l in simd:
            v = cells[levels.index(l)]
            if sc is None or None in sc or None in v:
                row.append("–")
            else:
                row.append(f"{sc[0] / v[0]:.1f}× / {sc[1] / v[1]:.1f}×")
        print("| " + " | ".join(row) + " |")
    print()

    print("### GEMM 2048×2048: GFLOP/s (128 / 512 tokens), 1 and 2 threads, and GEMM ÷ GEMV-per-column\n")
    print("| type | level | 1 thread | 2 threads | GEMV 1 thread | GEMM(128) ÷ GEMV | GEMM(512) ÷ GEMV |")
    print("|---|---|---|---|---|---|---|")
    for t in types:
        for l in levels:
            g = {}
            for tok in (128, 512):
                for th in (1, 2):
                    g[tok, th] = rate(runs, f"gemm/{t}/{l}/2048x2048/tokens:{tok}/threads:{th}", "flops")
            gv = rate(runs, f"gemv/{t}/{l}/2048x2048/threads:1", "flops")
            if all(v is None for v in g.values()):
                continue
            f = lambda v: "–" if v is None else f"{v:.1f}"
            r = lambda v: "–" if v is None or gv is None else f"{v / gv:.1f}×"
            print(f"| {t} | {l} | {f(g[128, 1])} / {f(g[512, 1])} | {f(g[128, 2])} / {f(g[512, 2])} | "
                  f"{f(gv)} | {r(g[128, 1])} | {r(g[512, 1])} |")
    print()
    batch_table(batches, types, levels)
    model = "14336x4096"
    if any(n.startswith("gemm/") and model in n for n in runs):
        print(f"### A model-sized matrix ({model}), 1 thread: GEMV from memory vs GEMM(128)\n")
        print("| type | level | GEMV GB/s | GEMV GFLOP/s | GEMM(128) GFLOP/s | GEMM ÷ GEMV |")
        print("|---|---|---|---|---|---|")
        for t in types:
            for l in levels:
                name = f"gemv/{t}/{l}/{model}/threads:1"
                gv, gm = rate(runs, name, "flops"), rate(runs, f"gemm/{t}/{l}/{model}/tokens:128/threads:1", "flops")
                if gv is None or gm is None:
                    continue
                gbps = BYTES[name] / rate(runs, name, "time") * 1e-9
                print(f"| {t} | {l} | {gbps:.1f} | {gv:.1f} | {gm:.1f} | {gm / gv:.1f}× |")
        print()
    for th in (1, 2):
        s = rate(runs, f"bandwidth/read/threads:{th}", "time")
        if s is not None:
            print(f"read bandwidth probe, {th} thread(s): {(256 << 20) / s * 1e-9:.1f} GB/s")


if __name__ == "__main__":
    main()
