"""Crash test for samsa-coord: acknowledged writes survive kill -9 at random moments.

kazoo (Debian's python3-kazoo) writes sequential znodes with many requests outstanding and
records every write the server acknowledged; the coordinator is killed with SIGKILL at a random
moment, restarted on the same dataDir, and every acknowledged znode must be there with its data.
snapCount is small so snapshots (forked) and log replay after a snapshot are both exercised.
A second test tears the log's tail by hand (a partial record after the last good one) and checks
that the restart truncates it with a log line and loses nothing.
"""
import os
import random
import struct
import sys
import threading
import time
import unittest

from kazoo.client import KazooClient

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkharness  # noqa: E402
from samsatest.workdir import WorkDir  # noqa: E402


class CrashTest(unittest.TestCase):
    def setUp(self):
        self.assertTrue(zkharness.COORD, "SAMSA_COORD must name the samsa-coord binary")
        self.tmp = WorkDir(self, prefix="samsa-crash-")
        # snapCount is small so forked snapshots and replay after a snapshot both happen
        self.coord = zkharness.samsa_server(self.tmp.name, {"snapCount": "40"})
        self.addCleanup(self.coord.stop)

    def client(self):
        zk = KazooClient(hosts="127.0.0.1:%d" % self.coord.port, timeout=10,
                         connection_retry={"max_tries": 0}, command_retry={"max_tries": 0})
        zk.start(timeout=10)
        self.addCleanup(zk.close)
        self.addCleanup(zk.stop)
        return zk

    def write_until_killed(self, acked, round_no, kill_after):
        """Creates znodes with 64 requests in flight; kills the server after kill_after s."""
        zk = self.client()
        zk.ensure_path("/crash")
        lock = threading.Lock()
        stop = threading.Event()

        def on_done(path_data):
            def cb(async_result):
                try:
                    created = async_result.get_nowait()
                except Exception:
                    return
                with lock:
                    acked[created] = path_data

            return cb

        killer = threading.Timer(kill_after, lambda: (self.coord.kill9(), stop.set()))
        killer.start()
        i = 0
        inflight = []
        while not stop.is_set() and i < 100000:
            data = b"r%d-%d" % (round_no, i)
            r = zk.create_async("/crash/n-", data, sequence=True)
            r.rawlink(on_done(data))
            inflight.append(r)
            i += 1
            if len(inflight) >= 64:
                inflight.pop(0).wait(2)
        killer.join()
        for r in inflight:
            r.wait(2)
        zk.stop()
        zk.close()
        return i

    def verify(self, acked):
        zk = self.client()
        for path, data in acked.items():
            got, _ = zk.get(path)
            self.assertEqual(got, data, "acknowledged write %s lost or changed" % path)
        zk.stop()
        zk.close()

    def test_kill9_keeps_acknowledged_writes(self):
        rng = random.Random(int(os.environ.get("SAMSA_CRASH_SEED", "1234")))
        acked = {}
        sent = 0
        for round_no in range(6):
            self.coord.start()
            if round_no:
                self.verify(acked)
            sent += self.write_until_killed(acked, round_no, rng.uniform(0.2, 0.8))
        self.coord.start()
        self.verify(acked)
        self.assertGreater(len(acked), 100, "too few writes acknowledged to prove anything")
        print("crash test: %d writes sent, %d acknowledged, all present after 6 kill -9"
              % (sent, len(acked)), file=sys.stderr)
        self.assertIn("snapshot", self.coord.log_text())

    def test_torn_tail_truncated_with_log_line(self):
        self.coord.start()
        zk = self.client()
        for i in range(20):
            zk.create("/t%d" % i, b"v%d" % i)
        zk.stop()
        zk.close()
        self.coord.kill9()
        logdir = os.path.join(self.tmp.name, "data", "version-2")
        logs = sorted((f for f in os.listdir(logdir) if f.startswith("log.")),
                      key=lambda n: int(n[4:], 16))
        self.assertTrue(logs, "no log file written")
        path = os.path.join(logdir, logs[-1])
        with open(path, "r+b") as f:
            blob = f.read()
            off = 16  # header
            while off + 8 <= len(blob):
                (length,) = struct.unpack(">I", blob[off:off + 4])
                if length == 0:
                    break
                off += 16 + length
            # a record that claims 200 bytes and holds 10: a write torn by the crash
            f.seek(off)
            f.write(struct.pack(">II", 200, 0xDEADBEEF) + b"x" * 10)
        self.coord.start()
        log = self.coord.log_text()
        self.assertRegex(log, r"(?i)trunc", "no log line about the torn tail")
        zk = self.client()
        for i in range(20):
            self.assertEqual(zk.get("/t%d" % i)[0], b"v%d" % i)
        # and the server keeps working after the truncation
        zk.create("/after", b"ok")
        zk.stop()
        zk.close()
        self.coord.kill9()
        self.coord.start()
        zk = self.client()
        self.assertEqual(zk.get("/after")[0], b"ok")


if __name__ == "__main__":
    unittest.main()
