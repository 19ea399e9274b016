#!/usr/bin/env python3
"""`kwire produce` and `kwire bench produce` against librdkafka's mock cluster, read back
with kcat: one message per input line, -K key delimiter, -k fixed key, -p partition, -H
headers, -z codec, -X properties, files and stdin; exit status 0 only when every message was
acknowledged, otherwise the count of failures and why; the benchmark's JSON line.

Exits 77 (skipped) with the reason when the mock helper (librdkafka-dev) or kcat is missing,
or when this kwire build has no `produce` command yet."""
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile

TIMEOUT = 60


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


class Mock:
    def __init__(self, path, brokers=3):
        self.p = subprocess.Popen([path, str(brokers)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, bufsize=1)
        self.bootstrap = self._line()

    def _line(self):
        r, _, _ = select.select([self.p.stdout], [], [], TIMEOUT)
        assert r, "rdk_mock did not answer"
        line = self.p.stdout.readline()
        assert line, "rdk_mock exited"
        return line.strip()

    def cmd(self, c):
        self.p.stdin.write(c + "\n")
        self.p.stdin.flush()
        assert self._line() == "ok", c

    def stop(self):
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.close()
            self.p.wait(timeout=10)
        except Exception:
            self.p.kill()
            self.p.wait()


def run(args, stdin=None, expect_rc=0):
    r = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == expect_rc, "%s: exit %d (want %d)\nstdout:\n%s\nstderr:\n%s" % (
        " ".join(args), r.returncode, expect_rc, r.stdout, r.stderr)
    return r


def consume(bootstrap, topic):
    r = run(["kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-Z",
             "-X", "check.crcs=true", "-X", "fetch.wait.max.ms=20",
             "-f", "%p|%k|%s|%h\\n"])
    rows = [line.split("|") for line in r.stdout.splitlines() if line]
    return [(int(p), k, v, h) for p, k, v, h in rows]


def main():
    tool, mock_path = os.environ.get("KW_TOOL"), os.environ.get("KW_RDK_MOCK")
    if not mock_path:
        skip("librdkafka-dev not found at build time (KW_RDK_MOCK unset)")
    if not shutil.which("kcat"):
        skip("kcat is not installed")
    r = subprocess.run([tool, "produce", "--help"], capture_output=True, text=True)
    if r.returncode != 0:
        skip("this kwire has no produce command: " + r.stderr.strip())
    m = Mock(mock_path)
    try:
        m.cmd("create lines 3 1")
        b = m.bootstrap
        # Keys before ':' on stdin, a header on every message, gzip when this kwire has zlib.
        lines = "".join("key%d:value %d\n" % (i, i) for i in range(30))
        has_gzip = "zlib yes" in subprocess.run([tool, "--version"], capture_output=True,
                                                text=True).stdout
        run([tool, "produce", "-b", b, "-t", "lines", "-K", ":", "-H", "src=cli", "-H",
             "empty=", *(["-z", "gzip"] if has_gzip else []), "-X", "linger.ms=1"], stdin=lines)
        got = sorted(consume(b, "lines"))
        want_kv = sorted(("key%d" % i, "value %d" % i) for i in range(30))
        assert sorted((k, v) for _, k, v, _ in got) == want_kv, got
        assert all(h == "src=cli,empty=" for _, _, _, h in got), got
        assert len({p for p, _, _, _ in got}) > 1, "every key in one partition"

        # Files, a fixed key, an explicit partition; '-' is stdin.
        with tempfile.TemporaryDirectory() as d:
            f1 = os.path.join(d, "a.txt")
            with open(f1, "w") as f:
                f.write("one\ntwo\n\nfour")
            m.cmd("create files 3 1")
            run([tool, "produce", "-b", b, "-t", "files", "-p", "2", "-k", "K", f1, "-"],
                stdin="five\n")
            got = consume(b, "files")
            # (kcat -Z prints an empty value as NULL too.)
            vals = [v if v != "NULL" else "" for _, _, v, _ in got]
            assert vals == ["one", "two", "", "four", "five"], got
            assert all(p == 2 and k == "K" for p, k, _, _ in got), got

            # A partition the topic lacks: the message fails, the count and reason are shown.
            r = run([tool, "produce", "-b", b, "-t", "files", "-p", "9", f1], expect_rc=1)
            assert "failed" in r.stderr and "partitions" in r.stderr, r.stderr
            # A file that does not exist, and bad options.
            run([tool, "produce", "-b", b, "-t", "files", os.path.join(d, "none")], expect_rc=1)
            run([tool, "produce", "-b", b], expect_rc=2)
            run([tool, "produce", "-b", b, "-t", "x", "-X", "no.such.property=1"], expect_rc=2)
            run([tool, "produce", "-b", b, "-t", "x", "-z", "brotli"], expect_rc=2)

        # Nothing reachable: every message times out; exit 1 with the reason.
        r = run([tool, "produce", "-b", "127.0.0.1:1", "-t", "t", "-X",
                 "delivery.timeout.ms=1000", "-X", "request.timeout.ms=500", "-X",
                 "linger.ms=1"], stdin="a\nb\n", expect_rc=1)
        assert "2 of 2 messages failed" in r.stderr, r.stderr

        # The benchmark's JSON line (../shared/bench/README.md).
        r = run([tool, "bench", "produce", "-b", b, "-t", "bench", "-n", "20000", "-s", "100"])
        j = json.loads(r.stdout.strip().splitlines()[-1])
        for k in ("client", "mode", "count", "bytes", "wall_s", "msgs_per_s", "cpu_s",
                  "cpu_us_per_msg", "maxrss_kb", "failed"):
            assert k in j, (k, j)
        assert j["mode"] == "produce" and j["count"] == 20000 and j["failed"] == 0, j
        assert j["bytes"] == 2000000, j
        got = consume(b, "bench")
        assert len(got) == 20000 and all(len(v) == 100 for _, _, v, _ in got)
    finally:
        m.stop()
    print("ok")


if __name__ == "__main__":
    main()
