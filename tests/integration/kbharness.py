"""Test harness for the broker: a coordinator (samsa-coord, or the real ZooKeeper 3.8 with
SAMSA_ZK_TARGET=real) and samsa-broker daemons on free loopback ports in a temporary
directory, stopped by pid when the test ends (also when it fails). `Cluster.wait_ready` polls
the broker's own Metadata answer until it is registered and a controller is elected.

Also a minimal raw Kafka client (`KafkaRaw`) for the bad-input tests: it sends exactly the
bytes a test wants.
"""
import os
import socket
import struct
import subprocess
import tempfile
import time

import zkharness

BROKER = os.path.abspath(os.environ["SAMSA_BROKER"]) if os.environ.get("SAMSA_BROKER") else None


class KafkaRaw:
    """Framed Kafka requests over one socket (header v1: api_key, version, correlation, client)."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.corr = 0

    def close(self):
        self.sock.close()

    def send_raw(self, payload):
        self.sock.sendall(struct.pack(">i", len(payload)) + payload)

    def request(self, key, version, body, client=b"raw"):
        self.corr += 1
        hdr = struct.pack(">hhi", key, version, self.corr) + struct.pack(">h", len(client)) + client
        self.send_raw(hdr + body)
        return self.corr

    def recv(self):
        """One response frame, or None when the broker closed the connection."""
        n = self._read(4)
        if n is None:
            return None
        (ln,) = struct.unpack(">i", n)
        return self._read(ln)

    def _read(self, n):
        out = b""
        while len(out) < n:
            try:
                chunk = self.sock.recv(n - len(out))
            except ConnectionResetError:
                return None
            if not chunk:
                return None
            out += chunk
        return out


def kstr(s):
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">h", len(b)) + b


def metadata_v1(port, topics=None):
    """(controller_id, [broker ids], {topic: (error, [(partition, error, leader)])})."""
    k = KafkaRaw(port, timeout=5)
    try:
        body = struct.pack(">i", -1) if topics is None else struct.pack(">i", len(topics)) + b"".join(
            kstr(t) for t in topics)
        k.request(3, 1, body)
        r = k.recv()
    finally:
        k.close()
    if r is None:
        raise OSError("closed")
    pos = 4
    (nb,) = struct.unpack_from(">i", r, pos)
    pos += 4
    ids = []
    for _ in range(nb):
        (nid,) = struct.unpack_from(">i", r, pos)
        ids.append(nid)
        pos += 4
        (hl,) = struct.unpack_from(">h", r, pos)
        pos += 2 + hl + 4
        (rl,) = struct.unpack_from(">h", r, pos)
        pos += 2 + max(rl, 0)
    (ctrl,) = struct.unpack_from(">i", r, pos)
    pos += 4
    (nt,) = struct.unpack_from(">i", r, pos)
    pos += 4
    topics_out = {}
    for _ in range(nt):
        (err, tl) = struct.unpack_from(">hh", r, pos)
        pos += 4
        name = r[pos:pos + tl].decode()
        pos += tl + 1
        (np_,) = struct.unpack_from(">i", r, pos)
        pos += 4
        parts = []
        for _ in range(np_):
            (perr, pidx, leader) = struct.unpack_from(">hii", r, pos)
            pos += 10
            for _ in range(2):
                (cnt,) = struct.unpack_from(">i", r, pos)
                pos += 4 + 4 * cnt
            parts.append((pidx, perr, leader))
        topics_out[name] = (err, parts)
    return ctrl, ids, topics_out


class Broker:
    def __init__(self, cluster, broker_id, extra):
        self.cluster = cluster
        self.id = broker_id
        self.port = zkharness.free_port()
        self.dir = os.path.join(cluster.dir, "broker%d" % broker_id)
        os.makedirs(self.dir, exist_ok=True)
        self.log_dirs = os.path.join(self.dir, "kafka-logs")
        props = {
            "broker.id": str(broker_id),
            "listeners": "PLAINTEXT://127.0.0.1:%d" % self.port,
            "log.dirs": self.log_dirs,
            "zookeeper.connect": cluster.zk_connect,
            "zookeeper.session.timeout.ms": "6000",
            "num.partitions": "1",
        }
        props.update(extra or {})
        self.props = zkharness.write_props(os.path.join(self.dir, "server.properties"), props, None)
        self.proc = None
        self.out = None

    @property
    def bootstrap(self):
        return "127.0.0.1:%d" % self.port

    def start(self):
        self.out = open(os.path.join(self.dir, "broker.out"), "ab")
        env = dict(os.environ, LOG_DIR=os.path.join(self.dir, "logs"))
        self.proc = subprocess.Popen([BROKER, self.props], stdout=self.out, stderr=subprocess.STDOUT, env=env,
                                     cwd=self.dir, start_new_session=True)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, timeout=60):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("broker exited with %s:\n%s" % (self.proc.returncode, self.log_text()[-3000:]))
            try:
                ctrl, ids, _ = metadata_v1(self.port)
                if ctrl >= 0 and self.id in ids:
                    return self
                last = (ctrl, ids)
            except OSError as e:
                last = e
            time.sleep(0.05)
        raise RuntimeError("broker %d not ready in %ss (last: %r)\n%s" % (self.id, timeout, last,
                                                                       self.log_text()[-3000:]))

    def stop(self, timeout=15):
        was = self.running()
        if was:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.out and not self.out.closed:
            self.out.close()
        if was:
            zkharness.check_sanitizer_output(os.path.join(self.dir, "broker.out"), "broker %d" % self.id)

    def kill9(self):
        if self.running():
            self.proc.kill()
            self.proc.wait()
        if self.out and not self.out.closed:
            self.out.close()

    def out_text(self):
        p = os.path.join(self.dir, "broker.out")
        with open(p, errors="replace") as f:
            return f.read()

    def log_text(self):
        p = os.path.join(self.dir, "logs", "server.log")
        if os.path.exists(p):
            with open(p, errors="replace") as f:
                return f.read()
        return self.out_text()


class Cluster:
    """One coordinator and n brokers; `chroot` puts the cluster under a path, as
    zookeeper.connect=host:port/chroot does."""

    def __init__(self, testcase, brokers=1, chroot="/kafka", broker_extra=None, zk_target=None):
        self.tmp = tempfile.TemporaryDirectory(prefix="samsa-kb-")
        testcase.addCleanup(self.tmp.cleanup)
        self.dir = self.tmp.name
        zkdir = os.path.join(self.dir, "zk")
        os.makedirs(zkdir)
        kind = zk_target or zkharness.target()
        self.zk = zkharness.real_server(zkdir) if kind == "real" else zkharness.samsa_server(zkdir)
        testcase.addCleanup(self.zk.stop)
        self.zk.start()
        self.zk_connect = self.zk.hosts + (chroot or "")
        self.brokers = []
        for i in range(brokers):
            b = Broker(self, i, broker_extra)
            testcase.addCleanup(b.stop)
            self.brokers.append(b)
            b.start()
        for b in self.brokers:
            b.wait_ready()

    @property
    def bootstrap(self):
        return ",".join(b.bootstrap for b in self.brokers)


def wait_for(cond, timeout=30, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for %s" % what)
