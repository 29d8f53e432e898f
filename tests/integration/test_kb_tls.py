"""The broker's SSL listeners (Kafka's ssl.* keys with PEM stores, KIP-651): two brokers, each with
a PLAINTEXT listener (the inter-broker one) and an SSL listener requiring client certificates;
kcat and confluent-kafka over TLS with CA verification and mutual TLS produce and consume; the
Metadata of a client on the SSL listener names every broker's SSL endpoint (and a plaintext client
the PLAINTEXT ones), as Kafka answers by listener; a client without a certificate or a plaintext
client on the TLS port fails cleanly and the broker goes on serving; broker 1 reads its key, chain
and trusted certificates inline, written as Kafka's documentation writes them (lines continued with
` \\`); broker 0's certificate replaced on disk is served to the next connection without a
restart, and a broken replacement keeps the old material and says why; bad TLS settings stop the
start with a message naming the key."""
import os
import socket
import ssl
import struct
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from samsatest import kb  # noqa: E402
from samsatest.certs import CA  # noqa: E402
from samsatest.ports import free_port  # noqa: E402
from samsatest.wait import wait_for  # noqa: E402
from samsatest.workdir import WorkDir  # noqa: E402
import confluent_kafka  # noqa: E402
import confluent_kafka.admin  # noqa: E402


def kcat(*args, stdin=None, timeout=30):
    return subprocess.run(["kcat"] + list(args), input=stdin, capture_output=True, timeout=timeout)


def pb_varint(n):
    n &= (1 << 64) - 1
    out = b""
    while True:
        low, n = n & 0x7F, n >> 7
        if not n:
            return out + bytes([low])
        out += bytes([low | 0x80])


def pb_field(num, value):
    """A protobuf field: an int as a varint, bytes length-delimited."""
    if isinstance(value, int):
        return pb_varint(num << 3) + pb_varint(value)
    return pb_varint(num << 3 | 2) + pb_varint(len(value)) + value


def ctl_frame(kind, controller_id, controller_epoch, *fields):
    """A control-plane frame (proto/controller.proto): length, type, the message with its
    RequestHeader (version 1, broker epoch -1) and further fields."""
    hdr = pb_field(1, 1) + pb_field(2, 7) + pb_field(3, controller_id) + pb_field(4, controller_epoch)
    hdr += pb_field(5, -1)
    body = bytes([kind]) + pb_field(1, hdr) + b"".join(fields)
    return struct.pack(">I", len(body)) + body


def inline(path):
    """A PEM file as a properties value in Kafka's documented form: each line continued with ` \\`."""
    with open(path) as f:
        lines = [ln for ln in f.read().splitlines() if ln.strip()]
    return " \\\n".join(lines)


