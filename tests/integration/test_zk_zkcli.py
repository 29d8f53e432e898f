"""zkCli.sh — ZooKeeper 3.8's own Java shell (Debian's `zookeeper` package) — against samsa-coord,
and the same script against the real ZooKeeper 3.8 to show the expectations are ZooKeeper's:
one-shot commands and their exit status, then one interactive session on stdin: create (plain,
sequential, ephemeral), get/set/ls/stat/delete/deleteall, `addWatch -m PERSISTENT_RECURSIVE`
followed by changes whose events zkCli prints, getAcl/setAcl with a digest identity. The session
must never disconnect (Java clients drop a connection whose addWatch reply lacks its body)."""
import os
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkharness  # noqa: E402
from samsatest.workdir import WorkDir  # noqa: E402

ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"
WAIT = 30.0


class Shell:
    """An interactive zkCli.sh (no terminal: JLine is off, commands come line by line from
    stdin, no prompt). Reader threads keep every line of stdout and stderr."""

    def __init__(self, hosts, workdir):
        env = dict(os.environ, ZOO_LOG_DIR=workdir)
        self.proc = subprocess.Popen([ZKCLI, "-server", hosts], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env, cwd=workdir,
                                     start_new_session=True)
        self.out, self.err = [], []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._read, args=(s, dst), daemon=True)
                        for s, dst in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for t in self.threads:
            t.start()

    def _read(self, stream, dst):
        for line in stream:
            with self.lock:
                dst.append(line.rstrip("\n"))

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def wait_lines(self, stream, lines, start=0):
        """Waits until `lines` appear in this order (not necessarily adjacent) from index start
        of stream; returns the index after the last one."""
        deadline = time.time() + WAIT
        while True:
            with self.lock:
                buf = list(stream)
            i, pos = 0, start
            while pos < len(buf) and i < len(lines):
                if buf[pos] == lines[i]:
                    i += 1
                pos += 1
            if i == len(lines):
                return pos
            if time.time() > deadline or self.proc.poll() is not None and not any(t.is_alive() for t in self.threads):
                raise AssertionError("zkCli did not print %r\nstdout:\n%s\nstderr:\n%s" %
                                     (lines[i:], "\n".join(self.out), "\n".join(self.err)))
            time.sleep(0.02)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(WAIT)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for t in self.threads:
            t.join(5)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except BrokenPipeError:
                pass
        return self.proc.returncode


def event(kind, path):
    return "WatchedEvent state:SyncConnected type:%s path:%s" % (kind, path)


class ZkCliTest(unittest.TestCase):
    maxDiff = None

    def server(self, kind):
        tmp = WorkDir(self, prefix="samsa-zkcli-")
        if kind == "real":
            srv = zkharness.real_server(tmp.name)
        else:
            self.assertTrue(zkharness.COORD, "SAMSA_COORD must name the samsa-coord binary")
            srv = zkharness.samsa_server(tmp.name)
        self.addCleanup(srv.stop)
        return srv.start(), tmp.name

    def one_shot(self, srv, workdir, *args):
        r = subprocess.run([ZKCLI, "-server", srv.hosts] + list(args), capture_output=True, text=True,
                           timeout=120, env=dict(os.environ, ZOO_LOG_DIR=workdir), cwd=workdir)
        return r.returncode, r.stdout.splitlines(), r.stderr.splitlines()

    def script(self, kind):
        srv, workdir = self.server(kind)
        rc, out, err = self.one_shot(srv, workdir, "create", "/cli", "hello")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("Created /cli", err)
        rc, out, err = self.one_shot(srv, workdir, "get", "/nope")
        self.assertEqual(rc, 1)
        self.assertIn("Node does not exist: /nope", err)

        sh = Shell(srv.hosts, workdir)
        try:
            o = sh.wait_lines(sh.out, ["WATCHER::", event("None", "null")])
            sh.send("get /cli")
            o = sh.wait_lines(sh.out, ["hello"], o)
            sh.send("set /cli world")
            sh.send("get -s /cli")
            o = sh.wait_lines(sh.out, ["world", "cversion = 0", "dataVersion = 1", "aclVersion = 0",
                                       "ephemeralOwner = 0x0", "dataLength = 5", "numChildren = 0"], o)
            sh.send("create /cli/a 1")
            sh.send("create -s /cli/s- x")
            sh.send("create -e /cli/e")
            e = sh.wait_lines(sh.err, ["Created /cli/a", "Created /cli/s-0000000001", "Created /cli/e"])
            sh.send("ls /cli")
            o = sh.wait_lines(sh.out, ["[a, e, s-0000000001]"], o)
            sh.send("stat /cli")
            o = sh.wait_lines(sh.out, ["cversion = 3", "dataVersion = 1", "numChildren = 3"], o)

            # a persistent recursive watch: every change below /w is printed, the watch stays
            sh.send("addWatch -m PERSISTENT_RECURSIVE /w")
            sh.send("create /w x")
            sh.send("create /w/c y")
            sh.send("set /w/c z")
            sh.send("delete /w/c")
            sh.send("set /w v")
            o = sh.wait_lines(sh.out, [event("NodeCreated", "/w"), event("NodeCreated", "/w/c"),
                                       event("NodeDataChanged", "/w/c"), event("NodeDeleted", "/w/c"),
                                       event("NodeDataChanged", "/w")], o)

            sh.send("getAcl /cli")
            o = sh.wait_lines(sh.out, ["'world,'anyone", ": cdrwa"], o)
            sh.send("addauth digest alice:secret")
            sh.send("setAcl /cli auth:alice:cdrwa")
            sh.send("getAcl /cli")
            o = sh.wait_lines(sh.out, ["'digest,'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=", ": cdrwa"], o)
            sh.send("setAcl /cli/a world:anyone:r")
            sh.send("getAcl /cli/a")
            o = sh.wait_lines(sh.out, ["'world,'anyone", ": r"], o)
            sh.send("set /cli/a 2")
            e = sh.wait_lines(sh.err, ["Insufficient permission : /cli/a"], e)
            sh.send("delete /cli")
            e = sh.wait_lines(sh.err, ["Node not empty: /cli"], e)
            sh.send("delete /cli/a")
            sh.send("ls /cli")
            o = sh.wait_lines(sh.out, ["[e, s-0000000001]"], o)
            sh.send("deleteall /cli")
            sh.send("ls /")
            o = sh.wait_lines(sh.out, ["[w, zookeeper]"], o)
            sh.send("get /cli")
            e = sh.wait_lines(sh.err, ["Node does not exist: /cli"], e)
            # quit exits with the status of the last command: end on a good one
            sh.send("get /w")
            o = sh.wait_lines(sh.out, ["v"], o)
        finally:
            rc = sh.close()
        self.assertEqual(rc, 0)
        # one connection, never lost; exactly the events above, and the close
        watched = [line for line in sh.out if line.startswith("WatchedEvent")]
        self.assertEqual(watched, [event("None", "null"), event("NodeCreated", "/w"), event("NodeCreated", "/w/c"),
                                   event("NodeDataChanged", "/w/c"), event("NodeDeleted", "/w/c"),
                                   event("NodeDataChanged", "/w"), "WatchedEvent state:Closed type:None path:null"],
                         "\n".join(sh.out + sh.err))
        srv.stop()
        return sh.out

    def test_samsa(self):
        self.script("samsa")

    def test_zookeeper(self):
        self.script("real")


if __name__ == "__main__":
    unittest.main()
