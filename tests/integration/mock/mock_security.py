#!/usr/bin/python3
"""kwire-mock's TLS and SASL listeners and its stdin control channel, checked by clients
nobody here wrote, with exact message contents compared.

  kcat (librdkafka 2.0.2): produce and consume over SSL, mutual TLS (and rejected without a
  client certificate), SASL_SSL with SCRAM-SHA-512, and SASL_PLAINTEXT with PLAIN,
  SCRAM-SHA-256 and SCRAM-SHA-512; a wrong password is reported as an authentication failure.
  kafka-python (Debian python3-kafka, /usr/bin/python3): produce and consume over
  SASL_PLAINTEXT with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, and over SSL.
  The control channel: commands on the standalone broker's stdin, each answered by one line,
  with their effect seen by kcat (create, produce, down/up, error injection, emulate, quit).

The certificates are made here with the openssl command line. A missing kcat, kafka-python or
openssl is a visible skip of the checks that need it; all missing is exit 77 (meson's skip).

Usage: mock_security.py path/to/kwire
"""
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile

KWIRE = sys.argv[1] if len(sys.argv) > 1 else "kwire"
STEP_TIMEOUT = 90  # seconds for any one client run: generous for a loaded 2-core machine
FAILURES = []


def log(msg):
    print(msg, flush=True)


def check(cond, what):
    log(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)
    return cond


