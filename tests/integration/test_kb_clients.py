"""The broker with real Kafka clients: kcat (librdkafka), kafka-python and confluent-kafka.
Metadata, produce and consume (from the beginning, by offset, by partition), keys, headers,
every compression codec, acks=0/1/all, admin requests (create, delete, grow, describe configs),
ListOffsets (earliest, latest, by time), long-polling fetch and Kafka's error codes. The
coordinator is samsa-coord, or the real ZooKeeper 3.8 with SAMSA_ZK_TARGET=real."""
import os
import subprocess
import sys
import threading
import time
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kbharness  # noqa: E402
from samsatest.workdir import SharedFixtureTest  # noqa: E402

warnings.simplefilter("ignore")
import confluent_kafka  # noqa: E402
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic as CNewTopic  # noqa: E402
from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import KafkaAdminClient, NewTopic  # noqa: E402
from kafka.errors import InvalidTopicError, TopicAlreadyExistsError, InvalidReplicationFactorError  # noqa: E402


def kcat(*args, stdin=None, timeout=30):
    r = subprocess.run(["kcat"] + list(args), input=stdin, capture_output=True, timeout=timeout)
    return r


def consume_all(bootstrap, topic, partitions, expect, timeout=15):
    c = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": "unused",
                                  "enable.auto.commit": False})
    try:
        c.assign([confluent_kafka.TopicPartition(topic, p, 0) for p in partitions])
        out = []
        deadline = time.time() + timeout
        while len(out) < expect and time.time() < deadline:
            m = c.poll(0.2)
            if m is None:
                continue
            if m.error():
                raise AssertionError("consume error: %s" % m.error())
            out.append(m)
        return out
    finally:
        c.close()


