"""A broker test cluster: a coordinator (samsa-coord, or the real ZooKeeper 3.8 with
SAMSA_ZK_TARGET=real) and samsa-broker daemons (SAMSA_BROKER) on reserved loopback ports in a
work directory (kept if the test fails), stopped by pid when the test ends. `Broker.wait_ready`
polls the broker's own Metadata answer until it is registered and a controller is elected, and
fails at once if the broker exits meanwhile.

Also a minimal raw Kafka client (`KafkaRaw`) for the bad-input tests: it sends exactly the
bytes a test wants.
"""
import os
import socket
import struct

from . import zk
from .daemon import Daemon
from .ports import free_port
from .wait import wait_for  # noqa: F401 (part of this module's interface)
from .workdir import WorkDir

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


def partition_meta(port, topic, partition=0):
    """(partition, error, leader) of one partition in the broker's Metadata, or None while the
    broker does not list it yet (a broker that just started may not have read the topic from
    the coordinator: it answers LEADER_NOT_AVAILABLE with no partitions, as Kafka does)."""
    t = metadata_v1(port, [topic])[2].get(topic)
    if not t:
        return None
    for entry in t[1]:
        if entry[0] == partition:
            return entry
    return None


class Broker(Daemon):
    def __init__(self, cluster, broker_id, extra):
        self.cluster = cluster
        self.id = broker_id
        self.port = free_port()
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
            # a controlled shutdown that cannot move a leadership (the last live replica) gives
            # up after 3 retries; 200 ms apart instead of 5 s keeps test teardowns quick
            "controlled.shutdown.retry.backoff.ms": "200",
        }
        props.update(extra or {})
        self.props = zk.write_props(os.path.join(self.dir, "server.properties"), props, None)
        env = dict(os.environ, LOG_DIR=os.path.join(self.dir, "logs"))
        if not BROKER:
            raise RuntimeError("SAMSA_BROKER must name the samsa-broker binary")
        Daemon.__init__(self, "broker %d" % broker_id, [BROKER, self.props], self.dir,
                        os.path.join(self.dir, "broker.out"), env,
                        [os.path.join(self.dir, "logs", "server.log")])

    @property
    def bootstrap(self):
        return "127.0.0.1:%d" % self.port

    def wait_ready(self, timeout=60):
        last = [None]

        def ready():
            self.check_running("ready")
            try:
                ctrl, ids, _ = metadata_v1(self.port)
                last[0] = (ctrl, ids)
                return ctrl >= 0 and self.id in ids
            except OSError as e:
                last[0] = e
                return False

        wait_for(ready, timeout, lambda: "broker %d to be ready (last: %r)\n%s"
                 % (self.id, last[0], self.log_tail(3000)))
        return self

    def out_text(self):
        with open(self.out_path, errors="replace") as f:
            return f.read()

    def log_text(self):
        p = self.logs[0]
        if os.path.exists(p):
            with open(p, errors="replace") as f:
                return f.read()
        return self.out_text()


class Cluster:
    """One coordinator and n brokers; `chroot` puts the cluster under a path, as
    zookeeper.connect=host:port/chroot does."""

    def __init__(self, testcase, brokers=1, chroot="/kafka", broker_extra=None, zk_target=None):
        self.work = WorkDir(testcase, prefix="samsa-kb-")
        self.tmp = self.work
        self.dir = self.work.path
        zkdir = os.path.join(self.dir, "zk")
        os.makedirs(zkdir)
        kind = zk_target or zk.target()
        self.zk = zk.real_server(zkdir) if kind == "real" else zk.samsa_server(zkdir)
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


def kafka_placement(brokers, nparts, rf, start, shift, first=0):
    """Kafka 2.x's rack-unaware replica placement (AdminUtils.assignReplicasToBrokersRackUnaware)
    written out independently of broker/meta/kassign.c, for tests to compare against: partition
    p's first replica is sorted_brokers[(p + start) % n], replica j+1 is (first + 1 + (shift + j)
    % (n - 1)) % n, and the shift grows by one at each positive partition id that is a multiple
    of n. Returns {partition: [ids]} for partitions first .. first + nparts - 1."""
    b = sorted(brokers)
    n = len(b)
    out = {}
    for p in range(first, first + nparts):
        if p > 0 and p % n == 0:
            shift += 1
        f = (p + start) % n
        out[p] = [b[f]] + [b[(f + 1 + (shift + j) % (n - 1)) % n] for j in range(rf - 1)]
    return out


def is_kafka_placement(brokers, parts, rf):
    """Whether {partition: [ids]} (partitions 0..N-1) is what Kafka places for some random
    start index and shift."""
    n = len(brokers)
    got = {int(p): list(r) for p, r in parts.items()}
    return any(kafka_placement(brokers, len(got), rf, s, h) == got for s in range(n) for h in range(n))
