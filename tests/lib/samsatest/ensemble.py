"""A coordinator ensemble for the fault tests: 3 or 5 servers of one kind, the real ZooKeeper 3.8
(Debian's `zookeeper` package, QuorumPeerMain) or samsa-coord, configured exactly as ZooKeeper is:
one properties file per server with the same keys (tickTime, initLimit, syncLimit, dataDir,
clientPort, clientPortAddress and one `server.N=host:peerPort:electionPort` line per member), and
a `myid` file in each dataDir. The kind is SAMSA_ZK_TARGET=real|samsa (default real; the
integration tests ask for samsa; samsa-coord comes from SAMSA_COORD and gets LOG_DIR).
`initial` servers (default all) are in every config file, the others list themselves too (they
join by reconfig); `observers` are server ids that replicate without voting.

Two network layouts:
  loopback  every server on 127.0.0.1 with its own ports; clients run on the host.
  netns     every server in its own network namespace with one veth to a bridge that lives in
            another namespace, addresses 10.201.0.11.. in 10.201.0.0/24; clients run in a client
            namespace (10.201.0.100) on the same bridge, launched with `ip netns exec`.
            cut(i) takes server i's bridge port down, heal(i) brings it back. Nothing is added
            to the host's own namespace: every link and address lives inside the namespaces.

Processes are ended by pid only. close() (registered with addCleanup when a testcase is given,
and at exit) kills every server and client this module started and deletes its namespaces, also
when a test fails; namespaces left by a run that was itself killed (named samsaf<pid>-*, pid
dead) are deleted by the next run. The work directory (configs, data, logs) is a WorkDir of the
testcase: removed when the test passes, kept (path in the failure message) when it fails, or
with keep set or SAMSA_KEEP=1 / SAMSA_FAULT_KEEP=1. Waiting for the ensemble to serve fails at
once, with the server's log tail, when a server exits meanwhile (e.g. it could not bind a port).

Four-letter words to a server in a namespace are sent from a short-lived thread that has
entered that namespace (setns(2) is per thread), so no process is spawned per query.
"""
import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from .daemon import DaemonExited, _pdeathsig, check_sanitizer_output, read_tail
from .net import four_letter as _four_letter
from .net import in_netns  # noqa: F401 (part of this module's interface)
from .ports import free_port
from .workdir import WorkDir

PYTHON = "/usr/bin/python3"  # Debian's, which has kazoo
# zookeeper.jar's manifest Class-Path names its dependencies (netty, jetty, jackson, slf4j-api,
# metrics-core, snappy, commons-*); slf4j-simple is added so the servers log (to stderr), and
# servlet-api (libservlet-api-java), which its Jetty AdminServer needs and the manifest omits.
ZK_CLASSPATH = ("/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar:"
                "/usr/share/java/servlet-api.jar")
