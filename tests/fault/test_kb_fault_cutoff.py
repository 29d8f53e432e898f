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
controller once its session expires, and the old one, healed, resigns when it finds its session
gone (its log says so) while the new one stays controller."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kbfaultcase import FENCED_ERRORS, ReplicatedFaultCase  # noqa: E402


class CutOffBase(ReplicatedFaultCase):
    COORDINATORS = 3
    NETNS = True

    def cut_and_heal(self, controller):
        v = self.victim(controller)
        states = {p: self.c.state(self.TOPIC, p) for p in range(self.PARTITIONS)}
        led = [p for p, st in states.items() if st["leader"] == v]
        self.assertTrue(led)
        t_cut = time.monotonic()
        cut_at = len(self.c.brokers[v].log_text())
        self.c.cut(v)
        for p in led:
            self.c.wait_state(self.TOPIC, p, lambda st, p=p: st["leader"] not in (v, -1) and
                              st["leader_epoch"] > states[p]["leader_epoch"] and v not in st["isr"],
                              what="a new leader without broker %d" % v)
        t_replaced = time.monotonic() - t_cut
        if controller:
            self.c.wait_brokers()  # the others agree on a new controller
            self.assertNotEqual(self.c.controller(), v)
        self.progress(50, what="the cluster with broker %d cut off" % v)
        # a client with old metadata still reaches the cut-off broker: it must not acknowledge
        stale = {p: self.stale_produce_send(v, p) for p in led}
        answers = {p: self.stale_produce_answer(k) for p, k in stale.items()}
        for p, err in answers.items():
            self.assertIn(err, FENCED_ERRORS, "broker %d, cut off and replaced as leader of %s-%d, "
                          "answered an acks=all Produce with error %d" % (v, self.TOPIC, p, err))
        appended = sum(1 for p in led if b"fenced-%d" % p in (self.replica_log(v, p) or b""))
        self.progress(50, what="the cluster with broker %d cut off" % v)
        t_heal = time.monotonic()
        self.c.heal(v)
        self.c.wait_brokers(timeout=90)
        for p in range(self.PARTITIONS):
            self.c.wait_state(self.TOPIC, p, lambda st: v in st["isr"], timeout=90,
                              what="broker %d back in the ISR" % v)
        if controller:
            # the old controller, healed, learns its session is gone (or that /controller_epoch
            # moved on) and resigns; another broker stays controller (what it decided while cut
            # off was never written: its writes timed out, then met the expired session)
            self.assertNotEqual(self.c.controller(), v)
            self.assertIn("no longer the controller",
                          self.c.brokers[v].log_text()[cut_at:])
        self.progress(20, what="the cluster with broker %d healed" % v)
        print("\nbroker %d cut off: its %d partitions led by others after %.1f s; stale acks=all "
              "Produce answered with errors %s (%d of %d appended to its log, truncated later); "
              "back in every ISR %.1f s after the heal"
              % (v, len(led), t_replaced, sorted(set(answers.values())), appended, len(led),
                 time.monotonic() - t_heal), file=sys.stderr)


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
