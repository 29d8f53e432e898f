"""Three brokers on one coordinator, driven by real clients and the Kafka tools:

- configs/cluster-3/server-{0,1,2}.properties load as they are shipped (only ports, directories
  and the coordinators overridden on the command line), with no unknown key, and make a cluster:
  every broker in every broker's Metadata, topics created without a replication factor get 3.
- Metadata shows every broker to kcat, kafka-python and confluent-kafka; the leaders of a
  6-partition RF=3 topic are spread over all three brokers; a client produces to each
  partition's leader (acks=all) and a consumer reads each partition back.
- kafka-topics --describe (--bootstrap-server and --zookeeper) prints Leader, Replicas and Isr
  exactly as the controller's state znodes and the assignment hold them, in Kafka 2.x's format;
  after kill -9 of a broker (by pid), --under-replicated-partitions lists exactly the partitions
  whose ISR is smaller than their replicas, --unavailable-partitions exactly those without a live
  leader, both together their union (Kafka's filters are alternatives), and (--bootstrap-server)
  --under-min-isr-partitions / --at-min-isr-partitions those below / at the topic's
  min.insync.replicas.
"""
import os
import re
import subprocess
import sys
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from samsatest import kb  # noqa: E402
from samsatest.wait import wait_for  # noqa: E402

warnings.simplefilter("ignore")
import confluent_kafka  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CONFIGS = os.path.join(ROOT, "configs", "cluster-3")
TOOLS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(os.environ["SAMSA_BROKER"]))),
                     "broker", "tools")


def props(path):
    """A Java properties file as a dict (the subset the shipped configs use)."""
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith(("#", "!")):
                k, _, v = line.partition("=")
                out[k.strip()] = v.strip()
    return out


def kafka_topics(*args):
    r = subprocess.run([os.path.join(TOOLS, "kafka-topics")] + list(args), capture_output=True, text=True,
                       timeout=60)
    return r


def describe_line(topic, p, leader, replicas, isr, zk=False):
    """Kafka 2.x's partition line of kafka-topics --describe."""
    lead = str(leader) if (leader is not None and (leader >= 0 or zk)) else "none"
    return "\tTopic: %s\tPartition: %d\tLeader: %s\tReplicas: %s\tIsr: %s" % (
        topic, p, lead, ",".join(map(str, replicas)), ",".join(map(str, isr)))


class ShippedConfigsTest(unittest.TestCase):
    def test_cluster3_configs_load_and_form_a_cluster(self):
        files = [os.path.join(CONFIGS, "server-%d.properties" % i) for i in range(3)]
        ens = {}
        for n in (1, 2, 3):
            ens[n] = props(os.path.join(ROOT, "configs", "ensemble-3", "zookeeper-%d.properties" % n))
        want_connect = ",".join("localhost:%s" % ens[n]["clientPort"] for n in (1, 2, 3))
        dirs = set()
        for i, f in enumerate(files):
            p = props(f)
            self.assertEqual(p["broker.id"], str(i), f)
            self.assertEqual(p["listeners"], "PLAINTEXT://:%d" % (9092 + i), f)
            self.assertEqual(p["advertised.listeners"], "PLAINTEXT://localhost:%d" % (9092 + i), f)
            self.assertEqual(p["zookeeper.connect"], want_connect, f)
            self.assertEqual(p["default.replication.factor"], "3", f)
            self.assertEqual(p["min.insync.replicas"], "2", f)
            dirs.add(p["log.dirs"])
        self.assertEqual(len(dirs), 3, "every broker needs its own log.dirs: %s" % dirs)

        c = kb.Cluster(self, brokers=3, config_files=files)
        self.assertEqual(sorted(b.id for b in c.brokers), [0, 1, 2])
        c.wait_brokers([0, 1, 2])
        for b in c.brokers:
            log = b.log_text() + b.out_text()
            self.assertNotRegex(log, r"unknown key|WARN.*cfg", "broker %d warned about its config" % b.id)
        # the file's defaults are the cluster's: no replication factor given -> 3 replicas
        r = kafka_topics("--bootstrap-server", c.bootstrap, "--create", "--topic", "defaults")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "Created topic defaults.\n")
        parts = c.wait_leaders("defaults", 1)
        self.assertEqual(sorted(parts[0]["replicas"]), [0, 1, 2])
        self.assertEqual(sorted(c.assignment("defaults")[0]), [0, 1, 2])
        # min.insync.replicas=2 is the brokers' default, as DescribeConfigs reports it
        a = AdminClient({"bootstrap.servers": c.bootstrap})
        res = confluent_kafka.admin.ConfigResource("topic", "defaults")
        cfg = list(a.describe_configs([res]).values())[0].result(15)
        self.assertEqual(cfg["min.insync.replicas"].value, "2")


