"""The broker's coordinator session over TLS (zookeeper.ssl.client.enable=true, Kafka's
zookeeper.ssl.* keys, KIP-515), through the broker's in-process bridge (broker/zk/kb_zktls):
a samsa-coord serving only a secureClientPort (no plaintext client port, ssl.clientAuth=need,
the x509 scheme) and a broker with its own certificate registers (/brokers/ids/0 seen with
kazoo over TLS), serves kcat's produce and consume, and the coordinator logs the broker's
certificate subject as its x509 principal; a connection to the bridge's loopback port from
another process is refused (closed, logged) while the broker stays registered; a stopping broker's session is closed through the bridge
(its registration goes at once); a broker whose
truststore does not trust the coordinator's certificate stops at start with a message naming
the refusal, not a hang; bad zookeeper.ssl.* settings are refused at start naming the key."""
import os
import re
import socket
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from samsatest import kb, zk  # noqa: E402
from samsatest.certs import CA  # noqa: E402
from samsatest.daemon import Daemon  # noqa: E402
from samsatest.ports import free_port  # noqa: E402
from samsatest.wait import wait_for  # noqa: E402
from samsatest.workdir import SharedFixtureTest, WorkDir  # noqa: E402
from kazoo.client import KazooClient  # noqa: E402

BROKER_SUBJECT = "CN=broker0,OU=kafka,O=samsa"


class _Cluster:
    """What kb.Broker needs of a cluster: a directory and the connect string."""

    def __init__(self, d, connect):
        self.dir = d
        self.zk_connect = connect


def tls_listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        return True
    except OSError:
        return False


