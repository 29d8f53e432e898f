"""The coordinator's promises, with real clients (kazoo from python3-kazoo, and the raw jute
client for what kazoo hides): session expiry removes ephemerals, an expired session is told so
at reconnect, setWatches re-arms watches after a reconnect and fires what was missed, a client
ahead of the server is refused, timeouts are negotiated, four-letter words, bad input never hurts
the server, and state survives a restart. SAMSA_ZK_TARGET=real runs it against ZooKeeper 3.8."""
import os
import socket
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkharness  # noqa: E402
from samsatest.wait import wait_for  # noqa: E402
from jute_client import RawClient, ustring  # noqa: E402
from kazoo.client import KazooClient  # noqa: E402

FAST = {"tickTime": "500"}  # sessions may then time out after 1 s


class KazooTest(unittest.TestCase):
    def setUp(self):
        self.srv = zkharness.start_target(self, FAST)

    def client(self, **kw):
        zk = KazooClient(hosts=self.srv.hosts, timeout=kw.pop("timeout", 10), **kw)
        zk.start(timeout=15)
        self.addCleanup(zk.close)
        self.addCleanup(zk.stop)
        return zk

    def alive(self):
        zk = KazooClient(hosts=self.srv.hosts, timeout=5)
        zk.start(timeout=10)
        try:
            return "zookeeper" in zk.get_children("/")
        finally:
            zk.stop()
            zk.close()

    def test_expiry_removes_ephemerals_and_reconnect_is_refused(self):
        raw = RawClient(self.srv.port, timeout_ms=1000)
        self.addCleanup(raw.close)
        self.assertEqual(raw.timeout, 1000)
        self.assertEqual(raw.create("/eph", b"x", flags=1)[0], 0)
        zk = self.client()
        self.assertIsNotNone(zk.exists("/eph"))
        # the raw client now stays silent: no pings, so the session must expire
        wait_for(lambda: zk.exists("/eph") is None, 15, "the ephemeral to go with its session")
        # the server closed the expired session's connection
        raw.sock.settimeout(5)
        self.assertRaises((ConnectionError, OSError), raw.recv_frame)
        again = RawClient(self.srv.port, timeout_ms=1000, session_id=raw.session_id, passwd=raw.passwd)
        self.addCleanup(again.close)
        self.assertEqual((again.timeout, again.session_id), (0, 0), "expired session was accepted")

    def test_close_removes_ephemerals_and_wrong_password_is_refused(self):
        raw = RawClient(self.srv.port, timeout_ms=10000)
        self.assertEqual(raw.create("/e2", b"", flags=3)[0], 0)
        # (ZooKeeper drops the session's live connection on any reconnect attempt, even with a
        # wrong password; samsa does not. So the wrong password is tried on another session.)
        other = RawClient(self.srv.port, timeout_ms=10000)
        self.addCleanup(other.close)
        bad = RawClient(self.srv.port, session_id=other.session_id, passwd=b"x" * 16)
        self.addCleanup(bad.close)
        self.assertEqual(bad.session_id, 0, "wrong password accepted")
        self.assertEqual(raw.close_session(), 0)
        zk = self.client()
        self.assertEqual(zk.get_children("/"), ["zookeeper"])
        other.close()

    def test_session_moves_to_a_new_connection(self):
        a = RawClient(self.srv.port, timeout_ms=10000)
        self.addCleanup(a.close)
        self.assertEqual(a.create("/moved", b"", flags=1)[0], 0)
        b = RawClient(self.srv.port, timeout_ms=10000, session_id=a.session_id, passwd=a.passwd,
                      last_zxid=0)
        self.addCleanup(b.close)
        self.assertEqual(b.session_id, a.session_id)
        self.assertEqual(b.exists("/moved")[0], 0)
        self.assertEqual(b.ephemerals("/")[1], ["/moved"])

    def test_set_watches_after_reconnect(self):
        zk = self.client()
        zk.create("/sw", b"0")
        zk.create("/sw2", b"0")
        a = RawClient(self.srv.port, timeout_ms=10000)
        err, data, st = a.get_data("/sw", watch=True)
        self.assertEqual(err, 0)
        last = a.exists("/sw2")[1]["mzxid"]  # the client has seen both nodes as they are
        a.close()  # disconnected; the session lives on
        zk.set("/sw", b"1")  # missed while disconnected
        b = RawClient(self.srv.port, timeout_ms=10000, session_id=a.session_id, passwd=a.passwd,
                      last_zxid=last)
        self.addCleanup(b.close)
        self.assertEqual(b.session_id, a.session_id)
        body = struct.pack(">q", last)
        for lst in (["/sw", "/sw2"], [], []):
            body += struct.pack(">i", len(lst)) + b"".join(ustring(p) for p in lst)
        self.assertEqual(b.call(101, body)[0], 0)
        b.ping()
        self.assertIn((3, 3, "/sw"), b.events, "missed change not reported")
        zk.set("/sw2", b"1")
        self.assertEqual(b.wait_event(), (3, 3, "/sw2"))

    def test_client_ahead_of_server_is_refused(self):
        self.client().create("/z", b"")
        with self.assertRaises((ConnectionError, OSError, struct.error)):
            RawClient(self.srv.port, last_zxid=1 << 40)
        self.assertTrue(self.alive())

    def test_timeout_negotiation(self):
        lo = RawClient(self.srv.port, timeout_ms=10)
        hi = RawClient(self.srv.port, timeout_ms=10 ** 7)
        self.addCleanup(lo.close)
        self.addCleanup(hi.close)
        self.assertEqual(lo.timeout, 1000)   # 2 ticks
        self.assertEqual(hi.timeout, 10000)  # 20 ticks

    def test_four_letter_words(self):
        p = self.srv.port
        self.client().create("/fl", b"")
        self.assertEqual(zkharness.four_letter(p, "ruok"), "imok")
        self.assertEqual(zkharness.four_letter(p, "isro"), "rw")
        self.assertIn("Mode: standalone", zkharness.four_letter(p, "srvr"))
        self.assertIn("Zxid: 0x", zkharness.four_letter(p, "srvr"))
        self.assertIn("Clients:", zkharness.four_letter(p, "stat"))
        mntr = dict(line.split("\t", 1) for line in zkharness.four_letter(p, "mntr").splitlines() if "\t" in line)
        self.assertEqual(mntr["zk_server_state"], "standalone")
        self.assertGreaterEqual(int(mntr["zk_znode_count"]), 5)
        self.assertIn("clientPort=%d" % p, zkharness.four_letter(p, "conf"))
        self.assertIn("sid=0x", zkharness.four_letter(p, "cons"))
        self.assertRegex(zkharness.four_letter(p, "wchs"), r"\d+ connections watching \d+ paths\nTotal watches:\d+")

    def test_bad_input_never_hurts(self):
        port = self.srv.port
        zk = self.client()
        zk.create("/keep", b"v")

        def closed_after(payload, expect_reply=False):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            try:
                s.sendall(payload)
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        return data
                    data += chunk
            except ConnectionResetError:
                return b""
            finally:
                s.close()

        # a length over jute.maxbuffer: closed before anything is read or allocated
        self.assertEqual(closed_after(struct.pack(">i", 0x7ffffff0) + b"x" * 100), b"")
        # a negative length
        self.assertEqual(closed_after(struct.pack(">i", -5) + b"x" * 10), b"")
        # a request before the handshake (a getData frame where the ConnectRequest belongs)
        self.assertEqual(closed_after(struct.pack(">i", 14) + struct.pack(">ii", 1, 4) + ustring("/k") +
                                      b"\0" * 0), b"")
        # a truncated request after the handshake: ZooKeeper's MarshallingError, and the
        # connection goes on serving
        raw = RawClient(port)
        raw.send_frame(struct.pack(">ii", 1, 4) + struct.pack(">i", 50) + b"/ke")
        xid, _zxid, err = struct.unpack(">iqi", raw.recv_frame()[:16])
        self.assertEqual((xid, err), (1, -5))
        self.assertEqual(raw.get_data("/keep")[1], b"v")
        raw.close()
        # an unknown opcode: an error reply, then the connection is closed
        raw = RawClient(port)
        err, _zxid, _r = raw.call(999, b"")
        self.assertEqual(err, -6)  # ZUNIMPLEMENTED
        self.assertRaises((ConnectionError, OSError), raw.recv_frame)
        raw.close()
        # a path that is not a ZooKeeper path
        raw = RawClient(port)
        self.assertEqual(raw.create("no/slash", b"")[0], -101)
        self.assertEqual(raw.create("/a//b", b"")[0], -101)
        self.assertEqual(raw.create("/dot/.", b"")[0], -101)
        self.assertEqual(raw.set_data("/keep/../keep", b"x")[0], -8)
        raw.close()
        # and the tree is untouched, the server still serves
        self.assertEqual(zk.get("/keep")[0], b"v")
        self.assertTrue(self.alive())

    def test_state_survives_restart(self):
        zk = self.client()
        zk.create("/p/q", b"durable", makepath=True)
        zk.set("/p/q", b"durable2")
        before = zk.exists("/p/q")
        zk.stop()
        self.srv.stop()
        self.srv.start()
        zk2 = self.client()
        data, st = zk2.get("/p/q")
        self.assertEqual(data, b"durable2")
        self.assertEqual(st, before)
        self.assertGreater(zk2.create("/after", b"", include_data=True)[1].czxid, before.mzxid)


