"""The test harness itself (tests/lib/samsatest), and what daemons do when a port is taken.

Root cause of the ensemble that never served (issue 14): the harnesses' old free_port() bound
port 0, closed, and handed the number on. The kernel draws bind(0) ports at random from the same
ephemeral range every time, so the ports of one ensemble (client and peer port of each server)
could repeat, and another process's bind(0) could get one before our daemon bound it; the
daemon then could not bind its port and exited, and the harness, not looking at it, waited 30 s
for an answer and reported the server as 'down'. Pinned here:
  - ports come from outside the kernel's ephemeral range, are never handed out twice, not even
    to two processes asking at the same time, and never while something listens on them;
  - a daemon whose port (client, peer, broker listener) is taken says so and exits non-zero at
    once, and the harness fails at once with its log tail;
  - a failed test keeps its work directory and names it in the failure message; a passing one
    leaves nothing;
  - a broker cluster's waits expect the brokers the test has not stopped, killed or paused, and a
    broker that dies without the test doing it fails a wait at once.
"""
import io
import os
import socket
import subprocess
import sys
import signal
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from samsatest import ensemble, kb, ports, zk  # noqa: E402
from samsatest.daemon import DaemonExited  # noqa: E402
from samsatest.workdir import SharedFixtureTest, WorkDir  # noqa: E402

PY = "/usr/bin/python3"
LIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib")


def listener(port):
    s = socket.socket()
    s.bind(("127.0.0.1", port))
    s.listen(1)
    return s


