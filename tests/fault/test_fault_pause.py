"""SIGSTOP past the session timeout, then SIGCONT: first the leader of a 3-server ensemble, then a
follower. While the leader is stopped the other two elect a new one and keep acknowledging
writes; the clients of the stopped server move to the others and their sessions survive (the
leader's stop lasts longer than every client's session timeout, 20 s for the pinging sessions,
the follower's longer than the writers' 8 s; the stopped server's session tracker must not
expire anyone when it wakes); the resumed server rejoins as a follower. Then
faultcase.FaultCase.verify."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultcase import FaultCase  # noqa: E402

from workload import PING_SESSION_TIMEOUT, SESSION_TIMEOUT  # noqa: E402


class Pause3Test(FaultCase):
    N = 3

    def pause_past_session_timeout(self, victim, is_leader, timeout):
        t0 = time.time()
        self.ens.pause(victim)
        others = [i for i in self.ens.ids if i != victim]
        if is_leader:
            self.ens.wait_new_leader(victim, others, timeout=60)
        self.progress(20, what="the servers %s" % others)
        # the fault lasts past the session timeout: a duration, not a wait for a condition
        time.sleep(max(0.0, t0 + timeout + 3 - time.time()))
        self.progress(5, what="the servers %s" % others)
        self.ens.resume(victim)
        self.assertIn(self.ens.wait_mode(victim, ("follower",), timeout=60), ("follower",))
        self.ens.wait_serving(self.ens.ids)
        self.progress(10)

    def test_sigstop_leader_then_follower(self):
        leader = self.ens.leader()
        self.pause_past_session_timeout(leader, True, PING_SESSION_TIMEOUT)
        follower = self.rng.choice(self.ens.followers())
        self.pause_past_session_timeout(follower, False, SESSION_TIMEOUT)
        self.verify("SIGSTOP leader %.0fs, then a follower %.0fs"
                    % (PING_SESSION_TIMEOUT + 3, SESSION_TIMEOUT + 3))


if __name__ == "__main__":
    unittest.main()
