#!/usr/bin/python3
"""The conventions every `kwire` command shares, checked command by command as a user meets
them, against `kwire mock` (auto-creation off) started by the test.

    test_cli_common.py errors    --help of every command; each common flag a command lists is
                                 accepted and each one it does not list is refused with one
                                 line; unknown flag, missing -b, bad -X, unreachable broker and
                                 unknown topic: one line on stderr, nothing on stdout, exit 2
                                 (usage) or 1 (runtime)
    test_cli_common.py produce   kwire produce -J (a delivery report per message, read back by
                                 kwire consume at the offsets it names), -c, -K with escapes,
                                 -F; kwire metadata -F; kwire dlq with -X/-F/-c/-p/-o and -J
    test_cli_common.py progress  progress on stderr only when it is a terminal: none in captured
                                 stderr; with a pty as stderr, produce, bench produce and
                                 consume end with their progress line (bench consume clears
                                 its line)
    test_cli_common.py docs      docs/cli.md and docs/kwire.1 name every flag of every command
                                 (FLAGS below), and the synopses in docs/cli.md name no flag the
                                 command does not take

Exits 77 (skipped) with the reason when KW_TOOL is not set.
"""
import json
import os
import pty
import re
import select
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "mock"))
import mock_security  # noqa: E402  (the `kwire mock` wrapper)

TIMEOUT = 120
TOOL = os.environ.get("KW_TOOL", "")
SRC = os.environ.get("KW_SRC_DIR", os.path.join(HERE, "..", ".."))

# The short flags each command takes. The common letters mean the same everywhere (kcat's).
COMMON = "btpkKHzGocefJXF"
FLAGS = {
    ("metadata",): "btJXFT",
    ("produce",): "btpkKHzcJXF",
    ("consume",): "btpocefGJKDvXF",
    ("topics", "describe"): "btJXFT",
    ("groups", "list"): "bGtJXFT",
    ("dlq", "list"): "bcpoJXFT",
    ("bench", "produce"): "btnszXF",
    ("bench", "consume"): "btnGXF",
}
# Long options, for the docs check.
LONG = {
    ("topics", "describe"): ["--partitions", "--replication", "--config", "--validate"],
    ("groups", "list"): ["--state", "--type"],
    ("dlq", "list"): ["--prefix", "--force"],
}
NO_VALUE = "eJv"
# A value each flag accepts, so that only the missing -b is left to complain about.
VALUE = {"t": "x", "p": "1", "k": "k", "K": ":", "H": "a=b", "z": "none", "G": "g",
         "o": "beginning", "c": "5", "f": "%s", "D": ":", "T": "1000", "n": "10", "s": "10",
         "X": "client.id=x"}
VALUE_DLQ = {"o": "3"}  # kwire dlq replay's -o is an offset, not a position name
# Commands whose error output is checked on its first line only (none: every error is one line).
FIRST_LINE_ONLY = set()


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def run(args, expect_rc=0, stdin=None, timeout=TIMEOUT):
    r = subprocess.run(args, capture_output=True, text=True, input=stdin, timeout=timeout,
                       errors="replace")
    assert r.returncode == expect_rc, "%s: exit %d (want %d)\nstdout:\n%s\nstderr:\n%s" % (
        " ".join(args), r.returncode, expect_rc, r.stdout[-2000:], r.stderr[-2000:])
    return r


def one_line(r, cmd, *words, stdout_empty=True, first_only=False):
    """The error contract: one line on stderr, starting with `kwire CMD:`, naming words."""
    lines = r.stderr.splitlines()
    assert len(lines) == 1 or (first_only and lines), \
        "want one stderr line from kwire %s, got:\n%s" % (cmd, r.stderr)
    assert lines[0].startswith("kwire %s" % cmd.split(" ")[0] if cmd else "kwire:"), lines[0]
    for w in words:
        assert w in lines[0], (w, lines[0])
    if stdout_empty:
        assert r.stdout == "", r.stdout


