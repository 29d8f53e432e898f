"""InitProducerId (API 22) for idempotent producers, with real clients, on two brokers sharing one
coordinator: producer ids come in blocks of 1000 claimed through /latest_producer_id_block as
Kafka's ProducerIdManager claims them (read, then a setData conditional on the version read), so
two brokers asked at once hand out ids from disjoint blocks that follow the block already
recorded there, a used-up block is followed by the next one, and a missing znode is created
with the first block; a transactional id sent to a broker that does not coordinate it is answered
NOT_COORDINATOR (test_kb_txn covers the transaction coordinator); kafkajs (`idempotent: true`) and confluent-kafka (`enable.idempotence=true`)
get an id and produce batches carrying it with sequences from 0. Produce checks the sequences
(broker/log/kpstate through the replica manager): a retried batch is answered with its
original's base offset and stored once, a gap is OUT_OF_ORDER_SEQUENCE_NUMBER, an older epoch
INVALID_PRODUCER_EPOCH, and the state survives a clean restart (the close snapshot) and a kill -9
(the log replayed after the snapshot)."""
import logging
import os
import re
import struct
import sys
import threading
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kbharness  # noqa: E402
from samsatest.workdir import SharedFixtureTest  # noqa: E402
from test_kb_kafkajs import kafkajs  # noqa: E402

warnings.simplefilter("ignore")
import confluent_kafka  # noqa: E402
from kafka.record.default_records import DefaultRecordBatchBuilder  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

INIT_PRODUCER_ID = 22
BLOCK = 1000
OUT_OF_ORDER_SEQUENCE_NUMBER = 45
INVALID_PRODUCER_EPOCH = 47
INVALID_RECORD = 87


def idem_batch(pid, epoch, seq, values):
    """A record batch of an idempotent producer (KIP-98's header fields)."""
    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False, producer_id=pid,
                                  producer_epoch=epoch, base_sequence=seq, batch_size=1 << 20)
    for i, v in enumerate(values):
        b.append(i, timestamp=None, key=None, value=v, headers=[])
    return bytes(b.build())


def produce(port, topic, records, acks=-1):
    """One Produce v3 of records to partition 0: (error, base offset)."""
    c = kbharness.KafkaRaw(port)
    try:
        c.request(0, 3, kbharness.kstr(None) + struct.pack(">hi", acks, 10000) + struct.pack(">i", 1) +
                  kbharness.kstr(topic) + struct.pack(">ii", 1, 0) + struct.pack(">i", len(records)) + records)
        r = c.recv()
    finally:
        c.close()
    assert r is not None, "the broker closed the connection"
    pos = 4 + 4
    (tl,) = struct.unpack_from(">h", r, pos)
    pos += 2 + tl + 4
    _, err, base = struct.unpack_from(">ihq", r, pos)
    return err, base


def init_producer_id(port, txn_id=None, version=1):
    """One InitProducerId v0/v1 request: (error, producer id, epoch)."""
    c = kbharness.KafkaRaw(port)
    try:
        tid = struct.pack(">h", -1) if txn_id is None else struct.pack(">h", len(txn_id)) + txn_id
        c.request(INIT_PRODUCER_ID, version, tid + struct.pack(">i", 60000))
        r = c.recv()
    finally:
        c.close()
    assert r is not None, "the broker closed the connection"
    _corr, _throttle, err, pid, epoch = struct.unpack(">iihqh", r)
    return err, pid, epoch


def init_producer_ids(port, n):
    """n InitProducerId v1 requests pipelined on one connection: their (error, id, epoch)."""
    c = kbharness.KafkaRaw(port)
    try:
        for _ in range(n):
            c.request(INIT_PRODUCER_ID, 1, struct.pack(">hi", -1, 60000))
        out = []
        for _ in range(n):
            r = c.recv()
            assert r is not None, "the broker closed the connection"
            out.append(struct.unpack(">iihqh", r)[2:])
    finally:
        c.close()
    return out


def batches(cluster, topic):
    """(producer id, epoch, base sequence, records) of every batch in partition 0's log,
    wherever it lives."""
    out = []
    for b in cluster.brokers:
        d = os.path.join(b.log_dirs, "%s-0" % topic)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if not name.endswith(".log"):
                continue
            with open(os.path.join(d, name), "rb") as f:
                data = f.read()
            pos = 0
            while pos + 61 <= len(data):
                (length,) = struct.unpack(">i", data[pos + 8:pos + 12])
                pid, epoch, seq, n = struct.unpack(">qhii", data[pos + 43:pos + 61])
                out.append((pid, epoch, seq, n))
                pos += 12 + length
    return out


