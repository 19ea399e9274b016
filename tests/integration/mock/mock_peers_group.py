#!/usr/bin/python3
"""kwire-mock's group coordinator checked by clients nobody here wrote.

Starts the standalone broker (`kwire mock --brokers 3`), reads the bootstrap list from its
first line, and runs:

  kcat (librdkafka) -G: two balanced consumers in one group (FindCoordinator, JoinGroup with
  MEMBER_ID_REQUIRED, SyncGroup with the leader's range assignment, Heartbeat, OffsetFetch,
  OffsetCommit, LeaveGroup); messages are produced once both members hold an assignment, and
  every message must be consumed exactly once across the two, each consumer owning a share of
  the partitions; the offsets they commit on close must be the log end of every partition, read
  back with kafka-python's KafkaConsumer.committed (OffsetFetch);
  kcat static membership (group.instance.id, KIP-345): a restarted instance replaces its old
  member id without a rebalance and resumes from the offsets committed on close;
  kafka-python: a subscribed group consumer that consumes part of a topic, commits, closes, and
  a second consumer of the group resuming exactly where the first stopped; the admin client
  listing (ListGroups on every broker) and describing (DescribeGroups) the groups.

The group membership is observed through kafka-python's admin client (DescribeGroups), or
without kafka-python through `kwire groups describe`, so no sleep stands in for synchronisation.
The clients' output is read while they write it without moving their file offset (read_all).
Every process started is killed at the end, even when a check fails. A missing client is a
visible skip; both missing is exit 77 (meson's "skipped").

Usage: mock_peers_group.py path/to/kwire
"""
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

KWIRE = sys.argv[1] if len(sys.argv) > 1 else "kwire"
DEADLINE = 120  # seconds for any one wait: generous for a loaded 2-core machine
FAILURES = []


def log(msg):
    print(msg, flush=True)


def check(cond, what):
    log(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)
    return cond


def read_all(f):
    """Everything written to temporary file f so far, read with pread at explicit positions.

    The child writes to the same open file description, so it shares the file offset with f:
    a seek here (then a read) while the child is running moves the offset the child writes at,
    and its next writes land over the start of its own output. kcat -u writes each field of a
    message with its own write(), so such a read in the middle of a message overwrote earlier
    lines and glued the rest of the message to the end of another line: lines were lost and
    the wait for every message ran out (issues 4/6/9). pread never moves the offset."""
    fd, pos, parts = f.fileno(), 0, []
    while True:
        b = os.pread(fd, 1 << 16, pos)
        if not b:
            return b"".join(parts).decode("utf-8", "replace")
        parts.append(b)
        pos += len(b)


