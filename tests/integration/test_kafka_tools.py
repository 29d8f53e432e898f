"""The Kafka command-line tools (broker/tools, tests/bench; all on librdkafka).

- kafka-topics --zookeeper against the coordinator (or, with SAMSA_ZK_TARGET=real, the real
  ZooKeeper 3.8) holding Kafka's znode layout written with kazoo: --list and --describe output,
  byte for byte as Kafka 2.x prints it, also under a chroot.
- the console producer and consumer, the perf tests and kafka-topics --bootstrap-server against
  librdkafka's mock cluster (tests/integration/kafka_mock.c), until the samsa broker serves them;
  the mock is also run without FindCoordinator, as the first samsa broker will be.
- argument errors: each names the problem and exits 1.
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kbharness  # noqa: E402
import zkharness  # noqa: E402

TOOLS = os.environ.get("SAMSA_KAFKA_TOOLS", "")  # the folder of kafka-topics & co
BENCH = os.environ.get("SAMSA_KAFKA_BENCH", "")  # the folder of the perf tests
MOCK = os.environ.get("SAMSA_KAFKA_MOCK")


def tool(name):
    folder = BENCH if "perf-test" in name else TOOLS
    return os.path.join(folder, name)


def run(name, *args, stdin=None, timeout=60):
    return subprocess.run([tool(name)] + list(args), input=stdin, capture_output=True, text=True,
                          timeout=timeout)


class Mock:
    """A librdkafka mock cluster, stopped by closing its stdin (and by pid if need be)."""

    def __init__(self, testcase, *args):
        self.proc = subprocess.Popen([MOCK] + list(args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, start_new_session=True)
        testcase.addCleanup(self.stop)
        self.bootstrap = self.proc.stdout.readline().strip()
        testcase.assertTrue(self.bootstrap, "kafka_mock printed no bootstrap servers")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


class ZooKeeperLayoutTest(unittest.TestCase):
    def setUp(self):
        from kazoo.client import KazooClient
        self.srv = zkharness.start_target(self)
        self.zk = KazooClient(hosts=self.srv.hosts)
        self.zk.start(timeout=30)
        self.addCleanup(self.zk.stop)

    def layout(self, root=""):
        def put(path, doc):
            self.zk.create(root + path, json.dumps(doc, separators=(",", ":")).encode(), makepath=True)
        self.zk.ensure_path(root + "/brokers/ids")
        put("/brokers/ids/0", {"version": 5, "host": "127.0.0.1", "port": 9092, "jmx_port": -1,
                               "endpoints": ["PLAINTEXT://127.0.0.1:9092"]})
        put("/brokers/topics/cities", {"version": 2, "partitions": {"1": [1, 0], "0": [0, 1]},
                                       "adding_replicas": {}, "removing_replicas": {}})
        put("/brokers/topics/cities/partitions/0/state",
            {"controller_epoch": 1, "leader": 0, "version": 1, "leader_epoch": 0, "isr": [0, 1]})
        put("/brokers/topics/cities/partitions/1/state",
            {"controller_epoch": 1, "leader": 1, "version": 1, "leader_epoch": 3, "isr": [1]})
        put("/config/topics/cities", {"version": 1, "config": {"retention.ms": "86400000",
                                                                "cleanup.policy": "delete"}})
        put("/brokers/topics/animals", {"version": 1, "partitions": {"0": [0]}})
        self.zk.ensure_path(root + "/admin/delete_topics/animals")

    def zkhosts(self, root=""):
        return self.srv.hosts + root

    def test_list_and_describe(self):
        self.layout()
        r = run("kafka-topics", "--zookeeper", self.zkhosts(), "--list")
        self.assertEqual((r.returncode, r.stdout), (0, "animals - marked for deletion\ncities\n"), r.stderr)
        r = run("kafka-topics", "--zookeeper", self.zkhosts(), "--describe", "--topic", "cities")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout,
                         "Topic: cities\tPartitionCount: 2\tReplicationFactor: 2\t"
                         "Configs: retention.ms=86400000,cleanup.policy=delete\n"
                         "\tTopic: cities\tPartition: 0\tLeader: 0\tReplicas: 0,1\tIsr: 0,1\n"
                         "\tTopic: cities\tPartition: 1\tLeader: 1\tReplicas: 1,0\tIsr: 1\n")
        # no state znode: no leader, empty ISR; marked for deletion
        r = run("kafka-topics", "--zookeeper", self.zkhosts(), "--describe", "--topic", "animals")
        self.assertEqual(r.stdout,
                         "Topic: animals\tPartitionCount: 1\tReplicationFactor: 1\tConfigs: "
                         "\tMarkedForDeletion: true\n"
                         "\tTopic: animals\tPartition: 0\tLeader: none\tReplicas: 0\tIsr: "
                         "\tMarkedForDeletion: true\n")
        r = run("kafka-topics", "--zookeeper", self.zkhosts(), "--describe", "--under-replicated-partitions")
        self.assertEqual(r.stdout, "\tTopic: animals\tPartition: 0\tLeader: none\tReplicas: 0\tIsr: "
                                   "\tMarkedForDeletion: true\n"
                                   "\tTopic: cities\tPartition: 1\tLeader: 1\tReplicas: 1,0\tIsr: 1\n")
        # broker 1 is not registered: its partition has no live leader
        r = run("kafka-topics", "--zookeeper", self.zkhosts(), "--describe", "--unavailable-partitions",
                "--topic", "cities")
        self.assertEqual(r.stdout, "\tTopic: cities\tPartition: 1\tLeader: 1\tReplicas: 1,0\tIsr: 1\n")
        r = run("kafka-topics", "--zookeeper", self.zkhosts(), "--describe", "--topic", "nope")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "Error while executing topic command : Topic 'nope' does not exist as expected\n")
        r = run("kafka-topics", "--zookeeper", self.zkhosts(), "--describe", "--topic", "nope", "--if-exists")
        self.assertEqual((r.returncode, r.stdout), (0, ""))

    def test_describe_filters_are_alternatives(self):
        """Kafka's --under-replicated-partitions and --unavailable-partitions each select their
        partitions; given together a partition either selects is listed, once, in order."""
        self.layout()

        def put(path, doc):
            self.zk.create(path, json.dumps(doc, separators=(",", ":")).encode(), makepath=True)
        put("/brokers/topics/dogs", {"version": 2, "partitions": {"0": [0, 1], "1": [0, 1], "2": [0, 1]}})
        put("/brokers/topics/dogs/partitions/0/state",  # under-replicated, leader live
            {"controller_epoch": 1, "leader": 0, "version": 1, "leader_epoch": 1, "isr": [0]})
        put("/brokers/topics/dogs/partitions/1/state",  # no leader, full ISR
            {"controller_epoch": 1, "leader": -1, "version": 1, "leader_epoch": 2, "isr": [0, 1]})
        put("/brokers/topics/dogs/partitions/2/state",  # healthy
            {"controller_epoch": 1, "leader": 0, "version": 1, "leader_epoch": 0, "isr": [0, 1]})
        d0 = "\tTopic: dogs\tPartition: 0\tLeader: 0\tReplicas: 0,1\tIsr: 0\n"
        d1 = "\tTopic: dogs\tPartition: 1\tLeader: -1\tReplicas: 0,1\tIsr: 0,1\n"
        c1 = "\tTopic: cities\tPartition: 1\tLeader: 1\tReplicas: 1,0\tIsr: 1\n"
        a0 = "\tTopic: animals\tPartition: 0\tLeader: none\tReplicas: 0\tIsr: \tMarkedForDeletion: true\n"
        base = ["kafka-topics", "--zookeeper", self.zkhosts(), "--describe"]
        r = run(*base, "--under-replicated-partitions")
        self.assertEqual((r.returncode, r.stdout), (0, a0 + c1 + d0), r.stderr)
        r = run(*base, "--unavailable-partitions")
        self.assertEqual((r.returncode, r.stdout), (0, a0 + c1 + d1), r.stderr)
        for flags in (["--under-replicated-partitions", "--unavailable-partitions"],
                      ["--unavailable-partitions", "--under-replicated-partitions"]):
            r = run(*(base + flags))
            self.assertEqual((r.returncode, r.stdout), (0, a0 + c1 + d0 + d1), (flags, r.stderr))
        r = run(*base, "--under-replicated-partitions", "--unavailable-partitions", "--topic", "dogs")
        self.assertEqual(r.stdout, d0 + d1)

    def test_chroot_and_malformed(self):
        self.layout("/kafka1")
        r = run("kafka-topics", "--zookeeper", self.zkhosts("/kafka1"), "--list", "--topic", "cit.*")
        self.assertEqual((r.returncode, r.stdout), (0, "cities\n"), r.stderr)
        r = run("kafka-topics", "--zookeeper", self.zkhosts(), "--list")
        self.assertEqual((r.returncode, r.stdout), (0, ""))  # nothing at the root
        self.zk.set("/kafka1/brokers/topics/cities", b'{"version":2,"partitions":{"0":[0,')
        r = run("kafka-topics", "--zookeeper", self.zkhosts("/kafka1"), "--describe", "--topic", "cities")
        self.assertEqual(r.returncode, 1)
        self.assertIn("Malformed JSON in /brokers/topics/cities", r.stdout)


    def test_create_and_delete(self):
        zk = self.zkhosts("/k1")
        r = run("kafka-topics", "--zookeeper", zk, "--create", "--topic", "cities", "--partitions", "6",
                "--replication-factor", "2")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "Error while executing topic command : Replication factor: 2 larger than "
                                   "available brokers: 0.\n")
        for b in (0, 1, 2):
            self.zk.create("/k1/brokers/ids/%d" % b, b"{}", makepath=True)
        r = run("kafka-topics", "--zookeeper", zk, "--create", "--topic", "cities", "--partitions", "6",
                "--replication-factor", "2", "--config", "nope=1")
        self.assertIn("Unknown topic config name: nope", r.stdout)
        r = run("kafka-topics", "--zookeeper", zk, "--create", "--topic", "cities", "--partitions", "6",
                "--replication-factor", "2", "--config", "retention.ms=1000")
        self.assertEqual((r.returncode, r.stdout), (0, "Created topic cities.\n"), r.stderr)
        doc = json.loads(self.zk.get("/k1/brokers/topics/cities")[0])
        self.assertEqual(doc["version"], 2)
        parts = doc["partitions"]
        self.assertEqual(sorted(parts, key=int), [str(p) for p in range(6)])
        self.assertTrue(all(len(set(r)) == 2 and set(r) <= {0, 1, 2} for r in parts.values()))
        firsts = [r[0] for r in parts.values()]
        self.assertEqual(sorted(firsts), [0, 0, 1, 1, 2, 2])  # leaders spread evenly
        self.assertTrue(kbharness.is_kafka_placement([0, 1, 2], parts, 2), parts)
        # RF 3 on 3 brokers: partitions 3-5 take the grown shift (Kafka: (0,2,1) after (0,1,2))
        r = run("kafka-topics", "--zookeeper", zk, "--create", "--topic", "placed", "--partitions", "6",
                "--replication-factor", "3")
        self.assertEqual((r.returncode, r.stdout), (0, "Created topic placed.\n"), r.stderr)
        parts = json.loads(self.zk.get("/k1/brokers/topics/placed")[0])["partitions"]
        self.assertTrue(kbharness.is_kafka_placement([0, 1, 2], parts, 3), parts)
        self.assertEqual(parts["3"], [parts["0"][0], parts["0"][2], parts["0"][1]])
        self.zk.delete("/k1/brokers/topics/placed", recursive=True)
        self.zk.delete("/k1/config/topics/placed")
        self.assertEqual(json.loads(self.zk.get("/k1/config/topics/cities")[0]),
                         {"version": 1, "config": {"retention.ms": "1000"}})
        r = run("kafka-topics", "--zookeeper", zk, "--create", "--topic", "cities", "--partitions", "1",
                "--replication-factor", "1")
        self.assertEqual((r.returncode, r.stdout), (1, "Error while executing topic command : Topic 'cities' "
                                                       "already exists.\n"))
        r = run("kafka-topics", "--zookeeper", zk, "--create", "--topic", "cities", "--partitions", "1",
                "--replication-factor", "1", "--if-not-exists")
        self.assertEqual((r.returncode, r.stdout), (0, ""))
        r = run("kafka-topics", "--zookeeper", zk, "--delete", "--topic", "cities")
        self.assertEqual((r.returncode, r.stdout), (0, "Topic cities is marked for deletion.\nNote: This will "
                                                       "have no impact if delete.topic.enable is not set to "
                                                       "true.\n"))
        self.assertTrue(self.zk.exists("/k1/admin/delete_topics/cities"))
        r = run("kafka-topics", "--zookeeper", zk, "--delete", "--topic", "cities")
        self.assertEqual((r.returncode, r.stdout), (0, "Topic cities is already marked for deletion.\n"))
        r = run("kafka-topics", "--zookeeper", zk, "--list")
        self.assertEqual(r.stdout, "cities - marked for deletion\n")


class MockClusterTest(unittest.TestCase):
    def test_produce_consume_describe(self):
        m = Mock(self, "--brokers", "3", "--topic", "cities:2:3", "--no-groups")
        r = run("kafka-topics", "--bootstrap-server", m.bootstrap, "--list")
        self.assertEqual((r.returncode, r.stdout), (0, "cities\n"), r.stderr)
        r = run("kafka-topics", "--bootstrap-server", m.bootstrap, "--describe", "--topic", "cities")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], "Topic: cities\tPartitionCount: 2\tReplicationFactor: 3\tConfigs: ")
        self.assertTrue(lines[1].startswith("\tTopic: cities\tPartition: 0\tLeader: "), lines)
        self.assertEqual(len(lines), 3)

        lines_in = "".join("k%d:v%d\n" % (i, i) for i in range(50))
        r = run("kafka-console-producer", "--broker-list", m.bootstrap, "--topic", "cities",
                "--property", "parse.key=true", "--property", "key.separator=:",
                "--producer-property", "acks=all", stdin=lines_in)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run("kafka-console-producer", "--bootstrap-server", m.bootstrap, "--topic", "cities", "--sync",
                "--request-required-acks", "1", "--compression-codec", "lz4", stdin="plain\nlast-no-newline")
        self.assertEqual(r.returncode, 0, r.stderr)

        r = run("kafka-console-consumer", "--bootstrap-server", m.bootstrap, "--topic", "cities",
                "--from-beginning", "--max-messages", "52", "--timeout-ms", "10000",
                "--property", "print.key=true", "--property", "print.timestamp=true")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.splitlines()
        self.assertEqual(len(out), 52, r.stderr)
        self.assertIn("Processed a total of 52 messages", r.stderr)
        recs = sorted(line.split("\t", 1)[1] for line in out)
        self.assertIn("k7\tv7", recs)
        self.assertIn("null\tplain", recs)
        self.assertIn("null\tlast-no-newline", recs)
        self.assertTrue(all(line.startswith("CreateTime:") for line in out))

        # one partition, from an offset, ends by --timeout-ms (status 0, Kafka's ERROR line)
        r = run("kafka-console-consumer", "--bootstrap-server", m.bootstrap, "--topic", "cities",
                "--partition", "0", "--offset", "earliest", "--timeout-ms", "1500",
                "--property", "print.partition=true", "--property", "print.offset=true")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("TimeoutException", r.stderr)
        first = r.stdout.splitlines()[0].split("\t")
        self.assertEqual(first[:2], ["Partition:0", "Offset:0"])

    def test_perf_tools(self):
        m = Mock(self, "--topic", "perf:3:1", "--no-groups")
        r = run("kafka-producer-perf-test", "--topic", "perf", "--num-records", "20000", "--record-size", "100",
                "--throughput", "-1", "--producer-props", "bootstrap.servers=" + m.bootstrap, "acks=1",
                "linger.ms=2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"20000 records sent, [0-9.]+ records/sec \([0-9.]+ MB/sec\), [0-9.]+ ms avg "
                                   r"latency, [0-9.]+ ms max latency, \d+ ms 50th, \d+ ms 95th, \d+ ms 99th, "
                                   r"\d+ ms 99.9th.\n$")
        r = run("kafka-consumer-perf-test", "--bootstrap-server", m.bootstrap, "--topic", "perf",
                "--messages", "20000", "--timeout", "10000")
        self.assertEqual(r.returncode, 0, r.stderr)
        header, line = r.stdout.splitlines()
        self.assertTrue(header.startswith("start.time, end.time, data.consumed.in.MB, MB.sec"))
        fields = line.split(", ")
        self.assertEqual(len(fields), 10)
        self.assertEqual(fields[4], "20000")
        self.assertEqual(fields[2], "%.4f" % (20000 * 100 / 1048576.0))


class ArgumentTest(unittest.TestCase):
    def check(self, name, args, message):
        r = run(name, *args)
        self.assertEqual(r.returncode, 1, (args, r.stdout, r.stderr))
        self.assertIn(message, r.stderr + r.stdout)

    def test_errors(self):
        self.check("kafka-topics", ["--list"], "Only one of --bootstrap-server or --zookeeper must be specified")
        self.check("kafka-topics", ["--bootstrap-server", "x:1"],
                   "Command must include exactly one action: --list, --describe, --create, --alter or --delete")
        self.check("kafka-topics", ["--bootstrap-server", "x:1", "--create"], 'Missing required argument "[topic]"')
        self.check("kafka-topics", ["--bootstrap-server", "x:1", "--list", "--partitions", "3"],
                   'Option "[partitions]" can\'t be used with option "[list]"')
        self.check("kafka-topics", ["--bootstrap-server", "x:1", "--create", "--topic", "a b"],
                   "contains a character other than ASCII alphanumerics")
        self.check("kafka-topics", ["--bootstrap-server", "x:1", "--create", "--topic", "t", "--partitions", "x"],
                   "Cannot parse argument 'x' of option partitions")
        self.check("kafka-topics", ["--bootstrap-server", "x:1", "--create", "--topic", "t", "--partitions", "0"],
                   "The partitions must be greater than 0")
        self.check("kafka-topics", ["--bootstrap-server", "x:1", "--create", "--topic", "t", "--config", "a"],
                   "Invalid topic config")
        self.check("kafka-topics", ["--nope"], "nope is not a recognized option")
        self.check("kafka-console-producer", ["--bootstrap-server", "x:1"], 'Missing required argument "[topic]"')
        self.check("kafka-console-producer", ["--bootstrap-server", "x:1", "--topic", "t",
                                              "--producer-property", "acks=banana"], "Invalid value banana")
        self.check("kafka-console-consumer", ["--bootstrap-server", "x:1"], "Exactly one of whitelist/topic is required.")
        self.check("kafka-console-consumer", ["--bootstrap-server", "x:1", "--topic", "t", "--offset", "3"],
                   "The partition is required when offset is specified.")
        self.check("kafka-console-consumer", ["--bootstrap-server", "x:1", "--topic", "t", "--partition", "0",
                                              "--offset", "-5"], "The provided offset value '-5' is incorrect.")
        self.check("kafka-console-consumer", ["--bootstrap-server", "x:1", "--topic", "t", "--group", "g",
                                              "--partition", "1"], "group and partition cannot be specified together")
        self.check("kafka-producer-perf-test", ["--topic", "t", "--num-records", "1", "--record-size", "1"],
                   "argument --throughput is required")
        self.check("kafka-consumer-perf-test", ["--bootstrap-server", "x:1", "--topic", "t"],
                   'Missing required argument "[messages]"')
        for name in ("kafka-topics", "kafka-console-producer", "kafka-console-consumer",
                     "kafka-producer-perf-test", "kafka-consumer-perf-test"):
            r = run(name, "--help")
            self.assertEqual(r.returncode, 0, name)
            self.assertIn("Option", r.stdout)

    def test_producer_config_file(self):
        with tempfile.NamedTemporaryFile("w", suffix=".properties") as f:
            f.write("bootstrap.servers=127.0.0.1:1\nkey.serializer=org.apache.kafka.common.serialization."
                    "StringSerializer\nbuffer.memory=33554432\nno.such.thing=1\nacks=oops\n")
            f.flush()
            r = run("kafka-console-producer", "--bootstrap-server", "x:1", "--topic", "t", "--producer.config",
                    f.name, stdin="")
            self.assertEqual(r.returncode, 1)
            self.assertIn("The configuration 'no.such.thing' was supplied but isn't a known config.", r.stderr)
            self.assertIn(f.name + ":5: Invalid value oops for configuration acks", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
