"""Helpers for tests that drive deploy/cluster (and deploy/drill): whether a recorded daemon
still runs, and killing what a failed test left behind. The daemons are recognised by the
SAMSA_CLUSTER_DIR in their environment, so a pid reused by another process is never touched."""
import json
import os
import signal


def running(pid):
    """Whether pid is a process that has not exited (a zombie has)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def pids(state):
    """{node: pid} as recorded in state/cluster.json ({} when there is none)."""
    try:
        with open(os.path.join(state, "cluster.json")) as f:
            return {n: p["pid"] for n, p in json.load(f)["procs"].items()}
    except FileNotFoundError:
        return {}


def kill_left(state):
    """SIGKILL to every recorded daemon of the cluster in state that still runs."""
    for pid in pids(state).values():
        try:
            with open("/proc/%d/environ" % pid, "rb") as f:
                mine = ("SAMSA_CLUSTER_DIR=" + state).encode() in f.read()
        except OSError:
            continue
        if mine:
            os.kill(pid, signal.SIGKILL)
