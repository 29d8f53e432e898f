"""TLS between the coordinator's servers (ZooKeeper's sslQuorum and ssl.quorum.* keys, PEM stores):
three servers whose peer links are TLS with certificates from one CA; server 3 first shows a
certificate from a CA the others do not trust, so it is refused (and the refusal is logged) while
servers 1 and 2 form a quorum and commit writes; given a trusted certificate it joins and catches
up. A trusted certificate that does not name the server's host is refused too
(ssl.quorum.hostnameVerification), and bad quorum TLS settings stop the start."""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from samsatest import ensemble  # noqa: E402
from samsatest.certs import CA  # noqa: E402
from samsatest.wait import wait_for  # noqa: E402
from samsatest.workdir import WorkDir  # noqa: E402
from samsatest.zk import COORD, target as zk_target  # noqa: E402
from kazoo.client import KazooClient  # noqa: E402


def append_props(path, props):
    with open(path, "a") as f:
        for k, v in props.items():
            f.write("%s=%s\n" % (k, v))


class TestQuorumTls(unittest.TestCase):
    def setUp(self):
        if zk_target() != "samsa":
            self.skipTest("samsa's quorum TLS (ZooKeeper's needs Netty and JVM properties)")
        self.work = WorkDir(self, prefix="samsa-qtls-")
        self.ca = CA(os.path.join(self.work.path, "ca"))
        self.evil = CA(os.path.join(self.work.path, "evil"), "untrusted-ca")

    def ensemble(self, certs, verify_host=True):
        ens = ensemble.Ensemble(3, kind="samsa", workdir=os.path.join(self.work.path, "ens"), extra={
            "sslQuorum": "true",
            "ssl.quorum.trustStore.location": self.ca.crt,
            "ssl.quorum.trustStore.type": "PEM",
            "ssl.quorum.hostnameVerification": "true" if verify_host else "false",
        })
        self.addCleanup(ens.close)
        for sid, pem in certs.items():
            append_props(ens[sid].cfg, {"ssl.quorum.keyStore.location": pem, "ssl.quorum.keyStore.type": "PEM"})
        return ens

    def kazoo(self, ens, sid):
        zk = KazooClient(hosts=ens[sid].hostport, timeout=10)
        zk.start(timeout=30)
        self.addCleanup(zk.close)
        self.addCleanup(zk.stop)
        return zk

    def test_an_untrusted_server_is_refused_and_a_trusted_one_joins(self):
        good = {sid: self.ca.issue("s%d" % sid, "/O=samsa/CN=localhost", server=True)[0] for sid in (1, 2, 3)}
        bad = self.evil.issue("s3-evil", "/O=evil/CN=localhost", server=True)[0]
        s3_pem = os.path.join(self.work.path, "s3-current.pem")
        with open(bad) as f, open(s3_pem, "w") as out:
            out.write(f.read())
        ens = self.ensemble({1: good[1], 2: good[2], 3: s3_pem})
        ens.start()
        ens.wait_serving([1, 2])
        zk = self.kazoo(ens, 1)
        zk.create("/over-tls", b"v1")
        self.assertEqual(self.kazoo(ens, 2).get("/over-tls")[0], b"v1")
        # server 3's certificate is not trusted: the others refuse its links, so it never joins
        wait_for(lambda: "TLS with 127.0.0.1:" in ens.log(1) + ens.log(2), 30,
                 "servers 1 or 2 to log refusing server 3's TLS")
        self.assertNotIn(ens.mode(3), ("leader", "follower"))
        zk.set("/over-tls", b"v2")
        # a trusted certificate: server 3 joins and catches up
        ens.stop(3)
        with open(good[3]) as f, open(s3_pem, "w") as out:
            out.write(f.read())
        ens.start(3)
        ens.wait_serving([1, 2, 3])
        self.assertEqual(self.kazoo(ens, 3).get("/over-tls")[0], b"v2")

    def test_a_trusted_certificate_for_another_host_is_refused(self):
        good = {sid: self.ca.issue("s%d" % sid, "/O=samsa/CN=localhost", server=True)[0] for sid in (1, 2)}
        # trusted, but naming only some other host: not server 3's (127.0.0.1)
        other = self.ca.issue("s3-other", "/O=samsa/CN=elsewhere.example")[0]
        ens = self.ensemble({1: good[1], 2: good[2], 3: other})
        ens.start()
        ens.wait_serving([1, 2])
        wait_for(lambda: "does not name" in ens.log(1) + ens.log(2) + ens.log(3), 30,
                 "a server to refuse the certificate that does not name server 3's host")
        self.assertNotIn(ens.mode(3), ("leader", "follower"))

    def test_bad_quorum_tls_settings_stop_the_start(self):
        work = os.path.join(self.work.path, "bad")
        os.makedirs(work)
        base = {"dataDir": os.path.join(work, "data"), "clientPort": "0", "sslQuorum": "true"}
        cases = [({}, "ssl.quorum.keyStore.location"),
                 ({"ssl.quorum.keyStore.location": "/x/k.pem", "ssl.quorum.trustStore.location": "/x/t.jks"},
                  "PEM"),
                 ({"sslQuorum": "perhaps"}, "sslQuorum")]
        for extra, word in cases:
            path = os.path.join(work, "zk.properties")
            with open(path, "w") as f:
                for k, v in dict(base, **extra).items():
                    f.write("%s=%s\n" % (k, v))
            proc = subprocess.run([COORD, path], capture_output=True, text=True, timeout=30,
                                  env=dict(os.environ, LOG_DIR=os.path.join(work, "logs")))
            self.assertNotEqual(proc.returncode, 0)
            self.assertIn(word, proc.stderr + proc.stdout)


if __name__ == "__main__":
    unittest.main()
