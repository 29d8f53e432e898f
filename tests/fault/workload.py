"""The fault tests' workload and the per-server inspection, on kazoo (Debian's python3-kazoo).

Each runs as its own process so that it can be placed in the client network namespace with
`ip netns exec` (ensemble.Ensemble.client_popen); the test talks to it over stdin/stdout:

  workload.py run --hosts H --out F [--writers 3 --registers 3 --sessions 3 ...]
      Sets up /fault (w/, eph/, reg = "init"), then runs until it reads "stop":
      * writers: each its own session, creating /fault/w/c<k>-<n> one at a time with a unique
        value; every attempt is recorded with its invoke and complete times (time.monotonic,
        one clock for every process on the machine) and its outcome: ok (with the zxid the
        server gave it, czxid from create2), fail (a definite ZooKeeper error) or unknown
        (timeout, connection loss, session expiry: it may or may not have happened);
      * registers: each its own session, on the one znode /fault/reg: a read is sync + getData,
        a write is setData with the version last seen (compare-and-set); the history is what
        linearizability.check() takes;
      * sessions: each creates an ephemeral /fault/eph/s<k> and then only pings; their state
        changes are recorded, to check that they survive the faults (20 s session timeout,
        see PING_SESSION_TIMEOUT).
      Prints "ready" once set up, "progress <acked writes> <ok register ops>" every 0.25 s,
      and on "stop": stops writers and registers, closes their sessions (so nothing they sent
      can still land), writes the history to F as JSON, prints "stopped". The pinging sessions
      stay open, and their ephemerals with them, until "quit" (or end of input).
  workload.py dump --host H
      Connects to that one server only, syncs, walks the whole tree (except /zookeeper) and
      prints {"nodes": {path: [data (latin-1), version, czxid, mzxid, ephemeralOwner]}}.
  workload.py probe --hosts H [--writes N] [--timeout T]
      Tries to connect and create N znodes; prints {"connected", "ok", "errors"}.

The test side: Workload (drives `run`), dump_server(), tree_digest().
"""
import argparse
import hashlib
import json
import os
import queue
import random
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = "/fault"
WRITES = ROOT + "/w"
EPH = ROOT + "/eph"
REG = ROOT + "/reg"
# Session timeouts (s) the clients ask for; the tests' servers allow 2..20 (tickTime 1 s).
# Writers and registers: 8. The pinging sessions: 20, because a client cut off with its server
# (a silent black hole, no RST) notices only after 2/3 of its timeout (kazoo's read timeout, as
# the Java client's) and then may try the other cut server first (connect timeout per host):
# with 8 s a session of a 2-of-5 partition is regularly lost on the client side alone.
SESSION_TIMEOUT = 8.0
PING_SESSION_TIMEOUT = 20.0


def now():
    return time.monotonic()


# ------------------------------------------------------------------------------------------------
# client side (runs in its own process, possibly in a network namespace)
# ------------------------------------------------------------------------------------------------

def make_client(hosts, timeout):
    """A kazoo client that reconnects quickly forever and never retries a command by itself:
    the workload records every attempt.

    kazoo gives each TCP connect the whole session timeout, so a client whose reconnection
    tries a server that is cut off (a black hole: no RST, no ICMP) first spends its session on
    that one SYN. The Java client gives each server sessionTimeout / number of servers; so does
    this one (the servers are under test here, not kazoo's connect policy)."""
    from kazoo.client import KazooClient
    from kazoo.retry import KazooRetry
    zk = KazooClient(hosts=hosts, timeout=timeout,
                     connection_retry=KazooRetry(max_tries=-1, delay=0.05, backoff=1.5,
                                                 max_jitter=0.2, max_delay=0.5),
                     command_retry=None)
    per_host = max(1.0, timeout / max(1, len(hosts.split(","))))
    connect = zk.handler.create_connection

    def create_connection(*args, **kwargs):
        if kwargs.get("timeout") is not None:
            kwargs["timeout"] = min(kwargs["timeout"], per_host)
        return connect(*args, **kwargs)

    zk.handler.create_connection = create_connection
    return zk


