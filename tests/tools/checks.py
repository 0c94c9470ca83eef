"""Shared by the program tests: count checks, print failures, end with 'N passed, M failed'."""
import sys

_failures = []
_passed = 0


def check(cond, what):
    global _passed
    if cond:
        _passed += 1
    else:
        _failures.append(what)
        print("FAILED:", what)


def finish():
    print(f"{_passed} passed, {len(_failures)} failed")
    sys.exit(1 if _failures else 0)
