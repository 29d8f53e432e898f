#!/usr/bin/env python3
"""kafka-leader-election against real daemons: three brokers and one coordinator, an RF=3 topic
created with kafka-python's admin client (explicit assignment), partition states read with
kazoo. A preferred leader is killed with -9, its partition moves; the tool then reports that the
preferred replica is not available; the broker restarts, its leader takes it back into the ISR
(replication), and the tool (run through its .sh alias, bootstrapped at a broker that is not
the controller) gives the partition back to it: the state znode shows the preferred leader with
a newer epoch. Also: NOT_CONTROLLER makes the tool look for the controller again (a stand-in
broker on loopback that claims the controllership once), the JSON file, unclean elections, and
Kafka's argument errors and exit codes. auto.leader.rebalance.enable is off, so only the tool
moves leaders back."""
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kbharness  # noqa: E402
from samsatest.wait import wait_for  # noqa: E402

warnings.simplefilter("ignore")
from kafka.admin import KafkaAdminClient, NewTopic  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.environ.get("SAMSA_LEADER_ELECTION")
ALIAS = os.path.join(ROOT, "deploy", "bin", "kafka-leader-election.sh")
ASSIGN = {0: [0, 1, 2], 1: [1, 2, 0], 2: [2, 0, 1]}
NOT_AVAILABLE = "org.apache.kafka.common.errors.PreferredLeaderNotAvailableException"


def run_tool(*args, alias=False, timeout=60):
    """Runs the tool (or its deploy/bin alias); (exit status, stdout, stderr)."""
    if alias:
        env = dict(os.environ, SAMSA_BUILD=os.environ["SAMSA_BUILD_ROOT"])
        argv = [ALIAS] + list(args)
    else:
        env = dict(os.environ)
        argv = [TOOL] + list(args)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    return p.returncode, p.stdout, p.stderr


class NoBroker(threading.Thread):
    """The tool against a port nothing listens on: Kafka's admin client retries until the tool's
    30 s are over. Started by setUpModule, so that those 30 s pass while the other tests run
    (they used to add 30 s to every CI run); ZzNoBrokerTest, which unittest runs last (classes
    go in name order), collects the outcome and its duration, measured by this thread from the
    tool's start to its exit."""

    def __init__(self):
        threading.Thread.__init__(self, name="no-broker", daemon=True)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.result = None

    def run(self):
        t0 = time.monotonic()
        try:
            rc, out, err = run_tool("--bootstrap-server", "127.0.0.1:%d" % self.port, "--election-type",
                                    "preferred", "--all-topic-partitions")
            self.result = (rc, out, err, time.monotonic() - t0)
        except Exception as e:  # reported by the test
            self.result = e


NO_BROKER = []


def setUpModule():
    nb = NoBroker()
    nb.start()
    NO_BROKER.append(nb)


class ZzNoBrokerTest(unittest.TestCase):
    def test_no_broker_times_out(self):
        nb = NO_BROKER[0]
        nb.join(60)
        self.assertFalse(nb.is_alive(), "the tool still runs 60 s after it started")
        if isinstance(nb.result, Exception):
            raise nb.result
        rc, out, err, took = nb.result
        self.assertEqual(rc, 1)
        self.assertEqual(out, "Timeout waiting for election results\n")
        self.assertEqual(err.strip(), 'Exception in thread "main" kafka.common.AdminCommandFailedException: '
                         "Timeout waiting for election results")
        self.assertGreater(took, 29)
        self.assertLess(took, 40)