class PortTest(unittest.TestCase):
    def test_ports_are_outside_the_ephemeral_range_and_distinct(self):
        lo, hi = ports.ephemeral_range()
        first, last = ports.port_range()
        self.assertTrue(last < lo or first > hi, (first, last, lo, hi))
        got = [ports.free_port() for _ in range(300)]
        self.assertEqual(len(set(got)), len(got))
        for p in got:
            self.assertTrue(first <= p <= last)
        # the old way, for comparison: bind(0) ports are drawn from the ephemeral range, where
        # the kernel also draws them for every other bind(0) and connect()
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.assertTrue(lo <= s.getsockname()[1] <= hi)
        s.close()

    def test_other_ranges(self):
        self.assertEqual(ports.port_range((32768, 60999)), (20768, 32767))
        self.assertEqual(ports.port_range((10000, 40000)), (40001, 52000))
        with self.assertRaises(RuntimeError):
            ports.port_range((1024, 65000))

    def test_parallel_processes_never_share_a_port(self):
        """Four processes each reserve 150 ports at the same time and hold them: no port is
        handed to two of them, and none to this process either."""
        mine = {ports.free_port() for _ in range(50)}
        code = ("import sys; sys.path.insert(0, %r); from samsatest import ports; "
                "ps = [ports.free_port() for _ in range(150)]; print(' '.join(map(str, ps)), flush=True); "
                "sys.stdin.read()" % LIB)
        procs = [subprocess.Popen([PY, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                 for _ in range(4)]
        try:
            sets = [set(map(int, p.stdout.readline().split())) for p in procs]
        finally:
            for p in procs:
                p.stdin.close()
                p.wait(30)
                p.stdout.close()
        for s in sets:
            self.assertEqual(len(s), 150)
        everything = set().union(*sets, mine)
        self.assertEqual(len(everything), 4 * 150 + len(mine), "a port was handed out twice")

    def test_a_port_in_use_or_reserved_elsewhere_is_skipped(self):
        first, last = ports.port_range()
        cands = [p for p in range(first, last + 1) if p not in ports._held][:200]
        # another process listens on one candidate and reserves the next (as a test holding
        # ports for its daemons does)
        code = ("import socket, sys; sys.path.insert(0, %r); from samsatest import ports; "
                "l = ports.first_free(%r); s = socket.socket(); s.bind(('127.0.0.1', l)); "
                "ports.release(l); s.listen(1); r = ports.first_free(%r); "
                "print(l, r, flush=True); sys.stdin.read()" % (LIB, cands, cands))
        p = subprocess.Popen([PY, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            listened, reserved = map(int, p.stdout.readline().split())
            got = ports.first_free(cands)
            self.assertNotIn(got, (listened, reserved))
            self.assertGreater(cands.index(got), max(cands.index(listened), cands.index(reserved)))
            self.assertIsNone(ports.first_free([listened, reserved]))
        finally:
            p.stdin.close()
            p.wait(30)
            p.stdout.close()
        # once that process is gone, the port it only reserved is free again
        self.assertEqual(ports.first_free([reserved]), reserved)


class PortTakenTest(unittest.TestCase):
    """A daemon whose port is taken exits non-zero at once, saying so; the harness notices at
    once instead of waiting out its bound."""

    def test_coord_client_port_taken(self):
        work = WorkDir(self, "samsa-harness-")
        port = ports.free_port()
        busy = listener(port)
        self.addCleanup(busy.close)
        srv = zk.samsa_server(work.path, port=port)
        self.addCleanup(srv.stop)
        t0 = time.monotonic()
        with self.assertRaises(DaemonExited) as cm:
            srv.start(timeout=120)
        self.assertLess(time.monotonic() - t0, 30)
        msg = str(cm.exception)
        self.assertIn("exited with status 1", msg)
        self.assertIn("cannot listen on 127.0.0.1:%d: Address already in use" % port, msg)
        with open(os.path.join(work.path, "logs", "server.log")) as f:
            self.assertIn("cannot listen on 127.0.0.1:%d: Address already in use" % port, f.read())

    def test_coord_peer_port_taken(self):
        ens = ensemble.Ensemble(3, kind="samsa", testcase=self)
        busy = listener(ens[2].peer_port)
        self.addCleanup(busy.close)
        ens.start()
        t0 = time.monotonic()
        with self.assertRaises(DaemonExited) as cm:
            ens.wait_serving(timeout=120)
        self.assertLess(time.monotonic() - t0, 30)
        msg = str(cm.exception)
        self.assertIn("server 2 exited with status 1", msg)
        self.assertIn("peer port: cannot listen on 127.0.0.1:%d: Address already in use"
                      % ens[2].peer_port, msg)
        self.assertIn("peer port: cannot listen", ens.log(2))

    def test_broker_listener_taken(self):
        cluster = kb.Cluster(self, brokers=0)
        b = kb.Broker(cluster, 0, None)
        self.addCleanup(b.stop)
        busy = listener(b.port)
        self.addCleanup(busy.close)
        b.start()
        t0 = time.monotonic()
        with self.assertRaises(DaemonExited) as cm:
            b.wait_ready(timeout=120)
        self.assertLess(time.monotonic() - t0, 30)
        msg = str(cm.exception)
        self.assertIn("broker 0 exited with status 1", msg)
        self.assertIn("cannot listen on 127.0.0.1:%d: Address already in use" % b.port, msg)
        self.assertIn("cannot listen on 127.0.0.1:%d" % b.port, b.log_text())

    def test_cluster_faults_by_pid_and_unexpected_exit(self):
        """kb.Cluster: the brokers a test stops, kills or pauses leave the ones its waits expect
        (and come back when started or resumed); a broker that dies without the test doing it
        fails a wait at once, naming it."""
        c = kb.Cluster(self, brokers=2)
        self.assertEqual(c.wait_brokers(), c.controller())
        self.assertEqual(c.live_ids(), [0, 1])
        pid = c.broker(1).pid
        c.pause(1)
        self.assertEqual((c.live_ids(), [b.id for b in c.expected()]), ([0], [0, 1]))
        c.resume(1)
        c.kill9(1)
        self.assertEqual((c.live_ids(), c.broker(1).running()), ([0], False))
        c.wait_brokers()  # broker 0 alone, once broker 1's registration is gone
        c.restart(1, clean=False)
        self.assertNotEqual(c.broker(1).pid, pid)
        c.wait_brokers([0, 1])
        os.kill(c.broker(0).pid, signal.SIGKILL)  # not through the harness
        t0 = time.monotonic()
        with self.assertRaises(DaemonExited) as cm:
            c.wait_brokers(timeout=60)
        self.assertLess(time.monotonic() - t0, 10)
        self.assertIn("broker 0 was killed by signal 9", str(cm.exception))


class WorkDirTest(unittest.TestCase):
    """A failed test keeps its work directory and names it in its failure message; a passing
    test's directory is gone."""

    def run_case(self, fail):
        seen = {}

        class Case(unittest.TestCase):
            def test(inner):
                w = WorkDir(inner, "samsa-harness-wd-")
                seen["path"] = w.path
                with open(os.path.join(w.path, "server.log"), "w") as f:
                    f.write("log\n")
                if fail:
                    inner.fail("on purpose")

        stream = io.StringIO()
        old = sys.stderr
        sys.stderr = io.StringIO()  # the note is printed too; keep this test's output clean
        try:
            result = unittest.TextTestRunner(stream=stream, verbosity=0).run(
                unittest.defaultTestLoader.loadTestsFromTestCase(Case))
        finally:
            sys.stderr = old
        return result, stream.getvalue(), seen["path"]

    def test_passing_test_cleans_up(self):
        result, _, path = self.run_case(False)
        self.assertTrue(result.wasSuccessful())
        self.assertFalse(os.path.exists(path))

    def test_failed_test_keeps_its_directory(self):
        result, out, path = self.run_case(True)
        self.addCleanup(lambda: __import__("shutil").rmtree(path, ignore_errors=True))
        self.assertFalse(result.wasSuccessful())
        self.assertTrue(os.path.exists(os.path.join(path, "server.log")))
        self.assertIn("work directory kept: %s" % path, out)
        self.assertIn("on purpose", out)


class SharedFixtureTestTest(unittest.TestCase):
    """Daemons shared by a class (SharedFixtureTest): their work directory is kept, and named in
    the failed test's message, when any test of the class or its setUpClass failed; removed when
    every test passed; the class cleanups run even when setUpClass fails."""

    def run_class(self, fail_test=False, fail_setup=False):
        seen = {"cleaned": False}

        class Case(SharedFixtureTest):
            @classmethod
            def setUpClass(cls):
                fx = cls.fixture()
                w = WorkDir(fx, "samsa-harness-fx-")
                seen["path"] = w.path
                cls.addClassCleanup(lambda: seen.__setitem__("cleaned", True))
                with open(os.path.join(w.path, "server.log"), "w") as f:
                    f.write("log\n")
                if fail_setup:
                    raise RuntimeError("setUpClass failed on purpose")
                fx.ready()

            def test_a(inner):
                pass

            def test_b(inner):
                if fail_test:
                    inner.fail("on purpose")

        stream = io.StringIO()
        old = sys.stderr
        sys.stderr = io.StringIO()
        try:
            result = unittest.TextTestRunner(stream=stream, verbosity=0).run(
                unittest.defaultTestLoader.loadTestsFromTestCase(Case))
        finally:
            sys.stderr = old
        self.addCleanup(lambda: __import__("shutil").rmtree(seen["path"], ignore_errors=True))
        self.assertTrue(seen["cleaned"])
        return result, stream.getvalue(), seen["path"]

    def test_passing_class_cleans_up(self):
        result, _, path = self.run_class()
        self.assertTrue(result.wasSuccessful())
        self.assertFalse(os.path.exists(path))

    def test_failed_test_keeps_the_shared_directory(self):
        result, out, path = self.run_class(fail_test=True)
        self.assertFalse(result.wasSuccessful())
        self.assertTrue(os.path.exists(os.path.join(path, "server.log")))
        self.assertIn("work directory kept: %s" % path, out)

    def test_failed_setup_keeps_the_directory_and_cleans_up(self):
        result, out, path = self.run_class(fail_setup=True)
        self.assertFalse(result.wasSuccessful())
        self.assertTrue(os.path.exists(os.path.join(path, "server.log")))


if __name__ == "__main__":
    unittest.main()
