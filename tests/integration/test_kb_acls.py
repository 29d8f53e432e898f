"""Kafka ACLs on the broker (authorizer.class.name=kafka.security.authorizer.AclAuthorizer): one
broker with a PLAINTEXT inter-broker listener and an SSL listener requiring client certificates,
so each client's principal is User:<its certificate's subject>; super.users names the admin's.
kafka-acls (on librdkafka's admin API) adds READ and WRITE for alice on a topic and --list prints
them as Kafka's AclCommand does; alice produces and consumes (confluent-kafka, kcat); bob is
refused with TOPIC_AUTHORIZATION_FAILED for produce and fetch, does not see the topic in
Metadata, and cannot create a topic; alice cannot use a consumer group without READ on it
(GROUP_AUTHORIZATION_FAILED) and can with it; the super user can do everything; --remove takes alice's
ACLs away and she is refused from then on; the ACLs are in the coordinator as Kafka writes them.
--transactional-id (test_transactional_id; spoken by the tool itself, librdkafka 2.0 has no such
resource type): with --producer it grants WRITE and DESCRIBE on the transactional id, listed as
Kafka lists them; alice's transactional producer with that id commits, with another id it is
refused with TRANSACTIONAL_ID_AUTHORIZATION_FAILED, and so is the first once --remove took them.
The group APIs' checks on groups and topics (test_group_apis): OffsetFetch needs DESCRIBE on the
group and on each topic (confluent-kafka's committed(); kafka-python's offsets of every topic
leave out the hidden one), OffsetCommit READ on each topic, DescribeGroups DESCRIBE on each
group, ListGroups DESCRIBE on the cluster or shows only the groups one may DESCRIBE,
DeleteGroups DELETE on each group (kafka-python's admin client), OffsetDelete DELETE on the group
and READ on each topic (kafka-consumer-groups --delete-offsets).
Raw requests over bob's TLS connection (test_raw_list_offsets_and_waiting_fetch): ListOffsets
needs DESCRIBE per topic; a Fetch of refused topics only, or with a partition read in error, is
answered at once, not at max_wait_ms, as Kafka does; a Fetch that waits in the fetch purgatory
(max_wait_ms, min_bytes) answers its refused topic with TOPIC_AUTHORIZATION_FAILED at its deadline
and when an append wakes it, and keeps the decision made when it arrived (an ACL added while it waits changes
nothing for it, only for the next fetch)."""
import json
import os
import re
import ssl
import struct
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from samsatest import kb  # noqa: E402
from samsatest.certs import CA  # noqa: E402
from samsatest.ports import free_port  # noqa: E402
from samsatest.wait import wait_for  # noqa: E402
import confluent_kafka  # noqa: E402
import confluent_kafka.admin  # noqa: E402
import kafka.errors  # noqa: E402
from kafka import TopicPartition  # noqa: E402
from kafka.admin import KafkaAdminClient  # noqa: E402
from kazoo.client import KazooClient  # noqa: E402

TOOL = os.path.join(os.environ.get("SAMSA_BUILD_ROOT", ""), "broker", "tools", "kafka-acls")
ALICE = "User:CN=alice,O=samsa"
BOB = "User:CN=bob,O=samsa"
ADMIN = "User:CN=admin,O=samsa"
TOPIC = "acl-t"
CG_TOOL = os.path.join(os.environ.get("SAMSA_BUILD_ROOT", ""), "broker", "tools", "kafka-consumer-groups")
TOPIC_AUTHORIZATION_FAILED = 29
UNKNOWN_TOPIC_OR_PARTITION = 3


def fetch_v4(topics, max_wait, min_bytes):
    """A consumer's Fetch v4 body: topics is [(name, partition, offset)]."""
    body = struct.pack(">iiiib", -1, max_wait, min_bytes, 1 << 20, 0) + struct.pack(">i", len(topics))
    for name, part, off in topics:
        body += kb.kstr(name) + struct.pack(">i", 1) + struct.pack(">iqi", part, off, 1 << 20)
    return body


