"""The partition side of transactions (KIP-98), without a transaction coordinator: on 3 brokers
and a topic of replication factor 3, an InitProducerId producer id writes transactional batches
built by hand (attributes bit 0x10), and WriteTxnMarkers (API 27, as a coordinator sends it)
aborts one transaction and commits another. Then a real client, confluent-kafka (librdkafka)
with isolation.level=read_committed, sees only the committed and plain records and stops at the
last stable offset while a transaction is open (a plain record after it is held back too);
read_uncommitted sees every data record (kafka-console-consumer too, read_uncommitted by default as
Kafka's tool, read_committed with --isolation-level); ListOffsets read_committed answers the LSO and
read_uncommitted the high watermark; Fetch read_committed names the aborted transaction. The
markers are checked: an older producer epoch is INVALID_PRODUCER_EPOCH, an older coordinator
epoch TRANSACTION_COORDINATOR_FENCED, a follower answers NOT_LEADER_OR_FOLLOWER. Every replica
holds the abort in its .txnindex (Kafka's 34-byte entries). After the leader is killed -9 the
new leader gives the same answers (the followers derived the producer state and the index from
the batches they replicated); the killed broker, restarted and made leader again, too (no
snapshot after a kill -9: the state and the index rebuilt from the log), and again after a clean
restart (the close snapshot and the .txnindex files loaded, nothing replayed)."""
import os
import struct
import subprocess
import sys
import threading
import time
import uuid
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kbharness  # noqa: E402
from samsatest.kb import elect_leaders  # noqa: E402
from samsatest.workdir import SharedFixtureTest  # noqa: E402

warnings.simplefilter("ignore")
import confluent_kafka  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from kafka.record.default_records import DefaultRecordBatchBuilder  # noqa: E402

TOPIC = "txn"
WRITE_TXN_MARKERS = 27
NOT_LEADER_OR_FOLLOWER = 6
INVALID_PRODUCER_EPOCH = 47
TRANSACTION_COORDINATOR_FENCED = 52


def txn_batch(pid, epoch, seq, values, transactional=True):
    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=transactional,
                                  producer_id=pid, producer_epoch=epoch, base_sequence=seq,
                                  batch_size=1 << 20)
    for i, v in enumerate(values):
        b.append(i, timestamp=None, key=None, value=v, headers=[])
    return bytes(b.build())


def produce(port, records):
    """Produce v3 (acks=all) of records to partition 0: (error, base offset)."""
    c = kbharness.KafkaRaw(port)
    try:
        c.request(0, 3, kbharness.kstr(None) + struct.pack(">hi", -1, 10000) + struct.pack(">i", 1) +
                  kbharness.kstr(TOPIC) + struct.pack(">ii", 1, 0) + struct.pack(">i", len(records)) + records)
        r = c.recv()
    finally:
        c.close()
    pos = 8
    (tl,) = struct.unpack_from(">h", r, pos)
    pos += 2 + tl + 4
    _, err, base = struct.unpack_from(">ihq", r, pos)
    return err, base


def init_pid(port):
    c = kbharness.KafkaRaw(port)
    try:
        c.request(22, 1, struct.pack(">hi", -1, 60000))
        r = c.recv()
    finally:
        c.close()
    _corr, _t, err, pid, epoch = struct.unpack(">iihqh", r)
    assert err == 0, err
    return pid, epoch


def write_marker(port, pid, epoch, commit, coord_epoch, version=0):
    """WriteTxnMarkers v0 (or v1, flexible) of one marker on partition 0: its error."""
    if version == 0:
        body = (struct.pack(">iqhb", 1, pid, epoch, 1 if commit else 0) + struct.pack(">i", 1) +
                kbharness.kstr(TOPIC) + struct.pack(">ii", 1, 0) + struct.pack(">i", coord_epoch))
        c = kbharness.KafkaRaw(port, timeout=40)
        try:
            c.request(WRITE_TXN_MARKERS, 0, body)
            r = c.recv()
        finally:
            c.close()
        nm, rpid, nt = struct.unpack_from(">iqi", r, 4)
        assert (nm, rpid, nt) == (1, pid, 1), (nm, rpid, nt)
        pos = 4 + 16
        (tl,) = struct.unpack_from(">h", r, pos)
        pos += 2 + tl
        npart, idx, err = struct.unpack_from(">iih", r, pos)
        assert (npart, idx) == (1, 0)
        return err
    # v1: request header v2 (tagged fields after the client id), compact arrays and strings
    name = TOPIC.encode()
    body = (bytes([2]) + struct.pack(">qhb", pid, epoch, 1 if commit else 0) + bytes([2]) +
            bytes([len(name) + 1]) + name + bytes([2]) + struct.pack(">i", 0) + b"\0" +
            struct.pack(">i", coord_epoch) + b"\0" + b"\0")
    c = kbharness.KafkaRaw(port, timeout=40)
    try:
        c.corr += 1
        hdr = struct.pack(">hhi", WRITE_TXN_MARKERS, 1, c.corr) + kbharness.kstr("raw") + b"\0"
        c.send_raw(hdr + body)
        r = c.recv()
    finally:
        c.close()
    # corr, header tags, markers(2), pid, topics(2), name, partitions(2), index, error
    pos = 4 + 1 + 1 + 8 + 1
    pos += 1 + (r[pos] - 1)
    pos += 1
    idx, err = struct.unpack_from(">ih", r, pos)
    assert idx == 0
    return err


