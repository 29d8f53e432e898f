"""Test harness for the coordinator: start samsa-coord or the real ZooKeeper 3.8 (Debian's
`zookeeper` package) on a free loopback port in a temporary directory, wait until it answers
`ruok`, and stop it by pid — always, even when a test fails (unittest cleanups and atexit).

Used by the integration tests and, as a command, by the benchmarks:
    zkharness.py start real|samsa <dir>   -> prints "127.0.0.1:<port> <pid>", leaves it running
    zkharness.py stop <pid>
The target of a test run is SAMSA_ZK_TARGET=samsa (default) or real.
"""
import atexit
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

COORD = os.environ.get("SAMSA_COORD")
if COORD:
    COORD = os.path.abspath(COORD)
ZK_CLASSPATH = "/usr/share/java/zookeeper.jar"
ZK_MAIN = "org.apache.zookeeper.server.ZooKeeperServerMain"

_live = []

# settings both servers get in tests (same key names: samsa reads ZooKeeper's)
_COMMON = {
    "tickTime": "2000",
    "clientPortAddress": "127.0.0.1",
    "4lw.commands.whitelist": "*",
    "maxClientCnxns": "0",
}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def four_letter(port, word, timeout=5.0):
    """Sends a four-letter word and returns the whole answer (the server closes after it)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(word.encode())
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    return out.decode(errors="replace")


class Server:
    """A running coordinator (ours or the real one)."""

    def __init__(self, kind, workdir, port, argv, env=None):
        self.kind = kind
        self.workdir = workdir
        self.port = port
        self.hosts = "127.0.0.1:%d" % port
        self.argv = argv
        self.env = env
        self.proc = None
        self.out = None

    def start(self, timeout=60):
        self.out = open(os.path.join(self.workdir, "%s.out" % self.kind), "ab")
        self.proc = subprocess.Popen(self.argv, stdout=self.out, stderr=subprocess.STDOUT,
                                     env=self.env, cwd=self.workdir, start_new_session=True)
        _live.append(self)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s; see %s" % (self.kind, self.proc.returncode,
                                                                  self.out.name))
            try:
                if (four_letter(self.port, "ruok", 1) == "imok" and
                        "not currently serving" not in four_letter(self.port, "srvr", 1)):
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("%s did not answer ruok within %ss" % (self.kind, timeout))

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=15):
        was_running = self.running()
        if was_running:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.out and not self.out.closed:
            self.out.close()
        if self in _live:
            _live.remove(self)
        if was_running:
            self.check_sanitizers()

    def check_sanitizers(self):
        check_sanitizer_output(os.path.join(self.workdir, "%s.out" % self.kind), self.kind)

    def kill9(self):
        if self.running():
            self.proc.kill()
            self.proc.wait()
        if self.out and not self.out.closed:
            self.out.close()
        if self in _live:
            _live.remove(self)

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def log_text(self):
        for name in ("logs/server.log", "%s.out" % self.kind):
            p = os.path.join(self.workdir, name)
            if os.path.exists(p) and name.endswith("server.log"):
                with open(p, errors="replace") as f:
                    return f.read()
        p = os.path.join(self.workdir, "%s.out" % self.kind)
        with open(p, errors="replace") as f:
            return f.read()


def check_sanitizer_output(path, who):
    """A daemon built with ASan/UBSan reports on its stderr (captured in path); any report
    fails the test."""
    if not os.path.exists(path):
        return
    with open(path, errors="replace") as f:
        text = f.read()
    for mark in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
        if mark in text:
            raise AssertionError("%s reported a sanitizer error:\n%s" % (who, text[-4000:]))


def write_props(path, base, extra):
    props = dict(base)
    props.update(extra or {})
    with open(path, "w") as f:
        for k, v in props.items():
            f.write("%s=%s\n" % (k, v))
    return path


def samsa_server(workdir, extra=None, port=None, coord=None):
    coord = coord or COORD
    if not coord:
        raise RuntimeError("SAMSA_COORD must name the samsa-coord binary")
    port = port or free_port()
    path = write_props(os.path.join(workdir, "zookeeper.properties"),
                       dict(_COMMON, dataDir=os.path.join(workdir, "data"), clientPort=str(port)), extra)
    env = dict(os.environ, LOG_DIR=os.path.join(workdir, "logs"))
    return Server("samsa", workdir, port, [coord, path], env)


def real_server(workdir, extra=None, port=None):
    port = port or free_port()
    path = write_props(os.path.join(workdir, "zoo.cfg"),
                       dict(_COMMON, dataDir=os.path.join(workdir, "zkdata"), clientPort=str(port),
                            **{"admin.enableServer": "false", "standaloneEnabled": "true"}), extra)
    env = dict(os.environ, ZOO_LOG_DIR=workdir)
    argv = ["java", "-Xss1m", "-Dzookeeper.admin.enableServer=false",
            "-Dzookeeper.4lw.commands.whitelist=*"]
    # ZooKeeper reads this one as a Java system property, samsa from the properties file
    if extra and "znode.container.checkIntervalMs" in extra:
        argv.append("-Dznode.container.checkIntervalMs=%s" % extra["znode.container.checkIntervalMs"])
    argv += ["-cp", ZK_CLASSPATH, ZK_MAIN, path]
    return Server("zookeeper", workdir, port, argv, env)


def target():
    return os.environ.get("SAMSA_ZK_TARGET", "samsa")


def start_target(testcase, extra=None):
    """Starts the server under test for a unittest.TestCase; cleaned up with the test."""
    tmp = tempfile.TemporaryDirectory(prefix="samsa-zk-")
    testcase.addCleanup(tmp.cleanup)
    if target() == "real":
        srv = real_server(tmp.name, extra)
    else:
        srv = samsa_server(tmp.name, extra)
    testcase.addCleanup(srv.stop)
    return srv.start()


@atexit.register
def _stop_all():
    for srv in list(_live):
        srv.stop(5)


def main(argv):
    if len(argv) >= 3 and argv[0] == "start":
        kind, workdir = argv[1], argv[2]
        os.makedirs(workdir, exist_ok=True)
        srv = real_server(workdir) if kind == "real" else samsa_server(workdir)
        srv.start()
        _live.remove(srv)  # leave it running
        print("%s %d" % (srv.hosts, srv.pid))
        return 0
    if len(argv) == 2 and argv[0] == "stop":
        pid = int(argv[1])
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return 0
        for _ in range(300):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return 0
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
