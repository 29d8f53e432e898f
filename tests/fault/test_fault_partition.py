"""Network partitions, each server in its own network namespace (ensemble netns mode; the
workload runs in the client namespace):

  * the leader of 3 is cut off: the other two elect a new leader and keep acknowledging writes,
    the cut one stops serving; healed, it rejoins as a follower;
  * a minority is cut off, 1 of 3 (a follower) and 2 of 5 (the leader and a follower): a client
    on the minority side (in the cut server's own namespace, connected to it) gets no write
    acknowledged, and the server answers srvr with "not currently serving requests", while the
    majority side elects a leader if it needs one and keeps acknowledging writes.

Each ends healed with faultcase.FaultCase.verify.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ensemble  # noqa: E402
import workload  # noqa: E402
from faultcase import FaultCase  # noqa: E402


class PartitionBase(FaultCase):
    NETNS = True

    @classmethod
    def setUpClass(cls):
        why = ensemble.netns_unavailable()
        if why:
            raise unittest.SkipTest("network namespaces unavailable: %s" % why)

    def cut_off(self, victims):
        """Cuts victims off; asserts the majority serves and writes, the minority refuses."""
        leader = self.ens.leader()
        for v in victims:
            self.ens.cut(v)
        majority = [i for i in self.ens.ids if i not in victims]
        new_leader = self.ens.wait_serving(majority, timeout=60)
        if leader in victims:
            self.assertNotEqual(new_leader, leader)
        self.progress(20, what="the majority %s" % majority)
        for v in victims:
            self.assertEqual(self.ens.wait_mode(v, ("not-serving", "down"), timeout=60),
                             "not-serving")
            self.assertIn("not currently serving", self.ens[v].srvr())
            # a client on the minority side, connected to the cut server
            res = workload.run_probe(self.ens, self.ens[v].hostport, writes=2, timeout=4,
                                 ns=self.ens[v].ns)
            self.assertEqual(res["ok"], 0, "minority server %d acknowledged a write: %s" % (v, res))
            self.assertTrue(res["errors"], res)
        # and a client of the majority side gets its writes in
        res = workload.run_probe(self.ens, self.ens.hosts(majority), writes=3, timeout=8)
        self.assertEqual(res["ok"], 3, "majority %s refused writes: %s" % (majority, res))
        self.progress(20, what="the majority %s" % majority)
        for v in victims:
            self.ens.heal(v)
        self.ens.wait_serving(self.ens.ids, timeout=90)
        return new_leader


class CutLeader3Test(PartitionBase):
    N = 3

    def test_cut_leader_and_heal(self):
        self.cut_off([self.ens.leader()])
        self.verify("leader cut off and healed")


class Minority3Test(PartitionBase):
    N = 3

    def test_one_of_three_cut_off_refuses_writes(self):
        self.cut_off([self.rng.choice(self.ens.followers())])
        self.verify("1 of 3 cut off and healed")


class Minority5Test(PartitionBase):
    N = 5

    def test_two_of_five_cut_off_refuse_writes(self):
        leader = self.ens.leader()
        self.cut_off([leader, self.rng.choice(self.ens.followers())])
        self.verify("2 of 5 (leader and a follower) cut off and healed")


if __name__ == "__main__":
    unittest.main()
