"""The coordinator's secureClientPort (ZooKeeper's TLS keys, PEM stores): kazoo with use_ssl=True
verifying the server against the CA and showing a client certificate; the x509 scheme (a
client's certificate subject is its identity, and an x509 ACL admits it and refuses another);
ssl.clientAuth=need refusing a client without a certificate or with an untrusted one; a
plaintext client on the TLS port failing cleanly while the server goes on serving; certificates
reloaded without a restart; zkCli.sh (ZooKeeper's own Java client over Netty) over TLS; bad TLS
settings refused at start with a message naming the key. SAMSA_ZK_TARGET=real runs the client
side against ZooKeeper 3.8 (Netty, the same keys)."""
import os
import socket
import ssl
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkharness  # noqa: E402
from samsatest.certs import CA  # noqa: E402
from samsatest.ports import free_port  # noqa: E402
from samsatest.wait import wait_for  # noqa: E402
from samsatest.workdir import WorkDir  # noqa: E402
from kazoo.client import KazooClient  # noqa: E402
from kazoo.exceptions import NoAuthError  # noqa: E402
from kazoo.security import make_acl  # noqa: E402

ZKCLI_CLASSPATH = ":".join("/usr/share/java/%s.jar" % j for j in (
    "zookeeper", "netty-resolver", "netty-codec", "log4j-1.2", "slf4j-log4j12"))


class TlsCase(unittest.TestCase):
    """One server with a plaintext and a TLS client port, certificates from a test CA."""

    client_auth = "need"

    def setUp(self):
        self.work = WorkDir(self, prefix="samsa-zktls-")
        self.certs = os.path.join(self.work.path, "certs")
        self.ca = CA(self.certs)
        self.server_pem, _, _ = self.ca.issue("server", "/O=samsa/CN=localhost", server=True)
        self.alice = self.ca.issue("alice", "/O=samsa/OU=test/CN=alice")
        self.bob = self.ca.issue("bob", "/O=samsa/CN=bob")
        self.secure_port = free_port()
        extra = {
            "secureClientPort": str(self.secure_port),
            "ssl.keyStore.location": self.server_pem,
            "ssl.keyStore.type": "PEM",
            "ssl.trustStore.location": self.ca.crt,
            "ssl.trustStore.type": "PEM",
            "ssl.clientAuth": self.client_auth,
            "authProvider.x509": "org.apache.zookeeper.server.auth.X509AuthenticationProvider",
        }
        if zkharness.target() == "real":
            extra["serverCnxnFactory"] = "org.apache.zookeeper.server.NettyServerCnxnFactory"
            srv = zkharness.real_server(self.work.path, extra)
        else:
            srv = zkharness.samsa_server(self.work.path, extra)
        self.addCleanup(srv.stop)
        self.srv = srv.start()
        self.tls_hosts = "127.0.0.1:%d" % self.secure_port
        wait_for(self._tls_listening, 30, "the secure client port to listen")

    def _tls_listening(self):
        try:
            socket.create_connection(("127.0.0.1", self.secure_port), 1).close()
            return True
        except OSError:
            return False

    def kazoo(self, cert=None, **kw):
        args = dict(use_ssl=True, ca=self.ca.crt, verify_certs=True)
        if cert:
            args.update(certfile=cert[1], keyfile=cert[2])
        args.update(kw)
        zk = KazooClient(hosts=self.tls_hosts, timeout=10, connection_retry={"max_tries": 1}, **args)
        self.addCleanup(zk.close)
        self.addCleanup(zk.stop)
        return zk

    def handshake(self, cert=None):
        """A raw TLS handshake from Python's ssl (what kazoo uses); returns the server's
        certificate subject, or raises."""
        ctx = ssl.create_default_context(cafile=self.ca.crt)
        if cert:
            ctx.load_cert_chain(cert[1], cert[2])
        with socket.create_connection(("127.0.0.1", self.secure_port), 5) as s:
            with ctx.wrap_socket(s, server_hostname="localhost") as t:
                # TLS 1.3 reports a refused client certificate only on the first read
                t.settimeout(5)
                t.sendall(b"\x00\x00\x00\x04ruok"[4:])  # "ruok" as a four-letter word
                t.recv(16)
                return dict(x[0] for x in t.getpeercert()["subject"])


