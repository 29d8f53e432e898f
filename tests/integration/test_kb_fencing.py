#!/usr/bin/env python3
"""A paused leader is fenced: three brokers, a partition with replication factor 3 and
min.insync.replicas=2 led by a broker that is not the controller. The leader is stopped with
SIGSTOP; the controller stops hearing its heartbeats on the control plane and elects the next
in-sync replica; an acks=all Produce that reaches the old leader (a client with old metadata,
sent while it is paused and read once it runs again) is never acknowledged — its followers fetch
from the new leader and its ISR write fails on the state znode's version — and the record is not
in the log a consumer reads; the old leader then follows, truncates what it alone had, and its
log ends up identical to the new leader's. Produced and read with confluent-kafka, the stale
Produce with raw bytes (Produce v3), the states with kazoo."""
import json
import os
import struct
import sys
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kbharness  # noqa: E402
from samsatest.kb import KafkaRaw, kstr  # noqa: E402
from samsatest.wait import wait_for  # noqa: E402

warnings.simplefilter("ignore")
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from kafka.admin import KafkaAdminClient, NewTopic  # noqa: E402
from kafka.record.default_records import DefaultRecordBatchBuilder  # noqa: E402
from kazoo.client import KazooClient  # noqa: E402
from kazoo.exceptions import NoNodeError  # noqa: E402


def batch(values):
    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False, producer_id=-1,
                                  producer_epoch=-1, base_sequence=-1, batch_size=1 << 24)
    for i, v in enumerate(values):
        b.append(i, timestamp=1700000000000 + i, key=None, value=v, headers=[])
    return bytes(b.build())


def produce_v3(topic, partition, records, acks, timeout_ms):
    return (kstr(None) + struct.pack(">hi", acks, timeout_ms) + struct.pack(">i", 1) + kstr(topic) +
            struct.pack(">i", 1) + struct.pack(">i", partition) + struct.pack(">i", len(records)) + records)


def produce_error(resp):
    pos = 4 + 4  # topics count, then the name
    (tl,) = struct.unpack_from(">h", resp, pos)
    pos += 2 + tl + 4
    _, err = struct.unpack_from(">ih", resp, pos)
    return err


class FencingTest(unittest.TestCase):
    def setUp(self):
        self.cluster = kbharness.Cluster(self, brokers=3)
        self.zk = KazooClient(hosts=self.cluster.zk_connect)
        self.zk.start(15)
        self.addCleanup(self.zk.close)
        self.addCleanup(self.zk.stop)

    def state(self):
        try:
            return json.loads(self.zk.get("/brokers/topics/f/partitions/0/state")[0])
        except NoNodeError:
            return None

    def controller(self):
        try:
            return json.loads(self.zk.get("/controller")[0])["brokerid"]
        except NoNodeError:
            return None

    def read_all(self, bootstrap, n_min):
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": "fence", "enable.auto.commit": False})
        try:
            c.assign([TopicPartition("f", 0, 0)])
            got = []

            def more():
                m = c.poll(0.2)
                if m is not None and not m.error():
                    got.append(m.value())
                return len(got) >= n_min and c.poll(0.5) is None
            wait_for(more, 60, lambda: "%d records (have %d)" % (n_min, len(got)), interval=0)
            return got
        finally:
            c.close()

    def test_paused_leader_cannot_acknowledge(self):
        ctrl = wait_for(lambda: self.controller() is not None and [self.controller()], 30, "a controller")[0]
        leader = (ctrl + 1) % 3
        reps = [leader] + [i for i in range(3) if i != leader]
        ka = KafkaAdminClient(bootstrap_servers=self.cluster.bootstrap)
        try:
            ka.create_topics([NewTopic("f", num_partitions=-1, replication_factor=-1,
                                       replica_assignments={0: reps},
                                       topic_configs={"min.insync.replicas": "2"})])
        finally:
            ka.close()
        wait_for(lambda: (self.state() or {}).get("leader") == leader and len(self.state()["isr"]) == 3, 60,
                 "f-0 led by %d with a full ISR" % leader)
        p = Producer({"bootstrap.servers": self.cluster.bootstrap, "acks": "all"})
        for i in range(10):
            p.produce("f", b"before-%d" % i, partition=0)
        self.assertEqual(p.flush(30), 0)
        old = self.cluster.brokers[leader]
        epoch = self.state()["leader_epoch"]
        # a client connected to the leader before the pause; its Produce waits in the socket
        k = KafkaRaw(old.port, timeout=30)
        self.addCleanup(k.close)
        old.pause()
        self.addCleanup(old.resume)
        k.request(0, 3, produce_v3("f", 0, batch([b"fenced-record"]), -1, 3000))
        # the controller misses its heartbeats and elects the next in-sync replica
        s = wait_for(lambda: (self.state() or {}).get("leader") not in (None, leader) and self.state(), 30,
                     "a new leader of f-0")
        self.assertGreater(s["leader_epoch"], epoch)
        self.assertNotIn(leader, s["isr"])
        # and both survivors took the new epoch: until then their fetches parked in the paused
        # leader's purgatory are still of its epoch, and once it runs they would fetch the stale
        # record and acknowledge it truthfully (all three had it; seen once in CI), which is
        # Kafka's behaviour too but not the fencing this test is about
        for b in self.cluster.brokers:
            if b.id != leader:
                wait_for(lambda b=b: "f-0 (broker %d): epoch %d:" % (b.id, s["leader_epoch"]) in b.log_text(), 30,
                         "broker %d to take epoch %d of f-0" % (b.id, s["leader_epoch"]))
        old.resume()
        r = k.recv()
        self.assertIsNotNone(r, "the old leader answers the stale Produce")
        err = produce_error(r)
        self.assertNotEqual(err, 0, "a paused, replaced leader acknowledged an acks=all write")
        self.assertIn(err, (6, 7, 19, 20))  # NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS(_AFTER_APPEND)
        new = self.cluster.brokers[s["leader"]]
        got = self.read_all(new.bootstrap, 10)
        self.assertEqual(got, [b"before-%d" % i for i in range(10)])
        # the old leader follows now: back in the ISR, its log the same as the new leader's
        wait_for(lambda: leader in (self.state() or {}).get("isr", []), 60, "the old leader back in the ISR")
        for b in self.cluster.brokers:
            seg = os.path.join(b.log_dirs, "f-0", "00000000000000000000.log")
            with open(seg, "rb") as f:
                self.assertNotIn(b"fenced-record", f.read(), "broker %d keeps the fenced record" % b.id)


if __name__ == "__main__":
    unittest.main()
