"""Logits files as `ember-eval --dump-logits` and llama.cpp's peer write them, and how far two are apart."""
import struct


def read_logits(path):
    """int32 n_tokens, int32 n_vocab, int32 tokens[n_tokens], float32 logits[n_tokens][n_vocab]."""
    with open(path, "rb") as f:
        n_tokens, n_vocab = struct.unpack("<ii", f.read(8))
        tokens = struct.unpack(f"<{n_tokens}i", f.read(4 * n_tokens))
        flat = struct.unpack(f"<{n_tokens * n_vocab}f", f.read(4 * n_tokens * n_vocab))
    return tokens, [flat[i * n_vocab:(i + 1) * n_vocab] for i in range(n_tokens)]


def nrmse(ours, ref):
    """Per position ||ours - ref|| / ||ref||: (the largest, the mean)."""
    out = []
    for a, b in zip(ours, ref):
        num = sum((x - y) ** 2 for x, y in zip(a, b))
        den = sum(y * y for y in b)
        out.append((num / den) ** 0.5 if den else 0.0)
    return max(out), sum(out) / len(out)
