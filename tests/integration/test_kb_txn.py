"""The transaction coordinator (KIP-98) on 3 brokers, with confluent-kafka (librdkafka) and raw
requests: FindCoordinator for a transactional id creates __transaction_state (compacted, its
partition count and replication from the transaction.state.log.* settings) and names the leader
of the id's partition (Java's String.hashCode, as Kafka places it); InitProducerId gives a new
producer id with epoch 0, and the same id again the next epoch; AddPartitionsToTxn and EndTxn
check the producer id and epoch (an old epoch INVALID_PRODUCER_EPOCH before v2, PRODUCER_FENCED
from v2), EndTxn answers once PrepareCommit is replicated; a second librdkafka producer with the
same transactional.id fences the first (a fatal fenced error at its next transactional request);
a broker that is not the coordinator answers NOT_COORDINATOR; librdkafka's and kafkajs' commits
and aborts, of which a read_committed consumer sees the committed records only; the
coordinator's broker killed -9 mid-transaction and a new producer with the same id recovering;
a transaction open past its transaction.timeout.ms aborted by the coordinator; TxnOffsetCommit
(send_offsets_to_transaction) committing the group's offset with the transaction only, and
kept across the group coordinator's broker killed -9 before the commit (written at once as a
transactional batch, loaded pending by the new coordinator until the commit marker), and
refused with a consumer's group metadata a rebalance has made stale (TxnOffsetCommit v3,
KIP-447: ILLEGAL_GENERATION, the transaction aborted, nothing committed). The
consume-transform-produce loop killed at random points is tests/fault/test_kb_txn_eos.py."""
import logging
import os
import re
import struct
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kbharness  # noqa: E402
from samsatest.workdir import SharedFixtureTest  # noqa: E402
from test_kb_kafkajs import kafkajs  # noqa: E402

warnings.simplefilter("ignore")
import confluent_kafka  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

FIND_COORDINATOR = 10
INIT_PRODUCER_ID = 22
ADD_PARTITIONS = 24
END_TXN = 26
NOT_COORDINATOR = 16
INVALID_PRODUCER_EPOCH = 47
INVALID_PRODUCER_ID_MAPPING = 49
CONCURRENT_TRANSACTIONS = 51
PRODUCER_FENCED = 90
STATE_PARTS = 3


def java_hash(s):
    """Java's String.hashCode (over UTF-16 code units)."""
    b = s.encode("utf-16-be")
    h = 0
    for i in range(0, len(b), 2):
        h = (31 * h + int.from_bytes(b[i:i + 2], "big")) & 0xffffffff
    return h - (1 << 32) if h >= 1 << 31 else h


def state_partition(txn_id):
    h = java_hash(txn_id)
    return 0 if h == -(1 << 31) else abs(h) % STATE_PARTS


def call(port, key, ver, body):
    c = kbharness.KafkaRaw(port)
    try:
        c.request(key, ver, body)
        r = c.recv()
    finally:
        c.close()
    assert r is not None, "the broker closed the connection"
    return r[4:]  # after the correlation id


def find_txn_coordinator(port, txn_id):
    """FindCoordinator v1 for a transactional id: (error, node id)."""
    r = call(port, FIND_COORDINATOR, 1, kbharness.kstr(txn_id.encode()) + bytes([1]))
    _throttle, err = struct.unpack_from(">ih", r, 0)
    (ml,) = struct.unpack_from(">h", r, 6)
    (node,) = struct.unpack_from(">i", r, 8 + max(ml, 0))
    return err, node


def find_group_coordinator(port, group):
    """FindCoordinator v1 for a group (key_type 0): (error, node id)."""
    r = call(port, FIND_COORDINATOR, 1, kbharness.kstr(group.encode()) + bytes([0]))
    _throttle, err = struct.unpack_from(">ih", r, 0)
    (ml,) = struct.unpack_from(">h", r, 6)
    (node,) = struct.unpack_from(">i", r, 8 + max(ml, 0))
    return err, node


def init_pid(port, txn_id, timeout_ms=60000):
    r = call(port, INIT_PRODUCER_ID, 1, kbharness.kstr(txn_id.encode()) + struct.pack(">i", timeout_ms))
    _throttle, err, pid, epoch = struct.unpack(">ihqh", r)
    return err, pid, epoch


