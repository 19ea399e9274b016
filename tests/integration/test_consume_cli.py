#!/usr/bin/python3
"""`kwire consume`, `kwire bench consume`, examples/consumer_group and the kwire man page, run as
a user runs them, against brokers the test starts.

    test_consume_cli.py cli      kwire consume against `kwire mock`, reading back what kcat
                                 produced: -f with every kcat token (byte for byte what kcat
                                 itself prints for the same format), -J (fields, base64 for
                                 binary values), default and -K output, -o beginning|end|N|-N|
                                 s@TS, -p, -c, -e, SIGTERM, and usage errors (exit 2, one line)
    test_consume_cli.py group    -G: two concurrent members split the partitions and together
                                 read every record once; the commit on exit (after -c) lets the
                                 next member of the group resume exactly after it
    test_consume_cli.py bench    kwire bench consume prints the benchmark JSON line
    test_consume_cli.py example  examples/consumer_group against librdkafka's mock cluster:
                                 consumes exactly what examples/producer wrote; a second run of
                                 the same group resumes from the committed offsets
    test_consume_cli.py man      docs/kwire.1 renders and documents every command that
                                 `kwire --help` lists; docs/cli.md covers them too

Exits 77 (skipped) with the reason when a needed program is missing.
"""
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "mock"))
import mock_security  # noqa: E402  (the `kwire mock` wrapper)
from test_rdk_programs import Mock as RdkMock  # noqa: E402

TIMEOUT = 120
TOOL = os.environ.get("KW_TOOL", "")


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def run(args, expect_rc=0, stdin=None, text=True):
    r = subprocess.run(args, capture_output=True, timeout=TIMEOUT, input=stdin,
                       **({"encoding": "utf-8", "errors": "surrogateescape"} if text else {}))
    assert r.returncode == expect_rc, "%s: exit %d (want %d)\nstdout:\n%s\nstderr:\n%s" % (
        " ".join(args), r.returncode, expect_rc, r.stdout[-3000:], r.stderr[-3000:])
    return r


def wait_until(cond, what, timeout=TIMEOUT):
    """Polls cond (a cheap check of state other threads fill) until it holds."""
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out waiting for " + what
        time.sleep(0.05)


class Proc:
    """A background process whose stdout and stderr lines are collected by threads."""

    def __init__(self, args):
        self.args = args
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, bufsize=1)
        self.out, self.err = [], []
        self.threads = [threading.Thread(target=self._read, args=(s, l), daemon=True)
                        for s, l in ((self.p.stdout, self.out), (self.p.stderr, self.err))]
        for t in self.threads:
            t.start()

    @staticmethod
    def _read(stream, lines):
        for line in stream:
            lines.append(line.rstrip("\n"))

    def stop(self, sig=signal.SIGTERM, expect_rc=0):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        try:
            rc = self.p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise AssertionError("%s did not stop on signal %d" % (self.args[0], sig))
        for t in self.threads:
            t.join(10)
        assert rc == expect_rc, "%s: exit %d (want %d)\nstderr:\n%s" % (
            " ".join(self.args), rc, expect_rc, "\n".join(self.err[-30:]))

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def kwire_mock(*args):
    mock_security.KWIRE = TOOL
    return mock_security.Mock("--partitions", "4", *args)


def one_error_line(r, *words):
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kwire consume: "), r.stderr
    assert all(w in lines[0] for w in words), (words, r.stderr)


def kcat_produce(bootstrap, topic, data, *extra):
    run(["kcat", "-P", "-b", bootstrap, "-t", topic, "-X", "partitioner=murmur2_random",
         *extra], stdin=data, text=False)


def consume(bootstrap, *args, expect_rc=0, text=True):
    return run([TOOL, "consume", "-b", bootstrap, *args], expect_rc, text=text)


# ---------------------------------------------------------------- cli

FMT = "%t|%p|%o|%k|%K|%s|%S|%h|%T|%R|100%%\\t\\x41\\n"
SPECIAL = 'q"uo\\te\x01 \u00e9\t'  # valid UTF-8 that JSON must escape
N_ROWS = 32


