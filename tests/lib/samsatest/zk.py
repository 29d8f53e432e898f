"""One coordinator for a test: samsa-coord (SAMSA_COORD) or the real ZooKeeper 3.8 (Debian's
`zookeeper` package) on a reserved loopback port in a work directory; `start()` waits until it
answers `ruok` and serves, and fails at once if it exits meanwhile. The target of a test run is
SAMSA_ZK_TARGET=samsa (default) or real."""
import os

from .daemon import Daemon, DaemonExited, check_sanitizer_output  # noqa: F401
from .net import four_letter
from .ports import free_port
from .wait import wait_for
from .workdir import WorkDir

COORD = os.path.abspath(os.environ["SAMSA_COORD"]) if os.environ.get("SAMSA_COORD") else None
# servlet-api (libservlet-api-java): the AdminServer's Jetty needs it and zookeeper.jar's
# manifest does not name it (without it ZooKeeper starts with no AdminServer)
# netty-resolver and netty-codec: the Netty server (serverCnxnFactory, for secureClientPort) needs them
# and the manifest does not name them either
ZK_CLASSPATH = ("/usr/share/java/zookeeper.jar:/usr/share/java/servlet-api.jar:"
                "/usr/share/java/netty-resolver.jar:/usr/share/java/netty-codec.jar")
ZK_MAIN = "org.apache.zookeeper.server.ZooKeeperServerMain"

# settings both servers get in tests (same key names: samsa reads ZooKeeper's)
_COMMON = {
    "tickTime": "2000",
    "clientPortAddress": "127.0.0.1",
    "4lw.commands.whitelist": "*",
    "maxClientCnxns": "0",
}


def target():
    return os.environ.get("SAMSA_ZK_TARGET", "samsa")


def write_props(path, base, extra=None):
    props = dict(base)
    props.update(extra or {})
    with open(path, "w") as f:
        for k, v in props.items():
            f.write("%s=%s\n" % (k, v))
    return path


class Server(Daemon):
    """A running coordinator (ours or the real one)."""

    def __init__(self, kind, workdir, port, argv, env=None):
        self.kind = kind
        self.workdir = workdir
        self.port = port
        self.hosts = "127.0.0.1:%d" % port
        logs = [os.path.join(workdir, "logs", "server.log")] if kind == "samsa" else []
        Daemon.__init__(self, kind, argv, workdir, os.path.join(workdir, "%s.out" % kind), env, logs)

    def serving(self):
        try:
            return (four_letter(self.port, "ruok", 1) == "imok" and
                    "not currently serving" not in four_letter(self.port, "srvr", 1))
        except OSError:
            return False

    def start(self, timeout=60):
        Daemon.start(self)
        try:
            wait_for(lambda: self.check_running("serving") or self.serving(), timeout,
                     lambda: "%s to answer ruok on port %d\n%s" % (self.kind, self.port,
                                                                 self.log_tail()))
        except AssertionError:
            self.stop(check=False)
            raise
        return self

    def log_text(self):
        """Its server.log (samsa), else its output."""
        for p in self.logs + [self.out_path]:
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    return f.read()
        return ""


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
    if extra and "java.security.auth.login.config" in extra:
        argv.append("-Djava.security.auth.login.config=%s" % extra["java.security.auth.login.config"])
    argv += ["-cp", ZK_CLASSPATH, ZK_MAIN, path]
    return Server("zookeeper", workdir, port, argv, env)


def start_target(testcase, extra=None, kind=None):
    """Starts the server under test for a unittest.TestCase in a WorkDir; stopped (and the
    directory removed, or kept if the test fails) with the test."""
    work = WorkDir(testcase, prefix="samsa-zk-")
    if (kind or target()) == "real":
        srv = real_server(work.path, extra)
    else:
        srv = samsa_server(work.path, extra)
    testcase.addCleanup(srv.stop)
    return srv.start()
