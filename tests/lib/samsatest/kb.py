"""A broker test cluster: coordinators (one samsa-coord or a 3-server ensemble; the real
ZooKeeper 3.8 with SAMSA_ZK_TARGET=real) and samsa-broker daemons (SAMSA_BROKER) on reserved
loopback ports in a work directory (kept if the test fails), stopped by pid when the test ends.
`Broker.wait_ready` polls the broker's own Metadata answer until it is registered and a
controller is elected, and fails at once if the broker exits meanwhile.

`Cluster` also drives failures of one broker by pid (stop, kill -9, SIGSTOP/SIGCONT, restart on
its own log directory) and waits by polling, never by sleeping: every live broker's Metadata
naming exactly the live brokers (`wait_brokers`), a topic's leaders (`wait_leaders`), and a
partition's state znode as the controller wrote it (`state`, `wait_state`, read with kazoo from
the coordinators). A broker may also run a shipped config file (configs/cluster-3/...) with its
ports, directories and coordinators overridden on the command line (`--override`).

Also a minimal raw Kafka client (`KafkaRaw`) for the bad-input tests: it sends exactly the
bytes a test wants.
"""
import os
import socket
import struct

from . import zk
from .daemon import Daemon, _live as _live_daemons
from .ports import free_port
from .wait import wait_for  # noqa: F401 (part of this module's interface)
from .workdir import WorkDir

BROKER = os.path.abspath(os.environ["SAMSA_BROKER"]) if os.environ.get("SAMSA_BROKER") else None


class KafkaRaw:
    """Framed Kafka requests over one socket (header v1: api_key, version, correlation, client)."""

    def __init__(self, port, timeout=10, host="127.0.0.1", tls=None):
        """tls: an ssl.SSLContext to speak TLS through (server name "localhost")."""
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if tls is not None:
            try:
                self.sock = tls.wrap_socket(self.sock, server_hostname="localhost")
            except BaseException:
                self.sock.close()
                raise
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


def read_records(consumer, n, timeout=30, quiet_ms=500):
    """The records a kafka-python consumer returns until it has n of them, then for quiet_ms
    more, so that one too many shows (rather than waiting out a consumer_timeout_ms, which every
    read would pay in full). Fewer than n after timeout seconds: what it has."""
    import time
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        got += [r for rs in consumer.poll(200).values() for r in rs]
    end = time.monotonic() + quiet_ms / 1000.0
    while time.monotonic() < end:
        got += [r for rs in consumer.poll(100).values() for r in rs]
    return got


def kstr(s):
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">h", len(b)) + b


def metadata_v1(port, topics=None, host="127.0.0.1"):
    """(controller_id, [broker ids], {topic: (error, [(partition, error, leader)])})."""
    ctrl, ids, full = metadata_full(port, topics, host)
    return ctrl, ids, {t: (err, [(p["partition"], p["error"], p["leader"]) for p in parts])
                       for t, (err, parts) in full.items()}


def metadata_full(port, topics=None, host="127.0.0.1"):
    """Metadata v1 with every field the tests look at: (controller_id, [broker ids],
    {topic: (error, [{"partition", "error", "leader", "replicas", "isr"}])})."""
    k = KafkaRaw(port, timeout=5, host=host)
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
            lists = []
            for _ in range(2):
                (cnt,) = struct.unpack_from(">i", r, pos)
                lists.append(list(struct.unpack_from(">%di" % cnt, r, pos + 4)))
                pos += 4 + 4 * cnt
            parts.append({"partition": pidx, "error": perr, "leader": leader, "replicas": lists[0],
                          "isr": lists[1]})
        topics_out[name] = (err, sorted(parts, key=lambda p: p["partition"]))
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


