"""Unit tests of the register linearizability checker on small hand-made histories, each drawn
as a timeline in its comment (| invoke, ] complete, > unknown: never completed)."""
import os
import random
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from linearizability import check, describe  # noqa: E402

INIT = ("init", 0)


def read(proc, t0, t1, value, version, result="ok"):
    return {"proc": proc, "kind": "read", "invoke": t0, "complete": t1, "result": result,
            "value": value, "version": version}


def cas(proc, t0, t1, expect, value, result="ok"):
    return {"proc": proc, "kind": "cas", "invoke": t0, "complete": t1, "result": result,
            "expect": expect, "value": value}


def unknown_cas(proc, t0, expect, value):
    return cas(proc, t0, None, expect, value, "unknown")


class CheckerTest(unittest.TestCase):
    def assertLin(self, history, init=INIT):
        r = check(history, init)
        self.assertTrue(r.ok, "%r\n%s" % (r, describe(r.stuck)))

    def assertNotLin(self, history, init=INIT):
        r = check(history, init)
        self.assertFalse(r.ok, "accepted a history that is not linearizable")
        return r

    def test_empty(self):
        self.assertLin([])

    def test_sequential(self):
        # a: |cas 0->a]  |read a,1]  |cas 1->b]  |read b,2]
        self.assertLin([cas(0, 0, 1, 0, "a"), read(0, 2, 3, "a", 1),
                        cas(0, 4, 5, 1, "b"), read(0, 6, 7, "b", 2)])

    def test_read_of_initial_state(self):
        self.assertLin([read(0, 0, 1, "init", 0)])
        self.assertNotLin([read(0, 0, 1, "init", 1)])

    def test_stale_read_after_write_completed(self):
        # a: |cas 0->a]
        # b:            |read init]     the write finished before the read began
        r = self.assertNotLin([cas(0, 0, 1, 0, "a"), read(1, 2, 3, "init", 0)])
        self.assertEqual(r.stuck["kind"], "read")

    def test_concurrent_read_may_see_either(self):
        # a: |---cas 0->a---]
        # b:    |read init]
        # c:    |read a   ]
        self.assertLin([cas(0, 0, 10, 0, "a"), read(1, 1, 2, "init", 0), read(2, 1, 3, "a", 1)])

    def test_reads_must_agree_on_order(self):
        # a: |-------cas 0->a-------]
        # b:   |read a]  |read init]    once a read saw a, a later read cannot see init
        self.assertNotLin([cas(0, 0, 10, 0, "a"), read(1, 1, 2, "a", 1), read(1, 3, 4, "init", 0)])

    def test_two_cas_with_same_version_cannot_both_succeed(self):
        # a: |cas 0->a]
        # b: |cas 0->b]    concurrent, both ok: impossible
        self.assertNotLin([cas(0, 0, 5, 0, "a"), cas(1, 0, 5, 0, "b")])

    def test_cas_race_one_fails(self):
        # a: |cas 0->a  ok]
        # b:  |cas 0->b fail]
        # c:                   |read a,1]
        self.assertLin([cas(0, 0, 5, 0, "a"), cas(1, 1, 6, 0, "b", "fail"), read(2, 7, 8, "a", 1)])

    def test_failed_cas_needs_a_mismatching_version(self):
        # the only write is the failing one: version stays 0 = expect, so BadVersion is a lie
        self.assertNotLin([cas(0, 0, 1, 0, "a", "fail")])
        # it may fail if a concurrent write moved the version first
        self.assertLin([cas(1, 0, 3, 0, "b"), cas(0, 1, 2, 0, "a", "fail")])
        # but not when that write began after the failure was answered
        self.assertNotLin([cas(0, 0, 1, 0, "a", "fail"), cas(1, 2, 3, 0, "b")])

    def test_unknown_cas_may_never_happen(self):
        # a: |cas 0->a  >            (connection lost)
        # b:                |read init]
        self.assertLin([unknown_cas(0, 0, 0, "a"), read(1, 5, 6, "init", 0)])

    def test_unknown_cas_may_happen_late(self):
        # a: |cas 0->a >
        # b:              |read init]   |read a,1]   took effect long after the client gave up
        self.assertLin([unknown_cas(0, 0, 0, "a"), read(1, 5, 6, "init", 0),
                        read(1, 10, 11, "a", 1)])

    def test_unknown_cas_not_before_invoke(self):
        # b: |read a,1]
        # a:            |cas 0->a >     the value cannot be seen before the write was sent
        self.assertNotLin([read(1, 0, 1, "a", 1), unknown_cas(0, 2, 0, "a")])

    def test_unknown_cas_needs_its_version(self):
        # a: |cas 0->a ok]
        # b:               |cas 0->b >    the version is 1 by then: b can never apply
        # c:                                |read b,1]
        self.assertNotLin([cas(0, 0, 1, 0, "a"), unknown_cas(1, 2, 0, "b"), read(2, 5, 6, "b", 1)])

    def test_unknown_cas_cannot_happen_twice(self):
        # one unknown write seen, then overwritten, then seen again: no
        self.assertNotLin([unknown_cas(0, 0, 0, "a"), read(1, 1, 2, "a", 1),
                           cas(1, 3, 4, 1, "c"), read(1, 5, 6, "a", 1)])

    def test_failed_reads_are_ignored(self):
        self.assertLin([cas(0, 0, 1, 0, "a"), read(1, 2, None, None, None, "unknown"),
                        read(1, 3, 4, "a", 1)])

    def test_definite_result_needs_completion(self):
        with self.assertRaises(ValueError):
            check([cas(0, 0, None, 0, "a")], INIT)

    def test_lost_update(self):
        # a: |cas 0->a ok]
        # b:                |cas 1->b ok]
        # c:                               |read a,1]    b's acknowledged write is gone
        self.assertNotLin([cas(0, 0, 1, 0, "a"), cas(1, 2, 3, 1, "b"), read(2, 4, 5, "a", 1)])

    def test_generated_histories(self):
        """Histories of a simulated correct register are accepted; corrupting one ok read of a
        value into the previous value, where that read started after the write completed, is
        rejected."""
        for seed in range(40):
            rng = random.Random(seed)
            history = simulate(rng, procs=4, ops=60)
            self.assertLin(history)
            stale = [op for op in history if op["kind"] == "read" and op["result"] == "ok"
                     and op["version"] > 0 and op.get("prev_complete") is not None
                     and op["invoke"] > op["prev_complete"]]
            if stale:
                bad = rng.choice(stale)
                bad["value"], bad["version"] = bad["prev"]
                self.assertNotLin(history)

    def test_long_history_is_fast(self):
        rng = random.Random(7)
        history = simulate(rng, procs=5, ops=3000)
        t0 = time.time()
        self.assertLin(history)
        self.assertLess(time.time() - t0, 30)


