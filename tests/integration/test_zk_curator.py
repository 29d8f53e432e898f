"""Apache Curator 5 (Debian's libcurator-*-java, with the ZooKeeper 3.8 Java client) against
samsa-coord and, the same program, against the real ZooKeeper 3.8: java/CuratorCheck.java is
compiled here with javac against the jars in /usr/share/java (cached in the build directory,
recompiled when the source is newer) and prints RESULT lines asserted on below: LeaderLatch,
InterProcessMutex, CuratorCache (addWatch PERSISTENT_RECURSIVE) with TreeCache and
PathChildrenCache on the same client, DistributedAtomicLong, TTL nodes and PersistentTtlNode
with extendedTypesEnabled, and createTTL refused without it. No connection may be lost: Java
clients drop a connection whose addWatch reply lacks its int32 body."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkharness  # noqa: E402
from samsatest.workdir import WorkDir  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "java", "CuratorCheck.java")
JARS = ["curator-recipes", "curator-framework", "curator-client", "zookeeper", "zookeeper-jute"]
CLASSPATH = ":".join("/usr/share/java/%s.jar" % j for j in JARS)
# a silent slf4j binding: the program's stdout carries only its results
RUN_CLASSPATH = CLASSPATH + ":/usr/share/java/slf4j-nop.jar"

COMMON = {
    "latch.first_await": "true",
    "latch.participants": "2",
    "latch.leader": "one",
    "latch.second_has": "false",
    "latch.takeover": "true",
    "latch.leader_after": "two",
    "mutex.other_while_held": "false",
    "mutex.other_after_release": "true",
    "mutex.counter": "40",
    "mutex.overlaps": "0",
    "cache.initialized": "true",
    "cache.complete": "true",
    "cache.curator": "NODE_CREATED:/cache:root,NODE_CREATED:/cache/pre:p,NODE_CREATED:/cache/a:1,"
                     "NODE_CREATED:/cache/a/b:2,NODE_CHANGED:/cache/a:3,NODE_DELETED:/cache/a/b:2,"
                     "NODE_CHANGED:/cache/pre:q,NODE_DELETED:/cache/a:3",
    "cache.tree": "NODE_ADDED:/cache,NODE_ADDED:/cache/pre,NODE_ADDED:/cache/a,NODE_ADDED:/cache/a/b,"
                  "NODE_UPDATED:/cache/a,NODE_REMOVED:/cache/a/b,NODE_UPDATED:/cache/pre,NODE_REMOVED:/cache/a",
    "cache.children": "CHILD_ADDED:/cache/pre,CHILD_ADDED:/cache/a,CHILD_UPDATED:/cache/a,"
                      "CHILD_UPDATED:/cache/pre,CHILD_REMOVED:/cache/a",
    "cache.curator_size": "2",
    "atomic.value": "50",
    "atomic.cas_ok": "true",
    "atomic.cas_stale": "false",
    "atomic.final": "100",
}
WITH_TTL = {
    "ttl.created": "true",
    "ttl.owner": "0",
    "ttl.sequential": "true",
    "ttl.reaped": "true",
    "ttl.not_before_ttl": "true",
    "ttl.with_child_kept": "true",
    "ttl.reaped_once_empty": "true",
    "ptn.created": "true",
    "ptn.touch": "true",
    "ptn.data": "v",
    "ptn.gone_after_close": "true",
}
WITHOUT_TTL = {"ttl.refused": "UNIMPLEMENTED"}


def class_dir(build):
    """Compiles CuratorCheck.java under the build directory once (again when the source is
    newer than the classes) and returns the directory of its classes."""
    out = os.path.join(build, "tests", "integration", "curator-classes")
    cls = os.path.join(out, "CuratorCheck.class")
    if os.path.exists(cls) and os.path.getmtime(cls) >= os.path.getmtime(SOURCE):
        return out
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="curator-classes-", dir=os.path.dirname(out))
    try:
        r = subprocess.run(["javac", "-Xlint:all,-path", "-Werror", "-cp", CLASSPATH, "-d", tmp, SOURCE],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise AssertionError("javac failed:\n" + r.stdout + r.stderr)
        shutil.rmtree(out, ignore_errors=True)
        os.rename(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


class CuratorTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        build = os.environ.get("SAMSA_BUILD_ROOT")  # set by meson
        if not build:  # run by hand: compiled for this run only
            cls.tmp_build = tempfile.TemporaryDirectory(prefix="samsa-curator-build-")
            cls.addClassCleanup(cls.tmp_build.cleanup)
            build = cls.tmp_build.name
        cls.classes = class_dir(build)

    def server(self, kind, ttl):
        tmp = WorkDir(self, prefix="samsa-curator-")
        extra = {"znode.container.checkIntervalMs": "100"}
        if ttl:
            extra["extendedTypesEnabled"] = "true"
        if kind == "real":
            srv = zkharness.real_server(tmp.name, extra)
        else:
            self.assertTrue(zkharness.COORD, "SAMSA_COORD must name the samsa-coord binary")
            srv = zkharness.samsa_server(tmp.name, extra)
        self.addCleanup(srv.stop)
        return srv.start()

    def run_check(self, srv, ttl, cache_client):
        r = subprocess.run(["java", "-cp", self.classes + ":" + RUN_CLASSPATH, "CuratorCheck", srv.hosts,
                            "ttl" if ttl else "nottl", cache_client],
                           capture_output=True, text=True, timeout=240)
        lines = r.stdout.splitlines()
        self.assertEqual((r.returncode, lines[-1:]), (0, ["DONE"]), r.stdout + r.stderr)
        results = {}
        for line in lines:
            if line.startswith("RESULT "):
                _, key, value = line.split(" ", 2)
                results[key] = value
        return results

    def check(self, kind, ttl, cache_client):
        srv = self.server(kind, ttl)
        got = self.run_check(srv, ttl, cache_client)
        want = dict(COMMON, **(WITH_TTL if ttl else WITHOUT_TTL))
        clients = "a,b" if cache_client == "shared" else "a,b,c"
        # every client connected once and never lost its connection (the listeners of the
        # clients run on their own threads: their order is not the test's)
        want["states"] = ",".join("%s:CONNECTED" % c for c in clients.split(","))
        got["states"] = ",".join(sorted(got.get("states", "").split(",")))
        self.assertEqual(got, want, "Curator against %s" % kind)
        srv.stop()

    def test_samsa_with_ttl_caches_on_one_client(self):
        self.check("samsa", True, "shared")

    def test_samsa_without_ttl(self):
        self.check("samsa", False, "separate")

    def test_zookeeper_with_ttl(self):
        # the same expectations hold for the real ZooKeeper 3.8.0 when CuratorCache has a client
        # of its own: on one client its server keeps a single watch mode per path (ZOOKEEPER-4466)
        self.check("real", True, "separate")

    def test_zookeeper_without_ttl(self):
        self.check("real", False, "separate")


if __name__ == "__main__":
    unittest.main()
