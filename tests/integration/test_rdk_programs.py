#!/usr/bin/env python3
"""Programs against librdkafka's mock cluster (tests/support/rdk_mock.c, 3 brokers).

    test_rdk_programs.py cli      `kwire metadata` in text and JSON (-J) form, -t, -X, errors
    test_rdk_programs.py embed    examples/epoll_embed: a daemon's own epoll loop drives kwire

Each mode starts its own cluster, sets up topics and leaders through the control channel, and
compares what the program printed with that setup. Exits 77 (skipped) with the reason when
the helper was not built (no librdkafka-dev).
"""
import json
import os
import select
import subprocess
import sys

TIMEOUT = 60


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


class Mock:
    def __init__(self, path, brokers=3):
        self.p = subprocess.Popen([path, str(brokers)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, bufsize=1)
        self.bootstrap = self._line()
        assert ":" in self.bootstrap, self.bootstrap
        self.ports = [int(x.rsplit(":", 1)[1]) for x in self.bootstrap.split(",")]

    def _line(self):
        r, _, _ = select.select([self.p.stdout], [], [], TIMEOUT)
        assert r, "rdk_mock did not answer"
        line = self.p.stdout.readline()
        assert line, "rdk_mock exited"
        return line.strip()

    def cmd(self, c):
        self.p.stdin.write(c + "\n")
        self.p.stdin.flush()
        ans = self._line()
        assert ans == "ok", "%s -> %s" % (c, ans)

    def stop(self):
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.close()
            self.p.wait(timeout=10)
        except Exception:
            self.p.kill()
            self.p.wait()


def run(args, expect_rc=0):
    r = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == expect_rc, "%s: exit %d (want %d)\nstdout:\n%s\nstderr:\n%s" % (
        " ".join(args), r.returncode, expect_rc, r.stdout, r.stderr)
    return r


def setup(m):
    m.cmd("create alpha 5 3")
    m.cmd("create beta 2 3")
    leaders = {("alpha", 0): 2, ("alpha", 1): 3, ("alpha", 4): 1, ("beta", 0): 3, ("beta", 1): 2}
    for (t, p), b in leaders.items():
        m.cmd("leader %s %d %d" % (t, p, b))
    return leaders


def check_cli(m, tool):
    leaders = setup(m)
    # JSON: one object with brokers and topics, as the mock was set up.
    r = run([tool, "metadata", "-b", m.bootstrap, "-J"])
    md = json.loads(r.stdout)
    assert [b["id"] for b in md["brokers"]] == [1, 2, 3], md["brokers"]
    assert [b["port"] for b in md["brokers"]] == m.ports, md["brokers"]
    assert all(b["host"] == "127.0.0.1" for b in md["brokers"])
    topics = {t["name"]: t for t in md["topics"]}
    assert set(topics) >= {"alpha", "beta"}, topics.keys()
    assert len(topics["alpha"]["partitions"]) == 5
    assert len(topics["beta"]["partitions"]) == 2
    for (t, p), b in leaders.items():
        part = topics[t]["partitions"][p]
        assert part["id"] == p and part["leader"] == b, (t, p, part)
        assert b in part["replicas"], part
    # Named topics only.
    r = run([tool, "metadata", "-b", m.bootstrap, "-J", "-t", "beta"])
    md = json.loads(r.stdout)
    assert [t["name"] for t in md["topics"]] == ["beta"]
    # Text: one line per broker and per partition.
    r = run([tool, "metadata", "-b", m.bootstrap, "-t", "alpha", "-X", "client.id=cli-test"])
    out = r.stdout
    for i, port in enumerate(m.ports):
        assert "broker %d at 127.0.0.1:%d" % (i + 1, port) in out, out
    assert 'topic "alpha" with 5 partitions' in out, out
    assert "partition 1, leader 3," in out, out
    assert "partition 4, leader 1," in out, out
    # Errors: a bad property, missing -b, a cluster that is not there.
    r = run([tool, "metadata", "-b", m.bootstrap, "-X", "no.such.property=1"], 2)
    assert "no.such.property" in r.stderr, r.stderr
    run([tool, "metadata"], 2)
    r = run([tool, "metadata", "-b", "127.0.0.1:1", "-T", "1500"], 1)
    assert "timed out" in r.stderr, r.stderr


def check_embed(m, prog):
    leaders = setup(m)
    r = run([prog, m.bootstrap, "alpha", "beta"])
    lines = r.stdout.splitlines()
    for i, port in enumerate(m.ports):
        assert "broker %d 127.0.0.1:%d" % (i + 1, port) in lines, r.stdout
    assert "topic alpha partitions 5 error 0" in lines, r.stdout
    assert "topic beta partitions 2 error 0" in lines, r.stdout
    for (t, p), b in leaders.items():
        assert "partition %s %d leader %d" % (t, p, b) in lines, r.stdout


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "cli"
    helper = os.environ.get("KW_RDK_MOCK", "")
    if not helper or not os.access(helper, os.X_OK):
        skip("librdkafka-dev not found at build time (KW_RDK_MOCK unset): "
             "apt-get install librdkafka-dev")
    m = Mock(helper)
    try:
        if mode == "cli":
            check_cli(m, os.environ["KW_TOOL"])
        else:
            check_embed(m, os.environ["KW_EPOLL_EMBED"])
    finally:
        m.stop()
    print("ok: " + mode)


if __name__ == "__main__":
    main()
