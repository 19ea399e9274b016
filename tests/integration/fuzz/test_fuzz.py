#!/usr/bin/python3
"""`kwire fuzz` as a user runs it.

  verdicts     a scripted fake broker (here, in Python) answers a saved reproducer in each way
               a broken broker can: a valid response, bytes kwire's decoder rejects, a wrong
               correlation id, a dropped request, silence (hang), dying (crash). Each must come
               out as exactly that finding, and the bytes the broker received must be the
               reproducer's bytes. A Produce with acks=0 must get no response.
  advertised   only the APIs and versions the broker advertises and --api/--versions select
               are the base of the cases.
  determinism  --dump with one seed twice gives the same cases; another seed other cases; the
               files --dump --out writes hold the bytes whose hash it printed.
  mock         a few thousand cases against `kwire mock` find nothing (every finding there
               would be a kwire-mock bug), and a dumped case replays against it byte for byte.
  sasl_ssl     the same over SASL_SSL with SCRAM-SHA-512 (certificates made with the openssl
               command); a wrong password is a connection error (exit 2), not a finding.

Usage: test_fuzz.py path/to/kwire
"""
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading

KWIRE = sys.argv[1] if len(sys.argv) > 1 else "kwire"
if os.sep in KWIRE:
    KWIRE = os.path.abspath(KWIRE)  # meson passes it relative to the build directory
STEP_TIMEOUT = 120  # seconds for one kwire run: generous for a loaded 2-core machine
FAILURES = []


def log(msg):
    print(msg, flush=True)


def check(cond, what):
    log(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)
    return cond


