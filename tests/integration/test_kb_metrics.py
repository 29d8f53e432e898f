"""The broker's /metrics (samsa.http.port) under the names of Kafka's Prometheus JMX exporter,
on a deploy/cluster of 1 coordinator and 3 brokers on free ports: records produced with
kafka-python (acks=all) are counted once, by their leader, per topic; bytes out count what a
consumer fetched (not replication); the replica manager's gauges match the placement; one
controller says so; request counts and latency summaries per API; after a kill -9 of a broker the
others report their partitions under-replicated. Every line is valid exposition format."""
import os
import re
import subprocess
import sys
import unittest
import urllib.request
import logging

from samsatest.deploycluster import kill_left
from samsatest.kb import read_records
from samsatest.ports import port_block
from samsatest.wait import wait_for
from samsatest.workdir import WorkDir

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

logging.getLogger("kafka").setLevel(logging.CRITICAL)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "deploy", "cluster")
BUILD = os.environ.get("SAMSA_BUILD_ROOT", os.path.join(ROOT, "build"))
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? '
                    r'(-?[0-9.e+-]+|NaN|\+Inf|-Inf)$')


def scrape(port):
    """{(name, frozenset(labels)): value}, checking every line's syntax and that every sample's
    family was declared with # TYPE before it."""
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10).read().decode()
    types, out = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            types[name] = typ
            continue
        if line.startswith("# HELP ") or not line:
            continue
        m = SAMPLE.match(line)
        assert m, "not exposition format: %r" % line
        name = m.group(1)
        base = re.sub(r"_(count|sum)$", "", name)
        assert name in types or base in types, "%s before its # TYPE" % name
        labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(name, labels)] = float(m.group(4))
    return out


def get(metrics, name, **labels):
    return metrics.get((name, frozenset(labels.items())))


