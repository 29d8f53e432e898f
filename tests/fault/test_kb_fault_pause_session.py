"""A partition leader paused (SIGSTOP) past its coordinator session timeout: 3 brokers, a topic
of 6 partitions with RF=3 and min.insync.replicas=2, a producer with acks=all (librdkafka's own
retries on, the ledger learning from librdkafka which messages it sent again) running through
it. The others lead its partitions, its registration expires; resumed, it registers again and
must follow the new leaders: afterwards every acknowledged message is read back at the offset
its ack named, in order per partition, duplicates only of retried sends, and every replica holds
the same log (kbfaultcase.verify)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kbfaultcase import ReplicatedFaultCase as FailoverBase  # noqa: E402

class PauseLeaderPastSessionTest(FailoverBase):
    def test_sigstop_leader_past_session_timeout(self):
        """SIGSTOP of a leader until the others lead its partitions and its coordinator session
        expired (registration gone); SIGCONT: it registers again and must follow the new leaders
        (truncated to their logs). It used to keep acting as leader at its old epoch, its logs
        keeping what it appended while being replaced: its watches had gone with its session and
        only new topics were read again, and the controller told a re-registered broker nothing.
        Now a new session reads every known topic again and the controller sends a broker online
        again a LeaderAndIsr for every partition it hosts."""
        from samsatest.wait import wait_for
        v = self.victim(controller=False)
        led = self.led_by(v)
        self.c.pause(v)
        for p in led:
            self.c.wait_state(self.TOPIC, p, lambda st: st["leader"] not in (v, -1), what="a new leader")
        self.progress(50, what="the cluster with broker %d paused" % v)
        wait_for(lambda: self.c.znode_json("/brokers/ids/%d" % v) is None, 60,
                 "broker %d's registration to expire" % v)
        self.c.resume(v)
        self.c.wait_brokers()
        self.progress(20, what="the cluster with broker %d resumed" % v)
        self.verify("SIGSTOP of a partition leader past its session timeout")


if __name__ == "__main__":
    unittest.main()
