"""The broker with kafkajs 2.2.4 (npm, pinned in tests/package.json, installed into tests/node_modules
by deploy/install-deps): the admin client's createTopics (as its documentation shows it, with
no partition count or replication factor: kafkajs sends -1 in CreateTopics v3), listTopics,
fetchTopicMetadata, alterConfigs, describeConfigs and deleteTopics; its producer with keys, headers and GZIP, read back with
confluent-kafka and kafka-python. (kafkajs's consumer needs consumer groups.) The coordinator
is samsa-coord, or the real ZooKeeper 3.8 with SAMSA_ZK_TARGET=real."""
import json
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
import confluent_kafka  # noqa: E402
from kafka import KafkaConsumer, TopicPartition  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "kafkajs_client.js")
MODULES = os.path.join(HERE, "..", "node_modules", "kafkajs")


def kafkajs(bootstrap, *args, ok=True):
    node = shutil.which("node") or shutil.which("nodejs")
    if not node or not os.path.isdir(MODULES):
        raise AssertionError("node or tests/node_modules/kafkajs is missing: run deploy/install-deps "
                             "(it runs npm ci in tests/)")
    r = subprocess.run([node, SCRIPT, bootstrap] + [str(a) for a in args], capture_output=True, text=True,
                       timeout=120)
    lines = r.stdout.strip().splitlines()
    if not lines:
        raise AssertionError("kafkajs %s printed nothing (exit %d):\n%s" % (args, r.returncode, r.stderr))
    out = json.loads(lines[-1])
    if ok and r.returncode != 0:
        raise AssertionError("kafkajs %s failed: %r\n%s" % (args, out, r.stderr))
    return out


class KafkajsTest(SharedFixtureTest):
    @classmethod
    def setUpClass(cls):
        fx = cls.fixture()
        cls.cluster = kbharness.Cluster(fx, broker_extra={"num.partitions": "3",
                                                           "default.replication.factor": "1"})
        cls.bs = cls.cluster.bootstrap
        cls.port = cls.cluster.brokers[0].port
        fx.ready()

    def test_admin(self):
        # kafkajs's documented call: only the topic name (-1/-1 on the wire -> the broker's defaults)
        self.assertEqual(kafkajs(self.bs, "create", "js-default"), {"created": True})
        self.assertEqual(kafkajs(self.bs, "create", "js-two", 2), {"created": True})
        self.assertEqual(kafkajs(self.bs, "create", "js-two", 2), {"created": False})  # already there
        md = kafkajs(self.bs, "metadata", "js-default")
        (t,) = md["topics"]
        self.assertEqual(t["name"], "js-default")
        self.assertEqual(sorted(p["partitionId"] for p in t["partitions"]), [0, 1, 2])  # num.partitions=3
        for p in t["partitions"]:
            self.assertEqual((p["leader"], p["replicas"], p["isr"], p["partitionErrorCode"]), (0, [0], [0], 0))
        (t,) = kafkajs(self.bs, "metadata", "js-two")["topics"]
        self.assertEqual(len(t["partitions"]), 2)
        topics = kafkajs(self.bs, "list")["topics"]
        self.assertIn("js-default", topics)
        self.assertIn("js-two", topics)
        self.assertEqual(kafkajs(self.bs, "delete", "js-two"), {"deleted": "js-two"})
        kbharness.wait_for(lambda: "js-two" not in kafkajs(self.bs, "list")["topics"], what="js-two gone")
        kbharness.wait_for(lambda: not os.path.exists(os.path.join(self.cluster.brokers[0].log_dirs, "js-two-0")),
                           what="js-two-0 removed from disk")
        # topic configs: alterConfigs replaces the topic's overrides, describeConfigs shows them
        self.assertEqual(kafkajs(self.bs, "alter", "js-default", "retention.ms=3600000,max.message.bytes=5000"),
                         {"altered": "js-default"})
        d = kafkajs(self.bs, "describe", "js-default")
        self.assertEqual(d["retention.ms"], {"value": "3600000", "source": 1, "isDefault": False})
        self.assertEqual(d["max.message.bytes"]["value"], "5000")
        self.assertEqual(d["segment.bytes"]["source"], 5)  # DEFAULT_CONFIG
        out = kafkajs(self.bs, "alter", "js-default", "retention.ms=soon", ok=False)
        self.assertEqual(out["type"], "INVALID_CONFIG", out)
        # errors come back as kafkajs's own error types
        out = kafkajs(self.bs, "create", "bad/name", ok=False)
        self.assertEqual(out["type"], "INVALID_TOPIC_EXCEPTION", out)
        out = kafkajs(self.bs, "delete", "never-was", ok=False)  # retried by kafkajs, then given up
        self.assertEqual(out["message"], "This server does not host this topic-partition", out)

    def test_producer_keys_headers_gzip(self):
        self.assertEqual(kafkajs(self.bs, "create", "js-prod", 1), {"created": True})
        r = kafkajs(self.bs, "produce", "js-prod", 50)
        self.assertEqual(r, [{"partition": 0, "errorCode": 0, "baseOffset": "0"}])
        r = kafkajs(self.bs, "produce", "js-prod", 5)
        self.assertEqual(r, [{"partition": 0, "errorCode": 0, "baseOffset": "50"}])
        # the batches are stored GZIP-compressed, as sent
        c = confluent_kafka.Consumer({"bootstrap.servers": self.bs, "group.id": "unused",
                                      "enable.auto.commit": False})
        try:
            c.assign([confluent_kafka.TopicPartition("js-prod", 0, 0)])
            got = []
            deadline_polls = 200
            while len(got) < 55 and deadline_polls:
                deadline_polls -= 1
                m = c.poll(0.2)
                if m is None:
                    continue
                self.assertIsNone(m.error())
                got.append(m)
        finally:
            c.close()
        want = [("key-%d" % i, "value-%d" % i) for i in range(50)] + [("key-%d" % i, "value-%d" % i) for i in range(5)]
        self.assertEqual([(m.key().decode(), m.value().decode()) for m in got], want)
        self.assertEqual([m.offset() for m in got], list(range(55)))
        self.assertEqual(got[7].headers(), [("trace-id", b"t7"), ("origin", b"kafkajs")])
        kc = KafkaConsumer(bootstrap_servers=self.bs, auto_offset_reset="earliest")
        try:
            kc.assign([TopicPartition("js-prod", 0)])
            msgs = kbharness.read_records(kc, len(want))
        finally:
            kc.close()
        self.assertEqual([(m.key, m.value) for m in msgs], [(k.encode(), v.encode()) for k, v in want])
        self.assertEqual(dict(msgs[3].headers), {"trace-id": b"t3", "origin": b"kafkajs"})
        # gzip on disk: the batch's attributes say codec 1
        seg = os.path.join(self.cluster.brokers[0].log_dirs, "js-prod-0", "00000000000000000000.log")
        with open(seg, "rb") as f:
            head = f.read(23)
        self.assertEqual(int.from_bytes(head[21:23], "big") & 7, 1)


if __name__ == "__main__":
    unittest.main()