class KbMetricsTest(unittest.TestCase):
    def setUp(self):
        self.work = WorkDir(self, prefix="samsa-kb-metrics-")
        self.state = os.path.join(self.work.path, "cluster")
        self.base = port_block(100)
        self.env = dict(os.environ, SAMSA_CLUSTER_DIR=self.state, SAMSA_BUILD=BUILD)
        self.addCleanup(self.leave_nothing)

    def tool(self, *args):
        r = subprocess.run([sys.executable, TOOL] + list(args), capture_output=True, text=True, env=self.env,
                           timeout=180)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def leave_nothing(self):
        subprocess.run([sys.executable, TOOL, "down"], capture_output=True, env=self.env, timeout=180)
        kill_left(self.state)

    def test_metrics_follow_the_cluster(self):
        self.tool("up", "--coords", "1", "--brokers", "3", "--port-base", str(self.base))
        http = [self.base + 80 + i for i in range(3)]
        boot = ["127.0.0.1:%d" % (self.base + 40 + i) for i in range(3)]
        r = subprocess.run([os.path.join(BUILD, "broker", "tools", "kafka-topics"), "--create", "--bootstrap-server",
                            boot[0], "--topic", "met", "--partitions", "3", "--replication-factor", "3"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

        def placed():
            ms = [scrape(p) for p in http]
            return (all(get(m, "kafka_server_replicamanager_partitioncount") == 3 for m in ms) and
                    sum(get(m, "kafka_server_replicamanager_leadercount") for m in ms) == 3 and
                    sum(get(m, "kafka_server_replicamanager_underreplicatedpartitions") for m in ms) == 0)
        wait_for(placed, 60, "3 partitions hosted on each broker, 3 leaders, none under-replicated")
        ms = [scrape(p) for p in http]
        self.assertEqual(sum(get(m, "kafka_controller_kafkacontroller_activecontrollercount") for m in ms), 1)

        producer = KafkaProducer(bootstrap_servers=boot, acks="all")
        for i in range(50):
            producer.send("met", value=b"x" * 100, partition=i % 3).get(30)
        producer.close()
        consumer = KafkaConsumer(bootstrap_servers=boot, enable_auto_commit=False)
        consumer.assign([TopicPartition("met", p) for p in range(3)])
        consumer.seek_to_beginning()
        self.assertEqual(len(read_records(consumer, 50)), 50)
        consumer.close()

        ms = [scrape(p) for p in http]
        msgs = [get(m, "kafka_server_brokertopicmetrics_messagesin_total", topic="met") for m in ms]
        self.assertEqual(sum(msgs), 50, "each record counted once, by its leader: %r" % msgs)
        for m in ms:
            self.assertEqual(get(m, "kafka_server_brokertopicmetrics_messagesin_total"),
                             get(m, "kafka_server_brokertopicmetrics_messagesin_total", topic="met"))
        bytes_in = sum(get(m, "kafka_server_brokertopicmetrics_bytesin_total", topic="met") for m in ms)
        self.assertGreater(bytes_in, 50 * 100)
        bytes_out = sum(get(m, "kafka_server_brokertopicmetrics_bytesout_total", topic="met") for m in ms)
        # the consumer read every batch once; the followers' fetches are replication, not counted
        self.assertGreaterEqual(bytes_out, 50 * 100)
        self.assertLess(bytes_out, 2 * bytes_in)
        self.assertGreaterEqual(sum(get(m, "kafka_network_requestmetrics_requests_total", request="Produce") or 0
                                    for m in ms), 1)
        for m in ms:
            self.assertGreater(get(m, "kafka_network_requestmetrics_requests_total", request="Fetch"), 0)
            n = get(m, "kafka_network_requestmetrics_totaltimems_count", request="Fetch")
            self.assertGreater(n, 0)
            p50 = get(m, "kafka_network_requestmetrics_totaltimems", request="Fetch", quantile="0.5")
            p99 = get(m, "kafka_network_requestmetrics_totaltimems", request="Fetch", quantile="0.99")
            self.assertLessEqual(p50, p99)

        # a group's committed offsets and lag, as kafka_exporter names them, from its coordinator
        from kafka.structs import OffsetAndMetadata
        counts = {p: sum(1 for i in range(50) if i % 3 == p) for p in range(3)}
        committed = {0: 5, 1: counts[1], 2: 0}
        lagger = KafkaConsumer(bootstrap_servers=boot, group_id="lagger", enable_auto_commit=False)
        lagger.commit({TopicPartition("met", p): OffsetAndMetadata(o, "") for p, o in committed.items()})
        lagger.close()

        def group_samples(name):
            out = {}
            for p in http:
                for (n, labels), v in scrape(p).items():
                    lab = dict(labels)
                    if n == name and lab.get("consumergroup") == "lagger":
                        out[(lab.get("topic"), lab.get("partition"))] = v
            return out
        wait_for(lambda: len(group_samples("kafka_consumergroup_current_offset")) == 3, 30,
                 "the group's three committed offsets on /metrics")
        self.assertEqual(group_samples("kafka_consumergroup_current_offset"),
                         {("met", str(p)): o for p, o in committed.items()})
        self.assertEqual(group_samples("kafka_consumergroup_lag"),
                         {("met", str(p)): counts[p] - o for p, o in committed.items()})
        self.assertEqual(group_samples("kafka_consumergroup_members"), {(None, None): 0})

        # the group made __consumer_offsets (3 replicas too): every broker hosts all partitions
        def settled():
            ms = [scrape(p) for p in http]
            n = {get(m, "kafka_server_replicamanager_partitioncount") for m in ms}
            return (len(n) == 1 and sum(get(m, "kafka_server_replicamanager_leadercount") for m in ms) == min(n) and
                    sum(get(m, "kafka_server_replicamanager_underreplicatedpartitions") for m in ms) == 0 and
                    int(min(n)))
        total = wait_for(settled, 60, "every partition led once and in sync")
        self.assertGreater(total, 3)

        self.tool("kill", "broker-2")
        wait_for(lambda: sum(get(scrape(p), "kafka_server_replicamanager_underreplicatedpartitions")
                             for p in http[:2]) == total and
                 sum(get(scrape(p), "kafka_server_replicamanager_leadercount") for p in http[:2]) == total,
                 60, "the two live brokers lead all %d partitions, each under-replicated" % total)
        r = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % http[0], timeout=10)
        self.assertTrue(r.headers["Content-Type"].startswith("text/plain; version=0.0.4"))
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen("http://127.0.0.1:%d/nothing" % http[0], timeout=10)
        self.assertEqual(e.exception.code, 404)


if __name__ == "__main__":
    unittest.main()