class IdempotentTest(SharedFixtureTest):
    @classmethod
    def setUpClass(cls):
        fx = cls.fixture()
        cls.cluster = kbharness.Cluster(fx, brokers=2, broker_extra={"default.replication.factor": "1",
                                                                      "num.partitions": "1"})
        cls.bs = cls.cluster.bootstrap
        # a block some broker 9 claimed before (as a Kafka cluster leaves it): the next ones follow it
        zk = cls.cluster.kazoo()
        path = cls.cluster.chroot + "/latest_producer_id_block"
        zk.ensure_path(path)
        zk.set(path, b'{"version":1,"broker":9,"block_start":"5000","block_end":"5999"}')
        fx.ready()

    def test_0_two_brokers_claim_disjoint_blocks(self):
        # neither broker holds a block yet: 4 requests to each, all released at once
        ports = [b.port for b in self.cluster.brokers]
        per = 4
        gate = threading.Barrier(len(ports) * per)
        got = {p: [] for p in ports}
        errors = []

        def ask(port):
            try:
                gate.wait(timeout=30)
                got[port].append(init_producer_id(port))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=ask, args=(p,)) for p in ports for _ in range(per)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        blocks = {}
        for port, answers in got.items():
            self.assertEqual(len(answers), per)
            for err, pid, epoch in answers:
                self.assertEqual((err, epoch), (0, 0), answers)
            pids = [pid for _, pid, _ in answers]
            self.assertEqual(len(set(pids)), per, pids)  # never the same id twice
            (block,) = {pid // BLOCK for pid in pids}  # each broker from one block of its own
            blocks[port] = block
        # disjoint, and after the recorded 5000..5999: 6000..6999 and 7000..7999
        self.assertEqual(sorted(blocks.values()), [6, 7])
        # the znode records the later claim in Kafka's form (decimal strings)
        last = max(blocks, key=blocks.get)
        owner = [b.id for b in self.cluster.brokers if b.port == last][0]
        self.assertEqual(self.cluster.znode_json("/latest_producer_id_block"),
                         {"version": 1, "broker": owner, "block_start": "7000", "block_end": "7999"})
        # the next id on a broker comes from its block
        err, pid, _ = init_producer_id(self.cluster.brokers[0].port, version=0)
        self.assertEqual(err, 0)
        self.assertEqual(pid // BLOCK, blocks[self.cluster.brokers[0].port])

    def test_1_block_used_up_and_znode_missing(self):
        # broker 0 uses its block up: the requests past its end wait for the next block,
        # 8000..8999 after the recorded 7000..7999
        port = self.cluster.brokers[0].port
        got = init_producer_ids(port, BLOCK)
        self.assertTrue(all(e == 0 and ep == 0 for e, _, ep in got), got[:3])
        pids = [p for _, p, _ in got]
        self.assertEqual(len(set(pids)), BLOCK)
        self.assertIn(8, {p // BLOCK for p in pids})
        self.assertEqual(self.cluster.znode_json("/latest_producer_id_block"),
                         {"version": 1, "broker": 0, "block_start": "8000", "block_end": "8999"})
        # without the znode (a new cluster), the next claim creates it with the first block
        self.cluster.kazoo().delete(self.cluster.chroot + "/latest_producer_id_block")
        got = init_producer_ids(port, BLOCK)
        self.assertTrue(all(e == 0 for e, _, _ in got), got[:3])
        self.assertIn(0, {p // BLOCK for _, p, _ in got})
        self.assertEqual(self.cluster.znode_json("/latest_producer_id_block"),
                         {"version": 1, "broker": 0, "block_start": "0", "block_end": "999"})

    def test_2_transactional_id_not_coordinated_here(self):
        # no __transaction_state (no FindCoordinator made it): no broker coordinates the id
        err, pid, epoch = init_producer_id(self.cluster.brokers[0].port, txn_id=b"my-txn")
        self.assertEqual((err, pid, epoch), (16, -1, -1))  # NOT_COORDINATOR

    def test_3_sequences_checked_and_survive_restarts(self):
        self._topic("idem-raw")
        (p,) = self.cluster.wait_leaders("idem-raw", 1)
        i = [n for n, b in enumerate(self.cluster.brokers) if b.id == p["leader"]][0]
        port = self.cluster.brokers[i].port
        err, pid, _ = init_producer_id(port)
        self.assertEqual(err, 0)
        first = idem_batch(pid, 0, 0, [b"a", b"b", b"c"])
        self.assertEqual(self._leading(port, first), (0, 0))
        # the same batch again (a retry): its original's offset, not appended
        self.assertEqual(produce(port, "idem-raw", first), (0, 0))
        self.assertEqual(produce(port, "idem-raw", first, acks=1), (0, 0))
        self.assertEqual(produce(port, "idem-raw", idem_batch(pid, 0, 3, [b"d"])), (0, 3))
        self.assertEqual(batches(self.cluster, "idem-raw"), [(pid, 0, 0, 3), (pid, 0, 3, 1)])
        # a gap, then an epoch bump from 0 and the older epoch after it
        self.assertEqual(produce(port, "idem-raw", idem_batch(pid, 0, 9, [b"x"])), (OUT_OF_ORDER_SEQUENCE_NUMBER, -1))
        bump = idem_batch(pid, 1, 0, [b"e"])
        self.assertEqual(produce(port, "idem-raw", bump), (0, 4))
        self.assertEqual(produce(port, "idem-raw", idem_batch(pid, 0, 4, [b"x"])), (INVALID_PRODUCER_EPOCH, -1))
        # two batches of a producer in one partition (Kafka takes one)
        two = idem_batch(pid, 1, 1, [b"x"]) + idem_batch(pid, 1, 2, [b"y"])
        self.assertEqual(produce(port, "idem-raw", two), (INVALID_RECORD, -1))
        self.assertEqual(len(batches(self.cluster, "idem-raw")), 3)
        # a clean restart: the close snapshot knows the retry
        self.cluster.restart(i)
        self.cluster.wait_leaders("idem-raw", 1)
        self.assertEqual(self._leading(port, bump), (0, 4))
        d = os.path.join(self.cluster.brokers[i].log_dirs, "idem-raw-0")
        self.assertIn("%020d.snapshot" % 5, os.listdir(d))
        nxt = idem_batch(pid, 1, 1, [b"f"])
        self.assertEqual(produce(port, "idem-raw", nxt), (0, 5))
        # kill -9: no snapshot covers offset 5, the log after the one at 5 is replayed
        self.cluster.restart(i, clean=False)
        self.cluster.wait_leaders("idem-raw", 1)
        self.assertEqual(self._leading(port, nxt), (0, 5))
        self.assertEqual(produce(port, "idem-raw", bump), (0, 4))  # the snapshot's batch, then the log's
        self.assertEqual(produce(port, "idem-raw", idem_batch(pid, 1, 3, [b"x"])), (OUT_OF_ORDER_SEQUENCE_NUMBER, -1))
        self.assertEqual([s for _, _, s, _ in batches(self.cluster, "idem-raw")], [0, 3, 0, 1])

    def _leading(self, port, records):
        """produce() once the broker leads idem-raw's partition (metadata may show it first)."""
        last = [None]

        def ok():
            last[0] = produce(port, "idem-raw", records)
            return last[0][0] != 6 and last[0]  # NOT_LEADER_OR_FOLLOWER: nothing appended
        return kbharness.wait_for(ok, 30, lambda: "a leader's answer (last %r)" % (last[0],))

    def _topic(self, name):
        a = AdminClient({"bootstrap.servers": self.bs})
        a.create_topics([NewTopic(name, 1, 1)], operation_timeout=10)[name].result(30)
        self.cluster.wait_leaders(name, 1)

    def test_kafkajs_idempotent_producer(self):
        # kafkajs 2.2 asked InitProducerId (v1) on connect; without it, KafkaJSServerDoesNotSupportApiKey
        self._topic("idem-js")
        self.assertEqual(kafkajs(self.bs, "idempotent", "idem-js", 3), {"offsets": ["0", "1", "2"]})
        bs = batches(self.cluster, "idem-js")
        self.assertEqual(len(bs), 3, bs)
        pids = {pid for pid, _, _, _ in bs}
        self.assertEqual(len(pids), 1, bs)
        self.assertGreaterEqual(pids.pop(), 0)  # an id, not the -1 of a plain producer
        self.assertEqual([(e, s, n) for _, e, s, n in bs], [(0, 0, 1), (0, 1, 1), (0, 2, 1)])

    def test_librdkafka_idempotent_producer(self):
        # librdkafka 2.0 asks InitProducerId v4 (flexible) before its first produce
        self._topic("idem-ck")
        lines = []

        class Keep(logging.Handler):
            def emit(self, rec):
                lines.append(rec.getMessage())

        log = logging.getLogger("idem-ck")
        log.addHandler(Keep())
        log.setLevel(logging.DEBUG)
        p = confluent_kafka.Producer({"bootstrap.servers": self.bs, "enable.idempotence": True,
                                      "linger.ms": 0, "debug": "protocol", "logger": log})
        failed = []

        def report(err, _msg):
            if err is not None:
                failed.append(err)
        for i in range(5):
            p.produce("idem-ck", value=b"v%d" % i, partition=0, on_delivery=report)
            p.flush(30)
        self.assertEqual(p.flush(30), 0)
        self.assertEqual(failed, [])
        versions = {int(v) for line in lines for v in re.findall(r"Sent InitProducerIdRequest \(v(\d+)", line)}
        self.assertEqual(versions, {4}, "InitProducerId versions librdkafka sent")
        bs = batches(self.cluster, "idem-ck")
        self.assertEqual(len(bs), 5, bs)
        self.assertEqual(len({pid for pid, _, _, _ in bs}), 1, bs)
        self.assertGreaterEqual(bs[0][0], 0)
        self.assertEqual([(e, s) for _, e, s, _ in bs], [(0, i) for i in range(5)])


if __name__ == "__main__":
    import unittest
    unittest.main()
