"""kafka-consumer-groups (broker/tools, on librdkafka's admin API):

- ConsumerGroupsTest, against a samsa broker with groups made by confluent-kafka consumers (one
  broker for the class): --list on a broker without groups prints nothing, then the groups (with
  --state, their states); --describe prints Kafka's columns, and each partition's CURRENT-OFFSET,
  LOG-END-OFFSET and LAG are the committed offset, the log end and their difference after
  producing N and consuming M, with the member's CONSUMER-ID, HOST and CLIENT-ID; --members (with
  --verbose, the assignment) and --state (coordinator, strategy, state, count); an empty group's
  note and "-" columns; --reset-offsets refuses an active group with Kafka's message, --dry-run
  prints the plan and changes nothing, --execute commits it and a consumer of the group resumes
  at the new offset (--to-earliest, --to-latest, --to-current, --to-offset, --shift-by,
  --to-datetime, per --topic T[:p] and --all-topics, --export); --delete-offsets and --delete
  (refused while the group has members), after which the group "does not exist";
  kafka-console-consumer --group commits what it printed, so its next run goes on from there.
- FakeBrokerTest: the output byte for byte against kgroupfake, a scripted broker whose groups
  hold still (members on several hosts, long member ids, offsets past a log start, an empty
  partition), ListGroups v0 without states included.
- UsageTest: each usage error names the problem and exits 1.
"""
import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kbharness  # noqa: E402
from kgroupfake import TS0, FakeGroupBroker, Group, Member  # noqa: E402
from samsatest.wait import wait_for  # noqa: E402
from samsatest.workdir import SharedFixtureTest  # noqa: E402

from confluent_kafka import Consumer, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BIN = os.path.join(ROOT, "deploy", "bin")
BUILD = os.environ.get("SAMSA_BUILD_ROOT") or os.path.dirname(
    os.path.dirname(os.path.abspath(os.environ["SAMSA_BROKER"])))
HEADER = ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST",
          "CLIENT-ID"]
PER_PART = 10  # records produced to each partition
NPARTS = 3


def cg(*args, name="kafka-consumer-groups"):
    env = dict(os.environ, SAMSA_BUILD=BUILD)
    return subprocess.run([os.path.join(BIN, name)] + list(args), capture_output=True, text=True, timeout=60,
                          env=env)


def table(text):
    """The rows of the tool's table (lines split on runs of spaces), header first."""
    return [line.split() for line in text.split("\n") if line.strip()]


def columns_aligned(text):
    """Every line of the table starts each column at the header's column (Kafka's padding)."""
    lines = [line for line in text.split("\n") if line.strip()]
    starts = [m.start() for m in re.finditer(r"\S+", lines[0])]
    for line in lines[1:]:
        for s in starts[1:]:
            if line[s - 1] != " " or line[s] == " ":
                return False
    return True


