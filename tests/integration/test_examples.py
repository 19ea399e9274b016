#!/usr/bin/python3
"""The example programs of examples/, run as a user runs them, against brokers the test starts.

    test_examples.py producer   examples/producer against librdkafka's mock cluster (3 brokers);
                                what it wrote is read back with kcat: every value once, keys
                                and the seq header intact, one partition per key, in order
    test_examples.py tls_scram  examples/tls_scram against `kwire mock` with TLS listeners and
                                a SCRAM-SHA-512 user; read back by kcat over SASL_SSL; a wrong
                                password and an untrusted CA fail with a clear message

Exits 77 (skipped) with the reason when a needed program is missing.
"""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "mock"))
import mock_security  # noqa: E402  (certificates and the `kwire mock` wrapper)
from test_rdk_programs import Mock as RdkMock  # noqa: E402

TIMEOUT = 120


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def run(args, expect_rc=0):
    r = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == expect_rc, "%s: exit %d (want %d)\nstdout:\n%s\nstderr:\n%s" % (
        " ".join(args), r.returncode, expect_rc, r.stdout[-3000:], r.stderr[-3000:])
    return r


def kcat_read(bootstrap, topic, n, extra=()):
    """Reads the topic from the beginning to its end; returns (partition, offset, key, value,
    headers) tuples."""
    fmt = "%p\\t%o\\t%k\\t%s\\t%h\\n"
    r = run(["kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q",
             "-f", fmt, *extra])
    rows = [l.split("\t") for l in r.stdout.splitlines() if l]
    assert len(rows) == n, "kcat read %d records, want %d:\n%s" % (len(rows), n, r.stdout[-2000:])
    return [(int(p), int(o), k, v, h) for p, o, k, v, h in rows]


def check_producer(prog):
    helper = os.environ.get("KW_RDK_MOCK", "")
    if not helper or not os.access(helper, os.X_OK):
        skip("librdkafka-dev not found at build time: apt-get install librdkafka-dev")
    m = RdkMock(helper)
    try:
        m.cmd("create orders 6 3")
        n = 5000
        r = run([prog, m.bootstrap, "orders", str(n), "linger.ms=2"])
        assert "delivered %d, failed 0, not sent 0" % n in r.stdout, r.stdout
        per_part = [l for l in r.stdout.splitlines() if l.startswith("partition ")]
        assert sum(int(l.split(": ")[1].split()[0]) for l in per_part) == n, r.stdout
        rows = kcat_read(m.bootstrap, "orders", n)
        seen = set()
        key_part = {}
        last = {}
        for part, off, key, value, headers in rows:
            i = int(value.split("-")[1])
            assert value == "message-%d" % i and i not in seen, value
            seen.add(i)
            assert key == "key-%d" % (i % 10), (key, value)
            assert headers == "seq=%d" % i, (headers, value)
            assert key_part.setdefault(key, part) == part, "key %s on two partitions" % key
            assert i > last.get(part, -1), "partition %d out of order at %s" % (part, value)
            last[part] = i
        assert seen == set(range(n))
        # A bad property is a configuration error (exit 2) naming it.
        r = run([prog, m.bootstrap, "orders", "1", "lingr.ms=5"], 2)
        assert "lingr.ms" in r.stderr, r.stderr
    finally:
        m.stop()


def check_tls_scram(prog, tool):
    if not shutil.which("openssl"):
        skip("openssl command not found: apt-get install openssl")
    mock_security.KWIRE = tool
    with tempfile.TemporaryDirectory() as d:
        pki = mock_security.make_pki(d)
        mock = mock_security.Mock("--tls-cert", pki["server.pem"], "--tls-key", pki["server.key"],
                                  "--sasl", "SCRAM-SHA-512:alice:s3cret-pw")
        try:
            boot = mock.bootstrap.replace("127.0.0.1", "localhost")
            r = run([prog, boot, pki["ca.pem"], "alice", "s3cret-pw", "secure", "7"])
            assert "authenticated to broker" in r.stdout, r.stdout
            assert r.stdout.count("acknowledged secure [") == 7, r.stdout
            assert "s3cret-pw" not in r.stdout + r.stderr
            if shutil.which("kcat"):
                # kcat by address: "localhost" may name ::1 first, where the mock does not
                # listen (the certificate names both).
                rows = kcat_read(mock.bootstrap, "secure", 7,
                                 ["-X", "security.protocol=SASL_SSL",
                                  "-X", "sasl.mechanisms=SCRAM-SHA-512",
                                  "-X", "sasl.username=alice", "-X", "sasl.password=s3cret-pw",
                                  "-X", "ssl.ca.location=" + pki["ca.pem"]])
                assert sorted(v for _, _, _, v, _ in rows) == ["secure-%d" % i for i in range(7)]
            else:
                print("SKIP part: kcat not installed, tls_scram's records not read back")
            # Wrong password: an authentication failure, reported, exit 1.
            r = run([prog, boot, pki["ca.pem"], "alice", "wrong", "secure", "1"], 1)
            assert "auth" in r.stderr.lower(), r.stderr
            assert "wrong" not in r.stderr
            # A CA that did not sign the broker's certificate: the handshake fails, exit 1.
            other = os.path.join(d, "other")
            os.mkdir(other)
            other_pki = mock_security.make_pki(other)
            r = run([prog, boot, other_pki["ca.pem"], "alice", "s3cret-pw", "secure", "1"], 1)
            assert "certificate" in r.stderr.lower() or "tls" in r.stderr.lower(), r.stderr
            # A CA file that does not exist: a configuration error before any connection.
            r = run([prog, boot, os.path.join(d, "missing.pem"), "alice", "x", "secure", "1"], 2)
            assert "missing.pem" in r.stderr, r.stderr
        finally:
            mock.stop()


def main():
    mode = sys.argv[1]
    if mode == "producer":
        if not shutil.which("kcat"):
            skip("kcat not found: apt-get install kcat")
        check_producer(os.environ["KW_EXAMPLE_PRODUCER"])
    elif mode == "tls_scram":
        check_tls_scram(os.environ["KW_EXAMPLE_TLS_SCRAM"], os.environ["KW_TOOL"])
    else:
        raise SystemExit("unknown mode " + mode)
    print("ok: " + mode)


if __name__ == "__main__":
    main()