def outcome(exc):
    """fail for a ZooKeeper error that says the operation did not happen, unknown otherwise."""
    from kazoo.exceptions import (BadVersionError, NodeExistsError, NoNodeError,
                                  NotEmptyError, NoAuthError)
    if isinstance(exc, (BadVersionError, NodeExistsError, NoNodeError, NotEmptyError,
                        NoAuthError)):
        return "fail"
    return "unknown"


class Run:
    """One `run`: the threads and what they record (appended under one lock)."""

    def __init__(self, args):
        self.args = args
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.out_lock = threading.Lock()
        self.writes = []
        self.register = []
        self.acked = 0
        self.reg_ok = 0
        self.clients = []

    def say(self, line):
        with self.out_lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def client(self, session_timeout=None):
        zk = make_client(self.args.hosts, session_timeout or self.args.session_timeout)
        zk.start(timeout=60)
        self.clients.append(zk)
        return zk

    def writer(self, zk, k):
        n = 0
        timeout = self.args.op_timeout
        while not self.stop.is_set():
            path = "%s/c%d-%06d" % (WRITES, k, n)
            value = "%d-%d" % (k, n)
            n += 1
            rec = {"proc": k, "path": path, "value": value, "invoke": now()}
            try:
                _, stat = zk.create_async(path, value.encode(), include_data=True).get(
                    timeout=timeout)
                rec.update(result="ok", complete=now(), zxid=stat.czxid)
            except Exception as e:  # every failure is recorded, none ends the loop
                rec.update(result=outcome(e), error=type(e).__name__, returned=now())
                rec["complete"] = rec["returned"] if rec["result"] == "fail" else None
            with self.lock:
                self.writes.append(rec)
                self.acked += rec["result"] == "ok"
            if rec["result"] != "ok":
                self.stop.wait(0.05)  # back off while there is no leader

    def registerer(self, zk, k):
        rng = random.Random(self.args.seed * 1000 + k)
        known = None
        n = 0
        timeout = self.args.op_timeout
        while not self.stop.is_set():
            if known is None or rng.random() < 0.4:
                op = {"proc": k, "kind": "read", "invoke": now()}
                try:
                    zk.sync_async(REG).get(timeout=timeout)
                    data, stat = zk.get_async(REG).get(timeout=timeout)
                    op.update(result="ok", complete=now(), value=data.decode(),
                              version=stat.version)
                    known = stat.version
                except Exception as e:  # a read that did not return says nothing
                    op.update(result="unknown", complete=None, error=type(e).__name__)
                    known = None
            else:
                value = "p%d-%d" % (k, n)
                n += 1
                op = {"proc": k, "kind": "cas", "invoke": now(), "expect": known, "value": value}
                try:
                    stat = zk.set_async(REG, value.encode(), version=known).get(timeout=timeout)
                    op.update(result="ok", complete=now(), zxid=stat.mzxid)
                    known = stat.version
                except Exception as e:
                    op.update(result=outcome(e), error=type(e).__name__, returned=now())
                    op["complete"] = op["returned"] if op["result"] == "fail" else None
                    known = None
            with self.lock:
                self.register.append(op)
                self.reg_ok += op["result"] == "ok"
            if op["result"] == "unknown":
                self.stop.wait(0.05)
            else:
                self.stop.wait(rng.uniform(0, 0.02))  # pacing: a history of thousands, not 100k

    def progress(self):
        while not self.stop.wait(0.25):
            with self.lock:
                line = "progress %d %d" % (self.acked, self.reg_ok)
            self.say(line)

    def main(self):
        from kazoo.protocol.states import KazooState
        args = self.args
        admin = self.client()
        for path in (ROOT, WRITES, EPH):
            admin.ensure_path(path)
        if not admin.exists(REG):
            admin.create(REG, b"init")
        data, stat = admin.get(REG)
        init = [data.decode(), stat.version]
        admin.stop()
        admin.close()
        self.clients.remove(admin)

        sessions = []
        for k in range(args.sessions):
            zk = self.client(args.ping_session_timeout)
            rec = {"path": "%s/s%d" % (EPH, k), "states": []}

            def listener(state, rec=rec):
                rec["states"].append([str(state), now()])
                if state == KazooState.LOST:
                    rec["lost"] = True

            zk.add_listener(listener)
            zk.create(rec["path"], b"session %d" % k, ephemeral=True)
            rec["session_id"] = zk.client_id[0]
            sessions.append((zk, rec))

        threads = []
        for k in range(args.writers):
            zk = self.client()
            threads.append(threading.Thread(target=self.writer, args=(zk, k), daemon=True))
        for k in range(args.registers):
            zk = self.client()
            threads.append(threading.Thread(target=self.registerer, args=(zk, k), daemon=True))
        op_clients = list(self.clients[len(sessions):])
        threads.append(threading.Thread(target=self.progress, daemon=True))
        for t in threads:
            t.start()
        self.say("ready")

        line = sys.stdin.readline()
        self.stop.set()
        for t in threads:
            t.join(args.op_timeout * 3 + 10)
        for zk in op_clients:
            zk.stop()
            zk.close()
        # the pinging sessions: give one that is reconnecting up to a session timeout
        deadline = now() + args.ping_session_timeout
        for zk, rec in sessions:
            while not zk.connected and now() < deadline:
                time.sleep(0.05)
            rec["connected"] = zk.connected
            rec["session_id_now"] = zk.client_id[0] if zk.client_id else None
            rec.setdefault("lost", False)
        result = {"init": init, "writes": self.writes, "register": self.register,
                  "sessions": [rec for _, rec in sessions]}
        tmp = args.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(result, f)
        os.rename(tmp, args.out)
        self.say("stopped")
        if line.strip() != "quit":
            sys.stdin.readline()
        for zk, _ in sessions:
            zk.stop()
            zk.close()
        return 0


