"""kill -9, over and over, of the leader and of random followers of a 3- and a 5-server ensemble
under the workload (loopback); each killed server is restarted on its data directory. The
majority keeps acknowledging writes while a minority is down; after the last restart every
server holds every acknowledged write, all trees are identical, the pinging sessions survived and
the register history is linearizable (faultcase.FaultCase.verify)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultcase import FaultCase  # noqa: E402


class KillBase(FaultCase):
    ROUNDS = 6

    def kill_round(self, victims):
        for v in victims:
            self.ens.kill9(v)
        alive = [i for i in self.ens.ids if i not in victims]
        self.ens.wait_serving(alive, timeout=60)
        self.progress(20, what="the majority %s" % alive)
        for v in victims:
            self.ens.start(v)
        self.ens.wait_serving(self.ens.ids, timeout=90)
        self.progress(10)

    def run_kills(self, max_down):
        """Round r kills the leader (even r) or random followers (odd r); up to max_down at once,
        the leader among them on even rounds."""
        for r in range(self.ROUNDS):
            leader = self.ens.leader()
            followers = [i for i in self.ens.ids if i != leader]
            self.rng.shuffle(followers)
            if r % 2 == 0:
                victims = [leader] + followers[:max_down - 1]
            else:
                victims = followers[:max_down]
            self.kill_round(victims)


class Kill3Test(KillBase):
    N = 3

    def test_kill9_leader_and_followers(self):
        self.run_kills(1)
        self.verify("kill -9 x%d" % self.ROUNDS)


class Kill5Test(KillBase):
    N = 5

    def test_kill9_leader_and_followers(self):
        self.run_kills(2)
        self.verify("kill -9 x%d (two at a time)" % self.ROUNDS)


if __name__ == "__main__":
    unittest.main()
