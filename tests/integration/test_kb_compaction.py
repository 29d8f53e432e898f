"""Log compaction with real clients: kafka-python creates topics with cleanup.policy=compact and
compact,delete (and a bad policy is refused with INVALID_CONFIG), produces keyed records and
tombstones, and after the broker's cleaner ran (its cleaner-offset-checkpoint names the
partition) reads back exactly the last value of every key, tombstoned keys gone, offsets
increasing with the gaps the cleaner left; the same after a restart, and with kcat. A topic
switched to compact by AlterConfigs is cleaned too, and segment.ms rolls a quiet topic's active
segment so that it gets cleaned."""
import os
import shutil
import subprocess
import sys
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kbharness  # noqa: E402
from samsatest.workdir import SharedFixtureTest  # noqa: E402

warnings.simplefilter("ignore")
from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic  # noqa: E402
from kafka.errors import InvalidConfigurationError  # noqa: E402

NKEYS = 40
ROUNDS = 25


def checkpoint(c, topic, part=0):
    """The cleaner's checkpoint of topic-part from the broker's cleaner-offset-checkpoint, or -1."""
    path = os.path.join(c.brokers[0].log_dirs, "cleaner-offset-checkpoint")
    try:
        with open(path) as f:
            lines = f.read().split("\n")
    except FileNotFoundError:
        return -1
    assert lines[0] == "0", lines
    for line in lines[2:]:
        f = line.split(" ")
        if len(f) == 3 and f[0] == topic and int(f[1]) == part:
            return int(f[2])
    return -1


def read_all(bs, topic):
    c = KafkaConsumer(bootstrap_servers=bs, auto_offset_reset="earliest", consumer_timeout_ms=3000,
                      enable_auto_commit=False)
    tp = TopicPartition(topic, 0)
    c.assign([tp])
    end = c.end_offsets([tp])[tp]
    out = []
    for m in c:
        out.append((m.offset, m.key, m.value))
        if m.offset >= end - 1:
            break
    c.close()
    return out, end