def dump(host, timeout):
    """{"nodes": {path: [data, version, czxid, mzxid, ephemeralOwner]}} from one server."""
    zk = make_client(host, timeout)
    zk.start(timeout=60)
    try:
        zk.sync("/")
        nodes = {}
        level = ["/"]
        while level:
            nxt = []
            for i in range(0, len(level), 500):
                batch = [(p, zk.get_async(p), zk.get_children_async(p))
                         for p in level[i:i + 500]]
                for path, g, c in batch:
                    data, stat = g.get(timeout=60)
                    kids = c.get(timeout=60)
                    nodes[path] = [(data or b"").decode("latin-1"), stat.version, stat.czxid,
                                   stat.mzxid, stat.ephemeralOwner]
                    for kid in kids:
                        child = (path.rstrip("/") + "/" + kid)
                        if child != "/zookeeper":
                            nxt.append(child)
            level = nxt
        return {"host": host, "nodes": nodes}
    finally:
        zk.stop()
        zk.close()


def probe(hosts, writes, timeout):
    from kazoo.handlers.threading import KazooTimeoutError
    zk = make_client(hosts, timeout)
    res = {"hosts": hosts, "connected": False, "ok": 0, "errors": []}
    try:
        zk.start(timeout=timeout)
        res["connected"] = True
    except KazooTimeoutError as e:
        res["errors"].append("connect: %s" % type(e).__name__)
        zk.stop()
        zk.close()
        return res
    for n in range(writes):
        try:
            zk.create_async("%s/probe-%d-%d" % (ROOT, os.getpid(), n), b"probe",
                            makepath=True).get(timeout=timeout)
            res["ok"] += 1
        except Exception as e:  # recorded: the caller decides what it expected
            res["errors"].append(type(e).__name__)
    zk.stop()
    zk.close()
    return res


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--hosts", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--writers", type=int, default=3)
    r.add_argument("--registers", type=int, default=3)
    r.add_argument("--sessions", type=int, default=3)
    r.add_argument("--session-timeout", type=float, default=SESSION_TIMEOUT)
    r.add_argument("--ping-session-timeout", type=float, default=PING_SESSION_TIMEOUT)
    r.add_argument("--op-timeout", type=float, default=4.0)
    r.add_argument("--seed", type=int, default=1)
    d = sub.add_parser("dump")
    d.add_argument("--host", required=True)
    d.add_argument("--timeout", type=float, default=8.0)
    pr = sub.add_parser("probe")
    pr.add_argument("--hosts", required=True)
    pr.add_argument("--writes", type=int, default=1)
    pr.add_argument("--timeout", type=float, default=5.0)
    args = p.parse_args(argv)
    if args.cmd == "run":
        return Run(args).main()
    if args.cmd == "dump":
        print(json.dumps(dump(args.host, args.timeout)))
        return 0
    if args.cmd == "probe":
        print(json.dumps(probe(args.hosts, args.writes, args.timeout)))
        return 0
    return 2