def add_partitions(port, ver, txn_id, pid, epoch, topic, parts):
    body = kbharness.kstr(txn_id.encode()) + struct.pack(">qh", pid, epoch) + struct.pack(">i", 1)
    body += kbharness.kstr(topic.encode()) + struct.pack(">i", len(parts))
    body += b"".join(struct.pack(">i", p) for p in parts)
    r = call(port, ADD_PARTITIONS, ver, body)
    errs = []
    pos = 4
    (nt,) = struct.unpack_from(">i", r, pos)
    pos += 4
    for _ in range(nt):
        (tl,) = struct.unpack_from(">h", r, pos)
        pos += 2 + tl
        (np,) = struct.unpack_from(">i", r, pos)
        pos += 4
        for _ in range(np):
            _idx, e = struct.unpack_from(">ih", r, pos)
            pos += 6
            errs.append(e)
    return errs


def end_txn(port, ver, txn_id, pid, epoch, commit):
    r = call(port, END_TXN, ver, kbharness.kstr(txn_id.encode()) + struct.pack(">qh?", pid, epoch, commit))
    return struct.unpack(">ih", r)[1]


class TxnCoordinatorTest(SharedFixtureTest):
    @classmethod
    def setUpClass(cls):
        fx = cls.fixture()
        cls.cluster = kbharness.Cluster(fx, brokers=3, broker_extra={
            "transaction.state.log.num.partitions": str(STATE_PARTS),
            "transaction.state.log.replication.factor": "3",
            "transaction.state.log.min.isr": "2",
            "offsets.topic.num.partitions": "3",
            "default.replication.factor": "3",
            # timed-out transactions looked for twice a second (Kafka: every 10 s)
            "transaction.abort.timed.out.transaction.cleanup.interval.ms": "500",
        })
        cls.cluster.wait_brokers()
        cls.bs = cls.cluster.bootstrap
        admin = AdminClient({"bootstrap.servers": cls.bs})
        for f in admin.create_topics([NewTopic("txt", 2, 3)]).values():
            f.result(30)
        cls.cluster.wait_leaders("txt", 2)
        fx.ready()

    def coordinator(self, txn_id):
        """The port of the coordinator of txn_id (FindCoordinator polled until the state topic
        exists and the id's partition has a leader)."""
        got = {}

        def ok():
            got["r"] = find_txn_coordinator(self.cluster.brokers[0].port, txn_id)
            return got["r"][0] == 0
        kbharness.wait_for(ok, 60, "a coordinator for %s: %s" % (txn_id, got))
        node = got["r"][1]
        (p,) = [p for p in self.cluster.wait_leaders("__transaction_state", STATE_PARTS)
                if p["partition"] == state_partition(txn_id)]
        self.assertEqual(node, p["leader"])  # the leader of the id's partition
        return [b.port for b in self.cluster.brokers if b.id == node][0]

    def init_ok(self, port, txn_id):
        got = {}

        def ok():
            got["r"] = init_pid(port, txn_id)
            return got["r"][0] == 0
        kbharness.wait_for(ok, 30, "InitProducerId of %s: %s" % (txn_id, got))
        return got["r"][1], got["r"][2]

    def test_0_state_topic_and_producer_ids(self):
        port = self.coordinator("raw-1")
        # the state topic as Kafka makes it
        parts = self.cluster.wait_leaders("__transaction_state", STATE_PARTS)
        self.assertEqual(len(parts), STATE_PARTS)
        self.assertTrue(all(len(p["replicas"]) == 3 for p in parts), parts)
        conf = self.cluster.znode_json("/config/topics/__transaction_state")["config"]
        self.assertEqual(conf.get("cleanup.policy"), "compact")
        self.assertEqual(conf.get("min.insync.replicas"), "2")
        pid, epoch = self.init_ok(port, "raw-1")
        self.assertEqual(epoch, 0)
        self.assertEqual(init_pid(port, "raw-1"), (0, pid, 1))  # the same id: the next epoch
        # a broker that is not the coordinator
        other = [b.port for b in self.cluster.brokers if b.port != port][0]
        self.assertEqual(init_pid(other, "raw-1")[0], NOT_COORDINATOR)
        # a timeout above transaction.max.timeout.ms
        self.assertEqual(init_pid(port, "raw-1", 900001)[0], 50)  # INVALID_TRANSACTION_TIMEOUT

    def test_1_add_partitions_and_end_check_the_producer(self):
        port = self.coordinator("raw-2")
        pid, epoch = self.init_ok(port, "raw-2")
        self.assertEqual(add_partitions(port, 0, "raw-2", pid, epoch, "txt", [0, 1]), [0, 0])
        # an unknown partition: that one refused, the other not attempted
        self.assertEqual(add_partitions(port, 0, "raw-2", pid, epoch, "txt", [0, 7]), [55, 3])
        self.assertEqual(add_partitions(port, 0, "raw-2", pid + 1, epoch, "txt", [0]), [INVALID_PRODUCER_ID_MAPPING])
        self.assertEqual(add_partitions(port, 0, "raw-2", pid, epoch - 1, "txt", [0]), [INVALID_PRODUCER_EPOCH])
        self.assertEqual(add_partitions(port, 2, "raw-2", pid, epoch - 1, "txt", [0]), [PRODUCER_FENCED])
        self.assertEqual(end_txn(port, 1, "raw-2", pid, epoch + 1, True), INVALID_PRODUCER_EPOCH)
        # the commit is answered once PrepareCommit is replicated; the markers follow
        self.assertEqual(end_txn(port, 0, "raw-2", pid, epoch, True), 0)
        # the other result while (or after) this one completes
        self.assertEqual(end_txn(port, 0, "raw-2", pid, epoch, False), 48)  # INVALID_TXN_STATE

    def test_2_second_producer_fences_the_first(self):
        conf = {"bootstrap.servers": self.bs, "transactional.id": "rdk-fence", "transaction.timeout.ms": 20000}
        p1 = confluent_kafka.Producer(conf)
        p1.init_transactions(60)
        p2 = confluent_kafka.Producer(conf)
        p2.init_transactions(60)  # bumps the epoch: p1 is a zombie now
        p1.begin_transaction()
        p1.produce("txt", b"from a zombie", partition=0)
        with self.assertRaises(confluent_kafka.KafkaException) as cm:
            p1.commit_transaction(30)
        err = cm.exception.args[0]
        self.assertTrue(err.fatal(), err)
        self.assertEqual(err.code(), confluent_kafka.KafkaError._FENCED, err)
        del p1
        del p2

    def read_committed(self, topic, n_parts, isolation="read_committed"):
        """Every value of topic a consumer with isolation reads from the start (until a poll
        brings nothing for 2 s after the end offsets were reached)."""
        c = confluent_kafka.Consumer({"bootstrap.servers": self.bs, "group.id": "rc-%s-%s" % (topic, isolation),
                                      "auto.offset.reset": "earliest", "enable.auto.commit": False,
                                      "isolation.level": isolation})
        try:
            c.assign([confluent_kafka.TopicPartition(topic, p, 0) for p in range(n_parts)])
            got = []
            idle = 0
            while idle < 4:
                m = c.poll(0.5)
                if m is None:
                    idle += 1
                    continue
                idle = 0
                if m.error():
                    continue
                got.append(m.value())
            return got
        finally:
            c.close()

    def test_3_commit_and_abort_seen_by_read_committed(self):
        admin = AdminClient({"bootstrap.servers": self.bs})
        for f in admin.create_topics([NewTopic("eos", 2, 3)]).values():
            f.result(30)
        self.cluster.wait_leaders("eos", 2)
        p = confluent_kafka.Producer({"bootstrap.servers": self.bs, "transactional.id": "rdk-eos",
                                      "transaction.timeout.ms": 20000})
        p.init_transactions(60)
        p.begin_transaction()
        for i in range(5):
            p.produce("eos", b"c1-%d" % i, partition=i % 2)
        p.commit_transaction(60)
        p.begin_transaction()
        for i in range(3):
            p.produce("eos", b"aborted-%d" % i, partition=i % 2)
        p.flush(30)
        p.abort_transaction(60)
        p.begin_transaction()
        for i in range(2):
            p.produce("eos", b"c2-%d" % i, partition=i % 2)
        p.commit_transaction(60)
        del p
        got = self.read_committed("eos", 2)
        self.assertEqual(sorted(got), sorted([b"c1-%d" % i for i in range(5)] + [b"c2-%d" % i for i in range(2)]))
        # read_uncommitted sees the aborted records too
        got = self.read_committed("eos", 2, "read_uncommitted")
        self.assertEqual(sum(1 for v in got if v.startswith(b"aborted-")), 3)

    def test_4_kafkajs_commit_and_abort(self):
        admin = AdminClient({"bootstrap.servers": self.bs})
        for f in admin.create_topics([NewTopic("eos-js", 1, 3)]).values():
            f.result(30)
        self.cluster.wait_leaders("eos-js", 1)
        self.assertEqual(kafkajs(self.bs, "txn", "eos-js", "js-txn"), {"done": True})
        got = self.read_committed("eos-js", 1)
        self.assertEqual(got, [b"txn-c1-%d" % i for i in range(3)] + [b"txn-c2-%d" % i for i in range(2)])

    def test_5_timed_out_transaction_aborted(self):
        admin = AdminClient({"bootstrap.servers": self.bs})
        for f in admin.create_topics([NewTopic("eos-to", 1, 3)]).values():
            f.result(30)
        self.cluster.wait_leaders("eos-to", 1)
        p = confluent_kafka.Producer({"bootstrap.servers": self.bs, "transactional.id": "rdk-timeout",
                                      "transaction.timeout.ms": 3000, "message.timeout.ms": 3000,
                                      "socket.timeout.ms": 2000})
        p.init_transactions(60)
        p.begin_transaction()
        p.produce("eos-to", b"never-committed", partition=0)
        p.flush(30)
        plain = confluent_kafka.Producer({"bootstrap.servers": self.bs})
        plain.produce("eos-to", b"after", partition=0)
        plain.flush(30)
        # the open transaction holds the LSO back until the coordinator aborts it at its timeout
        got = {}

        def aborted():
            got["v"] = self.read_committed("eos-to", 1)
            return got["v"] == [b"after"]
        kbharness.wait_for(aborted, 30, "the timed-out transaction aborted: %s" % got)
        # its producer was fenced by the abort's epoch bump
        with self.assertRaises(confluent_kafka.KafkaException):
            p.commit_transaction(30)
        del p

    def test_6_offsets_committed_with_the_transaction(self):
        # consume-transform-produce: the input's offsets go with the output's transaction
        admin = AdminClient({"bootstrap.servers": self.bs})
        for f in admin.create_topics([NewTopic("ctp-in", 1, 3), NewTopic("ctp-out", 1, 3)]).values():
            f.result(30)
        self.cluster.wait_leaders("ctp-in", 1)
        self.cluster.wait_leaders("ctp-out", 1)
        plain = confluent_kafka.Producer({"bootstrap.servers": self.bs})
        for i in range(8):
            plain.produce("ctp-in", b"in-%d" % i, partition=0)
        plain.flush(30)
        c = confluent_kafka.Consumer({"bootstrap.servers": self.bs, "group.id": "ctp-g",
                                      "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        c.assign([confluent_kafka.TopicPartition("ctp-in", 0, 0)])
        p = confluent_kafka.Producer({"bootstrap.servers": self.bs, "transactional.id": "rdk-ctp"})
        p.init_transactions(60)

        def committed():
            return c.committed([confluent_kafka.TopicPartition("ctp-in", 0)], 30)[0].offset

        def round(n, commit):
            p.begin_transaction()
            got = []
            while len(got) < n:
                m = c.poll(5)
                self.assertIsNotNone(m, "input")
                self.assertIsNone(m.error())
                got.append(m)
                p.produce("ctp-out", m.value().replace(b"in", b"out"), partition=0)
            p.send_offsets_to_transaction([confluent_kafka.TopicPartition("ctp-in", 0, got[-1].offset() + 1)],
                                          c.consumer_group_metadata(), 30)
            if commit:
                p.commit_transaction(60)
            else:
                p.abort_transaction(60)
        round(5, True)
        # visible once the commit marker reaches the group's offsets partition, just after
        # commit_transaction returns (Kafka's OffsetFetch answers UNSTABLE_OFFSET_COMMIT meanwhile)
        kbharness.wait_for(lambda: committed() == 5, 30, "the transaction's offsets committed")
        round(3, False)
        # a next transaction starts only once the abort completed (its markers written)
        p.begin_transaction()
        p.produce("ctp-out", b"unrelated", partition=0)
        p.commit_transaction(60)
        self.assertEqual(committed(), 5)  # the aborted transaction's offsets were dropped
        c.close()
        del p
        got = self.read_committed("ctp-out", 1)
        self.assertEqual(got, [b"out-%d" % i for i in range(5)] + [b"unrelated"])

    def test_7_stale_group_metadata_fenced(self):
        # KIP-447: send_offsets_to_transaction with a consumer's group metadata that a rebalance
        # has made stale (its generation gone) is refused; librdkafka sends TxnOffsetCommit v3
        # with the consumer's generation and member id once the broker offers it
        topic, group = "zmb-in", "zmb-g"
        admin = AdminClient({"bootstrap.servers": self.bs})
        for f in admin.create_topics([NewTopic(topic, 2, 3), NewTopic("zmb-out", 1, 3)]).values():
            f.result(30)
        self.cluster.wait_leaders(topic, 2)
        self.cluster.wait_leaders("zmb-out", 1)
        lines = []

        class Keep(logging.Handler):
            def emit(self, rec):
                lines.append(rec.getMessage())

        log = logging.getLogger("zmb-txn")
        log.addHandler(Keep())
        log.setLevel(logging.DEBUG)
        assigned = {"c1": 0, "c2": 0}

        def member(name):
            c = confluent_kafka.Consumer({"bootstrap.servers": self.bs, "group.id": group,
                                          "enable.auto.commit": False, "auto.offset.reset": "earliest"})
            c.subscribe([topic], on_assign=lambda _c, _parts: assigned.__setitem__(name, assigned[name] + 1))
            return c

        def polled(cs, cond):
            for c in cs:
                c.poll(0.1)
            return cond()
        c1 = member("c1")
        c2 = None
        p = confluent_kafka.Producer({"bootstrap.servers": self.bs, "transactional.id": "rdk-zombie",
                                      "debug": "eos,protocol", "logger": log})
        try:
            kbharness.wait_for(lambda: polled([c1], lambda: assigned["c1"] == 1), 60, "c1 in the group")
            stale = c1.consumer_group_metadata()
            # another member joins: the group's next generation, c1 assigned again in it
            c2 = member("c2")
            kbharness.wait_for(lambda: polled([c1, c2], lambda: assigned["c1"] == 2 and assigned["c2"] == 1), 60,
                               lambda: "the group's next generation: %s" % assigned)
            p.init_transactions(60)

            def committed():
                return c2.committed([confluent_kafka.TopicPartition(topic, 0)], 30)[0].offset
            # the zombie's offsets: refused, the transaction must be aborted, nothing committed
            p.begin_transaction()
            p.produce("zmb-out", b"zombie", partition=0)
            with self.assertRaises(confluent_kafka.KafkaException) as cm:
                p.send_offsets_to_transaction([confluent_kafka.TopicPartition(topic, 0, 5)], stale, 30)
            err = cm.exception.args[0]
            self.assertEqual(err.code(), confluent_kafka.KafkaError.ILLEGAL_GENERATION, err)
            self.assertTrue(err.txn_requires_abort(), err)
            p.abort_transaction(60)
            self.assertEqual(committed(), confluent_kafka.OFFSET_INVALID)
            # the same producer with the member's metadata of this generation commits
            p.begin_transaction()
            p.produce("zmb-out", b"live", partition=0)
            p.send_offsets_to_transaction([confluent_kafka.TopicPartition(topic, 0, 3)],
                                          c1.consumer_group_metadata(), 30)
            p.commit_transaction(60)
            kbharness.wait_for(lambda: committed() == 3, 30, "the live member's offset committed")
            p.poll(0)  # serves the log lines
            versions = {int(v) for line in lines for v in re.findall(r"Sent TxnOffsetCommitRequest \(v(\d+)", line)}
            self.assertEqual(versions, {3}, "TxnOffsetCommit versions librdkafka sent")
        finally:
            for c in (c1, c2):
                if c is not None:
                    c.close()
            del p

    def test_8_group_coordinator_killed_before_the_commit(self):
        # TxnOffsetCommit's offsets are written at once as the producer's transactional batch
        # to the group's __consumer_offsets partition: the group's coordinator killed -9 between
        # send_offsets_to_transaction and commit_transaction, the new one loads them pending
        # from the log and the commit marker makes them the group's committed offsets
        admin = AdminClient({"bootstrap.servers": self.bs})
        for f in admin.create_topics([NewTopic("txo-out", 1, 3)]).values():
            f.result(30)
        self.cluster.wait_leaders("txo-out", 1)
        txn_port = self.coordinator("rdk-txo")
        txn_node = [b.id for b in self.cluster.brokers if b.port == txn_port][0]
        # a group coordinated by another broker than the transaction's (that one stays up)
        group, node = None, None
        for k in range(50):
            got = {}

            def found():
                got["r"] = find_group_coordinator(self.cluster.brokers[0].port, "txo-g%d" % k)
                return got["r"][0] == 0
            kbharness.wait_for(found, 30, "the coordinator of txo-g%d: %s" % (k, got))
            if got["r"][1] != txn_node:
                group, node = "txo-g%d" % k, got["r"][1]
                break
        self.assertIsNotNone(group)
        i = [n for n, b in enumerate(self.cluster.brokers) if b.id == node][0]
        c = confluent_kafka.Consumer({"bootstrap.servers": self.bs, "group.id": group, "enable.auto.commit": False})
        p = confluent_kafka.Producer({"bootstrap.servers": self.bs, "transactional.id": "rdk-txo"})
        p.init_transactions(60)
        p.begin_transaction()
        for k in range(3):
            p.produce("txo-out", b"txo-%d" % k, partition=0)
        p.send_offsets_to_transaction([confluent_kafka.TopicPartition("txt", 0, 7)], c.consumer_group_metadata(), 30)
        self.cluster.kill9(i)
        try:
            p.commit_transaction(90)
            del p
            c.close()
            c = confluent_kafka.Consumer({"bootstrap.servers": ",".join(
                "127.0.0.1:%d" % b.port for n, b in enumerate(self.cluster.brokers) if n != i),
                "group.id": group, "enable.auto.commit": False})
            got = {}

            def committed():
                try:
                    got["o"] = c.committed([confluent_kafka.TopicPartition("txt", 0)], 10)[0].offset
                except confluent_kafka.KafkaException as e:
                    got["o"] = e
                return got["o"] == 7
            kbharness.wait_for(committed, 30, lambda: "the transaction's offset committed by the new coordinator: %s"
                               % got)
            c.close()
            self.assertEqual(self.read_committed("txo-out", 1), [b"txo-%d" % k for k in range(3)])
            # the batch opened the producer's transaction on the group's offsets partition and
            # the marker closed it: its last stable offset is its high watermark again
            live = ",".join("127.0.0.1:%d" % b.port for n, b in enumerate(self.cluster.brokers) if n != i)
            tp = confluent_kafka.TopicPartition("__consumer_offsets", state_partition(group))  # 3 partitions too
            ends = [confluent_kafka.Consumer({"bootstrap.servers": live, "group.id": "txo-lso",
                                              "isolation.level": iso}) for iso in ("read_committed", "read_uncommitted")]

            def stable():
                try:
                    got["ends"] = [e.get_watermark_offsets(tp, 10)[1] for e in ends]
                except confluent_kafka.KafkaException as e:
                    got["ends"] = e
                return isinstance(got["ends"], list) and got["ends"][0] == got["ends"][1]
            try:
                kbharness.wait_for(stable, 30, lambda: "the offsets partition's LSO at its high watermark: %s" % got)
            finally:
                for e in ends:
                    e.close()
        finally:
            self.cluster.start_broker(i).wait_ready()  # back for test_9
            self.cluster.wait_brokers()

    def test_9_coordinator_killed_mid_transaction(self):
        # last: a broker is killed. The producer's open transaction is left to the new
        # coordinator (which loads Ongoing from __transaction_state); a new producer with the same
        # transactional.id fences it, its transaction is aborted, and the new one commits.
        admin = AdminClient({"bootstrap.servers": self.bs})
        for f in admin.create_topics([NewTopic("eos-kill", 1, 3)]).values():
            f.result(30)
        self.cluster.wait_leaders("eos-kill", 1)
        port = self.coordinator("rdk-kill")
        conf = {"bootstrap.servers": self.bs, "transactional.id": "rdk-kill", "transaction.timeout.ms": 20000}
        p1 = confluent_kafka.Producer(conf)
        p1.init_transactions(60)
        p1.begin_transaction()
        for i in range(4):
            p1.produce("eos-kill", b"lost-%d" % i, partition=0)
        p1.flush(30)
        i = [n for n, b in enumerate(self.cluster.brokers) if b.port == port][0]
        self.cluster.kill9(i)
        p2 = confluent_kafka.Producer(dict(conf, **{"bootstrap.servers": ",".join(
            "127.0.0.1:%d" % b.port for n, b in enumerate(self.cluster.brokers) if n != i)}))
        p2.init_transactions(90)  # the new coordinator aborts p1's transaction first
        p2.begin_transaction()
        for k in range(3):
            p2.produce("eos-kill", b"kept-%d" % k, partition=0)
        p2.commit_transaction(60)
        del p2
        del p1
        got = self.read_committed("eos-kill", 1)
        self.assertEqual(got, [b"kept-%d" % k for k in range(3)])


if __name__ == "__main__":
    import unittest
    unittest.main()
