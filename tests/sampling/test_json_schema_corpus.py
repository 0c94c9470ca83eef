#!/usr/bin/env python3
"""JSON Schema enforcement end to end, judged by an independent validator (python3-jsonschema).

For every schema in json_schemas/valid, ember-chat samples replies at temperature 1 with
several seeds from the shared story models under --json-schema. A reply that finished (exit 0)
must parse as JSON and validate against the schema (formats included); a reply cut by the
token limit must exit 1 saying "output ended before the grammar completed". Each schema needs
a finished reply, so the test cannot pass on cut replies alone: where the base runs finish
none (open-ended objects let these small story models ramble), more tiny-stories seeds are
tried; and most base runs must finish.
Every schema in json_schemas/unsupported.json must be refused (exit 1) with a message naming
its keyword and JSON pointer.

usage: test_json_schema_corpus.py EMBER_CHAT SHARED_DIR [--quick]
(--quick, for the sanitizer build: two base runs per schema instead of four.)
"""
import concurrent.futures
import datetime
import json
import os
import re
import subprocess
import sys

try:
    import jsonschema
except ImportError:
    sys.exit("test_json_schema_corpus: python3-jsonschema is missing (scripts/install-deps.sh installs it)")

HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = [("models/stories260K.gguf", seed) for seed in (1, 2, 3)] + \
       [("models/tiny-stories-F16.gguf", seed) for seed in (1,)]
MAX_TOKENS = 384
EXTRA_RUNS = [("models/tiny-stories-F16.gguf", seed) for seed in range(2, 13)]
MIN_BASE_COMPLETE = 0.8  # of all base runs
CUT_MESSAGE = "output ended before the grammar completed"

RFC3339_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$", re.I)


def format_checker():
    # jsonschema checks date and uuid itself; time and date-time need an optional package,
    # so they are checked here by RFC 3339's grammar and Python's calendar.
    checker = jsonschema.FormatChecker()

    @checker.checks("time", raises=ValueError)
    def is_time(value):
        if not isinstance(value, str):
            return True
        if not RFC3339_TIME.match(value):
            raise ValueError("not an RFC 3339 time")
        return True

    @checker.checks("date-time", raises=ValueError)
    def is_date_time(value):
        if not isinstance(value, str):
            return True
        date, sep, time = value.partition("T") if "T" in value else value.partition("t")
        if not sep or not RFC3339_TIME.match(time):
            raise ValueError("not an RFC 3339 date-time")
        datetime.date.fromisoformat(date)
        return True

    return checker


def run_chat(chat, shared, model, seed, schema_path):
    cmd = [chat, "-m", os.path.join(shared, model), "--no-chat", "-p", "Once upon a time", "--json-schema", schema_path,
           "--temp", "1", "--seed", str(seed), "-n", str(MAX_TOKENS), "-c", "1024", "-t", "1"]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8", "replace")


def main():
    chat, shared = sys.argv[1], sys.argv[2]
    global RUNS
    if "--quick" in sys.argv[3:]:
        RUNS = [RUNS[0], RUNS[-1]]
    checker = format_checker()
    valid_dir = os.path.join(HERE, "json_schemas", "valid")
    names = sorted(f for f in os.listdir(valid_dir) if f.endswith(".json"))
    assert len(names) >= 40, "the corpus should hold 40+ schemas"
    failures = []
    jobs = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for name in names:
            path = os.path.join(valid_dir, name)
            for model, seed in RUNS:
                jobs[pool.submit(run_chat, chat, shared, model, seed, path)] = (name, model, seed)
        results = {}
        for fut in concurrent.futures.as_completed(jobs):
            results[jobs[fut]] = fut.result()

    def judge(name, validator, model, seed, rc, out, err):
        """True for a finished, valid reply; False for a cut one; a failure otherwise."""
        where = f"{name} {os.path.basename(model)} seed {seed}"
        if rc == 1 and CUT_MESSAGE in err:
            return False
        if rc != 0:
            failures.append(f"{where}: exit {rc}: {err.strip()[-300:]}")
            return False
        text = out[:-1] if out.endswith("\n") else out  # ember-chat ends a reply with a newline
        try:
            doc = json.loads(text)
        except ValueError as e:
            failures.append(f"{where}: not JSON ({e}): {text[:300]!r}")
            return False
        errors = sorted(validator.iter_errors(doc), key=str)
        if errors:
            failures.append(f"{where}: invalid: {errors[0].message}: {text[:300]!r}")
            return False
        return True

    base_complete = 0
    for name in names:
        path = os.path.join(valid_dir, name)
        schema = json.load(open(path, encoding="utf-8"))
        validator = jsonschema.Draft202012Validator(schema, format_checker=checker)
        complete = sum(judge(name, validator, m, s, *results[(name, m, s)]) for m, s in RUNS)
        base_complete += complete
        tried = len(RUNS)
        for model, seed in EXTRA_RUNS:
            if complete:
                break
            complete += judge(name, validator, model, seed, *run_chat(chat, shared, model, seed, path))
            tried += 1
        print(f"{name}: {complete}/{tried} replies finished, all valid")
        if not complete:
            failures.append(f"{name}: no reply finished within {MAX_TOKENS} tokens in {tried} runs")
    share = base_complete / (len(names) * len(RUNS))
    print(f"{share:.0%} of the base runs finished")
    if share < MIN_BASE_COMPLETE:
        failures.append(f"only {share:.0%} of the base runs finished (at least {MIN_BASE_COMPLETE:.0%} expected)")

    cases = json.load(open(os.path.join(HERE, "json_schemas", "unsupported.json"), encoding="utf-8"))
    for case in cases:
        rc, out, err = run_chat(chat, shared, "models/stories260K.gguf", 1, json.dumps(case["schema"]))
        expected = [case["keyword"], "at " + case["pointer"]]
        if rc != 1 or not all(e in err for e in expected):
            failures.append(f"unsupported {case['keyword']}: exit {rc}, stderr {err.strip()!r}, wanted {expected}")
    print(f"{len(cases)} unsupported schemas refused")

    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
