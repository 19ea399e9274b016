"""Reads a whole topic with kafka-python (an independent consumer, CRCs checked) and prints
one line per record, in the format the producer tests read from kcat:

    partition|offset|timestamp|key|value|k=v,k2=v2

with NULL for a null key or value. Usage: kafka_python_read.py BOOTSTRAP TOPIC
Exit status 3 when kafka-python lacks the module for a codec it met (reported on stderr)."""
import sys

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import UnsupportedCodecError


def text(b):
    return "NULL" if b is None else b.decode()


def main():
    bootstrap, topic = sys.argv[1], sys.argv[2]
    c = KafkaConsumer(bootstrap_servers=bootstrap.split(","), enable_auto_commit=False,
                      check_crcs=True, consumer_timeout_ms=30000, request_timeout_ms=30000,
                      fetch_max_wait_ms=20)
    parts = None
    for _ in range(100):
        parts = c.partitions_for_topic(topic)
        if parts:
            break
        c.poll(timeout_ms=100)
    tps = [TopicPartition(topic, p) for p in sorted(parts)]
    c.assign(tps)
    c.seek_to_beginning(*tps)
    end = c.end_offsets(tps)
    out = []
    try:
        while any(c.position(tp) < end[tp] for tp in tps):
            for tp, msgs in c.poll(timeout_ms=1000).items():
                for m in msgs:
                    hdrs = ",".join("%s=%s" % (k, v.decode() if v is not None else "")
                                    for k, v in m.headers)
                    out.append("%d|%d|%d|%s|%s|%s" % (m.partition, m.offset, m.timestamp,
                                                      text(m.key), text(m.value), hdrs))
    except UnsupportedCodecError as e:
        print("kafka-python cannot read this codec: %s" % e, file=sys.stderr)
        sys.exit(3)
    c.close()
    print("\n".join(out))


if __name__ == "__main__":
    main()