def simulate(rng, procs, ops):
    """A correct register driven by procs concurrent clients: each operation takes effect at a
    random instant inside its interval; a cas expects the current version most of the time, and
    a few answers are lost (unknown). Each ok read also notes the state before the latest write
    and when that write completed (prev, prev_complete), for corrupting it into a stale read."""
    busy = [0.0] * procs
    points = []
    for n in range(ops):
        p = rng.randrange(procs)
        t0 = busy[p] + rng.random()
        t1 = t0 + rng.random() * 3
        busy[p] = t1
        kind = "read" if rng.random() < 0.5 else "cas"
        op = {"proc": p, "kind": kind, "invoke": t0, "complete": t1, "result": "ok"}
        if kind == "cas":
            op["value"] = "v%d" % n
            if rng.random() < 0.05:
                op["result"] = "unknown"
        points.append((rng.uniform(t0, t1), op))
    state = ("init", 0)
    prev_state, prev_complete = None, None
    history = []
    for _, op in sorted(points, key=lambda x: x[0]):
        if op["kind"] == "read":
            op["value"], op["version"] = state
            op["prev"], op["prev_complete"] = prev_state, prev_complete
        else:
            op["expect"] = state[1] if rng.random() < 0.7 else max(0, state[1] - 1)
            if op["expect"] == state[1]:
                prev_state = state
                prev_complete = op["complete"] if op["result"] == "ok" else None
                state = (op["value"], state[1] + 1)
            elif op["result"] == "ok":
                op["result"] = "fail"
        if op["result"] == "unknown":
            op["complete"] = None
        history.append(op)
    return history


if __name__ == "__main__":
    unittest.main()
