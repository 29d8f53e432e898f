"""deploy/drill as CI runs it: a short drill (4 rounds, a fixed seed that picks coordinator and
broker faults) on a deploy/cluster of 3 coordinators and 3 brokers on free ports; it must end with
exit status 0, its table saying every acknowledged record was read back and no acknowledged
coordinator write was lost; it must say that partitions are not in its menu (no --netns); and it
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
        rounds = re.findall(r"^round \d: (\w+) (coord|broker)-\d", out, re.M)
        self.assertEqual(len(rounds), 4, out)
        self.assertEqual({k for _, k in rounds}, {"coord", "broker"}, "seed 11 drills both kinds of node")
        self.assertIn("partitions are not in the menu: they need --netns", out)
        self.assertIn("nothing acknowledged was lost", out)
        for name, pid in pids(state).items():
            self.assertFalse(running(pid), "%s still runs after the drill" % name)


if __name__ == "__main__":
    unittest.main()