class ContainerTest(unittest.TestCase):
    def test_empty_container_is_reaped(self):
        srv = zkharness.start_target(self, {"znode.container.checkIntervalMs": "200"})
        raw = RawClient(srv.port)
        self.addCleanup(raw.close)
        self.assertEqual(raw.create("/box", b"", op=19, flags=4)[0], 0)
        self.assertEqual(raw.create("/never", b"", op=19, flags=4)[0], 0)
        self.assertEqual(raw.create("/box/item", b"")[0], 0)
        self.assertEqual(raw.delete("/box/item"), 0)
        # the reaper deletes a container that had children and has none left ...
        wait_for(lambda: raw.exists("/box")[0] == -101, 15, "the empty container to be removed")
        # ... but not one that never had a child
        self.assertEqual(raw.exists("/never")[0], 0)


class WhitelistTest(unittest.TestCase):
    def test_word_outside_whitelist(self):
        srv = zkharness.start_target(self, {"4lw.commands.whitelist": "ruok,srvr"})
        self.assertEqual(zkharness.four_letter(srv.port, "ruok"), "imok")
        self.assertEqual(zkharness.four_letter(srv.port, "mntr"),
                         "mntr is not executed because it is not in the whitelist.\n")


if __name__ == "__main__":
    unittest.main()
