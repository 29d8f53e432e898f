"""The broker behaving as a Kafka 2.x broker does, checked with real clients: Kafka's persistent
znodes under the chroot (kazoo), the '.'/'_' topic-name collision rule (confluent-kafka,
kafka-python, kafka-topics), ListOffsets by timestamp inside and between batches
(confluent-kafka, kafka-python, raw ListOffsets v1), CreateTopics with -1 partitions and
replication factor in every version (raw requests v0-v4). The coordinator is samsa-coord, or the
real ZooKeeper 3.8 with SAMSA_ZK_TARGET=real."""
import os
import struct
import subprocess
import sys
import time
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kbharness  # noqa: E402

warnings.simplefilter("ignore")
import confluent_kafka  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic as CNewTopic  # noqa: E402
from kafka import KafkaConsumer, TopicPartition  # noqa: E402
from kafka.admin import KafkaAdminClient, NewTopic  # noqa: E402
from kafka.errors import InvalidTopicError  # noqa: E402
from kafka.record.default_records import DefaultRecordBatchBuilder  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BIN = os.path.join(ROOT, "deploy", "bin")
BUILD = os.path.dirname(os.path.dirname(os.path.abspath(os.environ["SAMSA_BROKER"])))

# Kafka 2.x's persistent paths (KafkaZkClient.createTopLevelPaths / ZkData.PersistentZkPaths)
PERSISTENT = ["/consumers", "/brokers/ids", "/brokers/topics", "/brokers/seqid", "/config/changes",
              "/config/topics", "/config/clients", "/config/users", "/config/brokers", "/admin/delete_topics",
              "/isr_change_notification", "/latest_producer_id_block", "/log_dir_event_notification"]


def tool(*args, ok=True, testcase=None):
    env = dict(os.environ, SAMSA_BUILD=BUILD)
    r = subprocess.run([os.path.join(BIN, args[0])] + list(args[1:]), capture_output=True, text=True,
                       timeout=60, env=env)
    if ok and testcase:
        testcase.assertEqual(r.returncode, 0, "%s failed:\n%s\n%s" % (args, r.stdout, r.stderr))
    return r


def batch(base_ts, deltas, tag):
    """One uncompressed v2 batch whose records have timestamps base_ts + each delta."""
    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False, producer_id=-1,
                                  producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
    for i, d in enumerate(deltas):
        b.append(i, timestamp=base_ts + d, key=None, value=b"%s-%d" % (tag, i), headers=[])
    return bytes(b.build())


def produce_v3(port, topic, part, records):
    k = kbharness.KafkaRaw(port)
    try:
        body = kbharness.kstr(None) + struct.pack(">hi", 1, 10000) + struct.pack(">i", 1) + kbharness.kstr(topic)
        body += struct.pack(">ii", 1, part) + struct.pack(">i", len(records)) + records
        k.request(0, 3, body)
        r = k.recv()
    finally:
        k.close()
    # v3: correlation id, [topics: name, [partition, error, base_offset, log_append_time]], throttle
    pos = 8
    (tl,) = struct.unpack_from(">h", r, pos)
    pos += 2 + tl + 4
    idx, err, base = struct.unpack_from(">ihq", r, pos)
    return err, base


def list_offsets_v1(port, topic, part, ts):
    """(error, timestamp, offset) of ListOffsets v1 for one partition."""
    k = kbharness.KafkaRaw(port)
    try:
        body = struct.pack(">i", -1) + struct.pack(">i", 1) + kbharness.kstr(topic) + struct.pack(">iiq", 1, part, ts)
        k.request(2, 1, body)
        r = k.recv()
    finally:
        k.close()
    pos = 4 + 4
    (tl,) = struct.unpack_from(">h", r, pos)
    pos += 2 + tl + 4
    _, err, rts, off = struct.unpack_from(">ihqq", r, pos)
    return err, rts, off


