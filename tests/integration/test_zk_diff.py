"""Differential test: the same operation sequences against the real ZooKeeper 3.8 (Debian's
`zookeeper` package) and against samsa-coord, both started here on loopback; the transcripts
must match field by field wherever ZooKeeper's answer is deterministic: return values, error
types and codes, every Stat field (zxids exactly; times only as "zero / equal / ordered"; session
ids as "which session"), children (sorted: ZooKeeper's order is a hash order), watch events and
their order, multi results. Clients: kazoo (python3-kazoo) and a raw jute client for what kazoo
2.8 cannot send (containers, addWatch, getAllChildrenNumber, getEphemerals, exact reply headers).
"""
import os
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkharness  # noqa: E402
from jute_client import RawClient, ustring  # noqa: E402
from kazoo.client import KazooClient  # noqa: E402
from kazoo.security import make_acl, make_digest_acl  # noqa: E402


class Transcript:
    def __init__(self):
        self.lines = []
        self.sessions = {}

    def sid(self, s):
        if s in (0, -9223372036854775808):
            return s
        return "S%d" % self.sessions.setdefault(s, len(self.sessions))

    def norm(self, v):
        if hasattr(v, "_fields") and "czxid" in v._fields:  # kazoo ZnodeStat
            v = v._asdict()
        if isinstance(v, dict) and "czxid" in v:
            v = dict(v)
            c, m = v.pop("ctime"), v.pop("mtime")
            v["times"] = "zero" if c == 0 and m == 0 else ("equal" if c == m else ("ordered" if m > c else "bad"))
            v["ephemeralOwner"] = self.sid(v["ephemeralOwner"])
            return tuple(sorted(v.items()))
        if hasattr(v, "_fields"):  # other namedtuples (ACL, Id, WatchedEvent)
            return (type(v).__name__,) + tuple(self.norm(x) for x in v)
        if isinstance(v, (list, tuple)):
            return type(v)(self.norm(x) for x in v)
        if isinstance(v, Exception):
            return "EXC:" + type(v).__name__
        return v

    def add(self, label, fn):
        try:
            v = fn()
        except Exception as e:  # the error itself is part of the transcript
            v = e
        self.lines.append((label, self.norm(v)))
        return v