def setup_records(bootstrap):
    """30 keyed records with two headers spread over 4 partitions, one binary keyless value on
    partition 0. Returns kcat's own view: (partition, offset, key, value, headers, ts)."""
    lines = b"".join(b"key-%d\tvalue-%d\n" % (i, i) for i in range(30))
    kcat_produce(bootstrap, "cli", lines, "-K", "\t", "-H", "src=kcat", "-H", "run=a")
    kcat_produce(bootstrap, "cli", b"\xff\xfebin\x01\n", "-p", "0")
    kcat_produce(bootstrap, "cli", SPECIAL.encode() + b"\n", "-p", "1")
    r = run(["kcat", "-C", "-b", bootstrap, "-t", "cli", "-e", "-q", "-f",
             "%p\\t%o\\t%k\\t%h\\t%T\\t%s\\n"], text=False)
    rows = []
    for line in r.stdout.split(b"\n"):
        if line:
            p, o, k, h, t, v = line.split(b"\t", 5)
            rows.append((int(p), int(o), k.decode(), v, h.decode(), int(t)))
    assert len(rows) == N_ROWS, rows
    return rows


def check_formats(bs, rows):
    # Every kcat token, byte for byte what kcat prints for the same format.
    mine = consume(bs, "-t", "cli", "-e", "-f", FMT, text=False).stdout
    theirs = run(["kcat", "-C", "-b", bs, "-t", "cli", "-e", "-q", "-f", FMT],
                 text=False).stdout
    split = lambda b: sorted(x for x in b.split(b"A\n") if x)  # noqa: E731
    assert split(mine) == split(theirs) and len(split(mine)) == N_ROWS, (mine[:500], theirs[:500])
    assert b"cli|0|" in mine and b"|src=kcat,run=a|" in mine and b"\xff\xfebin\x01" in mine
    # Default output: the value and a newline; -K: key DELIM value.
    out = consume(bs, "-t", "cli", "-e", text=False).stdout
    assert sorted(out.split(b"\n")[:-1]) == sorted(v for _, _, _, v, _, _ in rows), out
    out = consume(bs, "-t", "cli", "-e", "-K", "=>", "-D", "\\n\\n").stdout
    want = ["%s=>value-%d" % (k, int(k.split("-")[1])) for _, _, k, _, _, _ in rows if k]
    got = [x for x in out.split("\n\n") if x and not x.startswith("=>")]
    assert sorted(got) == sorted(want), got
    # Partition order: offsets ascend, as kcat saw them.
    out = consume(bs, "-t", "cli", "-p", "1", "-e", "-f", "%o %k\\n").stdout
    assert out.splitlines() == ["%d %s" % (o, k) for p, o, k, _, _, _ in rows if p == 1], out


def check_json(bs, rows):
    out = consume(bs, "-t", "cli", "-e", "-J").stdout
    objs = [json.loads(line) for line in out.splitlines()]
    assert len(objs) == N_ROWS
    ts = {(p, o): t for p, o, _, _, _, t in rows}
    for j in objs:
        assert j["topic"] == "cli" and j["tstype"] == "create", j
        assert j["ts"] == ts[(j["partition"], j["offset"])], j
        if j["key"] is None and "payload_encoding" in j:
            assert j["payload_encoding"] == "base64" and "headers" not in j, j
            assert base64.b64decode(j["payload"]) == b"\xff\xfebin\x01", j
            continue
        if j["key"] is None:
            assert j["payload"] == SPECIAL and "headers" not in j, j
            continue
        i = int(j["key"].split("-")[1])
        assert j["payload"] == "value-%d" % i and "payload_encoding" not in j, j
        assert j["headers"] == ["src", "kcat", "run", "a"], j
    # The same fields as kcat -J for the text records.
    kc = run(["kcat", "-C", "-b", bs, "-t", "cli", "-e", "-q", "-J"], text=False).stdout
    theirs = [json.loads(x) for x in kc.split(b"\n") if x and b"bin" not in x]
    mine = [j for j in objs if "payload_encoding" not in j]
    fields = ("topic", "partition", "offset", "tstype", "ts", "key", "payload", "headers")
    norm = lambda js: sorted(tuple(json.dumps(j.get(f)) for f in fields) for j in js)  # noqa
    assert norm(mine) == norm(theirs)


