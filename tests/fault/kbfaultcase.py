"""The base of the broker fault tests: a cluster (samsatest.kb.Cluster: 1 or 3 coordinators, 3
brokers) with one topic and the ledger producer (kafka_ledger.LedgerProducer) running against
it; a scenario injects its faults by pid (stop, kill -9, SIGSTOP/SIGCONT, restart of one broker),
heals them, and ends with verify(), which

  1. waits until every broker is in every live broker's Metadata and each partition has a live
     leader, and the producer gets more messages acknowledged (the healed cluster serves);
  2. stops the producer (its outstanding sends finish or become "unknown"), reads the topic
     back whole (kafka_ledger.read_all) and checks it against the ledger (ledger_check.check):
     every acknowledged message at the offset its ack named, per-partition order, duplicates
     only of retried sends (counted), nothing foreign;
  3. with RF > 1: waits until every replica of every partition holds the same log (the bytes of
     its segments, which followers copy from the leader), so no replica kept or lacks what the
     leader has;
  4. prints one line of figures to stderr (sent, acknowledged, retried, duplicates, duration).

`stale_produce_send` / `stale_produce_answer` send an acks=all Produce of one foreign record
straight to one broker (raw bytes, as a client with old metadata does) and read its error code:
a replaced leader must answer one of FENCED_ERRORS, and the record must be in no log at the end.

Class attributes choose the cluster: COORDINATORS, BROKERS, PARTITIONS, RF, ACKS, RETRY ("app" or
"client", see kafka_ledger), BROKER_EXTRA (broker settings), PRODUCER_CONF (librdkafka settings),
RATE (messages per second at most), NETNS (every server in its own network namespace, the test
in the client one: samsatest.kb.Cluster netns mode, needs root and COORDINATORS = 3, so that
a scenario may cut a broker off). Everything is stopped by pid and the
work directory kept (its path in the failure message, the brokers' log tails printed) when a
test fails.
"""
import os
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_ledger  # noqa: E402
import ledger_check  # noqa: E402
from samsatest import kb  # noqa: E402
from samsatest.kb import KafkaRaw, kstr  # noqa: E402
from samsatest.wait import wait_for  # noqa: E402
from samsatest.workdir import test_failed  # noqa: E402

import warnings  # noqa: E402
warnings.simplefilter("ignore")
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from kafka.record.default_records import DefaultRecordBatchBuilder  # noqa: E402

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


class BrokerFaultCase(unittest.TestCase):
    COORDINATORS = 1
    BROKERS = 3
    PARTITIONS = 6
    RF = 3
    ACKS = "all"
    RETRY = "app"
    TOPIC = "ledger"
    BROKER_EXTRA = {}
    PRODUCER_CONF = {}
    PRODUCER = "librdkafka"  # or "kafkajs": its idempotent producer (kafka_ledger.KafkajsLedgerProducer)
    RATE = 2000  # messages per second: load without taking the machine's 2 cores
    NETNS = False

    @classmethod
    def setUpClass(cls):
        if cls.NETNS:
            from samsatest.ensemble import netns_unavailable
            why = netns_unavailable()
            if why:
                raise unittest.SkipTest("network namespaces unavailable: %s" % why)

    def setUp(self):
        self.t0 = time.time()
        self.c = kb.Cluster(self, brokers=self.BROKERS, coordinators=self.COORDINATORS,
                            broker_extra=dict(self.BROKER_EXTRA), netns=self.NETNS)
        self.addCleanup(self._logs_on_failure)
        self.c.wait_brokers()
        a = AdminClient({"bootstrap.servers": self.c.bootstrap})
        a.create_topics([NewTopic(self.TOPIC, self.PARTITIONS, self.RF)])[self.TOPIC].result(30)
        self.c.wait_leaders(self.TOPIC, self.PARTITIONS)
        if self.PRODUCER == "kafkajs":
            self.prod = kafka_ledger.KafkajsLedgerProducer(self.c.bootstrap, self.TOPIC, self.PARTITIONS,
                                                           rate=self.RATE)
        else:
            self.prod = kafka_ledger.LedgerProducer(self.c.bootstrap, self.TOPIC, self.PARTITIONS, acks=self.ACKS,
                                                    retry=self.RETRY, rate=self.RATE, conf=self.PRODUCER_CONF)
        self.addCleanup(self._stop_producer)
        self.prod.start()
        self.progress(50, what="the new cluster")

    def _stop_producer(self):
        if self.prod.is_alive():
            self.prod.stop(drain_timeout=5)
        self.prod.close()

    def _logs_on_failure(self):
        if test_failed(self):
            for b in self.c.brokers:
                print("---- broker %d (%s)\n%s" % (b.id, b.dir, b.log_tail(2500)), file=sys.stderr)

    def progress(self, n=20, timeout=60, what="the cluster"):
        """Asserts the producer gets n more messages acknowledged within timeout."""
        self.assertTrue(self.prod.wait_progress(n, timeout),
                        "%s acknowledged no %d more messages within %ss (live brokers %s; producer errors %s)"
                        % (what, n, timeout, self.c.live_ids(), self.prod.errors[-3:]))

    def leader_of(self, p):
        """The leader of partition p that the live brokers' Metadata names."""
        parts = self.c.wait_leaders(self.TOPIC, self.PARTITIONS)
        return [x["leader"] for x in parts if x["partition"] == p][0]

    def stale_produce_send(self, v, p):
        """Sends an acks=all Produce (timeout 3 s) of one foreign record (fence_batch) to
        partition p straight to broker v, as a client with old metadata does (a paused broker's
        kernel takes it; the broker reads it once it runs). Returns the connection."""
        b = self.c.brokers[v]
        k = KafkaRaw(b.port, timeout=30, host=b.host)
        k.request(0, 3, produce_v3(self.TOPIC, p, fence_batch(p), -1, 3000))
        return k

    def stale_produce_answer(self, k):
        """The error code broker v answers on k (stale_produce_send); fails if it answers none."""
        try:
            resp = k.recv()
        finally:
            k.close()
        self.assertIsNotNone(resp, "the broker closed the connection instead of answering a Produce")
        return produce_error(resp)

    def replica_log(self, broker, p):
        """The bytes of the segments of partition p on broker, in base-offset order (None when
        the broker has no directory for it)."""
        d = os.path.join(self.c.brokers[broker].log_dirs, "%s-%d" % (self.TOPIC, p))
        if not os.path.isdir(d):
            return None
        out = b""
        for f in sorted(x for x in os.listdir(d) if x.endswith(".log")):
            with open(os.path.join(d, f), "rb") as fh:
                out += fh.read()
        return out

    def wait_replicas_identical(self, timeout=60):
        """Until, for every partition, every replica of the assignment holds the same log."""
        last = {}

        def same():
            for p, replicas in sorted(self.c.assignment(self.TOPIC).items()):
                logs = {b: self.replica_log(b, p) for b in replicas}
                sizes = {b: None if v is None else len(v) for b, v in logs.items()}
                last[p] = sizes
                if None in sizes.values() or len(set(logs.values())) != 1:
                    return False
            return True

        wait_for(same, timeout, lambda: "every replica to hold the same log (sizes by partition and "
                 "broker: %s)" % last)

    def verify(self, name):
        """The cluster is healed (every broker started again, none paused)."""
        self.c.wait_brokers(timeout=90)
        self.c.wait_leaders(self.TOPIC, self.PARTITIONS, timeout=90)
        self.progress(20, what="the healed cluster")
        led = self.prod.stop(drain_timeout=60)
        read = kafka_ledger.read_all(self.c.bootstrap, self.TOPIC, self.PARTITIONS)
        rep = ledger_check.check(led, read)
        self.assertTrue(rep.ok, "%s: %r" % (name, rep))
        self.assertGreater(rep.counts["acked"], 100, "too few messages acknowledged to prove anything")
        if self.RF > 1:
            self.wait_replicas_identical()
        print("\n%s [%d coordinator(s), %d brokers, RF=%d, acks=%s, retries by %s]: %s; %.0fs"
              % (name, self.COORDINATORS, self.BROKERS, self.RF, self.ACKS, self.RETRY, rep.summary(),
                 time.time() - self.t0), file=sys.stderr)
        return rep