class BrokerClientsTest(SharedFixtureTest):
    @classmethod
    def setUpClass(cls):
        fx = cls.fixture()
        cls.cluster = kbharness.Cluster(fx, broker_extra={"num.partitions": "2"})
        cls.bs = cls.cluster.bootstrap
        fx.ready()

    def create(self, name, parts=1, config=None):
        a = AdminClient({"bootstrap.servers": self.bs})
        fs = a.create_topics([CNewTopic(name, parts, 1, config=config or {})], operation_timeout=10)
        fs[name].result(15)
        kbharness.wait_for(lambda: all(e == 0 and l >= 0 for _, e, l in
                                       kbharness.metadata_v1(self.cluster.brokers[0].port, [name])[2][name][1]),
                           what="leaders of %s" % name)

    def test_kcat_metadata_produce_consume(self):
        self.create("kc", 2)
        r = kcat("-b", self.bs, "-L")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        self.assertIn("1 brokers:", out)
        self.assertIn("broker 0 at 127.0.0.1:%d (controller)" % self.cluster.brokers[0].port, out)
        self.assertIn('topic "kc" with 2 partitions:', out)
        self.assertIn("partition 0, leader 0, replicas: 0, isrs: 0", out)
        lines = "".join("line%d\n" % i for i in range(50)).encode()
        r = kcat("-b", self.bs, "-P", "-t", "kc", "-p", "0", stdin=lines)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = kcat("-b", self.bs, "-C", "-t", "kc", "-p", "0", "-o", "beginning", "-e", "-f", "%o %s\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        got = r.stdout.decode().splitlines()
        self.assertEqual(got, ["%d line%d" % (i, i) for i in range(50)])
        # by offset, and a keyed produce with -K
        r = kcat("-b", self.bs, "-C", "-t", "kc", "-p", "0", "-o", "45", "-e", "-f", "%o %s\n")
        self.assertEqual(r.stdout.decode().splitlines(), ["%d line%d" % (i, i) for i in range(45, 50)])
        r = kcat("-b", self.bs, "-P", "-t", "kc", "-p", "1", "-K", ":", stdin=b"a:1\nb:2\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = kcat("-b", self.bs, "-C", "-t", "kc", "-p", "1", "-o", "beginning", "-e", "-f", "%k=%s\n")
        self.assertEqual(r.stdout.decode().splitlines(), ["a=1", "b=2"])
        # an offset past the end: kcat asks ListOffsets and reports the range
        r = kcat("-b", self.bs, "-Q", "-t", "kc:0:-1")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_every_codec_keys_headers_python_clients(self):
        self.create("codecs", 1)
        sent = []
        for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
            p = confluent_kafka.Producer({"bootstrap.servers": self.bs, "compression.codec": codec,
                                          "linger.ms": 5})
            for i in range(20):
                k, v = ("%s-k%d" % (codec, i)).encode(), ("%s-v%d" % (codec, i)).encode() * 10
                p.produce("codecs", key=k, value=v, headers=[("codec", codec.encode()), ("i", str(i).encode())])
                sent.append((k, v))
            self.assertEqual(p.flush(15), 0)
        # kafka-python reads them all (it decompresses each codec itself)
        c = KafkaConsumer(bootstrap_servers=self.bs, auto_offset_reset="earliest")
        c.assign([TopicPartition("codecs", 0)])
        got = [(m.key, m.value, dict(m.headers)) for m in kbharness.read_records(c, len(sent))]
        c.close()
        self.assertEqual([(k, v) for k, v, _ in got], sent)
        self.assertEqual(got[30][2], {"codec": b"gzip", "i": b"10"})
        # and kafka-python produces with its codecs; confluent-kafka reads them back
        sent2 = []
        for codec in (None, "gzip", "snappy", "lz4"):
            p = KafkaProducer(bootstrap_servers=self.bs, compression_type=codec, acks=1)
            for i in range(10):
                v = ("kp-%s-%d" % (codec, i)).encode()
                p.send("codecs", key=b"k", value=v, headers=[("x", b"y")])
                sent2.append(v)
            p.flush()
            p.close()
        msgs = consume_all(self.bs, "codecs", [0], len(sent) + len(sent2))
        self.assertEqual([m.value() for m in msgs[len(sent):]], sent2)
        self.assertEqual(msgs[-1].headers(), [("x", b"y")])
        self.assertEqual([m.offset() for m in msgs], list(range(len(msgs))))

    def test_acks_0_1_all(self):
        self.create("acks", 1)
        for acks in ("0", "1", "all"):
            p = confluent_kafka.Producer({"bootstrap.servers": self.bs, "acks": acks})
            delivered = []
            for i in range(100):
                p.produce("acks", value=b"%s-%d" % (acks.encode(), i),
                          on_delivery=lambda err, m: delivered.append(err))
            self.assertEqual(p.flush(15), 0)
            self.assertEqual(delivered, [None] * 100)
        msgs = consume_all(self.bs, "acks", [0], 300)
        self.assertEqual(len(msgs), 300)
        self.assertEqual(msgs[0].value(), b"0-0")
        self.assertEqual(msgs[299].value(), b"all-99")

    def test_admin_create_errors_delete_grow_configs(self):
        a = KafkaAdminClient(bootstrap_servers=self.bs)
        a.create_topics([NewTopic("adm", 1, 1, topic_configs={"retention.ms": "3600000"})])
        with self.assertRaises(TopicAlreadyExistsError):
            a.create_topics([NewTopic("adm", 1, 1)])
        with self.assertRaises(InvalidTopicError):
            a.create_topics([NewTopic("bad/name", 1, 1)])
        with self.assertRaises(InvalidReplicationFactorError):
            a.create_topics([NewTopic("rf3", 1, 3)])
        a.close()
        ca = AdminClient({"bootstrap.servers": self.bs})
        # bad config value
        f = ca.create_topics([CNewTopic("badconf", 1, 1, config={"retention.ms": "soon"})])["badconf"]
        with self.assertRaises(confluent_kafka.KafkaException) as e:
            f.result(10)
        self.assertIn("retention.ms", str(e.exception))
        # describe configs shows the override
        from confluent_kafka.admin import ConfigResource
        res = ca.describe_configs([ConfigResource("topic", "adm")])
        cfg = list(res.values())[0].result(10)
        self.assertEqual(cfg["retention.ms"].value, "3600000")
        self.assertFalse(cfg["retention.ms"].is_default)
        self.assertTrue(cfg["segment.bytes"].is_default)
        # grow to 3 partitions
        ca.create_partitions([NewPartitions("adm", 3)])["adm"].result(15)
        md = kbharness.wait_for(lambda: len(kbharness.metadata_v1(self.cluster.brokers[0].port, ["adm"])[2]["adm"][1]) == 3,
                                what="3 partitions")
        self.assertTrue(md)
        f = ca.create_partitions([NewPartitions("adm", 2)])["adm"]
        with self.assertRaises(confluent_kafka.KafkaException):
            f.result(10)
        self.assertTrue(os.path.isdir(os.path.join(self.cluster.brokers[0].log_dirs, "adm-2")))
        # delete: gone from metadata and from disk
        ca.delete_topics(["adm"], operation_timeout=10)["adm"].result(15)
        kbharness.wait_for(lambda: not os.path.exists(os.path.join(self.cluster.brokers[0].log_dirs, "adm-0")),
                           what="adm-0 removed")
        _, _, t = kbharness.metadata_v1(self.cluster.brokers[0].port, ["adm"])
        self.assertNotEqual(t["adm"][0], 0)
        f = ca.delete_topics(["never-was"], operation_timeout=10)["never-was"]
        with self.assertRaises(confluent_kafka.KafkaException) as e:
            f.result(10)
        self.assertEqual(e.exception.args[0].code(), confluent_kafka.KafkaError.UNKNOWN_TOPIC_OR_PART)

    def test_list_offsets_and_by_time(self):
        self.create("times", 1)
        p = confluent_kafka.Producer({"bootstrap.servers": self.bs, "linger.ms": 0})
        base = int(time.time() * 1000) - 100000
        for i in range(10):
            p.produce("times", value=b"t%d" % i, timestamp=base + i * 1000)
            p.flush(10)
        c = confluent_kafka.Consumer({"bootstrap.servers": self.bs, "group.id": "unused"})
        lo, hi = c.get_watermark_offsets(confluent_kafka.TopicPartition("times", 0), timeout=10)
        self.assertEqual((lo, hi), (0, 10))
        r = c.offsets_for_times([confluent_kafka.TopicPartition("times", 0, base + 4500)], timeout=10)
        self.assertEqual(r[0].offset, 5)
        r = c.offsets_for_times([confluent_kafka.TopicPartition("times", 0, base + 999999)], timeout=10)
        self.assertEqual(r[0].offset, -1)
        c.close()
        # kafka-python uses ListOffsets too
        kc = KafkaConsumer(bootstrap_servers=self.bs)
        tp = TopicPartition("times", 0)
        self.assertEqual(kc.beginning_offsets([tp])[tp], 0)
        self.assertEqual(kc.end_offsets([tp])[tp], 10)
        self.assertEqual(kc.offsets_for_times({tp: base + 2000})[tp].offset, 2)
        kc.close()

    def test_long_poll_fetch_and_auto_create(self):
        # auto-create on metadata for an unknown topic (kafka-python asks with allow_auto_topic_creation)
        p = KafkaProducer(bootstrap_servers=self.bs)
        p.send("autocreated", b"first").get(timeout=20)
        p.close()
        _, _, t = kbharness.metadata_v1(self.cluster.brokers[0].port, ["autocreated"])
        self.assertEqual(len(t["autocreated"][1]), 2)  # num.partitions=2
        # a consumer parked in a long-poll fetch at the end of the log is answered by the
        # append, long before its max wait (kafka-python, no consumer group)
        self.create("lp", 1)
        c = KafkaConsumer(bootstrap_servers=self.bs, fetch_max_wait_ms=20000, consumer_timeout_ms=25000,
                          auto_offset_reset="earliest")
        c.assign([TopicPartition("lp", 0)])
        self.assertEqual(c.poll(timeout_ms=500), {})

        def produce_later():
            time.sleep(1.0)
            p = confluent_kafka.Producer({"bootstrap.servers": self.bs})
            p.produce("lp", b"wake")
            p.flush(10)
        th = threading.Thread(target=produce_later)
        t0 = time.time()
        th.start()
        m = next(iter(c))
        waited = time.time() - t0
        th.join()
        c.close()
        self.assertEqual(m.value, b"wake")
        self.assertLess(waited, 15.0)


if __name__ == "__main__":
    unittest.main()
