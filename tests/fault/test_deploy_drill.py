"""deploy/drill as CI runs it: a short drill (4 rounds, a fixed seed that picks coordinator and
broker faults) on a deploy/cluster of 3 coordinators and 3 brokers on free ports; it must end with
exit status 0, its table saying every acknowledged record was read back and no acknowledged
coordinator write was lost; and it must leave no process behind."""
import json
import os
import re
import signal
import subprocess
import sys
import unittest

from samsatest.ports import port_block
from samsatest.workdir import WorkDir

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.dirname(os.path.dirname(os.environ["SAMSA_BROKER"]))


def running(pid):
    """Whether pid is a process that has not exited (a zombie has)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class DrillTest(unittest.TestCase):
    def test_short_drill(self):
        work = WorkDir(self, prefix="samsa-drill-")
        state = os.path.join(work.path, "cluster")
        env = dict(os.environ, SAMSA_CLUSTER_DIR=state, SAMSA_BUILD=BUILD)

        def leave_nothing():
            try:
                with open(os.path.join(state, "cluster.json")) as f:
                    procs = json.load(f)["procs"]
            except FileNotFoundError:
                return
            for p in procs.values():
                try:
                    with open("/proc/%d/environ" % p["pid"], "rb") as f:
                        if ("SAMSA_CLUSTER_DIR=" + state).encode() in f.read():
                            os.kill(p["pid"], signal.SIGKILL)
                except OSError:
                    pass
        self.addCleanup(leave_nothing)
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
        self.assertIn("nothing acknowledged was lost", out)
        with open(os.path.join(state, "cluster.json")) as f:
            for name, p in json.load(f)["procs"].items():
                self.assertFalse(running(p["pid"]), "%s still runs after the drill" % name)


if __name__ == "__main__":
    unittest.main()