def kwire(*args, **kw):
    return run([TOOL, *args], **kw)


# ---------------------------------------------------------------- errors

def check_help():
    cmds = [["metadata"], ["produce"], ["consume"], ["topics"], ["topics", "create"],
            ["groups"], ["groups", "lag"], ["dlq"], ["dlq", "replay"], ["bench"],
            ["bench", "produce"], ["bench", "consume"], ["mock"], ["demo"], ["apis"], ["fuzz"]]
    for c in cmds:
        for h in ("--help", "-h"):
            r = kwire(*c, h)
            assert r.stdout.startswith("usage: kwire"), (c, r.stdout[:200])
            assert r.stderr == "", (c, r.stderr)
    assert "consume" in kwire("--help").stdout
    assert kwire("--version").stdout.startswith("kwire ")
    one_line(kwire(expect_rc=2), "", "--help")
    one_line(kwire("nosuch", expect_rc=2), "", "nosuch")
    one_line(kwire("apis", "extra", expect_rc=2), "apis", "extra")
    one_line(kwire("demo", "--bogus", expect_rc=2), "demo", "--bogus")
    for c in (["topics"], ["groups"], ["dlq"], ["bench"]):
        one_line(kwire(*c, expect_rc=2), " ".join(c))
        one_line(kwire(*c, "bogus", expect_rc=2), " ".join(c), "bogus")


def check_flags(props):
    """Each command takes exactly the common flags its --help lists."""
    for cmd, flags in FLAGS.items():
        name = " ".join(cmd)
        text = kwire(*cmd, "--help").stdout
        for f in flags:
            assert re.search(r"(?<![\w-])-%s\b" % f, text), "%s --help lacks -%s" % (name, f)
        for f in sorted(set(COMMON + "T") - set(flags)):
            if f == "T" and cmd[0] in ("produce", "consume", "bench"):
                continue  # -T is not a common letter there
            assert not re.search(r"(?<![\w-])-%s\b" % f, text), \
                "%s --help lists -%s, which it refuses" % (name, f)
            r = kwire(*cmd, "-" + f, VALUE.get(f, "x"), expect_rc=2)
            one_line(r, name, "unknown option", "-" + f, first_only=cmd in FIRST_LINE_ONLY)
        for f in flags:
            if f == "b":
                continue
            values = dict(VALUE, **(VALUE_DLQ if cmd[0] == "dlq" else {}), F=props)
            args = ["-" + f] + ([] if f in NO_VALUE else [values[f]])
            r = kwire(*cmd, *args, expect_rc=2)
            # Accepted: the only complaint is the missing broker list.
            one_line(r, name, "-b", first_only=cmd in FIRST_LINE_ONLY)
            assert "unknown option" not in r.stderr, (name, f, r.stderr)


