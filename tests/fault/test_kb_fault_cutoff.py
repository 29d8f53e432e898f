"""A partition leader cut off from the cluster: a 3-server coordinator ensemble and 3 brokers,
each in its own network namespace (samsatest.kb.Cluster netns mode), a topic of 6 partitions with
RF=3 and min.insync.replicas=2, a producer with acks=all (librdkafka's own retries on, the ledger
learning from librdkafka which messages it sent again) in the client namespace through the
fault. The cut is silent (packets dropped both ways, no reset): the broker loses the
coordinators and the other brokers while its process runs and clients still reach it.

  * the others lead its partitions at a higher leader epoch and the producer keeps getting
    acknowledgements from them;
  * the cut-off broker, which still believes it leads, acknowledges no acks=all write: a
    Produce sent straight to it (raw bytes, as a client with old metadata sends it) gets an
    error, never an offset, and that record is in no replica at the end;
  * healed, it registers again, follows the new leaders (truncated to their logs) and is back
    in every ISR; then kbfaultcase.verify: every acknowledged message read back at the offset
    its ack named, in order per partition, duplicates only of retried sends (counted), and
    every replica's log identical.

The same with the controller as the broker cut off (a leader too): the others elect a new
controller once its session expires, and the old one, healed, must not act as controller."""
import os
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kbfaultcase import BrokerFaultCase  # noqa: E402
from samsatest.kb import KafkaRaw, kstr  # noqa: E402

import warnings  # noqa: E402
warnings.simplefilter("ignore")
from kafka.record.default_records import DefaultRecordBatchBuilder  # noqa: E402

REPLICATED = {
    "min.insync.replicas": "2",
    "default.replication.factor": "3",
    "replica.lag.time.max.ms": "3000",
    "unclean.leader.election.enable": "false",
}
# what a fenced broker may answer an acks=all Produce: NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT,
# NOT_ENOUGH_REPLICAS, NOT_ENOUGH_REPLICAS_AFTER_APPEND
FENCED_ERRORS = (6, 7, 19, 20)


def fence_batch(p):
    """One record whose value is not the ledger's (kafka_ledger.seq_of gives None): if it ever
    reached a log the ledger check reports it as foreign."""
    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False, producer_id=-1,
                                  producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
    b.append(0, timestamp=1700000000000, key=None, value=b"fenced-%d" % p, headers=[])
    return bytes(b.build())


def produce_v3(topic, partition, records, acks, timeout_ms):
    return (kstr(None) + struct.pack(">hi", acks, timeout_ms) + struct.pack(">i", 1) + kstr(topic) +
            struct.pack(">i", 1) + struct.pack(">i", partition) + struct.pack(">i", len(records)) + records)


def produce_error(resp):
    """The error code of the one partition of a Produce v3 response (after the correlation id)."""
    pos = 4 + 4
    (tl,) = struct.unpack_from(">h", resp, pos)
    pos += 2 + tl + 4
    _, err = struct.unpack_from(">ih", resp, pos)
    return err


class CutOffBase(BrokerFaultCase):
    COORDINATORS = 3
    NETNS = True
    RF = 3
    ACKS = "all"
    RETRY = "client"
    BROKER_EXTRA = REPLICATED

    def victim(self, controller):
        ctrl = self.c.wait_brokers()
        leaders = {self.leader_of(p) for p in range(self.PARTITIONS)}
        if controller:
            self.assertIn(ctrl, leaders, "the controller leads no partition")
            return ctrl
        return sorted(leaders - {ctrl})[0]

    def stale_produce(self, v, p):
        """An acks=all Produce of one record to partition p sent straight to broker v; returns
        the error code it answers."""
        b = self.c.brokers[v]
        k = KafkaRaw(b.port, timeout=20, host=b.host)
        try:
            k.request(0, 3, produce_v3(self.TOPIC, p, fence_batch(p), -1, 3000))
            resp = k.recv()
        finally:
            k.close()
        self.assertIsNotNone(resp, "broker %d closed the connection instead of answering a Produce" % v)
        return produce_error(resp)

    def cut_and_heal(self, controller):
        v = self.victim(controller)
        states = {p: self.c.state(self.TOPIC, p) for p in range(self.PARTITIONS)}
        led = [p for p, st in states.items() if st["leader"] == v]
        self.assertTrue(led)
        self.c.cut(v)
        for p in led:
            self.c.wait_state(self.TOPIC, p, lambda st, p=p: st["leader"] not in (v, -1) and
                              st["leader_epoch"] > states[p]["leader_epoch"] and v not in st["isr"],
                              what="a new leader without broker %d" % v)
        if controller:
            self.c.wait_brokers()  # the others agree on a new controller
            self.assertNotEqual(self.c.controller(), v)
        self.progress(50, what="the cluster with broker %d cut off" % v)
        # a client with old metadata still reaches the cut-off broker: it must not acknowledge
        for p in led:
            err = self.stale_produce(v, p)
            kept = (self.replica_log(v, p) or b"").count(b"fenced-%d" % p)
            print("stale acks=all Produce to cut-off broker %d for %s-%d: error %d (%s in its log)"
                  % (v, self.TOPIC, p, err, "appended" if kept else "not"), file=sys.stderr)
            self.assertIn(err, FENCED_ERRORS, "broker %d, cut off and replaced as leader of %s-%d, "
                          "answered an acks=all Produce with error %d" % (v, self.TOPIC, p, err))
        self.progress(50, what="the cluster with broker %d cut off" % v)
        self.c.heal(v)
        self.c.wait_brokers(timeout=90)
        for p in range(self.PARTITIONS):
            self.c.wait_state(self.TOPIC, p, lambda st: v in st["isr"], timeout=90,
                              what="broker %d back in the ISR" % v)
        self.progress(20, what="the cluster with broker %d healed" % v)


class CutOffLeaderTest(CutOffBase):
    def test_leader_cut_off_then_healed(self):
        self.cut_and_heal(controller=False)
        self.verify("a partition leader cut off in its network namespace")


class CutOffControllerTest(CutOffBase):
    def test_controller_cut_off_then_healed(self):
        self.cut_and_heal(controller=True)
        self.verify("the controller (a partition leader) cut off in its network namespace")


if __name__ == "__main__":
    unittest.main()