class TestSecureClientPort(TlsCase):
    def test_kazoo_over_tls_with_x509_identity_and_acl(self):
        alice = self.kazoo(self.alice)
        alice.start(timeout=15)
        alice.create("/tls", b"over tls")
        self.assertEqual(alice.get("/tls")[0], b"over tls")
        # the x509 scheme: ACL for alice's certificate subject only (RFC 2253, most specific first)
        subject = "CN=alice,OU=test,O=samsa"
        alice.create("/alice-only", b"secret", acl=[make_acl("x509", subject, all=True)])
        self.assertEqual(alice.get("/alice-only")[0], b"secret")
        acl, _ = alice.get_acls("/alice-only")
        self.assertEqual([(a.id.scheme, a.id.id) for a in acl], [("x509", subject)])
        bob = self.kazoo(self.bob)
        bob.start(timeout=15)
        self.assertRaises(NoAuthError, bob.get, "/alice-only")
        # the plaintext port serves the same tree
        plain = KazooClient(hosts=self.srv.hosts, timeout=10)
        plain.start(timeout=15)
        self.addCleanup(plain.close)
        self.addCleanup(plain.stop)
        self.assertEqual(plain.get("/tls")[0], b"over tls")
        self.assertRaises(NoAuthError, plain.get, "/alice-only")

    def test_refused_clients_fail_cleanly_and_the_server_goes_on(self):
        # no client certificate while ssl.clientAuth=need
        self.assertRaises((ssl.SSLError, ConnectionError, OSError), self.handshake)
        # a certificate from a CA the server does not trust
        other = CA(os.path.join(self.work.path, "other"), "untrusted-ca")
        mallory = other.issue("mallory", "/O=evil/CN=mallory")
        self.assertRaises((ssl.SSLError, ConnectionError, OSError), self.handshake, mallory)
        # a plaintext ZooKeeper client on the TLS port: the connection just ends
        with socket.create_connection(("127.0.0.1", self.secure_port), 5) as s:
            s.settimeout(5)
            s.sendall(b"\x00\x00\x00\x2c" + b"\x00" * 44)
            try:
                data = s.recv(4096)
            except ConnectionResetError:
                data = b""
            self.assertFalse(data.startswith(b"\x00\x00\x00"), "a plaintext client got a ZooKeeper answer")
        # and a trusted client still gets in, on both ports
        self.assertEqual(self.handshake(self.alice)["commonName"], "localhost")
        zk = self.kazoo(self.alice)
        zk.start(timeout=15)
        self.assertIn("zookeeper", zk.get_children("/"))
        if self.srv.kind == "samsa":
            log = self.srv.log_text()
            self.assertIn("TLS with 127.0.0.1:", log)

    def zkcli(self, *args):
        # ZooKeeperMain, which zkCli.sh runs, with the Netty jars the secure client needs
        # (Debian's zkCli.sh classpath lacks netty-resolver and netty-codec) and its TLS keys
        argv = ["java", "-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty",
                "-Dzookeeper.client.secure=true",
                "-Dzookeeper.ssl.keyStore.location=%s" % self.alice[0],
                "-Dzookeeper.ssl.keyStore.type=PEM",
                "-Dzookeeper.ssl.trustStore.location=%s" % self.ca.crt,
                "-Dzookeeper.ssl.trustStore.type=PEM",
                "-cp", ZKCLI_CLASSPATH, "org.apache.zookeeper.ZooKeeperMain", "-server", self.tls_hosts]
        return subprocess.run(argv + list(args), cwd=self.work.path, capture_output=True, text=True,
                              timeout=90)

    @unittest.skipUnless(os.path.exists("/usr/share/java/zookeeper.jar"), "zookeeper package missing")
    def test_zkcli_over_tls(self):
        out = self.zkcli("create", "/from-zkcli", "hello")
        self.assertIn("Created /from-zkcli", out.stdout + out.stderr, out.stdout + out.stderr)
        out = self.zkcli("get", "/from-zkcli")
        self.assertIn("hello", out.stdout.splitlines(), out.stdout + out.stderr)
        out = self.zkcli("getAcl", "/from-zkcli")
        self.assertIn("'world,'anyone", out.stdout, out.stdout + out.stderr)


