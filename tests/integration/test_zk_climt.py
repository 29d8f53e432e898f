"""cli_mt (the ZooKeeper C client's shell, Debian's zookeeper-bin) driven by a script against
the coordinator: each command is sent on stdin once the previous one has answered (cli_mt is
asynchronous), and its printed results are checked. SAMSA_ZK_TARGET=real runs the same script
against the real ZooKeeper."""
import os
import select
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkharness  # noqa: E402

CLI_MT = "/usr/lib/zookeeper/bin/cli_mt"


class CliMt:
    def __init__(self, hosts):
        self.proc = subprocess.Popen([CLI_MT, hosts], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, bufsize=0)
        self.closed = False
        self.buf = b""

    def read_until(self, needle, timeout=15):
        deadline = time.time() + timeout
        while needle.encode() not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError("cli_mt did not print %r; got:\n%s" % (needle, self.buf.decode(errors="replace")))
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    raise AssertionError("cli_mt exited; output:\n%s" % self.buf.decode(errors="replace"))
                self.buf += chunk
        i = self.buf.index(needle.encode()) + len(needle)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out.decode(errors="replace")

    def cmd(self, line, until):
        """Sends a command; returns the output through the end of the line holding `until`."""
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()
        return self.read_until(until)

    def close(self):
        if self.closed:
            return
        self.closed = True
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b"quit\n")
                self.proc.stdin.flush()
                self.proc.wait(5)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()


class CliMtTest(unittest.TestCase):
    def test_script(self):
        srv = zkharness.start_target(self)
        cli = CliMt(srv.hosts)
        self.addCleanup(cli.close)
        cli.read_until("Got a new session id")
        # each expect() sends a line and waits (bounded) for the answer cli_mt must print
        expect = cli.cmd
        expect("create /climt", "[/climt]: rc = 0")
        expect("create +e /climt/eph", "[/climt/eph]: rc = 0")
        expect("create /climt", "[/climt]: rc = -110")          # ZNODEEXISTS
        expect("create /nope/child", "[/nope/child]: rc = -101")  # ZNONODE
        expect("set /climt hello", "/climt: rc = 0")
        expect("get /climt", "version=1")  # the Stat after one set
        expect("ls /climt", "\teph")
        expect("ls /", "\tclimt")
        expect("delete /climt", "/climt: rc = -111")             # ZNOTEMPTY
        expect("delete /climt/eph", "/climt/eph: rc = 0")
        expect("delete /climt", "/climt: rc = 0")
        expect("get /climt", "/climt: rc = -101")


if __name__ == "__main__":
    unittest.main()
