#!/usr/bin/env python3
"""Replication against real daemons: one coordinator and three brokers, a topic of one partition
with replication factor 3 (assignment [0, 1, 2], min.insync.replicas=2). confluent-kafka produces
60 records with acks=all; a consumer reads all 60 from the leader; every follower's partition
directory holds the same log; after kill -9 of the leader (by pid) the controller elects the next
ISR member and a consumer still reads all 60 from it; restarted, the old leader catches up and
rejoins the ISR. With both followers dead the ISR shrinks to
the leader alone and an acks=all produce is refused with NOT_ENOUGH_REPLICAS; with both followers
paused (still in the ISR) it is answered REQUEST_TIMED_OUT at the request's timeout."""
import json
import os
import sys
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kbharness  # noqa: E402
from samsatest.wait import wait_for  # noqa: E402

warnings.simplefilter("ignore")
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient  # noqa: E402
from kafka.admin import KafkaAdminClient, NewTopic  # noqa: E402
from kazoo.client import KazooClient  # noqa: E402

N = 60


class ReplicationTest(unittest.TestCase):
    def setUp(self):
        self.cluster = kbharness.Cluster(self, brokers=3)
        self.zk = KazooClient(hosts=self.cluster.zk_connect)
        self.zk.start(15)
        self.addCleanup(self.zk.close)
        self.addCleanup(self.zk.stop)

    def create(self, name):
        ka = KafkaAdminClient(bootstrap_servers=self.cluster.bootstrap)
        try:
            ka.create_topics([NewTopic(name, num_partitions=-1, replication_factor=-1,
                                       replica_assignments={0: [0, 1, 2]},
                                       topic_configs={"min.insync.replicas": "2"})])
        finally:
            ka.close()

    def state(self, name):
        try:
            data, _ = self.zk.get("/brokers/topics/%s/partitions/0/state" % name)
        except Exception:
            return None
        return json.loads(data)

    def wait_state(self, name, ok, what, timeout=60):
        last = [None]

        def check():
            last[0] = self.state(name)
            return last[0] is not None and ok(last[0])

        wait_for(check, timeout, lambda: "%s-0 %s (last: %r)" % (name, what, last[0]))
        return last[0]

    def produce(self, name, n, extra=None):
        """Sends n records with acks=all; returns the delivery errors (None for delivered)."""
        conf = {"bootstrap.servers": self.cluster.bootstrap, "acks": "all", "linger.ms": 5}
        conf.update(extra or {})
        p = Producer(conf)
        errs = []
        for i in range(n):
            p.produce(name, value=b"record-%03d" % i, key=b"k%d" % i, partition=0,
                      on_delivery=lambda err, msg: errs.append(err))
        left = p.flush(60)
        self.assertEqual(left, 0, "records still in flight")
        return errs

    def consume_all(self, broker, name, want):
        """Reads partition 0 from the beginning through broker until want records came."""
        c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "rep-check-%d" % os.getpid(),
                      "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        got = []
        try:
            c.assign([TopicPartition(name, 0, 0)])

            def more():
                m = c.poll(0.5)
                if m is not None and not m.error():
                    got.append(m.value())
                return len(got) >= want

            wait_for(more, 60, lambda: "%d records from broker %d (got %d)" % (want, broker.id, len(got)))
        finally:
            c.close()
        return got

    def log_bytes(self, broker, name):
        d = os.path.join(broker.log_dirs, "%s-0" % name)
        seg = os.path.join(d, "00000000000000000000.log")
        return sorted(os.listdir(d)), (os.path.getsize(seg) if os.path.exists(seg) else -1)

    def test_rf3_replicates_and_survives_leader_kill(self):
        self.create("rep")
        self.wait_state("rep", lambda s: s["leader"] == 0 and sorted(s["isr"]) == [0, 1, 2],
                        "to be led by 0 with ISR [0, 1, 2]")
        errs = self.produce("rep", N)
        self.assertEqual(errs, [None] * N)
        want = [b"record-%03d" % i for i in range(N)]
        self.assertEqual(self.consume_all(self.cluster.brokers[0], "rep", N), want)
        # acks=all answered: every ISR member has the records; their logs are the leader's
        files0, size0 = self.log_bytes(self.cluster.brokers[0], "rep")
        self.assertGreater(size0, 0)
        for b in self.cluster.brokers[1:]:
            files, size = self.log_bytes(b, "rep")
            self.assertIn("00000000000000000000.log", files)
            self.assertIn("leader-epoch-checkpoint", files)
            self.assertEqual(size, size0, "broker %d's copy of rep-0" % b.id)
        # the ISR as stored is what Metadata shows
        self.assertEqual(sorted(self.state("rep")["isr"]), [0, 1, 2])
        # kill -9 the leader: the controller elects the next ISR member, epoch 1
        self.cluster.brokers[0].kill9()
        s = self.wait_state("rep", lambda s: s["leader"] in (1, 2) and s["leader_epoch"] >= 1,
                            "to get a new leader from the ISR")
        self.assertEqual(s["leader"], 1)  # assignment order
        got = self.consume_all(self.cluster.brokers[1], "rep", N)
        self.assertEqual(got, want)
        # and the new leader takes acks=all writes with the other survivor in its ISR
        self.assertEqual(self.produce("rep", 5), [None] * 5)
        self.assertEqual(len(self.consume_all(self.cluster.brokers[1], "rep", N + 5)), N + 5)
        # the old leader comes back as a follower: it truncates by leader epoch (OffsetForLeaderEpoch),
        # catches up, and leader 1 writes it back into the ISR; the controller consumes the
        # /isr_change_notification znode that write left
        b0 = self.cluster.brokers[0]
        b0.start()
        b0.wait_ready()
        self.wait_state("rep", lambda s: s["leader"] == 1 and sorted(s["isr"]) == [0, 1, 2],
                        "to take broker 0 back into its ISR")
        wait_for(lambda: self.log_bytes(b0, "rep")[1] == self.log_bytes(self.cluster.brokers[1], "rep")[1], 30,
                 "broker 0's copy of rep-0 to equal the leader's")
        with open(os.path.join(b0.log_dirs, "rep-0", "leader-epoch-checkpoint")) as f:
            self.assertEqual(f.read().splitlines()[:2], ["0", "2"])  # epochs 0 and 1
        # the leader writes the notification just after the partition state: wait for it to have
        # been made and deleted (cversion counts both), not only for an empty folder, which it
        # also is before the write (a race seen once)
        wait_for(lambda: self.zk.exists("/isr_change_notification").cversion >= 2 and
                 not [c for c in self.zk.get_children("/isr_change_notification") if c.startswith("isr_change_")],
                 30, "the ISR change notification to be made and consumed")

    def test_min_insync_with_two_followers_down(self):
        self.create("mi")
        self.wait_state("mi", lambda s: s["leader"] == 0 and sorted(s["isr"]) == [0, 1, 2],
                        "to be led by 0 with ISR [0, 1, 2]")
        self.assertEqual(self.produce("mi", 3), [None] * 3)
        for b in self.cluster.brokers[1:]:
            b.kill9()
        self.wait_state("mi", lambda s: s["leader"] == 0 and s["isr"] == [0], "to shrink its ISR to [0]")
        # the leader has taken that state (its Metadata shows the ISR it acts on): before that an
        # acks=all write is appended and answered NOT_ENOUGH_REPLICAS_AFTER_APPEND, as in Kafka
        leader = self.cluster.brokers[0]

        def leader_isr():
            md = AdminClient({"bootstrap.servers": leader.bootstrap}).list_topics("mi", timeout=10)
            return md.topics["mi"].partitions[0].isrs
        wait_for(lambda: leader_isr() == [0], 30, "broker 0's Metadata to show ISR [0]")
        errs = self.produce("mi", 1, {"retries": 0, "message.timeout.ms": 20000})
        self.assertEqual(len(errs), 1)
        self.assertIsNotNone(errs[0])
        self.assertEqual(errs[0].code(), KafkaError.NOT_ENOUGH_REPLICAS, str(errs[0]))
        # acks=1 is still taken, and the records stay readable
        p = Producer({"bootstrap.servers": self.cluster.brokers[0].bootstrap, "acks": "1"})
        out = []
        p.produce("mi", value=b"one", partition=0, on_delivery=lambda err, msg: out.append(err))
        p.flush(30)
        self.assertEqual(out, [None])

    def test_acks_all_times_out_while_followers_are_paused(self):
        self.create("to")
        self.wait_state("to", lambda s: s["leader"] == 0 and sorted(s["isr"]) == [0, 1, 2],
                        "to be led by 0 with ISR [0, 1, 2]")
        # a producer connected to the leader alone, warmed up by acknowledged writes
        p = Producer({"bootstrap.servers": self.cluster.brokers[0].bootstrap, "acks": "all", "retries": 0,
                      "request.timeout.ms": 1000, "message.timeout.ms": 20000, "linger.ms": 0})
        out = []
        for i in range(3):
            p.produce("to", value=b"warm-%d" % i, partition=0, on_delivery=lambda err, msg: out.append(err))
        self.assertEqual(p.flush(30), 0)
        self.assertEqual(out, [None] * 3)
        # both followers stop fetching; until the controller finds them unresponsive (its
        # control-plane heartbeat, 3 s) or the leader's replica.lag.time.max.ms (10 s) they stay
        # in the ISR, so the write waits in the purgatory until the request's timeout (1 s)
        for b in self.cluster.brokers[1:]:
            b.pause()
            self.addCleanup(b.resume)
        out.clear()
        p.produce("to", value=b"late", partition=0, on_delivery=lambda err, msg: out.append(err))
        self.assertEqual(p.flush(30), 0)
        self.assertEqual(len(out), 1)
        self.assertIsNotNone(out[0])
        self.assertEqual(out[0].code(), KafkaError.REQUEST_TIMED_OUT, str(out[0]))
        for b in self.cluster.brokers[1:]:
            b.resume()
        # resumed, the followers fetch again (or, dropped from the ISR meanwhile, catch up and are
        # taken back); the record was appended, so a consumer reads all 4 once the HW passes it
        self.assertEqual(len(self.consume_all(self.cluster.brokers[0], "to", 4)), 4)

if __name__ == "__main__":
    unittest.main()
