"""deploy/drill as CI runs it: a short drill (4 rounds, a fixed seed that picks coordinator and
broker faults) on a deploy/cluster of 3 coordinators and 3 brokers on free ports; it must end with
exit status 0, its table saying every acknowledged record was read back, no acknowledged
coordinator write was lost, and its consumer group (2 members) consumed every acknowledged record
(none missed) and drained to the high watermarks (check_group_rows, also used by the --netns
test); it must say that partitions are not in its menu (no --netns); and it
must leave no process behind."""
import os
import re
import subprocess
import sys
import unittest

from samsatest.deploycluster import kill_left, pids, running
from samsatest.ports import port_block
from samsatest.workdir import WorkDir

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.dirname(os.path.dirname(os.environ["SAMSA_BROKER"]))


def check_group_rows(test, out, acked):
    """The consumer group's rows: every acknowledged record consumed, none missed, the group
    drained to the high watermarks; re-deliveries, reorderings, rebalances and the longest
    stall reported (numbers)."""
    test.assertRegex(out, r"consumer group drill-\d+-\d+: 2 members")
    consumed = re.search(r"\| group drill-\d+-\d+: acknowledged records consumed \| (\d+) \|", out)
    test.assertIsNotNone(consumed, out)
    test.assertEqual(int(consumed.group(1)), acked, out)
    test.assertIn("| group: acknowledged records missed (never delivered) | 0 |", out)
    test.assertRegex(out, r"\| group: records re-delivered \(at-least-once, [^|]*\) \| \d+ \|")
    test.assertRegex(out, r"\| group: out of order within a partition and member session \| \d+ \|")
    rebalances = re.search(r"\| group: rebalances seen during the rounds \(new assignments, member 1 / member 2\) "
                           r"\| (\d+) / (\d+) \|", out)
    test.assertIsNotNone(rebalances, out)
    test.assertGreaterEqual(min(int(rebalances.group(1)), int(rebalances.group(2))), 0)
    test.assertRegex(out, r"\| group: drained to the high watermarks [\d,]+ \| in [\d.]+ s after the producer "
                          r"stopped \|")
    test.assertRegex(out, r"\| group: longest stall \(no record delivered while acknowledged ones waited\) "
                          r"\| [\d.]+ s \|")
    test.assertRegex(out, r"\| group: longest wait \(from a record's ack to its delivery to the group\) \| [\d.]+ s \|")
    test.assertNotRegex(out, r"/ never delivered \|")  # a round whose acknowledged records it never got


class DrillTest(unittest.TestCase):
    def test_short_drill(self):
        work = WorkDir(self, prefix="samsa-drill-")
        state = os.path.join(work.path, "cluster")
        env = dict(os.environ, SAMSA_CLUSTER_DIR=state, SAMSA_BUILD=BUILD)

        self.addCleanup(kill_left, state)
        r = subprocess.run([sys.executable, os.path.join(ROOT, "deploy", "drill"), "--rounds", "4", "--seed", "11",
                            "--hold", "2", "--port-base", str(port_block(100))],
                           capture_output=True, text=True, env=env, timeout=540)
        out = r.stdout
        print(out, file=sys.stderr)  # the drill's table, in the test log
        self.assertEqual(r.returncode, 0, out + r.stderr)
        acked = int(re.search(r"\| records acknowledged \| (\d+) \|", out).group(1))
        read = int(re.search(r"\| records read back \| (\d+) \|", out).group(1))
        self.assertGreater(acked, 100, out)
        self.assertGreaterEqual(read, acked, out)
        self.assertIn("| acknowledged records lost or overwritten | 0 |", out)
        self.assertIn("| coordinator writes lost | 0 |", out)
        check_group_rows(self, out, acked)
        rounds = re.findall(r"^round \d: (\w+) (coord|broker)-\d", out, re.M)
        self.assertEqual(len(rounds), 4, out)
        self.assertEqual({k for _, k in rounds}, {"coord", "broker"}, "seed 11 drills both kinds of node")
        self.assertIn("partitions are not in the menu: they need --netns", out)
        self.assertIn("nothing acknowledged was lost", out)
        for name, pid in pids(state).items():
            self.assertFalse(running(pid), "%s still runs after the drill" % name)


if __name__ == "__main__":
    unittest.main()