def check_offsets(bs, rows):
    def got(*args):
        out = consume(bs, "-t", "cli", "-e", "-f", "%p %o\\n", *args).stdout
        return sorted(tuple(map(int, x.split())) for x in out.splitlines())
    every = sorted((p, o) for p, o, _, _, _, _ in rows)
    ends = {}
    for p, o in every:
        ends[p] = max(ends.get(p, -1), o + 1)
    assert got() == every and got("-o", "beginning") == every
    assert got("-o", "end") == []
    assert got("-p", "2", "-o", "3") == [(p, o) for p, o in every if p == 2 and o >= 3]
    assert got("-o", "-3") == [(p, o) for p, o in every if o >= ends[p] - 3]
    assert got("-o", "-1000") == every  # never before a partition's start
    # s@TS: per partition, from the first record at or after TS.
    target = max(t for _, _, _, _, _, t in rows)
    first = {}
    for p, o, _, _, _, t in sorted(rows):
        if t >= target and p not in first:
            first[p] = o
    want = [(p, o) for p, o in every if p in first and o >= first[p]]
    assert want and got("-o", "s@%d" % target) == want, (target, want)
    # -c: exactly COUNT, also without -e.
    out = consume(bs, "-t", "cli", "-c", "5").stdout
    assert len(out.splitlines()) == 5, out


def check_signal(bs):
    p = Proc([TOOL, "consume", "-b", bs, "-t", "cli", "-f", "%o\\n"])
    try:
        wait_until(lambda: len(p.out) == N_ROWS, "every record")
        p.stop(signal.SIGTERM, 0)
    finally:
        p.kill()
    assert len(p.out) == N_ROWS and p.err == [], p.err


def check_usage(bs):
    bad = [
        (["-b", bs, "-t", "cli", "-Q"], "unknown option"),
        (["-b", bs, "-t", "cli", "-o", "bogus"], "-o"),
        (["-t", "cli"], "-b"),
        (["-b", bs], "topic"),
        (["-b", bs, "-t", "cli", "-p", "x"], "-p"),
        (["-b", bs, "-G", "g", "-p", "1", "cli"], "-p"),
        (["-b", bs, "-G", "g", "-o", "5", "cli"], "-G"),
        (["-b", bs, "-t", "cli", "-f", "%Z"], "%Z"),
        (["-b", bs, "-t", "cli", "-f", "%s", "-J"], "-J"),
        (["-b", bs, "-t", "cli", "-c", "0"], "-c"),
        (["-b", bs, "-t", "cli", "-X", "no.such.prop=1"], "no.such.prop"),
        (["-b", bs, "-t", "cli", "extra"], "extra"),
        (["-b", bs, "-t", "cli", "-c"], "-c"),
    ]
    for args, word in bad:
        r = run([TOOL, "consume", *args], 2)
        lines = r.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("kwire consume: ") and word in lines[0], \
            (args, r.stderr)
        assert r.stdout == "", (args, r.stdout)
    r = run([TOOL, "consume", "--help"])
    assert "-G GROUP" in r.stdout and "-J" in r.stdout


def check_cli():
    if not shutil.which("kcat"):
        skip("kcat not found: apt-get install kcat")
    m = kwire_mock("--no-auto-create")
    try:
        assert m.command("create cli 4 1").startswith("ok"), "create cli"
        rows = setup_records(m.bootstrap)
        check_formats(m.bootstrap, rows)
        check_json(m.bootstrap, rows)
        check_offsets(m.bootstrap, rows)
        check_signal(m.bootstrap)
        check_usage(m.bootstrap)
        # Runtime errors: one line, exit 1. A topic or partition that does not exist, a
        # broker that is not there.
        one_error_line(consume(m.bootstrap, "-t", "nope", "-e", expect_rc=1), "'nope'",
                       "UNKNOWN_TOPIC_OR_PARTITION")
        one_error_line(consume(m.bootstrap, "-t", "cli", "-p", "9", expect_rc=1), "4 partitions")
        one_error_line(run([TOOL, "consume", "-b", "127.0.0.1:1", "-t", "x", "-X",
                            "request.timeout.ms=1000"], 1))
    finally:
        m.stop()


# ---------------------------------------------------------------- group

def assignment(p):
    """The last assignment a -v member reported, as a set of partitions."""
    for line in reversed(p.err):
        if line.startswith("kwire consume: assignment"):
            return set(x for x in line.split()[3:] if x != "(none)")
    return None


