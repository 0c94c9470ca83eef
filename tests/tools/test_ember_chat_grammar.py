"""ember-chat --grammar / --json-schema as a user runs them: replies sampled at temperature 1
follow arithmetic, JSON, list and C-like grammars (judged here by Python's own parsers), a
reply cut by -n before the grammar completed exits 1 with its partial text printed, and bad
grammars and usage give exit statuses 1 and 2."""
import ast
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from checks import check, finish  # noqa: E402

CHAT, SHARED = sys.argv[1], sys.argv[2]
GRAMMARS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "grammars")
MODELS = [os.path.join(SHARED, "models", m) for m in ("stories260K.gguf", "tiny-stories-F16.gguf")]
CUT = "output ended before the grammar completed"


def chat(*args, model=MODELS[0]):
    p = subprocess.run([CHAT, "-m", model, "--no-chat", "-p", "Once upon a time", "-t", "1", *args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    out = p.stdout.decode("utf-8")
    return p.returncode, out[:-1] if out.endswith("\n") else out, p.stderr.decode("utf-8", "replace")


def only_arithmetic(node):
    if isinstance(node, ast.Expression):
        return only_arithmetic(node.body)
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)) and only_arithmetic(node.left) and \
            only_arithmetic(node.right)
    return isinstance(node, ast.Constant) and isinstance(node.value, int)


def is_arithmetic(text):
    return re.fullmatch(r"[0-9+\-*/() ]+", text) is not None and only_arithmetic(ast.parse(text, mode="eval"))


def is_list(text):
    return re.fullmatch(r"(- [a-z]{1,10}( [a-z]{1,10}){0,3}\n){1,5}", text) is not None


def c_expression_ok(tokens, pos=0):
    """expr := term (op term){0,4}; term := name | number | ( expr ). Returns the end or -1."""
    def term(i):
        if i < len(tokens) and re.fullmatch(r"[a-z][a-z0-9_]{0,7}|[0-9]{1,4}", tokens[i]):
            return i + 1
        if i < len(tokens) and tokens[i] == "(":
            j = expr(i + 1)
            return j + 1 if j >= 0 and j < len(tokens) and tokens[j] == ")" else -1
        return -1

    def expr(i):
        i = term(i)
        for _ in range(4):
            if i < 0 or i >= len(tokens) or tokens[i] not in ("+", "-", "*"):
                break
            i = term(i + 1)
        return i
    return expr(pos)


def is_c_like(text):
    lines = text.split("\n")
    if lines[-1] != "" or not 1 <= len(lines) - 1 <= 4:
        return False
    for line in lines[:-1]:
        m = re.fullmatch(r"(int|long|char) ([a-z][a-z0-9_]{0,7}) = (.*);", line)
        if not m or not re.fullmatch(r"([a-z0-9_]+|\(|\)| [+*-] )*", m.group(3)):
            return False
        tokens = re.findall(r"[a-z0-9_]+|[()+*-]", m.group(3))
        if c_expression_ok(tokens) != len(tokens):
            return False
    return True


def is_json(text):
    try:
        json.loads(text)
        return True
    except ValueError:
        return False


JUDGES = {"arithmetic.gbnf": is_arithmetic, "json.gbnf": is_json, "list.gbnf": is_list, "c_like.gbnf": is_c_like}

for name, judge in JUDGES.items():
    finished = 0
    for model in MODELS:
        for seed in (1, 2, 3):
            rc, out, err = chat("--grammar", os.path.join(GRAMMARS, name), "--temp", "1", "--seed", str(seed),
                                "-n", "256", "-c", "1024", model=model)
            where = f"{name} {os.path.basename(model)} seed {seed}"
            if rc == 1 and CUT in err:
                continue
            check(rc == 0, f"{where}: exit {rc} ({err.strip()[-200:]})")
            if rc == 0:
                finished += 1
                check(judge(out), f"{where}: output does not follow the grammar: {out!r}")
    check(finished >= 2, f"{name}: only {finished} replies finished")

# -n cuts the reply before the grammar is complete: exit 1, partial text still printed.
cut_grammar = os.path.join(GRAMMARS, "list.gbnf")
rc, out, err = chat("--json-schema", '{"type":"array","items":{"type":"integer"},"minItems":30}', "-n", "4",
                    "--temp", "1", "--seed", "1")
check(rc == 1 and CUT in err, f"a cut reply exits 1 with the message (exit {rc}, {err!r})")
check(out.startswith("["), f"the partial reply is printed ({out!r})")
# A reply the grammar completes within -n is fine; --temp 0 (greedy) is constrained too.
rc, out, err = chat("--json-schema", '{"enum":["yes","no"]}', "-n", "10", "--temp", "0")
check(rc == 0 and out in ('"yes"', '"no"'), f"greedy under a schema ({rc}, {out!r}, {err!r})")

# llama.cpp's own grammars (read from the peer's source bundle when it is installed, never
# copied here) parse and constrain a reply.
PEER_GRAMMARS = os.environ.get("EMBER_PEER_GRAMMARS", "/tmp/peer/src/grammars")
if os.path.isdir(PEER_GRAMMARS):
    for name in sorted(f for f in os.listdir(PEER_GRAMMARS) if f.endswith(".gbnf")):
        rc, out, err = chat("--grammar", os.path.join(PEER_GRAMMARS, name), "-n", "16", "--temp", "1", "--seed", "1")
        check(rc == 0 or (rc == 1 and CUT in err), f"llama.cpp's {name}: exit {rc} ({err.strip()[-200:]})")
else:
    print(f"(no llama.cpp grammars at {PEER_GRAMMARS}: that check is left out)")

# Bad input: exit 1 with a message naming the problem; bad usage: exit 2.
bad = os.path.join(os.path.dirname(os.path.abspath(__file__)), "grammars", "does-not-exist.gbnf")
rc, out, err = chat("--grammar", bad)
check(rc == 1 and "cannot read the grammar file" in err, f"missing grammar file ({rc}, {err!r})")
rc, out, err = chat("--json-schema", '{"type":"object","patternProperties":{}}')
check(rc == 1 and "'patternProperties' at #" in err, f"unsupported keyword ({rc}, {err!r})")
rc, out, err = chat("--json-schema", "{not json")
check(rc == 1 and "not valid JSON" in err, f"schema that is not JSON ({rc}, {err!r})")
rc, out, err = chat("--grammar", cut_grammar, "--json-schema", "{}")
check(rc == 2 and "cannot be combined" in err, f"--grammar with --json-schema ({rc}, {err!r})")
rc, out, err = chat("--grammar")
check(rc == 2, f"--grammar without a file ({rc})")
finish()