class Mock:
    """One `kwire mock`; its stdin is a pipe for control commands. Always stopped at the end."""

    def __init__(self, *args):
        self.err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([KWIRE, "mock", "-v", *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.err, text=True,
                                     bufsize=1)
        self.bootstrap = self.readline(30)
        if not self.bootstrap:
            self.kill()
            raise RuntimeError("kwire mock printed no bootstrap list: " + self.stderr())
        self.ports = [int(hp.rsplit(":", 1)[1]) for hp in self.bootstrap.split(",")]

    def readline(self, timeout):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return self.proc.stdout.readline().strip() if ready else ""

    def command(self, line):
        """Sends one control command; returns its one-line answer."""
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.readline(STEP_TIMEOUT)

    def stderr(self):
        self.err.seek(0)
        return self.err.read()

    def stop(self):
        if self.proc.poll() is None:
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


def run(cmd, stdin=None, quiet=False):
    r = subprocess.run(cmd, input=stdin, capture_output=True, timeout=STEP_TIMEOUT)
    if r.returncode != 0 and not quiet:
        log("  command failed (%d): %s\n%s" % (r.returncode, " ".join(cmd),
                                                r.stderr.decode(errors="replace")[-1500:]))
    return r


# ------------------------------------------------------------------------------ certificates

CNF = """[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
[v3_leaf]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
"""


def make_pki(d):
    with open(os.path.join(d, "pki.cnf"), "w") as f:
        f.write(CNF)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    cmds = [
        ["openssl", "req", "-x509", "-config", "pki.cnf", "-extensions", "v3_ca", *ec,
         "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=kwire mock CA", "-days", "2"],
    ]
    for name, serial in (("server", "2"), ("client", "3")):
        cmds.append(["openssl", "req", "-new", "-config", "pki.cnf", *ec, "-keyout",
                     name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name])
        cmds.append(["openssl", "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey",
                     "ca.key", "-set_serial", serial, "-extfile", "pki.cnf", "-extensions",
                     "v3_leaf", "-days", "2", "-out", name + ".pem"])
    for c in cmds:
        r = subprocess.run(c, cwd=d, capture_output=True, timeout=STEP_TIMEOUT)
        if r.returncode != 0:
            raise RuntimeError("openssl failed: %s\n%s" % (" ".join(c), r.stderr.decode()))
    return {n: os.path.join(d, n) for n in ("ca.pem", "server.pem", "server.key", "client.pem",
                                             "client.key")}


# ------------------------------------------------------------------------------ kcat

def kcat_roundtrip(mock, topic, x, what):
    """Produces keyed lines with kcat options x and consumes them back; checks exact equality."""
    sent = ["%s-key-%02d:%s value %d %s" % (topic, i, what, i, "y" * (i % 7)) for i in range(25)]
    r = run(["kcat", "-P", "-b", mock.bootstrap, "-t", topic, "-K", ":", *x],
            stdin="".join(l + "\n" for l in sent).encode())
    got = None
    if r.returncode == 0:
        c = run(["kcat", "-C", "-b", mock.bootstrap, "-t", topic, "-e", "-o", "beginning", "-q",
                 "-X", "check.crcs=true", "-f", "%k:%s\\n", *x])
        got = c.stdout.decode(errors="replace").splitlines() if c.returncode == 0 else None
    return check(got == sent, "kcat %s: produce and consume 25 keyed messages exactly" % what)


def kcat_fails(mock, x, what, expect):
    r = run(["kcat", "-L", "-b", mock.bootstrap, "-m", "10", *x], quiet=True)
    out = r.stderr.decode(errors="replace")
    return check(r.returncode != 0 and expect in out,
                 "kcat %s: refused (\"%s\" reported)" % (what, expect))


def tls_built(pki):
    """Whether this kwire has TLS (a -Dtls=disabled build refuses TLS listeners)."""
    try:
        Mock("--tls-cert", pki["server.pem"], "--tls-key", pki["server.key"]).stop()
        return True
    except RuntimeError as e:
        if "without TLS" in str(e):
            return False
        raise


def tls_checks(pki):
    ssl = ["-X", "security.protocol=SSL", "-X", "ssl.ca.location=" + pki["ca.pem"]]
    mock = Mock("--tls-cert", pki["server.pem"], "--tls-key", pki["server.key"])
    try:
        kcat_roundtrip(mock, "tls", ssl, "over SSL")
    finally:
        check(mock.stop() == 0, "kwire mock (SSL) stops on SIGTERM with status 0")

    mock = Mock("--tls-cert", pki["server.pem"], "--tls-key", pki["server.key"],
                "--tls-client-ca", pki["ca.pem"])
    try:
        mtls = ssl + ["-X", "ssl.certificate.location=" + pki["client.pem"],
                      "-X", "ssl.key.location=" + pki["client.key"]]
        kcat_roundtrip(mock, "mtls", mtls, "over mutual TLS")
        kcat_fails(mock, ssl, "without a client certificate on a mutual-TLS listener",
                   "certificate required")
    finally:
        check(mock.stop() == 0, "kwire mock (mutual TLS) stops on SIGTERM with status 0")

    mock = Mock("--tls-cert", pki["server.pem"], "--tls-key", pki["server.key"],
                "--sasl", "SCRAM-SHA-512:scram-user:pa:ss:word")
    try:
        x = ["-X", "security.protocol=SASL_SSL", "-X", "ssl.ca.location=" + pki["ca.pem"],
             "-X", "sasl.mechanisms=SCRAM-SHA-512", "-X", "sasl.username=scram-user",
             "-X", "sasl.password=pa:ss:word"]
        kcat_roundtrip(mock, "sasl-ssl", x, "over SASL_SSL with SCRAM-SHA-512")
    finally:
        check(mock.stop() == 0, "kwire mock (SASL_SSL) stops on SIGTERM with status 0")


USERS = (("PLAIN", "plain-user", "plain-pw"), ("SCRAM-SHA-256", "s256-user", "s256-pw"),
         ("SCRAM-SHA-512", "s512-user", "s512-pw"))


def sasl_mock():
    args = []
    for mech, user, pw in USERS:
        args += ["--sasl", "%s:%s:%s" % (mech, user, pw)]
    return Mock(*args)


def kcat_sasl_checks():
    mock = sasl_mock()
    try:
        for mech, user, pw in USERS:
            x = ["-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=" + mech,
                 "-X", "sasl.username=" + user, "-X", "sasl.password=" + pw]
            kcat_roundtrip(mock, "sasl-" + mech.lower(), x, "over SASL_PLAINTEXT " + mech)
        x = ["-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=SCRAM-SHA-256",
             "-X", "sasl.username=s256-user", "-X", "sasl.password=wrong"]
        kcat_fails(mock, x, "SCRAM-SHA-256 with a wrong password",
                   "Authentication failed during authentication due to invalid credentials "
                   "with SASL mechanism SCRAM-SHA-256")
    finally:
        check(mock.stop() == 0, "kwire mock (SASL) stops on SIGTERM with status 0")


# ------------------------------------------------------------------------------ kafka-python

def kp_roundtrip(bs, topic, opts, what):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    producer = KafkaProducer(bootstrap_servers=bs, acks="all", request_timeout_ms=30000, **opts)
    sent = {}
    futures = [(b"k%d" % i, b"%s %d" % (what.encode(), i)) for i in range(20)]
    futures = [(k, v, producer.send(topic, key=k, value=v)) for k, v in futures]
    producer.flush(60)
    for k, v, f in futures:
        md = f.get(timeout=60)
        sent[(md.partition, md.offset)] = (k, v)
    producer.close(30)
    consumer = KafkaConsumer(bootstrap_servers=bs, group_id=None, auto_offset_reset="earliest",
                             consumer_timeout_ms=5000, enable_auto_commit=False, **opts)
    consumer.assign([TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)])
    got = {(m.partition, m.offset): (m.key, m.value) for m in consumer}
    consumer.close()
    check(len(sent) == 20 and got == sent,
          "kafka-python %s: 20 acked messages consumed back exactly" % what)


