"""Exactly once across crashes (issue 13): a consume-transform-produce loop (eos_processor.py,
confluent-kafka's transactional producer and a read_committed consumer in a static group
member) turns the N records of `in` into N records of `out` on 3 brokers (RF=3,
min.insync.replicas=2). It is killed with -9 at random points (the seed is printed) and started
again with the same transactional.id, whose init_transactions aborts what the killed one left
open; the last incarnation runs to the end. In a second test the broker that coordinates the
transactional id is killed with -9 mid-run as well.

Then a read_committed consumer of `out` sees every input's output exactly once, in input order
within each partition, and nothing else, while a read_uncommitted one sees at least as much (it also reads the records of the
aborted transactions, counted and printed)."""
import os
import random
import signal
import subprocess
import sys
import threading
import time
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from samsatest import kb  # noqa: E402
from samsatest.wait import wait_for  # noqa: E402
from samsatest.workdir import test_failed  # noqa: E402

warnings.simplefilter("ignore")
from confluent_kafka import Consumer, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic  # noqa: E402

PROCESSOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "eos_processor.py")
N = 1500
PARTITIONS = 2
TXN_ID = "eos-app"
GROUP = "eos-group"


class Incarnation:
    """One run of eos_processor.py; its output lines are collected by a thread."""

    def __init__(self, bootstrap, log):
        self.lines = []
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", PROCESSOR, bootstrap, "in", "out", GROUP, TXN_ID],
            stdout=subprocess.PIPE, stderr=log, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.decode(errors="replace").strip())

    def committed(self):
        return sum(int(ln.split()[1]) for ln in list(self.lines) if ln.startswith("committed "))

    def kill9(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self.reader.join(10)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(30)


def read_all(bootstrap, isolation, expect_at_least, timeout=60):
    """Every record of `out` from the start, with the given isolation level, as (partition, value):
    until at least expect_at_least arrived and nothing more came for a second."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "check-%s-%d" % (isolation, random.getrandbits(32)),
                  "enable.auto.commit": False, "auto.offset.reset": "earliest", "isolation.level": isolation})
    c.subscribe(["out"])
    out = []
    deadline = time.time() + timeout
    quiet_until = None
    try:
        while time.time() < deadline:
            msgs = c.consume(num_messages=500, timeout=0.2)
            got = [m for m in msgs if not m.error()]
            out.extend((m.partition(), m.value()) for m in got)
            if got:
                quiet_until = None
            elif len(out) >= expect_at_least:
                quiet_until = quiet_until or time.time() + 1.0
                if time.time() >= quiet_until:
                    break
    finally:
        c.close()
    return out


class TxnEosTest(unittest.TestCase):
    def setUp(self):
        seed = int(os.environ.get("SAMSA_EOS_SEED", random.randrange(1 << 30)))
        print("seed %d (SAMSA_EOS_SEED=%d repeats it)" % (seed, seed), file=sys.stderr)
        self.rng = random.Random(seed)
        self.c = kb.Cluster(self, brokers=3, broker_extra={
            "transaction.state.log.replication.factor": "3", "transaction.state.log.min.isr": "2",
            "transaction.state.log.num.partitions": "5", "offsets.topic.num.partitions": "5",
            "offsets.topic.replication.factor": "3", "group.initial.rebalance.delay.ms": "0"})
        self.c.wait_brokers()
        admin = AdminClient({"bootstrap.servers": self.c.bootstrap})
        fs = admin.create_topics([NewTopic(t, PARTITIONS, 3, config={"min.insync.replicas": "2"})
                                  for t in ("in", "out")])
        for f in fs.values():
            f.result(30)
        for t in ("in", "out"):
            self.c.wait_leaders(t, PARTITIONS)
        p = Producer({"bootstrap.servers": self.c.bootstrap, "enable.idempotence": True, "linger.ms": 5})
        for i in range(N):
            p.produce("in", value=b"%d" % i, partition=i % PARTITIONS)
        self.assertEqual(p.flush(60), 0, "the input was not all acknowledged")
        self.log = open(os.path.join(self.c.dir, "processor.log"), "ab")
        self.addCleanup(self.log.close)
        self.runs = []

    def tearDown(self):
        for r in self.runs:
            r.stop()
        if test_failed(self):
            print("work directory kept: %s (processor.log, broker logs)" % self.c.dir, file=sys.stderr)

    def incarnation(self):
        r = Incarnation(self.c.bootstrap, self.log)
        self.runs.append(r)
        return r

    def kill_at_random(self, kills, also=None):
        """kills incarnations, each killed -9 after it committed something and a random moment
        later; also(i) runs a fault of the test's own after the i-th kill's restart."""
        for i in range(kills):
            r = self.incarnation()
            wait_for(lambda: r.committed() > 0 or r.proc.poll() is not None, timeout=90,
                     what="the processor's first commit")
            self.assertIsNone(r.proc.poll(), "the processor exited early: %s" % r.lines[-5:])
            # a fault at a random moment of the loop: a duration, not a wait for a condition
            time.sleep(self.rng.uniform(0.0, 0.6))
            r.kill9()
            print("incarnation %d killed -9 after %d records committed" % (i + 1, r.committed()),
                  file=sys.stderr)
            if also:
                also(i)

    def finish_and_check(self):
        last = self.incarnation()
        self.assertEqual(last.proc.wait(180), 0, "the last processor failed: %s" % last.lines[-10:])
        last.reader.join(10)
        self.assertIn("done", last.lines)
        records = read_all(self.c.bootstrap, "read_committed", N)
        committed = [v for _, v in records]
        want = sorted(b"out-%d" % i for i in range(N))
        dups = len(committed) - len(set(committed))
        missing = set(want) - set(committed)
        foreign = set(committed) - set(want)
        self.assertEqual((len(missing), dups, len(foreign)), (0, 0, 0),
                         "read_committed: %d missing (e.g. %s), %d duplicated, %d foreign"
                         % (len(missing), sorted(missing)[:5], dups, len(foreign)))
        # in input order within each partition (input i went to partition i % PARTITIONS)
        for part in range(PARTITIONS):
            seq = [int(v[4:]) for p, v in records if p == part]
            self.assertEqual(seq, sorted(seq), "partition %d of out is not in input order" % part)
        uncommitted = [v for _, v in read_all(self.c.bootstrap, "read_uncommitted", N)]
        self.assertTrue(set(want) <= set(uncommitted))
        # __transaction_state as Kafka makes it: compacted, min.insync.replicas from the broker's
        # transaction.state.log.min.isr (a refused override once dropped them all)
        res = ConfigResource(ConfigResource.Type.TOPIC, "__transaction_state")
        admin = AdminClient({"bootstrap.servers": self.c.bootstrap})
        conf = admin.describe_configs([res])[res].result(30)
        self.assertEqual((conf["cleanup.policy"].value, conf["min.insync.replicas"].value), ("compact", "2"))
        print("read_committed: %d records, each input once; read_uncommitted: %d (%d from aborted "
              "transactions)" % (len(committed), len(uncommitted), len(uncommitted) - len(committed)),
              file=sys.stderr)

    def test_processor_killed_at_random_points(self):
        self.kill_at_random(3)
        self.finish_and_check()

    def test_coordinator_broker_killed(self):
        killed = []

        def kill_coordinator(i):
            if i == 0:  # after the first incarnation's kill: its coordinator's broker too
                killed.append(self.txn_coordinator())
                self.c.kill9(killed[0])
                print("broker %d (the transaction coordinator) killed -9" % killed[0], file=sys.stderr)
            else:  # after the second: that broker comes back
                self.c.start_broker(killed[0]).wait_ready()
                print("broker %d restarted" % killed[0], file=sys.stderr)
        self.kill_at_random(2, also=kill_coordinator)
        self.finish_and_check()

    def txn_coordinator(self):
        """The broker FindCoordinator(key_type 1) names for TXN_ID."""
        import struct
        raw = kb.KafkaRaw(self.c.brokers[0].port)
        try:
            key = TXN_ID.encode()
            raw.request(10, 1, struct.pack(">h", len(key)) + key + struct.pack(">b", 1))
            r = raw.recv()
        finally:
            raw.close()
        _corr, _throttle, err = struct.unpack_from(">iih", r, 0)
        self.assertEqual(err, 0, "FindCoordinator(transaction) answered error %d" % err)
        pos = 10
        (ml,) = struct.unpack_from(">h", r, pos)
        pos += 2 + max(ml, 0)
        (node,) = struct.unpack_from(">i", r, pos)
        return node


if __name__ == "__main__":
    unittest.main()