class ConsumerGroupsTest(SharedFixtureTest):
    @classmethod
    def setUpClass(cls):
        fx = cls.fixture()
        cls.cluster = kbharness.Cluster(fx, broker_extra={
            "offsets.topic.replication.factor": "1",
            "group.initial.rebalance.delay.ms": "0",
        })
        cls.bs = cls.cluster.bootstrap
        # before any group exists
        cls.empty_list = cg("--bootstrap-server", cls.bs, "--list")
        admin = AdminClient({"bootstrap.servers": cls.bs})
        fs = admin.create_topics([NewTopic(t, NPARTS, 1) for t in ("lag", "reset", "gone", "console")])
        for f in fs.values():
            f.result(30)
        p = Producer({"bootstrap.servers": cls.bs, "linger.ms": 5})
        cls.before_produce_ms = int(time.time() * 1000) - 1000
        for t in ("lag", "reset", "gone", "console"):
            for part in range(NPARTS):
                for i in range(PER_PART):
                    p.produce(t, value=b"%s-%d-%d" % (t.encode(), part, i), partition=part)
        assert p.flush(30) == 0
        fx.ready()

    def consumer(self, group, client_id="cg-test", **extra):
        conf = {"bootstrap.servers": self.bs, "group.id": group, "client.id": client_id,
                "enable.auto.commit": False, "auto.offset.reset": "earliest",
                "session.timeout.ms": 10000, "heartbeat.interval.ms": 500}
        conf.update(extra)
        c = Consumer(conf)
        self.addCleanup(c.close)
        return c

    def consume(self, c, n, timeout=30):
        """Polls until n records came; returns them."""
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < n and time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is not None and not m.error():
                got.append(m)
        self.assertEqual(len(got), n, "consumed %d of %d" % (len(got), n))
        return got

    def wait_state(self, group, state, members):
        """Polls --describe --state until the group is in state with that many members."""
        def ok():
            r = cg("--bootstrap-server", self.bs, "--describe", "--group", group, "--state")
            rows = table(r.stdout)
            return r.returncode == 0 and len(rows) == 2 and rows[1][-2:] == [state, str(members)] and rows
        return wait_for(ok, 30, "group %s %s with %d members" % (group, state, members), interval=0.3)

    def describe(self, group, *extra):
        r = cg("--bootstrap-server", self.bs, "--describe", "--group", group, *extra)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def committed(self, group, topic):
        r = self.describe(group)
        return {int(row[2]): row[3] for row in table(r.stdout)[1:] if row[1] == topic}

    # ---- tests ----

    def test_0_list_without_groups(self):
        r = self.empty_list
        self.assertEqual((r.returncode, r.stdout), (0, ""), r.stderr)

    def test_describe_lag_members_state(self):
        c = self.consumer("g-lag", client_id="lag-client")
        c.subscribe(["lag"])
        got = self.consume(c, 12)
        c.commit(asynchronous=False)
        want = {}
        for m in got:
            want[m.partition()] = max(want.get(m.partition(), -1), m.offset() + 1)
        self.wait_state("g-lag", "Stable", 1)

        r = self.describe("g-lag")
        self.assertEqual(r.stderr, "")
        self.assertTrue(r.stdout.startswith("\nGROUP "), repr(r.stdout))
        rows = table(r.stdout)
        member = rows[1][6]  # the broker's member id: client.id, "-", a UUID (KIP-394)
        self.assertRegex(member, r"^lag-client-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
        self.assertEqual(rows[0], HEADER)
        self.assertTrue(columns_aligned(r.stdout), r.stdout)
        self.assertEqual(len(rows), 1 + NPARTS, r.stdout)
        for row in rows[1:]:
            g, topic, part, cur, end, lag, cid, host, client = row
            self.assertEqual((g, topic, end, cid, host, client),
                             ("g-lag", "lag", str(PER_PART), member, "/127.0.0.1", "lag-client"), row)
            p = int(part)
            if p in want:
                self.assertEqual((cur, lag), (str(want[p]), str(PER_PART - want[p])), row)
            else:
                self.assertEqual((cur, lag), ("-", "-"), row)
        self.assertEqual(sorted(int(row[2]) for row in rows[1:]), list(range(NPARTS)))
        # --offsets is the default sub-action
        self.assertEqual(self.describe("g-lag", "--offsets").stdout, r.stdout)

        r = self.describe("g-lag", "--members")
        rows = table(r.stdout)
        self.assertEqual(rows, [["GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"],
                                ["g-lag", member, "/127.0.0.1", "lag-client", str(NPARTS)]])
        self.assertTrue(columns_aligned(r.stdout), r.stdout)
        r = self.describe("g-lag", "--members", "--verbose")
        self.assertEqual(table(r.stdout)[1][-1], "lag(0,1,2)")
        self.assertEqual(table(r.stdout)[0][-1], "ASSIGNMENT")

        r = self.describe("g-lag", "--state")
        rows = table(r.stdout)
        self.assertEqual(r.stdout.split("\n")[1].split(), ["GROUP", "COORDINATOR", "(ID)", "ASSIGNMENT-STRATEGY",
                                                           "STATE", "#MEMBERS"])
        port = self.bs.rsplit(":", 1)[1]
        self.assertEqual(rows[1], ["g-lag", "127.0.0.1:%s" % port, "(0)", "range", "Stable", "1"])

        r = cg("--bootstrap-server", self.bs, "--list")
        self.assertIn("g-lag", r.stdout.split("\n"))

        # an active group's offsets are not reset
        r = cg("--bootstrap-server", self.bs, "--reset-offsets", "--group", "g-lag", "--topic", "lag",
               "--to-earliest", "--execute")
        self.assertEqual(r.returncode, 1)
        self.assertIn("\nError: Assignments can only be reset if the group 'g-lag' is inactive, but the current "
                      "state is Stable.\n", r.stdout)
        # nor is the group deleted
        r = cg("--bootstrap-server", self.bs, "--delete", "--group", "g-lag")
        self.assertEqual(r.returncode, 1)
        self.assertIn("* Group 'g-lag' could not be deleted due to: "
                      "org.apache.kafka.common.errors.GroupNotEmptyException: The group is not empty.", r.stdout)

        # the member leaves: the group is Empty, the committed partitions stay, without a consumer
        c.close()
        self.wait_state("g-lag", "Empty", 0)
        r = self.describe("g-lag")
        self.assertEqual(r.stderr, "\nConsumer group 'g-lag' has no active members.\n")
        rows = table(r.stdout)
        self.assertEqual(rows[0], HEADER)
        self.assertEqual(sorted((int(row[2]), row[3], row[5]) for row in rows[1:]),
                         sorted((p, str(o), str(PER_PART - o)) for p, o in want.items()))
        for row in rows[1:]:
            self.assertEqual(row[6:], ["-", "-", "-"])
        r = cg("--bootstrap-server", self.bs, "--list", "--state")
        rows = table(r.stdout)
        self.assertEqual(rows[0], ["GROUP", "STATE"])
        self.assertIn(["g-lag", "Empty"], rows)
        r = cg("--bootstrap-server", self.bs, "--describe", "--group", "g-lag", "--members")
        self.assertEqual((r.returncode, r.stdout), (0, ""))
        self.assertIn("has no active members", r.stderr)

    def test_console_consumer_commits(self):
        """kafka-console-consumer --group commits what it printed (on close, as Kafka's does with
        auto commit), so the next run of the group goes on where it stopped, --from-beginning or
        not, and kafka-consumer-groups shows the offsets."""
        def console(n):
            r = cg("--bootstrap-server", self.bs, "--topic", "console", "--group", "g-console", "--from-beginning",
                   "--max-messages", str(n), "--timeout-ms", "30000", name="kafka-console-consumer")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("Processed a total of %d messages" % n, r.stderr)
            return r.stdout.split("\n")[:-1]
        first = console(12)
        self.wait_state("g-console", "Empty", 0)
        rows = table(self.describe("g-console").stdout)[1:]
        self.assertEqual(sum(int(row[3]) for row in rows if row[3] != "-"), 12, rows)
        self.assertEqual(sum(int(row[5]) for row in rows), PER_PART * len(rows) - 12, rows)  # lag = end - offset
        second = console(NPARTS * PER_PART - 12)
        self.assertEqual(sorted(first + second),
                         sorted("console-%d-%d" % (p, i) for p in range(NPARTS) for i in range(PER_PART)))
        self.wait_state("g-console", "Empty", 0)
        rows = table(self.describe("g-console").stdout)[1:]
        self.assertEqual([(row[3], row[5]) for row in rows], [(str(PER_PART), "0")] * NPARTS, rows)

    def start_group(self, group, topic):
        """A group that consumed and committed every record of topic and then left (Empty)."""
        c = self.consumer(group)
        c.subscribe([topic])
        self.consume(c, NPARTS * PER_PART)
        c.commit(asynchronous=False)
        c.close()
        self.wait_state(group, "Empty", 0)

    def reset(self, group, *args):
        r = cg("--bootstrap-server", self.bs, "--reset-offsets", "--group", group, *args)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def plan(self, r):
        rows = table(r.stdout)
        self.assertEqual(rows[0], ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"])
        return {(row[1], int(row[2])): int(row[3]) for row in rows[1:]}

    def test_reset_offsets(self):
        g = "g-reset"
        self.start_group(g, "reset")
        before = self.committed(g, "reset")
        self.assertEqual(before, {p: str(PER_PART) for p in range(NPARTS)})

        # dry run (explicit, and the default with its warning): the plan, nothing committed
        r = self.reset(g, "--topic", "reset", "--to-earliest", "--dry-run")
        self.assertEqual(self.plan(r), {("reset", p): 0 for p in range(NPARTS)})
        self.assertEqual(r.stdout.split("\n")[1], "%-30s %-30s %-10s %-15s" % ("GROUP", "TOPIC", "PARTITION",
                                                                               "NEW-OFFSET"))
        r = self.reset(g, "--topic", "reset", "--to-latest")
        self.assertIn("WARN: No action will be performed as the --execute option is missing.", r.stderr)
        self.assertEqual(self.plan(r), {("reset", p): PER_PART for p in range(NPARTS)})
        self.assertEqual(self.committed(g, "reset"), before)

        # --execute of one partition: a consumer of the group resumes there
        r = self.reset(g, "--topic", "reset:1", "--to-offset", "5", "--execute")
        self.assertEqual(self.plan(r), {("reset", 1): 5})
        after = self.committed(g, "reset")
        self.assertEqual(after[1], "5")
        self.assertEqual({p: v for p, v in after.items() if p != 1}, {p: v for p, v in before.items() if p != 1})
        c = self.consumer(g)
        c.subscribe(["reset"])
        first = {}
        for m in self.consume(c, sum(PER_PART - int(after[p]) for p in range(NPARTS))):
            first.setdefault(m.partition(), m.offset())
        c.close()
        self.assertEqual(first, {1: 5})
        self.wait_state(g, "Empty", 0)

        # the other scenarios, on every partition the group has offsets for
        self.reset(g, "--all-topics", "--to-offset", "4", "--execute")
        self.assertEqual(self.committed(g, "reset"), {p: "4" for p in range(NPARTS)})
        r = self.reset(g, "--all-topics", "--shift-by", "-3", "--execute")
        self.assertEqual(self.plan(r), {("reset", p): 1 for p in range(NPARTS)})
        r = self.reset(g, "--all-topics", "--shift-by", "-5", "--dry-run")  # clamped to the log start
        self.assertEqual(self.plan(r), {("reset", p): 0 for p in range(NPARTS)})
        r = self.reset(g, "--all-topics", "--to-offset", "1000", "--dry-run")  # clamped to the log end
        self.assertEqual(self.plan(r), {("reset", p): PER_PART for p in range(NPARTS)})
        r = self.reset(g, "--topic", "reset", "--to-current", "--dry-run")
        self.assertEqual(self.plan(r), {("reset", p): 1 for p in range(NPARTS)})
        old = datetime.datetime.fromtimestamp(self.before_produce_ms / 1000, datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%S.000")
        r = self.reset(g, "--topic", "reset", "--to-datetime", old, "--dry-run")
        self.assertEqual(self.plan(r), {("reset", p): 0 for p in range(NPARTS)})
        r = self.reset(g, "--topic", "reset", "--to-datetime", "2999-01-01T00:00:00.000", "--dry-run")
        self.assertEqual(self.plan(r), {("reset", p): PER_PART for p in range(NPARTS)})
        r = self.reset(g, "--topic", "reset:0,2", "--to-earliest", "--export")
        self.assertEqual(r.stdout, "reset,0,0\nreset,2,0\n\n")
        self.assertEqual(self.committed(g, "reset"), {p: "1" for p in range(NPARTS)})

    def test_delete_offsets_and_group(self):
        g = "g-gone"
        self.start_group(g, "gone")
        self.assertEqual(len(self.committed(g, "gone")), NPARTS)
        r = cg("--bootstrap-server", self.bs, "--delete-offsets", "--group", g, "--topic", "gone:1")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(table(r.stdout), [["Request", "succeed", "for", "deleting", "offsets", "with", "topic",
                                            "gone:1", "group", g], ["TOPIC", "PARTITION", "STATUS"],
                                           ["gone", "1", "Successful"]])
        self.assertEqual(sorted(self.committed(g, "gone")), [0, 2])

        r = cg("--bootstrap-server", self.bs, "--delete", "--group", g, name="kafka-consumer-groups.sh")
        self.assertEqual((r.returncode, r.stdout),
                         (0, "Deletion of requested consumer groups ('%s') was successful.\n" % g), r.stderr)
        self.assertNotIn(g, cg("--bootstrap-server", self.bs, "--list").stdout.split("\n"))
        r = cg("--bootstrap-server", self.bs, "--describe", "--group", g)
        self.assertEqual((r.returncode, r.stdout), (1, "\nError: Consumer group '%s' does not exist.\n" % g))
        r = cg("--bootstrap-server", self.bs, "--delete", "--group", g)
        self.assertEqual(r.returncode, 1)
        self.assertIn("* Group '%s' could not be deleted due to: org.apache.kafka.common.errors."
                      "GroupIdNotFoundException: The group id does not exist." % g, r.stdout)


class FakeBrokerTest(unittest.TestCase):
    """Exact output against a scripted broker (kgroupfake)."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="samsa-cg-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.f = FakeGroupBroker()
        self.addCleanup(self.f.close)
        self.f.topics = {"cities": [(0, 10), (2, 20), (0, 0)], "dogs": [(0, 5)]}
        self.f.groups = {
            "busy": Group("Stable", "range", [
                Member("c1-aaaa", "c1", "/127.0.0.1", {"cities": [0, 1]}),
                Member("consumer-2-0f8e5d7c-51f3-4a4c-9a0e-3f2b1c0d9e8f", "consumer-2", "/10.0.0.7",
                       {"cities": [2], "dogs": [0]})],
                {("cities", 0): 4, ("cities", 1): 20, ("dogs", 0): 1}),
            "idle": Group("Empty", "", [], {("cities", 0): 3, ("dogs", 0): 5}),
        }

    def run_cg(self, *args, rc=0):
        r = cg("--bootstrap-server", self.f.bootstrap, *args)
        self.assertEqual(r.returncode, rc, r.stdout + r.stderr)
        return r

    def test_list(self):
        self.assertEqual(self.run_cg("--list").stdout, "busy\nidle\n")
        r = cg("--bootstrap-server", self.f.bootstrap, "--list", name="kafka-consumer-groups.sh")
        self.assertEqual((r.returncode, r.stdout), (0, "busy\nidle\n"))
        # ListGroups v0 has no states: they come from DescribeGroups, and the filter is applied here
        self.assertEqual(self.run_cg("--list", "--state").stdout,
                         "GROUP           STATE\nbusy            Stable\nidle            Empty\n")
        self.assertEqual(self.run_cg("--list", "--state", "empty, Dead").stdout,
                         "GROUP           STATE\nidle            Empty\n")
        r = self.run_cg("--list", "--state", "sleepy", rc=1)
        self.assertTrue(r.stderr.startswith("Invalid state list 'sleepy'. Valid states are: "), r.stderr)

    def test_describe_offsets(self):
        r = self.run_cg("--describe", "--all-groups")
        self.assertEqual(r.stdout, (
            "\n"
            "GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     "
            "                                HOST            CLIENT-ID\n"
            "busy            cities          0          4               10              6               c1-aaaa         "
            "                                /127.0.0.1      c1\n"
            "busy            cities          1          20              20              0               c1-aaaa         "
            "                                /127.0.0.1      c1\n"
            "busy            cities          2          -               0               -               consumer-2-0f8e5"
            "d7c-51f3-4a4c-9a0e-3f2b1c0d9e8f /10.0.0.7       consumer-2\n"
            "busy            dogs            0          1               5               4               consumer-2-0f8e5"
            "d7c-51f3-4a4c-9a0e-3f2b1c0d9e8f /10.0.0.7       consumer-2\n"
            "\n"
            "GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     "
            "HOST            CLIENT-ID\n"
            "idle            cities          0          3               10              7               -               "
            "-               -\n"
            "idle            dogs            0          5               5               0               -               "
            "-               -\n"))
        self.assertEqual(r.stderr, "\nConsumer group 'idle' has no active members.\n")
        r = self.run_cg("--describe", "--group", "nope", rc=1)
        self.assertEqual((r.stdout, r.stderr), ("\nError: Consumer group 'nope' does not exist.\n", ""))

    def test_describe_members_and_state(self):
        r = self.run_cg("--describe", "--group", "busy", "--members")
        self.assertEqual(r.stdout, (
            "\n"
            "GROUP           CONSUMER-ID                                     HOST            CLIENT-ID       #PARTITIONS     \n"
            "busy            c1-aaaa                                         /127.0.0.1      c1              2               \n"
            "busy            consumer-2-0f8e5d7c-51f3-4a4c-9a0e-3f2b1c0d9e8f /10.0.0.7       consumer-2      2               \n"))
        r = self.run_cg("--describe", "--group", "busy", "--members", "--verbose")
        self.assertEqual(r.stdout.split("\n")[1][-len("#PARTITIONS     ASSIGNMENT"):], "#PARTITIONS     ASSIGNMENT")
        self.assertTrue(r.stdout.split("\n")[2].endswith("2               cities(0,1)"))
        self.assertTrue(r.stdout.split("\n")[3].endswith("2               cities(2), dogs(0)"))
        r = self.run_cg("--describe", "--group", "busy", "--state")
        coord = "127.0.0.1:%d (0)" % self.f.port
        self.assertEqual(r.stdout, (
            "\nGROUP           COORDINATOR (ID)          ASSIGNMENT-STRATEGY  STATE           #MEMBERS"
            "\nbusy            %-25s range                Stable          2\n" % coord))
        r = self.run_cg("--describe", "--group", "idle", "--members")
        self.assertEqual((r.stdout, r.stderr), ("", "\nConsumer group 'idle' has no active members.\n"))
        self.f.groups["busy"].state = "PreparingRebalance"
        r = self.run_cg("--describe", "--group", "busy", "--members")
        self.assertEqual(r.stderr, "\nWarning: Consumer group 'busy' is rebalancing.\n")
        self.assertEqual(len(table(r.stdout)), 3)

    def test_reset_offsets(self):
        r = self.run_cg("--reset-offsets", "--group", "busy", "--all-topics", "--to-earliest", "--execute", rc=1)
        self.assertEqual(r.stdout, "\nError: Assignments can only be reset if the group 'busy' is inactive, but the "
                                   "current state is Stable.\n\n" + "%-30s %-30s %-10s %-15s\n" % (
                                       "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"))
        self.assertEqual(self.f.groups["busy"].offsets[("cities", 0)], 4)
        offsets = dict(self.f.groups["idle"].offsets)
        r = self.run_cg("--reset-offsets", "--group", "idle", "--all-topics", "--to-earliest", "--dry-run")
        self.assertEqual(r.stdout, (
            "\n"
            "GROUP                          TOPIC                          PARTITION  NEW-OFFSET     \n"
            "idle                           cities                         0          0              \n"
            "idle                           dogs                           0          0              \n"))
        self.assertEqual(self.f.groups["idle"].offsets, offsets)
        # to 7: past the end of the empty partition 2, which gets its end (0) and Kafka's warning
        r = self.run_cg("--reset-offsets", "--group", "idle", "--topic", "cities", "--to-offset", "7", "--execute")
        self.assertEqual(r.stdout, (
            "\n"
            "GROUP                          TOPIC                          PARTITION  NEW-OFFSET     \n"
            "idle                           cities                         0          7              \n"
            "idle                           cities                         1          7              \n"
            "idle                           cities                         2          0              \n"))
        self.assertIn("WARN New offset (7) is higher than latest offset for topic partition cities-2. Value will be "
                      "set to 0 (kafka.admin.ConsumerGroupCommand$)", r.stderr)
        self.assertEqual(self.f.groups["idle"].offsets,
                         {("cities", 0): 7, ("cities", 1): 7, ("cities", 2): 0, ("dogs", 0): 5})

        def plan(*args):
            return self.run_cg("--reset-offsets", "--group", "idle", "--dry-run", *args).stdout.split("\n")[2:-1]
        self.assertEqual(plan("--topic", "cities:1", "--shift-by", "-100"), ["%-30s %-30s %-10s %-15s" % (
            "idle", "cities", "1", "2")])  # clamped to the log start
        self.assertEqual(plan("--topic", "cities:1", "--to-latest")[0].split(), ["idle", "cities", "1", "20"])
        self.assertEqual(plan("--topic", "cities:1", "--to-current")[0].split(), ["idle", "cities", "1", "7"])
        # the first record at or after the time; none: the log end
        t3 = datetime.datetime.fromtimestamp((TS0 + 3) / 1000, datetime.timezone.utc)
        self.assertEqual(plan("--topic", "dogs", "--to-datetime", t3.strftime("%Y-%m-%dT%H:%M:%S.003"))[0].split(),
                         ["idle", "dogs", "0", "3"])
        self.assertEqual(plan("--topic", "dogs", "--to-datetime", "2999-01-01T00:00:00.000")[0].split(),
                         ["idle", "dogs", "0", "5"])
        self.assertEqual(plan("--topic", "dogs", "--by-duration", "P2000D")[0].split(), ["idle", "dogs", "0", "0"])
        self.assertEqual(plan("--topic", "dogs", "--by-duration", "PT1H30M")[0].split(), ["idle", "dogs", "0", "5"])
        csv = os.path.join(self.tmp, "plan.csv")
        with open(csv, "w") as f:
            f.write("cities,1,9\ndogs,0,99\n")
        self.assertEqual([row.split() for row in plan("--from-file", csv)],
                         [["idle", "cities", "1", "9"], ["idle", "dogs", "0", "5"]])  # 99: clamped to the end
        with open(csv, "w") as f:
            f.write("idle,cities,0,1\nother,cities,0,2\n")
        self.assertEqual([row.split() for row in plan("--from-file", csv)], [["idle", "cities", "0", "1"]])
        r = self.run_cg("--reset-offsets", "--group", "idle", "--group", "new", "--topic", "dogs", "--to-earliest",
                        "--export")
        self.assertEqual(r.stdout, "idle,dogs,0,0\nnew,dogs,0,0\n\n")
        self.assertNotIn("new", self.f.groups)

    def test_delete(self):
        r = self.run_cg("--delete-offsets", "--group", "idle", "--topic", "cities:0", "--topic", "nope", rc=1)
        self.assertEqual(r.stdout, (
            "\nError: Encounter some partition level error, see the follow-up details:\n\n"
            "TOPIC                          PARTITION       STATUS         \n"
            "cities                         0               Successful     \n"
            "nope                           Not Provided    Error: This server does not host this topic-partition.\n"))
        self.assertEqual(self.f.groups["idle"].offsets, {("dogs", 0): 5})
        r = self.run_cg("--delete", "--group", "idle", "--group", "busy", "--group", "nope", rc=1)
        self.assertEqual(r.stdout, (
            "\nError: Deletion of some consumer groups failed:\n"
            "* Group 'busy' could not be deleted due to: org.apache.kafka.common.errors.GroupNotEmptyException: The "
            "group is not empty.\n"
            "* Group 'nope' could not be deleted due to: org.apache.kafka.common.errors.GroupIdNotFoundException: The "
            "group id does not exist.\n"
            "\nThese consumer groups were deleted successfully: 'idle'\n"))
        self.assertEqual(sorted(self.f.groups), ["busy"])


class UsageTest(unittest.TestCase):
    """Argument errors need no broker: each names the problem on stderr and exits 1."""

    def usage(self, *args):
        r = cg(*args)
        self.assertEqual((r.returncode, r.stdout), (1, ""), (args, r.stderr))
        return r.stderr.split("\n")[0]

    def test_usage_errors(self):
        bs = ("--bootstrap-server", "127.0.0.1:1")
        self.assertEqual(self.usage("--list"), 'Missing required argument "[bootstrap-server]"')
        self.assertEqual(self.usage(*bs), "Command must include exactly one action: --list, --describe, --delete, "
                                          "--reset-offsets, --delete-offsets")
        self.assertEqual(self.usage(*bs, "--list", "--delete", "--group", "g"),
                         'Option "[group]" can\'t be used with option "[list]"')
        self.assertEqual(self.usage(*bs, "--describe"),
                         "Option [describe] takes one of these options: [group], [all-groups]")
        self.assertEqual(self.usage(*bs, "--describe", "--group", "g", "--members", "--state"),
                         "Option [describe] takes at most one of these options: [members], [offsets], [state]")
        self.assertEqual(self.usage(*bs, "--list", "--members"),
                         "Option(s) [members] are unavailable given other options on the command line")
        self.assertEqual(self.usage(*bs, "--delete", "--group", "g", "--topic", "t"),
                         "The consumer does not support topic-specific offset deletion from a consumer group.")
        self.assertEqual(self.usage(*bs, "--delete-offsets", "--group", "g"),
                         "Option [delete-offsets] takes the following options: [group], [topic]")
        self.assertEqual(self.usage(*bs, "--reset-offsets", "--group", "g", "--to-earliest"),
                         "One of the reset scopes should be defined: --all-topics, --topic.")
        self.assertTrue(self.usage(*bs, "--reset-offsets", "--group", "g", "--all-topics").startswith(
            "Option '[reset-offsets]' requires one of the following scenarios: "))
        self.assertEqual(self.usage(*bs, "--reset-offsets", "--group", "g", "--all-topics", "--to-earliest",
                                    "--to-latest"),
                         'Option "[to-earliest]" can\'t be used with option "[to-latest]"')
        self.assertEqual(self.usage(*bs, "--reset-offsets", "--group", "g", "--all-topics", "--to-earliest",
                                    "--dry-run", "--execute"),
                         "Option [reset-offsets] only accepts one of [execute] and [dry-run]")
        self.assertEqual(self.usage(*bs, "--reset-offsets", "--group", "g", "--all-topics", "--to-offset", "x"),
                         "Cannot parse argument 'x' of option to-offset")
        self.assertTrue(self.usage(*bs, "--reset-offsets", "--group", "g", "--all-topics", "--to-datetime",
                                   "yesterday").startswith("Error parsing timestamp 'yesterday'"))
        self.assertEqual(self.usage(*bs, "--bogus"), "bogus is not a recognized option")
        r = cg("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--reset-offsets", r.stdout)


if __name__ == "__main__":
    unittest.main()
