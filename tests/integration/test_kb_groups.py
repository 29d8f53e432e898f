"""Consumer groups with real clients, on one broker (offsets.topic.replication.factor=1, as the
shipped server.properties) and on three (__consumer_offsets with replication factor 3):
kafka-python consumers of one group split a topic's partitions, a third member takes some and
a member that leaves gives its partitions back; a consumer that commits and restarts resumes
after its commit; two groups each read everything; confluent-kafka with cooperative-sticky
moves only the partitions that must move; a static member (group.instance.id) restarting within
its session timeout gets its partitions back without a rebalance; kcat -G, kafkajs's consumer and our own
kafka-console-consumer --group read (the console consumer committing as it goes, so a second run
goes on where the first stopped). On three brokers, kill -9 of a group's coordinator: the group
finds the new leader of its offsets partition and its committed offsets are all there. The
flexible versions: confluent-kafka's committed() asks OffsetFetch v7 (librdkafka 2.0's), and
OffsetCommit v8 / OffsetFetch v6 go through byte for byte (request header v2, response header
v1, compact strings and arrays, tagged fields). kafka-acls --list against this broker, which has
no authorizer, reports SECURITY_DISABLED."""
import logging
import re
import os
import shutil
import struct
import subprocess
import sys
import threading
import time
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kbharness  # noqa: E402
from samsatest.workdir import SharedFixtureTest  # noqa: E402
from test_kb_kafkajs import kafkajs  # noqa: E402

warnings.simplefilter("ignore")
import confluent_kafka  # noqa: E402
from kafka import KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import KafkaAdminClient, NewTopic  # noqa: E402
from kafka.errors import InvalidTopicError  # noqa: E402

TOOLS = os.path.join(os.environ.get("SAMSA_BUILD_ROOT", ""), "broker", "tools")
# a member that stops polling is noticed within this (the broker's minimum is 6000)
SESSION_MS = 6000


def find_coordinator(broker, group):
    """(error, node id) of FindCoordinator v0 for group, asked of broker."""
    raw = kbharness.KafkaRaw(broker.port, host=broker.host)
    try:
        raw.request(10, 0, kbharness.kstr(group))
        r = raw.recv()
    finally:
        raw.close()
    err, node = struct.unpack(">hi", r[4:10])
    return err, node


def uv(n):
    """An unsigned varint (flexible versions' lengths and counts)."""
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7f) | 0x80])
        n >>= 7
    return out + bytes([n])


def cstr(s):
    return uv(0) if s is None else uv(len(s.encode()) + 1) + s.encode()