class ArgumentTest(unittest.TestCase):
    """Kafka's LeaderElectionCommand argument checks: the message of the exception it lets
    escape on stderr, exit status 1; usage on stderr for no arguments."""

    def check_error(self, args, line):
        rc, out, err = run_tool(*args)
        self.assertEqual(rc, 1, (args, out, err))
        self.assertEqual(out, "")
        self.assertEqual(err.strip(), 'Exception in thread "main" ' + line)

    def test_usage(self):
        rc, out, err = run_tool()
        self.assertEqual(rc, 1)
        self.assertIn("This tool attempts to elect a new leader for a set of topic partitions.", err)
        self.assertIn("--election-type <[PREFERRED,UNCLEAN]: election type>", err)
        rc, out, err = run_tool("--help")
        self.assertEqual(rc, 1)
        self.assertIn("--all-topic-partitions", err)

    def test_errors(self):
        b = ["--bootstrap-server", "127.0.0.1:1"]
        self.check_error(["--topic", "t", "--partition", "0"],
                         "kafka.common.AdminCommandFailedException: Missing required option(s): "
                         "election-type, bootstrap-server")
        self.check_error(b + ["--all-topic-partitions"],
                         "kafka.common.AdminCommandFailedException: Missing required option(s): election-type")
        one = ("kafka.common.AdminCommandFailedException: One and only one of the following options is "
               "required: topic, all-topic-partitions, path-to-json-file")
        self.check_error(b + ["--election-type", "preferred"], one)
        self.check_error(b + ["--election-type", "preferred", "--topic", "t", "--partition", "0",
                              "--all-topic-partitions"], one)
        self.check_error(b + ["--election-type", "preferred", "--topic", "t"],
                         "kafka.common.AdminCommandFailedException: Missing required option(s): partition")
        self.check_error(b + ["--election-type", "preferred", "--all-topic-partitions", "--partition", "1"],
                         "kafka.common.AdminCommandFailedException: Option partition is only allowed if topic "
                         "is used")
        self.check_error(b + ["--election-type", "fastest", "--all-topic-partitions"],
                         "joptsimple.OptionArgumentConversionException: Cannot parse argument 'fastest' of "
                         "option election-type")
        self.check_error(b + ["--election-type", "PREFERRED", "--topic", "t", "--partition", "x"],
                         "joptsimple.OptionArgumentConversionException: Cannot parse argument 'x' of option "
                         "partition")
        self.check_error(b + ["--election-type", "preferred", "--all-topic-partitions", "--frobnicate"],
                         "joptsimple.UnrecognizedOptionException: frobnicate is not a recognized option")
        self.check_error(["--bootstrap-server", "nohostport", "--election-type", "preferred",
                          "--all-topic-partitions"],
                         "org.apache.kafka.common.config.ConfigException: Invalid url in bootstrap.servers: "
                         "nohostport")

    def test_json_file_errors(self):
        with tempfile.TemporaryDirectory() as d:
            def check(text, line):
                path = os.path.join(d, "e.json")
                with open(path, "w") as f:
                    f.write(text)
                self.check_error(["--bootstrap-server", "127.0.0.1:1", "--election-type", "preferred",
                                  "--path-to-json-file", path], line)
            check("not json", "kafka.admin.AdminOperationException: Replica election data is empty")
            check('{"partition": []}',
                  'kafka.admin.AdminOperationException: Replica election data is missing "partitions" field')
            check('{"partitions": [{"topic": "a", "partition": 1}, {"topic": "b", "partition": 0}, '
                  '{"topic": "a", "partition": 1}, {"topic": "a", "partition": 1}, {"topic": "b", "partition": 0}]}',
                  "kafka.admin.AdminOperationException: Replica election data contains duplicate partitions: "
                  "a-1,b-0")
            check('{"partitions": [{"partition": 1}]}', "java.util.NoSuchElementException: key not found: topic")
            self.check_error(["--bootstrap-server", "127.0.0.1:1", "--election-type", "preferred",
                              "--path-to-json-file", os.path.join(d, "missing.json")],
                             "java.nio.file.NoSuchFileException: " + os.path.join(d, "missing.json"))

    def test_admin_config(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "admin.properties")
            with open(path, "w") as f:
                f.write("security.protocol=SASL_SSL\n")
            rc, out, err = run_tool("--bootstrap-server", "127.0.0.1:1", "--election-type", "preferred",
                                    "--all-topic-partitions", "--admin.config", path)
            self.assertEqual(rc, 1)
            self.assertIn("org.apache.kafka.common.config.ConfigException: %s:1: security.protocol=SASL_SSL "
                          "is not supported" % path, err)


def frame(corr, body):
    return struct.pack(">ii", 4 + len(body), corr) + body


