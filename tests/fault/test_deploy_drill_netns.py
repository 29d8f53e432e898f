"""deploy/drill --netns as CI runs it: a short drill (3 rounds; seed 18 picks kill -9 of a
coordinator, a partition of a broker and a pause of a coordinator) on a deploy/cluster of 3
coordinators and 3 brokers each in a network namespace of its own, the drill's clients in the
client namespace. The broker is cut off for 20 s (beyond its 18 s coordinator session); the
others must replace it as leader and drop it from every ISR while it is cut off and still runs
(the table's "went on without it" row); healed, it must come back into every ISR. The drill
must end with exit status 0, its table saying every acknowledged record was read back, no
acknowledged coordinator write was lost and the consumer group (its members in the client
namespace too) consumed every acknowledged record; and it must leave no process and no namespace behind
(both removed by pid and exact name here also when the drill fails, the work directory then kept
and named). Needs root (skipped otherwise)."""
import os
import re
import subprocess
import sys
import unittest
import zlib

from samsatest.deploycluster import kill_left, pids, running
from samsatest.ensemble import netns_unavailable
from samsatest.ports import port_block
from samsatest.workdir import WorkDir

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_deploy_drill import check_group_rows  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.dirname(os.path.dirname(os.environ["SAMSA_BROKER"]))


def namespaces(prefix):
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.split() and line.split()[0].startswith(prefix)]


class DrillNetnsTest(unittest.TestCase):
    def setUp(self):
        why = netns_unavailable()
        if why:
            self.skipTest("network namespaces unavailable: %s" % why)

    def test_short_drill_with_partitions(self):
        work = WorkDir(self, prefix="samsa-drill-netns-")
        state = os.path.join(work.path, "cluster")
        # deploy/cluster names a --netns cluster's namespaces after its state directory
        prefix = "samsac%08x-" % zlib.crc32(os.path.abspath(state).encode())
        self.assertEqual(namespaces(prefix), [], "namespaces %s* exist before the drill" % prefix)
        env = dict(os.environ, SAMSA_CLUSTER_DIR=state, SAMSA_BUILD=BUILD)

        def leave_nothing():  # cleanups run last first: the daemons go before their namespaces
            for name in namespaces(prefix):
                subprocess.run(["ip", "netns", "del", name], capture_output=True)
        self.addCleanup(leave_nothing)
        self.addCleanup(kill_left, state)
        try:
            r = subprocess.run([sys.executable, os.path.join(ROOT, "deploy", "drill"), "--netns", "--rounds", "3",
                                "--seed", "18", "--hold", "2", "--cut-hold", "20", "--port-base",
                                str(port_block(100))], capture_output=True, text=True, env=env, timeout=240)
        except subprocess.TimeoutExpired as e:
            self.fail("deploy/drill did not end within 240 s; it printed:\n%s%s"
                      % ((e.stdout or b"").decode(errors="replace"), (e.stderr or b"").decode(errors="replace")))
        out = r.stdout
        print(out, file=sys.stderr)  # the drill's table, in the test log
        self.assertEqual(r.returncode, 0, out + r.stderr)
        self.assertIn("faults: kill -9, pause, restart, partition", out)
        acked = int(re.search(r"\| records acknowledged \| (\d+) \|", out).group(1))
        read = int(re.search(r"\| records read back \| (\d+) \|", out).group(1))
        self.assertGreater(acked, 100, out)
        self.assertGreaterEqual(read, acked, out)
        self.assertIn("| acknowledged records lost or overwritten | 0 |", out)
        self.assertIn("| coordinator writes lost | 0 |", out)
        check_group_rows(self, out, acked)
        rounds = re.findall(r"^round \d: (\w+) ((?:coord|broker)-\d)", out, re.M)
        self.assertEqual([k for k, _ in rounds], ["kill", "partition", "pause"], out)
        cut = rounds[1][1]
        self.assertTrue(cut.startswith("broker-"), out)
        self.assertRegex(out, r"\| round 2: partition %s: longest ack gap / coordinator write gap / group stall / "
                              r"group wait \| [\d.]+ s / [\d.]+ s / [\d.]+ s / [\d.]+ s \|" % cut)
        # the cluster replaced the cut broker while it was cut off (it led one of the 3 partitions)
        went_on = re.search(r"\| round 2: partition %s \((?:controller, )?leading [1-9]\d* partitions?"
                            r"(?:, the group's coordinator)?\): the others went on without it "
                            r"after \| ([\d.]+) s \|" % cut, out)
        self.assertIsNotNone(went_on, out)
        self.assertLess(float(went_on.group(1)), 20.0, out)
        self.assertRegex(out, r"\| partition of a broker \(1 round\): ack gap / coordinator write gap / group stall / "
                              r"group wait \|")
        self.assertIn("nothing acknowledged was lost", out)
        for name, pid in pids(state).items():
            self.assertFalse(running(pid), "%s still runs after the drill" % name)
        self.assertEqual(namespaces(prefix), [], "the drill's namespaces outlived it")


if __name__ == "__main__":
    unittest.main()
