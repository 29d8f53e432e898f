"""deploy/cluster, the local cluster command, as a user drives it: `up --coords 3 --brokers 3`
on free ports, a replicated topic written and read with kafka-python, `kill` of a partition
leader and `status` showing the new leaders, `start` bringing the broker back into every ISR,
`pause`/`resume` of a coordinator, `grow` to 5 coordinators and `add-broker`, `down` leaving no
process behind; and its refusals (unknown node, bad sizes, a second `up`)."""
import json
import os
import re
import subprocess
import sys
import unittest
import logging

from samsatest.deploycluster import kill_left, running
from samsatest.kb import read_records
from samsatest.deploycluster import pids as recorded_pids
from samsatest.ports import port_block
from samsatest.wait import wait_for
from samsatest.workdir import WorkDir

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

logging.getLogger("kafka").setLevel(logging.CRITICAL)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "deploy", "cluster")
BUILD = os.environ.get("SAMSA_BUILD_ROOT", os.path.join(ROOT, "build"))


class DeployClusterTest(unittest.TestCase):
    def setUp(self):
        self.work = WorkDir(self, prefix="samsa-deploy-cluster-")
        self.state = os.path.join(self.work.path, "cluster")
        self.base = port_block(100)
        self.env = dict(os.environ, SAMSA_CLUSTER_DIR=self.state, SAMSA_BUILD=BUILD)
        self.addCleanup(self.leave_nothing)

    def run_tool(self, *args, ok=True, timeout=180):
        r = subprocess.run([sys.executable, TOOL] + list(args), capture_output=True, text=True,
                           env=self.env, timeout=timeout)
        if ok:
            self.assertEqual(r.returncode, 0, "deploy/cluster %s: %s%s" % (" ".join(args), r.stdout, r.stderr))
        return r

    def pids(self):
        return recorded_pids(self.state)

    def leave_nothing(self):
        """`down`, then SIGKILL to anything of ours still there (a failed test leaves nothing)."""
        if os.path.exists(os.path.join(self.state, "cluster.json")):
            subprocess.run([sys.executable, TOOL, "down"], capture_output=True, env=self.env, timeout=180)
        kill_left(self.state)

    def status(self):
        out = self.run_tool("status").stdout
        nodes = {}
        for line in out.splitlines():
            m = re.match(r"^((?:coord|broker)-\d+)\s+(.+?)\s+(pid \d+|-)\s", line)
            if m:
                nodes[m.group(1)] = m.group(2)
        parts = {}
        for m in re.finditer(r"Topic: (\S+)\s+Partition: (\d+)\s+Leader: (-?\d+)\s+Replicas: (\S+)\s+Isr: (\S*)",
                             out):
            parts[(m.group(1), int(m.group(2)))] = (int(m.group(3)), m.group(5))
        return nodes, parts, out

    def bootstrap(self, ids):
        return ["127.0.0.1:%d" % (self.base + 40 + i) for i in ids]

    def test_up_kill_status_start_pause_down(self):
        self.run_tool("up", "--coords", "3", "--brokers", "3", "--port-base", str(self.base))
        nodes, _, out = self.status()
        roles = sorted(v for k, v in nodes.items() if k.startswith("coord"))
        self.assertEqual(roles, ["follower", "follower", "leader"], out)
        brokers = sorted(v for k, v in nodes.items() if k.startswith("broker"))
        self.assertEqual(brokers, ["broker", "broker", "controller"], out)
        for n in (1, 2, 3):
            self.assertIn("client 127.0.0.1:%d" % (self.base + n), out)

        r = subprocess.run([os.path.join(BUILD, "broker", "tools", "kafka-topics"), "--create",
                            "--bootstrap-server", self.bootstrap([0])[0], "--topic", "drill",
                            "--partitions", "3", "--replication-factor", "3"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_for(lambda: len(self.status()[1]) == 3 and all(len(isr.split(",")) == 3
                                                               for _, isr in self.status()[1].values()),
                   60, "3 partitions with 3 replicas in sync")
        producer = KafkaProducer(bootstrap_servers=self.bootstrap([0, 1, 2]), acks="all", retries=10,
                                 request_timeout_ms=10000)
        for i in range(30):
            producer.send("drill", key=b"k%d" % i, value=b"v%d" % i, partition=i % 3).get(30)
        producer.close()

        _, parts, _ = self.status()
        victim = parts[("drill", 0)][0]
        killed = self.run_tool("kill", "broker-%d" % victim).stdout
        self.assertIn("killed broker-%d" % victim, killed)

        def moved():
            nodes, parts, _ = self.status()
            return (nodes["broker-%d" % victim] == "down" and len(parts) == 3 and
                    all(l not in (victim, -1) and str(victim) not in isr.split(",") for l, isr in parts.values()))
        wait_for(moved, 60, "every leader moved off the killed broker-%d" % victim)

        live = [i for i in range(3) if i != victim]
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap(live), enable_auto_commit=False)
        consumer.assign([TopicPartition("drill", p) for p in range(3)])
        consumer.seek_to_beginning()
        got = sorted(m.value for m in read_records(consumer, 30))
        consumer.close()
        self.assertEqual(got, sorted(b"v%d" % i for i in range(30)))

        self.assertIn("started broker-%d" % victim, self.run_tool("start", "broker-%d" % victim).stdout)
        wait_for(lambda: all(len(isr.split(",")) == 3 for _, isr in self.status()[1].values()),
                   60, "broker-%d back in every ISR" % victim)

        # two commands at once keep each other's updates (the pids in cluster.json)
        coords = [k for k in self.status()[0] if k.startswith("coord")][:2]
        for c in coords:
            self.run_tool("stop", c)
        procs = [subprocess.Popen([sys.executable, TOOL, "start", c], env=self.env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL) for c in coords]
        self.assertEqual([p.wait(120) for p in procs], [0, 0])
        nodes = self.status()[0]
        for c in coords:
            self.assertIn(nodes[c], ("leader", "follower"), "%s after a concurrent start" % c)
            self.assertTrue(running(self.pids()[c]))

        follower = [k for k, v in self.status()[0].items() if v == "follower"][0]
        self.run_tool("pause", follower)
        self.assertEqual(self.status()[0][follower], "paused")
        self.run_tool("resume", follower)
        wait_for(lambda: self.status()[0][follower] == "follower", 30, "%s serving again" % follower)

        pids = self.pids()
        self.assertEqual(len(pids), 6)
        down = self.run_tool("down").stdout
        for name in pids:
            self.assertIn("%s stopped" % name, down)
        for name, pid in pids.items():
            self.assertFalse(running(pid), "%s (pid %d) still runs after down" % (name, pid))
        self.assertEqual(set(self.status()[0].values()), {"down"})

    def test_grow_and_add_broker(self):
        self.run_tool("up", "--coords", "3", "--brokers", "1", "--port-base", str(self.base))
        out = self.run_tool("grow").stdout
        roles = sorted(v for k, v in self.status()[0].items() if k.startswith("coord"))
        self.assertEqual(roles, ["follower"] * 4 + ["leader"], out)
        added = self.run_tool("add-broker").stdout
        self.assertIn("added broker-1", added)
        nodes = self.status()[0]
        self.assertEqual(sorted(v for k, v in nodes.items() if k.startswith("broker")), ["broker", "controller"])
        shell = os.path.join(BUILD, "coord", "tools", "zookeeper-shell")
        r = subprocess.run([shell, "127.0.0.1:%d" % (self.base + 5), "ls", "/brokers/ids"],
                           capture_output=True, text=True, timeout=30)
        self.assertIn("[0, 1]", r.stdout)

    def test_netns_partition_and_heal(self):
        """up --netns: each node in a namespace of its own; partition cuts a leader off, the
        others take its partitions; heal brings it back into every ISR; exec runs kcat where the
        addresses are; down deletes the namespaces."""
        self.run_tool("up", "--netns", "--coords", "1", "--brokers", "3")
        st = json.load(open(os.path.join(self.state, "cluster.json")))
        self.assertTrue(st["netns"])
        self.addCleanup(lambda: [subprocess.run(["ip", "netns", "del", n], capture_output=True)
                                 for n in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
                                 .stdout.split() if n.startswith(st["netns"] + "-")])
        r = subprocess.run([sys.executable, TOOL, "exec", "--", os.path.join(BUILD, "broker", "tools", "kafka-topics"),
                            "--create", "--bootstrap-server", "10.202.0.51:9093", "--topic", "cut",
                            "--partitions", "3", "--replication-factor", "3"], capture_output=True, text=True,
                           env=self.env, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_for(lambda: len(self.status()[1]) == 3 and all(len(i.split(",")) == 3 for _, i in self.status()[1].values()),
                 60, "3 partitions, 3 replicas in sync")
        victim = self.status()[1][("cut", 0)][0]
        self.assertIn("broker-%d is cut off" % victim, self.run_tool("partition", "broker-%d" % victim).stdout)
        self.assertTrue(self.status()[0]["broker-%d" % victim].endswith(" (cut off)"))
        wait_for(lambda: all(l != victim and str(victim) not in i.split(",") for l, i in self.status()[1].values()),
                 60, "the others lead every partition without broker-%d" % victim)
        self.run_tool("heal")
        wait_for(lambda: all(len(i.split(",")) == 3 for _, i in self.status()[1].values()), 60,
                 "broker-%d back in every ISR" % victim)
        r = subprocess.run([sys.executable, TOOL, "exec", "kcat", "-b", "10.202.0.50:9092", "-L"], capture_output=True,
                           text=True, env=self.env, timeout=60)
        self.assertIn("3 brokers", r.stdout)
        self.run_tool("down")
        left = [n for n in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
                if n.startswith(st["netns"] + "-")]
        self.assertEqual(left, [])

    def test_refusals(self):
        r = self.run_tool("--help")
        for verb in ("up", "status", "kill", "pause", "resume", "stop", "start", "restart", "partition", "heal",
                     "grow", "add-broker", "down"):
            self.assertRegex(r.stdout, r"(deploy/cluster|/) %s\b" % verb)
        r = self.run_tool("status", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no cluster here", r.stderr)
        r = self.run_tool("up", "--coords", "2", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("--coords is 1, 3 or 5", r.stderr)
        self.run_tool("up", "--coords", "1", "--brokers", "1", "--port-base", str(self.base))
        self.assertEqual(self.status()[0], {"coord-1": "standalone", "broker-0": "controller"})
        r = self.run_tool("up", "--port-base", str(self.base), ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("a cluster is running here", r.stderr)
        r = self.run_tool("kill", "broker-7", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("broker-7 is not part of this cluster", r.stderr)
        r = self.run_tool("kill", "zk1", ok=False)
        self.assertIn("name a node: coord-N or broker-N", r.stderr)
        r = self.run_tool("partition", "broker-0", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("partition needs a cluster started with `up --netns`", r.stderr)
        r = self.run_tool("grow", ok=False)
        self.assertIn("grow takes a 3-coordinator ensemble to 5", r.stderr)


if __name__ == "__main__":
    unittest.main()