def check_usage_errors(bs):
    """Unknown flag, missing -b, bad -X: exit 2 and one line, for every command."""
    base = {
        ("metadata",): [],
        ("produce",): ["-t", "x"],
        ("consume",): ["-t", "x"],
        ("topics", "describe"): [],
        ("topics", "create"): ["-t", "x"],
        ("groups", "list"): [],
        ("groups", "lag"): ["-G", "g"],
        ("dlq", "count"): ["--prefix", "x"],
        ("bench", "produce"): ["-t", "x", "-n", "10", "-s", "10"],
        ("bench", "consume"): ["-t", "x", "-n", "10"],
    }
    for cmd, args in base.items():
        name = " ".join(cmd)
        one_line(kwire(*cmd, "-b", bs, *args, "-Q", expect_rc=2), name, "-Q")
        one_line(kwire(*cmd, *args, expect_rc=2), name, "-b")
        one_line(kwire(*cmd, "-b", bs, *args, "-X", "no.such.prop=1", expect_rc=2), name,
                 "no.such.prop")
        one_line(kwire(*cmd, "-b", bs, *args, "-X", "novalue", expect_rc=2), name, "novalue")
        one_line(kwire(*cmd, "-b", bs, *args, "-F", "/nonexistent/p", expect_rc=2), name,
                 "/nonexistent/p")
    one_line(kwire("produce", "-b", bs, "-t", "x", "-p", "x", expect_rc=2), "produce", "-p")
    one_line(kwire("produce", "-b", bs, "-t", "x", "-c", "0", expect_rc=2), "produce", "-c")
    one_line(kwire("produce", "-b", bs, "-t", "x", "-z", "brotli", expect_rc=2), "produce",
             "brotli")
    one_line(kwire("produce", "-b", bs, "-t", "x", "-H", "novalue", expect_rc=2), "produce",
             "-H")
    one_line(kwire("metadata", "-b", bs, "-T", "soon", expect_rc=2), "metadata", "-T")
    one_line(kwire("metadata", "-b", expect_rc=2), "metadata", "-b")
    one_line(kwire("dlq", "replay", "-b", bs, "--prefix", "x", "-p", "0", expect_rc=2),
             "dlq replay", "-o")
    one_line(kwire("dlq", "list", "-b", bs, "--prefix", "x", "-c", "many", expect_rc=2), "dlq",
             "-c")
    one_line(kwire("dlq", "list", "-b", bs, "--prefix", "x", "-X", "linger.ms=5",
                   expect_rc=2), "dlq", "linger.ms")


def check_runtime_errors(bs):
    """A broker that is not there, and a topic the cluster does not have: exit 1, one line."""
    dead = "127.0.0.1:1"
    fast = ["-X", "request.timeout.ms=1000"]
    one_line(kwire("metadata", "-b", dead, "-T", "1000", expect_rc=1), "metadata")
    one_line(kwire("topics", "describe", "-b", dead, "-T", "1000", expect_rc=1), "topics")
    one_line(kwire("groups", "list", "-b", dead, "-T", "1000", expect_rc=1), "groups")
    one_line(kwire("consume", "-b", dead, "-t", "x", *fast, expect_rc=1), "consume")
    one_line(kwire("dlq", "count", "-b", dead, "--prefix", "x", "-T", "1000", expect_rc=1),
             "dlq count")
    prod = ["-X", "delivery.timeout.ms=1000", "-X", "request.timeout.ms=500", "-X",
            "linger.ms=1"]
    one_line(kwire("produce", "-b", dead, "-t", "x", *prod, stdin="a\nb\n", expect_rc=1),
             "produce", "2 of 2 messages failed")
    r = kwire("bench", "produce", "-b", dead, "-t", "x", "-n", "5", "-s", "10", *prod,
              expect_rc=1)
    one_line(r, "bench produce", "5 of 5 messages failed", stdout_empty=False)
    assert json.loads(r.stdout)["failed"] == 5, r.stdout

    one_line(kwire("metadata", "-b", bs, "-t", "nope", expect_rc=1), "metadata", "'nope'",
             "UNKNOWN_TOPIC_OR_PARTITION", stdout_empty=False)
    one_line(kwire("topics", "describe", "-b", bs, "-t", "nope", expect_rc=1), "topics", "nope",
             "UNKNOWN_TOPIC_OR_PARTITION")
    one_line(kwire("topics", "delete", "-b", bs, "-t", "nope", expect_rc=1), "topics", "nope")
    one_line(kwire("consume", "-b", bs, "-t", "nope", "-e", expect_rc=1), "consume", "'nope'")
    one_line(kwire("dlq", "list", "-b", bs, "--prefix", "nope", expect_rc=1), "dlq list",
             "nope")
    one_line(kwire("groups", "describe", "-b", bs, "-G", "nope", expect_rc=1), "groups", "nope")
    # Produce to a topic that does not exist: each message fails (its report says so), the
    # summary is one line.
    r = kwire("produce", "-b", bs, "-t", "nope", "-J", "-X", "delivery.timeout.ms=2000", "-X",
              "request.timeout.ms=1000", "-X", "linger.ms=1", stdin="a\nb\n", expect_rc=1)
    one_line(r, "produce", "2 of 2 messages failed", stdout_empty=False)
    reps = [json.loads(x) for x in r.stdout.splitlines()]
    assert sorted(x["msgno"] for x in reps) == [1, 2], reps
    assert all(x["error"] and x["reason"] and x["offset"] == -1 for x in reps), reps


