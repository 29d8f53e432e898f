"""zookeeper-shell (our tool on Debian's ZooKeeper C client) against the coordinator — and,
with SAMSA_ZK_TARGET=real, against the real ZooKeeper: one-shot commands, exit status, zkCli's
output format, and interactive use on stdin."""
import os
import subprocess
import sys
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


if __name__ == "__main__":
    unittest.main()
