"""zookeeper-shell (our tool on Debian's ZooKeeper C client) against the coordinator — and,
with SAMSA_ZK_TARGET=real, against the real ZooKeeper: one-shot commands, exit status, zkCli's
output format, and interactive use on stdin."""
import os
import select
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkharness  # noqa: E402

SHELL = os.environ.get("SAMSA_ZK_SHELL")


class ShellTest(unittest.TestCase):
    def setUp(self):
        self.assertTrue(SHELL, "SAMSA_ZK_SHELL must name the zookeeper-shell binary")
        self.srv = zkharness.start_target(self)

    def sh(self, *args, stdin=None):
        return subprocess.run([SHELL, self.srv.hosts] + list(args), input=stdin, capture_output=True,
                              text=True, timeout=60)

    def test_commands(self):
        r = self.sh("create", "/cities", "kafka notes")
        self.assertEqual((r.returncode, r.stdout), (0, "Created /cities\n"))
        for c in ("paris", "tokyo"):
            self.assertEqual(self.sh("create", "/cities/" + c, c).returncode, 0)
        self.assertEqual(self.sh("ls", "/cities").stdout, "[paris, tokyo]\n")
        self.assertEqual(self.sh("ls", "/").stdout, "[cities, zookeeper]\n")
        self.assertEqual(self.sh("get", "/cities/tokyo").stdout, "tokyo\n")
        self.assertEqual(self.sh("set", "/cities/tokyo", "edo").returncode, 0)
        out = self.sh("get", "-s", "/cities/tokyo").stdout.splitlines()
        self.assertEqual(out[0], "edo")
        self.assertIn("dataVersion = 1", out)
        self.assertIn("dataLength = 3", out)
        self.assertTrue(any(line.startswith("cZxid = 0x") for line in out))
        r = self.sh("get", "/nope")
        self.assertEqual(r.returncode, 1)
        self.assertIn("Node does not exist: /nope", r.stderr)
        r = self.sh("create", "/cities", "again")
        self.assertEqual(r.returncode, 1)
        self.assertIn("Node already exists: /cities", r.stderr)
        r = self.sh("delete", "/cities")
        self.assertEqual(r.returncode, 1)
        self.assertIn("Node not empty: /cities", r.stderr)
        r = self.sh("set", "/cities/paris", "x", "7")
        self.assertIn("version No is not valid", r.stderr)
        r = self.sh("create", "-s", "/cities/seq-", "")
        self.assertEqual(r.stdout, "Created /cities/seq-0000000002\n")
        self.assertEqual(self.sh("stat", "/cities").returncode, 0)
        self.assertIn("numChildren = 3", self.sh("stat", "/cities").stdout)
        self.assertEqual(self.sh("deleteall", "/cities").returncode, 0)
        self.assertEqual(self.sh("ls", "/").stdout, "[zookeeper]\n")

    def test_interactive(self):
        script = "create /i one\nls /\nget /i\ncreate -e /i/e\nls /i\ndelete /i/e\ndelete /i\nls /\nquit\n"
        r = self.sh(stdin=script)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "Created /i\n[i, zookeeper]\none\nCreated /i/e\n[e]\n[zookeeper]\n")

    def test_ephemeral_gone_after_shell_exits(self):
        self.assertEqual(self.sh("create", "-e", "/gone", "x").returncode, 0)
        self.assertEqual(self.sh("ls", "/").stdout, "[zookeeper]\n")

    def test_stat_flags_acl_versions(self):
        self.assertEqual(self.sh("create", "/n").stdout, "Created /n\n")
        self.assertEqual(self.sh("get", "/n").stdout, "null\n")  # created without data
        self.assertEqual(self.sh("create", "/n/k", "v").returncode, 0)
        out = self.sh("ls", "-s", "/n").stdout.splitlines()
        self.assertEqual(out[0], "[k]")
        self.assertIn("numChildren = 1", out)
        self.assertEqual([line.split(" = ")[0] for line in out[1:]],
                         ["cZxid", "ctime", "mZxid", "mtime", "pZxid", "cversion", "dataVersion",
                          "aclVersion", "ephemeralOwner", "dataLength", "numChildren"])
        self.assertIn("dataLength = 1", self.sh("exists", "/n/k").stdout)
        r = self.sh("exists", "/n/none")
        self.assertEqual(r.returncode, 1)
        self.assertIn("Node does not exist: /n/none", r.stderr)
        self.assertEqual(self.sh("getAcl", "/n").stdout, "'world,'anyone\n: cdrwa\n")
        # versioned set and delete: the right version succeeds, a stale one fails
        self.assertEqual(self.sh("set", "/n/k", "v1", "0").returncode, 0)
        r = self.sh("set", "-s", "/n/k", "v2", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("dataVersion = 2", r.stdout.splitlines())
        r = self.sh("delete", "/n/k", "1")
        self.assertEqual(r.returncode, 1)
        self.assertIn("version No is not valid : /n/k", r.stderr)
        self.assertEqual(self.sh("delete", "/n/k", "2").returncode, 0)
        # ephemeral sequential and container nodes
        r = self.sh("create", "-e", "-s", "/n/e-", "x")
        self.assertRegex(r.stdout, r"^Created /n/e-\d{10}\n$")
        self.assertEqual(self.sh("create", "-c", "/box").returncode, 0)
        self.assertIn("ephemeralOwner = 0x0", self.sh("stat", "/box").stdout.splitlines())

    def test_chroot(self):
        self.assertEqual(self.sh("create", "/app", "").returncode, 0)
        r = subprocess.run([SHELL, self.srv.hosts + "/app", "create", "/inside", "x"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual((r.returncode, r.stdout), (0, "Created /inside\n"))
        self.assertEqual(self.sh("ls", "/app").stdout, "[inside]\n")
        self.assertEqual(self.sh("get", "/app/inside").stdout, "x\n")

    def test_usage_errors(self):
        r = self.sh("frobnicate", "/x")
        self.assertEqual(r.returncode, 2)
        self.assertIn("Command not found", r.stderr)
        self.assertEqual(self.sh("set", "/only-path").returncode, 2)
        self.assertEqual(subprocess.run([SHELL], capture_output=True, timeout=60).returncode, 2)

    def test_watch_event_while_idle(self):
        """An interactive shell waiting for input still serves its session: a watch set with
        get -w fires and is printed without any further input."""
        self.assertEqual(self.sh("create", "/w", "a").returncode, 0)
        p = subprocess.Popen([SHELL, self.srv.hosts], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
        self.addCleanup(p.wait, 30)
        self.addCleanup(p.stdout.close)
        self.addCleanup(p.stdin.close)
        p.stdin.write(b"get -w /w\n")
        p.stdin.flush()
        self.assertEqual(self.read_until(p, b"a\n"), b"a\n")
        self.assertEqual(self.sh("set", "/w", "b").returncode, 0)
        out = self.read_until(p, b"type:NodeDataChanged path:/w\n")
        self.assertIn(b"WATCHER::", out)
        p.stdin.write(b"quit\n")
        p.stdin.flush()
        self.assertEqual(p.wait(30), 0)

    def read_until(self, proc, marker, timeout=20):
        out = b""
        deadline = time.time() + timeout
        while marker not in out:
            left = deadline - time.time()
            self.assertGreater(left, 0, "no %r in %r" % (marker, out))
            ready, _, _ = select.select([proc.stdout], [], [], left)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 4096)
                self.assertTrue(chunk, "shell exited; output so far %r" % out)
                out += chunk
        return out


if __name__ == "__main__":
    unittest.main()
