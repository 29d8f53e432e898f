"""The base of the fault tests: an ensemble with the workload running against it, and the checks
every scenario ends with once its faults are healed:

  1. every acknowledged write is on EVERY server, with its value and the zxid it was
     acknowledged with (a client connected to that server alone, after sync);
     no write the server refused definitely is anywhere;
  2. all servers hold identical trees (sha256 of path + data + version over a full walk);
  3. the sessions that kept pinging survived: never expired, same session id, and their
     ephemerals are on every server, owned by them;
  4. the register history is linearizable (linearizability.check).

Each test prints one line of figures to stderr (writes acknowledged, register operations,
duration). Everything is torn down by addCleanup, also on failure.
"""
import os
import random
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ensemble  # noqa: E402
import linearizability  # noqa: E402
import workload  # noqa: E402
from samsatest.workdir import test_failed  # noqa: E402


class FaultCase(unittest.TestCase):
    N = 3
    NETNS = False
    SEED = 1

    def setUp(self):
        self.t0 = time.time()
        self.rng = random.Random(int(os.environ.get("SAMSA_FAULT_SEED", self.SEED)))
        if ensemble.target() == "samsa" and not ensemble.coord_binary():
            self.fail("SAMSA_ZK_TARGET=samsa needs SAMSA_COORD to name the samsa-coord binary")
        # the ensemble's work directory is kept (its path in the failure message) if the test fails
        self.ens = ensemble.Ensemble(self.N, netns=self.NETNS, testcase=self)
        self.ens.start()
        self.leader = self.ens.wait_serving()
        self.wl = workload.Workload(self.ens, seed=self.rng.randrange(1 << 30))
        self.wl.start()
        # a failing test shows the servers' last log lines
        self.addCleanup(self._logs_on_failure)

    def _logs_on_failure(self):
        """On failure: the servers' last log lines (their work directory is kept)."""
        if test_failed(self):
            print("---- server logs (%s)\n%s" % (self.ens.dir, self.ens.logs(2500)),
                  file=sys.stderr)

    def progress(self, writes=20, timeout=60, what="the ensemble"):
        """Asserts the workload gets `writes` more writes acknowledged within timeout."""
        self.assertTrue(self.wl.wait_progress(writes, timeout),
                        "%s acknowledged no %d writes within %ss (modes %s)"
                        % (what, writes, timeout, self.ens.modes()))

    def _zxid(self, i):
        try:
            return "%#x" % self.ens[i].zxid()
        except (OSError, TypeError):
            return "?"

    def verify(self, name):
        """Heals nothing itself: the caller has healed, resumed and restarted everything."""
        self.ens.wait_serving(self.ens.ids, timeout=90)
        self.progress(10, what="the healed ensemble")
        hist = self.wl.stop()
        writes = hist["writes"]
        acked = [w for w in writes if w["result"] == "ok"]
        refused = [w for w in writes if w["result"] == "fail"]
        self.assertGreater(len(acked), 50, "too few writes acknowledged to prove anything")

        # 3, as the clients saw it
        for s in hist["sessions"]:
            self.assertFalse(s["lost"], "pinging session %s expired: %s" % (s["path"], s["states"]))
            self.assertTrue(s["connected"], "pinging session %s not reconnected: %s"
                            % (s["path"], s["states"]))
            self.assertEqual(s["session_id_now"], s["session_id"])
        # 1 and 3, per server; 2 across servers
        digests = {}
        trees = {}
        for i in self.ens.ids:
            nodes = workload.dump_server(self.ens, i)
            trees[i] = nodes
            digests[i] = workload.tree_digest(nodes)
            missing = [w for w in acked if w["path"] not in nodes]
            if missing:
                zx = sorted(w["zxid"] for w in missing)
                # lagging or lost? read that server once more
                again = workload.dump_server(self.ens, i)
                still = sum(w["path"] not in again for w in missing)
                self.fail("server %d (%s, srvr Zxid %s) lacks %d of %d acknowledged writes "
                          "(%d still on a second read), zxids %#x..%#x, e.g. %s"
                          % (i, self.ens.mode(i), self._zxid(i), len(missing), len(acked),
                             still, zx[0], zx[-1], missing[:2]))
            wrong = [(w, nodes[w["path"]]) for w in acked
                     if (nodes[w["path"]][0], nodes[w["path"]][2]) != (w["value"], w["zxid"])]
            if wrong:
                self.fail("server %d: %d acknowledged writes with another value or zxid, e.g. %s"
                          % (i, len(wrong), wrong[:3]))
            present = [w for w in refused if w["path"] in nodes]
            if present:
                self.fail("server %d holds %d writes it refused, e.g. %s"
                          % (i, len(present), present[:3]))
            for s in hist["sessions"]:
                if s["path"] not in nodes:
                    self.fail("server %d lost the ephemeral %s of a live session; the session "
                              "saw %s" % (i, s["path"], s["states"]))
                self.assertEqual(nodes[s["path"]][4], s["session_id"],
                                 "server %d: %s owned by another session" % (i, s["path"]))
        if len(set(digests.values())) != 1:
            ref = trees[self.ens.ids[0]]
            diffs = {}
            for i in self.ens.ids[1:]:
                other = trees[i]
                diffs[i] = sorted(p for p in set(ref) | set(other)
                                  if ref.get(p, [None, None])[:2] != other.get(p, [None, None])[:2])[:5]
            self.fail("servers hold different trees: digests %s; differing paths vs server %d: %s"
                      % (digests, self.ens.ids[0], diffs))
        self.wl.quit()

        # 4
        reg = hist["register"]
        t = time.time()
        res = linearizability.check(reg, tuple(hist["init"]))
        self.assertTrue(res.ok, "register history of %d operations: %r\nstuck at: %s"
                        % (len(reg), res, linearizability.describe(res.stuck)))
        unknown = sum(w["result"] == "unknown" for w in writes)
        print("\n%s [%s, %d servers%s]: %d writes acknowledged, %d unknown, %d refused; register "
              "%d ops (%d cas ok, %d unknown) linearizable (checked in %.1fs); trees identical "
              "(%d znodes); %d sessions survived; %.0fs"
              % (name, self.ens.kind, self.N, ", netns" if self.NETNS else "", len(acked), unknown,
                 len(refused), len(reg),
                 sum(o["kind"] == "cas" and o["result"] == "ok" for o in reg),
                 sum(o["result"] == "unknown" for o in reg), time.time() - t,
                 len(trees[self.ens.ids[0]]), len(hist["sessions"]), time.time() - self.t0),
              file=sys.stderr)