def check_errors():
    with tempfile.NamedTemporaryFile("w", suffix=".properties") as props:
        props.write("# a comment\nclient.id = cli-test\n")
        props.flush()
        check_help()
        check_flags(props.name)
    m = mock_security.Mock("--no-auto-create", "--partitions", "2")
    try:
        check_usage_errors(m.bootstrap)
        check_runtime_errors(m.bootstrap)
    finally:
        m.stop()


# ---------------------------------------------------------------- produce

def check_produce_json(bs):
    lines = "".join("k%d\tv%d\n" % (i, i) for i in range(20))
    r = kwire("produce", "-b", bs, "-t", "p", "-K", "\\t", "-J", stdin=lines)
    assert r.stderr == "", r.stderr
    reps = [json.loads(x) for x in r.stdout.splitlines()]
    assert sorted(x["msgno"] for x in reps) == list(range(1, 21)), reps
    assert all(x["topic"] == "p" and x["error"] is None and x["offset"] >= 0 and x["ts"] > 0
               for x in reps), reps
    where = {(x["partition"], x["offset"]): x["msgno"] for x in reps}
    assert len(where) == 20, "two reports name the same offset"
    out = kwire("consume", "-b", bs, "-t", "p", "-e", "-f", "%p %o %k %s\\n").stdout
    got = {}
    for line in out.splitlines():
        p, o, k, v = line.split(" ")
        got[(int(p), int(o))] = (k, v)
    assert len(got) == 20 and len({p for p, _ in got}) == 2, got
    # Each report names the offset its line landed at: the key-delimiter escape split it.
    for po, n in where.items():
        assert got[po] == ("k%d" % (n - 1), "v%d" % (n - 1)), (po, n, got[po])
    # -c: only the first COUNT lines; -k with -p.
    r = kwire("produce", "-b", bs, "-t", "p", "-c", "3", "-p", "1", "-k", "K", "-J",
              stdin="a\nb\nc\nd\ne\n")
    reps = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["msgno"] for x in sorted(reps, key=lambda x: x["offset"])] == [1, 2, 3], reps
    assert all(x["partition"] == 1 for x in reps), reps
    out = kwire("consume", "-b", bs, "-t", "p", "-p", "1", "-o", "-3", "-e", "-f",
                "%k=%s\\n").stdout
    assert out.splitlines() == ["K=a", "K=b", "K=c"], out


def check_props_files(bs, d):
    props = os.path.join(d, "client.properties")
    with open(props, "w") as f:
        f.write("! Java-style comment\nbootstrap.servers = %s\nclient.id=cli-test\n" % bs)
    r = kwire("metadata", "-F", props, "-t", "p", "-J")
    md = json.loads(r.stdout)
    assert [t["name"] for t in md["topics"]] == ["p"], md
    kwire("produce", "-F", props, "-t", "p", stdin="from-file\n")
    out = kwire("consume", "-F", props, "-t", "p", "-o", "-1", "-p", "0", "-e").stdout
    out += kwire("consume", "-F", props, "-t", "p", "-o", "-1", "-p", "1", "-e").stdout
    assert "from-file" in out.splitlines(), out