class CompactionTest(SharedFixtureTest):
    @classmethod
    def setUpClass(cls):
        fx = cls.fixture()
        cls.cluster = kbharness.Cluster(fx, broker_extra={
            "log.cleaner.backoff.ms": "100",
            "log.retention.check.interval.ms": "100",
        })
        cls.bs = cls.cluster.bootstrap
        fx.ready()

    def produce(self, topic, tombstones=()):
        """ROUNDS rounds over NKEYS keys, then tombstones; returns the expected last value per key."""
        p = KafkaProducer(bootstrap_servers=self.bs, acks=1, linger_ms=5, batch_size=2048)
        last = {}
        for r in range(ROUNDS):
            for k in range(NKEYS):
                key = b"key-%d" % k
                val = b"round-%d-of-%d" % (r, k)
                p.send(topic, key=key, value=val)
                last[key] = val
        for k in tombstones:
            p.send(topic, key=b"key-%d" % k, value=None)
            last.pop(b"key-%d" % k)
        # a few more writes so that the tombstones are in a rolled segment
        for i in range(200):
            p.send(topic, key=b"filler-%d" % (i % 5), value=b"x" * 40)
            last[b"filler-%d" % (i % 5)] = b"x" * 40
        p.flush()
        p.close()
        return last

    def check_compacted(self, topic, last, produced):
        recs, end = read_all(self.bs, topic)
        self.assertEqual(end, produced)
        offs = [o for o, _, _ in recs]
        self.assertEqual(offs, sorted(set(offs)), "offsets must increase")
        got = {}
        for _, k, v in recs:
            if v is None:
                got.pop(k, None)
            else:
                got[k] = v
        self.assertEqual(got, last)
        ck = checkpoint(self.cluster, topic)
        cleaned = [(o, k, v) for o, k, v in recs if o < ck]
        keys = [k for _, k, _ in cleaned]
        self.assertEqual(len(keys), len(set(keys)), "a key twice in the cleaned part")
        self.assertLess(len(recs), produced // 3)
        return recs

    def test_compact_keeps_last_value_per_key(self):
        a = KafkaAdminClient(bootstrap_servers=self.bs)
        a.create_topics([NewTopic("kv", 1, 1, topic_configs={
            "cleanup.policy": "compact", "segment.bytes": "4096", "min.cleanable.dirty.ratio": "0.01",
            "delete.retention.ms": "0"})])
        with self.assertRaises(InvalidConfigurationError):
            a.create_topics([NewTopic("bogus", 1, 1, topic_configs={"cleanup.policy": "shred"})])
        a.close()
        kbharness.wait_for(lambda: kbharness.metadata_v1(self.cluster.brokers[0].port, ["kv"])[2]["kv"][1][0][1] == 0,
                           what="a leader for kv")
        tomb = (3, 7, 11)
        last = self.produce("kv", tombstones=tomb)
        produced = ROUNDS * NKEYS + len(tomb) + 200
        # the cleaner runs until everything up to the active segment is cleaned
        d = os.path.join(self.cluster.brokers[0].log_dirs, "kv-0")

        def active_base():
            return max(int(f[:20]) for f in os.listdir(d) if f.endswith(".log"))
        kbharness.wait_for(lambda: checkpoint(self.cluster, "kv") == active_base(), timeout=60,
                           what="kv-0 cleaned up to its active segment")
        recs = self.check_compacted("kv", last, produced)
        for k in tomb:
            self.assertNotIn(b"key-%d" % k, [key for o, key, _ in recs if o < checkpoint(self.cluster, "kv")])
        self.assertIn("cleaned offsets up to", self.cluster.brokers[0].log_text())
        # no leftovers of the swap
        self.assertFalse([f for f in os.listdir(d) if f.endswith((".cleaned", ".swap"))])
        # a restart reads the same
        self.cluster.restart(0)
        self.cluster.wait_leaders("kv", 1)
        after, _ = read_all(self.bs, "kv")
        self.assertEqual(after, recs)
        # kcat (librdkafka) reads it too
        kcat = shutil.which("kcat") or shutil.which("kafkacat")
        if kcat:
            out = subprocess.run([kcat, "-b", self.bs, "-C", "-t", "kv", "-o", "beginning", "-e", "-q",
                                  "-f", "%o %k %s\\n"], capture_output=True, timeout=30, check=True).stdout
            lines = [ln.split(b" ", 2) for ln in out.strip().split(b"\n")]
            self.assertEqual([int(x[0]) for x in lines], [o for o, _, _ in recs])

    def test_alter_to_compact_delete(self):
        a = KafkaAdminClient(bootstrap_servers=self.bs)
        a.create_topics([NewTopic("was-delete", 1, 1, topic_configs={"segment.bytes": "4096"})])
        kbharness.wait_for(lambda: kbharness.metadata_v1(self.cluster.brokers[0].port,
                                                         ["was-delete"])[2]["was-delete"][1][0][1] == 0,
                           what="a leader for was-delete")
        last = self.produce("was-delete")
        produced = ROUNDS * NKEYS + 200
        self.assertEqual(checkpoint(self.cluster, "was-delete"), -1)
        a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "was-delete", configs={
            "cleanup.policy": "compact,delete", "segment.bytes": "4096", "min.cleanable.dirty.ratio": "0.01"})])
        r = a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "was-delete", configs={
            "min.cleanable.dirty.ratio": "1.5"})])
        self.assertEqual([(e, msg) for e, msg, _, _ in r.resources],
                         [(InvalidConfigurationError.errno,
                           "Invalid value 1.5 for configuration min.cleanable.dirty.ratio")])
        a.close()
        kbharness.wait_for(lambda: checkpoint(self.cluster, "was-delete") > 0, timeout=60,
                           what="was-delete-0 cleaned")
        self.check_compacted("was-delete", last, produced)

    def test_segment_ms_rolls_a_quiet_topic_for_the_cleaner(self):
        a = KafkaAdminClient(bootstrap_servers=self.bs)
        a.create_topics([NewTopic("quiet", 1, 1, topic_configs={
            "cleanup.policy": "compact", "segment.ms": "300", "min.cleanable.dirty.ratio": "0.01"})])
        a.close()
        kbharness.wait_for(lambda: kbharness.metadata_v1(self.cluster.brokers[0].port, ["quiet"])[2]["quiet"][1][0][1] == 0,
                           what="a leader for quiet")
        p = KafkaProducer(bootstrap_servers=self.bs, acks=1)
        for i in range(30):
            p.send("quiet", key=b"only", value=b"v%d" % i)
        p.flush()
        p.close()
        # one segment of 1 GiB would never roll by size: segment.ms rolls it, the cleaner cleans it
        kbharness.wait_for(lambda: checkpoint(self.cluster, "quiet") >= 30, timeout=60, what="quiet-0 cleaned")
        recs, end = read_all(self.bs, "quiet")
        self.assertEqual(end, 30)
        self.assertEqual(recs, [(29, b"only", b"v29")])


if __name__ == "__main__":
    unittest.main()
