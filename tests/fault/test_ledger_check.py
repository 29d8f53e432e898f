"""The broker fault tests' checker (ledger_check.check) on crafted histories: a clean one and one
with explained duplicates pass; a lost acknowledgement, an acknowledged record overwritten, a
reordering, an unexplained duplicate, a foreign record and a record in the wrong partition each
fail, naming the rule. Also how the producer's ledger reads librdkafka's retries from its log."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ledger_check import check  # noqa: E402


def ledger(sends, retried=()):
    """sends: (seq, partition, result, offset[, attempts])."""
    out = []
    for s in sends:
        seq, p, res, off = s[:4]
        out.append({"seq": seq, "partition": p, "attempts": s[4] if len(s) > 4 else 1, "result": res,
                    "offset": off, "error": None if res == "ack" else "timed out"})
    return {"topic": "t", "sends": out, "retried": list(retried)}


# seqs 0..5 over two partitions (even -> 0, odd -> 1), all acknowledged in order
CLEAN = ledger([(0, 0, "ack", 0), (1, 1, "ack", 0), (2, 0, "ack", 1), (3, 1, "ack", 1),
                (4, 0, "ack", 2), (5, 1, "ack", 2)])
CLEAN_READ = {0: [(0, 0), (1, 2), (2, 4)], 1: [(0, 1), (1, 3), (2, 5)]}


class LedgerCheckTest(unittest.TestCase):
    def rules(self, rep):
        return set(rep.rule_counts())

    def test_clean_history_passes(self):
        rep = check(CLEAN, CLEAN_READ)
        self.assertTrue(rep.ok, rep)
        self.assertEqual((rep.counts["acked"], rep.counts["read"], rep.counts["duplicates"]), (6, 6, 0))

    def test_retried_duplicate_is_counted_not_an_error(self):
        # seq 2 timed out (its first write did land at offset 1), was produced again after seq 4
        # and acknowledged at offset 3; seq 6 failed for good but was written; seq 7 is unknown
        # and absent
        led = ledger([(0, 0, "ack", 0), (2, 0, "ack", 3, 2), (4, 0, "ack", 2), (6, 0, "fail", None),
                      (7, 1, "unknown", None)], retried=[2])
        read = {0: [(0, 0), (1, 2), (2, 4), (3, 2), (4, 6)], 1: []}
        rep = check(led, read)
        self.assertTrue(rep.ok, rep)
        self.assertEqual(rep.counts["duplicates"], 1)
        self.assertEqual(rep.counts["unacked_read"], 1)  # seq 6
        self.assertEqual((rep.counts["failed"], rep.counts["unknown"], rep.counts["retried"]), (1, 1, 1))

    def test_lost_ack_fails(self):
        read = {0: [(0, 0), (1, 2)], 1: CLEAN_READ[1]}  # seq 4 at 0/2 missing (truncated)
        rep = check(CLEAN, read)
        self.assertFalse(rep.ok)
        self.assertEqual(self.rules(rep), {"1 lost"})
        self.assertIn("seq 4 acknowledged at partition 0 offset 2 is not in the log", rep.errors[0])

    def test_ack_overwritten_fails(self):
        # a new leader without seq 2 accepted other writes at its offset
        led = ledger([(0, 0, "ack", 0), (2, 0, "ack", 1), (4, 0, "ack", 1)])
        rep = check(led, {0: [(0, 0), (1, 4)]})
        self.assertEqual(self.rules(rep), {"1 overwritten"})
        self.assertTrue(any("seq 2 acknowledged at partition 0 offset 1, but the log holds seq 4" in e
                            for e in rep.errors), rep.errors)

    def test_reordering_fails(self):
        # the acks said 2 then 4; the log has 4 before 2 (and so the acks' offsets are wrong too)
        read = {0: [(0, 0), (1, 4), (2, 2)], 1: CLEAN_READ[1]}
        rep = check(CLEAN, read)
        self.assertIn("2 order", self.rules(rep))
        self.assertTrue(any("seq 2 at offset 2 comes after seq 4 at offset 1" in e for e in rep.errors),
                        rep.errors)
        # reordered unacknowledged sends fail the order rule alone
        led = ledger([(0, 0, "unknown", None), (2, 0, "unknown", None)])
        rep = check(led, {0: [(0, 2), (1, 0)]})
        self.assertEqual(self.rules(rep), {"2 order"})

    def test_unexplained_duplicate_fails(self):
        read = {0: CLEAN_READ[0] + [(3, 2)], 1: CLEAN_READ[1]}
        rep = check(CLEAN, read)
        self.assertEqual(self.rules(rep), {"3 duplicate"})
        self.assertIn("seq 2 read 2 times (0/1, 0/3) but sent once", rep.errors[0])
        # the same history passes when seq 2 was retried
        retried = dict(CLEAN, retried=[2])
        rep = check(retried, read)
        self.assertTrue(rep.ok, rep)
        self.assertEqual(rep.counts["duplicates"], 1)

    def test_foreign_and_misplaced_records_fail(self):
        rep = check(CLEAN, {0: CLEAN_READ[0] + [(3, None), (4, 99)], 1: CLEAN_READ[1]})
        self.assertEqual(self.rules(rep), {"4 foreign"})
        self.assertEqual(len(rep.errors), 2)
        rep = check(CLEAN, {0: CLEAN_READ[0] + [(3, 5)], 1: CLEAN_READ[1]})
        self.assertIn("4 foreign", self.rules(rep))
        self.assertTrue(any("seq 5 was sent to partition 1 but read from partition 0" in e for e in rep.errors))

    def test_offsets_going_back_fail(self):
        rep = check(CLEAN, {0: [(0, 0), (1, 2), (2, 4), (1, 2)], 1: CLEAN_READ[1]})
        self.assertIn("5 offsets", self.rules(rep))

    def test_errors_are_capped_per_rule(self):
        rep = check(CLEAN, {0: [], 1: []})
        self.assertEqual(rep.rule_counts(), {"1 lost": 6})
        self.assertEqual(len(rep.errors), 6)  # 5 listed + one "more" line
        self.assertIn("not listed", rep.errors[-1])


class ClientRetryLogTest(unittest.TestCase):
    """How the ledger learns of librdkafka's own retries (kafka_ledger, retry="client"): from
    librdkafka's debug lines (as librdkafka 2.0 prints them), the oldest messages of the
    partition still without a report."""

    def setUp(self):
        import kafka_ledger
        self.kl = kafka_ledger
        # never started: no thread, and no broker at this address
        self.prod = kafka_ledger.LedgerProducer("127.0.0.1:1", "ledger", 2, retry="client",
                                                conf={"log_level": 0})
        self.addCleanup(self.prod.close)
        for seq in range(10):  # seqs 0..9, partition seq % 2, none reported yet
            e = {"seq": seq, "partition": seq % 2, "attempts": 1, "result": "unknown", "offset": None,
                 "error": None}
            self.prod.sends[seq] = self.prod.pending[seq] = e

    def line(self, text):
        import logging
        self.kl._LogParser(self.prod).emit(logging.LogRecord("x", logging.DEBUG, "", 0, text, None, None))

    def test_sets_sent_again_are_the_oldest_pending(self):
        pre = "127.0.0.1:22287/2: ledger [0]: MessageSet with 2 message(s) (MsgId 0, BaseSeq -1) encountered error: "
        self.line(pre + "Broker: Not leader for partition (actions Refresh,MsgNotPersisted)")
        self.assertEqual(self.prod.ledger()["retried"], [0, 2])
        # seq 0 acknowledged meanwhile: the next failing set starts at seq 2
        del self.prod.pending[0]
        self.line(pre.replace("[0]", "[1]").replace("with 2", "with 3") +
                  "Local: Broker transport failure (actions Refresh,MsgPossiblyPersisted)")
        self.line(pre.replace("with 2", "with 1") + "Local: Timed out (actions Retry,MsgPossiblyPersisted)")
        self.assertEqual(self.prod.ledger()["retried"], [0, 1, 2, 3, 5])

    def test_other_lines_and_permanent_errors_are_not_retries(self):
        self.line("127.0.0.1:1/0: ledger [0]: MessageSet with 3 message(s) (MsgId 0, BaseSeq -1) delivered")
        self.line("127.0.0.1:1/0: ledger [0]: Produce MessageSet with 3 message(s) (183 bytes, ApiVersion 7)")
        self.line("127.0.0.1:1/0: ledger [1]: MessageSet with 2 message(s) (MsgId 0, BaseSeq -1) encountered "
                  "error: Broker: Message size too large (actions Permanent,MsgNotPersisted)")
        self.assertEqual(self.prod.ledger()["retried"], [])


if __name__ == "__main__":
    unittest.main()
