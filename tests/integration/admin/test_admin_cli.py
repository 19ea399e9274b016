#!/usr/bin/env python3
"""`kwire topics` and `kwire groups` against `kwire mock` (3 brokers): create (partitions,
replication, configs, an existing topic failing alone), describe (-J: leaders, replicas, ISR,
configs), list, delete; groups list/describe/lag after offsets were committed by an independent
client (kafka-python, Debian's python3-kafka, when installed) for records written with
`kwire produce`; -F properties files; one clear error line and a non-zero exit for failures and
usage errors; --help for each."""
import json
import os
import select
import subprocess
import sys
import tempfile

TIMEOUT = 60


class Mock:
    def __init__(self, tool):
        self.p = subprocess.Popen([tool, "mock", "--brokers", "3", "--no-auto-create"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  bufsize=1)
        r, _, _ = select.select([self.p.stdout], [], [], TIMEOUT)
        assert r, "kwire mock did not start"
        self.bootstrap = self.p.stdout.readline().strip()
        assert self.bootstrap, "kwire mock exited"

    def stop(self):
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.close()
            self.p.wait(timeout=10)
        except Exception:
            self.p.kill()
            self.p.wait()


def run(args, expect_rc=0, stdin=None):
    r = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == expect_rc, "%s: exit %d (want %d)\nstdout:\n%s\nstderr:\n%s" % (
        " ".join(args), r.returncode, expect_rc, r.stdout, r.stderr)
    return r


def jlines(out):
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def topics(tool, b):
    k = [tool, "topics"]
    r = run(k + ["create", "-b", b, "-t", "t1", "-t", "t2", "--partitions", "3",
                 "--replication", "2", "--config", "retention.ms=60000",
                 "--config", "cleanup.policy=compact"])
    assert 'topic "t1" created' in r.stdout and 'topic "t2" created' in r.stdout, r.stdout
    # An existing topic fails alone: one stderr line for it, the other one is created.
    r = run(k + ["create", "-b", b, "-t", "t1", "-t", "t3", "-J"], expect_rc=1)
    assert jlines(r.stdout) == [{"topic": "t3", "result": "created"}], r.stdout
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and "t1" in err[0] and "TOPIC_ALREADY_EXISTS" in err[0], r.stderr
    r = run(k + ["describe", "-b", b, "-t", "t1", "-J"])
    d = jlines(r.stdout)
    assert len(d) == 1 and d[0]["topic"] == "t1", r.stdout
    parts = d[0]["partitions"]
    assert [p["partition"] for p in parts] == [0, 1, 2], parts
    for p in parts:
        assert len(p["replicas"]) == 2 and p["leader"] == p["replicas"][0], p
        assert sorted(p["isr"]) == sorted(p["replicas"]), p
    assert d[0]["configs"]["retention.ms"] == "60000", d[0]["configs"]
    assert d[0]["configs"]["cleanup.policy"] == "compact", d[0]["configs"]
    r = run(k + ["list", "-b", b])
    assert r.stdout.split() == ["t1", "t2", "t3"], r.stdout
    r = run(k + ["delete", "-b", b, "-t", "t3"])
    assert 'topic "t3" deleted' in r.stdout, r.stdout
    r = run(k + ["describe", "-b", b, "-t", "t3"], expect_rc=1)
    assert "UNKNOWN_TOPIC_OR_PARTITION" in r.stderr, r.stderr
    # Usage errors: one line naming the problem, exit 2.
    r = run(k + ["create", "-b", b], expect_rc=2)
    assert "-t TOPIC is required" in r.stderr, r.stderr
    r = run(k + ["frobnicate"], expect_rc=2)
    assert "unknown subcommand" in r.stderr, r.stderr
    r = run(k + ["create", "-b", b, "-t", "x", "--partitions", "zero"], expect_rc=2)
    assert "--partitions" in r.stderr, r.stderr
    # Properties from a file (-F), as with -X.
    with tempfile.NamedTemporaryFile("w", suffix=".properties", delete=False) as f:
        f.write("# kwire properties\nbootstrap.servers = %s\nclient.id=adm-cli\n" % b)
        props = f.name
    try:
        r = run(k + ["list", "-F", props])
        assert "t1" in r.stdout.split(), r.stdout
        with open(props, "a") as f:
            f.write("no.such.property=1\n")
        r = run(k + ["list", "-F", props], expect_rc=2)
        assert "no.such.property" in r.stderr, r.stderr
    finally:
        os.unlink(props)


def commit(b, group, topic, offsets):
    """Commits with kafka-python: an independent OffsetCommit implementation."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata
    c = KafkaConsumer(bootstrap_servers=b.split(","), group_id=group, enable_auto_commit=False,
                      api_version_auto_timeout_ms=20000)
    try:
        tps = [TopicPartition(topic, p) for p in offsets]
        c.assign(tps)
        c.commit({TopicPartition(topic, p): OffsetAndMetadata(o, "") for p, o in offsets.items()})
    finally:
        c.close()


def groups(tool, b):
    k = [tool, "groups"]
    lines = "".join("v%d\n" % i for i in range(9))
    run([tool, "produce", "-b", b, "-t", "t2", "-p", "0", "-k", "k"], stdin=lines)
    run([tool, "produce", "-b", b, "-t", "t2", "-p", "1", "-k", "k"], stdin="a\nb\n")
    try:
        import kafka  # noqa: F401
    except ImportError:
        print("note: kafka-python missing; groups checked without committed offsets")
        r = run(k + ["lag", "-b", b, "-G", "nobody"], expect_rc=1)
        assert "GROUP_ID_NOT_FOUND" in r.stderr, r.stderr
        return
    commit(b, "cli-group", "t2", {0: 6, 1: 2})
    r = run(k + ["list", "-b", b, "-J"])
    listed = jlines(r.stdout)
    assert [g["group"] for g in listed] == ["cli-group"], r.stdout
    r = run(k + ["describe", "-b", b, "-G", "cli-group", "-J"])
    d = jlines(r.stdout)
    assert d[0]["group"] == "cli-group" and d[0]["type"] == "classic", r.stdout
    assert d[0]["state"] == "Empty" and d[0]["members"] == [], r.stdout
    r = run(k + ["lag", "-b", b, "-G", "cli-group", "-J"])
    lag = {(x["topic"], x["partition"]): x for x in jlines(r.stdout)}
    assert lag[("t2", 0)]["committed"] == 6 and lag[("t2", 0)]["end"] == 9, r.stdout
    assert lag[("t2", 0)]["lag"] == 3, r.stdout
    assert lag[("t2", 1)]["lag"] == 0, r.stdout
    r = run(k + ["lag", "-b", b, "-G", "cli-group"])
    assert "cli-group t2 0 committed 6 end 9 lag 3" in r.stdout, r.stdout
    # Named topics: every partition of them, committed or not (-1).
    r = run(k + ["lag", "-b", b, "-G", "cli-group", "-t", "t1", "-J"])
    rows = jlines(r.stdout)
    assert sorted(x["partition"] for x in rows) == [0, 1, 2], r.stdout
    assert all(x["topic"] == "t1" and x["committed"] == -1 and x["lag"] == -1 for x in rows)
    r = run(k + ["list", "-b", b, "--state", "Stable", "-J"])
    assert r.stdout.strip() == "", r.stdout
    r = run(k + ["list", "-b", b, "--state", "Empty"])
    assert 'group "cli-group" Empty' in r.stdout, r.stdout
    r = run(k + ["lag", "-b", b, "-G", "nobody"], expect_rc=1)
    assert "GROUP_ID_NOT_FOUND" in r.stderr, r.stderr
    r = run(k + ["describe", "-b", b], expect_rc=2)
    assert "-G GROUP is required" in r.stderr, r.stderr


def main():
    tool = os.environ["KW_TOOL"]
    for c in (["topics", "--help"], ["groups", "--help"]):
        r = run([tool] + c)
        assert r.stdout.startswith("usage: kwire " + c[0]), r.stdout
    m = Mock(tool)
    try:
        topics(tool, m.bootstrap)
        groups(tool, m.bootstrap)
    finally:
        m.stop()
    print("ok")


if __name__ == "__main__":
    main()
