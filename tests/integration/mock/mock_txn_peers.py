#!/usr/bin/python3
"""kwire-mock's idempotent producer and transaction support, checked by librdkafka.

Starts the standalone broker (`kwire mock`) and runs clients nobody here wrote against it:

  kcat's idempotent producer (-X enable.idempotence=true): InitProducerId, then sequenced
  batches; the messages come back exactly, and the broker's request log shows the
  InitProducerId;
  confluent-kafka-python's transactional producer (Debian python3-confluent-kafka, librdkafka
  underneath, only in /usr/bin/python3): init_transactions, two committed and one aborted
  transaction over three partitions; a read_committed consumer (kcat -X
  isolation.level=read_committed) sees exactly the committed messages and a read_uncommitted
  one sees the aborted ones too; a second producer with the same transactional.id fences the
  first, whose commit then fails with a fatal error; and, when the broker serves consumer
  groups, send_offsets_to_transaction makes the group's committed offset visible only after
  the commit.

The transactional part needs FindCoordinator (the group module owns it); without it that part
is a visible skip, naming what is missing. A missing client is a visible skip; nothing to run
at all is exit 77 (meson's "skipped").

Usage: mock_txn_peers.py path/to/kwire
"""
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree from this import
from mock_peers_group import read_all  # noqa: E402

KWIRE = sys.argv[1] if len(sys.argv) > 1 else "kwire"
STEP_TIMEOUT = 90  # seconds for any one client run: generous for a loaded 2-core machine
FAILURES = []
RAN = []


def log(msg):
    print(msg, flush=True)


def check(cond, what):
    log(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)
    return cond


