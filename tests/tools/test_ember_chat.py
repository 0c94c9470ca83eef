"""ember-chat as a person uses it: in a pseudo-terminal (typing, streaming, Ctrl-C, /reset,
/exit) and non-interactively (-p, piped input, exit statuses)."""
import os
import pty
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from checks import check, finish  # noqa: E402

CHAT, SHARED = sys.argv[1], sys.argv[2]
STORIES = os.path.join(SHARED, "models", "stories260K.gguf")
RANDOM = os.path.join(SHARED, "models", "small-llama-F32.gguf")  # random weights: long replies


class Terminal:
    def __init__(self, args):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execv(CHAT, [CHAT] + args)
        self.out = b""

    def read_until(self, token, timeout=60):
        end = time.time() + timeout
        while token.encode() not in self.out and time.time() < end:
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                try:
                    self.out += os.read(self.fd, 4096)
                except OSError:
                    break
        return token.encode() in self.out

    def read_more(self, n_bytes, timeout=60):
        """Waits until at least n_bytes more output arrived."""
        want, end = len(self.out) + n_bytes, time.time() + timeout
        while len(self.out) < want and time.time() < end:
            self.read_until("\0", 0.2)
        return len(self.out) >= want

    def send(self, text):
        os.write(self.fd, text.encode())

    def wait(self, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            self.read_until("\0", 0.2)
        os.kill(self.pid, signal.SIGKILL)
        return None


# Interactive plain completion: a turn, Ctrl-C in the middle of a long reply, /reset, /exit.
t = Terminal(["-m", STORIES, "--no-chat", "--temp", "0", "-n", "16"])
check(t.read_until("> "), "shows a prompt")
t.send("Once upon a time, there was a little\n")
check(t.read_until("girl named Lily"), "streams the greedy reply")
check(t.read_until("> ", 30), "prompts again after the reply")
t.send("/reset\n")
check(t.read_until("[conversation reset]"), "/reset")
t.send("/exit\n")
check(t.wait() == 0, "/exit ends with status 0")

t = Terminal(["-m", RANDOM, "--no-chat", "--temp", "1", "-c", "8192", "--seed", "3", "--ignore-eos"])
check(t.read_until("> "), "random model: prompt")
t.send("the\n")
check(t.read_more(len("the\r\n") + 16), "the reply is streaming")
t.send("\x03")  # Ctrl-C: the terminal sends SIGINT to ember-chat
check(t.read_until("[interrupted]", 30), "Ctrl-C interrupts the reply")
check(t.read_until("> ", 30), "and the chat goes on")
t.send("/exit\n")
check(t.wait() == 0, "exit after an interrupted reply")

# Chat mode with a template (stories260K has none: chatml, as llama.cpp does).
t = Terminal(["-m", STORIES, "-sys", "You tell stories.", "--temp", "0", "-n", "8"])
check(t.read_until("> "), "chat mode prompt")
t.send("Hello\n")
check(t.read_until("> ", 30), "chat reply then prompt")
t.send("\x04")  # end of input
check(t.wait() == 0, "end of input ends with status 0")

# Non-interactive.
def run(*args, stdin=None):
    return subprocess.run([CHAT, *args], input=stdin, capture_output=True, text=True, timeout=120)

p = run("-m", STORIES, "--no-chat", "--temp", "0", "-n", "16", "-p", "Once upon a time, there was a little")
check(p.returncode == 0 and p.stdout.strip() == "girl named Lily. She loved to play outside", "-p prints the greedy text")
p = run("-m", STORIES, "--no-chat", "--temp", "0", "-n", "16", "--verbose", "-p", "Once upon a time")
check(p.returncode == 0 and "tokens/s" in p.stderr, "--verbose reports speed")
p = run("-m", STORIES, "--no-chat", "--temp", "0", "-n", "4", stdin="One day\nThe end\n/exit\n")
check(p.returncode == 0 and p.stdout.count("\n") >= 2, "piped input: one reply per line")
p = run("-m", STORIES, "-c", "96", "-n", "24", "--temp", "0", stdin="a story about a cat\n" * 6)
check(p.returncode == 0 and "forgot the oldest turn" in p.stderr, "a full context drops the oldest turn")
p = run("-m", STORIES, "-c", "32", "--temp", "0", "--no-chat", "--ignore-eos", "-p", "Once upon a time")
check(p.returncode == 0 and "cut short" in p.stderr and p.stdout.startswith(", there was a little girl"),
      "a reply cut by the context is kept")
p = run("-m", "/nonexistent.gguf", "-p", "x")
check(p.returncode == 1 and "/nonexistent.gguf" in p.stderr, "missing model: exit 1 naming it")
p = run("--top-k", "many")
check(p.returncode == 2 and "--top-k" in p.stderr, "bad option value: exit 2")
p = run("--frobnicate")
check(p.returncode == 2, "unknown option: exit 2")
p = run("-m", STORIES, "--template", "no-such-template", "-p", "x")
check(p.returncode == 1 and "no-such-template" in p.stderr, "unknown template: exit 1 naming it")

finish()
