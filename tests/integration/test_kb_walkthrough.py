"""The notes' walk-through as one script, with the shipped configs (ports and directories moved
to free loopback ports and a temporary folder) and the Kafka-named scripts in deploy/bin:
zookeeper-server-start, kafka-server-start, kafka-topics --create/--describe (through the
broker and through the coordinator), kafka-console-producer with keys, kafka-console-consumer
--from-beginning / --partition --offset / print.key, zookeeper-shell ls /brokers/ids, and the
partition directories on disk; then kafka-topics --alter and --delete."""
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kbharness  # noqa: E402
import zkharness  # noqa: E402
from samsatest.workdir import WorkDir  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BIN = os.path.join(ROOT, "deploy", "bin")


def shipped(name, changes):
    """configs/<name> with the given keys replaced (comments and other keys kept)."""
    out = []
    seen = set()
    with open(os.path.join(ROOT, "configs", name)) as f:
        for line in f:
            key = line.split("=", 1)[0].strip()
            if "=" in line and not line.lstrip().startswith("#") and key in changes:
                out.append("%s=%s\n" % (key, changes[key]))
                seen.add(key)
            else:
                out.append(line)
    for k, v in changes.items():
        if k not in seen:
            out.append("%s=%s\n" % (k, v))
    return "".join(out)