def elect_leaders(port, partitions, unclean=False):
    """ElectLeaders v1 (API 43) with raw bytes (Debian's clients have no call for it):
    partitions = {topic: [ids]} or None for all. Returns {(topic, partition): (error, message)}."""
    body = struct.pack(">b", 1 if unclean else 0)
    if partitions is None:
        body += struct.pack(">i", -1)
    else:
        body += struct.pack(">i", len(partitions))
        for t, ps in partitions.items():
            body += struct.pack(">h", len(t)) + t.encode() + struct.pack(">i", len(ps))
            body += b"".join(struct.pack(">i", p) for p in ps)
    body += struct.pack(">i", 30000)
    k = KafkaRaw(port, timeout=40)
    try:
        k.request(43, 1, body)
        r = k.recv()
    finally:
        k.close()
    (corr, throttle, err, nt) = struct.unpack_from(">iihi", r, 0)
    assert err == 0, err
    pos = 14
    out = {}
    for _ in range(nt):
        (tl,) = struct.unpack_from(">h", r, pos)
        t = r[pos + 2:pos + 2 + tl].decode()
        pos += 2 + tl
        (np_,) = struct.unpack_from(">i", r, pos)
        pos += 4
        for _ in range(np_):
            (p, e, ml) = struct.unpack_from(">ihh", r, pos)
            pos += 8
            msg = None
            if ml >= 0:
                msg = r[pos:pos + ml].decode()
                pos += ml
            out[(t, p)] = (e, msg)
    return out