def check_dlq(bs, d):
    base = ["-b", bs, "--prefix", "ev"]
    hdr = ["-H", "dlq_reason=max_retries_exceeded", "-H", "dlq_retry_count=3"]
    kwire("produce", "-b", bs, "-t", "ev.stream.dlq", "-p", "0", "-K", ":", *hdr,
          stdin="a1:one\na2:two\na3:three\n")
    assert json.loads(kwire("dlq", "count", "-J", *base).stdout) == {"count": 3}
    assert kwire("dlq", "count", *base).stdout == "3\n"
    rows = [json.loads(x) for x in kwire("dlq", "list", "-J", "-c", "2", *base).stdout.split(
        "\n") if x]
    assert len(rows) == 2 and rows[0]["key"] == "a1" and rows[0]["payload"] == "one", rows
    assert rows[0]["headers"]["dlq_reason"] == "max_retries_exceeded", rows
    # Client properties the bus maps, bus fields by name, a properties file, the older -c.
    props = os.path.join(d, "dlq.properties")
    with open(props, "w") as f:
        f.write("security.protocol=PLAINTEXT\ndlq_topic_suffix=.dlq\n")
    rows = kwire("dlq", "list", "-J", "-X", "security.protocol=PLAINTEXT", "-X",
                 "dlq_max_replay_attempts=5", "-F", props, "-c", "dlq_topic_suffix=.dlq",
                 *base).stdout.splitlines()
    assert len(rows) == 3, rows
    r = kwire("dlq", "replay", "-p", "0", "-o", "1", "-J", *base)
    assert json.loads(r.stdout) == {"replayed": {"partition": 0, "offset": 1}}, r.stdout
    out = kwire("consume", "-b", bs, "-t", "ev.stream", "-e", "-f", "%k=%s\\n").stdout
    assert out == "a2=two\n", out
    one_line(kwire("dlq", "replay", "-p", "0", "-o", "9", *base, expect_rc=1), "dlq replay")


def check_produce():
    m = mock_security.Mock("--no-auto-create", "--partitions", "2")
    try:
        for t in ("p 2 1", "ev.stream 1 1", "ev.stream.dlq 1 1"):
            assert m.command("create " + t).startswith("ok"), t
        with tempfile.TemporaryDirectory() as d:
            check_produce_json(m.bootstrap)
            check_props_files(m.bootstrap, d)
            check_dlq(m.bootstrap, d)
    finally:
        m.stop()


# ---------------------------------------------------------------- progress