class Mock:
    """One `kwire mock` process; always killed at the end, even when a check fails."""

    def __init__(self, *args):
        self.err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([KWIRE, "mock", "-v", "-v", *args], stdout=subprocess.PIPE,
                                     stderr=self.err, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        if not ready:
            self.kill()
            raise RuntimeError("kwire mock printed no bootstrap list")
        self.bootstrap = self.proc.stdout.readline().strip()
        if not self.bootstrap:
            self.kill()
            raise RuntimeError("kwire mock exited: " + self.stderr())

    def stderr(self):
        """The broker's log so far. Read with pread: a seek on this file while the broker runs
        would move the offset it writes at (the file description is shared), and its next log
        lines would overwrite the start of the log (see mock_peers_group.read_all)."""
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


def api_keys(bootstrap):
    """The API keys the first broker advertises (ApiVersions v0, spoken by hand)."""
    host, port = bootstrap.split(",")[0].rsplit(":", 1)
    client = b"txn-peers"
    body = struct.pack(">hhih", 18, 0, 1, len(client)) + client
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(struct.pack(">i", len(body)) + body)
        data = b""
        while len(data) < 4 or len(data) < 4 + struct.unpack(">i", data[:4])[0]:
            chunk = s.recv(65536)
            if not chunk:
                raise RuntimeError("ApiVersions: connection closed")
            data += chunk
    _, corr, err, n = struct.unpack(">iihi", data[:14])
    if err != 0:
        raise RuntimeError("ApiVersions error %d" % err)
    return {struct.unpack(">hhh", data[14 + 6 * i:20 + 6 * i])[0] for i in range(n)}


def run(cmd, stdin=None):
    r = subprocess.run(cmd, input=stdin, capture_output=True, timeout=STEP_TIMEOUT)
    if r.returncode != 0:
        log("  command failed (%d): %s\n%s" % (r.returncode, " ".join(cmd),
                                                r.stderr.decode(errors="replace")[-2000:]))
    return r


KCAT_X = ["-X", "api.version.request=true", "-X", "broker.version.fallback=0.10.0"]


def kcat_consume(bs, topic, isolation):
    r = run(["kcat", "-C", "-b", bs, "-t", topic, "-e", "-o", "beginning", "-q",
             "-X", "isolation.level=" + isolation, "-X", "check.crcs=true", *KCAT_X,
             "-f", "%p|%k:%s\\n"])
    return r.stdout.decode(errors="replace").splitlines() if r.returncode == 0 else None


def values(lines):
    return sorted(l.split("|", 1)[1] for l in lines)


# ------------------------------------------------------------------------------ kcat

def kcat_idempotent(mock):
    bs = mock.bootstrap
    sent = ["idem-%03d:value %d %s" % (i, i, "y" * (i % 13)) for i in range(500)]
    r = run(["kcat", "-P", "-b", bs, "-t", "idem", "-K", ":", "-X", "enable.idempotence=true",
             "-X", "linger.ms=5", *KCAT_X], stdin="".join(l + "\n" for l in sent).encode())
    check(r.returncode == 0, "kcat idempotent producer: 500 messages acknowledged")
    check("InitProducerIdRequest" in mock.stderr(),
          "kcat idempotent producer: the broker saw its InitProducerId")
    got = kcat_consume(bs, "idem", "read_uncommitted")
    check(got is not None and values(got) == sorted(sent),
          "kcat idempotent producer: every message stored exactly once")


# ------------------------------------------------------------------------------ confluent-kafka

def ck_consume(bs, topic, isolation, partitions=3):
    """Every message of the topic through a confluent-kafka consumer (assigned, no group
    membership), until end of partition on all of them."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

    c = Consumer({"bootstrap.servers": bs, "group.id": "peer-reader", "isolation.level": isolation,
                  "enable.partition.eof": True, "enable.auto.commit": False})
    got, eof = [], set()
    try:
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        deadline = time.monotonic() + STEP_TIMEOUT
        while len(eof) < partitions and time.monotonic() < deadline:
            msg = c.poll(1.0)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() != KafkaError._PARTITION_EOF:
                    raise RuntimeError("consumer: %s" % msg.error())
                eof.add(msg.partition())
                continue
            got.append("%d|%s:%s" % (msg.partition(), msg.key().decode(), msg.value().decode()))
    finally:
        c.close()
    return got if len(eof) == partitions else None


def transactions(mock, apis):
    from confluent_kafka import KafkaException, Producer

    bs = mock.bootstrap
    topic = "txn-peer"
    conf = {"bootstrap.servers": bs, "transactional.id": "peer-tx-1",
            "transaction.timeout.ms": 60000, "linger.ms": 5}
    p = Producer(conf)
    p.init_transactions(60)
    check(True, "confluent-kafka: init_transactions")

    def produce(prefix, lo, hi):
        for i in range(lo, hi):
            p.produce(topic, key=("%s%d" % (prefix, i)).encode(), value=b"v%d" % i,
                      partition=i % 3)

    committed = ["%s%d:v%d" % ("c", i, i) for i in range(40)]
    aborted = ["%s%d:v%d" % ("a", i, i) for i in range(100, 130)]
    p.begin_transaction()
    produce("c", 0, 20)
    p.commit_transaction(60)
    p.begin_transaction()
    produce("a", 100, 130)
    p.flush(60)
    p.abort_transaction(60)
    p.begin_transaction()
    produce("c", 20, 40)
    p.commit_transaction(60)
    check(True, "confluent-kafka: two commits and an abort over 3 partitions completed")

    got = kcat_consume(bs, topic, "read_committed")
    check(got is not None and values(got) == sorted(committed),
          "read_committed consumer (kcat) sees exactly the 40 committed messages")
    got = kcat_consume(bs, topic, "read_uncommitted")
    check(got is not None and values(got) == sorted(committed + aborted),
          "read_uncommitted consumer (kcat) also sees the 30 aborted ones")
    got = ck_consume(bs, topic, "read_committed")
    check(got is not None and values(got) == sorted(committed),
          "read_committed consumer (confluent-kafka) sees exactly the 40 committed messages")

    committed += offsets_check(p, bs, apis)

    # A second instance of the same transactional.id fences the first one.
    p.begin_transaction()
    p.produce(topic, key=b"zombie", value=b"z", partition=0)
    p.flush(60)
    p2 = Producer(conf)
    p2.init_transactions(60)
    fatal = None
    try:
        p.commit_transaction(60)
    except KafkaException as e:
        fatal = e.args[0]
    check(fatal is not None and fatal.fatal(),
          "the fenced producer's commit fails with a fatal error (%s)" %
          (fatal.name() if fatal else "no error"))
    p.purge()
    p2.begin_transaction()
    p2.produce(topic, key=b"after", value=b"fence", partition=1)
    p2.commit_transaction(60)
    got = kcat_consume(bs, topic, "read_committed")
    check(got is not None and values(got) == sorted(committed + ["after:fence"]),
          "the new instance commits; the zombie's message is never visible to read_committed")


def offsets_check(p, bs, apis):
    """send_offsets_to_transaction: the group's offset appears only with the commit. While it
    is pending, an OffsetFetch with RequireStable (what a read_committed consumer sends) gets
    UNSTABLE_OFFSET_COMMIT, which librdkafka retries until its timeout. Returns the message
    the transaction committed along with the offset."""
    if not {8, 9}.issubset(apis):
        log("SKIP send_offsets_to_transaction: the broker serves no OffsetCommit/OffsetFetch "
            "(group module not built)")
        return []
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    def consumer(isolation):
        return Consumer({"bootstrap.servers": bs, "group.id": "peer-txn-group",
                         "enable.auto.commit": False, "isolation.level": isolation})

    plain, stable = consumer("read_uncommitted"), consumer("read_committed")
    try:
        tp = TopicPartition("txn-peer", 0)
        p.begin_transaction()
        p.produce("txn-peer", key=b"o", value=b"o", partition=2)
        p.send_offsets_to_transaction([TopicPartition("txn-peer", 0, 7)],
                                      plain.consumer_group_metadata(), 60)
        before = plain.committed([tp], timeout=30)[0].offset
        unstable = None
        try:
            stable.committed([tp], timeout=3)
        except KafkaException as e:
            unstable = e.args[0].name()
        p.commit_transaction(60)
        after = plain.committed([tp], timeout=30)[0].offset
        after_stable = stable.committed([tp], timeout=30)[0].offset
        check(before < 0 and after == 7 and after_stable == 7,
              "send_offsets_to_transaction: the group's offset is %d before the commit, %d after"
              % (before, after))
        check(unstable == "_TIMED_OUT",
              "a RequireStable OffsetFetch is held off while the offset is pending (%s)"
              % unstable)
    finally:
        plain.close()
        stable.close()
    return ["o:o"]


# ------------------------------------------------------------------------------ main

def main():
    have_kcat = shutil.which("kcat") is not None
    try:
        import confluent_kafka  # noqa: F401
        have_ck = True
    except ImportError:
        have_ck = False
    if not have_kcat:
        log("SKIP kcat is not installed (Debian package kcat): nothing can read the topics")
        return 77
    mock = Mock("--brokers", "3", "--partitions", "3")
    try:
        apis = api_keys(mock.bootstrap)
        txn_apis = {22, 24, 25, 26, 28}
        check(txn_apis.issubset(apis), "ApiVersions lists InitProducerId and the transaction APIs")
        kcat_idempotent(mock)
        RAN.append("kcat")
        if not have_ck:
            log("SKIP transactions: python3-confluent-kafka is not importable by %s"
                % sys.executable)
        elif 10 not in apis:
            log("SKIP transactions: librdkafka needs FindCoordinator (API 10) with key type 1 to "
                "find the transaction coordinator, and this broker does not serve it (the group "
                "module that owns FindCoordinator is not built)")
        else:
            transactions(mock, apis)
            RAN.append("confluent-kafka")
    except Exception as e:
        check(False, "peer run raised %s: %s" % (type(e).__name__, e))
    finally:
        status = mock.stop()
        check(status == 0, "kwire mock stops on SIGTERM with status 0")
        if FAILURES:
            log("broker log (tail):\n" + mock.stderr()[-4000:])
    if FAILURES:
        log("%d check(s) failed" % len(FAILURES))
        return 1
    return 0 if RAN else 77


if __name__ == "__main__":
    sys.exit(main())