# ------------------------------------------------------------------------------------------------
# test side
# ------------------------------------------------------------------------------------------------

class Workload:
    """Drives `workload.py run` as a client of ens (in its client namespace, if any)."""

    def __init__(self, ens, writers=3, registers=3, sessions=3, session_timeout=8.0,
                 op_timeout=4.0, seed=1, hosts=None):
        self.ens = ens
        self.out = os.path.join(ens.dir, "workload-%d.json" % seed)
        self.errlog = os.path.join(ens.dir, "workload-%d.err" % seed)
        self.argv = [os.path.join(HERE, "workload.py"), "run", "--hosts", hosts or ens.hosts(),
                     "--out", self.out, "--writers", str(writers), "--registers", str(registers),
                     "--sessions", str(sessions), "--session-timeout", str(session_timeout),
                     "--op-timeout", str(op_timeout), "--seed", str(seed)]
        self.proc = None
        self.lines = queue.Queue()
        self.acked = 0
        self.reg_ok = 0
        self.cond = threading.Condition()

    def start(self, timeout=60):
        err = open(self.errlog, "w")
        self.proc = self.ens.client_popen(self.argv, stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=err, text=True,
                                          bufsize=1)
        err.close()
        threading.Thread(target=self._read, daemon=True).start()
        self._expect("ready", timeout)
        return self

    def _read(self):
        for line in self.proc.stdout:
            words = line.split()
            if words and words[0] == "progress":
                with self.cond:
                    self.acked, self.reg_ok = int(words[1]), int(words[2])
                    self.cond.notify_all()
            else:
                self.lines.put(line.strip())
        self.lines.put(None)

    def _expect(self, word, timeout):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            line = "(nothing in %ss)" % timeout
        if line != word:
            raise RuntimeError("workload said %r, expected %r; its stderr:\n%s"
                               % (line, word, self.stderr_tail()))

    def stderr_tail(self, nbytes=4000):
        with open(self.errlog, errors="replace") as f:
            return f.read()[-nbytes:]

    def wait_progress(self, writes=20, timeout=60):
        """Waits until `writes` more writes have been acknowledged; returns False on timeout."""
        deadline = time.time() + timeout
        with self.cond:
            goal = self.acked + writes
            while self.acked < goal:
                left = deadline - time.time()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True

    def stop(self, timeout=120):
        """Stops writers and registers; returns the recorded history (see `run`)."""
        self.proc.stdin.write("stop\n")
        self.proc.stdin.flush()
        self._expect("stopped", timeout)
        with open(self.out) as f:
            return json.load(f)

    def quit(self, timeout=60):
        """Closes the pinging sessions and waits for the process to end."""
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        self.proc.wait(timeout)
        self.proc.stdout.close()


def dump_server(ens, i, timeout=120):
    """The tree as server i alone serves it, read by a client in the client namespace."""
    rc, out, err = ens.client_run([os.path.join(HERE, "workload.py"), "dump", "--host",
                                   ens[i].hostport], timeout=timeout)
    if rc != 0:
        raise RuntimeError("dump of server %d failed (%d): %s" % (i, rc, err[-3000:]))
    return json.loads(out)["nodes"]


def run_probe(ens, hosts, writes=1, timeout=5.0, ns=None):
    """`workload.py probe` run as a client of ens (in ns if given); returns its JSON answer."""
    rc, out, err = ens.client_run([os.path.join(HERE, "workload.py"), "probe", "--hosts", hosts,
                                   "--writes", str(writes), "--timeout", str(timeout)], ns=ns,
                                  timeout=timeout * (writes + 2) + 30)
    if rc != 0:
        raise RuntimeError("probe failed (%d): %s" % (rc, err[-3000:]))
    return json.loads(out)


def tree_digest(nodes):
    """sha256 over every znode's path, data and version, in path order."""
    h = hashlib.sha256()
    for path in sorted(nodes):
        data, version = nodes[path][0], nodes[path][1]
        h.update(b"%s\0%s\0%d\n" % (path.encode(), data.encode("latin-1"), version))
    return h.hexdigest()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