def fetch_v4_parse(resp):
    """{topic: (error, high watermark, record bytes)} of a Fetch v4 response (one partition each)."""
    pos = 4 + 4  # correlation, throttle
    (nt,) = struct.unpack_from(">i", resp, pos)
    pos += 4
    out = {}
    for _ in range(nt):
        (tl,) = struct.unpack_from(">h", resp, pos)
        name = resp[pos + 2:pos + 2 + tl].decode()
        pos += 2 + tl
        (np_,) = struct.unpack_from(">i", resp, pos)
        pos += 4
        for _ in range(np_):
            _, err, hw, _, naborted = struct.unpack_from(">ihqqi", resp, pos)
            pos += 4 + 2 + 8 + 8 + 4 + max(naborted, 0) * 16
            (rl,) = struct.unpack_from(">i", resp, pos)
            pos += 4
            out[name] = (err, hw, resp[pos:pos + max(rl, 0)])
            pos += max(rl, 0)
    return out


def list_offsets_v1(topics):
    """ListOffsets v1 body asking the latest offset of partition 0 of each topic."""
    body = struct.pack(">ii", -1, len(topics))
    for name in topics:
        body += kb.kstr(name) + struct.pack(">iiq", 1, 0, -1)
    return body


def list_offsets_v1_parse(resp):
    """{topic: (error, offset)} of a ListOffsets v1 response (one partition each)."""
    pos = 4
    (nt,) = struct.unpack_from(">i", resp, pos)
    pos += 4
    out = {}
    for _ in range(nt):
        (tl,) = struct.unpack_from(">h", resp, pos)
        name = resp[pos + 2:pos + 2 + tl].decode()
        pos += 2 + tl + 4
        _, err, _, off = struct.unpack_from(">ihqq", resp, pos)
        pos += 4 + 2 + 8 + 8
        out[name] = (err, off)
    return out