def run(args, timeout=STEP_TIMEOUT, cwd=None):
    r = subprocess.run([KWIRE, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd)
    return r.returncode, r.stdout, r.stderr


def fnv1a64(b):
    h = 0xcbf29ce484222325
    for c in b:
        h = ((h ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


# ------------------------------------------------------------------------------ fake broker

def api_versions_v0(corr):
    """ApiVersions v0 response: error 0 and the keys the verdict tests use."""
    keys = [(3, 0, 12), (18, 0, 3)]
    body = struct.pack(">hi", 0, len(keys)) + b"".join(struct.pack(">hhh", *k) for k in keys)
    return struct.pack(">ii", 4 + len(body), corr) + body


def metadata_v0(corr):
    """Metadata v0 response: no brokers, no topics."""
    return struct.pack(">iiii", 12, corr, 0, 0)


class FakeBroker:
    """Answers ApiVersions v0 (connection setup and the fuzzer's liveness probe) on every
    connection and treats every Metadata request by `mode`. Records the Metadata frames it
    received, size prefix included."""

    def __init__(self, mode):
        self.mode = mode
        self.frames = []
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.stop = False
        self.conns = []
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def serve(self):
        while not self.stop:
            r, _, _ = select.select([self.lsock], [], [], 0.2)
            if not r or self.stop:
                continue
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self.conn, args=(c,), daemon=True).start()

    def recv_exact(self, c, n):
        b = b""
        while len(b) < n:
            d = c.recv(n - len(b))
            if not d:
                raise EOFError
            b += d
        return b

    def conn(self, c):
        stalled = False
        try:
            while True:
                size = struct.unpack(">i", self.recv_exact(c, 4))[0]
                frame = self.recv_exact(c, size)
                if size < 8:
                    return
                key, ver, corr = struct.unpack(">hhi", frame[:8])
                if key == 18 and not stalled:
                    c.sendall(api_versions_v0(corr))
                elif key == 0:
                    self.frames.append(struct.pack(">i", size) + frame)
                    if self.mode == "answer_acks0":
                        c.sendall(struct.pack(">iiii", 12, corr, 0, 0))
                elif key == 3:
                    self.frames.append(struct.pack(">i", size) + frame)
                    stalled = self.metadata(c, corr)
                    if stalled is None:
                        return
        except (EOFError, OSError):
            pass
        finally:
            c.close()

    def metadata(self, c, corr):
        """Returns True to stop answering on this connection, None to drop it."""
        m = self.mode
        if m == "valid":
            c.sendall(metadata_v0(corr))
        elif m == "garbage":
            c.sendall(struct.pack(">ii", 7, corr) + b"\x00\x00\x01")
        elif m == "wrong_corr":
            c.sendall(metadata_v0(corr + 1000))
        elif m == "stall":
            return True
        elif m == "die":
            self.close()
            return None
        elif m == "close":
            return None
        return False  # "drop": no answer, but the probe after it is answered

    def close(self):
        self.stop = True
        try:
            self.lsock.close()
        except OSError:
            pass
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def metadata_request_frame(corr=7):
    """Metadata v0 for the topic "t" (header v1, client id "x")."""
    body = struct.pack(">hhih", 3, 0, corr, 1) + b"x" + struct.pack(">ih", 1, 1) + b"t"
    return struct.pack(">i", len(body)) + body


def produce_acks0_frame(corr=9):
    """Produce v3 with acks=0: one topic "t", partition 0, null records."""
    body = (struct.pack(">hhih", 0, 3, corr, 1) + b"x" + struct.pack(">hhi", -1, 0, 1000)
            + struct.pack(">ih", 1, 1) + b"t" + struct.pack(">iii", 1, 0, -1))
    return struct.pack(">i", len(body)) + body


def test_acks0(tmp):
    """Produce with acks=0 expects no response: silence is fine, an answer is a violation."""
    path = os.path.join(tmp, "case-00000002-ok.bin")
    frame = produce_acks0_frame()
    with open(path, "wb") as f:
        f.write(frame)
    for mode, rc_want, text in (("drop", 0, "result: ok"),
                                ("answer_acks0", 1, "to a Produce with acks=0, which expects none")):
        fb = FakeBroker(mode)
        try:
            rc, _, err = run(["fuzz", "--replay", path, "-b", "127.0.0.1:%d" % fb.port,
                              "--timeout-ms", "3000"])
        finally:
            fb.close()
        check(rc == rc_want and text in err and fb.frames[:1] == [frame],
              "Produce acks=0 against a broker that %s it: exit %d, '%s'"
              % ("answers" if mode == "answer_acks0" else "does not answer", rc_want, text)
              + ("" if rc == rc_want and text in err else " (got %d: %s)" % (rc, err.strip())))


def test_verdicts(tmp):
    path = os.path.join(tmp, "case-00000001-ok.bin")
    frame = metadata_request_frame()
    with open(path, "wb") as f:
        f.write(frame)
    expect = {
        "valid": (0, "result: ok"),
        "garbage": (1, "MetadataResponse v0 response (7 bytes) rejected by kwire's decoder"),
        "wrong_corr": (1, "correlation id 1007 out of order (expected 7)"),
        "drop": (1, "no response to correlation id 7, but the next request"),
        "stall": (1, "hang: no response within"),
        "die": (1, "crash: the broker stopped answering"),
    }
    for mode, (rc_want, text) in expect.items():
        fb = FakeBroker(mode)
        try:
            rc, _, err = run(["fuzz", "--replay", path, "-b", "127.0.0.1:%d" % fb.port,
                              "--timeout-ms", "1500"])
        finally:
            fb.close()
        check(rc == rc_want and text in err,
              "replay against a broker that answers '%s': exit %d, '%s'" % (mode, rc_want, text)
              + ("" if rc == rc_want and text in err else " (got %d: %s)" % (rc, err.strip())))
        check(fb.frames[:1] == [frame],
              "the '%s' broker received the reproducer's exact %d bytes" % (mode, len(frame)))


def test_advertised(tmp):
    """Only what the broker advertises (Metadata v0-12 here) and --api and --versions select is
    fuzzed. Byte-level mutations may still rewrite a header, by design, so a few
    frames outside the range are allowed."""
    fb = FakeBroker("close")
    try:
        rc, _, err = run(["fuzz", "-b", "127.0.0.1:%d" % fb.port, "--cases", "150", "--seed", "3",
                          "--api", "Metadata", "--versions", "2-4", "--timeout-ms", "5000",
                          "--out", os.path.join(tmp, "adv")])
    finally:
        fb.close()
    vers = [struct.unpack(">h", f[6:8])[0] for f in fb.frames]
    inside = sum(1 for v in vers if 2 <= v <= 4)
    check(len(vers) >= 100 and inside >= 0.8 * len(vers),
          "--api Metadata --versions 2-4 against a broker advertising Metadata v0-12: %d of %d frames "
          "in range (exit %d)" % (inside, len(vers), rc))
    check("cases per API: Metadata" in err, "the summary counts the cases per API")


# ------------------------------------------------------------------------------ determinism

DUMP_LINE = re.compile(r"^case (\d+) (\S+) v(-?\d+) (\d+) bytes ([0-9a-f]{16}) ")


def test_determinism(tmp):
    cwd = os.path.join(tmp, "cwd")
    os.mkdir(cwd)
    a = run(["fuzz", "--dump", "--cases", "400", "--seed", "77"], cwd=cwd)
    check(os.listdir(cwd) == [], "--dump without --out writes no file")
    b = run(["fuzz", "--dump", "--cases", "400", "--seed", "77"])
    c = run(["fuzz", "--dump", "--cases", "400", "--seed", "78"])
    lines = a[1].splitlines()
    check(a[0] == 0 and len(lines) == 400 and all(DUMP_LINE.match(l) for l in lines),
          "--dump prints one line per case")
    check(a[1] == b[1], "the same seed gives the same 400 cases (API, version, size, hash)")
    ha = {l.split()[6] for l in lines}
    hc = {l.split()[6] for l in c[1].splitlines()}
    check(len(ha & hc) < 40, "another seed gives other cases (%d of 400 alike)" % len(ha & hc))
    apis = {l.split()[2] for l in lines}
    check(len(apis) >= 25, "the cases cover %d APIs" % len(apis))
    sel = run(["fuzz", "--dump", "--cases", "300", "--seed", "3", "--api", "Metadata,Fetch",
               "--versions", "2-4,13"])[1].splitlines()
    bases = {re.search(r" from (\S+ v\d+): ", l).group(1) for l in sel}
    check(bases == {"Metadata v2", "Metadata v3", "Metadata v4", "Metadata v13", "Fetch v4",
                    "Fetch v13"},
          "--api Metadata,Fetch --versions 2-4,13 mutates exactly those requests: "
          + " ".join(sorted(bases)))
    out = os.path.join(tmp, "dump")
    d = run(["fuzz", "--dump", "--cases", "50", "--seed", "77", "--out", out])
    ok = d[0] == 0
    for l in d[1].splitlines():
        m = DUMP_LINE.match(l)
        with open(os.path.join(out, "case-%08d-ok.bin" % int(m.group(1))), "rb") as f:
            data = f.read()
        ok = ok and len(data) == int(m.group(4)) and "%016x" % fnv1a64(data) == m.group(5)
        ok = ok and struct.unpack(">i", data[:4])[0] == len(data) - 4
    check(ok, "--dump --out writes each case with the bytes and hash it printed")
    check(d[1].splitlines() == lines[:50], "--out does not change the cases")
    return out, lines[:50]


# ------------------------------------------------------------------------------ kwire mock

class Mock:
    """One `kwire mock`; always stopped at the end."""

    def __init__(self, *args):
        self.err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([KWIRE, "mock", *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.err, text=True)
        r, _, _ = select.select([self.proc.stdout], [], [], 60)
        self.bootstrap = self.proc.stdout.readline().strip() if r else ""
        if not self.bootstrap:
            self.stop()
            raise RuntimeError("kwire mock printed no bootstrap list")

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


SUMMARY = re.compile(r"seed (\d+): (\d+) cases in .*\n.*: (\d+) findings")


def fuzz_ok(args, cases, what, tmp):
    out = os.path.join(tmp, "out-" + what.replace(" ", "-"))
    rc, _, err = run(["fuzz", *args, "--cases", str(cases), "--timeout-ms", "10000",
                      "--out", out], timeout=300)
    m = SUMMARY.search(err)
    check(rc == 0 and m and int(m.group(2)) == cases and m.group(3) == "0",
          "%d cases against %s: no findings" % (cases, what)
          + ("" if rc == 0 else " (exit %d)\n%s" % (rc, err[-3000:])))
    per_api = re.search(r"cases per API:(.*)", err)
    n_apis = len(per_api.group(1).split()) // 2 if per_api else 0
    return n_apis


def test_mock(tmp, dumped):
    mock = Mock()
    try:
        n_apis = fuzz_ok(["-b", mock.bootstrap, "--seed", "20261125"], 2000, "kwire mock", tmp)
        check(n_apis >= 25, "kwire mock: %d APIs fuzzed" % n_apis)
        check(mock.alive(), "kwire mock is still running")
        out, lines = dumped
        # A dumped case replays against the mock with the bytes --dump reported.
        line = lines[3]
        path = os.path.join(out, "case-00000003-ok.bin")
        rc, _, err = run(["fuzz", "--replay", path, "-b", mock.bootstrap])
        check(rc == 0 and ("fnv1a64 %s: ok" % line.split()[6]) in err,
              "a dumped case replays against kwire mock with the same bytes: " + line[:60])
        fuzz_ok(["-b", mock.bootstrap, "--seed", "5", "--api", "Produce,Fetch",
                 "--versions", "4-9"], 300, "kwire mock, Produce and Fetch v4-9 only", tmp)
    finally:
        mock.stop()


# ------------------------------------------------------------------------------ SASL_SSL

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
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
"""


def make_pki(d):
    with open(os.path.join(d, "pki.cnf"), "w") as f:
        f.write(CNF)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    cmds = [
        ["openssl", "req", "-x509", "-config", "pki.cnf", "-extensions", "v3_ca", *ec,
         "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=kwire fuzz CA", "-days", "2"],
        ["openssl", "req", "-new", "-config", "pki.cnf", *ec, "-keyout", "server.key", "-out",
         "server.csr", "-subj", "/CN=server"],
        ["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-set_serial", "2", "-extfile", "pki.cnf", "-extensions", "v3_leaf", "-days", "2",
         "-out", "server.pem"],
    ]
    for c in cmds:
        r = subprocess.run(c, cwd=d, capture_output=True, timeout=STEP_TIMEOUT)
        if r.returncode != 0:
            raise RuntimeError("openssl failed: %s\n%s" % (" ".join(c), r.stderr.decode()))


def test_sasl_ssl(tmp):
    if shutil.which("openssl") is None:
        log("SKIP SASL_SSL: the openssl command is not installed (apt-get install openssl)")
        return False
    if "tls yes" not in run(["--version"])[1]:
        log("SKIP SASL_SSL: this kwire was built without TLS")
        return False
    pki = os.path.join(tmp, "pki")
    os.mkdir(pki)
    make_pki(pki)
    mock = Mock("--tls-cert", os.path.join(pki, "server.pem"), "--tls-key",
                os.path.join(pki, "server.key"), "--sasl", "SCRAM-SHA-512:alice:s3cret")
    x = ["-X", "security.protocol=SASL_SSL", "-X", "sasl.mechanism=SCRAM-SHA-512",
         "-X", "sasl.username=alice", "-X", "ssl.ca.location=" + os.path.join(pki, "ca.pem")]
    try:
        fuzz_ok(["-b", mock.bootstrap, "--seed", "9", *x, "-X", "sasl.password=s3cret"], 300,
                "kwire mock over SASL_SSL (SCRAM-SHA-512)", tmp)
        rc, _, err = run(["fuzz", "-b", mock.bootstrap, "--cases", "5", *x,
                          "-X", "sasl.password=wrong", "--out", os.path.join(tmp, "bad")])
        check(rc == 2 and "authentication" in err.lower(),
              "a wrong SCRAM password is a connection error (exit 2): " + err.strip()[:120])
        rc, _, err = run(["fuzz", "-b", mock.bootstrap, "--cases", "5", "--out",
                          os.path.join(tmp, "plain")])
        check(rc == 2, "plaintext against the SASL_SSL listener cannot connect (exit 2)")
    finally:
        mock.stop()
    return True


def main():
    with tempfile.TemporaryDirectory() as tmp:
        test_verdicts(tmp)
        test_acks0(tmp)
        test_advertised(tmp)
        dumped = test_determinism(tmp)
        test_mock(tmp, dumped)
        test_sasl_ssl(tmp)
    if FAILURES:
        log("%d check(s) failed" % len(FAILURES))
        return 1
    log("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
