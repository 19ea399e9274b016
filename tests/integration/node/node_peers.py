#!/usr/bin/env python3
"""kwire-mock checked by the Node.js Kafka clients kafkajs and @platformatic/kafka.

For each client: start `kwire mock --brokers 3 --partitions 3 -v -v` (ephemeral ports; the
first line is the bootstrap list, and at -v -v the broker logs every request with its API
version), run the client's program from this directory (kafkajs_peer.js,
platformatic_peer.mjs: they compare exact message contents and print ok/FAIL lines), then
check from the broker's log which API versions the client really used:

  kafkajs speaks only non-flexible versions: every request it sent must be non-flexible, and
  it must have exercised Produce, Fetch, ListOffsets, Metadata, CreateTopics, DeleteTopics and
  the classic group APIs;
  @platformatic/kafka speaks only flexible versions: every request must be flexible, with at
  least Produce v9, Fetch v13 (topic ids), Metadata v9, CreateTopics v5 among them, plus
  CreatePartitions, DescribeConfigs, DeleteRecords, the classic group APIs and KIP-848's
  ConsumerGroupHeartbeat.

The broker must close no connection over a request it could not handle, and stop on SIGTERM
with status 0; it is killed in every case.

The packages come from package.json/package-lock.json here, installed by scripts/setup-node,
which also fetches a Node 22 from the npm registry when the machine's node is older than what
@platformatic/kafka and its dependencies declare. Each client runs on the first node (the
machine's, then that Node 22) that satisfies its packages' engines (check_install.js decides,
as setup-node does). A missing node or package is a visible skip; both clients skipped is exit
77 (meson's "skipped").

Usage: node_peers.py path/to/kwire
"""
import os
import platform
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

# Both programs also run their group consumers (--groups): kafkajs's classic one,
# @platformatic/kafka's classic and KIP-848 ones. The one line to change if kwire-mock is built
# without its group coordinator.
GROUPS = True

# What a classic group consumer must send (Heartbeat only if a run lasts long enough).
CLASSIC_GROUP_APIS = ["FindCoordinator", "JoinGroup", "SyncGroup", "OffsetFetch", "OffsetCommit",
                      "LeaveGroup"]

HERE = os.path.dirname(os.path.abspath(__file__))
KWIRE = sys.argv[1] if len(sys.argv) > 1 else "kwire"
CLIENT_TIMEOUT = 300  # seconds for one client program: generous for a loaded 2-core machine
FAILURES = []
CODECS = []  # the compression codecs kwire was built with

# The first flexible version of each API ("flexibleVersions" in the Kafka JSON schemas,
# ../shared/kafka-protocol/messages), for the APIs these clients may send.
FLEXIBLE_FROM = {
    "ApiVersions": 3, "Metadata": 9, "Produce": 9, "Fetch": 12, "ListOffsets": 6,
    "CreateTopics": 5, "DeleteTopics": 4, "CreatePartitions": 2, "DescribeConfigs": 4,
    "DeleteRecords": 2, "DescribeCluster": 0, "FindCoordinator": 3, "JoinGroup": 6,
    "SyncGroup": 4, "Heartbeat": 4, "LeaveGroup": 4, "OffsetCommit": 8, "OffsetFetch": 6,
    "ListGroups": 3, "DescribeGroups": 5, "ConsumerGroupHeartbeat": 0,
    "ConsumerGroupDescribe": 0, "InitProducerId": 2, "OffsetForLeaderEpoch": 4,
}


def log(msg):
    print(msg, flush=True)


def check(cond, what, detail=None):
    if cond:
        log("ok   " + what)
    else:
        log("FAIL " + what + ("" if detail is None else "\n     " + str(detail)))
        FAILURES.append(what)
    return cond


CHILDREN = set()  # processes to kill if this runner is terminated


def start(cmd, **kw):
    p = subprocess.Popen(cmd, **kw)
    CHILDREN.add(p)
    return p


def reap(p):
    if p.poll() is None:
        p.kill()
        p.communicate()
    CHILDREN.discard(p)


def on_sigterm(*_):
    """meson ends a test that overruns with SIGTERM: take the broker and the client along."""
    for p in list(CHILDREN):
        if p.poll() is None:
            p.kill()
    os._exit(1)