def kstr(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


class StaleController:
    """A stand-in broker on loopback that claims, in its first Metadata answer, to be the
    controller (id 7, itself), answers the ElectLeaders sent to it with NOT_CONTROLLER for every
    partition (as a Kafka broker that has just lost the controllership does), and from then on
    relays Metadata to the real cluster, so that a client that looks again finds the real
    controller. Counts what it was asked."""

    def __init__(self, real_port):
        self.real_port = real_port
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.metadata = 0
        self.elect = 0
        self.stopping = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def close(self):
        self.stopping = True
        self.sock.close()
        self.thread.join(10)

    @staticmethod
    def read_frame(c):
        def n(k):
            b = b""
            while len(b) < k:
                x = c.recv(k - len(b))
                if not x:
                    return None
                b += x
            return b
        h = n(4)
        if h is None:
            return None
        return n(struct.unpack(">i", h)[0])

    def serve(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c:
                c.settimeout(20)
                req = self.read_frame(c)
                if req is None:
                    continue
                key, ver, corr = struct.unpack_from(">hhi", req, 0)
                if key == 3:
                    self.metadata += 1
                    if self.metadata == 1:
                        body = struct.pack(">i", 1) + struct.pack(">i", 7) + kstr("127.0.0.1")
                        body += struct.pack(">ih", self.port, -1) + struct.pack(">ii", 7, 0)
                        c.sendall(frame(corr, body))
                    else:  # relay to the real cluster
                        with socket.create_connection(("127.0.0.1", self.real_port), 20) as r:
                            r.sendall(struct.pack(">i", len(req)) + req)
                            resp = self.read_frame(r)
                        c.sendall(struct.pack(">i", len(resp)) + resp)
                elif key == 43:
                    self.elect += 1
                    # echo the request's partitions back, each NOT_CONTROLLER
                    cl = struct.unpack_from(">h", req, 8)[0]
                    pos = 10 + cl + 1  # header, election type
                    (nt,) = struct.unpack_from(">i", req, pos)
                    pos += 4
                    body = struct.pack(">ihi", 0, 0, max(nt, 0))
                    for _ in range(max(nt, 0)):
                        (tl,) = struct.unpack_from(">h", req, pos)
                        t = req[pos + 2:pos + 2 + tl]
                        pos += 2 + tl
                        (np_,) = struct.unpack_from(">i", req, pos)
                        pos += 4
                        body += struct.pack(">h", tl) + t + struct.pack(">i", np_)
                        for _ in range(np_):
                            (p,) = struct.unpack_from(">i", req, pos)
                            pos += 4
                            body += struct.pack(">ihh", p, 41, -1)
                    c.sendall(frame(corr, body))


class LeaderElectionTest(unittest.TestCase):
    def setUp(self):
        self.cluster = kbharness.Cluster(self, brokers=3,
                                         broker_extra={"auto.leader.rebalance.enable": "false"})
        self.zk = self.cluster.kazoo()
        ka = KafkaAdminClient(bootstrap_servers=self.cluster.bootstrap)
        try:
            ka.create_topics([NewTopic("r3", num_partitions=-1, replication_factor=-1,
                                       replica_assignments=ASSIGN)])
        finally:
            ka.close()
        for p, reps in ASSIGN.items():
            self.cluster.wait_state("r3", p, lambda s, reps=reps: s["leader"] == reps[0] and
                                    sorted(s["isr"]) == sorted(reps), what="leader %d, full ISR" % reps[0])

    def controller(self):
        wait_for(lambda: self.cluster.controller() is not None, 30, "a controller")
        return self.cluster.controller()

    def restart(self, victim, ctrl):
        """Starts a killed broker again once its old registration is gone, and waits until the
        controller counts it online again."""
        wait_for(lambda: self.zk.exists("/kafka/brokers/ids/%d" % victim) is None, 60,
                 "the old registration to expire")
        b = self.cluster.brokers[victim]
        b.start()
        b.wait_ready()
        online = "broker %d: offline -> online (registered)" % victim

        def rejoined():
            log = self.cluster.brokers[ctrl].log_text()
            return log.rfind(online) > log.rfind("broker %d: online -> offline" % victim)
        wait_for(rejoined, 60, "the controller to count broker %d online again" % victim)

    def test_preferred_election_after_restart(self):
        ctrl = self.controller()
        victim = (ctrl + 1) % 3
        pref = [p for p, reps in ASSIGN.items() if reps[0] == victim][0]
        others = sorted(p for p in ASSIGN if p != pref)
        self.cluster.brokers[victim].kill9()
        moved = self.cluster.wait_state("r3", pref, lambda s: s["leader"] not in (victim, -1) and
                                        victim not in s["isr"], what="a new leader without %d" % victim)
        # while the preferred replica is down, its election fails: Kafka's line, exit status 1
        rc, out, err = run_tool("--bootstrap-server", self.cluster.brokers[ctrl].bootstrap,
                                "--election-type", "preferred", "--topic", "r3", "--partition", str(pref))
        self.assertEqual(rc, 1, (out, err))
        self.assertTrue(out.startswith("Error completing leader election (PREFERRED) for partition: r3-%d: %s: "
                                       % (pref, NOT_AVAILABLE)), out)
        self.assertEqual(len(out.splitlines()), 1, out)
        self.assertEqual(err.strip(), 'Exception in thread "main" kafka.common.AdminCommandFailedException: '
                         "1 replica(s) could not be elected")
        self.assertEqual(self.cluster.state("r3", pref)["leader"], moved["leader"])
        # back: it fetches from the leader, which takes it into the ISR again
        self.restart(victim, ctrl)
        caught_up = self.cluster.wait_state("r3", pref, lambda s: victim in s["isr"],
                                            what="broker %d back in the ISR" % victim)
        self.assertNotEqual(caught_up["leader"], victim)
        # every partition, through the .sh alias, bootstrapped at a broker that is not the
        # controller (the tool asks Metadata for the controller and goes there)
        rc, out, err = run_tool("--bootstrap-server", self.cluster.brokers[victim].bootstrap,
                                "--election-type", "PREFERRED", "--all-topic-partitions", alias=True)
        self.assertEqual((rc, err), (0, ""), out)
        self.assertEqual(out.splitlines(), [
            "Successfully completed leader election (PREFERRED) for partitions r3-%d" % pref,
            "Valid replica already elected for partitions %s" % ", ".join("r3-%d" % p for p in others)])
        s = self.cluster.state("r3", pref)
        self.assertEqual(s["leader"], victim)
        self.assertGreater(s["leader_epoch"], caught_up["leader_epoch"])
        self.assertIn(victim, s["isr"])
        # nothing left to do: a JSON file naming every partition
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "election.json")
            with open(path, "w") as f:
                json.dump({"partitions": [{"topic": "r3", "partition": p} for p in (2, 0, 1)]}, f)
            rc, out, err = run_tool("--bootstrap-server", self.cluster.bootstrap, "--election-type", "preferred",
                                    "--path-to-json-file", path)
        self.assertEqual((rc, out, err), (0, "Valid replica already elected for partitions r3-0, r3-1, r3-2\n", ""))
        self.assertEqual(self.cluster.state("r3", pref)["leader_epoch"], s["leader_epoch"])

    def test_unclean_and_unknown(self):
        ctrl = self.controller()
        boot = self.cluster.brokers[ctrl].bootstrap
        # a live leader: an unclean election is not needed
        rc, out, err = run_tool("--bootstrap-server", boot, "--election-type", "unclean", "--topic", "r3",
                                "--partition", "1")
        self.assertEqual((rc, out, err), (0, "Valid replica already elected for partitions r3-1\n", ""))
        # partitions that do not exist: Kafka's exception per partition, exit status 1
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "election.json")
            with open(path, "w") as f:
                json.dump({"partitions": [{"topic": "nope", "partition": 0}, {"topic": "r3", "partition": 9},
                                          {"topic": "r3", "partition": 0}]}, f)
            rc, out, err = run_tool("--bootstrap-server", boot, "--election-type", "preferred",
                                    "--path-to-json-file", path)
        self.assertEqual(rc, 1, (out, err))
        lines = out.splitlines()
        self.assertEqual(lines[0], "Valid replica already elected for partitions r3-0")
        self.assertTrue(lines[1].startswith("Error completing leader election (PREFERRED) for partition: nope-0: "
                                            "org.apache.kafka.common.errors.UnknownTopicOrPartitionException: "),
                        out)
        self.assertTrue(lines[2].startswith("Error completing leader election (PREFERRED) for partition: r3-9: "
                                            "org.apache.kafka.common.errors.UnknownTopicOrPartitionException: "),
                        out)
        self.assertEqual(len(lines), 3, out)
        self.assertIn("2 replica(s) could not be elected", err)

    def test_not_controller_looks_again(self):
        ctrl = self.controller()
        victim = (ctrl + 1) % 3
        pref = [p for p, reps in ASSIGN.items() if reps[0] == victim][0]
        # move the partition away with a controlled shutdown, bring the broker back
        self.cluster.brokers[victim].stop()
        self.restart(victim, ctrl)
        self.cluster.wait_state("r3", pref, lambda s: s["leader"] != victim and victim in s["isr"],
                                what="led elsewhere with broker %d in the ISR" % victim)
        stale = StaleController(self.cluster.brokers[ctrl].port)
        self.addCleanup(stale.close)
        rc, out, err = run_tool("--bootstrap-server", "127.0.0.1:%d" % stale.port, "--election-type", "preferred",
                                "--topic", "r3", "--partition", str(pref))
        self.assertEqual((rc, err), (0, ""), out)
        self.assertEqual(out, "Successfully completed leader election (PREFERRED) for partitions r3-%d\n" % pref)
        # it asked the stand-in once, heard NOT_CONTROLLER, looked again and went to the real one
        self.assertEqual(stale.elect, 1)
        self.assertGreaterEqual(stale.metadata, 2)
        self.assertEqual(self.cluster.state("r3", pref)["leader"], victim)


if __name__ == "__main__":
    unittest.main()
