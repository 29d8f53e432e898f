"""Broker failover without losing an acknowledged message: 3 brokers, a topic of 6 partitions with
RF=3 and min.insync.replicas=2, a producer with acks=all (librdkafka's own retries on, the ledger
learning from librdkafka which messages it sent again) running through each fault; afterwards
every acknowledged message is read back at the offset its ack named, in order per partition,
duplicates only of retried sends, and every replica holds the same log (kbfaultcase.verify).

- kill -9 of a partition leader that is not the controller, restart on its log directory;
- kill -9 of the controller (also a partition leader), restart;
- SIGSTOP of a partition leader until the others lead its partitions, then SIGCONT: the paused
  broker, fenced, acknowledged nothing they lack, and follows them again;
- SIGTERM (a controlled shutdown) and restart of each broker in turn: no send fails at all;
- the kill -9 of a leader again with a 3-server coordinator ensemble.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kbfaultcase import BrokerFaultCase  # noqa: E402

REPLICATED = {
    "min.insync.replicas": "2",
    "default.replication.factor": "3",
    "replica.lag.time.max.ms": "3000",
    "unclean.leader.election.enable": "false",
}


class FailoverBase(BrokerFaultCase):
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
        v = self.victim(controller)
        led = self.led_by(v)
        self.c.kill9(v)
        for p in led:
            self.c.wait_state(self.TOPIC, p, lambda st: st["leader"] not in (v, -1), what="a new leader")
        self.progress(50, what="the cluster without broker %d" % v)
        self.c.start_broker(v).wait_ready()
        self.c.wait_brokers()
        self.progress(20, what="the cluster with broker %d back" % v)


class KillLeaderTest(FailoverBase):
    def test_kill9_leader(self):
        self.kill_and_restart(controller=False)
        self.verify("kill -9 of a partition leader")


class KillControllerTest(FailoverBase):
    def test_kill9_controller(self):
        self.kill_and_restart(controller=True)
        self.verify("kill -9 of the controller")


class ControlledRestartTest(FailoverBase):
    def test_clean_restart_of_each_broker(self):
        """SIGTERM is a controlled shutdown: leaderships move away before the broker stops, so
        the producer (librdkafka's retries) sees no failed send."""
        for b in range(self.BROKERS):
            self.c.stop_broker(b)
            self.c.wait_brokers()
            self.c.wait_leaders(self.TOPIC, self.PARTITIONS)
            self.progress(50, what="the cluster without broker %d" % b)
            self.c.start_broker(b).wait_ready()
            self.c.wait_brokers()
            self.progress(20, what="the cluster with broker %d back" % b)
        rep = self.verify("controlled shutdown and restart of each broker")
        self.assertEqual((rep.counts["failed"], rep.counts["unknown"]), (0, 0), rep)


class PauseLeaderTest(FailoverBase):
    def test_sigstop_leader_past_lag_time(self):
        """SIGSTOP of a leader that is not the controller until the others lead its partitions
        (the controller notices a paused broker within seconds, past replica.lag.time.max.ms),
        then SIGCONT: the resumed broker must follow, truncated to the new leaders' logs."""
        v = self.victim(controller=False)
        led = self.led_by(v)
        self.c.pause(v)
        for p in led:
            self.c.wait_state(self.TOPIC, p, lambda st: st["leader"] not in (v, -1), what="a new leader")
        self.progress(50, what="the cluster with broker %d paused" % v)
        self.c.resume(v)
        self.c.wait_brokers()
        self.progress(20, what="the cluster with broker %d resumed" % v)
        self.verify("SIGSTOP of a partition leader")


class KillLeaderEnsembleTest(KillLeaderTest):
    COORDINATORS = 3


if __name__ == "__main__":
    unittest.main()