class WalkthroughTest(unittest.TestCase):
    def run_tool(self, *args, stdin=None, ok=True):
        r = subprocess.run([os.path.join(BIN, args[0])] + list(args[1:]), input=stdin, capture_output=True,
                           text=True, timeout=60, env=self.env)
        if ok:
            self.assertEqual(r.returncode, 0, "%s failed:\n%s\n%s" % (args, r.stdout, r.stderr))
        return r

    def start(self, script, conf):
        p = subprocess.Popen([os.path.join(BIN, script), conf], env=self.env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)

        def stop():
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.addCleanup(stop)
        return p

    def test_walkthrough(self):
        tmp = WorkDir(self, prefix="samsa-walk-")
        d = tmp.name
        build = os.path.dirname(os.path.dirname(os.path.abspath(os.environ["SAMSA_COORD"])))
        self.env = dict(os.environ, LOG_DIR=os.path.join(d, "logs"), SAMSA_BUILD=build)
        zk_port, kb_port, ctl_port = zkharness.free_port(), zkharness.free_port(), zkharness.free_port()
        zk_conf = os.path.join(d, "zookeeper.properties")
        with open(zk_conf, "w") as f:
            f.write(shipped("zookeeper.properties", {"dataDir": os.path.join(d, "zookeeper"),
                                                     "clientPort": zk_port, "clientPortAddress": "127.0.0.1"}))
        logs = os.path.join(d, "kafka-logs")
        kb_conf = os.path.join(d, "server.properties")
        with open(kb_conf, "w") as f:
            f.write(shipped("server.properties", {
                "listeners": "PLAINTEXT://127.0.0.1:%d" % kb_port,
                "advertised.listeners": "PLAINTEXT://127.0.0.1:%d" % kb_port,
                "control.plane.listener.port": str(ctl_port),
                "log.dirs": logs, "zookeeper.connect": "127.0.0.1:%d" % zk_port}))
        self.start("zookeeper-server-start.sh", zk_conf)
        kbharness.wait_for(lambda: self._ruok(zk_port), what="coordinator")
        broker = self.start("kafka-server-start.sh", kb_conf)
        bs = "127.0.0.1:%d" % kb_port
        zk = "127.0.0.1:%d" % zk_port
        kbharness.wait_for(lambda: self.run_tool("kafka-topics.sh", "--list", "--bootstrap-server", bs,
                                                 ok=False).returncode == 0, what="broker")

        r = self.run_tool("kafka-topics.sh", "--create", "--bootstrap-server", bs, "--topic", "cities",
                          "--partitions", "2", "--replication-factor", "1")
        self.assertIn("Created topic cities.", r.stdout)
        r = self.run_tool("kafka-topics.sh", "--describe", "--zookeeper", zk, "--topic", "cities")
        lines = r.stdout.strip().splitlines()
        self.assertTrue(lines[0].startswith("Topic: cities\tPartitionCount: 2\tReplicationFactor: 1"), lines)
        self.assertEqual(lines[1:], ["\tTopic: cities\tPartition: %d\tLeader: 0\tReplicas: 0\tIsr: 0" % p
                                     for p in range(2)])
        r = self.run_tool("kafka-topics.sh", "--describe", "--bootstrap-server", bs, "--topic", "cities")
        self.assertIn("\tTopic: cities\tPartition: 1\tLeader: 0\tReplicas: 0\tIsr: 0", r.stdout)

        self.run_tool("kafka-console-producer.sh", "--broker-list", bs, "--topic", "cities",
                      stdin="paris\ntokyo\nlagos\nlima\n")
        self.run_tool("kafka-console-producer.sh", "--bootstrap-server", bs, "--topic", "cities",
                      "--property", "parse.key=true", "--property", "key.separator=:",
                      "--producer-property", "acks=all", stdin="fr:nice\njp:osaka\n")
        r = self.run_tool("kafka-console-consumer.sh", "--bootstrap-server", bs, "--topic", "cities",
                          "--from-beginning", "--max-messages", "6")
        self.assertEqual(sorted(r.stdout.split()), sorted(["paris", "tokyo", "lagos", "lima", "nice", "osaka"]))
        self.assertIn("Processed a total of 6 messages", r.stderr)
        # one partition from an offset, with keys and timestamps printed
        r = self.run_tool("kafka-console-consumer.sh", "--bootstrap-server", bs, "--topic", "cities",
                          "--partition", "0", "--offset", "0", "--max-messages", "1",
                          "--property", "print.key=true", "--property", "print.timestamp=true")
        self.assertRegex(r.stdout, r"^CreateTime:\d{13}\t")

        r = subprocess.run([os.path.join(BIN, "zookeeper-shell.sh"), zk, "ls", "/brokers/ids"], capture_output=True,
                           text=True, timeout=30, env=self.env)
        self.assertIn("[0]", r.stdout)
        for p in range(2):
            files = sorted(os.listdir(os.path.join(logs, "cities-%d" % p)))
            # as in Kafka 2.x: the segment, its indexes and the leader-epoch cache (KIP-101)
            self.assertEqual(files, ["00000000000000000000.index", "00000000000000000000.log",
                                     "00000000000000000000.timeindex", "leader-epoch-checkpoint"])
            with open(os.path.join(logs, "cities-%d" % p, "leader-epoch-checkpoint")) as f:
                self.assertEqual(f.read(), "0\n1\n0 0\n")
        total = sum(os.path.getsize(os.path.join(logs, "cities-%d" % p, "00000000000000000000.log")) for p in range(2))
        self.assertGreater(total, 0)

        self.run_tool("kafka-topics.sh", "--alter", "--bootstrap-server", bs, "--topic", "cities", "--partitions", "3")
        kbharness.wait_for(lambda: os.path.isdir(os.path.join(logs, "cities-2")), what="cities-2")
        # the console consumer's group made the broker create __consumer_offsets, which Kafka's
        # --list shows too (internal topics are left out only with --exclude-internal)
        r = self.run_tool("kafka-topics.sh", "--list", "--zookeeper", zk)
        self.assertEqual(r.stdout.split(), ["__consumer_offsets", "cities"])
        r = self.run_tool("kafka-topics.sh", "--list", "--zookeeper", zk, "--exclude-internal")
        self.assertEqual(r.stdout.split(), ["cities"])
        self.run_tool("kafka-topics.sh", "--delete", "--bootstrap-server", bs, "--topic", "cities")
        kbharness.wait_for(lambda: not os.path.exists(os.path.join(logs, "cities-0")), what="deletion")
        r = self.run_tool("kafka-topics.sh", "--list", "--bootstrap-server", bs, "--exclude-internal")
        self.assertEqual(r.stdout.split(), [])
        self.assertIsNone(broker.poll())
        with open(os.path.join(d, "logs", "server.log")) as f:
            text = f.read()
        self.assertTrue(re.search(r"registered as broker 0", text))

    @staticmethod
    def _ruok(port):
        try:
            return zkharness.four_letter(port, "ruok", 1) == "imok"
        except OSError:
            return False


if __name__ == "__main__":
    unittest.main()