def list_offset(port, isolation):
    """ListOffsets v2, latest, of partition 0: (error, offset)."""
    c = kbharness.KafkaRaw(port)
    try:
        c.request(2, 2, struct.pack(">ib", -1, isolation) + struct.pack(">i", 1) + kbharness.kstr(TOPIC) +
                  struct.pack(">iiq", 1, 0, -1))
        r = c.recv()
    finally:
        c.close()
    pos = 8 + 4
    (tl,) = struct.unpack_from(">h", r, pos)
    pos += 2 + tl + 4
    _, err, _ts, off = struct.unpack_from(">ihqq", r, pos)
    return err, off


def fetch_committed(port, offset=0, max_wait=0, min_bytes=0, records=False):
    """Fetch v4 read_committed of partition 0 from offset: (error, hw, lso, [(pid, first
    offset)]), and the records' length with records=True."""
    c = kbharness.KafkaRaw(port, timeout=40)
    try:
        c.request(1, 4, struct.pack(">iiiib", -1, max_wait, min_bytes, 1 << 20, 1) + struct.pack(">i", 1) +
                  kbharness.kstr(TOPIC) + struct.pack(">i", 1) + struct.pack(">iqi", 0, offset, 1 << 20))
        r = c.recv()
    finally:
        c.close()
    pos = 4 + 4 + 4
    (tl,) = struct.unpack_from(">h", r, pos)
    pos += 2 + tl + 4
    _, err, hw, lso = struct.unpack_from(">ihqq", r, pos)
    pos += 22
    (na,) = struct.unpack_from(">i", r, pos)
    pos += 4
    ab = [struct.unpack_from(">qq", r, pos + 16 * i) for i in range(max(na, 0))]
    if records:
        (rl,) = struct.unpack_from(">i", r, pos + 16 * max(na, 0))
        return err, hw, lso, ab, rl
    return err, hw, lso, ab


def consume(bs, isolation, want, quiet=1.0):
    """Values a fresh confluent-kafka consumer reads from the beginning: until it has `want`
    of them, then for `quiet` more seconds."""
    c = confluent_kafka.Consumer({"bootstrap.servers": bs, "group.id": "g-" + uuid.uuid4().hex,
                                  "enable.auto.commit": False, "isolation.level": isolation,
                                  "fetch.wait.max.ms": 100})
    got = []
    try:
        # assigned, not subscribed: no group join to wait for
        c.assign([confluent_kafka.TopicPartition(TOPIC, 0, confluent_kafka.OFFSET_BEGINNING)])
        deadline = time.monotonic() + 30
        while len(got) < want and time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is not None and not m.error():
                got.append((m.offset(), m.value().decode()))
        end = time.monotonic() + quiet
        while time.monotonic() < end:
            m = c.poll(0.1)
            if m is not None and not m.error():
                got.append((m.offset(), m.value().decode()))
    finally:
        c.close()
    return got


def console(bs, isolation):
    """The values kafka-console-consumer prints from the beginning until it is idle 1.5 s."""
    tool = os.path.join(os.environ["SAMSA_BUILD_ROOT"], "broker", "tools", "kafka-console-consumer")
    args = [tool, "--bootstrap-server", bs, "--topic", TOPIC, "--from-beginning", "--timeout-ms", "1500"]
    if isolation:
        args += ["--isolation-level", isolation]
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    return r.stdout.split()


