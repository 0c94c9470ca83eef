#!/usr/bin/env python3
"""Stream a completion from a GGUF model with Ember's Python binding.

usage: stream.py [MODEL.gguf] [PROMPT] [MAX_TOKENS]
"""
import sys

import ember


def main():
    model_path = sys.argv[1] if len(sys.argv) > 1 else "../shared/models/stories260K.gguf"
    prompt = sys.argv[2] if len(sys.argv) > 2 else "Once upon a time, there was a little"
    max_tokens = int(sys.argv[3]) if len(sys.argv) > 3 else 16
    try:
        model = ember.Model(model_path)
    except ember.EmberError as e:
        print(f"stream.py: {e}", file=sys.stderr)
        return 1
    for piece in model.generate(prompt, max_tokens=max_tokens, temperature=0):
        print(piece, end="", flush=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
