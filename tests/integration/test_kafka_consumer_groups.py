"""kafka-consumer-groups (broker/tools, on librdkafka's admin API):

- FakeBrokerTest: the output byte for byte against kgroupfake, a scripted broker whose groups
  hold still (members on several hosts, long member ids, offsets past a log start, an empty
  partition): --list; --describe with Kafka's columns, each partition's CURRENT-OFFSET,
  LOG-END-OFFSET and LAG, an empty group's note and "-" columns, an unknown group; --members
  (--verbose), --state; --reset-offsets refusing an active group, a dry run changing nothing,
  --execute committing, clamping to the log with Kafka's warning, --to-current, --to-latest,
  --shift-by, --to-datetime, --export; --delete-offsets, --delete; the .sh name.
- UsageTest: each usage error names the problem and exits 1.
"""
import datetime
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kgroupfake import TS0, FakeGroupBroker, Group, Member  # noqa: E402

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


class FakeBrokerTest(unittest.TestCase):
    """Exact output against a scripted broker (kgroupfake)."""

    def setUp(self):
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