class TestBrokerTls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.case = unittest.TestCase()  # the cluster's cleanups run in tearDownClass
        cls.cluster = kb.Cluster(cls.case, brokers=2, start=False)
        cls.ca = CA(os.path.join(cls.cluster.dir, "certs"))
        cls.server = cls.ca.issue("server", "/O=samsa/CN=localhost", server=True)
        cls.alice = cls.ca.issue("alice", "/O=samsa/CN=alice")
        cls.ssl_ports = []
        for b in cls.cluster.brokers:
            sp = free_port()
            cls.ssl_ports.append(sp)
            extra = ["listeners=PLAINTEXT://127.0.0.1:%d,SSL://127.0.0.1:%d" % (b.port, sp),
                     "inter.broker.listener.name=PLAINTEXT",
                     "ssl.client.auth=required"]
            if b.id == 0:
                extra += ["ssl.keystore.type=PEM", "ssl.keystore.location=%s" % cls.server[0],
                          "ssl.truststore.type=PEM", "ssl.truststore.location=%s" % cls.ca.crt]
            else:
                extra += ["ssl.keystore.certificate.chain=%s" % inline(cls.server[1]),
                          "ssl.keystore.key=%s" % inline(cls.server[2]),
                          "ssl.truststore.certificates=%s" % inline(cls.ca.crt)]
            with open(b.props, "a") as f:
                f.write("\n".join(extra) + "\n")
            b.start()
        for b in cls.cluster.brokers:
            b.wait_ready()
        cls.ssl_bs = ",".join("127.0.0.1:%d" % p for p in cls.ssl_ports)

    @classmethod
    def tearDownClass(cls):
        cls.case.doCleanups()

    def ssl_conf(self, cert=True):
        conf = {"bootstrap.servers": self.ssl_bs, "security.protocol": "ssl", "ssl.ca.location": self.ca.crt}
        if cert:
            conf.update({"ssl.certificate.location": self.alice[1], "ssl.key.location": self.alice[2]})
        return conf

    def kcat_ssl(self, *args, stdin=None):
        return kcat("-b", self.ssl_bs, "-X", "security.protocol=ssl", "-X", "ssl.ca.location=%s" % self.ca.crt,
                    "-X", "ssl.certificate.location=%s" % self.alice[1],
                    "-X", "ssl.key.location=%s" % self.alice[2], *args, stdin=stdin)

    def test_kcat_and_confluent_kafka_over_mutual_tls(self):
        admin = confluent_kafka.admin.AdminClient(self.ssl_conf())
        fs = admin.create_topics([confluent_kafka.admin.NewTopic("tls", 2, 2)], request_timeout=20)
        fs["tls"].result(30)
        # the SSL listener's Metadata: both brokers at their SSL ports
        md = admin.list_topics(timeout=20)
        self.assertEqual(sorted(b.port for b in md.brokers.values()), sorted(self.ssl_ports))
        wait_for(lambda: all(p.leader >= 0 for p in admin.list_topics("tls", timeout=10).topics["tls"]
                             .partitions.values()), 30, "leaders of tls")
        p = confluent_kafka.Producer(dict(self.ssl_conf(), acks="all"))
        for i in range(50):
            p.produce("tls", value=b"m%d" % i, partition=i % 2)
        self.assertEqual(p.flush(30), 0)
        r = self.kcat_ssl("-P", "-t", "tls", "-p", "0", stdin=b"k1\nk2\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.kcat_ssl("-C", "-t", "tls", "-o", "beginning", "-e", "-f", "%s\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        got = r.stdout.decode().split()
        self.assertEqual(sorted(got), sorted(["m%d" % i for i in range(50)] + ["k1", "k2"]))
        c = confluent_kafka.Consumer(dict(self.ssl_conf(), **{"group.id": "unused", "enable.auto.commit": False}))
        c.assign([confluent_kafka.TopicPartition("tls", 1, 0)])
        seen = []
        while len(seen) < 25:
            m = c.poll(10)
            self.assertIsNotNone(m, "nothing read over TLS")
            self.assertIsNone(m.error())
            seen.append(m.value())
        c.close()
        self.assertEqual(seen, [b"m%d" % i for i in range(1, 50, 2)])
        # a plaintext client sees the PLAINTEXT endpoints of the same brokers
        r = kcat("-b", self.cluster.bootstrap, "-L", "-J")
        self.assertEqual(r.returncode, 0, r.stderr)
        for b in self.cluster.brokers:
            self.assertIn('{"id":%d,"name":"127.0.0.1:%d"}' % (b.id, b.port), r.stdout.decode())

    def test_refused_clients_fail_cleanly_and_the_broker_goes_on(self):
        # no client certificate under ssl.client.auth=required
        conf = dict(self.ssl_conf(cert=False), **{"socket.timeout.ms": 3000})
        admin = confluent_kafka.admin.AdminClient(conf)
        with self.assertRaises(confluent_kafka.KafkaException):
            admin.list_topics(timeout=5)
        # a plaintext Kafka client on the TLS port gets no Kafka answer
        raw = kb.KafkaRaw(self.ssl_ports[0], timeout=5)
        try:
            raw.request(18, 0, b"")
            try:
                frame = raw.recv()
            except socket.timeout:
                frame = None
            self.assertIsNone(frame)
        finally:
            raw.close()
        wait_for(lambda: "TLS with 127.0.0.1:" in self.cluster.brokers[0].log_text(), 10,
                 "the refused handshakes to be logged")
        # the broker still serves both listeners
        r = self.kcat_ssl("-L")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(kb.metadata_v1(self.cluster.brokers[0].port)[1]), [0, 1])

    def served_subject(self):
        """The subject of the certificate broker 0's SSL listener presents to a new connection
        (Python's ssl with CA verification and alice's certificate), after an ApiVersions round
        trip on it."""
        ctx = ssl.create_default_context(cafile=self.ca.crt)
        ctx.load_cert_chain(self.alice[1], self.alice[2])
        raw = kb.KafkaRaw(self.ssl_ports[0], timeout=5, tls=ctx)
        try:
            raw.request(18, 0, b"")
            frame = raw.recv()
            self.assertIsNotNone(frame, "no ApiVersions answer over TLS")
            self.assertEqual(frame[4:6], b"\0\0")  # error_code NONE
            return dict(x[0] for x in raw.sock.getpeercert()["subject"])
        finally:
            raw.close()

    def test_replaced_certificate_is_served_without_a_restart(self):
        b0 = self.cluster.brokers[0]
        pem = self.server[0]
        self.assertNotIn("organizationalUnitName", self.served_subject())
        pid = b0.pid
        # a new certificate written over the keystore file, as rotation does (rename into place)
        fresh, _, _ = self.ca.issue("server-rotated", "/O=samsa/OU=rotated/CN=localhost", server=True)
        tmp = pem + ".tmp"
        with open(fresh) as f, open(tmp, "w") as out:
            out.write(f.read())
        os.replace(tmp, pem)
        # (the files are looked at when a client connects, at most once a second)
        wait_for(lambda: self.served_subject().get("organizationalUnitName") == "rotated", 15,
                 "the replaced certificate to be served")
        self.assertEqual(b0.pid, pid)
        self.assertIn("TLS material reloaded from %s" % pem, b0.log_text())
        r = kcat("-b", "127.0.0.1:%d" % self.ssl_ports[0], "-X", "security.protocol=ssl",
                 "-X", "ssl.ca.location=%s" % self.ca.crt, "-X", "ssl.certificate.location=%s" % self.alice[1],
                 "-X", "ssl.key.location=%s" % self.alice[2], "-L")
        self.assertEqual(r.returncode, 0, r.stderr)
        # a broken replacement is refused, logged, and the rotated material kept
        with open(tmp, "w") as out:
            out.write("not a certificate\n")
        os.replace(tmp, pem)
        wait_for(lambda: self.served_subject() and "reloading the TLS material failed" in b0.log_text(), 15,
                 "the broken certificate to be refused")
        self.assertIn(pem, b0.log_text().split("reloading the TLS material failed", 1)[1].splitlines()[0])
        self.assertEqual(self.served_subject().get("organizationalUnitName"), "rotated")
        self.assertEqual(b0.pid, pid)
        os.replace(fresh, pem)  # good material again for the other tests