class Flex:
    """A reader of a flexible response body."""

    def __init__(self, b, pos=0):
        self.b, self.pos = b, pos

    def fmt(self, f):
        (v,) = struct.unpack_from(f, self.b, self.pos)
        self.pos += struct.calcsize(f)
        return v

    def uv(self):
        v, shift = 0, 0
        while True:
            c = self.b[self.pos]
            self.pos += 1
            v |= (c & 0x7f) << shift
            shift += 7
            if not c & 0x80:
                return v

    def cstr(self):
        n = self.uv() - 1
        if n < 0:
            return None
        s = self.b[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def tags(self):
        for _ in range(self.uv()):
            self.uv()
            self.pos += self.uv()


def create_topic(bs, name, partitions, rf=1):
    a = KafkaAdminClient(bootstrap_servers=bs)
    try:
        a.create_topics([NewTopic(name, partitions, rf)], timeout_ms=20000)
    finally:
        a.close()


def produce(bs, topic, values, partitions=None):
    p = KafkaProducer(bootstrap_servers=bs, acks="all")
    try:
        for i, v in enumerate(values):
            p.send(topic, v.encode(), partition=None if partitions is None else i % partitions)
        p.flush(30)
    finally:
        p.close()


class PyMember(threading.Thread):
    """A kafka-python consumer of a group polling in its own thread (kafka-python's poll blocks
    in a rebalance until every member rejoined, so the members of one group cannot share a
    thread); its current assignment and the values it read are read from the test's thread."""

    def __init__(self, bs, topic, group, **kw):
        super().__init__(daemon=True)
        self.kw = dict(bootstrap_servers=bs, group_id=group, auto_offset_reset="earliest",
                       session_timeout_ms=SESSION_MS, heartbeat_interval_ms=500, max_poll_interval_ms=20000,
                       **kw)
        self.topic = topic
        self.assigned = frozenset()
        self.values = []
        self.error = None
        self.stopping = threading.Event()
        self.start()

    def run(self):
        try:
            c = KafkaConsumer(self.topic, **self.kw)
            try:
                while not self.stopping.is_set():
                    for recs in c.poll(200).values():
                        self.values += [r.value.decode() for r in recs]
                    self.assigned = frozenset(tp.partition for tp in c.assignment())
            finally:
                c.close()  # LeaveGroup (and a last commit with auto commit)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e

    def close(self):
        self.stopping.set()
        self.join(30)
        if self.error:
            raise self.error


def wait_split(members, n, what):
    """Waits until the members' assignments are disjoint, cover partitions 0..n-1, and none is
    empty; returns them."""
    def split():
        got = [m.assigned for m in members]
        for m in members:
            if m.error:
                raise m.error
        if any(not g for g in got) or sum(len(g) for g in got) != n:
            return None
        return got if frozenset().union(*got) == frozenset(range(n)) else None
    return kbharness.wait_for(split, 60, lambda: "%s (assignments %s)" % (what, [sorted(m.assigned) for m in members]),
                              interval=0.1)


class GroupsCase:
    """The tests both cluster sizes run (a mixin: cls.cluster, cls.bs, cls.rf)."""

    def test_kafka_python_split_join_leave(self):
        topic = "split-%d" % self.rf
        create_topic(self.bs, topic, 4, self.rf)
        produce(self.bs, topic, ["v%d" % i for i in range(40)], partitions=4)
        group = "g-split-%d" % self.rf
        a = PyMember(self.bs, topic, group)
        b = PyMember(self.bs, topic, group)
        members = [a, b]
        try:
            two = wait_split(members, 4, "two members splitting 4 partitions")
            self.assertEqual(sorted(len(x) for x in two), [2, 2])
            c = PyMember(self.bs, topic, group)
            members.append(c)
            three = wait_split(members, 4, "three members splitting 4 partitions")
            self.assertEqual(sorted(len(x) for x in three), [1, 1, 2])
            members.remove(b)
            b.close()  # LeaveGroup: its partitions move at once, not after its session timeout
            t0 = time.monotonic()
            wait_split(members, 4, "the two left splitting 4 partitions")
            self.assertLess(time.monotonic() - t0, SESSION_MS / 1000.0)
            # every record was read by the group (some twice around the rebalances: nothing
            # is committed here before the members poll again)
            got = set(a.values) | set(b.values) | set(c.values)
            kbharness.wait_for(lambda: (set(a.values) | set(b.values) | set(c.values)) >= {"v%d" % i for i in range(40)},
                               30, "every record read by the group")
            self.assertTrue(got <= {"v%d" % i for i in range(40)})
        finally:
            for m in members:
                m.close()

    def test_commit_and_resume(self):
        topic = "resume-%d" % self.rf
        create_topic(self.bs, topic, 1, self.rf)
        produce(self.bs, topic, ["r%d" % i for i in range(20)])
        group = "g-resume-%d" % self.rf
        tp = TopicPartition(topic, 0)
        c = KafkaConsumer(topic, bootstrap_servers=self.bs, group_id=group, auto_offset_reset="earliest",
                          enable_auto_commit=False, max_poll_records=8, session_timeout_ms=SESSION_MS)
        try:
            got = []
            kbharness.wait_for(lambda: got.extend(r for rs in c.poll(200).values() for r in rs) or got, 30,
                               "the first records")
            self.assertEqual([r.value for r in got], [b"r%d" % i for i in range(len(got))])
            c.commit()  # the position: after the records this poll returned
            self.assertEqual(c.committed(tp), len(got))
            stopped = len(got)
        finally:
            c.close()
        c = KafkaConsumer(topic, bootstrap_servers=self.bs, group_id=group, auto_offset_reset="earliest",
                          enable_auto_commit=False, session_timeout_ms=SESSION_MS)
        try:
            self.assertEqual(c.committed(tp), stopped)
            rest = [r.value for r in kbharness.read_records(c, 20 - stopped)]
        finally:
            c.close()
        self.assertEqual(rest, [b"r%d" % i for i in range(stopped, 20)])

    def test_two_groups_each_read_everything(self):
        topic = "twogroups-%d" % self.rf
        create_topic(self.bs, topic, 2, self.rf)
        want = sorted("t%d" % i for i in range(30))
        produce(self.bs, topic, want, partitions=2)
        for group in ("g-one-%d" % self.rf, "g-two-%d" % self.rf):
            c = KafkaConsumer(topic, bootstrap_servers=self.bs, group_id=group, auto_offset_reset="earliest",
                              session_timeout_ms=SESSION_MS)
            try:
                got = sorted(r.value.decode() for r in kbharness.read_records(c, len(want)))
            finally:
                c.close()
            self.assertEqual(got, want, group)

    def test_confluent_cooperative_sticky(self):
        topic = "coop-%d" % self.rf
        create_topic(self.bs, topic, 4, self.rf)
        group = "g-coop-%d" % self.rf
        log = []

        def member(name):
            owned = set()

            def on_assign(c, parts):
                owned.update(p.partition for p in parts)
                log.append((name, "assign", sorted(p.partition for p in parts)))

            def on_revoke(c, parts):
                owned.difference_update(p.partition for p in parts)
                log.append((name, "revoke", sorted(p.partition for p in parts)))

            c = confluent_kafka.Consumer({"bootstrap.servers": self.bs, "group.id": group,
                                          "partition.assignment.strategy": "cooperative-sticky",
                                          "session.timeout.ms": SESSION_MS, "heartbeat.interval.ms": 500})
            c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
            return c, owned

        c1, o1 = member("c1")
        consumers = [c1]
        try:
            def poll_until(cond, what):
                def step():
                    for c in consumers:
                        c.poll(0.1)
                    return cond()
                kbharness.wait_for(step, 60, lambda: "%s (log %s)" % (what, log), interval=0)

            poll_until(lambda: o1 == {0, 1, 2, 3}, "c1 owning all 4 partitions")
            c2, o2 = member("c2")
            consumers.append(c2)
            poll_until(lambda: len(o1) == 2 and len(o2) == 2 and not (o1 & o2), "c1 and c2 owning 2 each")
            # incremental: c1 gave up exactly the two that moved, never all four
            revoked = [e for e in log if e[0] == "c1" and e[1] == "revoke" and e[2]]
            self.assertEqual(len(revoked), 1, log)
            self.assertEqual(len(revoked[0][2]), 2, log)
            self.assertEqual(set(revoked[0][2]), o2, log)
        finally:
            for c in consumers:
                c.close()

    def test_confluent_static_member_restart(self):
        """KIP-345: a static member (group.instance.id) that restarts within its session timeout
        gets its partitions back with no rebalance: the other member keeps its own throughout."""
        topic = "static-%d" % self.rf
        create_topic(self.bs, topic, 4, self.rf)
        group = "g-static-%d" % self.rf
        events = []

        def member(inst):
            owned = set()

            def on_assign(c, parts):
                owned.clear()
                owned.update(p.partition for p in parts)
                events.append((inst, "assign", sorted(owned)))

            def on_revoke(c, parts):
                events.append((inst, "revoke", sorted(p.partition for p in parts)))
                owned.clear()

            c = confluent_kafka.Consumer({"bootstrap.servers": self.bs, "group.id": group,
                                          "group.instance.id": inst, "session.timeout.ms": 30000,
                                          "heartbeat.interval.ms": 500})
            c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
            return c, owned

        c1, o1 = member("i1")
        c2, o2 = member("i2")
        consumers = [c1, c2]
        try:
            def poll_until(cond, what):
                def step():
                    for c in consumers:
                        c.poll(0.1)
                    return cond()
                kbharness.wait_for(step, 60, lambda: "%s (events %s)" % (what, events), interval=0)

            poll_until(lambda: len(o1) == 2 and len(o2) == 2, "i1 and i2 owning 2 each")
            before1, before2 = set(o1), set(o2)
            n_events = len(events)
            consumers.remove(c1)
            c1.close()  # a static member sends no LeaveGroup: the group waits for it
            c1, o1 = member("i1")
            consumers.insert(0, c1)
            poll_until(lambda: o1 == before1, "i1 back with its partitions")
            for c in consumers:  # a moment for any rebalance to show up at i2
                c.poll(0.5)
            self.assertEqual(o2, before2)
            self.assertEqual([e for e in events[n_events:] if e[0] == "i2"], [], events)
        finally:
            for c in consumers:
                c.close()

    def test_kcat_group(self):
        kcat = shutil.which("kcat") or shutil.which("kafkacat")
        self.assertIsNotNone(kcat, "kcat is not installed")
        topic = "kcat-%d" % self.rf
        create_topic(self.bs, topic, 2, self.rf)
        want = sorted("k%d" % i for i in range(20))
        produce(self.bs, topic, want, partitions=2)
        r = subprocess.run([kcat, "-b", self.bs, "-G", "g-kcat-%d" % self.rf, "-o", "beginning", "-e", "-q",
                            "-f", "%s\\n", "-X", "session.timeout.ms=%d" % SESSION_MS, topic],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(r.stdout.split()), want, r.stderr)

    def test_kafkajs_consumer(self):
        topic = "js-group-%d" % self.rf
        create_topic(self.bs, topic, 3, self.rf)
        want = ["j%d" % i for i in range(30)]
        produce(self.bs, topic, want, partitions=3)
        out = kafkajs(self.bs, "consume", topic, "g-js-%d" % self.rf, len(want))
        self.assertEqual(out["count"], len(want))
        self.assertEqual(sorted(v for vs in out["partitions"].values() for v in vs), sorted(want))
        for p, vs in out["partitions"].items():  # each partition in its order
            self.assertEqual(vs, [v for i, v in enumerate(want) if i % 3 == int(p)])

    def test_console_consumer_group(self):
        topic = "console-%d" % self.rf
        create_topic(self.bs, topic, 1, self.rf)
        produce(self.bs, topic, ["c%d" % i for i in range(10)])
        group = "g-console-%d" % self.rf
        cc = os.path.join(TOOLS, "kafka-console-consumer")

        def run(*args):
            r = subprocess.run([cc, "--bootstrap-server", self.bs, "--topic", topic, "--group", group] + list(args),
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            return r.stdout.split()

        self.assertEqual(run("--from-beginning", "--max-messages", "4"), ["c0", "c1", "c2", "c3"])
        # the group committed where it stopped: the next run goes on from there
        self.assertEqual(run("--max-messages", "6", "--timeout-ms", "20000"), ["c%d" % i for i in range(4, 10)])
        c = KafkaConsumer(bootstrap_servers=self.bs, group_id=group, enable_auto_commit=False)
        try:
            self.assertEqual(c.committed(TopicPartition(topic, 0)), 10)
        finally:
            c.close()


class GroupsOneBrokerTest(GroupsCase, SharedFixtureTest):
    rf = 1

    @classmethod
    def setUpClass(cls):
        fx = cls.fixture()
        # the shipped single-broker config's group settings; offsets.topic.num.partitions
        # stays Kafka's 50
        cls.cluster = kbharness.Cluster(fx, broker_extra={"offsets.topic.replication.factor": "1",
                                                           "group.initial.rebalance.delay.ms": "0"})
        cls.bs = cls.cluster.bootstrap
        fx.ready()

    def test_offsets_topic(self):
        err, node = kbharness.wait_for(lambda: (lambda r: r if r[0] == 0 else None)(
            find_coordinator(self.cluster.brokers[0], "g-any")), 30, "a coordinator")  # a non-empty tuple
        self.assertEqual(node, 0)
        _, _, topics = kbharness.metadata_v1(self.cluster.brokers[0].port, ["__consumer_offsets"])
        err, parts = topics["__consumer_offsets"]
        self.assertEqual((err, len(parts)), (0, 50))


    def test_no_produce_to_offsets_topic(self):
        kbharness.wait_for(lambda: find_coordinator(self.cluster.brokers[0], "g-any")[0] == 0, 30, "the offsets topic")
        p = KafkaProducer(bootstrap_servers=self.bs, retries=0)
        try:
            with self.assertRaises(InvalidTopicError):
                p.send("__consumer_offsets", b"x", partition=0).get(30)
        finally:
            p.close()

    def test_flexible_offset_commit_v8_fetch_v6(self):
        b = self.cluster.brokers[0]
        kbharness.wait_for(lambda: find_coordinator(b, "g-flex")[0] == 0, 30, "a coordinator for g-flex")
        create_topic(self.bs, "flex-1", 2)
        raw = kbharness.KafkaRaw(b.port, host=b.host)
        try:
            # OffsetCommit v8 of a simple consumer (generation -1); the request header's tagged
            # fields (one unknown, which the broker skips) come after the client id
            body = (uv(1) + uv(9) + uv(1) + b"z"  # header tags: tag 9, one byte
                    + cstr("g-flex") + struct.pack(">i", -1) + cstr("") + cstr(None)
                    + uv(2) + cstr("flex-1") + uv(2)
                    + struct.pack(">iqi", 1, 11, -1) + cstr("m") + uv(0) + uv(0) + uv(0))
            corr = raw.request(8, 8, body)
            r = Flex(raw.recv())
            self.assertEqual(r.fmt(">i"), corr)
            r.tags()  # response header v1
            self.assertEqual(r.fmt(">i"), 0)  # throttle
            self.assertEqual(r.uv() - 1, 1)
            self.assertEqual(r.cstr(), "flex-1")
            self.assertEqual(r.uv() - 1, 1)
            self.assertEqual((r.fmt(">i"), r.fmt(">h")), (1, 0))
            r.tags(), r.tags(), r.tags()
            self.assertEqual(r.pos, len(r.b))
            # OffsetFetch v6 of every offset of the group (a null topic array)
            corr = raw.request(9, 6, uv(0) + cstr("g-flex") + uv(0) + uv(0))
            r = Flex(raw.recv())
            self.assertEqual(r.fmt(">i"), corr)
            r.tags()
            self.assertEqual(r.fmt(">i"), 0)
            self.assertEqual(r.uv() - 1, 1)
            self.assertEqual(r.cstr(), "flex-1")
            self.assertEqual(r.uv() - 1, 1)
            self.assertEqual((r.fmt(">i"), r.fmt(">q"), r.fmt(">i"), r.cstr(), r.fmt(">h")), (1, 11, -1, "m", 0))
            r.tags(), r.tags()
            self.assertEqual(r.fmt(">h"), 0)
            r.tags()
            self.assertEqual(r.pos, len(r.b))
        finally:
            raw.close()

    def test_confluent_committed_offset_fetch_v7(self):
        """librdkafka 2.0 asks a group's committed offsets with OffsetFetch v7 (flexible, with
        require_stable) once the broker offers it; it used to fall back to v5."""
        topic, group = "flex-ck", "g-flex-ck"
        create_topic(self.bs, topic, 3)
        lines = []

        class Keep(logging.Handler):
            def emit(self, rec):
                lines.append(rec.getMessage())

        log = logging.getLogger("flex-ck")
        log.addHandler(Keep())
        log.setLevel(logging.DEBUG)
        c = confluent_kafka.Consumer({"bootstrap.servers": self.bs, "group.id": group, "debug": "protocol",
                                      "enable.auto.commit": False, "logger": log})
        try:
            tps = [confluent_kafka.TopicPartition(topic, p, o) for p, o in ((0, 5), (1, 7))]
            c.commit(offsets=tps, asynchronous=False)
            got = c.committed([confluent_kafka.TopicPartition(topic, p) for p in range(3)], timeout=30)
        finally:
            c.close()
        self.assertEqual([(t.partition, t.offset, t.error) for t in got],
                         [(0, 5, None), (1, 7, None), (2, confluent_kafka.OFFSET_INVALID, None)])
        versions = {int(v) for line in lines for v in re.findall(r"Sent OffsetFetchRequest \(v(\d+)", line)}
        self.assertEqual(versions, {7}, "OffsetFetch versions librdkafka sent")

    def test_kafka_acls_without_authorizer(self):
        """kafka-acls --list against a broker without an authorizer: SECURITY_DISABLED, which
        librdkafka 2.0 drops (an empty result); the tool asks again and reports it."""
        r = subprocess.run([os.path.join(TOOLS, "kafka-acls"), "--bootstrap-server", self.bs, "--list"],
                           capture_output=True, timeout=60, text=True)
        self.assertEqual((r.returncode, r.stdout), (1, ""))
        self.assertEqual(r.stderr, "Error while executing ACL command: org.apache.kafka.common.errors."
                                   "SecurityDisabledException: No Authorizer is configured on the broker\n")

    def test_malformed_group_request_closes(self):
        b = self.cluster.brokers[0]
        raw = kbharness.KafkaRaw(b.port, host=b.host)
        try:
            raw.request(11, 0, kbharness.kstr("g-bad") + b"\x00\x00")  # JoinGroup cut short
            self.assertIsNone(raw.recv())  # closed, as for any request that does not parse
        finally:
            raw.close()
        # and the broker serves on
        kbharness.wait_for(lambda: find_coordinator(b, "g-bad")[0] == 0, 30, "a coordinator for g-bad")

    def test_join_of_a_closed_connection(self):
        """A JoinGroup the coordinator holds (a rebalance waiting for the other member) whose
        connection closes: the answer, when the rebalance completes, goes nowhere; the member
        that never heartbeats is expelled after its session timeout and the group settles."""
        topic, group = "orphan-1", "g-orphan"
        create_topic(self.bs, topic, 2)
        m = PyMember(self.bs, topic, group)
        try:
            wait_split([m], 2, "the member owning both partitions")
            b = self.cluster.brokers[0]
            raw = kbharness.KafkaRaw(b.port, host=b.host)
            sub = struct.pack(">hi", 0, 1) + kbharness.kstr(topic) + struct.pack(">i", -1)
            body = (kbharness.kstr(group) + struct.pack(">i", SESSION_MS) + kbharness.kstr("")
                    + kbharness.kstr("consumer") + struct.pack(">i", 1) + kbharness.kstr("range")
                    + struct.pack(">i", len(sub)) + sub)
            raw.request(11, 0, body)  # held: the group rebalances and waits for m to rejoin
            kbharness.wait_for(lambda: "group %s: member raw-" % group in b.log_text(), 10,
                               "the broker to take the raw JoinGroup")
            raw.close()
            # m rejoins; the rebalance completes with the raw member (which takes a partition
            # it never fetches); its session times out and m gets everything back
            kbharness.wait_for(lambda: len(m.assigned) == 1, 30, "the rebalance with the raw member", interval=0.05)
            kbharness.wait_for(lambda: m.assigned == frozenset({0, 1}) and m.error is None, 3 * SESSION_MS / 1000,
                               "the member owning both partitions again", interval=0.1)
            self.assertEqual(find_coordinator(b, group)[0], 0)
        finally:
            m.close()


class GroupsThreeBrokersTest(GroupsCase, SharedFixtureTest):
    rf = 3

    @classmethod
    def setUpClass(cls):
        fx = cls.fixture()
        cls.cluster = kbharness.Cluster(fx, brokers=3, broker_extra={
            "offsets.topic.replication.factor": "3", "offsets.topic.num.partitions": "10",
            "group.initial.rebalance.delay.ms": "0", "default.replication.factor": "3"})
        cls.bs = cls.cluster.bootstrap
        fx.ready()

    def test_z_coordinator_killed(self):
        """Runs last in its class: it kills a broker (started again at the end)."""
        topic, group = "kill-3", "g-kill-3"
        create_topic(self.bs, topic, 2, 3)
        produce(self.bs, topic, ["x%d" % i for i in range(20)], partitions=2)
        tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
        c = KafkaConsumer(topic, bootstrap_servers=self.bs, group_id=group, auto_offset_reset="earliest",
                          enable_auto_commit=False, session_timeout_ms=SESSION_MS)
        try:
            self.assertEqual(len(kbharness.read_records(c, 20)), 20)
            c.commit({tps[0]: kafka_offset(7), tps[1]: kafka_offset(9)})
            self.assertEqual([c.committed(tp) for tp in tps], [7, 9])
        finally:
            c.close()
        brokers = self.cluster.brokers
        err, old = find_coordinator(brokers[0], group)
        self.assertEqual(err, 0)
        self.cluster.kill9(old)
        live = [b for b in brokers if b.id != old]

        def moved():
            e, n = find_coordinator(live[0], group)
            return (n,) if e == 0 and n != old else None  # node 0 is a node
        (new,) = kbharness.wait_for(moved, 60, "a new coordinator for %s" % group, interval=0.2)
        self.assertIn(new, [b.id for b in live])
        bs = ",".join(b.bootstrap for b in live)
        c = KafkaConsumer(topic, bootstrap_servers=bs, group_id=group, auto_offset_reset="earliest",
                          enable_auto_commit=False, session_timeout_ms=SESSION_MS)
        try:
            self.assertEqual([c.committed(tp) for tp in tps], [7, 9])
            # it resumes from the committed offsets: 10 - 7 + 10 - 9 records
            self.assertEqual(len(kbharness.read_records(c, 4)), 4)
        finally:
            c.close()
        self.cluster.start_broker(old).wait_ready()


def kafka_offset(n):
    from kafka.structs import OffsetAndMetadata
    return OffsetAndMetadata(n, "")


if __name__ == "__main__":
    unittest.main()
