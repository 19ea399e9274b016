#!/usr/bin/python3
"""Regression test for the peer-test harness: reading a client's output while it runs.

mock_peers_group.py's intermittent kcat -G failure (issues 4/6/9: two members in a Stable group
"did not consume all 400 messages") was the harness, not kwire-mock. Proc.lines() did
seek(0) + read() on the temporary file that kcat writes its stdout to. Parent and child share
that open file description and so its offset: when kcat (-u: one write() per field of a message)
wrote between the seek and the end of the read, its writes went to the start of the file, over
its own earlier lines, and the rest of the message was appended to the last line. The output of
a failed run showed both halves:

    line 1:   "\\n1|97|key-388alue 1 y"         (was "0|0|key-001|value 1 y")
    last:     "1|96|key-383|value 383 yyyyyy|value 388 yyyyyyyyyyy"

Lines were lost or merged, so the line count never reached 400 (or the parse failed).

Checks, with a child that writes like kcat -u (one write() per field):
  1. lines() never shows a line the child is still writing, and shows it once complete; a
     trailing fragment counts once the child has exited (deterministic, stdin handshakes);
  2. polling lines() as fast as possible while the child writes 20,000 lines: every snapshot is
     a prefix of what the child wrote and the final output is exact. The seek+read reader
     failed this in 10 of 10 runs on a loaded 2-core machine.

Usage: mock_peers_harness.py
"""
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree from this import
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mock_peers_group import Proc, read_all  # noqa: E402

FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)
    return cond


def line(i):
    return "%d|%d|key-%05d|value %d" % (i % 4, i, i, i)


# Writes line 0, then line 1 in pieces and a last line without a newline; before each piece
# after the first half of line 1 it waits for one byte on stdin.
HANDSHAKE_CHILD = r'''
import os, sys
for piece in ("0|0|key-00000|value 0\n", "1|1|", "key-00001", None, "|value 1\n", None,
              "2|2|tail", None):
    if piece is None:
        sys.stdin.buffer.read(1)
    else:
        os.write(1, piece.encode())
'''

# Writes n lines like line(i), one write() per field.
STRESS_CHILD = r'''
import os, sys
for i in range(int(sys.argv[1])):
    for f in ("%d" % (i % 4), "|", "%d" % i, "|", "key-%05d" % i, "|", "value %d" % i, "\n"):
        os.write(1, f.encode())
'''


def wait_output(p, text):
    """Waits (60 s at most) until the child's output holds text: the child has then written
    everything before its next handshake."""
    end = time.time() + 60
    while text not in read_all(p.out) and time.time() < end:
        time.sleep(0.01)


def handshake():
    p = Proc([sys.executable, "-c", HANDSHAKE_CHILD], stdin=subprocess.PIPE)

    def go_on():
        p.proc.stdin.write(b"x")
        p.proc.stdin.flush()

    try:
        wait_output(p, "key-00001")
        check(p.lines() == [line(0)],
              "harness: a line the child is still writing is not shown (%r)" % p.lines())
        go_on()
        wait_output(p, "value 1\n")
        check(p.lines() == [line(0), line(1)],
              "harness: the line shows once its newline is written (%r)" % p.lines())
        go_on()
        wait_output(p, "tail")
        go_on()
        p.proc.wait(timeout=60)
        check(p.lines() == [line(0), line(1), "2|2|tail"],
              "harness: after exit a trailing fragment counts (%r)" % p.lines())
    finally:
        p.stop()


def stress(n=20000):
    expected = [line(i) for i in range(n)]
    p = Proc([sys.executable, "-c", STRESS_CHILD, str(n)])
    polls, bad = 0, None
    try:
        while p.proc.poll() is None and bad is None:
            got = p.lines()
            polls += 1
            if got != expected[:len(got)]:
                bad = next(i for i, l in enumerate(got) if i >= n or l != expected[i])
                bad = (bad, got[bad])
        p.proc.wait(timeout=120)
    finally:
        p.stop()
    check(bad is None, "harness: %d reads while the child wrote, each a prefix of its output "
                       "(first bad line: %r)" % (polls, bad))
    got = p.lines()
    check(got == expected, "harness: the child's %d lines read back exactly (%d lines)"
          % (n, len(got)))


def main():
    handshake()
    stress()
    if FAILURES:
        print("%d check(s) failed" % len(FAILURES))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