class TestBrokerAcls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.case = unittest.TestCase()  # the cluster's cleanups run in tearDownClass
        cls.cluster = kb.Cluster(cls.case, brokers=1, start=False)
        cls.ca = CA(os.path.join(cls.cluster.dir, "certs"))
        cls.server = cls.ca.issue("server", "/O=samsa/CN=localhost", server=True)
        cls.certs = {n: cls.ca.issue(n, "/O=samsa/CN=%s" % n) for n in ("alice", "bob", "admin")}
        b = cls.cluster.brokers[0]
        cls.ssl_port = free_port()
        with open(b.props, "a") as f:
            f.write("\n".join([
                "listeners=PLAINTEXT://127.0.0.1:%d,SSL://127.0.0.1:%d" % (b.port, cls.ssl_port),
                "inter.broker.listener.name=PLAINTEXT",
                "ssl.client.auth=required",
                "ssl.keystore.type=PEM", "ssl.keystore.location=%s" % cls.server[0],
                "ssl.truststore.type=PEM", "ssl.truststore.location=%s" % cls.ca.crt,
                "authorizer.class.name=kafka.security.authorizer.AclAuthorizer",
                "super.users=%s" % ADMIN,
                "offsets.topic.replication.factor=1", "offsets.topic.num.partitions=2",
                "transaction.state.log.replication.factor=1", "transaction.state.log.min.isr=1",
                "transaction.state.log.num.partitions=2",
            ]) + "\n")
        b.start()
        b.wait_ready()
        cls.bs = "127.0.0.1:%d" % cls.ssl_port
        for n, (_, crt, key) in cls.certs.items():
            with open(os.path.join(cls.cluster.dir, n + ".properties"), "w") as f:
                f.write("security.protocol=SSL\nssl.ca.location=%s\nssl.certificate.location=%s\n"
                        "ssl.key.location=%s\n" % (cls.ca.crt, crt, key))

    @classmethod
    def tearDownClass(cls):
        cls.case.doCleanups()

    def conf(self, who, **kw):
        _, crt, key = self.certs[who]
        c = {"bootstrap.servers": self.bs, "security.protocol": "ssl", "ssl.ca.location": self.ca.crt,
             "ssl.certificate.location": crt, "ssl.key.location": key}
        c.update(kw)
        return c

    def acls(self, who, *args):
        return subprocess.run([TOOL, "--bootstrap-server", self.bs, "--command-config",
                               os.path.join(self.cluster.dir, who + ".properties")] + list(args),
                              capture_output=True, timeout=60, text=True)

    def raw(self, who):
        """A KafkaRaw over TLS with who's certificate (its principal)."""
        _, crt, key = self.certs[who]
        ctx = ssl.create_default_context(cafile=self.ca.crt)
        ctx.load_cert_chain(crt, key)
        k = kb.KafkaRaw(self.ssl_port, timeout=30)
        k.sock = ctx.wrap_socket(k.sock, server_hostname="localhost")
        return k

    def produce(self, who, n=5, topic=TOPIC):
        p = confluent_kafka.Producer(self.conf(who, acks="all", **{"message.timeout.ms": 10000}))
        errs = []
        for i in range(n):
            p.produce(topic, value=b"%s-%d" % (who.encode(), i), partition=0,
                      on_delivery=lambda err, msg: errs.append(err))
        p.flush(30)
        return errs

    def consume(self, who, want):
        c = confluent_kafka.Consumer(self.conf(who, **{"group.id": "g-" + who, "enable.auto.commit": False}))
        c.assign([confluent_kafka.TopicPartition(TOPIC, 0, 0)])
        got = []
        try:
            while len(got) < want:
                m = c.poll(10)
                if m is None:
                    break
                if m.error():
                    if m.error().code() == confluent_kafka.KafkaError.GROUP_AUTHORIZATION_FAILED:
                        continue  # assigned, not subscribed: the group (no ACL) is not needed
                    return m.error()
                got.append(m.value())
        finally:
            c.close()
        return got

    def py_admin(self, who):
        _, crt, key = self.certs[who]
        return KafkaAdminClient(bootstrap_servers=self.bs, security_protocol="SSL", ssl_cafile=self.ca.crt,
                                ssl_certfile=crt, ssl_keyfile=key, ssl_check_hostname=False)

    def allow(self, principal, op, *resource):
        r = self.acls("admin", "--add", "--allow-principal", principal, "--operation", op, *resource)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_producer_consumer_options(self):
        """--producer (--idempotent) and --consumer expand as AclCommand does; with them bob
        produces to a topic with an idempotent producer and consumes it through a group."""
        topic, group = "acl-pc", "bob-pc"
        admin = confluent_kafka.admin.AdminClient(self.conf("admin"))
        admin.create_topics([confluent_kafka.admin.NewTopic(topic, 1, 1)], request_timeout=20)[topic].result(30)
        wait_for(lambda: admin.list_topics(topic, timeout=10).topics[topic].partitions[0].leader >= 0, 30,
                 "a leader for %s" % topic)
        # Kafka's usage errors
        r = self.acls("admin", "--add", "--consumer", "--allow-principal", BOB, "--topic", topic)
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("With --consumer you must specify a --topic and a --group and no "
                                            "--cluster or --transactional-id option should be specified.\n"), r.stderr)
        r = self.acls("admin", "--add", "--producer", "--allow-principal", BOB, "--group", group)
        self.assertTrue(r.stderr.startswith("With --producer you must specify a --topic\n"), r.stderr)
        r = self.acls("admin", "--add", "--producer", "--operation", "Read", "--allow-principal", BOB, "--topic", topic)
        self.assertTrue(r.stderr.startswith('Option "[producer]" can\'t be used with option "[operation]"\n'), r.stderr)
        r = self.acls("admin", "--list", "--consumer", "--topic", topic)
        self.assertTrue(r.stderr.startswith('Option "[list]" can\'t be used with option "[consumer]"\n'), r.stderr)

        def entries(out, rtype, name):
            """{operation} of bob's ACLs listed for a resource."""
            head = "Current ACLs for resource `ResourcePattern(resourceType=%s, name=%s, patternType=LITERAL)`:" % (
                rtype, name)
            self.assertIn(head, out)
            block = out.split(head, 1)[1].split("\n\n", 1)[0]
            return set(re.findall(r"\(principal=%s, host=\*, operation=(\w+), permissionType=ALLOW\)" % re.escape(BOB),
                                  block))
        r = self.acls("admin", "--add", "--idempotent", "--allow-principal", BOB, "--topic", topic)
        self.assertTrue(r.stderr.startswith("The --idempotent option is only available if --producer is set\n"),
                        r.stderr)
        r = self.acls("admin", "--add", "--producer", "--idempotent", "--allow-principal", BOB, "--topic", topic)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(entries(r.stdout, "TOPIC", topic), {"WRITE", "DESCRIBE", "CREATE"})
        self.assertEqual(entries(r.stdout, "CLUSTER", "kafka-cluster"), {"IDEMPOTENT_WRITE"})
        r = self.acls("admin", "--add", "--consumer", "--allow-principal", BOB, "--topic", topic, "--group", group)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(entries(r.stdout, "TOPIC", topic), {"WRITE", "DESCRIBE", "CREATE", "READ"})
        self.assertEqual(entries(r.stdout, "GROUP", group), {"READ"})

        # an idempotent producer (InitProducerId needs IDEMPOTENT_WRITE on the cluster)
        p = confluent_kafka.Producer(self.conf("bob", acks="all", **{"message.timeout.ms": 10000,
                                                                     "enable.idempotence": True}))
        errs = []
        p.produce(topic, value=b"pc-0", on_delivery=lambda err, msg: errs.append(err))
        p.flush(30)
        self.assertEqual(errs, [None])
        c = confluent_kafka.Consumer(self.conf("bob", **{"group.id": group, "auto.offset.reset": "earliest"}))
        c.subscribe([topic])
        try:
            got = None
            for _ in range(30):
                m = c.poll(1)
                if m is not None:
                    self.assertIsNone(m.error(), m.error())
                    got = m.value()
                    break
            self.assertEqual(got, b"pc-0")
            c.commit(asynchronous=False)
        finally:
            c.close()

        # --remove --producer takes the producer's three away, the consumer's stay
        r = self.acls("admin", "--remove", "--force", "--producer", "--allow-principal", BOB, "--topic", topic)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(entries(r.stdout, "TOPIC", topic), {"READ"})

    def test_transactional_id(self):
        topic, tx = "acl-tx", "tx1"
        admin = confluent_kafka.admin.AdminClient(self.conf("admin"))
        admin.create_topics([confluent_kafka.admin.NewTopic(topic, 1, 1)], request_timeout=20)[topic].result(30)
        wait_for(lambda: admin.list_topics(topic, timeout=10).topics[topic].partitions[0].leader >= 0, 30,
                 "a leader for %s" % topic)
        pattern = "ResourcePattern(resourceType=TRANSACTIONAL_ID, name=%s, patternType=LITERAL)" % tx

        def entries(out, head):
            """{operation} of alice's ACLs listed under head."""
            self.assertIn(head, out)
            block = out.split(head, 1)[1].split("\n\n", 1)[0]
            return set(re.findall(r"\(principal=%s, host=\*, operation=(\w+), permissionType=ALLOW\)" % re.escape(ALICE),
                                  block))

        def transact(tid):
            """None once alice's transactional producer with tid committed a record, else the error."""
            p = confluent_kafka.Producer(self.conf("alice", **{"transactional.id": tid, "message.timeout.ms": 10000}))
            try:
                p.init_transactions(30)
                p.begin_transaction()
                p.produce(topic, value=tid.encode(), partition=0)
                p.commit_transaction(30)
            except confluent_kafka.KafkaException as e:
                return e.args[0]
            return None

        r = self.acls("admin", "--consumer", "--add", "--allow-principal", ALICE, "--topic", topic, "--group", "g",
                      "--transactional-id", tx)
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("With --consumer you must specify a --topic and a --group and no "
                                            "--cluster or --transactional-id option should be specified.\n"), r.stderr)
        r = self.acls("admin", "--add", "--allow-principal", ALICE, "--producer", "--topic", topic,
                      "--transactional-id", tx)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(entries(r.stdout, "Adding ACLs for resource `%s`: \n \t" % pattern), {"WRITE", "DESCRIBE"})
        self.assertEqual(entries(r.stdout, "Current ACLs for resource `%s`: \n \t" % pattern), {"WRITE", "DESCRIBE"})
        topic_head = "Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=%s, patternType=LITERAL)`:" % topic
        self.assertEqual(entries(r.stdout, topic_head), {"WRITE", "DESCRIBE", "CREATE"})
        self.assertNotIn("CLUSTER", r.stdout)  # Kafka 2.7 adds IDEMPOTENT_WRITE with --idempotent only
        r = self.acls("admin", "--list", "--transactional-id", tx)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("Current ACLs for resource `%s`: \n \t" % pattern), r.stdout)
        self.assertEqual(r.stdout.count("(principal="), 2, r.stdout)
        self.assertEqual(entries(r.stdout, pattern), {"WRITE", "DESCRIBE"})
        # every ACL: the transactional id's show as themselves, not as librdkafka's UNKNOWN
        r = self.acls("admin", "--list")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(entries(r.stdout, pattern), {"WRITE", "DESCRIBE"})
        self.assertNotIn("UNKNOWN", r.stdout)
        # stored as Kafka's AclAuthorizer stores them
        zk = KazooClient(hosts=self.cluster.zk_connect)
        zk.start(timeout=20)
        try:
            doc = json.loads(zk.get("/kafka-acl/TransactionalId/%s" % tx)[0])
            self.assertEqual(sorted(a["operation"] for a in doc["acls"]), ["Describe", "Write"])
        finally:
            zk.stop()
            zk.close()

        self.assertIsNone(transact(tx))
        err = transact("tx2")
        self.assertIsNotNone(err, "tx2 (no ACL) initialised")
        self.assertEqual(err.code(), confluent_kafka.KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, err)

        r = self.acls("admin", "--remove", "--force", "--allow-principal", ALICE, "--producer", "--topic", topic,
                      "--transactional-id", tx)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(ALICE, r.stdout)
        r = self.acls("admin", "--list", "--transactional-id", tx)
        self.assertEqual((r.returncode, r.stdout), (0, ""), r.stderr)
        err = transact(tx)
        self.assertIsNotNone(err, "tx1 initialised after its ACLs were removed")
        self.assertEqual(err.code(), confluent_kafka.KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, err)

    def test_group_apis(self):
        admin = confluent_kafka.admin.AdminClient(self.conf("admin"))
        for t in ("acl-g", "acl-h"):
            admin.create_topics([confluent_kafka.admin.NewTopic(t, 1, 1)], request_timeout=20)[t].result(30)
            wait_for(lambda: admin.list_topics(t, timeout=10).topics[t].partitions[0].leader >= 0, 30,
                     "a leader for %s" % t)
        # the super user commits offsets of two groups
        for group, offs in (("bob-g", (("acl-g", 3), ("acl-h", 4))), ("bob-x", (("acl-g", 1),))):
            c = confluent_kafka.Consumer(self.conf("admin", **{"group.id": group, "enable.auto.commit": False}))
            try:
                c.commit(offsets=[confluent_kafka.TopicPartition(t, 0, o) for t, o in offs], asynchronous=False)
            finally:
                c.close()
        self.allow(BOB, "Describe", "--group", "bob-g")
        self.allow(BOB, "Describe", "--topic", "acl-g")

        # OffsetFetch: DESCRIBE on the group is enough; the topic bob may not DESCRIBE gets no
        # offset and TOPIC_AUTHORIZATION_FAILED
        c = confluent_kafka.Consumer(self.conf("bob", **{"group.id": "bob-g", "enable.auto.commit": False}))
        try:
            got = c.committed([confluent_kafka.TopicPartition(t, 0) for t in ("acl-g", "acl-h")], timeout=30)
        finally:
            c.close()
        self.assertEqual((got[0].offset, got[0].error), (3, None))
        self.assertIsNotNone(got[1].error)
        self.assertEqual(got[1].error.code(), confluent_kafka.KafkaError.TOPIC_AUTHORIZATION_FAILED, got[1].error)
        bob = self.py_admin("bob")
        try:
            # every topic of the group: the hidden one is left out
            offs = bob.list_consumer_group_offsets("bob-g", group_coordinator_id=0)
            self.assertEqual({tp: o.offset for tp, o in offs.items()}, {TopicPartition("acl-g", 0): 3})
            # DescribeGroups: DESCRIBE on each group
            self.assertEqual(bob.describe_consumer_groups(["bob-g"], group_coordinator_id=0)[0].state, "Empty")
            with self.assertRaises(kafka.errors.GroupAuthorizationFailedError):
                bob.describe_consumer_groups(["bob-x"], group_coordinator_id=0)
            # ListGroups: only the groups bob may DESCRIBE (not the cluster); the super user all
            self.assertEqual({g[0] for g in bob.list_consumer_groups()}, {"bob-g"})
            adm = self.py_admin("admin")
            try:
                self.assertTrue({"bob-g", "bob-x"} <= {g[0] for g in adm.list_consumer_groups()})
            finally:
                adm.close()
            # DeleteGroups: DELETE on each group
            self.assertEqual(bob.delete_consumer_groups(["bob-x"], group_coordinator_id=0),
                             [("bob-x", kafka.errors.GroupAuthorizationFailedError)])
            self.allow(BOB, "Delete", "--group", "bob-x")
            self.assertEqual(bob.delete_consumer_groups(["bob-x"], group_coordinator_id=0),
                             [("bob-x", kafka.errors.NoError)])
        finally:
            bob.close()

        # OffsetCommit: READ on the group, then READ on each topic (DESCRIBE is not enough)
        self.allow(BOB, "Read", "--group", "bob-g")
        c = confluent_kafka.Consumer(self.conf("bob", **{"group.id": "bob-g", "enable.auto.commit": False}))
        try:
            with self.assertRaises(confluent_kafka.KafkaException) as cm:
                c.commit(offsets=[confluent_kafka.TopicPartition("acl-g", 0, 9)], asynchronous=False)
            self.assertEqual(cm.exception.args[0].code(), confluent_kafka.KafkaError.TOPIC_AUTHORIZATION_FAILED)
            self.assertEqual(c.committed([confluent_kafka.TopicPartition("acl-g", 0)], timeout=30)[0].offset, 3)
        finally:
            c.close()

        # OffsetDelete: DELETE on the group, then READ on each topic
        def delete_offsets():
            return subprocess.run([CG_TOOL, "--bootstrap-server", self.bs, "--command-config",
                                   os.path.join(self.cluster.dir, "bob.properties"), "--delete-offsets",
                                   "--group", "bob-g", "--topic", "acl-g:0"],
                                  capture_output=True, timeout=60, text=True)
        r = delete_offsets()
        self.assertIn("Access to 'bob-g' is not authorized.", r.stdout + r.stderr)
        self.allow(BOB, "Delete", "--group", "bob-g")
        r = delete_offsets()
        self.assertIn("partition level error", r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"acl-g +0 +Error: .*[Aa]uthoriz")
        adm = self.py_admin("admin")
        try:
            offs = adm.list_consumer_group_offsets("bob-g", group_coordinator_id=0)
        finally:
            adm.close()
        self.assertEqual(offs[TopicPartition("acl-g", 0)].offset, 3)  # not deleted

    def test_acls_end_to_end(self):
        # the super user creates the topic (CREATE needs no ACL for it)
        admin = confluent_kafka.admin.AdminClient(self.conf("admin"))
        admin.create_topics([confluent_kafka.admin.NewTopic(TOPIC, 1, 1)], request_timeout=20)[TOPIC].result(30)
        wait_for(lambda: admin.list_topics(TOPIC, timeout=10).topics[TOPIC].partitions[0].leader >= 0, 30,
                 "a leader for %s" % TOPIC)

        r = self.acls("admin", "--add", "--allow-principal", ALICE, "--operation", "Read", "--operation", "Write",
                      "--topic", TOPIC)
        self.assertEqual(r.returncode, 0, r.stderr)
        pattern = "ResourcePattern(resourceType=TOPIC, name=%s, patternType=LITERAL)" % TOPIC
        read = "(principal=%s, host=*, operation=READ, permissionType=ALLOW)" % ALICE
        write = "(principal=%s, host=*, operation=WRITE, permissionType=ALLOW)" % ALICE
        self.assertIn("Adding ACLs for resource `%s`: \n \t" % pattern, r.stdout)
        self.assertIn("Current ACLs for resource `%s`: \n \t" % pattern, r.stdout)
        r = self.acls("admin", "--list", "--topic", TOPIC)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("Current ACLs for resource `%s`: \n \t" % pattern), r.stdout)
        self.assertIn(read, r.stdout)
        self.assertIn(write, r.stdout)
        self.assertEqual(r.stdout.count("(principal="), 2, r.stdout)
        # bob may not DESCRIBE the cluster: he is shown none of them, and told so (librdkafka
        # drops the error; the tool asks again itself)
        r = self.acls("bob", "--list")
        self.assertNotIn(ALICE, r.stdout)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertEqual(r.stderr, "Error while executing ACL command: org.apache.kafka.common.errors."
                                   "ClusterAuthorizationException: Cluster authorization failed.\n")

        # stored as Kafka's AclAuthorizer stores them, with a change notification
        zk = KazooClient(hosts=self.cluster.zk_connect)
        zk.start(timeout=20)
        try:
            data, _ = zk.get("/kafka-acl/Topic/%s" % TOPIC)
            doc = json.loads(data)
            self.assertEqual(doc["version"], 1)
            self.assertEqual(sorted(doc["acls"], key=lambda a: a["operation"]),
                             [{"principal": ALICE, "permissionType": "Allow", "operation": "Read", "host": "*"},
                              {"principal": ALICE, "permissionType": "Allow", "operation": "Write", "host": "*"}])
            changes = zk.get_children("/kafka-acl-changes")
            self.assertTrue(changes and all(c.startswith("acl_changes_") for c in changes), changes)
        finally:
            zk.stop()
            zk.close()

        # alice produces and consumes (confluent-kafka and kcat)
        self.assertEqual(self.produce("alice"), [None] * 5)
        _, crt, key = self.certs["alice"]
        kcat = ["kcat", "-b", self.bs, "-X", "security.protocol=ssl", "-X", "ssl.ca.location=%s" % self.ca.crt,
                "-X", "ssl.certificate.location=%s" % crt, "-X", "ssl.key.location=%s" % key]
        r = subprocess.run(kcat + ["-P", "-t", TOPIC, "-p", "0"], input=b"k1\n", capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        got = self.consume("alice", 6)
        self.assertEqual(got, [b"alice-%d" % i for i in range(5)] + [b"k1"])
        r = subprocess.run(kcat + ["-C", "-t", TOPIC, "-o", "beginning", "-e"], capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), [b"alice-%d" % i for i in range(5)] + [b"k1"])

        # bob: the topic hidden, produce refused, no topic creation
        bob_admin = confluent_kafka.admin.AdminClient(self.conf("bob"))
        self.assertNotIn(TOPIC, bob_admin.list_topics(timeout=10).topics)
        errs = self.produce("bob", 1)
        self.assertEqual(len(errs), 1)
        self.assertEqual(errs[0].code(), confluent_kafka.KafkaError.TOPIC_AUTHORIZATION_FAILED, errs[0])
        with self.assertRaises(confluent_kafka.KafkaException) as cm:
            bob_admin.create_topics([confluent_kafka.admin.NewTopic("bobs", 1, 1)], request_timeout=20)["bobs"].result(30)
        self.assertEqual(cm.exception.args[0].code(), confluent_kafka.KafkaError.TOPIC_AUTHORIZATION_FAILED)
        # with DESCRIBE only, bob sees the topic, and the Produce and Fetch themselves are refused
        r = self.acls("admin", "--add", "--allow-principal", BOB, "--operation", "Describe", "--topic", TOPIC)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(TOPIC, bob_admin.list_topics(timeout=10).topics)
        errs = self.produce("bob", 1)
        self.assertEqual(errs[0].code(), confluent_kafka.KafkaError.TOPIC_AUTHORIZATION_FAILED, errs[0])
        err = self.consume("bob", 1)
        self.assertIsInstance(err, confluent_kafka.KafkaError)
        self.assertEqual(err.code(), confluent_kafka.KafkaError.TOPIC_AUTHORIZATION_FAILED, err)

        # the config APIs: DESCRIBE_CONFIGS on the topic (bob has DESCRIBE only)
        res = confluent_kafka.admin.ConfigResource(confluent_kafka.admin.RESOURCE_TOPIC, TOPIC)
        with self.assertRaises(confluent_kafka.KafkaException) as cm:
            bob_admin.describe_configs([res], request_timeout=20)[res].result(30)
        self.assertEqual(cm.exception.args[0].code(), confluent_kafka.KafkaError.TOPIC_AUTHORIZATION_FAILED)
        cfg = admin.describe_configs([res], request_timeout=20)[res].result(30)
        self.assertIn("retention.ms", cfg)

        # groups: alice may not use a group she has no READ on; with it she consumes through it
        def group_poll(want_error):
            c = confluent_kafka.Consumer(self.conf("alice", **{"group.id": "alice-group",
                                                               "auto.offset.reset": "earliest"}))
            c.subscribe([TOPIC])
            try:
                for _ in range(20):
                    m = c.poll(1)
                    if m is None:
                        continue
                    if m.error():
                        if want_error:
                            return m.error()
                        continue
                    if not want_error:
                        return m.value()
            finally:
                c.close()
            return None
        err = group_poll(True)
        self.assertIsNotNone(err, "no error for a group without READ")
        self.assertEqual(err.code(), confluent_kafka.KafkaError.GROUP_AUTHORIZATION_FAILED, err)
        r = self.acls("admin", "--add", "--allow-principal", ALICE, "--operation", "Read", "--group", "alice-group")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ResourcePattern(resourceType=GROUP, name=alice-group, patternType=LITERAL)", r.stdout)
        self.assertEqual(group_poll(False), b"alice-0")

        # the super user reads and writes with no ACL of its own
        self.assertEqual(self.produce("admin", 1), [None])
        self.assertEqual(len(self.consume("admin", 7)), 7)

        # --remove takes alice's ACLs away: refused from then on
        r = self.acls("admin", "--remove", "--force", "--allow-principal", ALICE, "--operation", "Read",
                      "--operation", "Write", "--topic", TOPIC)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.acls("admin", "--list", "--topic", TOPIC)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(ALICE, r.stdout)
        errs = self.produce("alice", 1)
        self.assertEqual(errs[0].code(), confluent_kafka.KafkaError.TOPIC_AUTHORIZATION_FAILED, errs[0])

    def test_raw_list_offsets_and_waiting_fetch(self):
        shut, open_ = "acl-shut", "acl-open"  # bob: no ACL on shut, READ on open
        admin = confluent_kafka.admin.AdminClient(self.conf("admin"))
        for f in admin.create_topics([confluent_kafka.admin.NewTopic(t, 1, 1) for t in (shut, open_)],
                                     request_timeout=20).values():
            f.result(30)
        wait_for(lambda: all(admin.list_topics(t, timeout=10).topics[t].partitions[0].leader >= 0
                             for t in (shut, open_)), 30, "leaders for %s and %s" % (shut, open_))
        r = self.acls("admin", "--add", "--allow-principal", BOB, "--operation", "Read", "--topic", open_)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.produce("admin", 1, topic=shut), [None])
        broker = self.cluster.brokers[0]
        denied_read = "%s from 127.0.0.1 denied READ on TOPIC %s" % (BOB, shut)  # kapi_acl's log line

        k = self.raw("bob")
        try:
            # ListOffsets: DESCRIBE per topic (READ implies it)
            k.request(2, 1, list_offsets_v1([shut, open_]))
            got = list_offsets_v1_parse(k.recv())
            self.assertEqual(got[shut][0], TOPIC_AUTHORIZATION_FAILED, got)
            self.assertEqual(got[open_], (0, 0), got)

            # a fetch of the refused topic alone is answered at once, refused, without the record:
            # no partition it may read could ever reach min_bytes (Kafka's ReplicaManager answers
            # when nothing was authorized); max_wait is beyond the socket's 10 s timeout
            k.request(1, 4, fetch_v4([(shut, 0, 0)], 60000, 1))
            got = fetch_v4_parse(k.recv())
            self.assertEqual(got[shut], (TOPIC_AUTHORIZATION_FAILED, -1, b""), got)
            # so is one where a partition read has an error (here: one that does not exist)
            k.request(1, 4, fetch_v4([(open_, 0, 0), (open_, 7, 0)], 60000, 1))
            got = fetch_v4_parse(k.recv())
            self.assertEqual(got[open_][0], UNKNOWN_TOPIC_OR_PARTITION, got)

            # a waiting fetch woken by an append keeps the refusal decided when it arrived, even
            # though bob may READ the topic by the time it is answered
            n = broker.log_text().count(denied_read)
            start = time.monotonic()
            k.request(1, 4, fetch_v4([(shut, 0, 0), (open_, 0, 0)], 20000, 1))
            wait_for(lambda: broker.log_text().count(denied_read) == n + 1, 10, "the fetch to be authorized")
            r = self.acls("admin", "--add", "--allow-principal", BOB, "--operation", "Read", "--topic", shut)
            self.assertEqual(r.returncode, 0, r.stderr)
            k2 = self.raw("bob")  # a new fetch is decided with the new ACL
            try:
                k2.request(1, 4, fetch_v4([(shut, 0, 0)], 0, 0))
                got = fetch_v4_parse(k2.recv())
                self.assertEqual(got[shut][:2], (0, 1), got)
                self.assertIn(b"admin-0", got[shut][2])
            finally:
                k2.close()
            self.assertEqual(self.produce("admin", 1, topic=open_), [None])
            got = fetch_v4_parse(k.recv())
            self.assertLess(time.monotonic() - start, 15, "answered at its deadline, not by the append")
            self.assertEqual(got[shut], (TOPIC_AUTHORIZATION_FAILED, -1, b""), got)
            self.assertEqual(got[open_][:2], (0, 1), got)
            self.assertIn(b"admin-0", got[open_][2])
            self.assertEqual(broker.log_text().count(denied_read), n + 1, "authorized again when woken")
        finally:
            k.close()


if __name__ == "__main__":
    unittest.main()