ZK_MAIN = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
# small heaps and the C1 JIT only: five JVMs start quickly on a 2-core machine
JVM_TEST_OPTS = ["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]

SUBNET = "10.201.0"
CLIENT_ADDR = SUBNET + ".100"
NS_PREFIX = "samsaf"

# fault-test timing: a tick of 1 s keeps elections and session moves short; sessions may last
# 2..20 ticks, clients ask for 8 s
TEST_SETTINGS = {"tickTime": "1000", "initLimit": "10", "syncLimit": "3"}
DEFAULT_SETTINGS = {"tickTime": "2000", "initLimit": "10", "syncLimit": "5"}

MODES = ("leader", "follower", "observer", "standalone")

_live = []


def target():
    return os.environ.get("SAMSA_ZK_TARGET", "real")


def coord_binary():
    coord = os.environ.get("SAMSA_COORD")
    return os.path.abspath(coord) if coord else None


def ip(*args, check=True):
    """Runs `ip ARGS`; a failure raises with ip's own message."""
    r = subprocess.run(["ip"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if check and r.returncode != 0:
        raise RuntimeError("ip %s: %s" % (" ".join(args), r.stderr.strip()))
    return r


def four_letter(host, port, word, ns=None, timeout=3.0):
    """Sends a four-letter word to host:port (from namespace ns) and returns the answer."""
    return _four_letter(port, word, timeout, host, ns)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def remove_stale_namespaces():
    """Deletes namespaces named samsaf<pid>-* whose creating process no longer exists."""
    r = ip("netns", "list", check=False)
    for line in r.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.match(r"^%s(\d+)x\d+-" % NS_PREFIX, name)
        if m and not _pid_alive(int(m.group(1))):
            ip("netns", "del", name, check=False)


def netns_unavailable():
    """None when this process may create network namespaces, else why not."""
    if os.geteuid() != 0:
        return "not root"
    if not shutil.which("ip"):
        return "no ip command (iproute2)"
    if not os.path.isdir("/proc/self/ns") or not os.path.exists("/proc/self/ns/net"):
        return "kernel without network namespaces"
    return None


class Netns:
    """The namespaces of one ensemble: a bridge namespace, one per server, one for clients."""
    _count = 0

    def __init__(self, n):
        Netns._count += 1
        prefix = "%s%dx%d" % (NS_PREFIX, os.getpid(), Netns._count)
        self.bridge_ns = prefix + "-br"
        self.client_ns = prefix + "-cl"
        self.server_ns = {i: prefix + "-s%d" % i for i in range(1, n + 1)}
        self.created = []

    @staticmethod
    def addr(i):
        return "%s.%d" % (SUBNET, 10 + i)

    def _add(self, ns):
        ip("netns", "add", ns)
        self.created.append(ns)
        ip("-n", ns, "link", "set", "lo", "up")

    def _attach(self, ns, port, addr):
        """A veth pair made inside the bridge namespace, its far end moved into ns as eth0."""
        ip("-n", self.bridge_ns, "link", "add", port, "type", "veth", "peer", "name", "eth0",
           "netns", ns)
        ip("-n", self.bridge_ns, "link", "set", port, "master", "br0", "up")
        ip("-n", ns, "addr", "add", addr + "/24", "dev", "eth0")
        ip("-n", ns, "link", "set", "eth0", "up")

    def setup(self):
        remove_stale_namespaces()
        try:
            self._add(self.bridge_ns)
            ip("-n", self.bridge_ns, "link", "add", "br0", "type", "bridge")
            ip("-n", self.bridge_ns, "link", "set", "br0", "up")
            for i, ns in self.server_ns.items():
                self._add(ns)
                self._attach(ns, "v%d" % i, self.addr(i))
            self._add(self.client_ns)
            self._attach(self.client_ns, "vc", CLIENT_ADDR)
        except BaseException:
            self.teardown()
            raise

    def cut(self, i):
        ip("-n", self.bridge_ns, "link", "set", "v%d" % i, "down")

    def heal(self, i):
        ip("-n", self.bridge_ns, "link", "set", "v%d" % i, "up")

    def teardown(self):
        """Deleting a namespace destroys its veth ends and so their peers; callers end the
        processes inside first (a namespace lives on while a process is in it)."""
        for ns in reversed(self.created):
            ip("netns", "del", ns, check=False)
        self.created = []


class Member:
    """One server of the ensemble: its config file, data dir, process and log."""

    def __init__(self, ens, sid, host, client_port, peer_port, election_port):
        self.ens = ens
        self.sid = sid
        self.host = host
        self.client_port = client_port
        self.peer_port = peer_port
        self.election_port = election_port
        self.dir = os.path.join(ens.dir, "s%d" % sid)
        self.data_dir = os.path.join(self.dir, "data")
        self.cfg = os.path.join(self.dir, "zoo.cfg" if ens.kind == "real" else "zookeeper.properties")
        self.out_path = os.path.join(self.dir, "server.out")
        self.ns = ens.net.server_ns[sid] if ens.net else None
        self.proc = None
        self.pid = None
        self.paused = False
        self.wanted = False  # started by the harness and not stopped or killed by it since

    @property
    def hostport(self):
        return "%s:%d" % (self.host, self.client_port)

    def server_line(self, full=None):
        """server.N=host:peer:election, with :participant|observer;host:clientPort when full
        (default: when observers or members joining by reconfig need it; both kinds write the
        same lines, so that their `conf` answers compare)."""
        if full is None:
            full = bool(self.ens.observers) or self.ens.initial < self.ens.n
        line = "server.%d=%s:%d:%d" % (self.sid, self.host, self.peer_port, self.election_port)
        if full:
            line += ":%s;%s:%d" % ("observer" if self.sid in self.ens.observers else "participant",
                                   self.host, self.client_port)
        return line

    def write_config(self, settings, members):
        os.makedirs(self.data_dir, exist_ok=True)
        with open(os.path.join(self.data_dir, "myid"), "w") as f:
            f.write("%d\n" % self.sid)
        props = dict(settings)
        props.update({
            "dataDir": self.data_dir,
            "clientPort": str(self.client_port),
            "clientPortAddress": self.host,
            "4lw.commands.whitelist": "*",
            "maxClientCnxns": "0",
            "admin.enableServer": "false",
        })
        if self.sid in self.ens.observers and self.ens.kind == "real":
            props["peerType"] = "observer"
        props.update(self.ens.extra)
        with open(self.cfg, "w") as f:
            for k, v in props.items():
                f.write("%s=%s\n" % (k, v))
            for m in members:
                f.write(m.server_line() + "\n")

    def argv(self):
        if self.ens.kind == "real":
            argv = ["java"] + self.ens.jvm_opts + [
                "-Dzookeeper.admin.enableServer=false", "-Dzookeeper.4lw.commands.whitelist=*",
                "-Dorg.slf4j.simpleLogger.showDateTime=true",
                "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
                "-cp", ZK_CLASSPATH, ZK_MAIN, self.cfg]
        else:
            coord = coord_binary()
            if not coord:
                raise RuntimeError("SAMSA_COORD must name the samsa-coord binary")
            argv = [coord, self.cfg]
        if self.ns:
            argv = ["ip", "netns", "exec", self.ns] + argv
        return argv

    def env(self):
        env = dict(os.environ, LOG_DIR=os.path.join(self.dir, "logs"), ZOO_LOG_DIR=self.dir)
        return env

    def start(self):
        if self.running():
            raise RuntimeError("server %d is already running" % self.sid)
        with open(self.out_path, "ab") as out:
            out.write(b"==== start %s\n" % time.strftime("%H:%M:%S").encode())
            out.flush()
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, env=self.env(), cwd=self.dir,
                                         start_new_session=True,
                                         preexec_fn=_pdeathsig if self.ens.pdeathsig else None)
        self.pid = self.proc.pid
        self.paused = False
        self.wanted = True

    def running(self):
        if self.proc is not None:
            return self.proc.poll() is None
        return self.pid is not None and _pid_alive(self.pid)

    def _wait_gone(self, timeout):
        deadline = time.time() + timeout
        if self.proc is not None:
            try:
                self.proc.wait(timeout)
                return True
            except subprocess.TimeoutExpired:
                return False
        while time.time() < deadline:
            if not _pid_alive(self.pid):
                return True
            time.sleep(0.02)
        return False

    def kill9(self):
        self.wanted = False
        if self.running():
            os.kill(self.pid, signal.SIGKILL)
            self._wait_gone(30)
        self.paused = False

    def stop(self, timeout=15, check=True):
        """SIGTERM (and SIGCONT, should it be stopped), SIGKILL after timeout; then (check) a
        sanitizer report in its output fails the test."""
        self.wanted = False
        if self.running():
            os.kill(self.pid, signal.SIGTERM)
            os.kill(self.pid, signal.SIGCONT)
            if not self._wait_gone(timeout):
                self.kill9()
        self.paused = False
        if check:
            self.check_sanitizers()

    def pause(self):
        os.kill(self.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self):
        os.kill(self.pid, signal.SIGCONT)
        self.paused = False

    def srvr(self, timeout=2.0):
        return four_letter(self.host, self.client_port, "srvr", self.ns, timeout)

    def mode(self, timeout=2.0):
        """leader|follower|observer|standalone from `srvr`; 'not-serving' when the server says
        so (no quorum); 'down' when it does not answer (stopped, paused, not listening)."""
        if not self.running() or self.paused:
            return "down"
        try:
            text = self.srvr(timeout)
        except OSError:
            return "down"
        if "not currently serving" in text:
            return "not-serving"
        m = re.search(r"^Mode: (\w+)", text, re.M)
        return m.group(1) if m else "down"

    def zxid(self):
        m = re.search(r"^Zxid: (0x[0-9a-f]+)", self.srvr(), re.M)
        return int(m.group(1), 16) if m else None

    def log_path(self):
        """samsa-coord's logs/server.log; the real one logs to its output."""
        return os.path.join(self.dir, "logs", "server.log") if self.ens.kind == "samsa" else self.out_path

    def log(self):
        with open(self.log_path(), errors="replace") as f:
            return f.read()

    def log_tail(self, nbytes=6000):
        text = ""
        for path in dict.fromkeys((self.out_path, self.log_path())):
            t = read_tail(path, nbytes)
            if t is not None:
                text += "---- %s\n%s\n" % (path, t)
        return text

    def check_running(self):
        """Raises DaemonExited with its exit status and log tail if the harness started it and
        it exited on its own."""
        if self.wanted and self.proc is not None and self.proc.poll() is not None:
            rc = self.proc.returncode
            how = "was killed by signal %d" % -rc if rc < 0 else "exited with status %d" % rc
            raise DaemonExited("server %d %s while the test waited for the ensemble to serve\n%s"
                               % (self.sid, how, self.log_tail()))

    def check_sanitizers(self):
        """A samsa-coord built with ASan/UBSan reports on stderr; any report fails the test."""
        if self.ens.kind == "samsa":
            check_sanitizer_output(self.out_path, "server %d" % self.sid)

    def state(self):
        return {"sid": self.sid, "host": self.host, "client_port": self.client_port,
                "peer_port": self.peer_port, "election_port": self.election_port,
                "pid": self.pid if self.running() else None}


class Ensemble:
    """n servers of one kind; ids 1..n as in the config. See the module comment."""

    def __init__(self, n=3, kind=None, netns=False, settings=None, workdir=None, pdeathsig=True,
                 jvm_opts=None, testcase=None, initial=None, observers=(), extra=None):
        """settings: tickTime etc. (default TEST_SETTINGS); extra: further keys for every config
        file; testcase: its WorkDir holds the ensemble and close() is one of its cleanups."""
        if n < 1:
            raise ValueError("n must be >= 1")
        self.n = n
        self.kind = kind or target()
        if self.kind not in ("real", "samsa"):
            raise ValueError("kind must be real or samsa, not %r" % self.kind)
        self.settings = dict(TEST_SETTINGS)
        self.settings.update(settings or {})
        self.pdeathsig = pdeathsig
        self.jvm_opts = list(JVM_TEST_OPTS if jvm_opts is None else jvm_opts)
        self.initial = initial or n
        self.observers = set(observers)
        self.extra = dict(extra or {})
        self.work = None
        if workdir is None and testcase is not None:
            self.work = WorkDir(testcase, prefix="samsa-ens-")
            workdir = self.work.path
        self.own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="samsa-ens-")
        os.makedirs(self.dir, exist_ok=True)
        self.net = Netns(n) if netns else None
        self.clients = []
        self.closed = False
        self.keep = bool(os.environ.get("SAMSA_FAULT_KEEP") or os.environ.get("SAMSA_KEEP"))
        self.members = {}
        if self.net:
            self.net.setup()
        _live.append(self)
        for i in range(1, n + 1):
            if self.net:
                self.members[i] = Member(self, i, Netns.addr(i), 2180 + i, 2880 + i, 3880 + i)
            else:
                self.members[i] = Member(self, i, "127.0.0.1", free_port(), free_port(), free_port())
        for m in self.members.values():
            m.write_config(self.settings, [o for o in self.members.values()
                                           if o.sid <= self.initial or o.sid == m.sid or m.sid > self.initial])
        if testcase is not None:
            testcase.addCleanup(self.close)

    # -- membership ----------------------------------------------------------------------------

    def __getitem__(self, i):
        return self.members[i]

    @property
    def ids(self):
        return sorted(self.members)

    def hosts(self, ids=None):
        """Connect string of the given servers (all by default)."""
        return ",".join(self.members[i].hostport for i in (ids or self.ids))

    @property
    def session_timeout_ms(self):
        return 20 * int(self.settings["tickTime"])

    # -- processes -------------------------------------------------------------------------------

    def start(self, i=None):
        """Starts server i, or all of them; does not wait (see wait_serving)."""
        for sid in ([i] if i else self.ids):
            self.members[sid].start()

    def start_all(self):
        self.start()

    def stop(self, i):
        self.members[i].stop()

    def stop_all(self):
        """Every server stops first (even if one of them reported a sanitizer error), then the
        reports are checked."""
        for m in self.members.values():
            m.stop(check=False)
        for m in self.members.values():
            m.check_sanitizers()

    def running(self, i):
        return self.members[i].running()

    def check_sanitizers(self, i):
        self.members[i].check_sanitizers()

    def kill9(self, i):
        self.members[i].kill9()

    def pause(self, i):
        self.members[i].pause()

    def resume(self, i):
        self.members[i].resume()

    def cut(self, i):
        self._need_net().cut(i)

    def heal(self, i):
        self._need_net().heal(i)

    def _need_net(self):
        if not self.net:
            raise RuntimeError("cut/heal need an ensemble made with netns=True")
        return self.net

    # -- queries ---------------------------------------------------------------------------------

    def mode(self, i):
        return self.members[i].mode()

    def modes(self, ids=None):
        return {i: self.members[i].mode() for i in (ids or self.ids)}

    def leader(self, ids=None):
        """The id of the server whose `srvr` says Mode: leader, None if none does; if more than
        one does (a deposed leader that has not noticed yet), the one with the highest zxid."""
        leaders = [i for i, mode in self.modes(ids).items() if mode == "leader"]
        if len(leaders) > 1:
            zx = {}
            for i in leaders:
                try:
                    zx[i] = self.members[i].zxid() or 0
                except OSError:
                    zx[i] = -1
            leaders.sort(key=lambda i: zx[i], reverse=True)
        return leaders[0] if leaders else None

    def log(self, i):
        """Server i's whole log."""
        return self.members[i].log()

    def four(self, i, word, timeout=1.0):
        """Server i's answer to a four-letter word, "" when it does not answer."""
        m = self.members[i]
        try:
            return four_letter(m.host, m.client_port, word, m.ns, timeout)
        except OSError:
            return ""

    def srvr(self, i):
        return self.four(i, "srvr")

    def server_line(self, i):
        return self.members[i].server_line()

    def followers(self, ids=None):
        return [i for i, mode in self.modes(ids).items() if mode in ("follower", "observer")]

    def wait_serving(self, ids=None, timeout=90):
        """Polls `srvr` until every server in ids (default: every started, unpaused one) serves as
        leader, follower or observer, exactly one of them the leader; returns the leader's id.
        Raises with each server's mode and log tail when that does not happen in time, and at
        once when a server answers standalone (it cannot form an ensemble)."""
        deadline = time.time() + timeout
        modes = {}
        while True:
            want = ids or [i for i in self.ids if self.members[i].wanted
                           and not self.members[i].paused]
            for i in want:
                self.members[i].check_running()
            modes = self.modes(want)
            for i in want:  # exited while asked
                self.members[i].check_running()
            if "standalone" in modes.values():
                raise NotEnsembleError("%s answers Mode: standalone to srvr: it cannot form an "
                                       "ensemble (modes %s)" % (self.kind, modes))
            leaders = [i for i, mode in modes.items() if mode == "leader"]
            if len(leaders) == 1 and all(mode in ("leader", "follower", "observer")
                                         for mode in modes.values()):
                return leaders[0]
            if time.time() > deadline:
                break
            time.sleep(0.1)
        raise AssertionError("ensemble not serving after %ss: modes %s\n%s" % (
            timeout, modes, "\n".join(self.members[i].log_tail(2000) for i in (ids or self.ids))))

    def wait_mode(self, i, modes, timeout=60):
        """Polls server i until its mode is one of modes; returns it."""
        deadline = time.time() + timeout
        while True:
            mode = self.members[i].mode()
            if mode in modes:
                return mode
            if time.time() > deadline:
                raise RuntimeError("server %d still %s after %ss, wanted %s"
                                   % (i, mode, timeout, modes))
            time.sleep(0.1)

    def wait_new_leader(self, old, ids=None, timeout=60):
        """Polls until a server other than old, among ids, is the leader that the rest of ids
        follow; returns its id."""
        ids = ids or [i for i in self.ids if i != old]
        lid = self.wait_serving(ids, timeout)
        if lid == old:
            raise RuntimeError("server %d is still the leader" % old)
        return lid

    # -- clients ---------------------------------------------------------------------------------

    def client_argv(self, argv, ns=None):
        """argv prefixed to run in the client namespace (netns mode) or in ns when given."""
        ns = ns or (self.net.client_ns if self.net else None)
        return (["ip", "netns", "exec", ns] if ns else []) + list(argv)

    def client_popen(self, argv, ns=None, **kw):
        """Starts a client process (killed by pid in close()); argv runs under Debian's python3
        when it names a .py file."""
        if argv and argv[0].endswith(".py"):
            argv = [PYTHON] + list(argv)
        proc = subprocess.Popen(self.client_argv(argv, ns), start_new_session=True,
                                preexec_fn=_pdeathsig if self.pdeathsig else None,
                                env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"), **kw)
        self.clients.append(proc)
        return proc

    def client_run(self, argv, ns=None, timeout=120):
        """Runs a client to completion; returns (exit status, stdout, stderr)."""
        proc = self.client_popen(argv, ns, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            raise RuntimeError("client %s timed out after %ss: %s" % (argv, timeout, err[-2000:]))
        finally:
            if proc in self.clients:
                self.clients.remove(proc)
        return proc.returncode, out, err

    # -- teardown --------------------------------------------------------------------------------

    def close(self):
        """Kills clients and servers (by pid), deletes namespaces and the work directory."""
        if self.closed:
            return
        self.closed = True
        errors = []
        for proc in self.clients:
            if proc.poll() is None:
                proc.kill()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self.clients = []
        for m in self.members.values():
            try:
                m.stop(timeout=10)
            except AssertionError as e:  # sanitizer report: still tear down the rest
                errors.append(e)
        if self.net:
            self.net.teardown()
        if self in _live:
            _live.remove(self)
        if self.work is not None:
            if self.keep:
                self.work.keep = True
        elif self.own_dir:
            if self.keep:
                print("ensemble: kept %s" % self.dir, file=sys.stderr)
            else:
                shutil.rmtree(self.dir, ignore_errors=True)
        if errors:
            raise errors[0]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def logs(self, nbytes=3000):
        return "\n".join(m.log_tail(nbytes) for m in self.members.values())

    # -- state for the command line --------------------------------------------------------------

    def save(self):
        state = {"n": self.n, "kind": self.kind, "settings": self.settings,
                 "jvm_opts": self.jvm_opts, "dir": self.dir,
                 "members": [m.state() for m in self.members.values()]}
        with open(os.path.join(self.dir, "ensemble.json"), "w") as f:
            json.dump(state, f)

    @classmethod
    def load(cls, workdir):
        """Re-attaches to an ensemble started by `ensemble.py start` (loopback only)."""
        with open(os.path.join(workdir, "ensemble.json")) as f:
            state = json.load(f)
        ens = cls.__new__(cls)
        ens.n = state["n"]
        ens.kind = state["kind"]
        ens.settings = state["settings"]
        ens.jvm_opts = state["jvm_opts"]
        ens.pdeathsig = False
        ens.own_dir = False
        ens.dir = state["dir"]
        ens.net = None
        ens.initial = ens.n
        ens.observers = set()
        ens.extra = {}
        ens.work = None
        ens.keep = False
        ens.clients = []
        ens.closed = False
        ens.members = {}
        for s in state["members"]:
            m = Member(ens, s["sid"], s["host"], s["client_port"], s["peer_port"],
                       s["election_port"])
            m.pid = s["pid"]
            m.wanted = m.pid is not None
            ens.members[m.sid] = m
        return ens


class NotEnsembleError(RuntimeError):
    """The servers run but do not form an ensemble (they answer Mode: standalone)."""


def random_follower(ens, rng, exclude=()):
    choices = [i for i in ens.followers() if i not in exclude]
    return rng.choice(choices) if choices else None


@atexit.register
def _close_all():
    for ens in list(_live):
        try:
            ens.close()
        except Exception as e:  # at exit: report, keep tearing down
            print("ensemble: %s" % e, file=sys.stderr)


def _sigterm(signum, frame):
    # meson's timeout and ^C: unwind so that cleanups and atexit end what we started
    raise SystemExit(128 + signum)


if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
    signal.signal(signal.SIGTERM, _sigterm)
