"""deploy/drill's consumer-group checker (group_check.check_group) on crafted histories: a clean
one counts every acknowledged record consumed; a record never delivered, or delivered with
another seq at its offset, is missed; a record delivered again after a rebalance is re-delivered,
not missed; a member's position moving back within a session is out of order; and the stalls are
the times acknowledged records waited with no new delivery."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from group_check import check_group, longest, longest_wait, per_round, stalls  # noqa: E402


def sends(*acks):
    """acks: (seq, partition, offset, acked_at); a send with offset None failed."""
    return [{"seq": q, "partition": p, "offset": o, "acked_at": t, "result": "ack" if o is not None else "fail"}
            for q, p, o, t in acks]


# seqs 0..3 over two partitions, acknowledged at t=1..4
LEDGER = sends((0, 0, 0, 1.0), (1, 1, 0, 2.0), (2, 0, 1, 3.0), (3, 1, 1, 4.0), (4, 0, None, None))


class GroupCheckTest(unittest.TestCase):
    def test_clean(self):
        d = [("m1", 1, 0, 0, 0, 1.1), ("m2", 1, 1, 0, 1, 2.1), ("m1", 1, 0, 1, 2, 3.1), ("m2", 1, 1, 1, 3, 4.1)]
        r = check_group(LEDGER, d, 0.0, 5.0)
        self.assertEqual((r["acked"], r["consumed"], r["missed_count"], r["redelivered"], r["out_of_order"]),
                         (4, 4, 0, 0, 0))
        self.assertAlmostEqual(longest(r["stalls"]), 0.1)
        self.assertAlmostEqual(r["longest_wait"], 0.1)

    def test_missed_and_misplaced(self):
        d = [("m1", 1, 0, 0, 0, 1.1), ("m2", 1, 1, 0, 7, 2.1), ("m1", 1, 0, 1, 2, 3.1)]
        r = check_group(LEDGER, d, 0.0, 5.0)
        self.assertEqual((r["consumed"], r["missed_count"]), (2, 2))
        self.assertAlmostEqual(longest_wait(r["waits"], 0.0, 1.5), 0.1)
        self.assertIsNone(longest_wait(r["waits"], 1.5, 2.5))  # seq 1, acked at 2.0: never delivered
        self.assertEqual(r["missed"], [(1, 0, 1), (1, 1, 3)])
        # seq 1 (acked at 2.0) waited from 3.1 (the last new delivery) to the end
        self.assertAlmostEqual(longest(r["stalls"]), 1.9)

    def test_redelivery_after_rebalance(self):
        # m1 had partition 0 and 1, delivered 0/0 and 1/0; after a rebalance m2 gets partition 1
        # and starts again at 1/0 (m1's commit did not include it)
        d = [("m1", 1, 0, 0, 0, 1.1), ("m1", 1, 1, 0, 1, 2.1), ("m1", 2, 0, 1, 2, 3.1), ("m2", 2, 1, 0, 1, 3.5),
             ("m2", 2, 1, 1, 3, 4.1)]
        r = check_group(LEDGER, d, 0.0, 5.0)
        self.assertEqual((r["consumed"], r["missed_count"], r["redelivered"], r["out_of_order"]), (4, 0, 1, 0))
        self.assertAlmostEqual(r["longest_wait"], 0.1)  # from the ack to the first delivery, not the second

    def test_out_of_order_within_a_session(self):
        d = [("m1", 1, 0, 0, 0, 1.1), ("m1", 1, 0, 1, 2, 3.1), ("m1", 1, 0, 0, 0, 3.2), ("m2", 1, 1, 0, 1, 2.1),
             ("m2", 1, 1, 1, 3, 4.1)]
        r = check_group(LEDGER, d, 0.0, 5.0)
        self.assertEqual((r["consumed"], r["redelivered"], r["out_of_order"]), (4, 1, 1))

    def test_stalls(self):
        # new deliveries at 1 and 5; the ack at 0.5 waits to 1, those at 2 and 3 from 2 to 5
        self.assertEqual(stalls([1.0, 5.0], [(0.5, 1.0), (2.0, 5.0), (3.0, 5.0)], 0.0, 6.0), [(0.5, 1.0), (2.0, 5.0)])
        # delivered before its ack reached the producer: never waiting
        self.assertEqual(stalls([1.0], [(2.0, 1.0)], 0.0, 6.0), [])
        # never delivered: waits to the end; before begin counts from begin
        self.assertEqual(stalls([], [(-1.0, None)], 0.0, 6.0), [(0.0, 6.0)])
    def test_per_round(self):
        # rounds 0..10 and 10..12: a gap from 9.9 to 11.9 (begun as round 2's fault struck) is
        # round 2's, not also round 1's; one after the last round is none's
        self.assertEqual(per_round([(1.0, 2.0), (9.9, 11.9), (12.5, 13.0)], [(0.0, 10.0), (10.0, 12.0)]),
                         [1.0, 2.0])
        self.assertEqual(per_round([], [(0.0, 1.0)]), [0.0])


if __name__ == "__main__":
    unittest.main()
