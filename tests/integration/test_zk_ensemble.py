"""The coordinator as an ensemble of 3 and 5 (server.N lines, myid), driven with kazoo: one
leader and followers in `srvr`/`mntr`; writes through any server are seen on every server;
`kill -9` of the leader keeps every acknowledged write, the client's session and its
ephemerals, and a new leader takes over; a restarted server catches up (from the log, or from
the leader's snapshot when it is too far behind); a minority does not serve; all servers end
with identical trees; everything survives a restart of the whole ensemble."""
import hashlib
import os
import re
import struct
import sys
import time
import unittest
import logging

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ensharness  # noqa: E402
import jute_client  # noqa: E402
import zkharness  # noqa: E402
from kazoo.client import KazooClient  # noqa: E402
from kazoo.retry import KazooRetry  # noqa: E402

logging.getLogger("kazoo").setLevel(logging.CRITICAL)


def client(hosts, timeout=6):
    retry = dict(max_tries=-1, delay=0.05, max_delay=0.3)
    zk = KazooClient(hosts=hosts, timeout=timeout, connection_retry=KazooRetry(**retry),
                     command_retry=KazooRetry(**retry))
    zk.start(20)
    return zk


def digest(ens, i):
    """sha256 over (path, data, version) of the whole tree as server i serves it."""
    zk = KazooClient(hosts="127.0.0.1:%d" % ens.client[i], timeout=10)
    zk.start(20)
    try:
        zk.sync("/")
        h = hashlib.sha256()
        stack = ["/"]
        n = 0
        while stack:
            p = stack.pop()
            data, st = zk.get(p)
            h.update(p.encode() + b"\0" + (data or b"") + b"\0%d" % st.version)
            n += 1
            for c in sorted(zk.get_children(p), reverse=True):
                stack.append((p if p != "/" else "") + "/" + c)
        return h.hexdigest(), n
    finally:
        zk.stop()
        zk.close()