def run_pty(args, stdin_data):
    """Runs args with stderr on a pseudo-terminal (stdout and stdin are pipes); returns the
    exit status, stdout and everything written to the terminal."""
    master, slave = pty.openpty()
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    p.stdin.write(stdin_data.encode())
    p.stdin.close()
    tty, out = b"", b""
    end = time.monotonic() + TIMEOUT
    open_fds = {master, p.stdout.fileno()}
    try:
        while open_fds:
            assert time.monotonic() < end, "%s did not end" % args
            ready, _, _ = select.select(list(open_fds), [], [], 1)
            for fd in ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # EIO: the terminal's last writer closed it
                    chunk = b""
                if not chunk:
                    open_fds.discard(fd)
                elif fd == master:
                    tty += chunk
                else:
                    out += chunk
        rc = p.wait(timeout=TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
        p.stdout.close()
    return rc, out.decode(errors="replace"), tty.decode(errors="replace")


def check_progress():
    m = mock_security.Mock("--no-auto-create", "--partitions", "2")
    try:
        assert m.command("create pr 2 1").startswith("ok")
        bs = m.bootstrap
        n = 3000
        data = "".join("line-%d\n" % i for i in range(n))
        # Captured stderr (not a terminal): not a byte of progress.
        r = kwire("produce", "-b", bs, "-t", "pr", stdin=data)
        assert r.stderr == "" and r.stdout == "", r.stderr
        r = kwire("bench", "produce", "-b", bs, "-t", "pr", "-n", str(n), "-s", "20")
        assert r.stderr == "", r.stderr
        r = kwire("consume", "-b", bs, "-t", "pr", "-e", "-c", str(n))
        assert r.stderr == "" and len(r.stdout.splitlines()) == n, r.stderr
        r = kwire("bench", "consume", "-b", bs, "-t", "pr", "-n", str(n))
        assert r.stderr == "" and json.loads(r.stdout)["count"] == n, r.stderr
        # A terminal: the progress line, rewritten in place, ends with the totals.
        rc, out, tty = run_pty([TOOL, "produce", "-b", bs, "-t", "pr"], data)
        assert rc == 0 and out == "", (rc, out, tty)
        last = tty.replace("\r\n", "\n").split("\r")[-1]
        assert "\x1b[K" in tty and last.endswith(
            "kwire produce: %d sent, %d delivered, 0 failed\n" % (n, n)), repr(tty[-300:])
        rc, out, tty = run_pty([TOOL, "bench", "produce", "-b", bs, "-t", "pr", "-n", str(n),
                                "-s", "20"], "")
        assert rc == 0 and json.loads(out)["count"] == n, (rc, out)
        assert tty.replace("\r\n", "\n").endswith(
            "kwire bench produce: %d sent, %d delivered, 0 failed\n" % (n, n)), repr(tty[-300:])
        rc, out, tty = run_pty([TOOL, "consume", "-b", bs, "-t", "pr", "-e", "-c", str(n)], "")
        assert rc == 0 and len(out.splitlines()) == n, (rc, tty)
        assert tty.replace("\r\n", "\n").endswith("kwire consume: %d messages\n" % n), \
            repr(tty[-300:])
        # bench consume rewrites its line while it runs and clears it at the end.
        rc, out, tty = run_pty([TOOL, "bench", "consume", "-b", bs, "-t", "pr", "-n", str(n)], "")
        assert rc == 0 and json.loads(out)["count"] == n, (rc, out)
        assert tty.endswith("\r\x1b[K"), repr(tty[-300:])
    finally:
        m.stop()


# ---------------------------------------------------------------- docs

def section(text, start_re, next_re):
    m = re.search(start_re, text, re.M)
    assert m, start_re
    rest = text[m.end():]
    n = re.search(next_re, rest, re.M)
    return rest[:n.start()] if n else rest


def check_docs():
    guide = open(os.path.join(SRC, "docs", "cli.md")).read()
    roff = open(os.path.join(SRC, "docs", "kwire.1")).read()
    for cmd, flags in FLAGS.items():
        top = cmd[0] if cmd[0] != "bench" else "bench"
        md = section(guide, r"^## kwire %s\b.*$" % top, r"^## ")
        man = section(roff, r'^\.SS "kwire %s"$' % top, r"^\.S[SH] ")
        synopsis = "\n".join(re.findall(r"^```\n(.*?)^```", md, re.M | re.S))
        if cmd[0] == "bench":
            synopsis = "\n".join(x for x in synopsis.splitlines() if cmd[1] in x)
        for f in flags:
            assert re.search(r"(?<![\w-])-%s\b" % f, md), "docs/cli.md: %s lacks -%s" % (cmd, f)
            assert re.search(r"\\-%s\b" % f, man), "docs/kwire.1: %s lacks -%s" % (cmd, f)
        for lf in LONG.get(cmd, []):
            assert lf in md, "docs/cli.md: %s lacks %s" % (cmd, lf)
            assert lf.replace("-", "\\-") in man, "docs/kwire.1: %s lacks %s" % (cmd, lf)
        for f in re.findall(r"(?<![\w-])-([A-Za-z])\b", synopsis):
            assert f in flags, "docs/cli.md's synopsis of %s names -%s, which it refuses" % (
                cmd, f)


def main():
    mode = sys.argv[1]
    if mode != "docs" and (not TOOL or not os.access(TOOL, os.X_OK)):
        skip("KW_TOOL is not set")
    mock_security.KWIRE = TOOL
    {"errors": check_errors, "produce": check_produce, "progress": check_progress,
     "docs": check_docs}[mode]()
    print("ok: " + mode)


if __name__ == "__main__":
    main()
