"""Failover time of a running ensemble (started by tests/fault/ensemble.py start <kind> 3 <dir>):
from `kill -9` of the leader until a write succeeds again.

A kazoo client connected to every server writes one znode (setData) in a loop, each attempt
with a 1 s timeout and retried at once; the leader is killed; the figure is the time from the
kill until the first write that was sent after the kill is acknowledged. The old leader is then
restarted on its data and the next trial waits for all servers to serve again. Prints one line
per trial and the median; asserts nothing.

    ensemble_failover.py <dir> [--trials 10]
"""
import argparse
import logging
import os
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fault"))
import ensemble  # noqa: E402
import workload  # noqa: E402


class Writer:
    """Writes /failover in a loop; remembers the first success sent at or after `mark`."""

    def __init__(self, hosts):
        self.zk = workload.make_client(hosts, 10.0)
        self.zk.start(timeout=60)
        self.zk.ensure_path("/failover")
        self.stop = threading.Event()
        self.cond = threading.Condition()
        self.mark = None
        self.first_ok = None
        self.last_ok = None
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        n = 0
        while not self.stop.is_set():
            sent = time.monotonic()
            try:
                self.zk.set_async("/failover", b"%d" % n).get(timeout=1.0)
            except Exception:  # connection loss, timeout, not serving: try again at once
                n += 1
                self.stop.wait(0.005)
                continue
            n += 1
            done = time.monotonic()
            with self.cond:
                self.last_ok = done
                if self.mark is not None and self.first_ok is None and sent >= self.mark:
                    self.first_ok = done
                self.cond.notify_all()

    def wait_ok(self, timeout):
        """Waits for a write acknowledged after now."""
        t = time.monotonic()
        with self.cond:
            return self.cond.wait_for(lambda: self.last_ok is not None and self.last_ok > t,
                                      timeout)

    def arm(self):
        with self.cond:
            self.first_ok = None
            self.mark = time.monotonic()
            return self.mark

    def wait_first(self, timeout):
        with self.cond:
            self.cond.wait_for(lambda: self.first_ok is not None, timeout)
            return self.first_ok

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.zk.stop()
        self.zk.close()


def main(argv):
    p = argparse.ArgumentParser(description="failover time of a running ensemble")
    p.add_argument("dir")
    p.add_argument("--trials", type=int, default=10)
    p.add_argument("--label", default="")
    args = p.parse_args(argv)
    logging.getLogger("kazoo").setLevel(logging.ERROR)  # every reconnection would say so
    ens = ensemble.Ensemble.load(args.dir)
    ens.wait_serving(timeout=90)
    writer = Writer(ens.hosts())
    times = []
    try:
        for trial in range(args.trials):
            leader = ens.wait_serving(timeout=120)
            if not writer.wait_ok(30):
                raise RuntimeError("no write acknowledged before trial %d" % trial)
            t0 = writer.arm()
            ens.kill9(leader)
            t1 = writer.wait_first(120)
            if t1 is None:
                raise RuntimeError("no write acknowledged within 120 s of killing the leader")
            ms = (t1 - t0) * 1000.0
            times.append(ms)
            new_leader = ens.leader()
            print("%s failover trial %d: killed leader %d, writes again after %.0f ms "
                  "(new leader %s)" % (args.label, trial + 1, leader, ms, new_leader),
                  file=sys.stderr)
            ens.start(leader)
            ens.save()
            ens.wait_serving(timeout=120)
    finally:
        writer.close()
        ens.save()
    print("failover_ms trials=%d median=%.0f min=%.0f max=%.0f" % (
        len(times), statistics.median(times), min(times), max(times)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