def check_two_members(bs):
    args = [TOOL, "consume", "-b", bs, "-G", "split", "-o", "beginning", "-v", "-f",
            "%p %o %s\\n", "g"]
    a = Proc(args)
    b = None
    try:
        wait_until(lambda: assignment(a) == {"g:0", "g:1", "g:2", "g:3"}, "the first member")
        b = Proc(args)
        both = lambda: (assignment(a) or set()) | (assignment(b) or set())  # noqa: E731

        def split():
            sa, sb = assignment(a), assignment(b)
            return sa and sb and not sa & sb and both() == {"g:0", "g:1", "g:2", "g:3"}
        wait_until(split, "the group to split the partitions")
        n = 400
        kcat_produce(bs, "g", b"".join(b"k%d\tv%d\n" % (i, i) for i in range(n)), "-K", "\t")
        wait_until(lambda: len(a.out) + len(b.out) >= n, "%d records" % n)
        a.stop()
        b.stop()
    finally:
        a.kill()
        if b:
            b.kill()
    vals = [x.split()[2] for x in a.out + b.out]
    assert sorted(vals) == sorted("v%d" % i for i in range(n)), "duplicates or gaps"
    pa = {x.split()[0] for x in a.out}
    pb = {x.split()[0] for x in b.out}
    assert pa and pb and not pa & pb, (pa, pb)


def check_resume(bs):
    n = 120
    kcat_produce(bs, "r", b"".join(b"r%d\n" % i for i in range(n)))
    first = consume(bs, "-G", "resume", "-o", "beginning", "-c", "25", "-f", "%p %o\\n",
                    "r").stdout.splitlines()
    assert len(first) == 25, first
    rest = consume(bs, "-G", "resume", "-e", "-t", "r", "-f", "%p %o\\n").stdout.splitlines()
    every = first + rest
    assert len(every) == n and len(set(every)) == n, (len(first), len(rest))
    # Once more: everything is committed, -e ends with nothing printed.
    again = consume(bs, "-G", "resume", "-e", "r").stdout
    assert again == "", again


def check_group():
    if not shutil.which("kcat"):
        skip("kcat not found: apt-get install kcat")
    m = kwire_mock()
    try:
        assert m.command("create g 4 1").startswith("ok"), "create g"
        check_two_members(m.bootstrap)
        check_resume(m.bootstrap)
    finally:
        m.stop()


# ---------------------------------------------------------------- bench

def check_bench():
    m = kwire_mock()
    try:
        n = 3000
        data = "".join("%05d-%s\n" % (i, "x" * (i % 50)) for i in range(n))
        run([TOOL, "produce", "-b", m.bootstrap, "-t", "bench"], stdin=data)
        r = run([TOOL, "bench", "consume", "-b", m.bootstrap, "-t", "bench", "-n", str(n)])
        lines = r.stdout.splitlines()
        assert len(lines) == 1, r.stdout
        j = json.loads(lines[0])
        for f in ("client", "mode", "count", "bytes", "wall_s", "msgs_per_s", "cpu_s",
                  "cpu_us_per_msg", "maxrss_kb", "failed"):
            assert f in j, (f, j)
        assert j["client"].startswith("kwire-") and j["mode"] == "consume", j
        assert j["count"] == n and j["failed"] == 0, j
        assert j["bytes"] == sum(len(x) for x in data.splitlines()), j
        assert j["cpu_s"] > 0 and j["maxrss_kb"] > 0 and j["wall_s"] >= 0, j
        r = run([TOOL, "bench", "consume", "-b", m.bootstrap, "-t", "bench"], 2)
        assert "-n" in r.stderr, r.stderr
    finally:
        m.stop()


# ---------------------------------------------------------------- example

def example_records(p):
    """(topic, partition, offset, key, value) lines the example printed."""
    recs = []
    for line in p.out:
        f = line.split()
        if len(f) == 5 and f[0] == "orders":
            recs.append((f[0], int(f[1]), int(f[2]), f[3], f[4]))
    return recs


