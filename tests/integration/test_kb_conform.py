"""The broker behaving as a Kafka 2.x broker does, checked with real clients: Kafka's persistent
znodes under the chroot (kazoo), the '.'/'_' topic-name collision rule (confluent-kafka,
kafka-python, kafka-topics), ListOffsets by timestamp inside and between batches
(confluent-kafka, kafka-python, raw ListOffsets v1), CreateTopics with -1 partitions and
replication factor in every version (raw requests v0-v4); AlterConfigs and
IncrementalAlterConfigs of topics and brokers (kafka-configs, confluent-kafka, kafka-python, raw
requests), stored in /config/topics|brokers with /config/changes notifications (kazoo) and
applied by every broker without a restart (old segments deleted under a shorter retention);
IncrementalAlterConfigs editing the set the znode holds, written conditionally on its version
(a change no broker was told of survives it, also through kafka-configs, as do two edits at once
through two brokers). The coordinator is samsa-coord, or the real ZooKeeper 3.8 with
SAMSA_ZK_TARGET=real."""
import json
import os
import struct
import subprocess
import sys
import time
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kbharness  # noqa: E402
from samsatest.workdir import SharedFixtureTest  # noqa: E402

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


class ConformTest(SharedFixtureTest):
    @classmethod
    def setUpClass(cls):
        fx = cls.fixture()
        cls.cluster = kbharness.Cluster(fx, broker_extra={"num.partitions": "3",
                                                           "default.replication.factor": "1"})
        cls.bs = cls.cluster.bootstrap
        cls.port = cls.cluster.brokers[0].port
        fx.ready()

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


def incremental_alter_v0(port, resources, validate_only=False):
    """IncrementalAlterConfigs v0: resources = [(type, name, [(key, op, value)])] ->
    [(error, message, type, name)]."""
    k = kbharness.KafkaRaw(port)
    try:
        k.request(44, 0, incremental_alter_v0_body(resources, validate_only))
        return incremental_alter_v0_answer(k.recv())
    finally:
        k.close()


def incremental_alter_v0_body(resources, validate_only=False):
    body = struct.pack(">i", len(resources))
    for ty, name, entries in resources:
        body += struct.pack(">b", ty) + kbharness.kstr(name) + struct.pack(">i", len(entries))
        for k, op, v in entries:
            body += kbharness.kstr(k) + struct.pack(">b", op) + kbharness.kstr(v)
    return body + (b"\x01" if validate_only else b"\x00")


def incremental_alter_v0_answer(r):
    pos = 8
    (n,) = struct.unpack_from(">i", r, pos)
    pos += 4
    out = []
    for _ in range(n):
        err, ml = struct.unpack_from(">hh", r, pos)
        pos += 4
        msg = r[pos:pos + ml].decode() if ml >= 0 else None
        pos += max(ml, 0)
        ty, nl = struct.unpack_from(">bh", r, pos)
        pos += 3
        out.append((err, msg, ty, r[pos:pos + nl].decode()))
        pos += nl
    return out


def api_versions(port):
    k = kbharness.KafkaRaw(port)
    try:
        k.request(18, 0, b"")
        r = k.recv()
    finally:
        k.close()
    err, n = struct.unpack_from(">hi", r, 4)
    return {key: (lo, hi) for key, lo, hi in (struct.unpack_from(">hhh", r, 10 + 6 * i) for i in range(n))}


def describe_v1(port, ty, name, key):
    """(value, source) of one config by DescribeConfigs v1 sent to this very broker, or (None, error)."""
    body = struct.pack(">i", 1) + struct.pack(">b", ty) + kbharness.kstr(name) + struct.pack(">i", 1)
    body += kbharness.kstr(key) + b"\x00"
    k = kbharness.KafkaRaw(port)
    try:
        k.request(32, 1, body)
        r = k.recv()
    finally:
        k.close()
    pos = 4 + 4 + 4
    err, ml = struct.unpack_from(">hh", r, pos)
    pos += 4 + max(ml, 0)
    _, nl = struct.unpack_from(">bh", r, pos)
    pos += 3 + nl
    (n,) = struct.unpack_from(">i", r, pos)
    pos += 4
    if err != 0 or n != 1:
        return None, err  # e.g. a topic not loaded yet
    (kl,) = struct.unpack_from(">h", r, pos)
    pos += 2 + kl
    (vl,) = struct.unpack_from(">h", r, pos)
    value = r[pos + 2:pos + 2 + vl].decode()
    pos += 2 + vl + 1
    (source,) = struct.unpack_from(">b", r, pos)
    return value, source