class Broker(Daemon):
    """Broker `broker_id` of a cluster. With config_file (a shipped properties file) the broker
    runs that file, and only the keys a test must own are overridden on its command line
    (listeners, advertised.listeners, log.dirs, zookeeper.connect, then `extra`); otherwise
    it runs a properties file written here."""

    def __init__(self, cluster, broker_id, extra, config_file=None):
        self.cluster = cluster
        self.id = broker_id
        # netns mode: its own namespace and address on the cluster's bridge (Cluster.cut); a
        # cluster stand-in without those (test_kb_ensemble's, on a bare ensemble) is loopback
        self.ns = cluster.broker_ns(broker_id) if hasattr(cluster, "broker_ns") else None
        self.cut_off = False
        self.host = cluster.broker_addr(broker_id) if hasattr(cluster, "broker_addr") else "127.0.0.1"
        self.port = free_port()
        self.dir = os.path.join(cluster.dir, "broker%d" % broker_id)
        os.makedirs(self.dir, exist_ok=True)
        self.log_dirs = os.path.join(self.dir, "kafka-logs")
        if not BROKER:
            raise RuntimeError("SAMSA_BROKER must name the samsa-broker binary")
        self.control_port = free_port()
        own = {
            "listeners": "PLAINTEXT://%s:%d" % (self.host, self.port),
            # the controller's channel (KIP-291) on a reserved port too, not listener port + 1000
            "control.plane.listener.port": str(self.control_port),
            "log.dirs": self.log_dirs,
            "zookeeper.connect": cluster.zk_connect,
            # a controlled shutdown that cannot move a leadership (the last live replica) gives
            # up after 3 retries; 200 ms apart instead of 5 s keeps test teardowns quick
            "controlled.shutdown.retry.backoff.ms": "200",
        }
        if config_file:
            self.props = os.path.abspath(config_file)
            over = dict(own, **{"advertised.listeners": own["listeners"]})
            over.update(extra or {})
            argv = [BROKER, self.props]
            for k, v in over.items():
                argv += ["--override", "%s=%s" % (k, v)]
        else:
            props = dict(own, **{
                "broker.id": str(broker_id),
                "zookeeper.session.timeout.ms": "6000",
                "num.partitions": "1",
            })
            props.update(extra or {})
            self.props = zk.write_props(os.path.join(self.dir, "server.properties"), props, None)
            argv = [BROKER, self.props]
        env = dict(os.environ, LOG_DIR=os.path.join(self.dir, "logs"))
        if self.ns:
            argv = ["ip", "netns", "exec", self.ns] + argv
        Daemon.__init__(self, "broker %d" % broker_id, argv, self.dir,
                        os.path.join(self.dir, "broker.out"), env,
                        [os.path.join(self.dir, "logs", "server.log")])

    @property
    def bootstrap(self):
        return "%s:%d" % (self.host, self.port)

    def wait_ready(self, timeout=60):
        last = [None]

        def ready():
            self.check_running("ready")
            try:
                ctrl, ids, _ = metadata_v1(self.port, host=self.host)
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
    """Coordinators (`coordinators`: 1, or 3 as an ensemble) and `brokers` brokers with ids
    0..brokers-1; `chroot` puts the cluster under a path, as zookeeper.connect=host:port/chroot
    does. `config_files` (one per broker) runs shipped config files instead of written ones.
    Every process is stopped by pid when the test ends; the work directory is kept if it fails.
    With start=False the brokers are made but not started (start_broker / wait_brokers).

    netns=True (root; 3 coordinators): every coordinator and broker in its own network namespace
    on one bridge (samsatest.ensemble.Netns; brokers at 10.201.0.50+id), and the test's own
    thread moved into the client namespace until the test ends, so the test's clients (and the
    threads and processes it starts) reach every server and nothing touches the host's network.
    `cut(i)` then cuts broker i off from the coordinators and the other brokers while its
    process runs and clients still reach it; `heal(i)` joins it again."""

    BROKER_SUBNET_BASE = 50

    def __init__(self, testcase, brokers=1, chroot="/kafka", broker_extra=None, zk_target=None,
                 coordinators=1, config_files=None, start=True, netns=False):
        self.testcase = testcase
        self.work = WorkDir(testcase, prefix="samsa-kb-")
        self.tmp = self.work
        self.dir = self.work.path
        self.chroot = chroot or ""
        kind = zk_target or zk.target()
        self.ens = None
        self.net = None
        self._kazoo = None
        if netns and coordinators != 3:
            raise ValueError("netns mode runs a 3-server ensemble (coordinators=3)")
        if coordinators == 1:
            zkdir = os.path.join(self.dir, "zk")
            os.makedirs(zkdir)
            self.zk = zk.real_server(zkdir) if kind == "real" else zk.samsa_server(zkdir)
            testcase.addCleanup(self.zk.stop)
            self.zk.start()
            self.zk_hosts = self.zk.hosts
        elif coordinators == 3:
            from .ensemble import Ensemble
            self.zk = None
            self.ens = Ensemble(3, kind=kind, workdir=os.path.join(self.dir, "ensemble"), netns=netns)
            testcase.addCleanup(self.ens.close)
            if netns:
                self._netns_setup(testcase, brokers)
            self.ens.start()
            self.ens.wait_serving()
            self.zk_hosts = self.ens.hosts()
        else:
            raise ValueError("coordinators must be 1 or 3, not %r" % coordinators)
        self.zk_connect = self.zk_hosts + self.chroot
        self.brokers = []
        testcase.addCleanup(self._close_kazoo)
        for i in range(brokers):
            b = Broker(self, i, broker_extra, config_files[i] if config_files else None)
            testcase.addCleanup(b.stop)
            self.brokers.append(b)
            if start:
                b.start()
        if start:
            for b in self.brokers:
                b.wait_ready()

    @property
    def bootstrap(self):
        return ",".join(b.bootstrap for b in self.brokers)

    # -- network namespaces (netns=True) -------------------------------------------------------

    def _netns_setup(self, testcase, brokers):
        """One namespace per broker on the ensemble's bridge (deleted with the ensemble's), and
        this thread into the client namespace until the test's cleanups run."""
        from .net import enter_netns
        self.net = self.ens.net
        self._broker_ns = {}
        for i in range(brokers):
            ns = self.net.bridge_ns[:-len("-br")] + "-b%d" % i
            self.net._add(ns)
            self.net._attach(ns, "vb%d" % i, self.broker_addr_of(i))
            self._broker_ns[i] = ns
        testcase.addCleanup(enter_netns(self.net.client_ns))

    def broker_addr_of(self, i):
        from .ensemble import SUBNET
        return "%s.%d" % (SUBNET, self.BROKER_SUBNET_BASE + i)

    def broker_ns(self, i):
        return self._broker_ns[i] if self.net else None

    def broker_addr(self, i):
        return self.broker_addr_of(i) if self.net else "127.0.0.1"

    def _peers(self, i):
        """(namespace, address) of every coordinator and every other broker."""
        out = [(self.ens[m].ns, self.ens[m].host) for m in self.ens.ids]
        out += [(b.ns, b.host) for b in self.brokers if b.id != i]
        return out

    # the cut's black hole: a neighbour that exists nowhere (its MAC is on no port of the bridge)
    HOLE_ADDR_LAST = 254
    HOLE_MAC = "02:00:5a:00:00:fe"

    def _hole(self, ns):
        from .ensemble import SUBNET, ip
        hole = "%s.%d" % (SUBNET, self.HOLE_ADDR_LAST)
        ip("-n", ns, "neigh", "replace", hole, "lladdr", self.HOLE_MAC, "dev", "eth0", "nud", "permanent")
        return hole

    def cut(self, i):
        """Cuts broker i off from the coordinators and the other brokers, both ways, silently:
        in its namespace the route to each of them, and in each of theirs the route to it, goes
        through a neighbour whose MAC address no port has, so the bridge floods the frames and
        nobody takes them, as on a broken link (no reset, no unreachable error: connections
        stall and time out). Its process keeps running and clients (the client namespace)
        still reach it."""
        from .ensemble import ip
        if not self.net:
            raise RuntimeError("cut/heal need a cluster made with netns=True")
        b = self.brokers[i]
        hole = self._hole(b.ns)
        for ns, addr in self._peers(i):
            ip("-n", b.ns, "route", "replace", addr + "/32", "via", hole, "dev", "eth0")
            ip("-n", ns, "route", "replace", b.host + "/32", "via", self._hole(ns), "dev", "eth0")
        b.cut_off = True

    def heal(self, i):
        """Undoes cut(i)."""
        from .ensemble import ip
        b = self.brokers[i]
        for ns, addr in self._peers(i):
            ip("-n", b.ns, "route", "del", addr + "/32", check=False)
            ip("-n", ns, "route", "del", b.host + "/32", check=False)
        b.cut_off = False

    # -- one broker, by id (each by its pid) ---------------------------------------------------

    def broker(self, i):
        return self.brokers[i]

    def expected(self):
        """The brokers the test started and has not stopped or killed (paused ones included)."""
        return [b for b in self.brokers if b in _live_daemons]

    def live(self):
        """The expected brokers that are neither paused nor cut off."""
        return [b for b in self.expected() if not b.paused and not b.cut_off]

    def live_ids(self):
        return [b.id for b in self.live()]

    def start_broker(self, i):
        self.brokers[i].start()
        return self.brokers[i]

    def stop_broker(self, i, timeout=15):
        """SIGTERM (the broker's clean shutdown), SIGKILL after timeout."""
        self.brokers[i].stop(timeout)

    def kill9(self, i):
        self.brokers[i].kill9()

    def pause(self, i):
        """SIGSTOP: the process keeps its sockets and its coordinator session until that expires."""
        self.brokers[i].pause()

    def resume(self, i):
        self.brokers[i].resume()

    def restart(self, i, clean=True):
        """Stops broker i (SIGTERM, or kill -9 with clean=False) and starts it again on the same
        port and log directory; waits until it serves."""
        if clean:
            self.stop_broker(i)
        else:
            self.kill9(i)
        return self.start_broker(i).wait_ready()

    # -- polling --------------------------------------------------------------------------------

    def metadata(self, topics=None, via=None):
        """metadata_full from broker `via` (default: the first live broker that answers)."""
        last = None
        for b in ([self.brokers[via]] if via is not None else self.live()):
            try:
                return metadata_full(b.port, topics, b.host)
            except OSError as e:
                last = e
        raise OSError("no live broker answered Metadata (%s)" % last)

    def _check_live(self, what):
        """A broker that exited without the test stopping it fails the wait at once."""
        for b in self.expected():
            b.check_running(what)

    def wait_brokers(self, ids=None, timeout=60):
        """Until every live broker answers Metadata with exactly `ids` (default: the live
        brokers) and a controller among them. Returns the controller id."""
        want = sorted(self.live_ids() if ids is None else ids)
        last = {}

        def ok():
            self._check_live("in the cluster's metadata")
            ctrls = set()
            for b in self.live():
                try:
                    ctrl, got, _ = metadata_full(b.port, [], b.host)
                except OSError as e:
                    last[b.id] = e
                    return False
                last[b.id] = (ctrl, sorted(got))
                if sorted(got) != want or ctrl not in want:
                    return False
                ctrls.add(ctrl)
            return len(ctrls) == 1 and (ctrls.pop(),)

        return wait_for(ok, timeout, lambda: "metadata naming brokers %s (last: %r)" % (want, last))[0]

    def wait_leaders(self, topic, nparts, timeout=60, via=None):
        """Until Metadata shows nparts partitions of topic, each without error and with a leader
        among the live brokers. Returns the partitions (metadata_full's dicts)."""
        last = [None]

        def ok():
            self._check_live("serving %s" % topic)
            try:
                t = self.metadata([topic], via)[2].get(topic)
            except OSError as e:
                last[0] = e
                return False
            last[0] = t
            live = self.live_ids()
            return (t and t[0] == 0 and len(t[1]) == nparts and
                    all(p["error"] == 0 and p["leader"] in live for p in t[1]) and t[1])

        return wait_for(ok, timeout, lambda: "leaders of %s (last: %r)" % (topic, last[0]))

    def kazoo(self):
        """A kazoo client of the coordinators (started once, stopped with the test)."""
        if self._kazoo is None:
            from kazoo.client import KazooClient
            self._kazoo = KazooClient(hosts=self.zk_hosts, timeout=10)
            self._kazoo.start(30)
        return self._kazoo

    def _close_kazoo(self):
        if self._kazoo is not None:
            try:
                self._kazoo.stop()
                self._kazoo.close()
            finally:
                self._kazoo = None

    def znode_json(self, path):
        """The JSON of chroot + path, or None when it does not exist."""
        import json
        from kazoo.exceptions import NoNodeError
        try:
            data, _ = self.kazoo().retry(self.kazoo().get, self.chroot + path)
        except NoNodeError:
            return None
        return json.loads(data.decode()) if data else None

    def assignment(self, topic):
        """{partition: [replica ids]} of /brokers/topics/<topic>."""
        doc = self.znode_json("/brokers/topics/%s" % topic)
        return {int(p): r for p, r in doc["partitions"].items()} if doc else None

    def state(self, topic, p):
        """The partition's state znode as the controller wrote it ({leader, leader_epoch, isr,
        controller_epoch, version}), or None."""
        return self.znode_json("/brokers/topics/%s/partitions/%d/state" % (topic, p))

    def wait_state(self, topic, p, cond, timeout=60, what=None):
        """Until cond(state) holds for the partition's state znode; returns that state."""
        last = [None]

        def ok():
            last[0] = self.state(topic, p)
            return last[0] is not None and cond(last[0]) and last[0]

        return wait_for(ok, timeout, lambda: "%s of %s-%d (last state: %r)"
                        % (what or "a state", topic, p, last[0]))

    def controller(self):
        """The broker id in /controller, or None."""
        doc = self.znode_json("/controller")
        return doc["brokerid"] if doc else None


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