class TestInterBrokerTls(unittest.TestCase):
    """Replication over TLS: brokers 0-2 use their SSL listener as the inter-broker one
    (inter.broker.listener.name=SSL, ssl.client.auth=required, each with its own certificate, the
    leader's host name checked as ssl.endpoint.identification.algorithm's default https asks) and
    ACLs on with only the brokers (and the plaintext clients, User:ANONYMOUS) as super users and
    allow.everyone.if.no.acl.found=false, so a follower's Fetch is allowed only as its
    certificate's principal; an RF=3 topic produced acks=all reaches every replica's log and is
    read back after kill -9 of its leader, the controller moving the leadership over the control
    plane, which runs over mutual TLS too: a plaintext peer and one whose certificate another CA
    signed are refused on the control-plane port, logged with their address, and change nothing.
    Broker 3 trusts another CA only: it never joins the ISR of the partition it follows and says
    why."""

    @classmethod
    def setUpClass(cls):
        cls.case = unittest.TestCase()
        cls.cluster = kb.Cluster(cls.case, brokers=4, start=False)
        cls.ca = CA(os.path.join(cls.cluster.dir, "certs"))
        cls.other = other = CA(os.path.join(cls.cluster.dir, "other-certs"), name="other-ca")
        supers = ";".join("User:CN=broker%d,O=samsa" % b.id for b in cls.cluster.brokers)
        for b in cls.cluster.brokers:
            pem = cls.ca.issue("broker%d" % b.id, "/O=samsa/CN=broker%d" % b.id, server=True)[0]
            b.ssl_port = free_port()
            extra = ["listeners=PLAINTEXT://127.0.0.1:%d,SSL://127.0.0.1:%d" % (b.port, b.ssl_port),
                     "inter.broker.listener.name=SSL", "ssl.client.auth=required",
                     "ssl.keystore.type=PEM", "ssl.keystore.location=%s" % pem, "ssl.truststore.type=PEM",
                     "ssl.truststore.location=%s" % (other.crt if b.id == 3 else cls.ca.crt),
                     "authorizer.class.name=kafka.security.authorizer.AclAuthorizer",
                     "super.users=%s;User:ANONYMOUS" % supers, "allow.everyone.if.no.acl.found=false",
                     "replica.lag.time.max.ms=4000"]
            with open(b.props, "a") as f:
                f.write("\n".join(extra) + "\n")
        # broker 3 joins in its own test: it must not become the controller the others ask
        for b in cls.cluster.brokers[:3]:
            b.start()
        for b in cls.cluster.brokers[:3]:
            b.wait_ready()

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

    def follower_fetch_error(self, b, cert, topic):
        """The error of a follower's Fetch v4 (replica id 1) of topic-0 sent to broker b's SSL
        (inter-broker) listener with certificate cert (crt, key)."""
        ctx = ssl.create_default_context(cafile=self.ca.crt)
        ctx.load_cert_chain(cert[0], cert[1])
        k = kb.KafkaRaw(b.ssl_port, tls=ctx)
        try:
            body = struct.pack(">iiiib", 1, 0, 1, 1 << 20, 0) + struct.pack(">i", 1)
            body += kb.kstr(topic) + struct.pack(">i", 1) + struct.pack(">iqi", 0, 0, 1 << 20)
            k.request(1, 4, body)
            resp = k.recv()
        finally:
            k.close()
        pos = 12 + 2 + len(topic) + 4 + 4  # correlation, throttle, count, name, count, partition
        return struct.unpack_from(">h", resp, pos)[0]

    def test_a_client_certificate_is_no_follower_on_the_inter_broker_listener(self):
        # the inter-broker listener exempts nothing when it is SSL: a follower's Fetch needs
        # CLUSTER_ACTION for the certificate's principal (the brokers are super users)
        self.create("guard", [0])
        self.cluster.wait_state("guard", 0, lambda s: s["leader"] == 0, 30, "leader 0")
        b0 = self.cluster.brokers[0]
        alice = self.ca.issue("alice", "/O=samsa/CN=alice")
        self.assertEqual(self.follower_fetch_error(b0, alice[1:], "guard"), 31)  # CLUSTER_AUTHORIZATION_FAILED
        self.assertIn("principal User:CN=alice,O=samsa from 127.0.0.1 denied CLUSTER_ACTION", b0.log_text())
        broker1 = os.path.join(self.ca.dir, "broker1.crt"), os.path.join(self.ca.dir, "broker1.key")
        self.assertNotEqual(self.follower_fetch_error(b0, broker1, "guard"), 31)

    def ctl_exchange(self, b, frame, tls=None):
        """Sends frame to broker b's control-plane port, plaintext or over tls (an SSLContext);
        returns (the answer's message type, or None when the broker answered nothing and closed,
        our address as the broker sees it "127.0.0.1:port", the serial number of the certificate
        the broker showed)."""
        sock = socket.create_connection(("127.0.0.1", b.control_port), timeout=10)
        me = "127.0.0.1:%d" % sock.getsockname()[1]
        data = b""
        serial = None
        try:
            if tls is not None:
                sock = tls.wrap_socket(sock, server_hostname="localhost")
                serial = sock.getpeercert()["serialNumber"]
            sock.sendall(frame)
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
                if len(data) >= 5 and len(data) >= 4 + struct.unpack(">I", data[:4])[0]:
                    break
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            pass
        finally:
            sock.close()
        if len(data) >= 5 and struct.unpack(">I", data[:4])[0] == len(data) - 4:
            return data[4], me, serial
        return None, me, serial

    def test_control_plane_refuses_plaintext_and_untrusted_certificates(self):
        # the control plane runs over mutual TLS with the inter-broker listener: a peer must
        # show a certificate the broker's truststore vouches for, or it is refused before any
        # frame is read
        self.create("ctlguard", [0, 1, 2])
        self.cluster.wait_state("ctlguard", 0, lambda s: sorted(s["isr"]) == [0, 1, 2], 60, "an ISR of 0, 1, 2")
        ctrl = self.cluster.controller()
        b = self.cluster.brokers[min(i for i in (0, 1, 2) if i != ctrl)]
        wait_for(lambda: "controller %d speaks from 127.0.0.1:" % ctrl in b.log_text(), 30,
                 "the controller's requests to arrive over TLS")
        self.assertIn("over mutual TLS as CN=broker%d,O=samsa" % ctrl, b.log_text())
        # what a usurper would send: a StopReplica deleting the partition, in a controller epoch
        # far above the real one (it would fence the real controller)
        stop = ctl_frame(5, 7, 1000000, pb_field(2, 1), pb_field(3, pb_field(1, b"ctlguard") + pb_field(2, 0)))
        kind, me, _ = self.ctl_exchange(b, stop)
        self.assertIsNone(kind)
        wait_for(lambda: "control-plane connection from %s refused" % me in b.log_text(), 10,
                 "the plaintext peer's refusal to be logged")
        rogue = self.other.issue("rogue", "/O=samsa/CN=broker9", server=True)
        ctx = ssl.create_default_context(cafile=self.ca.crt)
        ctx.load_cert_chain(rogue[1], rogue[2])
        kind, me, _ = self.ctl_exchange(b, stop, tls=ctx)
        self.assertIsNone(kind)
        wait_for(lambda: "control-plane connection from %s refused" % me in b.log_text(), 10,
                 "the untrusted certificate's refusal to be logged")
        # a peer with a trusted certificate is answered: a heartbeat in epoch 0 (refused as
        # stale, so it changes nothing either) comes back as a HeartbeatResponse
        ctx = ssl.create_default_context(cafile=self.ca.crt)
        ctx.load_cert_chain(os.path.join(self.ca.dir, "broker%d.crt" % ctrl), os.path.join(self.ca.dir, "broker%d.key" % ctrl))
        heartbeat = ctl_frame(7, ctrl, 0)
        kind, _, serial = self.ctl_exchange(b, heartbeat, tls=ctx)
        self.assertEqual(kind, 8)
        # the broker's certificate renewed on disk (same subject, a new serial) is what its
        # control-plane listener shows the next peer, without a restart
        pem = os.path.join(self.ca.dir, "broker%d.pem" % b.id)
        fresh = self.ca.issue("broker%d-renewed" % b.id, "/O=samsa/CN=broker%d" % b.id, server=True)[0]
        with open(fresh) as f, open(pem + ".tmp", "w") as out:
            out.write(f.read())
        os.replace(pem + ".tmp", pem)
        wait_for(lambda: self.ctl_exchange(b, heartbeat, tls=ctx)[2] != serial, 15,
                 "the renewed certificate on the control plane")
        self.assertEqual(self.ctl_exchange(b, heartbeat, tls=ctx)[0], 8)
        self.assertIn("TLS material reloaded from %s" % pem, b.log_text())
        # nothing changed: no controller epoch taken from the usurper, the replica still there
        # and in the ISR, and the real controller still obeyed (it moves a leadership below)
        self.assertNotIn("-> 1000000", b.log_text())
        self.assertTrue(os.path.isdir(os.path.join(b.log_dirs, "ctlguard-0")))
        self.assertEqual(sorted(self.cluster.state("ctlguard", 0)["isr"]), [0, 1, 2])

    def test_replication_over_mutual_tls_survives_a_leader_kill(self):
        self.create("ibtls", [0, 1, 2])
        self.cluster.wait_state("ibtls", 0, lambda s: sorted(s["isr"]) == [0, 1, 2], 60, "an ISR of 0, 1, 2")
        p = confluent_kafka.Producer({"bootstrap.servers": self.cluster.bootstrap, "acks": "all"})
        values = [b"tls-replicated-%03d" % i for i in range(100)]
        for v in values:
            p.produce("ibtls", value=v, partition=0)
        self.assertEqual(p.flush(30), 0)
        # acks=all answered: every replica's log has every record (sent to it over TLS)
        for b in self.cluster.brokers[:3]:
            wait_for(lambda: all(v in self.segment_bytes(b, "ibtls") for v in values), 30,
                     "broker %d's log to hold the records" % b.id)
        leader = self.cluster.state("ibtls", 0)["leader"]
        for b in self.cluster.brokers[:3]:
            if b.id != leader:
                self.assertIn("connected to leader %d at 127.0.0.1:%d (TLS)" % (leader, self.cluster.brokers[leader].ssl_port),
                              b.log_text())
        # the followers came as their certificates' principals (super users): nothing denied
        self.assertNotIn("principal User:CN=broker", self.cluster.brokers[leader].log_text())
        self.cluster.kill9(leader)
        st = self.cluster.wait_state("ibtls", 0, lambda s: s["leader"] not in (leader, -1), 60, "a new leader")
        survivor = self.cluster.brokers[st["leader"]]
        # its leadership came from the controller over the control plane's TLS
        self.assertIn("over mutual TLS as CN=broker", survivor.log_text())
        r = kcat("-b", survivor.bootstrap, "-C", "-t", "ibtls", "-p", "0", "-o", "beginning", "-e", "-f", "%s\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), values)
        # a controlled shutdown asks the controller over the inter-broker listener's TLS too:
        # the survivor's leadership moves to the other replica before it stops
        self.cluster.stop_broker(survivor.id)
        self.assertIn("done: this broker leads no partition", survivor.log_text())
        self.assertNotIn(survivor.id, self.cluster.state("ibtls", 0)["isr"])

    def test_untrusting_follower_never_joins_the_isr_and_says_why(self):
        b3 = self.cluster.brokers[3]
        # a controller among the others first: broker 3 trusts no one, so were it to win an
        # election (the earlier tests stop and restart brokers) no leader could be told anything
        others = [i for i in self.cluster.live_ids() if i != 3]
        wait_for(lambda: self.cluster.controller() in others, 30, "a controller other than broker 3")
        b3.start()
        b3.wait_ready()
        lead = min(i for i in self.cluster.live_ids() if i != 3)  # the other test stops two
        self.create("untrusted", [lead, 3])
        # (its control-plane listener refuses the controller's certificate too: the fetcher's
        # own line names the leader's SSL port)
        to_leader = "TLS with 127.0.0.1:%d failed" % self.cluster.brokers[lead].ssl_port

        def fetch_refusals():
            return sum(1 for ln in b3.log_text().splitlines() if to_leader in ln and "certificate verify failed" in ln)
        wait_for(lambda: fetch_refusals() > 0, 30, "broker 3 to log why it cannot fetch")
        # created with both in the ISR, the leader drops broker 3 once it lags replica.lag.time.max.ms
        self.cluster.wait_state("untrusted", 0, lambda s: s["leader"] == lead and s["isr"] == [lead], 30,
                                "an ISR of the leader alone")
        p = confluent_kafka.Producer({"bootstrap.servers": self.cluster.brokers[lead].bootstrap, "acks": "1"})
        p.produce("untrusted", value=b"only-on-the-leader", partition=0)
        self.assertEqual(p.flush(30), 0)
        n = fetch_refusals()
        wait_for(lambda: fetch_refusals() > n, 30, "broker 3 to try again")
        self.assertEqual(self.cluster.state("untrusted", 0)["isr"], [lead])
        self.assertNotIn(b"only-on-the-leader", self.segment_bytes(b3, "untrusted"))


class TestBadTlsConfig(unittest.TestCase):
    def start_fails(self, extra, words):
        work = WorkDir(self, prefix="samsa-kbtls-bad-")
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
        two = "PLAINTEXT://127.0.0.1:%d,SSL://127.0.0.1:%d" % (free_port(), free_port())
        self.start_fails({"listeners": two}, ["ssl.keystore.location"])
        self.start_fails({"listeners": two, "ssl.keystore.location": "/nonexistent/k.pem"}, ["/nonexistent/k.pem"])
        self.start_fails({"listeners": two, "ssl.keystore.type": "JKS", "ssl.keystore.location": "/x/k.jks"},
                         ["ssl.keystore.type", "PEM"])
        self.start_fails({"listeners": two, "ssl.keystore.location": "/x/k.pem", "ssl.client.auth": "required"},
                         ["ssl.truststore"])
        self.start_fails({"listeners": "SASL_PLAINTEXT://127.0.0.1:%d" % free_port(),
                          "inter.broker.listener.name": "SASL_PLAINTEXT"}, ["inter-broker SASL", "SASL_PLAINTEXT",
                                                                           "over SASL_SSL only"])
        self.start_fails({"listeners": two, "ssl.keystore.location": "/x/k.pem",
                          "ssl.endpoint.identification.algorithm": "bogus"},
                         ["ssl.endpoint.identification.algorithm", "bogus"])
        self.start_fails({"listeners": "SSL://127.0.0.1:%d" % free_port(), "ssl.keystore.location": "/x/k.pem"},
                         ["security.inter.broker.protocol PLAINTEXT"])
        self.start_fails({"listeners": "CLIENT://127.0.0.1:%d" % free_port()},
                         ["listener.security.protocol.map"])


if __name__ == "__main__":
    unittest.main()