class Mock:
    """One `kwire mock` process; always killed at the end, even when a check fails."""

    def __init__(self, *args):
        self.err = tempfile.TemporaryFile(mode="w+")
        self.proc = start([KWIRE, "mock", *args], stdout=subprocess.PIPE, stderr=self.err,
                          text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        self.bootstrap = self.proc.stdout.readline().strip() if ready else ""
        if not self.bootstrap:
            self.kill()
            raise RuntimeError("kwire mock printed no bootstrap list: " + self.stderr()[-2000:])

    def stderr(self):
        # pread, not seek+read: the broker writes through the same open file, and moving the
        # shared offset while it runs would make it overwrite its own earlier lines.
        self.err.flush()
        fd = self.err.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")

    def stop(self):
        """SIGTERM; returns the exit status (None if it did not stop)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            status = None
        self.kill()
        return status

    def kill(self):
        reap(self.proc)


def node_candidates():
    """The machine's node, then the Node 22 that scripts/setup-node puts under .node22."""
    out = []
    env_node = os.environ.get("KW_NODE")
    if env_node:
        out.append(env_node)
    machine = shutil.which("node")
    if machine:
        out.append(machine)
    arch = {"x86_64": "x64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    local = os.path.join(HERE, ".node22", "node_modules", "node-linux-" + arch, "bin", "node")
    if os.access(local, os.X_OK):
        out.append(local)
    return out


def helper(node, *args):
    """Runs check_install.js; (exit status, its output)."""
    try:
        r = subprocess.run([node, os.path.join(HERE, "check_install.js"), *args], cwd=HERE,
                           capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return 2, str(e)
    return r.returncode, (r.stdout + r.stderr).strip()


def pick_node(nodes, package):
    """The first node that satisfies the engines of `package` and its dependencies."""
    reasons = []
    for n in nodes:
        status, out = helper(n, "engines", package)
        if status == 0:
            return n, None
        reasons.append("%s: %s" % (n, out))
    return None, "; ".join(reasons) or "no node"


def kwire_codecs():
    """The compression codecs this kwire was built with, from `kwire --version`
    ("... (zlib yes, lz4 no, zstd yes, snappy yes, ...)"); a codec it lacks must be refused."""
    r = subprocess.run([KWIRE, "--version"], capture_output=True, text=True, timeout=60)
    feats = dict(re.findall(r"(\w+) (yes|no)", r.stdout))
    names = {"zlib": "gzip", "snappy": "snappy", "lz4": "lz4", "zstd": "zstd"}
    if r.returncode != 0 or any(lib not in feats for lib in names):
        raise RuntimeError("cannot read the codecs from `kwire --version`: %r" % r.stdout)
    return ["none"] + [c for lib, c in names.items() if feats[lib] == "yes"]


def node_version(node):
    r = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=60)
    return r.stdout.strip()


REQ_RE = re.compile(r"conn \d+: (\w+)Request v(\d+) correlation")


def requests_seen(mock_log):
    """{api name: set of versions} from the broker's -v -v log."""
    seen = {}
    for api, ver in REQ_RE.findall(mock_log):
        seen.setdefault(api, set()).add(int(ver))
    return seen


def describe(seen):
    return ", ".join("%s v%s" % (api, "/".join(str(v) for v in sorted(vs)))
                     for api, vs in sorted(seen.items()))


def check_versions(name, seen, flexible, required):
    log("%s used: %s" % (name, describe(seen) or "nothing"))
    missing = [api for api in required if api not in seen]
    check(not missing, "%s exercised %s" % (name, ", ".join(required)),
          "never sent: %s" % ", ".join(missing))
    unknown = sorted(api for api in seen if api not in FLEXIBLE_FROM)
    wrong = sorted("%s v%d" % (api, v) for api, vs in seen.items() if api in FLEXIBLE_FROM
                   for v in vs if (v >= FLEXIBLE_FROM[api]) != flexible)
    check(not wrong and not unknown, "%s sent only %s versions" %
          (name, "flexible" if flexible else "non-flexible"),
          "other: %s" % ", ".join(wrong + ["%s (unknown)" % u for u in unknown]))


class BrokerDied(Exception):
    pass


def wait_client(client, mock):
    """The client's (stdout, stderr) once it exits. A client left without its broker would only
    retry until its own timeouts, so it is stopped as soon as the broker dies (BrokerDied);
    TimeoutExpired after CLIENT_TIMEOUT seconds."""
    deadline = time.monotonic() + CLIENT_TIMEOUT
    while True:
        try:
            return client.communicate(timeout=1)
        except subprocess.TimeoutExpired:
            if mock.proc.poll() is not None:
                client.kill()
                out, _ = client.communicate()
                raise BrokerDied("it exited with status %d" % mock.proc.returncode, out)
            if time.monotonic() > deadline:
                raise


def run_client(name, node, script, flexible, required, minimum):
    log("== %s on node %s (%s)" % (name, node_version(node), node))
    failures_before = len(FAILURES)
    mock = Mock("--brokers", "3", "--partitions", "3", "-v", "-v")
    status = None
    try:
        cmd = [node, os.path.join(HERE, script), mock.bootstrap, "--codecs=" + ",".join(CODECS)]
        cmd += ["--groups"] if GROUPS else []
        client = start(cmd, cwd=HERE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            out, err = wait_client(client, mock)
            sys.stdout.write(out)
            if client.returncode != 0:
                log("---- %s stderr (tail) ----\n%s" % (name, err[-4000:]))
            check(client.returncode == 0, "%s: every check of %s passed" % (name, script),
                  "exit status %d" % client.returncode)
        except subprocess.TimeoutExpired:
            check(False, "%s: %s finished within %d s" % (name, script, CLIENT_TIMEOUT))
        except BrokerDied as e:
            sys.stdout.write(e.args[1])
            check(False, "%s: kwire mock kept running while %s ran" % (name, script), e.args[0])
        finally:
            reap(client)
    finally:
        status = mock.stop()
    mock_log = mock.stderr()
    check(status == 0, "%s: kwire mock stops on SIGTERM with status 0" % name, "got %r" % status)
    seen = requests_seen(mock_log)
    check_versions(name, seen, flexible, required)
    low = ["%s v%d < v%d" % (api, max(seen.get(api, {-1})), v) for api, v in minimum.items()
           if max(seen.get(api, {-1})) < v]
    if minimum:
        check(not low, "%s reached %s" % (name, ", ".join("%s v%d+" % kv for kv in minimum.items())),
              ", ".join(low))
    closed = [l for l in mock_log.splitlines() if "closing connection" in l]
    check(not closed, "%s: the broker closed no connection over a request it could not handle" % name,
          "\n     ".join(closed[:10]))
    if len(FAILURES) > failures_before:
        log("---- kwire mock stderr (tail, without per-request lines) ----\n" +
            "\n".join(l for l in mock_log.splitlines() if not REQ_RE.search(l))[-4000:])


def main():
    nodes = node_candidates()
    if not nodes:
        log("SKIP Node.js peers: no node (run scripts/setup-node, or apt-get install nodejs npm)")
        return 77
    status, out = helper(nodes[0], "lock")
    if status != 0:
        log("SKIP Node.js peers: %s/node_modules does not match package-lock.json (run "
            "scripts/setup-node):\n%s" % (HERE, out[-2000:]))
        return 77

    global CODECS
    CODECS = kwire_codecs()
    log("kwire's codecs: " + ", ".join(CODECS))
    ran = 0
    kjs, why = pick_node(nodes, "kafkajs")
    if kjs:
        ran += 1
        run_client("kafkajs", kjs, "kafkajs_peer.js", False,
                   ["ApiVersions", "Metadata", "Produce", "Fetch", "ListOffsets", "CreateTopics",
                    "DeleteTopics"] + (CLASSIC_GROUP_APIS if GROUPS else []), {})
    else:
        log("SKIP kafkajs: no node satisfies its engines (%s)" % why)
    plt, why = pick_node(nodes, "@platformatic/kafka")
    if plt:
        ran += 1
        run_client("@platformatic/kafka", plt, "platformatic_peer.mjs", True,
                   ["ApiVersions", "Metadata", "Produce", "Fetch", "ListOffsets", "CreateTopics",
                    "DeleteTopics", "CreatePartitions", "DescribeConfigs", "DeleteRecords"] +
                   (CLASSIC_GROUP_APIS + ["ConsumerGroupHeartbeat"] if GROUPS else []),
                   {"Produce": 9, "Fetch": 13, "Metadata": 9, "CreateTopics": 5})
    else:
        log("SKIP @platformatic/kafka: no node satisfies its engines (%s); scripts/setup-node "
            "installs a Node 22 for it" % why)
    if not GROUPS:
        log("SKIP group consumers of both clients: GROUPS is off in %s"
            % os.path.basename(__file__))
    if ran == 0:
        return 77
    if FAILURES:
        log("%d check(s) failed" % len(FAILURES))
        return 1
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        sys.exit(main())
    except Exception as e:  # a crash is a failure with its reason, not a hang
        log("FAIL node_peers.py raised %s: %s" % (type(e).__name__, e))
        sys.exit(1)