def check_example():
    helper = os.environ.get("KW_RDK_MOCK", "")
    if not helper or not os.access(helper, os.X_OK):
        skip("librdkafka-dev not found at build time: apt-get install librdkafka-dev")
    prog = os.environ["KW_EXAMPLE_CONSUMER_GROUP"]
    producer = os.environ["KW_EXAMPLE_PRODUCER"]
    m = RdkMock(helper)
    c = None
    try:
        m.cmd("create orders 3 3")
        n = 500
        run([producer, m.bootstrap, "orders", str(n)])
        # librdkafka 2.0.2's mock cluster lets a group that a member left rebalance only
        # after that member's session timeout (kcat after kcat waits 44 s too): keep it short.
        sess = ["-X", "session.timeout.ms=10000"]
        c = Proc([prog, m.bootstrap, "audit", "orders", "-n", "64", *sess])
        wait_until(lambda: len(example_records(c)) >= n, "%d records" % n)
        c.stop()
        first = example_records(c)
        assert sorted(v for _, _, _, _, v in first) == sorted("message-%d" % i for i in range(n))
        assert all(k == "key-%d" % (int(v.split("-")[1]) % 10) for _, _, _, k, v in first)
        assert any(x.startswith("committed (batch)") for x in c.out), c.out
        assert any(x.startswith("committed (shutdown) after %d" % n) for x in c.out), c.out
        assert c.out[-1] == "processed %d records" % n, c.out[-3:]
        ends = {}
        for _, p, o, _, _ in first:
            ends[p] = max(ends.get(p, -1), o)
        # The second run of the group resumes: only records produced after the first run.
        c = Proc([prog, m.bootstrap, "audit", "orders", *sess])
        wait_until(lambda: any(x.startswith("assigned: orders") for x in c.out), "assignment")
        more = 60
        run([producer, m.bootstrap, "orders", str(more)])
        wait_until(lambda: len(example_records(c)) >= more, "%d new records" % more)
        c.stop()
        second = example_records(c)
        assert len(second) == more, second
        assert all(o > ends.get(p, -1) for _, p, o, _, _ in second), "an old record again"
        # Usage and configuration errors: exit 2.
        run([prog, m.bootstrap], 2)
        r = run([prog, m.bootstrap, "g", "orders", "-X", "fetch.max.wait.mss=5"], 2)
        assert "fetch.max.wait.mss" in r.stderr, r.stderr
    finally:
        if c:
            c.kill()
        m.stop()


# ---------------------------------------------------------------- man

def help_commands():
    out = run([TOOL, "--help"]).stdout
    cmds = re.findall(r"^  (--?[\w-]+|[a-z]+)\s{2,}", out, re.M)
    assert len(cmds) >= 10 and "consume" in cmds, out
    return cmds


def check_man():
    src = os.environ.get("KW_SRC_DIR", os.path.join(HERE, "..", ".."))
    page = os.path.join(src, "docs", "kwire.1")
    cmds = help_commands()
    roff = open(page).read()
    guide = open(os.path.join(src, "docs", "cli.md")).read()
    for c in cmds:
        name = c.replace("-", "\\-")
        assert re.search(r'^\.SS "kwire %s"$' % re.escape(name), roff, re.M), \
            "man page has no subsection for '%s'" % c
        assert re.search(r"^## kwire %s\b" % re.escape(c), guide, re.M), \
            "docs/cli.md has no section for '%s'" % c
    if shutil.which("groff"):
        r = run(["groff", "-man", "-Tutf8", "-ww", page])
        rendered = r.stdout
        assert "warning" not in r.stderr, r.stderr
    elif shutil.which("man"):
        rendered = run(["man", "-l", page], stdin="").stdout
    else:
        skip("neither groff nor man is installed: apt-get install groff-base (page not rendered)")
    plain = re.sub(".\b", "", rendered)
    assert "KWIRE(1)" in plain and "SYNOPSIS" in plain, plain[:500]
    for c in cmds:  # subsection headings render indented by three spaces
        assert re.search(r"^   kwire %s$" % re.escape(c), plain, re.M), "rendered page lacks " + c


def main():
    mode = sys.argv[1]
    if mode != "man" and (not TOOL or not os.access(TOOL, os.X_OK)):
        skip("KW_TOOL is not set")
    {"cli": check_cli, "group": check_group, "bench": check_bench, "example": check_example,
     "man": check_man}[mode]()
    print("ok: " + mode)


if __name__ == "__main__":
    main()