class DynamicConfigTest(SharedFixtureTest):
    """Two brokers; each leads one partition of the test topics (no followers yet), so a
    config change must reach both to take effect everywhere."""

    @classmethod
    def setUpClass(cls):
        fx = cls.fixture()
        cls.cluster = kbharness.Cluster(fx, brokers=2, broker_extra={
            "num.partitions": "2", "log.retention.check.interval.ms": "200"})
        cls.bs = cls.cluster.bootstrap
        from kazoo.client import KazooClient
        cls.zk = KazooClient(hosts=cls.cluster.zk.hosts)
        cls.zk.start(15)
        cls.addClassCleanup(cls.zk.close)
        cls.addClassCleanup(cls.zk.stop)
        fx.ready()

    def create_spread(self, name, config=None):
        """A topic of 2 partitions, partition p led by broker p, small segments."""
        conf = {"segment.bytes": "1024"}
        conf.update(config or {})
        ka = KafkaAdminClient(bootstrap_servers=self.bs)
        try:
            ka.create_topics([NewTopic(name, -1, -1, replica_assignments={0: [0], 1: [1]}, topic_configs=conf)])
        finally:
            ka.close()
        seen = {}

        def ok(port):
            t = kbharness.metadata_v1(port, [name])[2][name]
            seen[port] = t
            return t[0] == 0 and sorted((p, l) for p, e, l in t[1] if e == 0) == [(0, 0), (1, 1)]
        for b in self.cluster.brokers:  # as each broker itself sees it
            try:
                kbharness.wait_for(lambda: ok(b.port), what="leaders of %s on broker %d" % (name, b.id))
            except AssertionError as e:
                raise AssertionError("%s: it sees %r\n%s" % (e, seen.get(b.port), b.log_text()[-2000:]))

    def fill_old(self, name):
        """Records an hour old, enough for several segments in each partition; returns the
        segment count of each partition."""
        old = int(time.time() * 1000) - 3600 * 1000
        for b in self.cluster.brokers:
            p = b.id
            for i in range(12):
                err, _ = produce_v3(b.port, name, p, batch(old + i, [0, 1, 2, 3], b"x" * 60))
                self.assertEqual(err, 0)
        return [self.segments(name, p) for p in (0, 1)]

    def segments(self, name, p):
        d = os.path.join(self.cluster.brokers[p].log_dirs, "%s-%d" % (name, p))
        return len([f for f in os.listdir(d) if f.endswith(".log")])

    def earliest(self, name, p):
        return list_offsets_v1(self.cluster.brokers[p].port, name, p, -2)[2]

    def test_replica_placement_as_kafka(self):
        """CreateTopics without an assignment places replicas as Kafka's AdminUtils does; a
        CreatePartitions starts from partition 0's first replica (AdminZkClient), whichever
        broker answers."""
        a = AdminClient({"bootstrap.servers": self.bs})
        a.create_topics([CNewTopic("placed", 6, 2)])["placed"].result(15)
        parts = json.loads(self.zk.get("/kafka/brokers/topics/placed")[0])["partitions"]
        self.assertTrue(kbharness.is_kafka_placement([0, 1], parts, 2), parts)
        # partition 0 led by broker 1: Kafka's growth starts at broker 1's index for every start
        ka = KafkaAdminClient(bootstrap_servers=self.bs)
        try:
            ka.create_topics([NewTopic("grown", -1, -1, replica_assignments={0: [1, 0], 1: [1, 0]})])
        finally:
            ka.close()
        for b in self.cluster.brokers:  # whichever answers must know partition 0's replicas
            kbharness.wait_for(lambda: kbharness.metadata_v1(b.port, ["grown"])[2]["grown"][0] == 0,
                               what="grown in broker %d's metadata" % b.id)
        from confluent_kafka.admin import NewPartitions
        a.create_partitions([NewPartitions("grown", 5)])["grown"].result(15)
        parts = json.loads(self.zk.get("/kafka/brokers/topics/grown")[0])["partitions"]
        want = kbharness.kafka_placement([0, 1], 3, 2, 1, 1, first=2)
        self.assertEqual({p: parts[str(p)] for p in (2, 3, 4)}, want)
        self.assertEqual(want, {2: [1, 0], 3: [0, 1], 4: [1, 0]})

    def test_api_versions(self):
        v = api_versions(self.cluster.brokers[0].port)
        self.assertEqual(v[33], (0, 1))  # AlterConfigs
        self.assertEqual(v[44], (0, 0))  # IncrementalAlterConfigs (v1 is flexible)

    def test_kafka_configs_topic_retention_on_every_broker(self):
        self.create_spread("cfgret")
        counts = self.fill_old("cfgret")
        self.assertTrue(all(c >= 3 for c in counts), counts)
        # retention of an hour-old log: nothing goes under the default (7 days)
        r = tool("kafka-configs.sh", "--bootstrap-server", self.bs, "--entity-type", "topics", "--entity-name",
                 "cfgret", "--alter", "--add-config", "retention.ms=60000,flush.messages=100", testcase=self)
        self.assertEqual(r.stdout, "Completed updating config for topic cfgret.\n")
        # stored as Kafka stores it, with a change notification
        data, _ = self.zk.get("/kafka/config/topics/cfgret")
        self.assertEqual(json.loads(data), {"version": 1, "config": {"segment.bytes": "1024",
                                                                      "retention.ms": "60000",
                                                                      "flush.messages": "100"}})
        notes = [json.loads(self.zk.get("/kafka/config/changes/" + c)[0])
                 for c in sorted(self.zk.get_children("/kafka/config/changes"))]
        self.assertIn({"version": 2, "entity_path": "topics/cfgret"}, notes)
        self.assertTrue(all(c.startswith("config_change_") and len(c) == 24
                            for c in self.zk.get_children("/kafka/config/changes")))
        # both brokers delete every old segment but the active one, without a restart
        for p in (0, 1):
            kbharness.wait_for(lambda: self.segments("cfgret", p) == 1, what="old segments of cfgret-%d deleted" % p)
            d = os.path.join(self.cluster.brokers[p].log_dirs, "cfgret-%d" % p)
            (seg,) = [f for f in os.listdir(d) if f.endswith(".log")]
            self.assertGreater(int(seg[:20]), 0)
            self.assertEqual(self.earliest("cfgret", p), int(seg[:20]))  # the log start moved with it
        r = tool("kafka-configs", "--bootstrap-server", self.bs, "--entity-type", "topics", "--entity-name",
                 "cfgret", "--describe", testcase=self)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], "Dynamic configs for topic cfgret are:")
        self.assertIn("  retention.ms=60000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=60000, "
                      "DEFAULT_CONFIG:log.retention.ms=604800000}", lines)
        self.assertIn("  segment.bytes=1024 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:segment.bytes=1024, "
                      "DEFAULT_CONFIG:log.segment.bytes=1073741824}", lines)
        self.assertEqual(len(lines), 4)
        # without a name: every topic, sorted, each with its own dynamic configs
        r = tool("kafka-configs", "--bootstrap-server", self.bs, "--entity-type", "topics", "--describe",
                 testcase=self)
        self.assertIn("Dynamic configs for topic cfgret are:\n  ", r.stdout)
        # delete one, keep the others; deleting one that is not set is Kafka's error
        r = tool("kafka-configs", "--bootstrap-server", self.bs, "--entity-type", "topics", "--entity-name",
                 "cfgret", "--alter", "--delete-config", "flush.messages", testcase=self)
        data, _ = self.zk.get("/kafka/config/topics/cfgret")
        self.assertEqual(json.loads(data)["config"], {"segment.bytes": "1024", "retention.ms": "60000"})
        r = tool("kafka-configs", "--bootstrap-server", self.bs, "--entity-type", "topics", "--entity-name",
                 "cfgret", "--alter", "--delete-config", "flush.messages", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("Invalid config(s): flush.messages", r.stderr)
        # a bad value: INVALID_CONFIG with a message, nothing stored
        r = tool("kafka-configs", "--bootstrap-server", self.bs, "--entity-type", "topics", "--entity-name",
                 "cfgret", "--alter", "--add-config", "retention.ms=soon", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("InvalidConfigurationException: Invalid value soon for configuration retention.ms", r.stderr)
        self.assertEqual(json.loads(self.zk.get("/kafka/config/topics/cfgret")[0])["config"]["retention.ms"], "60000")
        # the other broker describes the same (it applied the notification)
        ca = AdminClient({"bootstrap.servers": self.cluster.brokers[1].bootstrap})
        from confluent_kafka.admin import ConfigResource
        cfg = list(ca.describe_configs([ConfigResource("topic", "cfgret")]).values())[0].result(10)
        self.assertEqual(cfg["retention.ms"].value, "60000")
        self.assertEqual(cfg["retention.ms"].source, confluent_kafka.admin.ConfigSource.DYNAMIC_TOPIC_CONFIG.value)
        self.assertEqual(cfg["retention.bytes"].source, confluent_kafka.admin.ConfigSource.DEFAULT_CONFIG.value)
        # Kafka's default of flush.messages (Long.MAX_VALUE) is a default, not a broker setting
        self.assertEqual(cfg["flush.messages"].value, "9223372036854775807")
        self.assertEqual(cfg["flush.messages"].source, confluent_kafka.admin.ConfigSource.DEFAULT_CONFIG.value)
        self.assertTrue(cfg["flush.messages"].is_default)

    def test_broker_default_retention_live(self):
        def reset():  # whatever happens, the other tests see no dynamic broker configs
            incremental_alter_v0(self.cluster.brokers[0].port, [(4, "", [("log.retention.ms", 1, None)])])
            incremental_alter_v0(self.cluster.brokers[1].port, [(4, "1", [("log.retention.ms", 1, None)])])
        self.addCleanup(reset)
        self.create_spread("brkret", {"segment.bytes": "1024"})
        self.fill_old("brkret")
        # the cluster-wide default for brokers (resource name ""): every topic without its own
        # retention.ms. kafka-configs cannot address it (librdkafka 2.0 needs a broker id), so
        # IncrementalAlterConfigs and kafka-python's AlterConfigs do.
        out = incremental_alter_v0(self.cluster.brokers[0].port, [(4, "", [("log.retention.ms", 0, "120000")])])
        self.assertEqual(out, [(0, None, 4, "")])
        self.assertEqual(json.loads(self.zk.get("/kafka/config/brokers/<default>")[0]),
                         {"version": 1, "config": {"log.retention.ms": "120000"}})
        for p in (0, 1):
            kbharness.wait_for(lambda: self.segments("brkret", p) == 1, what="old segments of brkret-%d deleted" % p)
        r = tool("kafka-configs", "--bootstrap-server", self.bs, "--entity-type", "brokers", "--entity-name", "0",
                 "--describe", testcase=self)
        self.assertEqual(r.stdout, "Dynamic configs for broker 0 are:\n")  # nothing of its own
        from kafka.admin import ConfigResource as KConfigResource, ConfigResourceType
        ka = KafkaAdminClient(bootstrap_servers=self.cluster.brokers[0].bootstrap)
        try:
            d = ka.describe_configs([KConfigResource(ConfigResourceType.BROKER, "0")], include_synonyms=True)
            entries = {e[0]: e for e in d[0].resources[0][4]}
            self.assertEqual(entries["log.retention.ms"][1], "120000")
            self.assertEqual(entries["log.retention.ms"][3], 3)  # DYNAMIC_DEFAULT_BROKER_CONFIG
            self.assertTrue(entries["num.partitions"][2])  # read-only: static here
        finally:
            ka.close()
        # per broker, over the default; the topic's DescribeConfigs follows
        r = tool("kafka-configs", "--bootstrap-server", self.bs, "--entity-type", "brokers", "--entity-name", "1",
                 "--alter", "--add-config", "log.retention.ms=300000", testcase=self)
        self.assertEqual(r.stdout, "Completed updating config for broker 1.\n")
        r = tool("kafka-configs", "--bootstrap-server", self.bs, "--entity-type", "brokers", "--entity-name", "1",
                 "--describe", testcase=self)
        self.assertEqual(r.stdout, "Dynamic configs for broker 1 are:\n"
                         "  log.retention.ms=300000 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:"
                         "log.retention.ms=300000, DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=120000, "
                         "DEFAULT_CONFIG:log.retention.ms=604800000}\n")
        for b, want in ((0, ("120000", 3)), (1, ("300000", 2))):  # each broker's own view
            kbharness.wait_for(lambda: describe_v1(self.cluster.brokers[b].port, 2, "brkret", "retention.ms") == want,
                               what="retention.ms %r on broker %d" % (want, b))
        # a restarted broker starts with them (read at start-up, no notification needed)
        b1 = self.cluster.brokers[1]
        b1.stop()
        b1.start().wait_ready()
        kbharness.wait_for(lambda: describe_v1(b1.port, 4, "1", "log.retention.ms") == ("300000", 2),
                           what="log.retention.ms of the restarted broker")
        kbharness.wait_for(lambda: describe_v1(b1.port, 2, "brkret", "retention.ms") == ("300000", 2),
                           what="brkret's retention.ms on the restarted broker")
        # describe without a name: every broker; --entity-default is refused with a reason
        r = tool("kafka-configs", "--bootstrap-server", self.bs, "--entity-type", "brokers", "--describe",
                 testcase=self)
        self.assertIn("Dynamic configs for broker 0 are:\nDynamic configs for broker 1 are:\n"
                      "  log.retention.ms=300000 sensitive=false", r.stdout)
        r = tool("kafka-configs", "--bootstrap-server", self.bs, "--entity-type", "brokers", "--entity-default",
                 "--describe", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("--entity-default is not supported", r.stderr)
        # a static broker config cannot be changed live; a bad value is refused
        r = tool("kafka-configs", "--bootstrap-server", self.bs, "--entity-type", "brokers", "--entity-name", "0",
                 "--alter", "--add-config", "num.partitions=5", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("Cannot update these configs dynamically: num.partitions", r.stderr)
        r = tool("kafka-configs", "--bootstrap-server", self.bs, "--entity-type", "brokers", "--entity-name", "0",
                 "--alter", "--add-config", "log.retention.ms=-7", ok=False)
        self.assertIn("Invalid value -7 for configuration log.retention.ms", r.stderr)
        # back to the static defaults: delete them
        tool("kafka-configs", "--bootstrap-server", self.bs, "--entity-type", "brokers", "--entity-name", "1",
             "--alter", "--delete-config", "log.retention.ms", testcase=self)
        out = incremental_alter_v0(self.cluster.brokers[0].port, [(4, "", [("log.retention.ms", 1, None)])])
        self.assertEqual(out, [(0, None, 4, "")])
        for b in (0, 1):
            kbharness.wait_for(lambda: describe_v1(self.cluster.brokers[b].port, 2, "brkret", "retention.ms") ==
                               ("604800000", 5), what="default retention again on broker %d" % b)

    def test_change_written_as_kafka_zk_tools_do(self):
        # Kafka 2.x's kafka-configs --zookeeper writes the znodes itself: the brokers follow it
        self.create_spread("zkwritten")
        self.fill_old("zkwritten")
        self.zk.set("/kafka/config/topics/zkwritten",
                    b'{"version":1,"config":{"segment.bytes":"1024","retention.ms":"60000"}}')
        self.zk.create("/kafka/config/changes/config_change_", b'{"version":2,"entity_path":"topics/zkwritten"}',
                       sequence=True)
        for p in (0, 1):
            kbharness.wait_for(lambda: describe_v1(self.cluster.brokers[p].port, 2, "zkwritten", "retention.ms") ==
                               ("60000", 1), what="retention.ms of zkwritten on broker %d" % p)
            kbharness.wait_for(lambda: self.segments("zkwritten", p) == 1, what="old segments of zkwritten-%d" % p)

    def test_python_clients_and_incremental(self):
        self.create_spread("cfgpy")
        from confluent_kafka.admin import ConfigResource
        ca = AdminClient({"bootstrap.servers": self.bs})
        # confluent-kafka: validate_only changes nothing; a real alter replaces the whole set
        f = ca.alter_configs([ConfigResource("topic", "cfgpy", set_config={"retention.ms": "5000"})],
                             validate_only=True)
        list(f.values())[0].result(10)
        self.assertEqual(json.loads(self.zk.get("/kafka/config/topics/cfgpy")[0])["config"], {"segment.bytes": "1024"})
        f = ca.alter_configs([ConfigResource("topic", "cfgpy", set_config={"retention.ms": "5000"})])
        list(f.values())[0].result(10)
        self.assertEqual(json.loads(self.zk.get("/kafka/config/topics/cfgpy")[0])["config"], {"retention.ms": "5000"})
        # unclean.leader.election.enable is a topic config too (true/false; the controller reads it)
        f = ca.alter_configs([ConfigResource("topic", "cfgpy", set_config={
            "retention.ms": "5000", "unclean.leader.election.enable": "true"})])
        list(f.values())[0].result(10)
        self.assertEqual(json.loads(self.zk.get("/kafka/config/topics/cfgpy")[0])["config"],
                         {"retention.ms": "5000", "unclean.leader.election.enable": "true"})
        f = ca.alter_configs([ConfigResource("topic", "cfgpy", set_config={"unclean.leader.election.enable": "maybe"})])
        with self.assertRaises(confluent_kafka.KafkaException) as e:
            list(f.values())[0].result(10)
        self.assertEqual(e.exception.args[0].code(), confluent_kafka.KafkaError.INVALID_CONFIG)
        f = ca.alter_configs([ConfigResource("topic", "cfgpy", set_config={"retention.ms": "x"})])
        with self.assertRaises(confluent_kafka.KafkaException) as e:
            list(f.values())[0].result(10)
        self.assertEqual(e.exception.args[0].code(), confluent_kafka.KafkaError.INVALID_CONFIG)
        self.assertIn("Invalid value x for configuration retention.ms", e.exception.args[0].str())
        f = ca.alter_configs([ConfigResource("topic", "nope", set_config={"retention.ms": "1"})])
        with self.assertRaises(confluent_kafka.KafkaException) as e:
            list(f.values())[0].result(10)
        self.assertEqual(e.exception.args[0].code(), confluent_kafka.KafkaError.UNKNOWN_TOPIC_OR_PART)
        # kafka-python (AlterConfigs v0/v1)
        from kafka.admin import ConfigResource as KConfigResource, ConfigResourceType
        ka = KafkaAdminClient(bootstrap_servers=self.bs)
        try:
            r = ka.alter_configs([KConfigResource(ConfigResourceType.TOPIC, "cfgpy",
                                                  configs={"retention.ms": "7000", "max.message.bytes": "2000"})])
            self.assertEqual([x[0] for x in r.resources], [0])
            def described():  # by whichever broker kafka-python asks: it may apply the change later
                d = ka.describe_configs([KConfigResource(ConfigResourceType.TOPIC, "cfgpy")])
                entries = {e[0]: e[1] for e in d[0].resources[0][4]}
                return entries["retention.ms"] == "7000" and entries["max.message.bytes"] == "2000"
            kbharness.wait_for(described, what="kafka-python describing the new values")
            r = ka.alter_configs([KConfigResource(ConfigResourceType.TOPIC, "cfgpy", configs={"no.such": "1"})])
            self.assertEqual(r.resources[0][0], 40)  # INVALID_CONFIG
            self.assertIn("no.such", r.resources[0][1])
        finally:
            ka.close()
        # IncrementalAlterConfigs v0: SET and DELETE edit the current set, as the coordinator
        # holds it (whether or not the receiving broker has applied kafka-python's change yet)
        port = self.cluster.brokers[0].port
        out = incremental_alter_v0(port, [(2, "cfgpy", [("retention.ms", 0, "9000"), ("max.message.bytes", 1, None)])])
        self.assertEqual(out, [(0, None, 2, "cfgpy")])
        self.assertEqual(json.loads(self.zk.get("/kafka/config/topics/cfgpy")[0])["config"], {"retention.ms": "9000"})
        out = incremental_alter_v0(port, [(2, "cfgpy", [("segment.ms", 0, "0")])], validate_only=True)
        self.assertEqual(out[0][0], 40)
        self.assertIn("segment.ms", out[0][1])
        out = incremental_alter_v0(port, [(2, "cfgpy", [("retention.ms", 2, "1")]),
                                          (4, "", [("log.retention.bytes", 0, "1000000000")])], validate_only=True)
        self.assertEqual(out[0][0], 42)  # APPEND to a non-list config: INVALID_REQUEST
        self.assertEqual(out[1], (0, None, 4, ""))
        self.assertFalse(self.zk.exists("/kafka/config/brokers/<default>") and
                         "log.retention.bytes" in self.zk.get("/kafka/config/brokers/<default>")[0].decode())
        out = incremental_alter_v0(port, [(4, "7", [("log.retention.ms", 0, "1")])])
        self.assertEqual(out[0][0], 42)
        self.assertIn("Unexpected broker id", out[0][1])
        self.assertEqual(json.loads(self.zk.get("/kafka/config/topics/cfgpy")[0])["config"], {"retention.ms": "9000"})

    def test_incremental_edits_the_coordinators_set(self):
        """IncrementalAlterConfigs edits the entity's config as its znode holds it, as Kafka's
        AdminZkClient fetches it first, not as the receiving broker last applied it: a change
        it has not seen (written here without a /config/changes notification, so no broker
        learns of it; as another broker's write not yet applied) survives, and validate_only
        judges it too."""
        self.create_spread("cfgzk")
        b0, b1 = self.cluster.brokers
        self.zk.set("/kafka/config/topics/cfgzk",
                    b'{"version":1,"config":{"segment.bytes":"1024","retention.ms":"60000"}}')
        # neither broker knows: retention.ms is still the default in their views
        self.assertEqual(describe_v1(b0.port, 2, "cfgzk", "retention.ms"), ("604800000", 5))
        self.assertEqual(describe_v1(b1.port, 2, "cfgzk", "retention.ms"), ("604800000", 5))
        out = incremental_alter_v0(b0.port, [(2, "cfgzk", [("max.message.bytes", 0, "3000")])])
        self.assertEqual(out, [(0, None, 2, "cfgzk")])
        self.assertEqual(json.loads(self.zk.get("/kafka/config/topics/cfgzk")[0]),
                         {"version": 1, "config": {"segment.bytes": "1024", "retention.ms": "60000",
                                                   "max.message.bytes": "3000"}})
        for b in (b0, b1):  # the notification of the write brings the whole set to both
            for key, want in (("retention.ms", "60000"), ("max.message.bytes", "3000")):
                kbharness.wait_for(lambda: describe_v1(b.port, 2, "cfgzk", key) == (want, 1),
                                   what="%s=%s on broker %d" % (key, want, b.id))
        # a bad value only the coordinator holds: validate_only refuses the set it would make
        self.zk.set("/kafka/config/topics/cfgzk", b'{"version":1,"config":{"retention.ms":"soon"}}')
        out = incremental_alter_v0(b0.port, [(2, "cfgzk", [("flush.messages", 0, "5")])], validate_only=True)
        self.assertEqual(out[0][0], 40)  # INVALID_CONFIG
        self.assertIn("Invalid value soon for configuration retention.ms", out[0][1])
        # a DELETE of a key only the coordinator holds, and a SET of another: both edit its set
        out = incremental_alter_v0(b1.port, [(2, "cfgzk", [("retention.ms", 1, None), ("flush.messages", 0, "5")])])
        self.assertEqual(out, [(0, None, 2, "cfgzk")])
        self.assertEqual(json.loads(self.zk.get("/kafka/config/topics/cfgzk")[0])["config"], {"flush.messages": "5"})

    def test_kafka_configs_alters_incrementally(self):
        """kafka-configs --alter of a topic sends IncrementalAlterConfigs, as Kafka 2.7's
        ConfigCommand does: a key written to the znode without a notification (no broker's view
        knows it, so the describe-then-AlterConfigs of the whole set would drop it) is kept by
        --add-config, and --delete-config removes the key it names and only that one."""
        self.create_spread("cfgtool")
        b0, b1 = self.cluster.brokers
        self.zk.set("/kafka/config/topics/cfgtool",
                    b'{"version":1,"config":{"segment.bytes":"1024","retention.ms":"60000"}}')
        for b in (b0, b1):  # neither broker knows
            self.assertEqual(describe_v1(b.port, 2, "cfgtool", "retention.ms"), ("604800000", 5))
        r = tool("kafka-configs", "--bootstrap-server", self.bs, "--entity-type", "topics", "--entity-name",
                 "cfgtool", "--alter", "--add-config", "max.message.bytes=3000", testcase=self)
        self.assertEqual(r.stdout, "Completed updating config for topic cfgtool.\n")
        self.assertEqual(json.loads(self.zk.get("/kafka/config/topics/cfgtool")[0]),
                         {"version": 1, "config": {"segment.bytes": "1024", "retention.ms": "60000",
                                                   "max.message.bytes": "3000"}})
        # the write's notification brings the set to both brokers, so the delete's describe
        # (whichever broker answers it) finds the key set
        for b in (b0, b1):
            kbharness.wait_for(lambda: describe_v1(b.port, 2, "cfgtool", "max.message.bytes") == ("3000", 1),
                               what="max.message.bytes=3000 on broker %d" % b.id)
        # another key no broker is told of, then a delete of one key: the other keys stay
        self.zk.set("/kafka/config/topics/cfgtool",
                    b'{"version":1,"config":{"segment.bytes":"1024","retention.ms":"60000",'
                    b'"max.message.bytes":"3000","flush.messages":"100"}}')
        r = tool("kafka-configs", "--bootstrap-server", self.bs, "--entity-type", "topics", "--entity-name",
                 "cfgtool", "--alter", "--delete-config", "max.message.bytes", testcase=self)
        self.assertEqual(r.stdout, "Completed updating config for topic cfgtool.\n")
        self.assertEqual(json.loads(self.zk.get("/kafka/config/topics/cfgtool")[0])["config"],
                         {"segment.bytes": "1024", "retention.ms": "60000", "flush.messages": "100"})

    def test_incremental_edits_through_two_brokers_both_survive(self):
        """Two IncrementalAlterConfigs of one topic at once through different brokers, each
        setting its own key: each broker writes conditionally on the version it read and reads
        again when the other wrote first, so both keys are in the result every time."""
        self.create_spread("cfgrace")
        b0, b1 = self.cluster.brokers
        for i in range(10):
            k0, k1 = kbharness.KafkaRaw(b0.port), kbharness.KafkaRaw(b1.port)
            try:
                k0.request(44, 0, incremental_alter_v0_body([(2, "cfgrace", [("retention.ms", 0, str(60000 + i))])]))
                k1.request(44, 0, incremental_alter_v0_body([(2, "cfgrace", [("flush.messages", 0, str(100 + i))])]))
                self.assertEqual(incremental_alter_v0_answer(k0.recv()), [(0, None, 2, "cfgrace")])
                self.assertEqual(incremental_alter_v0_answer(k1.recv()), [(0, None, 2, "cfgrace")])
            finally:
                k0.close()
                k1.close()
            self.assertEqual(json.loads(self.zk.get("/kafka/config/topics/cfgrace")[0])["config"],
                             {"segment.bytes": "1024", "retention.ms": str(60000 + i), "flush.messages": str(100 + i)},
                             "round %d" % i)


if __name__ == "__main__":
    unittest.main()