class Proc:
    """A child process whose stdout goes to a temporary file; always killed in the end."""

    def __init__(self, args, stdin=None):
        self.out = tempfile.TemporaryFile()
        self.err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=self.err,
                                     stdin=stdin if stdin is not None else subprocess.DEVNULL)

    def lines(self):
        """The complete lines written so far: while the child runs, a line it is still writing
        (no newline yet) is not one; once it has exited, everything is."""
        text = read_all(self.out)
        if self.proc.poll() is None:
            text = text[:text.rfind("\n") + 1]
        return text.splitlines()

    def stderr(self):
        return read_all(self.err)

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class Mock:
    """One `kwire mock` process."""

    def __init__(self, *args):
        self.err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([KWIRE, "mock", "-v", *args], stdout=subprocess.PIPE,
                                     stderr=self.err, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        self.bootstrap = self.proc.stdout.readline().strip() if ready else ""
        if not self.bootstrap:
            self.kill()
            raise RuntimeError("kwire mock printed no bootstrap list: " + self.stderr())

    def stderr(self):
        return read_all(self.err)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def wait_for(what, cond):
    """Polls cond() until it is true or the deadline passes; returns its last value."""
    end = time.time() + DEADLINE
    while True:
        v = cond()
        if v or time.time() > end:
            if not v:
                log("  gave up waiting for " + what)
            return v
        time.sleep(0.2)


def admin(bs):
    from kafka.admin import KafkaAdminClient
    return KafkaAdminClient(bootstrap_servers=bs.split(","), request_timeout_ms=30000)


def describe(adm, group):
    """(state, number of members) of a group through DescribeGroups."""
    try:
        d = adm.describe_consumer_groups([group])[0]
        return d.state, len(d.members)
    except Exception as e:  # the group may not exist yet: keep polling
        log("  describe_consumer_groups: %s" % e)
        return None, 0


def kwire_describe(bs, group):
    """(state, number of members) of a group through `kwire groups describe -J`."""
    r = subprocess.run([KWIRE, "groups", "describe", "-b", bs, "-G", group, "-J"],
                       capture_output=True, text=True, timeout=DEADLINE)
    try:
        d = json.loads(r.stdout.splitlines()[0])
        return d["state"], len(d["members"])
    except (IndexError, ValueError, KeyError, TypeError):  # not there yet: keep polling
        return None, 0


def committed(bs, group, topic, parts):
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(bootstrap_servers=bs.split(","), group_id=group, enable_auto_commit=False)
    try:
        return {p: c.committed(TopicPartition(topic, p)) for p in range(parts)}
    finally:
        c.close()


def end_offsets(bs, topic, parts):
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(bootstrap_servers=bs.split(","), group_id=None)
    try:
        tps = [TopicPartition(topic, p) for p in range(parts)]
        return {tp.partition: o for tp, o in c.end_offsets(tps).items()}
    finally:
        c.close()


# ------------------------------------------------------------------------------ kcat -G

def kcat_group(mock, have_kp):
    bs, parts, n = mock.bootstrap, 4, 400
    topic, group = "kcat-grp", "kcat-group"
    if have_kp:
        from kafka.admin import NewTopic
        adm = admin(bs)
        adm.create_topics([NewTopic(topic, num_partitions=parts, replication_factor=1)])
    else:
        r = subprocess.run([KWIRE, "topics", "create", "-b", bs, "-t", topic, "--partitions",
                            str(parts)], capture_output=True, timeout=DEADLINE)
        check(r.returncode == 0, "kwire topics create: %d partitions%s" % (
            parts, "" if r.returncode == 0 else " (%s)" % r.stderr.decode(errors="replace")))
    consumers = []
    try:
        for _ in range(2):
            consumers.append(Proc(["kcat", "-b", bs, "-G", group, "-o", "beginning", "-q", "-u",
                                   "-f", "%p|%o|%k|%s\\n", "-X", "session.timeout.ms=10000",
                                   "-X", "check.crcs=true", topic]))
        if have_kp:
            ok = wait_for("two members in a Stable group",
                          lambda: describe(adm, group) == ("Stable", 2))
            check(ok, "kcat -G: two consumers form a Stable group of 2 (kafka-python "
                      "DescribeGroups)")
        else:
            # Without kafka-python the group is observed with kwire's own DescribeGroups.
            ok = wait_for("two members in a Stable group",
                          lambda: kwire_describe(bs, group) == ("Stable", 2))
            check(ok, "kcat -G: two consumers form a Stable group of 2 (kwire groups "
                      "describe)")
        sent = ["key-%03d:value %d %s" % (i, i, "y" * (i % 13)) for i in range(n)]
        r = subprocess.run(["kcat", "-P", "-b", bs, "-t", topic, "-K", ":"],
                           input="".join(s + "\n" for s in sent).encode(), capture_output=True,
                           timeout=DEADLINE)
        check(r.returncode == 0, "kcat: produce %d keyed messages" % n)
        wait_for("all messages consumed",
                 lambda: sum(len(c.lines()) for c in consumers) >= n)
    finally:
        status = [c.stop() for c in consumers]
    got = [[l.split("|", 2) for l in c.lines()] for c in consumers]
    check(all(s == 0 for s in status), "kcat -G: both consumers stop cleanly on SIGTERM (%r)"
          % status)
    pairs = [("%s:%s" % tuple(x[2].split("|", 1))) for g in got for x in g]
    check(sorted(pairs) == sorted(sent) and len(pairs) == n,
          "kcat -G: every message consumed exactly once across the two consumers")
    shares = [set(int(x[0]) for x in g) for g in got]
    check(all(shares) and not (shares[0] & shares[1]) and len(shares[0] | shares[1]) == parts,
          "kcat -G: each consumer owns a share of the partitions (%s)" % shares)
    if have_kp:
        ends = end_offsets(bs, topic, parts)
        com = wait_for("the final commits", lambda: (lambda c: c if c == ends else None)(
            committed(bs, group, topic, parts)))
        check(com == ends, "kcat -G: committed offsets are the log end of every partition "
                           "(kafka-python committed: %s, end %s)" % (com, ends))
        state = describe(adm, group)
        check(state == ("Empty", 0), "kcat -G: the group is Empty after both left (%s)"
              % (state,))
        adm.close()
    for c in consumers:
        err = c.stderr().strip()
        if err:
            log("  kcat stderr: " + err[-500:])


def members(adm, group):
    """(state, [member ids]) through DescribeGroups."""
    try:
        d = adm.describe_consumer_groups([group])[0]
        return d.state, sorted(m.member_id for m in d.members)
    except Exception as e:
        log("  describe_consumer_groups: %s" % e)
        return None, []


def kcat_static(mock):
    """KIP-345 with librdkafka: a static member that restarts replaces its old member id
    without a rebalance and resumes from the offsets it committed on close."""
    from kafka.admin import NewTopic
    bs, topic, group = mock.bootstrap, "kcat-static", "kcat-static-group"
    adm = admin(bs)
    adm.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    # earliest: without a commit the first instance reads from the start, and the second one
    # would read everything again if the commit on close were lost.
    cmd = ["kcat", "-b", bs, "-G", group, "-q", "-u", "-f", "%k:%s\\n", "-X",
           "group.instance.id=inst-1", "-X", "session.timeout.ms=30000", "-X",
           "auto.offset.reset=earliest", topic]

    def produce(lines):
        r = subprocess.run(["kcat", "-P", "-b", bs, "-t", topic, "-K", ":"],
                           input="".join(l + "\n" for l in lines).encode(), capture_output=True,
                           timeout=DEADLINE)
        return r.returncode == 0

    first = ["s%d:one-%d" % (i, i) for i in range(10)]
    second = ["s%d:two-%d" % (i, i) for i in range(10)]
    k1 = Proc(cmd)
    k2 = None
    try:
        st = wait_for("the static member", lambda: (lambda d: d if d[0] == "Stable" and
                                                     len(d[1]) == 1 else None)(members(adm, group)))
        old = st[1][0] if st else ""
        check(old.startswith("inst-1-"), "kcat static: the member id starts with the instance id "
                                         "(%s)" % old)
        check(produce(first), "kcat static: produce 10 messages")
        wait_for("the first messages", lambda: len(k1.lines()) >= len(first))
        check(k1.stop() == 0, "kcat static: the first instance stops on SIGTERM")
        # A static member sends no LeaveGroup: it stays in the group until its session ends.
        check(members(adm, group) == ("Stable", [old]),
              "kcat static: the stopped static member is still the group's member")
        k2 = Proc(cmd)
        st = wait_for("the replacement", lambda: (lambda d: d if d[0] == "Stable" and
                                                   d[1] and d[1][0] != old else None)(
            members(adm, group)))
        check(st is not None and len(st[1]) == 1 and st[1][0].startswith("inst-1-"),
              "kcat static: the restarted instance replaced the old member id without a "
              "rebalance (%s -> %s)" % (old, st[1] if st else None))
        check(produce(second), "kcat static: produce 10 more")
        wait_for("the second messages", lambda: len(k2.lines()) >= len(second))
    finally:
        k1.stop()
        if k2:
            k2.stop()
    check(sorted(k1.lines()) == sorted(first), "kcat static: the first instance read the first "
                                                "batch exactly")
    check(k2 is not None and sorted(k2.lines()) == sorted(second),
          "kcat static: the restarted instance resumed after the committed offsets (%d lines)"
          % (len(k2.lines()) if k2 else -1))
    adm.close()


# ------------------------------------------------------------------------------ kafka-python

def python_group(mock):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import NewTopic
    bs, topic, group, parts, n, first = mock.bootstrap, "py-grp", "py-group", 3, 150, 60
    adm = admin(bs)
    adm.create_topics([NewTopic(topic, num_partitions=parts, replication_factor=1)])
    p = KafkaProducer(bootstrap_servers=bs.split(","), linger_ms=5)
    futures = [p.send(topic, key=b"k%d" % i, value=b"value-%d" % i) for i in range(n)]
    p.flush(60)
    sent = {(md.partition, md.offset) for md in (f.get(timeout=60) for f in futures)}
    p.close()

    def consumer():
        # The iteration timeout is only a last resort: the loops below stop on counts.
        return KafkaConsumer(topic, bootstrap_servers=bs.split(","), group_id=group,
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             session_timeout_ms=10000, consumer_timeout_ms=DEADLINE * 1000)

    c = consumer()
    got1 = []
    for m in c:
        got1.append((m.partition, m.offset))
        if len(got1) == first:
            break
    # Commit exactly what was consumed (the next offset per partition), then stop.
    nxt = {}
    for part, off in got1:
        nxt[part] = max(nxt.get(part, 0), off + 1)
    from kafka.structs import OffsetAndMetadata
    c.commit({TopicPartition(topic, q): OffsetAndMetadata(o, "") for q, o in nxt.items()})
    check(len(c.assignment()) == parts, "kafka-python: the lone group member is assigned all "
                                        "%d partitions" % parts)
    state = describe(adm, group)
    check(state == ("Stable", 1), "kafka-python: DescribeGroups shows the Stable group of 1 (%s)"
          % (state,))
    c.close()
    com = committed(bs, group, topic, parts)
    check(com == {q: nxt.get(q) for q in range(parts)},
          "kafka-python: committed offsets read back, none where nothing was consumed (%s)"
          % com)
    listed = set(g for g, _ in adm.list_consumer_groups())
    check(group in listed and "kcat-group" in listed,
          "kafka-python admin: list_consumer_groups finds the groups on their coordinators")
    # A new consumer of the group resumes where the first one committed.
    c = consumer()
    got2 = []
    for m in c:
        got2.append((m.partition, m.offset))
        if len(got2) == n - first:
            break
    # Anything more (a message delivered twice) would arrive now.
    extra = c.poll(timeout_ms=2000)
    got2 += [(m.partition, m.offset) for ms in extra.values() for m in ms]
    c.close()
    check(len(got1) == first and len(got2) == n - first and not (set(got1) & set(got2)) and
          set(got1) | set(got2) == sent,
          "kafka-python: the restarted consumer resumes from the committed offsets (%d + %d "
          "of %d)" % (len(got1), len(got2), n))
    adm.close()


def main():
    have_kcat = shutil.which("kcat") is not None
    try:
        import kafka  # noqa: F401
        have_kp = True
    except ImportError:
        have_kp = False
    if not have_kcat:
        log("SKIP kcat -G checks: kcat is not installed (apt-get install kcat)")
    if not have_kp:
        log("SKIP kafka-python group checks: python3-kafka is not installed for %s"
            % sys.executable)
    if not have_kcat and not have_kp:
        return 77
    mock = Mock("--brokers", "3")
    try:
        if have_kcat:
            kcat_group(mock, have_kp)
        if have_kcat and have_kp:
            kcat_static(mock)
        if have_kp:
            python_group(mock)
    except Exception as e:  # a client crash is a failure with its reason, not a hang
        check(False, "peer run raised %s: %s" % (type(e).__name__, e))
    finally:
        status = mock.stop()
        check(status == 0, "kwire mock stops on SIGTERM with status 0 (got %r)" % status)
        if FAILURES:
            log("---- kwire mock stderr (tail) ----\n" + mock.stderr()[-4000:])
    if FAILURES:
        log("%d check(s) failed" % len(FAILURES))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
