"""The broker's SASL listeners (KIP-43/KIP-152): one broker with a PLAINTEXT listener (the
inter-broker one), a SASL_PLAINTEXT listener offering PLAIN (users from the listener's
PlainLoginModule JAAS entry), SCRAM-SHA-256 and SCRAM-SHA-512 (credentials written to the
coordinator by kafka-configs --zookeeper), and a SASL_SSL listener offering PLAIN. kcat,
confluent-kafka, kafka-python (SaslHandshake v0 and raw tokens) and kafkajs (v1 and
SaslAuthenticate) produce and consume with the right password; a wrong one fails fast with
SASL_AUTHENTICATION_FAILED and the broker log names the peer and the user; a plaintext client on
a SASL port, a request other than the SASL ones before authentication, an unsupported mechanism
and an idle unauthenticated connection are all closed; a SASL listener without a mechanism samsa
offers stops the start with a message saying so. kafka-configs alters a topic over SASL (through
AlterConfigs: its own IncrementalAlterConfigs cannot speak SASL)."""
import concurrent.futures
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from samsatest import kb  # noqa: E402
from samsatest.certs import CA  # noqa: E402
from samsatest.ports import free_port  # noqa: E402
from samsatest.wait import wait_for  # noqa: E402
from samsatest.workdir import WorkDir  # noqa: E402

warnings.simplefilter("ignore")
import confluent_kafka  # noqa: E402
import confluent_kafka.admin  # noqa: E402
import kafka  # noqa: E402
import kafka.errors  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
KAFKA_CONFIGS = os.path.join(os.environ.get("SAMSA_BUILD_ROOT", ""), "broker", "tools", "kafka-configs")
KAFKAJS = os.path.join(HERE, "kafkajs_client.js")
JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" '
        'password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";')
IDLE_MS = 1500


def kcat(*args, stdin=None, timeout=30):
    return subprocess.run(["kcat"] + list(args), input=stdin, capture_output=True, timeout=timeout)


