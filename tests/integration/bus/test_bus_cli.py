#!/usr/bin/env python3
"""`kwire demo` and `kwire dlq` as a user runs them.

`kwire demo` needs nothing (embedded kwire-mock): it must exit 0 and print every section of
the quick start with what it shows really happening (4 attempts, the DLQ record's headers, the
replay, the statistics). examples/event_bus runs against `kwire mock` (topics created
through CreateTopics: auto-creation is off). `kwire dlq count|list|replay` runs against `kwire mock` in another
process: DLQ records written with `kwire produce -H`, the replayed records read back with kcat
(an independent client).

The dlq part is skipped (exit 77 at the end, after the demo passed) when kcat is missing."""
import json
import os
import select
import shutil
import subprocess
import sys

TIMEOUT = 60


class KwireMock:
    """`kwire mock` as a separate process (stdin kept open: it quits when stdin closes)."""

    def __init__(self, tool, *args):
        self.p = subprocess.Popen([tool, "mock", *args], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                  bufsize=1)
        r, _, _ = select.select([self.p.stdout], [], [], TIMEOUT)
        self.bootstrap = self.p.stdout.readline().strip() if r else ""
        if not self.bootstrap:
            self.stop()
            raise RuntimeError("kwire mock printed no bootstrap list")

    def stop(self):
        try:
            self.p.terminate()
            self.p.wait(timeout=10)
        except Exception:
            self.p.kill()
            self.p.wait()


def run(args, stdin=None, expect_rc=0):
    r = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == expect_rc, "%s: exit %d (want %d)\nstdout:\n%s\nstderr:\n%s" % (
        " ".join(args), r.returncode, expect_rc, r.stdout, r.stderr)
    return r


def check_demo(tool):
    out = run([tool, "demo"]).stdout
    for s in ["== 1. Start an embedded kwire-mock broker",
              "== 2. Connect: topics demo.stream and demo.stream.dlq are created",
              "topic demo.stream, 3 partitions, consumer group demo-shipping, connected yes",
              "== 3. Register event types and subscribe handlers",
              "== 4. Publish", "== 5. Consume",
              "== 6. A failing handler", "4 attempts, then sent to demo.stream.dlq",
              "== 7. The dead-letter queue", "get_dlq_message_count: 1", "get_dlq_messages: 1",
              "dlq_reason = max_retries_exceeded", "dlq_error_type = CarrierError",
              "dlq_retry_count = 3", "dlq_consumer_group = demo-shipping",
              "== 8. Fix the handler and replay the DLQ message", "(replayed from the DLQ)",
              "== 9. Shutdown and statistics", "== Done: every step happened as shown."]:
        assert s in out, "demo output lacks %r:\n%s" % (s, out)
    assert out.count("FAILED (carrier refused the parcel)") == 4, out
    assert out.count("  published ") == 6, out
    stats = json.loads(out.split("== 9. Shutdown and statistics\n", 1)[1].splitlines()[0])
    assert stats["events_published"] == 6 and stats["messages_sent_to_dlq"] == 1, stats
    assert stats["events_processed_success"] == 6 and stats["handler_errors"] == 4, stats
    assert stats["rebalance_count"] >= 1, stats


def check_dlq(tool, b):
    base = ["-b", b, "--prefix", "cli"]
    hdr = ["-H", "event_type=OrderShipped", "-H", "event_id=e1",
           "-H", "dlq_reason=max_retries_exceeded", "-H", "dlq_retry_count=3"]
    run([tool, "produce", "-b", b, "-t", "cli.stream.dlq", "-p", "0", "-k", "agg-1"] + hdr,
        stdin="first\n")
    run([tool, "produce", "-b", b, "-t", "cli.stream.dlq", "-p", "0", "-k", "agg-2"] + hdr +
        ["-H", "dlq_replay_count=3"], stdin="second\n")
    assert run([tool, "dlq", "count"] + base).stdout.strip() == "2"
    rows = [json.loads(line) for line in
            run([tool, "dlq", "list", "-J"] + base).stdout.splitlines()]
    assert [(r["partition"], r["offset"], r["key"], r["payload"], r["replay_count"])
            for r in rows] == [(0, 0, "agg-1", "first", 0), (0, 1, "agg-2", "second", 3)], rows
    assert rows[0]["topic"] == "cli.stream.dlq"
    assert rows[0]["headers"]["dlq_reason"] == "max_retries_exceeded", rows
    assert len(run([tool, "dlq", "list", "--limit", "1"] + base).stdout.split("partition ")) == 2
    # The guard: replayed 3 times already, dlq_max_replay_attempts is 3.
    r = run([tool, "dlq", "replay", "--partition", "0", "--offset", "1"] + base, expect_rc=3)
    assert "replay" in r.stderr, r.stderr
    run([tool, "dlq", "replay", "--partition", "0", "--offset", "0"] + base)
    run([tool, "dlq", "replay", "--partition", "0", "--offset", "1", "--force"] + base)
    run([tool, "dlq", "replay", "--partition", "0", "--offset", "7"] + base, expect_rc=1)
    run([tool, "dlq", "bogus"] + base, expect_rc=2)
    out = run(["kcat", "-C", "-b", b, "-t", "cli.stream", "-o", "beginning", "-e", "-q",
               "-f", "%k|%s|%h\\n"]).stdout
    got = sorted(line for line in out.splitlines() if line)
    assert got == ["agg-1|first|event_type=OrderShipped,event_id=e1,dlq_replay_count=1",
                   "agg-2|second|event_type=OrderShipped,event_id=e1,dlq_replay_count=4"], got


def check_example(tool, example):
    """examples/event_bus against `kwire mock`, as its README describes."""
    m = KwireMock(tool, "--partitions", "3", "--no-auto-create")
    try:
        out = run([example, m.bootstrap]).stdout
    finally:
        m.stop()
    lines = out.splitlines()
    pub = [line for line in lines if line.startswith("published ")]
    got = [line for line in lines if line.startswith("handled ")]
    assert [p.split()[1] for p in pub] == ["InvoiceIssued", "InvoicePaid", "InvoiceArchived"], out
    assert [g.split()[1] for g in got] == ["InvoiceIssued", "InvoicePaid", "InvoiceArchived"], out
    assert [g.split()[5] for g in got] == ["v1", "v2", "v3"], out
    stats = json.loads([line for line in lines if line.startswith("stats ")][0][6:])
    assert stats["events_published"] == 3 and stats["events_processed_success"] == 3, stats


def main():
    tool = os.environ["KW_TOOL"]
    check_demo(tool)
    check_example(tool, sys.argv[1])
    if not shutil.which("kcat"):
        print("SKIP (after the demo passed): kcat is missing for the kwire dlq checks")
        sys.exit(77)
    m = KwireMock(tool, "--partitions", "2")
    try:
        check_dlq(tool, m.bootstrap)
    finally:
        m.stop()
    print("ok")


if __name__ == "__main__":
    main()
