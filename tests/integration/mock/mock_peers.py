#!/usr/bin/python3
"""kwire-mock checked by clients nobody here wrote.

Starts the standalone broker (`kwire mock`), reads the bootstrap list from its first line, and
runs independent clients against it, comparing exact message contents:

  kcat (librdkafka): metadata (-L -J), keyed produce and consume, every compression codec with
  CRC checking on, headers, null values, and LogAppendTime timestamps;
  kafka-python (Debian python3-kafka, only in /usr/bin/python3): produce with gzip and acks=all,
  consume with exact (partition, offset) agreement, beginning/end offsets, offsets_for_times
  (ListOffsets by timestamp), and the admin client (CreateTopics with configs, DescribeConfigs,
  CreatePartitions, DeleteTopics).

Finally the broker must stop on SIGTERM with exit status 0. A missing client is a visible skip;
both missing is exit 77 (meson's "skipped").

Usage: mock_peers.py path/to/kwire
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
STEP_TIMEOUT = 90  # seconds for any one client run: generous for a loaded 2-core machine
FAILURES = []


def log(msg):
    print(msg, flush=True)


def check(cond, what):
    if cond:
        log("ok   " + what)
    else:
        log("FAIL " + what)
        FAILURES.append(what)
    return cond


class Mock:
    """One `kwire mock` process; always killed at the end, even when a check fails."""

    def __init__(self, *args):
        self.err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([KWIRE, "mock", "-v", *args], stdout=subprocess.PIPE,
                                     stderr=self.err, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        if not ready:
            self.kill()
            raise RuntimeError("kwire mock printed no bootstrap list")
        self.bootstrap = self.proc.stdout.readline().strip()
        if not self.bootstrap:
            self.kill()
            raise RuntimeError("kwire mock exited: " + self.stderr())
        self.ports = [int(hp.rsplit(":", 1)[1]) for hp in self.bootstrap.split(",")]

    def stderr(self):
        self.err.seek(0)
        return self.err.read()

    def stop(self):
        """SIGTERM; returns the exit status (None if it did not stop)."""
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


def run(cmd, stdin=None):
    r = subprocess.run(cmd, input=stdin, capture_output=True, timeout=STEP_TIMEOUT)
    if r.returncode != 0:
        log("  command failed (%d): %s\n%s" % (r.returncode, " ".join(cmd),
                                                r.stderr.decode(errors="replace")[-2000:]))
    return r


# ------------------------------------------------------------------------------ kcat

KCAT_X = ["-X", "api.version.request=true", "-X", "broker.version.fallback=0.10.0"]


def built_with(codec):
    """Whether `kwire --version` lists the codec as built in."""
    built = subprocess.run([KWIRE, "--version"], capture_output=True, text=True).stdout
    return ("%s yes" % ("zlib" if codec == "gzip" else codec)) in built


def kcat_produce(bs, topic, lines, extra=()):
    data = "".join(l + "\n" for l in lines).encode()
    return run(["kcat", "-P", "-b", bs, "-t", topic, "-K", ":", *KCAT_X, *extra], stdin=data)


def kcat_consume(bs, topic, fmt, extra=()):
    r = run(["kcat", "-C", "-b", bs, "-t", topic, "-e", "-o", "beginning", "-q",
             "-X", "check.crcs=true", *KCAT_X, "-f", fmt, *extra])
    return r.stdout.decode(errors="replace").splitlines() if r.returncode == 0 else None


def kcat_checks(mock):
    bs = mock.bootstrap
    # Keyed messages: exact contents back, per-partition offsets 0..n-1 in production order.
    sent = ["key-%03d:value %d with some text %s" % (i, i, "x" * (i % 17)) for i in range(300)]
    r = kcat_produce(bs, "kcat-keys", sent)
    check(r.returncode == 0, "kcat: produce 300 keyed messages")
    got = kcat_consume(bs, "kcat-keys", "%p|%o|%k:%s\\n")
    check(got is not None and sorted(l.split("|", 2)[2] for l in got) == sorted(sent),
          "kcat: consume returns exactly the produced key:value pairs")
    if got:
        parts = {}
        for l in got:
            p, o, kv = l.split("|", 2)
            parts.setdefault(int(p), []).append((int(o), kv))
        contiguous = all([o for o, _ in v] == list(range(len(v))) for v in parts.values())
        in_order = all([sent.index(kv) for _, kv in v] == sorted(sent.index(kv) for _, kv in v)
                       for v in parts.values())
        check(contiguous and in_order and len(parts) == 3,
              "kcat: 3 partitions, offsets from 0 without gaps, production order kept")

    # Metadata as JSON: the brokers, and the topic with its partitions and leaders.
    r = run(["kcat", "-L", "-J", "-b", bs, "-t", "kcat-keys", *KCAT_X])
    md = json.loads(r.stdout) if r.returncode == 0 else {}
    brokers = sorted((b["id"], b["name"]) for b in md.get("brokers", []))
    check(brokers == [(i + 1, "127.0.0.1:%d" % p) for i, p in enumerate(mock.ports)],
          "kcat -L: the three brokers with their ports")
    topics = [t for t in md.get("topics", []) if t["topic"] == "kcat-keys"]
    ok = len(topics) == 1 and len(topics[0]["partitions"]) == 3
    if ok:
        leaders = sorted(p["leader"] for p in topics[0]["partitions"])
        ok = leaders == [1, 2, 3] and all(
            [x["id"] for x in p["replicas"]] == [p["leader"]] for p in topics[0]["partitions"])
    check(ok, "kcat -L: topic kcat-keys with 3 partitions led by brokers 1, 2 and 3")

    # Every codec librdkafka has (that this kwire was built with), the consumer verifying CRCs.
    for codec in ("gzip", "snappy", "lz4", "zstd"):
        if not built_with(codec):
            log("SKIP kcat %s: kwire was built without %s" % (codec, codec))
            continue
        topic = "kcat-" + codec
        lines = ["k%d:%s" % (i, ("compressible %d " % (i % 5)) * 20) for i in range(500)]
        r = kcat_produce(bs, topic, lines, ["-z", codec, "-X", "linger.ms=100"])
        got = kcat_consume(bs, topic, "%k:%s\\n") if r.returncode == 0 else None
        check(got is not None and sorted(got) == sorted(lines),
              "kcat: %s-compressed batches produce and consume back exactly" % codec)

    # Headers and a null value (-Z: empty means NULL), read back with lengths.
    r = run(["kcat", "-P", "-b", bs, "-t", "kcat-hdr", "-K", ":", "-Z", "-H", "h1=v1",
             "-H", "h2=v2", *KCAT_X], stdin=b"k-null:\nk-full:payload\n")
    got = kcat_consume(bs, "kcat-hdr", "%k|%S|%s|%h\\n") if r.returncode == 0 else None
    check(got is not None and sorted(got) == ["k-full|7|payload|h1=v1,h2=v2",
                                              "k-null|-1||h1=v1,h2=v2"],
          "kcat: headers and a null value round-trip")


def kcat_log_append_time():
    mock = Mock("--log-append-time")
    try:
        bs = mock.bootstrap
        before = int(time.time() * 1000)
        r = run(["kcat", "-P", "-b", bs, "-t", "lat", "-K", ":", *KCAT_X],
                stdin=b"a:1\nb:2\n")
        c = run(["kcat", "-C", "-b", bs, "-t", "lat", "-e", "-o", "beginning", "-q", "-J",
                 *KCAT_X]) if r.returncode == 0 else None
        after = int(time.time() * 1000)
        msgs = [json.loads(l) for l in c.stdout.decode().splitlines()] if c and c.returncode == 0 else []
        check(len(msgs) == 2 and all(m["tstype"] == "logappend" and before - 1000 <= m["ts"] <= after + 1000
                                     for m in msgs),
              "kcat: LogAppendTime batches are reported as logappend with the broker's time")
    except Exception as e:
        check(False, "kcat LogAppendTime run raised %s: %s" % (type(e).__name__, e))
    finally:
        check(mock.stop() == 0, "kwire mock --log-append-time stops on SIGTERM with status 0")


# ------------------------------------------------------------------------------ kafka-python

def kafka_python_checks(mock):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewPartitions, NewTopic

    bs = mock.bootstrap.split(",")
    producer = KafkaProducer(bootstrap_servers=bs, acks="all",
                             compression_type="gzip" if built_with("gzip") else None,
                             linger_ms=20, request_timeout_ms=30000)
    t0 = int(time.time() * 1000)
    sent = {}
    futures = []
    for i in range(200):
        key, value = b"py-key-%d" % i, b"py-value-%d-" % i + b"z" * (i % 31)
        futures.append((key, value, producer.send("py-topic", key=key, value=value,
                                                  timestamp_ms=t0 + i)))
    producer.flush(60)
    for key, value, f in futures:
        md = f.get(timeout=60)
        sent[(md.partition, md.offset)] = (key, value)
    producer.close(30)
    check(len(sent) == 200, "kafka-python: 200 acks=all gzip sends acknowledged with offsets")

    consumer = KafkaConsumer(bootstrap_servers=bs, group_id=None, auto_offset_reset="earliest",
                             consumer_timeout_ms=5000, enable_auto_commit=False)
    tps = [TopicPartition("py-topic", p) for p in sorted(consumer.partitions_for_topic("py-topic"))]
    consumer.assign(tps)
    got = {(m.partition, m.offset): (m.key, m.value) for m in consumer}
    check(got == sent, "kafka-python: consumed (partition, offset, key, value) equal what was acked")
    check(len(tps) == 3, "kafka-python: the auto-created topic has 3 partitions")

    begin = consumer.beginning_offsets(tps)
    end = consumer.end_offsets(tps)
    counts = {}
    for (p, _o) in sent:
        counts[p] = counts.get(p, 0) + 1
    check(all(begin[tp] == 0 and end[tp] == counts.get(tp.partition, 0) for tp in tps),
          "kafka-python: beginning_offsets 0 and end_offsets = records per partition")
    # ListOffsets by time: record i was sent with timestamp t0 + i.
    target = t0 + 150
    found = consumer.offsets_for_times({tp: target for tp in tps})
    ok = True
    for tp in tps:
        want = min(((o, sent[(tp.partition, o)]) for (p, o) in sent if p == tp.partition
                    and int(sent[(p, o)][0].split(b"-")[-1]) >= 150), default=None)
        ot = found[tp]
        if want is None:
            ok = ok and ot is None
        else:
            ok = ok and ot is not None and ot.offset == want[0] and ot.timestamp == t0 + int(want[1][0].split(b"-")[-1])
    check(ok, "kafka-python: offsets_for_times finds the first record at or after a time")
    consumer.close()

    admin = KafkaAdminClient(bootstrap_servers=bs, request_timeout_ms=30000)
    admin.create_topics([NewTopic("py-admin", num_partitions=2, replication_factor=3,
                                  topic_configs={"retention.bytes": "123456",
                                                 "cleanup.policy": "compact"})])
    check("py-admin" in admin.list_topics(), "kafka-python admin: create_topics, list_topics")
    res = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "py-admin")])
    entries = {}
    for r in res:
        for (_code, _msg, _type, _name, cfgs) in r.resources:
            for c in cfgs:
                entries[c[0]] = c[1]
    check(entries.get("retention.bytes") == "123456" and entries.get("cleanup.policy") == "compact"
          and entries.get("max.message.bytes") == "1048588",
          "kafka-python admin: describe_configs returns the set and default values")
    admin.create_partitions({"py-admin": NewPartitions(total_count=5)})
    c2 = KafkaConsumer(bootstrap_servers=bs, group_id=None)
    check(len(c2.partitions_for_topic("py-admin") or ()) == 5,
          "kafka-python admin: create_partitions grows the topic to 5")
    c2.close()
    admin.delete_topics(["py-admin"])
    check("py-admin" not in admin.list_topics(), "kafka-python admin: delete_topics")
    admin.close()


# ------------------------------------------------------------------------------ main

def main():
    have_kcat = shutil.which("kcat") is not None
    try:
        import kafka  # noqa: F401
        have_kp = True
    except ImportError:
        have_kp = False
    if not have_kcat:
        log("SKIP kcat checks: kcat is not installed (apt-get install kcat)")
    if not have_kp:
        log("SKIP kafka-python checks: python3-kafka is not installed for %s" % sys.executable)
    if not have_kcat and not have_kp:
        return 77

    mock = Mock("--brokers", "3", "--partitions", "3")
    try:
        if have_kcat:
            kcat_checks(mock)
        if have_kp:
            kafka_python_checks(mock)
    except Exception as e:  # a client crash is a failure with its reason, not a hang
        check(False, "peer run raised %s: %s" % (type(e).__name__, e))
    finally:
        status = mock.stop()
        check(status == 0, "kwire mock stops on SIGTERM with status 0 (got %r)" % status)
        if FAILURES:
            log("---- kwire mock stderr (tail) ----\n" + mock.stderr()[-4000:])
    if have_kcat:
        kcat_log_append_time()
    if FAILURES:
        log("%d check(s) failed" % len(FAILURES))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