class BrokerZkTlsTest(SharedFixtureTest):
    @classmethod
    def setUpClass(cls):
        fx = cls.fixture()
        cls.work = WorkDir(fx, prefix="samsa-kbzktls-")
        d = cls.work.path
        cls.ca = CA(os.path.join(d, "certs"))
        cls.server_pem, _, _ = cls.ca.issue("server", "/O=samsa/CN=localhost", server=True)
        cls.broker_pem, cls.broker_crt, cls.broker_key = cls.ca.issue("broker0", "/O=samsa/OU=kafka/CN=broker0")
        cls.other_ca = CA(os.path.join(d, "other-certs"), name="other-ca")
        # the coordinator: only a TLS client port
        zkdir = os.path.join(d, "zk")
        os.makedirs(zkdir)
        cls.secure_port = free_port()
        props = zk.write_props(os.path.join(zkdir, "zookeeper.properties"), {
            "tickTime": "2000",
            "dataDir": os.path.join(zkdir, "data"),
            "secureClientPort": str(cls.secure_port),
            "secureClientPortAddress": "127.0.0.1",
            "ssl.keyStore.location": cls.server_pem,
            "ssl.keyStore.type": "PEM",
            "ssl.trustStore.location": cls.ca.crt,
            "ssl.trustStore.type": "PEM",
            "ssl.clientAuth": "need",
            "authProvider.x509": "org.apache.zookeeper.server.auth.X509AuthenticationProvider",
        })
        cls.zk = Daemon("samsa-coord", [zk.COORD, props], zkdir, os.path.join(zkdir, "samsa.out"),
                        dict(os.environ, LOG_DIR=os.path.join(zkdir, "logs")),
                        [os.path.join(zkdir, "logs", "server.log")])
        fx.addCleanup(cls.zk.stop)
        cls.zk.start()
        wait_for(lambda: cls.zk.check_running("listening") or tls_listening(cls.secure_port), 30,
                 "the coordinator's secure client port")
        cls.connect = "localhost:%d/kafka" % cls.secure_port
        cls.broker = kb.Broker(_Cluster(d, cls.connect), 0, cls.tls_keys(cls.ca.crt))
        fx.addCleanup(cls.broker.stop)
        cls.broker.start()
        cls.broker.wait_ready()
        fx.ready()

    @classmethod
    def tls_keys(cls, truststore):
        return {
            "zookeeper.ssl.client.enable": "true",
            "zookeeper.clientCnxnSocket": "org.apache.zookeeper.ClientCnxnSocketNetty",
            "zookeeper.ssl.keystore.location": cls.broker_pem,
            "zookeeper.ssl.keystore.type": "PEM",
            "zookeeper.ssl.truststore.location": truststore,
            "zookeeper.ssl.truststore.type": "PEM",
        }

    def kazoo(self):
        z = KazooClient(hosts="127.0.0.1:%d" % self.secure_port, timeout=10, use_ssl=True, ca=self.ca.crt,
                        verify_certs=True, certfile=self.broker_crt, keyfile=self.broker_key,
                        connection_retry={"max_tries": 1})
        self.addCleanup(z.close)
        self.addCleanup(z.stop)
        z.start(timeout=15)
        return z

    def coord_log(self):
        with open(self.zk.logs[0], errors="replace") as f:
            return f.read()

    def test_registers_over_tls_with_its_x509_identity(self):
        z = self.kazoo()
        self.assertIsNotNone(z.exists("/kafka/brokers/ids/0"))
        data, _ = z.get("/kafka/brokers/ids/0")
        self.assertIn(b'"port":%d' % self.broker.port, data.replace(b" ", b""))
        # the coordinator authenticated the broker's session by its certificate
        wait_for(lambda: re.search(r"x509 authenticated 127\.0\.0\.1:\d+ as %s" % re.escape(BROKER_SUBJECT),
                                   self.coord_log()),
                 10, "the coordinator's x509 log line for the broker")
        log = self.broker.log_text()
        self.assertRegex(log, r"coordinator localhost:%d over TLS through 127\.0\.0\.1:\d+" % self.secure_port)

    def test_kcat_produces_and_consumes(self):
        bs = self.broker.bootstrap
        p = subprocess.run(["kcat", "-b", bs, "-t", "zktls", "-P", "-K:"], input=b"k1:v1\nk2:v2\n",
                           capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        c = subprocess.run(["kcat", "-b", bs, "-t", "zktls", "-C", "-o", "beginning", "-e", "-f", "%k=%s\n"],
                           capture_output=True, timeout=30)
        self.assertEqual(c.returncode, 0, c.stderr)
        self.assertEqual(c.stdout.decode().split(), ["k1=v1", "k2=v2"])

    def test_bridge_refuses_another_process(self):
        m = re.search(r"over TLS through 127\.0\.0\.1:(\d+)", self.broker.log_text())
        self.assertIsNotNone(m)
        port = int(m.group(1))
        s = socket.create_connection(("127.0.0.1", port), 5)
        self.addCleanup(s.close)
        s.settimeout(10)
        # a ZooKeeper ConnectRequest would follow; the bridge closes first, forwarding nothing
        try:
            got = s.recv(100)
        except ConnectionResetError:
            got = b""
        self.assertEqual(got, b"")
        wait_for(lambda: "refused a connection to the coordinator bridge (port %d)" % port in self.broker.log_text(),
                 10, "the broker's refusal log line")
        self.broker.check_running("after the refusal")
        self.assertIsNotNone(self.kazoo().exists("/kafka/brokers/ids/0"))

    def test_stop_closes_the_session_through_the_bridge(self):
        # the close-session request is written to the loopback socket as the client closes;
        # the bridge forwards it before it goes, so the registration goes at once (well within
        # the 6 s session timeout it would otherwise take)
        b = kb.Broker(_Cluster(self.work.path, self.connect), 2, self.tls_keys(self.ca.crt))
        self.addCleanup(b.stop)
        b.start()
        z = self.kazoo()
        wait_for(lambda: z.exists("/kafka/brokers/ids/2"), 30, "broker 2 to register")
        b.stop()
        wait_for(lambda: z.exists("/kafka/brokers/ids/2") is None, 4, "broker 2's registration to go")

    def test_untrusted_coordinator_stops_the_broker_at_start(self):
        b = kb.Broker(_Cluster(self.work.path, self.connect), 1, self.tls_keys(self.other_ca.crt))
        self.addCleanup(b.stop, check=False)
        b.start()
        rc = b.proc.wait(timeout=30)
        self.assertNotEqual(rc, 0)
        out = b.out_text()
        self.assertIn("the coordinator localhost:%d's certificate was refused" % self.secure_port, out)
        self.assertIn("zookeeper.ssl.truststore.location", out)

    def test_bad_settings_refused_at_start_naming_the_key(self):
        for i, (key, value) in enumerate([("zookeeper.ssl.keystore.type", "JKS"),
                                          ("zookeeper.ssl.endpoint.identification.algorithm", "LDAPS"),
                                          ("zookeeper.ssl.enabled.protocols", "TLSv1.1")]):
            keys = dict(self.tls_keys(self.ca.crt), **{key: value})
            b = kb.Broker(_Cluster(self.work.path, self.connect), 10 + i, keys)
            self.addCleanup(b.stop, check=False)
            b.start()
            self.assertNotEqual(b.proc.wait(timeout=30), 0)
            self.assertIn("'%s'" % key, b.out_text())


if __name__ == "__main__":
    unittest.main()