class TestReload(TlsCase):
    client_auth = "want"

    def test_certificates_reload_without_a_restart(self):
        if self.srv.kind != "samsa":
            self.skipTest("ZooKeeper 3.8 reloads only with a file watcher of its own")
        # want: a client without a certificate gets in (and has no x509 identity)
        self.assertEqual(self.handshake()["commonName"], "localhost")
        pid = self.srv.pid
        # a new server certificate written over the old file (as cert rotation does)
        fresh, _, _ = self.ca.issue("server2", "/O=samsa/CN=localhost/OU=rotated", server=True)
        tmp = self.server_pem + ".tmp"
        with open(fresh) as f, open(tmp, "w") as out:
            out.write(f.read())
        os.replace(tmp, self.server_pem)
        wait_for(lambda: self.handshake().get("organizationalUnitName") == "rotated", 15,
                 "the rotated certificate to be served")
        self.assertEqual(self.srv.pid, pid)
        zk = self.kazoo(self.alice)
        zk.start(timeout=15)
        self.assertIn("zookeeper", zk.get_children("/"))
        self.assertIn("TLS material reloaded", self.srv.log_text())
        # a broken file is refused and the good material kept
        with open(tmp, "w") as out:
            out.write("not a certificate\n")
        os.replace(tmp, self.server_pem)
        # (the files are looked at when a client connects, at most once a second)
        wait_for(lambda: self.handshake() and "reloading the TLS material failed" in self.srv.log_text(), 15,
                 "the broken certificate to be refused")
        self.assertEqual(self.handshake().get("organizationalUnitName"), "rotated")


class TestBadTlsConfig(unittest.TestCase):
    def start_fails(self, extra, words):
        if zkharness.target() == "real":
            self.skipTest("samsa's messages")
        work = WorkDir(self, prefix="samsa-zktls-bad-")
        zkharness.samsa_server(work.path, extra)  # writes zookeeper.properties; not started
        proc = subprocess.run([zkharness.COORD, os.path.join(work.path, "zookeeper.properties")],
                              capture_output=True, text=True, timeout=30,
                              env=dict(os.environ, LOG_DIR=os.path.join(work.path, "logs")))
        self.assertNotEqual(proc.returncode, 0)
        for w in words:
            self.assertIn(w, proc.stderr + proc.stdout)

    def test_bad_settings_are_refused_at_start(self):
        port = str(free_port())
        self.start_fails({"secureClientPort": port}, ["ssl.keyStore.location"])
        self.start_fails({"secureClientPort": port, "ssl.keyStore.location": "/nonexistent/k.pem",
                          "ssl.clientAuth": "none"}, ["/nonexistent/k.pem"])
        self.start_fails({"secureClientPort": port, "ssl.keyStore.location": "/x/keystore.jks",
                          "ssl.keyStore.type": "JKS"}, ["ssl.keyStore.type", "PEM"])
        self.start_fails({"secureClientPort": port, "ssl.keyStore.location": "/x/k.pem",
                          "ssl.clientAuth": "maybe"}, ["ssl.clientAuth"])


if __name__ == "__main__":
    unittest.main()