def txnindex(cluster, i):
    """The (pid, first, last, lso) entries of broker i's .txnindex files of partition 0."""
    d = os.path.join(cluster.brokers[i].log_dirs, "%s-0" % TOPIC)
    out = []
    for name in sorted(os.listdir(d)):
        if name.endswith(".txnindex"):
            with open(os.path.join(d, name), "rb") as f:
                data = f.read()
            assert len(data) % 34 == 0, (name, len(data))
            for k in range(0, len(data), 34):
                ver, pid, first, last, lso = struct.unpack_from(">hqqqq", data, k)
                assert ver == 0
                out.append((pid, first, last, lso))
    return out


class TxnLogTest(SharedFixtureTest):
    @classmethod
    def setUpClass(cls):
        fx = cls.fixture()
        cls.cluster = kbharness.Cluster(fx, brokers=3, broker_extra={"replica.lag.time.max.ms": "10000"})
        a = AdminClient({"bootstrap.servers": cls.cluster.bootstrap})
        a.create_topics([NewTopic(TOPIC, 1, 3)], operation_timeout=10)[TOPIC].result(30)
        cls.cluster.wait_leaders(TOPIC, 1)
        cls.cluster.wait_state(TOPIC, 0, lambda s: len(s["isr"]) == 3, what="a full ISR")

    def leader(self, not_id=None):
        def ok():
            (p,) = self.cluster.wait_leaders(TOPIC, 1)
            return p["leader"] != not_id and (p["leader"],)  # a tuple: broker 0 is a leader too
        (lid,) = kbharness.wait_for(ok, 60, lambda: "a leader other than %r" % not_id)
        return lid, [n for n, b in enumerate(self.cluster.brokers) if b.id == lid][0]

    def answers(self, port):
        """What a leader says of the partition: ListOffsets both ways, Fetch read_committed,
        and what the two kinds of consumer read."""
        return {"latest_uncommitted": list_offset(port, 0), "latest_committed": list_offset(port, 1),
                "fetch": fetch_committed(port)}

    def test_transactions_partition_side(self):
        bs = self.cluster.bootstrap
        lid, li = self.leader()
        port = self.cluster.brokers[li].port
        follower = self.cluster.brokers[(li + 1) % 3].port
        a, ea = init_pid(port)
        b, eb_ = init_pid(port)
        self.assertNotEqual(a, b)
        # 0: plain; 1-2 A; 3 B; 4 A; 5 abort A; 6 commit B; 7 A again (left open); 8 plain
        self.assertEqual(produce(port, txn_batch(-1, -1, -1, [b"p0"], False)), (0, 0))
        self.assertEqual(produce(port, txn_batch(a, ea, 0, [b"a1", b"a2"])), (0, 1))
        self.assertEqual(produce(port, txn_batch(b, eb_, 0, [b"b1"])), (0, 3))
        self.assertEqual(produce(port, txn_batch(a, ea, 2, [b"a3"])), (0, 4))
        # a plain batch of a producer inside its transaction: INVALID_TXN_STATE, as Kafka
        self.assertEqual(produce(port, txn_batch(a, ea, 3, [b"x"], False))[0], 48)
        # the markers: on a follower refused; the abort of A (v0), the commit of B (v1)
        self.assertEqual(write_marker(follower, a, ea, False, 0), NOT_LEADER_OR_FOLLOWER)
        self.assertEqual(write_marker(port, a, ea, False, 0), 0)
        self.assertEqual(write_marker(port, b, eb_, True, 0, version=1), 0)
        self.assertEqual(produce(port, txn_batch(a, ea, 3, [b"c1"])), (0, 7))
        self.assertEqual(produce(port, txn_batch(-1, -1, -1, [b"p1"], False)), (0, 8))
        # fencing: an older producer epoch, an older coordinator epoch (B's last marker had 0,
        # this one 3; then 2 is stale)
        self.assertEqual(write_marker(port, a, ea - 1, False, 0), INVALID_PRODUCER_EPOCH)
        c, ec = init_pid(port)
        self.assertEqual(write_marker(port, c, ec, False, 3), 0)  # offset 9: C had nothing open
        self.assertEqual(write_marker(port, c, ec, False, 2), TRANSACTION_COORDINATOR_FENCED)

        want = {"latest_uncommitted": (0, 10), "latest_committed": (0, 7),
                "fetch": (0, 10, 7, [(a, 1)])}
        self.assertEqual(self.answers(port), want)
        committed = [(0, "p0"), (3, "b1")]
        everything = [(0, "p0"), (1, "a1"), (2, "a2"), (3, "b1"), (4, "a3"), (7, "c1"), (8, "p1")]
        # read_committed stops at the LSO (7): p1 at 8 is not shown while A's transaction is open
        self.assertEqual(consume(bs, "read_committed", 2), committed)
        self.assertEqual(consume(bs, "read_uncommitted", 7, quiet=0.3), everything)
        # kafka-console-consumer (broker/tools, librdkafka): read_uncommitted by default as
        # Kafka's, read_committed with --isolation-level
        self.assertEqual(console(bs, "read_committed"), [v for _, v in committed])
        self.assertEqual(console(bs, None), [v for _, v in everything])
        # every replica has the abort of A (first 1, marker 5, LSO then 3: B's open transaction)
        # and C's empty one (9), in its .txnindex
        idx = [(a, 1, 5, 3), (c, 9, 9, 7)]  # C's abort: A's transaction at 7 still open
        for i in range(3):
            kbharness.wait_for(lambda: txnindex(self.cluster, i) == idx, 30,
                               lambda: "broker %d's txnindex %r" % (i, txnindex(self.cluster, i)))

        # the leader dies: the new one derived the same state from the batches it replicated
        self.cluster.kill9(li)
        nid, ni = self.leader(not_id=lid)
        nport = self.cluster.brokers[ni].port
        kbharness.wait_for(lambda: self.answers(nport) == want, 30,
                           lambda: "the new leader's answers %r" % (self.answers(nport),))
        self.assertEqual(consume(bs, "read_committed", 2, quiet=0.5), committed)
        # A commits through the new leader: the LSO moves to the HW, the rest shows. A
        # read_committed Fetch long-polling at the LSO (nothing to read there yet) is answered
        # when the commit moves the LSO, not at its 20 s max wait
        polled = []
        t = threading.Thread(target=lambda: polled.append(
            (fetch_committed(nport, offset=7, max_wait=20000, min_bytes=1, records=True), time.monotonic())))
        t.start()
        time.sleep(0.5)  # not synchronisation: only so that the fetch is likely waiting already
        start = time.monotonic()
        self.assertEqual(write_marker(nport, a, ea, True, 1), 0)  # offset 10
        t.join(30)
        (err, hw, lso, ab, rl), done = polled[0]
        # answered as soon as the LSO passed 7: at 10 (the marker not yet in the ISR, the HW
        # still 10) or 11; C's abort at 9 is named with the records of [7, LSO)
        self.assertEqual((err, ab), (0, [(c, 9)]))
        self.assertIn(lso, (10, 11))
        self.assertGreater(rl, 0)
        self.assertLess(done - start, 10)
        after = committed + [(7, "c1"), (8, "p1")]
        self.assertEqual(consume(bs, "read_committed", 4, quiet=0.5), after)
        self.assertEqual(list_offset(nport, 1), (0, 11))

        # the killed broker comes back (its snapshot, .txnindex and log after them), catches
        # up, and leads again: the same answers
        self.cluster.start_broker(li).wait_ready()
        self.cluster.wait_state(TOPIC, 0, lambda s: lid in s["isr"], what="the old leader back in the ISR")

        def elected():  # a preferred election (broker lid was the first replica), at the controller
            ctrl = [b for b in self.cluster.brokers if b.id == self.cluster.controller()][0]
            return elect_leaders(ctrl.port, {TOPIC: [0]})[(TOPIC, 0)][0] in (0, 84) and self.leader()[0] == lid
        kbharness.wait_for(elected, 60, lambda: "broker %d leading again" % lid)
        want2 = {"latest_uncommitted": (0, 11), "latest_committed": (0, 11), "fetch": (0, 11, 11, [(a, 1), (c, 9)])}
        kbharness.wait_for(lambda: self.answers(port) == want2, 30,
                           lambda: "the restarted leader's answers %r" % (self.answers(port),))
        self.assertEqual(txnindex(self.cluster, li), idx)
        self.assertEqual(consume(bs, "read_committed", 4, quiet=0.5), after)
        # a clean restart of the leader: its close snapshot covers the whole log, so the aborted
        # transactions come from the .txnindex files alone; elected again, the same answers
        self.cluster.restart(li)
        self.cluster.wait_state(TOPIC, 0, lambda s: lid in s["isr"], what="the old leader back in the ISR")
        kbharness.wait_for(elected, 60, lambda: "broker %d leading again" % lid)
        kbharness.wait_for(lambda: self.answers(port) == want2, 30,
                           lambda: "the cleanly restarted leader's answers %r" % (self.answers(port),))


if __name__ == "__main__":
    import unittest
    unittest.main()