class ThreeBrokersTest(unittest.TestCase):
    def setUp(self):
        self.c = kb.Cluster(self, brokers=3)
        self.ctrl = self.c.wait_brokers([0, 1, 2])

    def create(self, name, nparts, rf, config=None):
        a = AdminClient({"bootstrap.servers": self.c.bootstrap})
        a.create_topics([NewTopic(name, nparts, rf, config=config or {})])[name].result(30)
        return self.c.wait_leaders(name, nparts)

    def test_metadata_leaders_spread_and_produce_to_each_leader(self):
        parts = self.create("spread", 6, 3)
        leaders = {p["partition"]: p["leader"] for p in parts}
        self.assertEqual(set(leaders.values()), {0, 1, 2}, "leaders of 6 RF=3 partitions: %s" % leaders)
        for p in parts:
            self.assertEqual(sorted(p["replicas"]), [0, 1, 2])
            # the leader is the first replica (Kafka's preferred leader) when all are alive
            self.assertEqual(p["leader"], p["replicas"][0])
        self.assertTrue(kb.is_kafka_placement([0, 1, 2], self.c.assignment("spread"), 3))

        # kcat: every broker, the controller, each partition's leader
        r = subprocess.run(["kcat", "-b", self.c.brokers[1].bootstrap, "-L", "-t", "spread"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("3 brokers:", r.stdout)
        for b in self.c.brokers:
            self.assertIn("broker %d at %s%s" % (b.id, b.bootstrap, " (controller)" if b.id == self.ctrl else ""),
                          r.stdout)
        for p, lead in leaders.items():
            self.assertRegex(r.stdout, r"partition %d, leader %d, replicas: " % (p, lead))
        # kafka-python: the brokers and the partitions' leaders
        ka = KafkaAdminClient(bootstrap_servers=self.c.brokers[2].bootstrap)
        try:
            cl = ka.describe_cluster()
            self.assertEqual(sorted(b["node_id"] for b in cl["brokers"]), [0, 1, 2])
            self.assertEqual(cl["controller_id"], self.ctrl)
            (td,) = ka.describe_topics(["spread"])
            self.assertEqual({p["partition"]: p["leader"] for p in td["partitions"]}, leaders)
        finally:
            ka.close()
        # confluent-kafka: the brokers
        md = AdminClient({"bootstrap.servers": self.c.brokers[0].bootstrap}).list_topics(timeout=15)
        self.assertEqual(sorted(md.brokers), [0, 1, 2])
        self.assertEqual({p.id: p.leader for p in md.topics["spread"].partitions.values()}, leaders)

        # a producer sends to each partition; each record lands on that partition's leader
        prod = confluent_kafka.Producer({"bootstrap.servers": self.c.bootstrap, "acks": "all"})
        done = []
        for p in range(6):
            for i in range(20):
                prod.produce("spread", value=b"p%d-%d" % (p, i), partition=p,
                             on_delivery=lambda err, m: done.append((err, m.partition(), m.offset())))
        self.assertEqual(prod.flush(30), 0)
        self.assertEqual([d for d in done if d[0] is not None], [])
        for p in range(6):
            self.assertEqual(sorted(o for _, q, o in done if q == p), list(range(20)))
        # the leader's log directory holds the records
        for p, lead in leaders.items():
            d = os.path.join(self.c.brokers[lead].log_dirs, "spread-%d" % p)
            with open(os.path.join(d, "00000000000000000000.log"), "rb") as f:
                self.assertIn(b"p%d-19" % p, f.read())
        # and a consumer reads every partition back (up to the high watermark: the followers
        # fetched them)
        cons = KafkaConsumer(bootstrap_servers=self.c.bootstrap, auto_offset_reset="earliest",
                             consumer_timeout_ms=10000, enable_auto_commit=False)
        try:
            cons.assign([TopicPartition("spread", p) for p in range(6)])
            got = {}
            for m in cons:
                got.setdefault(m.partition, []).append(m.value)
                if sum(map(len, got.values())) == 120:
                    break
        finally:
            cons.close()
        self.assertEqual(got, {p: [b"p%d-%d" % (p, i) for i in range(20)] for p in range(6)})

    def expected_lines(self, topics, zk, select):
        """The partition lines kafka-topics must print for the partitions select(state, replicas,
        live brokers[, topic]) picks, from the assignment and the state znodes."""
        lines = []
        live = self.c.live_ids()
        for t in sorted(topics):
            asg = self.c.assignment(t)
            for p in sorted(asg):
                st = self.c.state(t, p)
                if select(st, asg[p], live, t):
                    lines.append(describe_line(t, p, st["leader"], asg[p], st["isr"], zk))
        return lines

    def configs(self, topic, zk):
        """What Kafka 2.x's TopicCommand lists after Configs: with --zookeeper the topic's own
        overrides (/config/topics/<t>); with --bootstrap-server every config whose source is not
        the default, as DescribeConfigs (confluent-kafka) reports them."""
        if zk:
            doc = self.c.znode_json("/config/topics/%s" % topic) or {"config": {}}
            return ",".join("%s=%s" % kv for kv in doc["config"].items())
        a = AdminClient({"bootstrap.servers": self.c.bootstrap})
        res = confluent_kafka.admin.ConfigResource("topic", topic)
        cfg = list(a.describe_configs([res]).values())[0].result(15)
        return ",".join("%s=%s" % (e.name, e.value) for e in cfg.values()
                        if e.source != confluent_kafka.admin.ConfigSource.DEFAULT_CONFIG.value)

    def tool_lines(self, *args):
        r = kafka_topics(*args)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout.splitlines()

    def test_describe_and_its_filters_after_kill9(self):
        self.create("rf3", 6, 3, {"min.insync.replicas": "2"})
        min_isr = {"rf3": 2, "solo": 1}  # solo: the brokers' default
        victim = [i for i in (0, 1, 2) if i != self.ctrl][0]
        r = kafka_topics("--bootstrap-server", self.c.bootstrap, "--create", "--topic", "solo",
                         "--replica-assignment", str(victim))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.c.wait_leaders("solo", 1)
        live_bs = lambda: ",".join(b.bootstrap for b in self.c.live())  # noqa: E731
        zkc = self.c.zk_connect

        # all replicas alive: the full listing is the state znodes, byte for byte
        for zk in (False, True):
            src = ("--zookeeper", zkc) if zk else ("--bootstrap-server", live_bs())
            want = ["Topic: rf3\tPartitionCount: 6\tReplicationFactor: 3\tConfigs: %s" % self.configs("rf3", zk)]
            want += self.expected_lines(["rf3"], zk, lambda st, r, live, t: True)
            seen = []

            def shows():
                seen[:] = self.tool_lines(*src, "--describe", "--topic", "rf3")
                return seen == want and list(seen)

            got = wait_for(shows, 30, lambda: "describe %s to show %r (got %r)" % (src, want, seen))
            self.assertEqual(len(got), 7)
            for flt in ("--under-replicated-partitions", "--unavailable-partitions"):
                self.assertEqual(self.tool_lines(*src, "--describe", flt), [], flt)

        led = [p for p, st in ((p, self.c.state("rf3", p)) for p in range(6)) if st["leader"] == victim]
        self.assertTrue(led, "broker %d leads none of rf3's partitions" % victim)
        self.c.kill9(victim)
        self.c.wait_brokers()
        # the controller moves the victim's leaderships to live ISR members; its RF=1
        # partition is left without a leader
        for p in led:
            self.c.wait_state("rf3", p, lambda st: st["leader"] in self.c.live_ids(), what="a live leader")
        self.c.wait_state("solo", 0, lambda st: st["leader"] == -1, what="no leader")

        under = lambda st, r, live, t: len(st["isr"]) < len(r)  # noqa: E731
        unavail = lambda st, r, live, t: st["leader"] < 0 or st["leader"] not in live  # noqa: E731
        under_min = lambda st, r, live, t: st["leader"] < 0 or len(st["isr"]) < min_isr[t]  # noqa: E731
        at_min = lambda st, r, live, t: len(st["isr"]) == min_isr[t]  # noqa: E731
        for zk in (False, True):
            src = ("--zookeeper", zkc) if zk else ("--bootstrap-server", live_bs())
            cases = [(["--under-replicated-partitions"], under),
                     (["--unavailable-partitions"], unavail),
                     (["--under-replicated-partitions", "--unavailable-partitions"],
                      lambda *a: under(*a) or unavail(*a))]
            if not zk:  # min.insync.replicas comes from DescribeConfigs, as in Kafka
                cases += [(["--under-min-isr-partitions"], under_min),
                          (["--at-min-isr-partitions"], at_min)]
            for flags, sel in cases:
                last = {}

                def agrees():
                    want = self.expected_lines(["rf3", "solo"], zk, sel)
                    got = self.tool_lines(*src, "--describe", *flags)
                    last.update(want=want, got=got)
                    return got == want and got

                got = wait_for(agrees, 30, lambda: "%s %s to list %r (got %r)"
                               % (src[0], flags, last.get("want"), last.get("got")))
                names = {tuple(re.findall(r"Topic: (\S+)\tPartition: (\d+)", ln)[0]) for ln in got}
                if flags in (["--unavailable-partitions"], ["--under-min-isr-partitions"]):
                    self.assertEqual(names, {("solo", "0")})
                    self.assertIn("Leader: %s\tReplicas: %d\tIsr: %d" % ("-1" if zk else "none", victim, victim),
                                  got[0])
                elif flags == ["--at-min-isr-partitions"]:
                    # solo keeps its one-member ISR; rf3's partitions the victim led lost it
                    self.assertTrue({("rf3", str(p)) for p in led} | {("solo", "0")} <= names, (led, got))
                else:
                    # the partitions the victim led now have an ISR without it
                    self.assertTrue({("rf3", str(p)) for p in led} <= names, (led, got))
                    self.assertEqual(("solo", "0") in names, len(flags) == 2, got)


if __name__ == "__main__":
    unittest.main()