def s16(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


class TestBrokerSasl(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.case = unittest.TestCase()  # the cluster's cleanups run in tearDownClass
        cls.cluster = kb.Cluster(cls.case, brokers=1, start=False)
        ca = CA(os.path.join(cls.cluster.dir, "certs"))
        cls.ca = ca
        server = ca.issue("server", "/O=samsa/CN=localhost", server=True)
        b = cls.broker = cls.cluster.brokers[0]
        cls.sasl_port, cls.ssl_port = free_port(), free_port()
        extra = ["listeners=PLAINTEXT://127.0.0.1:%d,SASL_PLAINTEXT://127.0.0.1:%d,SASL_SSL://127.0.0.1:%d"
                 % (b.port, cls.sasl_port, cls.ssl_port),
                 "inter.broker.listener.name=PLAINTEXT",
                 "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
                 "listener.name.sasl_plaintext.plain.sasl.jaas.config=" + JAAS,
                 "listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config="
                 "org.apache.kafka.common.security.scram.ScramLoginModule required;",
                 "listener.name.sasl_ssl.sasl.enabled.mechanisms=PLAIN",
                 "listener.name.sasl_ssl.plain.sasl.jaas.config=" + JAAS,
                 "ssl.keystore.type=PEM", "ssl.keystore.location=%s" % server[0],
                 "samsa.sasl.auth.timeout.ms=%d" % IDLE_MS,
                 "auto.create.topics.enable=true"]
        with open(b.props, "a") as f:
            f.write("\n".join(extra) + "\n")
        b.start()
        b.wait_ready()
        cls.sasl_bs = "127.0.0.1:%d" % cls.sasl_port
        for user, pw in (("alice", "alice-secret"), ("bob", "bob-secret")):
            r = cls.kafka_configs("--alter", "--add-config",
                                  "SCRAM-SHA-256=[iterations=8192,password=%s],SCRAM-SHA-512=[password=%s]" % (pw, pw),
                                  "--entity-type", "users", "--entity-name", user)
            if r.returncode != 0 or "Completed updating config for entity: user-principal '%s'." % user not in r.stdout:
                raise AssertionError("kafka-configs: %s %s" % (r.stdout, r.stderr))

    @classmethod
    def tearDownClass(cls):
        cls.case.doCleanups()

    @classmethod
    def kafka_configs(cls, *args):
        return subprocess.run([KAFKA_CONFIGS, "--zookeeper", cls.cluster.zk_connect] + list(args),
                              capture_output=True, text=True, timeout=60)

    def kcat_sasl(self, mech, user, pw, *args, stdin=None, bs=None, ssl=False):
        return kcat("-b", bs or self.sasl_bs, "-X", "security.protocol=%s" % ("sasl_ssl" if ssl else "sasl_plaintext"),
                    "-X", "sasl.mechanisms=%s" % mech, "-X", "sasl.username=%s" % user,
                    "-X", "sasl.password=%s" % pw, *(["-X", "ssl.ca.location=%s" % self.ca.crt] if ssl else []),
                    *args, stdin=stdin)

    def ck_conf(self, mech, user, pw):
        return {"bootstrap.servers": self.sasl_bs, "security.protocol": "sasl_plaintext", "sasl.mechanisms": mech,
                "sasl.username": user, "sasl.password": pw}

    def assert_logged_failure(self, user):
        wait_for(lambda: "authentication of user '%s' from 127.0.0.1:" % user in self.broker.log_text(), 10,
                 "the failed authentication of %s to be logged" % user)

    def produce_consume_kcat(self, mech, user, pw, topic):
        r = self.kcat_sasl(mech, user, pw, "-P", "-t", topic, "-p", "0", stdin=b"a-%s\nb-%s\n" % (mech.encode(),
                                                                                                  mech.encode()))
        self.assertEqual(r.returncode, 0, (r.stderr, self.broker.log_text()[-2000:]))
        r = self.kcat_sasl(mech, user, pw, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-f", "%s\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.decode().split(), ["a-" + mech, "b-" + mech])

    def test_kcat_plain_and_scram(self):
        self.produce_consume_kcat("PLAIN", "alice", "alice-secret", "kc-plain")
        self.produce_consume_kcat("SCRAM-SHA-256", "alice", "alice-secret", "kc-scram256")
        self.produce_consume_kcat("SCRAM-SHA-512", "bob", "bob-secret", "kc-scram512")
        # the principal is logged once per connection
        self.assertIn("authenticated as User:bob with SCRAM-SHA-512 on listener SASL_PLAINTEXT",
                      self.broker.log_text())

    def test_confluent_kafka_right_and_wrong_passwords(self):
        for mech in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"):
            topic = "ck-" + mech.lower()
            p = confluent_kafka.Producer(self.ck_conf(mech, "alice", "alice-secret"))
            for i in range(5):
                p.produce(topic, value=b"v%d" % i, partition=0)
            self.assertEqual(p.flush(30), 0)
            c = confluent_kafka.Consumer(dict(self.ck_conf(mech, "alice", "alice-secret"),
                                              **{"group.id": "unused", "enable.auto.commit": False}))
            c.assign([confluent_kafka.TopicPartition(topic, 0, 0)])
            seen = []
            while len(seen) < 5:
                m = c.poll(10)
                self.assertIsNotNone(m, "nothing read with " + mech)
                self.assertIsNone(m.error())
                seen.append(m.value())
            c.close()
            self.assertEqual(seen, [b"v%d" % i for i in range(5)])
        for mech, user in (("PLAIN", "alice"), ("SCRAM-SHA-256", "carol"), ("SCRAM-SHA-512", "bob")):
            errors = []
            t0 = time.monotonic()
            p = confluent_kafka.Producer(dict(self.ck_conf(mech, user, "wrong"), error_cb=errors.append))
            while not errors and time.monotonic() - t0 < 5:
                p.poll(0.2)
            self.assertLess(time.monotonic() - t0, 5)
            self.assertTrue(any(e.code() == confluent_kafka.KafkaError._AUTHENTICATION for e in errors), errors)
            self.assertTrue(any("Authentication failed" in e.str() for e in errors), errors)
            self.assert_logged_failure(user)

    def test_kafka_python_plain_and_scram(self):
        for mech in ("PLAIN", "SCRAM-SHA-256"):
            topic = "kp-" + mech.lower()
            conf = dict(bootstrap_servers=self.sasl_bs, security_protocol="SASL_PLAINTEXT", sasl_mechanism=mech,
                        sasl_plain_username="alice", sasl_plain_password="alice-secret")
            p = kafka.KafkaProducer(**conf)
            for i in range(3):
                p.send(topic, b"p%d" % i, partition=0).get(30)
            p.close()
            c = kafka.KafkaConsumer(**conf, consumer_timeout_ms=10000)
            c.assign([kafka.TopicPartition(topic, 0)])
            c.seek_to_beginning()
            got = []
            for m in c:
                got.append(m.value)
                if len(got) == 3:
                    break
            c.close()
            self.assertEqual(got, [b"p0", b"p1", b"p2"])
            t0 = time.monotonic()
            with self.assertRaises(kafka.errors.KafkaError):
                kafka.KafkaProducer(**dict(conf, sasl_plain_username="bob", sasl_plain_password="wrong"),
                                    api_version_auto_timeout_ms=3000, request_timeout_ms=3000)
            self.assertLess(time.monotonic() - t0, 8)
            self.assert_logged_failure("bob")

    def kafkajs(self, sasl, *args):
        node = shutil.which("node") or shutil.which("nodejs")
        r = subprocess.run([node, KAFKAJS, self.sasl_bs] + list(args), capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, SAMSA_KAFKAJS_SASL=sasl))
        lines = r.stdout.strip().splitlines()
        self.assertTrue(lines, "kafkajs printed nothing: %s" % r.stderr)
        return r.returncode, json.loads(lines[-1])

    def test_kafkajs_plain_and_scram(self):
        good = (("plain:alice:alice-secret", "js-plain"), ("scram-sha-256:alice:alice-secret", "js-256"),
                ("scram-sha-512:bob:bob-secret", "js-512"))
        bad = ("plain:alice:wrong", "scram-sha-256:alice:wrong")

        def timed(sasl, *args):
            t0 = time.monotonic()
            rc, out = self.kafkajs(sasl, *args)
            return rc, out, time.monotonic() - t0
        # the five clients at once: each is a node process of its own
        with concurrent.futures.ThreadPoolExecutor(len(good) + len(bad)) as ex:
            produced = [ex.submit(timed, sasl, "produce", topic, "3") for sasl, topic in good]
            refused = [ex.submit(timed, sasl, "list") for sasl in bad]
            for (sasl, topic), f in zip(good, produced):
                rc, out, _ = f.result()
                self.assertEqual(rc, 0, out)
                self.assertEqual(out[0]["errorCode"], 0)
                r = self.kcat_sasl("PLAIN", "admin", "admin-secret", "-C", "-t", topic, "-p", "0", "-o", "beginning",
                                   "-e", "-f", "%s\n")
                self.assertEqual(r.stdout.decode().split(), ["value-0", "value-1", "value-2"])
            for f in refused:
                rc, out, secs = f.result()
                self.assertEqual(rc, 1)
                self.assertEqual(out["error"], "KafkaJSSASLAuthenticationError", out)
                self.assertIn("Authentication failed", out["message"])
                self.assertLess(secs, 20)

    def test_sasl_ssl_plain(self):
        bs = "127.0.0.1:%d" % self.ssl_port
        r = self.kcat_sasl("PLAIN", "alice", "alice-secret", "-P", "-t", "over-ssl", "-p", "0", stdin=b"x1\nx2\n",
                           bs=bs, ssl=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.kcat_sasl("PLAIN", "alice", "alice-secret", "-C", "-t", "over-ssl", "-p", "0", "-o", "beginning",
                           "-e", "-f", "%s\n", bs=bs, ssl=True)
        self.assertEqual(r.stdout.decode().split(), ["x1", "x2"])
        # SCRAM is not enabled on this listener
        r = self.kcat_sasl("SCRAM-SHA-256", "alice", "alice-secret", "-L", "-m", "3", bs=bs, ssl=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"SCRAM-SHA-256", r.stderr)

    def test_unauthenticated_clients_are_closed(self):
        # a plaintext client on the SASL port: ApiVersions is answered, Metadata closes
        raw = kb.KafkaRaw(self.sasl_port, timeout=5)
        try:
            raw.request(18, 1, b"")
            frame = raw.recv()
            self.assertEqual(struct.unpack(">h", frame[4:6])[0], 0)
            self.assertIn(struct.pack(">hhh", 17, 0, 1), frame)  # SaslHandshake advertised
            self.assertIn(struct.pack(">hhh", 36, 0, 1), frame)  # SaslAuthenticate
            raw.request(3, 1, struct.pack(">i", -1))
            self.assertIsNone(raw.recv())  # closed
        finally:
            raw.close()
        wait_for(lambda: "unexpected Kafka request of api_key 3" in self.broker.log_text(), 10, "the close logged")
        r = kcat("-b", self.sasl_bs, "-L", "-m", "3")
        self.assertNotEqual(r.returncode, 0)
        # an unsupported mechanism: UNSUPPORTED_SASL_MECHANISM (33) and the enabled list, then closed
        raw = kb.KafkaRaw(self.sasl_port, timeout=5)
        try:
            raw.request(17, 1, s16("GSSAPI"))
            frame = raw.recv()
            err, n = struct.unpack(">hi", frame[4:10])
            self.assertEqual((err, n), (33, 3))
            self.assertIn(b"SCRAM-SHA-512", frame)
            self.assertIsNone(raw.recv())  # closed
        finally:
            raw.close()
        # an idle connection that never authenticates is closed after samsa.sasl.auth.timeout.ms
        s = socket.create_connection(("127.0.0.1", self.sasl_port), timeout=10)
        try:
            t0 = time.monotonic()
            self.assertEqual(s.recv(1), b"")
            self.assertLess(time.monotonic() - t0, IDLE_MS / 1000 + 3)
        finally:
            s.close()
        wait_for(lambda: "not authenticated within %d ms" % IDLE_MS in self.broker.log_text(), 10, "the idle close")
        # a too-large frame before authentication
        s = socket.create_connection(("127.0.0.1", self.sasl_port), timeout=10)
        try:
            s.sendall(struct.pack(">i", 1 << 20))
            self.assertEqual(s.recv(1), b"")
        finally:
            s.close()
        # the broker goes on serving
        r = self.kcat_sasl("PLAIN", "admin", "admin-secret", "-L")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_scram_credentials_in_the_coordinator(self):
        doc = self.cluster.znode_json("/config/users/alice")
        self.assertEqual(doc["version"], 1)
        self.assertEqual(sorted(doc["config"]), ["SCRAM-SHA-256", "SCRAM-SHA-512"])
        self.assertRegex(doc["config"]["SCRAM-SHA-256"],
                         r"^salt=[A-Za-z0-9+/=]+,stored_key=[A-Za-z0-9+/=]{44},server_key=[A-Za-z0-9+/=]{44},"
                         r"iterations=8192$")
        self.assertTrue(doc["config"]["SCRAM-SHA-512"].endswith(",iterations=4096"))
        zk = self.cluster.kazoo()
        changes = self.cluster.chroot + "/config/changes"
        notes = [json.loads(zk.get(changes + "/" + c)[0]) for c in zk.get_children(changes)]
        self.assertIn({"version": 2, "entity_path": "users/alice"}, notes)
        r = self.kafka_configs("--describe", "--entity-type", "users", "--entity-name", "alice")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Configs for user-principal 'alice' are SCRAM-SHA-256=salt=", r.stdout)
        # a user of its own: made, used, its SHA-512 credential deleted, then refused
        r = self.kafka_configs("--alter", "--add-config", "SCRAM-SHA-512=[password=dave-pw]", "--entity-type", "users",
                               "--entity-name", "dave")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.kcat_sasl("SCRAM-SHA-512", "dave", "dave-pw", "-L").returncode, 0)
        r = self.kafka_configs("--alter", "--delete-config", "SCRAM-SHA-512", "--entity-type", "users",
                               "--entity-name", "dave")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotEqual(self.kcat_sasl("SCRAM-SHA-512", "dave", "dave-pw", "-L", "-m", "3").returncode, 0)
        self.assert_logged_failure("dave")
        r = self.kafka_configs("--alter", "--delete-config", "SCRAM-SHA-512", "--entity-type", "users",
                               "--entity-name", "dave")
        self.assertEqual(r.returncode, 1)
        self.assertIn("Invalid config(s): SCRAM-SHA-512", r.stderr)
        r = self.kafka_configs("--alter", "--add-config", "SCRAM-SHA-256=[iterations=100,password=x]",
                               "--entity-type", "users", "--entity-name", "dave")
        self.assertEqual(r.returncode, 1)
        self.assertIn("less than the minimum 4096", r.stderr)

    def test_kafka_configs_topic_over_sasl(self):
        """kafka-configs sends IncrementalAlterConfigs itself only over PLAINTEXT or SSL: over
        SASL it alters a topic with librdkafka's AlterConfigs (the whole set) instead, and
        succeeds."""
        a = confluent_kafka.admin.AdminClient({"bootstrap.servers": self.broker.bootstrap})
        a.create_topics([confluent_kafka.admin.NewTopic("cfg-sasl", 1, 1)])["cfg-sasl"].result(15)
        props = os.path.join(self.cluster.dir, "admin-sasl.properties")
        with open(props, "w") as f:
            f.write("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"
                    "sasl.username=admin\nsasl.password=admin-secret\n")
        r = subprocess.run([KAFKA_CONFIGS, "--bootstrap-server", self.sasl_bs, "--command-config", props,
                            "--entity-type", "topics", "--entity-name", "cfg-sasl", "--alter",
                            "--add-config", "retention.ms=60000"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "Completed updating config for topic cfg-sasl.\n")
        self.assertEqual(self.cluster.znode_json("/config/topics/cfg-sasl")["config"], {"retention.ms": "60000"})


SCRAM_LOGIN = 'org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="%s";'


class TestInterBrokerSasl(unittest.TestCase):
    """Inter-broker SASL: brokers 0-2 use a SASL_SSL listener as the inter-broker one with
    sasl.mechanism.inter.broker.protocol=SCRAM-SHA-256, logging in as user "broker" from
    listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config (its username and password, as Kafka's
    broker reads them), the credential written to the coordinator by kafka-configs; clients use
    a PLAINTEXT listener. An RF=3 topic reaches a full ISR, a confluent-kafka producer's acks=all
    records are in every replica's log, byte for byte the same, and the leader's controlled
    shutdown asks the controller over the same SASL login. Broker 3 logs in with a wrong
    password: the leader logs the failed authentication, broker 3 says why, never joins the ISR
    and gets no record."""

    @classmethod
    def setUpClass(cls):
        cls.case = unittest.TestCase()
        cls.cluster = kb.Cluster(cls.case, brokers=4, start=False)
        cls.ca = CA(os.path.join(cls.cluster.dir, "certs"))
        for b in cls.cluster.brokers:
            pem = cls.ca.issue("broker%d" % b.id, "/O=samsa/CN=broker%d" % b.id, server=True)[0]
            b.sasl_port = free_port()
            extra = ["listeners=PLAINTEXT://127.0.0.1:%d,SASL_SSL://127.0.0.1:%d" % (b.port, b.sasl_port),
                     "inter.broker.listener.name=SASL_SSL", "sasl.enabled.mechanisms=SCRAM-SHA-256",
                     "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-256",
                     "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config="
                     + SCRAM_LOGIN % ("wrong-secret" if b.id == 3 else "broker-secret"),
                     "ssl.keystore.type=PEM", "ssl.keystore.location=%s" % pem, "ssl.truststore.type=PEM",
                     "ssl.truststore.location=%s" % cls.ca.crt, "replica.lag.time.max.ms=4000"]
            with open(b.props, "a") as f:
                f.write("\n".join(extra) + "\n")
        for b in cls.cluster.brokers[:3]:
            b.start()
        for b in cls.cluster.brokers[:3]:
            b.wait_ready()
        # (the brokers made the chroot's /config; a follower refused meanwhile retries)
        r = subprocess.run([KAFKA_CONFIGS, "--zookeeper", cls.cluster.zk_connect, "--alter", "--add-config",
                            "SCRAM-SHA-256=[password=broker-secret]", "--entity-type", "users",
                            "--entity-name", "broker"], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError("kafka-configs: %s %s" % (r.stdout, r.stderr))

    @classmethod
    def tearDownClass(cls):
        cls.case.doCleanups()

    def create(self, topic, replicas):
        admin = confluent_kafka.admin.AdminClient({"bootstrap.servers": self.cluster.bootstrap})
        fs = admin.create_topics([confluent_kafka.admin.NewTopic(topic, 1, replica_assignment=[replicas])],
                                 request_timeout=20)
        fs[topic].result(30)

    def segment_bytes(self, b, topic):
        d = os.path.join(b.log_dirs, topic + "-0")
        out = b""
        for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            if n.endswith(".log"):
                with open(os.path.join(d, n), "rb") as f:
                    out += f.read()
        return out

    def test_rf3_replication_over_sasl_ssl(self):
        self.create("ibsasl", [0, 1, 2])
        self.cluster.wait_state("ibsasl", 0, lambda s: sorted(s["isr"]) == [0, 1, 2], 60, "an ISR of 0, 1, 2")
        p = confluent_kafka.Producer({"bootstrap.servers": self.cluster.bootstrap, "acks": "all"})
        values = [b"sasl-replicated-%03d" % i for i in range(100)]
        for v in values:
            p.produce("ibsasl", value=v, partition=0)
        self.assertEqual(p.flush(30), 0)
        leader = self.cluster.state("ibsasl", 0)["leader"]
        brokers = self.cluster.brokers[:3]
        wait_for(lambda: len(set(self.segment_bytes(b, "ibsasl") for b in brokers)) == 1, 30,
                 "the replicas' logs to be identical")
        self.assertTrue(all(v in self.segment_bytes(brokers[0], "ibsasl") for v in values))
        for b in brokers:
            if b.id != leader:
                self.assertIn("authenticated to leader %d at 127.0.0.1:%d as broker (SASL SCRAM-SHA-256)"
                              % (leader, self.cluster.brokers[leader].sasl_port), b.log_text())
        self.assertNotIn("authentication of user", self.cluster.brokers[leader].log_text())
        # the leader's controlled shutdown authenticates to the controller the same way
        self.cluster.stop_broker(leader)
        text = self.cluster.brokers[leader].log_text()
        self.assertIn("done: this broker leads no partition", text)
        self.assertNotIn("SASL authentication to the controller failed", text)
        self.assertNotEqual(self.cluster.state("ibsasl", 0)["leader"], leader)

    def test_wrong_password_keeps_a_follower_out_of_the_isr(self):
        b3 = self.cluster.brokers[3]
        b3.start()
        b3.wait_ready()
        lead = min(i for i in self.cluster.live_ids() if i != 3)
        self.create("wrongpw", [lead, 3])
        leader = self.cluster.brokers[lead]
        wait_for(lambda: "authentication of user 'broker' from 127.0.0.1:" in leader.log_text(), 30,
                 "the leader to log the failed authentication")
        wait_for(lambda: "SASL SCRAM-SHA-256 authentication as broker failed" in b3.log_text(), 30,
                 "broker 3 to log why it cannot fetch")
        self.cluster.wait_state("wrongpw", 0, lambda s: s["leader"] == lead and s["isr"] == [lead], 30,
                                "an ISR of the leader alone")
        p = confluent_kafka.Producer({"bootstrap.servers": leader.bootstrap, "acks": "1"})
        p.produce("wrongpw", value=b"only-on-the-leader", partition=0)
        self.assertEqual(p.flush(30), 0)
        n = leader.log_text().count("authentication of user 'broker' from 127.0.0.1:")
        wait_for(lambda: leader.log_text().count("authentication of user 'broker' from 127.0.0.1:") > n, 30,
                 "broker 3 to try again")
        self.assertEqual(self.cluster.state("wrongpw", 0)["isr"], [lead])
        self.assertNotIn(b"only-on-the-leader", self.segment_bytes(b3, "wrongpw"))


class TestBadSaslConfig(unittest.TestCase):
    def start_fails(self, extra, words):
        work = WorkDir(self, prefix="samsa-kbsasl-bad-")
        props = os.path.join(work.path, "server.properties")
        with open(props, "w") as f:
            f.write("broker.id=0\nzookeeper.connect=127.0.0.1:1\nlog.dirs=%s\n" % os.path.join(work.path, "logs"))
            for k, v in extra.items():
                f.write("%s=%s\n" % (k, v))
        proc = subprocess.run([kb.BROKER, props], capture_output=True, text=True, timeout=30,
                              env=dict(os.environ, LOG_DIR=os.path.join(work.path, "log")))
        self.assertNotEqual(proc.returncode, 0)
        for w in words:
            self.assertIn(w, proc.stderr + proc.stdout)

    def test_bad_settings_are_refused_at_start(self):
        two = "PLAINTEXT://127.0.0.1:%d,SASL_PLAINTEXT://127.0.0.1:%d" % (free_port(), free_port())
        # Kafka's default mechanism is GSSAPI, which samsa does not offer
        self.start_fails({"listeners": two}, ["GSSAPI", "PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512"])
        self.start_fails({"listeners": two, "sasl.enabled.mechanisms": "PLAIN"},
                         ["listener.name.SASL_PLAINTEXT.plain.sasl.jaas.config"])
        self.start_fails({"listeners": two, "sasl.enabled.mechanisms": "PLAIN",
                          "listener.name.sasl_plaintext.plain.sasl.jaas.config":
                          'org.apache.kafka.common.security.plain.PlainLoginModule required user_a="x"'},
                         ["missing ';'"])
        self.start_fails({"listeners": "SASL_PLAINTEXT://127.0.0.1:%d" % free_port(),
                          "sasl.enabled.mechanisms": "SCRAM-SHA-256"}, ["security.inter.broker.protocol PLAINTEXT"])
        # inter-broker SASL: over SASL_SSL only (the control plane needs TLS), with a mechanism
        # samsa offers
        self.start_fails({"listeners": two, "security.inter.broker.protocol": "SASL_PLAINTEXT"},
                         ["SASL_PLAINTEXT", "over SASL_SSL only", "control plane"])
        self.start_fails({"listeners": "SASL_SSL://127.0.0.1:%d" % free_port(),
                          "security.inter.broker.protocol": "SASL_SSL",
                          "sasl.mechanism.inter.broker.protocol": "GSSAPI"},
                         ["sasl.mechanism.inter.broker.protocol", "GSSAPI"])


if __name__ == "__main__":
    unittest.main()