def kafka_python_checks(pki):
    mock = sasl_mock()
    try:
        for mech, user, pw in USERS:
            kp_roundtrip(mock.bootstrap, "kp-" + mech.lower(),
                         {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": mech,
                          "sasl_plain_username": user, "sasl_plain_password": pw},
                         "over SASL_PLAINTEXT " + mech)
    except Exception as e:
        check(False, "kafka-python SASL run raised %s: %s" % (type(e).__name__, e))
    finally:
        check(mock.stop() == 0, "kwire mock (SASL, kafka-python) stops with status 0")
    if not pki:
        return
    mock = Mock("--tls-cert", pki["server.pem"], "--tls-key", pki["server.key"])
    try:
        kp_roundtrip(mock.bootstrap, "kp-ssl", {"security_protocol": "SSL",
                                                "ssl_cafile": pki["ca.pem"]}, "over SSL")
    except Exception as e:
        check(False, "kafka-python SSL run raised %s: %s" % (type(e).__name__, e))
    finally:
        check(mock.stop() == 0, "kwire mock (SSL, kafka-python) stops with status 0")


# ------------------------------------------------------------------------------ control

def control_checks():
    mock = Mock("--brokers", "2")
    try:
        bs = mock.bootstrap
        check(mock.command("create ctl 2") == "ok", "control: create ctl 2 -> ok")
        check(mock.command("create ctl 2").startswith("error: "),
              "control: creating it again -> error: ...")
        check(mock.command("produce ctl 1 k1 v1") == "ok 0" and
              mock.command("produce ctl 1 - v2") == "ok 1", "control: produce -> ok <offset>")
        c = run(["kcat", "-C", "-b", bs, "-t", "ctl", "-p", "1", "-e", "-o", "beginning", "-q",
                 "-Z", "-f", "%o %k %s\\n"])
        check(c.stdout.decode().splitlines() == ["0 k1 v1", "1 NULL v2"],  # -Z: null as NULL
              "control: kcat reads what the control channel produced")
        # Leadership moves, seen in metadata.
        check(mock.command("leader ctl 0 2") == "ok", "control: leader ctl 0 2 -> ok")
        md = run(["kcat", "-L", "-b", bs, "-t", "ctl"]).stdout.decode()
        check("partition 0, leader 2," in md, "control: kcat -L shows partition 0 led by 2")
        # Broker down: kcat cannot reach it; up again: it can.
        check(mock.command("down 1") == "ok", "control: down 1 -> ok")
        r = run(["kcat", "-L", "-b", "127.0.0.1:%d" % mock.ports[0], "-m", "3"], quiet=True)
        check(r.returncode != 0, "control: kcat -L against a down broker fails")
        check(mock.command("up 1") == "ok", "control: up 1 -> ok")
        r = run(["kcat", "-L", "-b", "127.0.0.1:%d" % mock.ports[0], "-m", "30"])
        check(r.returncode == 0, "control: kcat -L works again after up")
        # An injected error: librdkafka retries a retriable Produce error and succeeds.
        check(mock.command("error 1 Produce NOT_ENOUGH_REPLICAS 2") == "ok",
              "control: error 1 Produce NOT_ENOUGH_REPLICAS 2 -> ok")
        check(mock.command("leader ctl 1 1") == "ok", "control: leader ctl 1 1 -> ok")
        r = run(["kcat", "-P", "-b", bs, "-t", "ctl", "-p", "1", "-X", "retry.backoff.ms=10",
                 "-d", "msg"], stdin=b"after-errors\n")
        err = r.stderr.decode(errors="replace")
        check(r.returncode == 0 and err.count("Not enough in-sync replicas") == 2,
              "control: kcat saw the two injected errors and then delivered")
        c = run(["kcat", "-C", "-b", bs, "-t", "ctl", "-p", "1", "-e", "-o", "2", "-q"])
        check(c.stdout.decode().splitlines() == ["after-errors"],
              "control: the message was stored once, at offset 2")
        # Release emulation: kcat still produces and consumes against "2.8".
        check(mock.command("emulate 2.8") == "ok", "control: emulate 2.8 -> ok")
        kcat_roundtrip(mock, "emulated", [], "against an emulated Kafka 2.8")
        check(mock.command("bogus 1").startswith("error: unknown command"),
              "control: an unknown command -> error: ...")
        check(mock.command("rtt 9 100").startswith("error: usage"),
              "control: a bad broker id -> error: usage ...")
        check(mock.command("help").startswith("ok create"), "control: help lists the commands")
        check(mock.command("quit") == "ok", "control: quit -> ok")
        try:
            status = mock.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            status = None
        check(status == 0, "control: the broker exits with status 0 after quit")
    except Exception as e:
        check(False, "control run raised %s: %s" % (type(e).__name__, e))
    finally:
        mock.stop()
        if FAILURES:
            log("---- kwire mock stderr (tail) ----\n" + mock.stderr()[-3000:])


