"""A local samsa-coord ensemble for the integration tests: n servers configured as ZooKeeper's
are (server.N lines, myid files), each on free loopback ports in its own directory under a
temporary folder, started and stopped (or killed) by pid; `mode(i)` reads `srvr`."""
import atexit
import os
import signal
import subprocess
import tempfile
import time

import zkharness


_live = []


@atexit.register
def _stop_all():
    """Whatever a test could not stop (an error in its cleanup) is stopped at exit."""
    for ens in list(_live):
        for i in ens.ids:
            ens._terminate(i)


class Ensemble:
    def __init__(self, testcase, n=3, extra=None, initial=None, observers=()):
        """n servers; the first `initial` (default all) are in every config file, the others
        list themselves too (they join by reconfig); `observers` are server ids."""
        self.tmp = tempfile.TemporaryDirectory(prefix="samsa-ens-")
        testcase.addCleanup(self.tmp.cleanup)
        testcase.addCleanup(self.stop_all)
        self.n = n
        _live.append(self)
        self.ids = list(range(1, n + 1))
        self.client = {i: zkharness.free_port() for i in self.ids}
        self.peer = {i: zkharness.free_port() for i in self.ids}
        self.procs = {}
        self.dirs = {}
        self.election = {i: zkharness.free_port() for i in self.ids}
        self.observers = set(observers)
        initial = initial or n
        for i in self.ids:
            d = os.path.join(self.tmp.name, "s%d" % i)
            os.makedirs(os.path.join(d, "data"))
            with open(os.path.join(d, "data", "myid"), "w") as f:
                f.write("%d\n" % i)
            props = {
                "tickTime": "2000", "initLimit": "10", "syncLimit": "5",
                "dataDir": os.path.join(d, "data"), "clientPort": str(self.client[i]),
                "clientPortAddress": "127.0.0.1", "4lw.commands.whitelist": "*", "maxClientCnxns": "0",
            }
            for j in self.ids:
                if j <= initial or j == i or i > initial:
                    props["server.%d" % j] = self.server_line(j).split("=", 1)[1]
            props.update(extra or {})
            zkharness.write_props(os.path.join(d, "zoo.cfg"), props, None)
            self.dirs[i] = d

    def server_line(self, i):
        return "server.%d=127.0.0.1:%d:%d:%s;127.0.0.1:%d" % (
            i, self.peer[i], self.election[i], "observer" if i in self.observers else "participant",
            self.client[i])

    def hosts(self, ids=None):
        return ",".join("127.0.0.1:%d" % self.client[i] for i in (ids or self.ids))

    def start(self, i):
        d = self.dirs[i]
        out = open(os.path.join(d, "out.txt"), "ab")
        env = dict(os.environ, LOG_DIR=os.path.join(d, "logs"))
        self.procs[i] = subprocess.Popen([zkharness.COORD, os.path.join(d, "zoo.cfg")], stdout=out,
                                         stderr=subprocess.STDOUT, env=env, cwd=d, start_new_session=True)
        out.close()

    def start_all(self):
        for i in self.ids:
            self.start(i)

    def running(self, i):
        p = self.procs.get(i)
        return p is not None and p.poll() is None

    def kill9(self, i):
        p = self.procs.get(i)
        if p and p.poll() is None:
            p.kill()
            p.wait()

    def _terminate(self, i):
        p = self.procs.get(i)
        if p and p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def stop(self, i):
        self._terminate(i)
        self.check_sanitizers(i)

    def stop_all(self):
        """Every server stops first (even if one of them reported a sanitizer error), then
        the reports are checked."""
        for i in self.ids:
            self._terminate(i)
        for i in self.ids:
            self.check_sanitizers(i)

    def check_sanitizers(self, i):
        zkharness.check_sanitizer_output(os.path.join(self.dirs[i], "out.txt"), "server %d" % i)

    def log(self, i):
        p = os.path.join(self.dirs[i], "logs", "server.log")
        with open(p, errors="replace") as f:
            return f.read()

    def four(self, i, word):
        try:
            return zkharness.four_letter(self.client[i], word, 1)
        except OSError:
            return ""

    def srvr(self, i):
        try:
            return zkharness.four_letter(self.client[i], "srvr", 1)
        except OSError:
            return ""

    def mode(self, i):
        text = self.srvr(i)
        if "not currently serving" in text:
            return "not-serving"
        for line in text.splitlines():
            if line.startswith("Mode: "):
                return line[6:]
        return "down"

    def leader(self):
        for i in self.ids:
            if self.running(i) and self.mode(i) == "leader":
                return i
        return None

    def wait_serving(self, ids=None, timeout=30):
        ids = ids or [i for i in self.ids if self.running(i)]
        deadline = time.time() + timeout
        while time.time() < deadline:
            modes = {i: self.mode(i) for i in ids}
            if all(m in ("leader", "follower", "observer") for m in modes.values()) and \
                    list(modes.values()).count("leader") == 1:
                return modes
            time.sleep(0.05)
        raise AssertionError("ensemble not serving within %ss: %r" % (timeout, {i: self.mode(i) for i in ids}))