def wait_for(pred, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return False


def kz(hosts):
    zk = KazooClient(hosts=hosts, timeout=10)
    zk.start(timeout=15)
    return zk


def scenario_crud(srv, t):
    zk = kz(srv.hosts)
    try:
        t.add("root", lambda: zk.get("/"))
        t.add("builtins", lambda: [zk.get(p) for p in ("/zookeeper", "/zookeeper/quota", "/zookeeper/config")])
        t.add("builtin acl", lambda: zk.get_acls("/zookeeper/config"))
        t.add("ls /", lambda: sorted(zk.get_children("/")))
        t.add("create", lambda: zk.create("/app", b"v0"))
        t.add("create2", lambda: zk.create("/app/c", b"", include_data=True))
        t.add("create null", lambda: zk.create("/app/n", None, include_data=True))
        t.add("get null", lambda: zk.get("/app/n"))
        t.add("exists", lambda: zk.exists("/app"))
        t.add("exists missing", lambda: zk.exists("/nope"))
        t.add("dup", lambda: zk.create("/app", b""))
        t.add("no parent", lambda: zk.create("/x/y", b""))
        t.add("bad path", lambda: zk.create("/app/", b""))
        t.add("set", lambda: zk.set("/app", b"v1"))
        t.add("set badversion", lambda: zk.set("/app", b"v2", version=7))
        t.add("set v1", lambda: zk.set("/app", b"v2", version=1))
        t.add("get", lambda: zk.get("/app"))
        t.add("delete notempty", lambda: zk.delete("/app"))
        t.add("delete badversion", lambda: zk.delete("/app/c", version=3))
        t.add("delete", lambda: zk.delete("/app/c", version=0))
        t.add("delete missing", lambda: zk.delete("/app/c"))
        t.add("delete builtin", lambda: zk.delete("/zookeeper"))
        t.add("children2", lambda: zk.get_children("/app", include_data=True))
        t.add("parent stat", lambda: zk.exists("/app"))
        t.add("seq1", lambda: zk.create("/app/s-", b"", sequence=True))
        t.add("seq del", lambda: zk.delete("/app/s-0000000002"))
        t.add("seq2", lambda: zk.create("/app/s-", b"", sequence=True))
        t.add("eph", lambda: zk.create("/app/e", b"", ephemeral=True, include_data=True))
        t.add("eph child", lambda: zk.create("/app/e/c", b""))
        t.add("eph seq", lambda: zk.create("/app/es-", b"", ephemeral=True, sequence=True))
        t.add("makepath", lambda: zk.create("/deep/er/path", b"d", makepath=True))
        t.add("large", lambda: len(zk.create("/big", b"z" * 500000)))
        t.add("get large", lambda: len(zk.get("/big")[0]))
        t.add("sync", lambda: zk.sync("/app"))
        t.add("final ls", lambda: sorted(zk.get_children("/app")))
        t.add("final stat", lambda: zk.exists("/app"))
    finally:
        zk.stop()
        zk.close()
    zk = kz(srv.hosts)
    try:
        t.add("after close: ephemerals gone", lambda: sorted(zk.get_children("/app")))
        t.add("after close stat", lambda: zk.exists("/app"))
    finally:
        zk.stop()
        zk.close()


def scenario_multi(srv, t):
    zk = kz(srv.hosts)
    try:
        zk.create("/m", b"")

        def ok():
            tx = zk.transaction()
            tx.create("/m/a", b"1")
            tx.create("/m/a/b", b"2")
            tx.set_data("/m/a", b"3")
            tx.check("/m/a", 1)
            tx.delete("/m/a/b")
            return tx.commit()

        def fail():
            tx = zk.transaction()
            tx.create("/m/x", b"1")
            tx.check("/m/a", 99)
            tx.create("/m/y", b"")
            return tx.commit()

        def fail_first():
            tx = zk.transaction()
            tx.delete("/m/none")
            tx.create("/m/z", b"")
            return tx.commit()

        t.add("multi ok", ok)
        t.add("multi fail", fail)
        t.add("multi fail first", fail_first)
        t.add("nothing applied", lambda: sorted(zk.get_children("/m")))
        t.add("stat after", lambda: zk.exists("/m/a"))
        t.add("seq in multi", lambda: (lambda tx: (tx.create("/m/q-", b"", sequence=True),
                                                   tx.create("/m/q-", b"", sequence=True), tx.commit())[-1])(zk.transaction()))
    finally:
        zk.stop()
        zk.close()


def scenario_watches(srv, t):
    a = kz(srv.hosts)
    b = kz(srv.hosts)
    events = []
    lock = threading.Lock()

    def rec(tag):
        def cb(ev):
            with lock:
                events.append((tag, ev.type, ev.path))
        return cb

    try:
        a.create("/w", b"")
        t.add("get+watch", lambda: a.get("/w", watch=rec("data")))
        t.add("exists missing+watch", lambda: a.exists("/w/new", watch=rec("exist")))
        t.add("children+watch", lambda: a.get_children("/w", watch=rec("child")))
        b.create("/w/new", b"")
        assert wait_for(lambda: len(events) >= 2)
        b.set("/w", b"x")
        assert wait_for(lambda: len(events) >= 3)
        b.set("/w", b"y")  # one-shot: no second data event
        a.get("/w/new", watch=rec("data2"))
        a.get_children("/w/new", watch=rec("child2"))
        b.delete("/w/new")
        assert wait_for(lambda: len(events) >= 5)
        # a marker event last: kazoo runs watch callbacks one by one in arrival order, so once
        # the marker's has run, any (wrong) extra event before it has been recorded too
        marker = []
        a.exists("/w-marker", watch=lambda ev: marker.append(ev))
        b.create("/w-marker", b"")
        assert wait_for(lambda: marker)
        with lock:
            t.add("events", lambda: sorted(events))
            t.add("event count", lambda: len(events))
        # the watch fires before the read that sees the change
        seen = []
        a.get("/w", watch=lambda ev: seen.append("event"))
        b.set("/w", b"z")
        wait_for(lambda: seen)
        seen.append(a.get("/w")[0])
        t.add("event before read", lambda: seen)
    finally:
        a.stop()
        b.stop()
        a.close()
        b.close()


def scenario_acl(srv, t):
    a = kz(srv.hosts)
    b = kz(srv.hosts)
    try:
        a.add_auth("digest", "alice:secret")
        t.add("digest create", lambda: a.create("/s", b"secret", acl=[make_digest_acl("alice", "secret", all=True)]))
        t.add("acl", lambda: a.get_acls("/s"))
        t.add("other read", lambda: b.get("/s"))
        t.add("other set", lambda: b.set("/s", b"x"))
        t.add("other exists", lambda: b.exists("/s"))
        t.add("auth scheme", lambda: a.create("/s2", b"", acl=[make_acl("auth", "", all=True)]))
        t.add("auth acl", lambda: a.get_acls("/s2"))
        t.add("auth without ids", lambda: b.create("/s3", b"", acl=[make_acl("auth", "", all=True)]))
        t.add("bad world id", lambda: a.create("/s4", b"", acl=[make_acl("world", "someone", all=True)]))
        t.add("bad scheme", lambda: a.create("/s5", b"", acl=[make_acl("nope", "x", all=True)]))
        t.add("read only", lambda: a.create("/ro", b"r", acl=[make_acl("world", "anyone", read=True)]))
        t.add("ro set", lambda: b.set("/ro", b"x"))
        t.add("ro child", lambda: b.create("/ro/c", b""))
        t.add("ro get", lambda: b.get("/ro"))
        t.add("ip acl", lambda: a.create("/ip", b"", acl=[make_acl("ip", "127.0.0.1", all=True)]))
        t.add("ip get", lambda: b.get("/ip"))
        t.add("ip net acl", lambda: a.create("/ipn", b"", acl=[make_acl("ip", "10.0.0.0/8", all=True)]))
        t.add("ip net get", lambda: b.get("/ipn"))
        t.add("setacl", lambda: a.set_acls("/s", [make_acl("world", "anyone", all=True)]))
        t.add("setacl badversion", lambda: a.set_acls("/s", [make_acl("world", "anyone", all=True)], version=5))
        t.add("after setacl", lambda: b.get("/s"))
        t.add("no admin setacl", lambda: b.set_acls("/ro", [make_acl("world", "anyone", all=True)]))
    finally:
        a.stop()
        b.stop()
        a.close()
        b.close()


def scenario_raw(srv, t):
    c = RawClient(srv.port)
    d = RawClient(srv.port)
    try:
        t.add("raw create", lambda: c.create("/r", b"x"))
        t.add("raw dup header", lambda: c.call(1, ustring("/r") + ustring(b"") + b"\0\0\0\1" +
                                              b"\0\0\0\x1f" + ustring("world") + ustring("anyone") + b"\0\0\0\0")[0])
        t.add("container", lambda: c.create("/cont", b"", op=19, flags=4))
        t.add("container child", lambda: c.create("/cont/a", b""))
        t.add("container flags via create2", lambda: c.create("/cont2", b"", op=15, flags=4))
        t.add("ttl refused", lambda: c.create("/ttl", b"", op=15, flags=5))
        t.add("bad flags", lambda: c.create("/bf", b"", flags=9))
        t.add("all children", lambda: c.all_children_number("/"))
        t.add("all children missing", lambda: c.all_children_number("/none"))
        t.add("eph", lambda: c.create("/r/e1", b"", flags=1))
        t.add("eph2", lambda: c.create("/cont/e2", b"", flags=1))
        t.add("ephemerals", lambda: c.ephemerals("/"))
        t.add("ephemerals prefix", lambda: c.ephemerals("/cont"))
        t.add("ephemerals other", lambda: d.ephemerals("/"))
        t.add("persistent watch", lambda: c.add_watch("/r", 0))
        t.add("recursive watch", lambda: c.add_watch("/cont", 1))
        d.create("/r/p", b"")
        d.set_data("/r", b"y")
        d.create("/cont/b", b"")
        d.set_data("/cont/b", b"1")
        d.delete("/cont/b")
        t.add("raw sync", lambda: c.call(9, ustring("/"))[0])
        t.add("persistent events", lambda: list(c.events))
        c.events.clear()
        t.add("remove missing watch", lambda: c.remove_watches("/nowatch", 3))
        t.add("remove watch", lambda: c.remove_watches("/r", 3))
        d.set_data("/r", b"z")
        t.add("raw sync2", lambda: c.call(9, ustring("/"))[0])
        t.add("no events after remove", lambda: list(c.events))
        t.add("get missing header", lambda: c.call(4, ustring("/none") + b"\0")[0])
        t.add("exists missing header", lambda: c.call(3, ustring("/none") + b"\0")[0])
        t.add("reconfig", lambda: c.call(16, ustring("") + ustring("") + ustring("") + b"\xff" * 8)[0])
        t.add("ping", lambda: c.ping())
    finally:
        c.close()
        d.close()


SCENARIOS = [scenario_crud, scenario_multi, scenario_watches, scenario_acl, scenario_raw]


class DiffTest(unittest.TestCase):
    maxDiff = None

    def run_all(self, srv):
        t = Transcript()
        for sc in SCENARIOS:
            sc(srv, t)
        return t.lines

    def test_same_answers_as_zookeeper(self):
        coord = zkharness.COORD
        selfcheck = os.environ.get("SAMSA_ZK_DIFF_SELFCHECK") == "1"
        self.assertTrue(coord or selfcheck, "SAMSA_COORD must name the samsa-coord binary")
        results = []
        for kind in ("real", "real" if selfcheck else "samsa"):
            tmp = tempfile.TemporaryDirectory(prefix="samsa-diff-")
            self.addCleanup(tmp.cleanup)
            srv = zkharness.real_server(tmp.name) if kind == "real" else zkharness.samsa_server(tmp.name)
            self.addCleanup(srv.stop)
            srv.start()
            results.append(self.run_all(srv))
            srv.stop()
        real, ours = results
        self.assertGreater(len(real), 80)
        for (label_r, v_r), (label_o, v_o) in zip(real, ours):
            self.assertEqual(label_r, label_o)
            self.assertEqual(v_r, v_o, "answer to %r differs from ZooKeeper's" % label_r)
        self.assertEqual(len(real), len(ours))
        print("differential test: %d answers identical to ZooKeeper 3.8" % len(real), file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