# ------------------------------------------------------------------------------ main

def main():
    have_kcat = shutil.which("kcat") is not None
    have_openssl = shutil.which("openssl") is not None
    try:
        import kafka  # noqa: F401
        have_kp = True
    except ImportError:
        have_kp = False
    if not have_kcat:
        log("SKIP kcat checks: kcat is not installed (apt-get install kcat)")
    if not have_kp:
        log("SKIP kafka-python checks: python3-kafka is not installed for %s" % sys.executable)
    if not have_openssl:
        log("SKIP TLS checks: the openssl command is not installed (apt-get install openssl)")
    if not have_kcat and not have_kp:
        return 77
    d = tempfile.mkdtemp(prefix="kwire-mock-sec-")
    try:
        pki = make_pki(d) if have_openssl else None
        if pki and not tls_built(pki):
            log("SKIP TLS checks: this kwire was built without TLS")
            pki = None
        if have_kcat:
            if pki:
                tls_checks(pki)
            kcat_sasl_checks()
            control_checks()
        if have_kp:
            kafka_python_checks(pki)
    except Exception as e:
        check(False, "run raised %s: %s" % (type(e).__name__, e))
    finally:
        shutil.rmtree(d, ignore_errors=True)
    if FAILURES:
        log("%d check(s) failed" % len(FAILURES))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