# The replicated topic of the failover tests (kill -9, SIGSTOP, restarts, cut-offs).
REPLICATED = {
    "min.insync.replicas": "2",
    "default.replication.factor": "3",
    "replica.lag.time.max.ms": "3000",
    "unclean.leader.election.enable": "false",
}


class ReplicatedFaultCase(BrokerFaultCase):
    """RF=3, acks=all with librdkafka's retries, min.insync.replicas=2: the base of the tests
    that take a partition leader (or the controller) away."""
    RF = 3
    ACKS = "all"
    RETRY = "client"
    BROKER_EXTRA = REPLICATED

    def victim(self, controller):
        """A broker leading at least one partition: the controller, or one that is not."""
        ctrl = self.c.wait_brokers()
        leaders = {self.leader_of(p) for p in range(self.PARTITIONS)}
        if controller:
            self.assertIn(ctrl, leaders, "the controller leads no partition")
            return ctrl
        return sorted(leaders - {ctrl})[0]

    def led_by(self, b):
        return [p for p in range(self.PARTITIONS) if self.c.state(self.TOPIC, p)["leader"] == b]

    def kill_and_restart(self, controller):
        """kill -9 of v (a leader), restart, until v is back in every ISR. The leader epoch of
        each partition moves only with its leader (KAFKA-15021): by exactly 1 where v led (one
        election), by exactly 0 where v followed, whatever the controller wrote around v's
        death, return, new registration and ISR rejoin (it used to grow by 2-3 per round)."""
        v = self.victim(controller)
        led = self.led_by(v)
        epochs = {p: self.c.state(self.TOPIC, p)["leader_epoch"] for p in range(self.PARTITIONS)}
        self.c.kill9(v)
        for p in led:
            self.c.wait_state(self.TOPIC, p, lambda st: st["leader"] not in (v, -1), what="a new leader")
        self.progress(50, what="the cluster without broker %d" % v)
        self.c.start_broker(v).wait_ready()
        self.c.wait_brokers()
        self.progress(20, what="the cluster with broker %d back" % v)
        for p in range(self.PARTITIONS):
            self.c.wait_state(self.TOPIC, p, lambda st: v in st["isr"], timeout=60,
                              what="broker %d back in the ISR" % v)
        grew = {p: self.c.state(self.TOPIC, p)["leader_epoch"] - epochs[p] for p in range(self.PARTITIONS)}
        want = {p: 1 if p in led else 0 for p in range(self.PARTITIONS)}
        self.assertEqual(grew, want, "leader epochs grew by %s after kill -9 and restart of broker %d "
                         "(leader of %s): a new epoch only for a new leader" % (grew, v, led))
