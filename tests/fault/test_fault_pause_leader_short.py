"""SIGSTOP of the leader of a 3-server ensemble for 3 s, shorter than its clients' session and
connection timeouts, while a kazoo client connected to that leader creates znodes one after
another; then SIGCONT. The others elect a new leader meanwhile; the resumed server steps down and
its applied but uncommitted txns are dropped. Every create it acknowledged must exist afterwards
on every server. (Before the fix, the resumed leader released the held replies of those txns in
the same step in which it stepped down, before reloading its state: about one round in three
acknowledged a create that no server has.) Five rounds, each against the leader of the moment."""
import threading
import time
import unittest
import logging

from kazoo.client import KazooClient
from kazoo.retry import KazooRetry

from samsatest import ensemble

logging.getLogger("kazoo").setLevel(logging.CRITICAL)


class PauseLeaderShortTest(unittest.TestCase):
    def test_acknowledged_creates_survive_a_short_leader_pause(self):
        ens = ensemble.Ensemble(3, kind="samsa", testcase=self)
        ens.start_all()
        ens.wait_serving(ens.ids)
        lost_total = []
        for rnd in range(5):
            leader = ens.leader()
            zk = KazooClient(hosts=ens[leader].hostport, timeout=10,
                             connection_retry=KazooRetry(max_tries=-1, delay=0.05, max_delay=0.5))
            zk.start(30)
            self.addCleanup(zk.close)
            self.addCleanup(zk.stop)
            base = "/r%d" % rnd
            zk.ensure_path(base)
            acked, stop = [], threading.Event()

            def write():
                n = 0
                while not stop.is_set():
                    try:
                        zk.create("%s/w-%d" % (base, n))
                        acked.append(n)
                    except Exception:  # not acknowledged: connection lost mid-request
                        time.sleep(0.05)
                    n += 1

            t = threading.Thread(target=write, daemon=True)
            t.start()
            deadline = time.monotonic() + 30
            while len(acked) < 20 and time.monotonic() < deadline:
                time.sleep(0.01)
            ens.pause(leader)
            time.sleep(3)  # the fault's length (a duration, not a wait for a condition)
            ens.resume(leader)
            ens.wait_serving(ens.ids)
            n0 = len(acked)
            deadline = time.monotonic() + 30
            while len(acked) < n0 + 20 and time.monotonic() < deadline:
                time.sleep(0.01)
            stop.set()
            t.join(15)
            for i in ens.ids:
                c = KazooClient(hosts=ens[i].hostport, timeout=10)
                c.start(30)
                try:
                    c.sync(base)
                    names = set(c.get_children(base))
                finally:
                    c.stop()
                    c.close()
                lost = [n for n in acked if "w-%d" % n not in names]
                if lost:
                    lost_total.append((rnd, leader, i, lost))
            self.assertGreater(len(acked), 40, "round %d: too few creates acknowledged" % rnd)
        self.assertEqual(lost_total, [], "acknowledged creates missing: (round, paused leader, server, seqs)")


if __name__ == "__main__":
    unittest.main()