def create_topics_raw(port, version, name, nparts, rf, timeout_ms=10000):
    """(error, message) of one CreateTopics request of the given version."""
    k = kbharness.KafkaRaw(port)
    try:
        body = struct.pack(">i", 1) + kbharness.kstr(name) + struct.pack(">ih", nparts, rf)
        body += struct.pack(">i", 0) + struct.pack(">i", 0) + struct.pack(">i", timeout_ms)
        if version >= 1:
            body += b"\x00"
        k.request(19, version, body)
        r = k.recv()
    finally:
        k.close()
    pos = 4 + (4 if version >= 2 else 0)
    (n,) = struct.unpack_from(">i", r, pos)
    pos += 4
    (tl,) = struct.unpack_from(">h", r, pos)
    pos += 2 + tl
    (err,) = struct.unpack_from(">h", r, pos)
    pos += 2
    msg = None
    if version >= 1:
        (ml,) = struct.unpack_from(">h", r, pos)
        msg = r[pos + 2:pos + 2 + ml].decode() if ml >= 0 else None
    return err, msg


class ConformTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._cleanups_cls = []

        class Holder:
            def addCleanup(self, fn, *a):
                cls._cleanups_cls.append((fn, a))
        cls.cluster = kbharness.Cluster(Holder(), broker_extra={"num.partitions": "3",
                                                                "default.replication.factor": "1"})
        cls.bs = cls.cluster.bootstrap
        cls.port = cls.cluster.brokers[0].port

    @classmethod
    def tearDownClass(cls):
        for fn, a in reversed(cls._cleanups_cls):
            fn(*a)

    def wait_leaders(self, name, nparts=None):
        def ok():
            t = kbharness.metadata_v1(self.port, [name])[2][name]
            return t[0] == 0 and len(t[1]) > 0 and all(e == 0 and l >= 0 for _, e, l in t[1]) and t
        t = kbharness.wait_for(ok, what="leaders of %s" % name)
        if nparts is not None:
            self.assertEqual(len(t[1]), nparts)

    def test_persistent_znodes(self):
        from kazoo.client import KazooClient
        zk = KazooClient(hosts=self.cluster.zk.hosts)
        zk.start(15)
        self.addCleanup(zk.close)
        self.addCleanup(zk.stop)
        for p in PERSISTENT:
            st = zk.exists("/kafka" + p)
            self.assertIsNotNone(st, "/kafka%s missing" % p)
            self.assertEqual(st.ephemeralOwner, 0, p)
        # under the chroot only
        self.assertIsNone(zk.exists("/consumers"))
        self.assertIsNone(zk.exists("/brokers"))

    def test_topic_name_collision(self):
        a = AdminClient({"bootstrap.servers": self.bs})
        a.create_topics([CNewTopic("metric_name", 1, 1)])["metric_name"].result(15)
        f = a.create_topics([CNewTopic("metric.name", 1, 1)])["metric.name"]
        with self.assertRaises(confluent_kafka.KafkaException) as e:
            f.result(15)
        err = e.exception.args[0]
        self.assertEqual(err.code(), confluent_kafka.KafkaError.TOPIC_EXCEPTION)  # 17
        self.assertIn("Topic 'metric.name' collides with existing topics: metric_name", err.str())
        # kafka-python gets the same error code
        ka = KafkaAdminClient(bootstrap_servers=self.bs)
        try:
            with self.assertRaises(InvalidTopicError):
                ka.create_topics([NewTopic("metric.name", 1, 1)])
            # a name of its own, and the same name again, are not collisions
            ka.create_topics([NewTopic("metric.other", 1, 1)])
        finally:
            ka.close()
        md = kbharness.metadata_v1(self.port, ["metric.name"])[2]
        self.assertNotEqual(md["metric.name"][0], 0)  # never created
        # kafka-topics warns on '.' or '_' and reports the collision as Kafka's TopicCommand does
        r = tool("kafka-topics.sh", "--bootstrap-server", self.bs, "--create", "--topic", "cities_eu",
                 "--partitions", "1", "--replication-factor", "1", testcase=self)
        self.assertEqual(r.stdout,
                         "WARNING: Due to limitations in metric names, topics with a period ('.') or underscore "
                         "('_') could collide. To avoid issues it is best to use either, but not both.\n"
                         "Created topic cities_eu.\n")
        r = tool("kafka-topics", "--bootstrap-server", self.bs, "--create", "--topic", "cities.eu",
                 "--partitions", "1", "--replication-factor", "1", ok=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("WARNING: Due to limitations in metric names", r.stdout)
        self.assertIn("Topic 'cities.eu' collides with existing topics: cities_eu", r.stdout + r.stderr)
        r = tool("kafka-topics", "--bootstrap-server", self.bs, "--create", "--topic", "plain",
                 "--partitions", "1", "--replication-factor", "1", testcase=self)
        self.assertEqual(r.stdout, "Created topic plain.\n")
        # the same rule through the coordinator (--zookeeper)
        self.wait_leaders("cities_eu")
        r = tool("kafka-topics", "--zookeeper", self.cluster.zk_connect, "--create", "--topic", "cities.eu",
                 "--partitions", "1", "--replication-factor", "1", ok=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("Topic 'cities.eu' collides with existing topics: cities_eu", r.stdout + r.stderr)

    def test_list_offsets_by_time(self):
        a = AdminClient({"bootstrap.servers": self.bs})
        a.create_topics([CNewTopic("bytime", 1, 1)])["bytime"].result(15)
        self.wait_leaders("bytime")
        base = int(time.time() * 1000) - 1000000
        # batch 1: offsets 0-4 at base + 0, 10, 20, 30, 40; batch 2: offsets 5-7 at base + 100, 150, 160
        err, off = produce_v3(self.port, "bytime", 0, batch(base, [0, 10, 20, 30, 40], b"a"))
        self.assertEqual((err, off), (0, 0))
        err, off = produce_v3(self.port, "bytime", 0, batch(base + 100, [0, 50, 60], b"b"))
        self.assertEqual((err, off), (0, 5))
        cases = [  # asked -> (offset, the found record's timestamp)
            (base - 5, 0, base),  # before everything
            (base, 0, base),  # exactly the first record
            (base + 10, 1, base + 10),  # exactly a record inside the batch
            (base + 11, 2, base + 20),  # between two records of a batch
            (base + 39, 4, base + 40),  # the last record of the first batch
            (base + 41, 5, base + 100),  # between the batches
            (base + 120, 6, base + 150),  # inside the second batch
            (base + 160, 7, base + 160),  # the very last record
            (base + 161, -1, -1),  # after the last
        ]
        for ts, want_off, want_ts in cases:
            self.assertEqual(list_offsets_v1(self.port, "bytime", 0, ts), (0, want_ts, want_off), ts - base)
        c = confluent_kafka.Consumer({"bootstrap.servers": self.bs, "group.id": "unused"})
        try:
            for ts, want_off, _ in cases:
                r = c.offsets_for_times([confluent_kafka.TopicPartition("bytime", 0, ts)], timeout=10)
                self.assertEqual(r[0].offset, want_off, ts - base)
        finally:
            c.close()
        kc = KafkaConsumer(bootstrap_servers=self.bs)
        try:
            tp = TopicPartition("bytime", 0)
            for ts, want_off, want_ts in cases:
                got = kc.offsets_for_times({tp: ts})[tp]
                if want_off < 0:
                    self.assertIsNone(got, ts - base)
                else:
                    self.assertEqual((got.offset, got.timestamp), (want_off, want_ts), ts - base)
        finally:
            kc.close()

    def test_create_topics_minus_one_means_defaults(self):
        # every version: v0-v3 as well as v4 (kafkajs 2.x sends -1 in v3)
        for v in range(5):
            name = "dflt%d" % v
            err, msg = create_topics_raw(self.port, v, name, -1, -1)
            self.assertEqual(err, 0, "v%d: %s" % (v, msg))
            self.wait_leaders(name, 3)  # num.partitions=3
        err, _ = create_topics_raw(self.port, 3, "dfltrf", 2, -1)
        self.assertEqual(err, 0)
        self.wait_leaders("dfltrf", 2)
        # a real -2 is still refused
        err, msg = create_topics_raw(self.port, 3, "dfltbad", -2, 1)
        self.assertEqual(err, 37, msg)  # INVALID_PARTITIONS


if __name__ == "__main__":
    unittest.main()