class EnsembleTest(unittest.TestCase):
    def test_three_servers_replicate_and_fail_over(self):
        ens = ensharness.Ensemble(self, 3)
        ens.start_all()
        modes = ens.wait_serving()
        self.assertEqual(sorted(modes.values()), ["follower", "follower", "leader"])
        leader = ens.leader()
        mntr = zkharness.four_letter(ens.client[leader], "mntr")
        self.assertIn("zk_server_state\tleader", mntr)
        self.assertIn("zk_followers\t2", mntr)
        # writes through every server, read back on every server
        for i in ens.ids:
            zk = client("127.0.0.1:%d" % ens.client[i])
            zk.ensure_path("/via")
            zk.create("/via/s%d" % i, b"from %d" % i)
            zk.stop()
            zk.close()
        for i in ens.ids:
            zk = client("127.0.0.1:%d" % ens.client[i])
            zk.sync("/")
            self.assertEqual(sorted(zk.get_children("/via")), ["s1", "s2", "s3"])
            zk.stop()
            zk.close()
        # a session with an ephemeral, acknowledged writes, then kill -9 of the leader
        zk = client(ens.hosts())
        zk.create("/eph", b"e", ephemeral=True)
        sid = zk.client_id[0]
        acked = []
        for k in range(200):
            acked.append(zk.create("/via/w-", b"%d" % k, sequence=True))
        old = ens.leader()
        ens.kill9(old)
        for k in range(200, 300):  # a create cut by the failover is retried (its outcome is unknown)
            acked.append(zk.retry(zk.create, "/via/w-", b"%d" % k, sequence=True))
        new = ens.leader()
        self.assertIsNotNone(new)
        self.assertNotEqual(new, old)
        self.assertEqual(zk.client_id[0], sid)
        self.assertIsNotNone(zk.exists("/eph"))
        self.assertIn("won the election", ens.log(new))
        # the killed server comes back and catches up
        ens.start(old)
        ens.wait_serving()
        zk.sync("/")
        kids = set(zk.get_children("/via"))
        self.assertEqual([a for a in acked if a.split("/")[-1] not in kids], [])
        zk.stop()
        zk.close()
        digests = {i: digest(ens, i) for i in ens.ids}
        self.assertEqual(len(set(digests.values())), 1, digests)
        # the ephemeral went with the closed session, on every server
        for i in ens.ids:
            z = client("127.0.0.1:%d" % ens.client[i])
            z.sync("/")
            self.assertIsNone(z.exists("/eph"))
            z.stop()
            z.close()

    def test_a_session_reads_its_own_writes_on_a_follower(self):
        """ZooKeeper executes a client's requests in the order it sent them: a read pipelined
        right behind a write (not waiting for its answer) sees it, also on a follower, which
        forwards the write to the leader. (Found by the brokers: a broker registering in
        /brokers/ids and listing it at once did not see itself and never led a partition.)"""
        ens = ensharness.Ensemble(self, 3)
        ens.start_all()
        ens.wait_serving()
        leader = ens.leader()
        for f in [i for i in ens.ids if i != leader]:
            zk = KazooClient(hosts="127.0.0.1:%d" % ens.client[f], timeout=10)
            zk.start(20)
            try:
                zk.ensure_path("/ryw%d" % f)
                for i in range(30):
                    c = zk.create_async("/ryw%d/n%d" % (f, i), b"v%d" % i, ephemeral=True)
                    g = zk.get_children_async("/ryw%d" % f)
                    d = zk.get_async("/ryw%d/n%d" % (f, i))
                    s = zk.set_async("/ryw%d/n%d" % (f, i), b"w%d" % i)
                    e = zk.exists_async("/ryw%d/n%d" % (f, i))
                    c.get(10)
                    self.assertIn("n%d" % i, g.get(10), "server %d (follower)" % f)
                    self.assertEqual(d.get(10)[0], b"v%d" % i)
                    s.get(10)
                    self.assertEqual(e.get(10).version, 1)
            finally:
                zk.stop()
                zk.close()

    def test_a_long_digest_identity_writes_through_a_follower(self):
        """ZooKeeper takes a digest credential of any length a request can carry; its id
        travels with every write a follower forwards to the leader. A 3,000-byte user name
        writes through a follower under an ACL of its own id, and another client of the same
        follower stays connected (before, the leader could not decode the Forward, answered a
        Nack for no session, and the follower closed every client connection it had)."""
        from kazoo.security import make_digest_acl
        ens = ensharness.Ensemble(self, 3)
        ens.start_all()
        ens.wait_serving()
        f = [i for i in ens.ids if i != ens.leader()][0]
        hosts = "127.0.0.1:%d" % ens.client[f]
        states = []
        other = KazooClient(hosts=hosts, timeout=10)
        other.start(20)
        other.add_listener(states.append)
        user = "u" * 3000
        zk = KazooClient(hosts=hosts, timeout=10, auth_data=[("digest", user + ":pw")])
        zk.start(20)
        try:
            acl = make_digest_acl(user, "pw", all=True)
            zk.create("/long-id", b"v", acl=[acl])
            zk.set("/long-id", b"w")
            self.assertEqual(zk.get("/long-id")[0], b"w")
            self.assertEqual(zk.get_acls("/long-id")[0][0].id.id, acl.id.id)
            other.create("/other", b"x")
            self.assertEqual(states, [], "the other client of server %d lost its connection" % f)
        finally:
            for c in (zk, other):
                c.stop()
                c.close()

    def test_minority_does_not_serve(self):
        ens = ensharness.Ensemble(self, 3)
        ens.start_all()
        ens.wait_serving()
        leader = ens.leader()
        others = [i for i in ens.ids if i != leader]
        ens.kill9(others[0])
        ens.kill9(leader)
        alone = others[1]
        deadline = time.time() + 15
        while time.time() < deadline and ens.mode(alone) != "not-serving":
            time.sleep(0.05)
        self.assertEqual(ens.mode(alone), "not-serving")
        self.assertIn("This ZooKeeper instance is not currently serving requests", ens.srvr(alone))
        zk = KazooClient(hosts="127.0.0.1:%d" % ens.client[alone], timeout=4)
        with self.assertRaises(Exception):
            zk.start(3)
        zk.stop()
        zk.close()
        ens.start(leader)
        ens.wait_serving([alone, leader])
        z = client(ens.hosts([alone, leader]))
        z.create("/back", b"1")
        z.stop()
        z.close()

    def test_five_servers_lose_two(self):
        ens = ensharness.Ensemble(self, 5)
        ens.start_all()
        ens.wait_serving()
        zk = client(ens.hosts())
        zk.create("/five", b"0")
        leader = ens.leader()
        follower = [i for i in ens.ids if i != leader][0]
        ens.kill9(leader)
        ens.kill9(follower)
        for k in range(1, 50):
            zk.retry(zk.set, "/five", b"%d" % k)
        self.assertEqual(zk.get("/five")[0], b"49")
        live = [i for i in ens.ids if ens.running(i)]
        modes = ens.wait_serving(live)
        self.assertEqual(sorted(modes.values()), ["follower", "follower", "leader"])
        zk.stop()
        zk.close()

    def test_far_behind_follower_gets_a_snapshot_and_restart_keeps_all(self):
        ens = ensharness.Ensemble(self, 3, {"snapCount": "200"})
        ens.start_all()
        ens.wait_serving()
        leader = ens.leader()
        behind = [i for i in ens.ids if i != leader][0]
        ens.stop(behind)
        zk = client(ens.hosts([i for i in ens.ids if i != behind]))
        zk.ensure_path("/many")
        # pipelined (the ensemble group-commits them), every one acknowledged
        pending = [zk.create_async("/many/n-", b"x" * 50, sequence=True) for _ in range(1500)]
        for p in pending:
            p.get(timeout=60)
        # the snapshots let the others drop their log below them
        deadline = time.time() + 20
        while time.time() < deadline and not re.search(r"snapshot 0x[0-9a-f]+ written", ens.log(leader)):
            time.sleep(0.05)
        self.assertRegex(ens.log(leader), r"snapshot 0x[0-9a-f]+ written")
        ens.start(behind)
        ens.wait_serving()
        zk.sync("/")
        self.assertEqual(len(zk.get_children("/many")), 1500)
        zk.stop()
        zk.close()
        self.assertEqual(len({digest(ens, i) for i in ens.ids}), 1)
        self.assertIn("installed the leader's snapshot", ens.log(behind))
        # the whole ensemble restarts: everything is there
        ens.stop_all()
        ens.start_all()
        ens.wait_serving()
        z = client(ens.hosts())
        self.assertEqual(len(z.get_children("/many")), 1500)
        z.stop()
        z.close()

    def test_grow_three_to_five_and_back_with_reconfig(self):
        ens = ensharness.Ensemble(self, 5, {"reconfigEnabled": "true"}, initial=3)
        for i in (1, 2, 3):
            ens.start(i)
        ens.wait_serving([1, 2, 3])
        zk = client(ens.hosts([1, 2, 3]))
        zk.create("/r", b"0")
        data, _ = zk.get("/zookeeper/config")
        self.assertEqual(data.decode().count("server."), 3)
        for i in (4, 5):
            ens.start(i)
        joining = ",".join(ens.server_line(i) for i in (4, 5))
        data, stat = zk.reconfig(joining=joining, leaving=None, new_members=None)
        self.assertEqual(data.decode().count("server."), 5)
        # writes go on while the two join; they become followers with votes
        for k in range(1, 200):
            zk.retry(zk.set, "/r", b"%d" % k)
        modes = ens.wait_serving([1, 2, 3, 4, 5])
        self.assertEqual(sorted(modes.values()), ["follower"] * 4 + ["leader"])
        leader = ens.leader()
        deadline = time.time() + 20
        while time.time() < deadline and "zk_synced_followers\t4" not in zkharness.four_letter(ens.client[leader], "mntr"):
            zk.retry(zk.set, "/r", b"tick")
            time.sleep(0.05)
        self.assertIn("zk_followers\t4", zkharness.four_letter(ens.client[leader], "mntr"))
        # five voters: two of the original three can go and writes continue
        gone = [i for i in (1, 2, 3) if i != leader][:2]
        for i in gone:
            ens.kill9(i)
        z5 = client(ens.hosts([i for i in ens.ids if i not in gone]))
        z5.retry(z5.set, "/r", b"with three of five")
        for i in gone:
            ens.start(i)
        ens.wait_serving()
        # shrink back to 1-3: the majority is then two of those three
        z5.retry(z5.reconfig, joining=None, leaving="4,5", new_members=None)
        deadline = time.time() + 20
        while time.time() < deadline:
            ldr = ens.leader()
            if ldr in (1, 2, 3) and "zk_followers\t2" in zkharness.four_letter(ens.client[ldr], "mntr"):
                break
            time.sleep(0.05)
        else:
            self.fail("the ensemble did not shrink to three")
        ens.stop(4)
        ens.stop(5)
        z3 = client(ens.hosts([1, 2, 3]))
        z3.retry(z3.set, "/r", b"three again")
        self.assertEqual(z3.get("/r")[0], b"three again")
        self.assertEqual(z3.get("/zookeeper/config")[0].decode().count("server."), 3)
        for z in (zk, z5, z3):
            z.stop()
            z.close()

    def test_observer_replicates_without_voting(self):
        ens = ensharness.Ensemble(self, 4, observers=[4])
        ens.start_all()
        modes = ens.wait_serving()
        self.assertEqual(modes[4], "observer")
        zk = client(ens.hosts([4]))
        zk.create("/o", b"via observer")
        zk.stop()
        zk.close()
        # with two of the three voters down, the observer cannot make a majority
        leader = ens.leader()
        voters = [i for i in (1, 2, 3) if i != leader]
        ens.kill9(leader)
        ens.kill9(voters[0])
        deadline = time.time() + 15
        while time.time() < deadline and ens.mode(4) != "not-serving":
            time.sleep(0.05)
        self.assertEqual(ens.mode(4), "not-serving")

    def test_containers_and_ttl_nodes_are_reaped_by_the_leader(self):
        # every server runs the reaper's timer; only the leader may turn what it finds into
        # deletions (a follower proposing one would be a log write outside Raft's order)
        ens = ensharness.Ensemble(self, 3, {"extendedTypesEnabled": "true",
                                            "znode.container.checkIntervalMs": "100"})
        ens.start_all()
        ens.wait_serving()
        follower = next(i for i in ens.ids if ens.mode(i) == "follower")
        c = jute_client.RawClient(ens.client[follower])
        try:
            self.assertEqual(c.create("/box", b"", op=19, flags=4)[0], 0)
            self.assertEqual(c.create("/box/item", b"")[0], 0)
            self.assertEqual(c.delete("/box/item"), 0)
            body = (jute_client.ustring("/ttl") + jute_client.ustring(b"") +
                    jute_client.acl_list(jute_client.OPEN_ACL) + struct.pack(">iq", 5, 200))
            self.assertEqual(c.call(21, body)[0], 0)
        finally:
            c.close()
        for i in ens.ids:
            r = jute_client.RawClient(ens.client[i])
            try:
                deadline = time.time() + 30
                while time.time() < deadline and (r.exists("/box")[0] == 0 or r.exists("/ttl")[0] == 0):
                    time.sleep(0.05)
                self.assertEqual((r.exists("/box")[0], r.exists("/ttl")[0]), (-101, -101), "server %d" % i)
            finally:
                r.close()
        self.assertTrue(all(ens.running(i) for i in ens.ids))
        ens.wait_serving()
        self.assertEqual(len({digest(ens, i) for i in ens.ids}), 1)

    def test_expiry_is_decided_by_the_leader_and_sync_catches_up(self):
        ens = ensharness.Ensemble(self, 3)
        ens.start_all()
        ens.wait_serving()
        leader = ens.leader()
        follower = [i for i in ens.ids if i != leader][0]
        # a session on a follower that stops pinging: the leader expires it, its ephemeral goes
        # on every server, and the follower closes its connection
        raw = jute_client.RawClient(ens.client[follower], timeout_ms=4000)
        err, _, _ = raw.call(1, jute_client.ustring("/gone") + jute_client.buffer(b"x") +
                             jute_client.acl_list(jute_client.OPEN_ACL) + struct.pack(">i", 1))
        self.assertEqual(err, 0)
        # watched through the follower that holds the session: the ephemeral is gone there when
        # the follower has applied the leader's closeSession, and applying it closes the
        # session's connection. (Through any other server, the ephemeral can be gone before this
        # follower applied the close, and the follower rightly still answers a ping.)
        zk = client("127.0.0.1:%d" % ens.client[follower])
        self.assertIsNotNone(zk.exists("/gone"))
        deadline = time.time() + 60
        while time.time() < deadline and zk.exists("/gone"):
            time.sleep(0.1)
        self.assertIsNone(zk.exists("/gone"))
        self.assertIn("expiring session 0x%x" % raw.session_id, ens.log(leader))
        with self.assertRaises((ConnectionError, OSError)):
            raw.call(11)
            raw.call(11)
        raw.close()
        # a client of a follower that syncs sees every write committed before the sync
        zf = client("127.0.0.1:%d" % ens.client[follower])
        zl = client("127.0.0.1:%d" % ens.client[leader])
        for k in range(50):
            zl.create("/s%d" % k, b"")
            zf.sync("/")
            self.assertIsNotNone(zf.exists("/s%d" % k))
        # a client that has seen a newer zxid than a server's is refused there (lastZxidSeen)
        with self.assertRaises((ConnectionError, OSError, struct.error)):
            jute_client.RawClient(ens.client[follower], last_zxid=1 << 40)
        for z in (zk, zf, zl):
            z.stop()
            z.close()


if __name__ == "__main__":
    unittest.main()
