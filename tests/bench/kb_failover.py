#!/usr/bin/env python3
"""Broker failover time: from `kill -9` of a partition's leader to the first acknowledged
acks=all write of a message produced after the kill.

One coordinator and 3 brokers (broker defaults, zookeeper.session.timeout.ms at Kafka's 18 s, so
that the figure cannot come from a session expiring), a topic of one partition with RF=3 and
min.insync.replicas=2 whose replicas are assigned so that the controller is the last one: the
leader killed in a round is never the controller (killing the controller is another case: its
successor is elected when its coordinator session expires; when an election made the controller
the leader, a preferred election moves it back before the round). A confluent-kafka (librdkafka)
producer with librdkafka's default settings except acks=all produces a 100-byte message to that
partition every --interval-ms. Each round:

  1. waits until all 3 replicas are in the ISR (the partition's state znode) and the producer
     has an ack newer than the wait's start;
  2. kills the leader the state znode names with SIGKILL (by pid) at time t0;
  3. waits for the delivery report of the first message produced at or after t0 (a message sent
     after the kill can only be written by a live broker: the new leader), and reads the
     state znode the controller wrote (its mtime gives the election's share of the time);
  4. starts the killed broker again on its log directory and waits until the controller counts
     it online (its log says so), every broker's Metadata lists it (it registered again, once
     its killed process's session expired) and it is back in the ISR (the leader may or may not move back
     to it: leader.imbalance.check.interval.seconds is Kafka's 300 s).

Prints one line per round and then `failover_ms rounds=N median=M p90=P max=X` (p90: the
nearest-rank 90th percentile). Asserts only that every round ends (a new leader, an ack within
--round-timeout) and that no delivery failed; the figures are never asserted.

    kb_failover.py [--rounds 10] [--interval-ms 2] [--round-timeout 120]
    env: SAMSA_COORD, SAMSA_BROKER (the daemons), PYTHONPATH=tests/lib
"""
import argparse
import math
import statistics
import sys
import threading
import time
import warnings

from samsatest import kb
from samsatest.kb import elect_leaders
from samsatest.benchrun import BenchRun
from samsatest.wait import wait_for

warnings.simplefilter("ignore")
import confluent_kafka  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TOPIC = "failover"
VALUE = b"x" * 100


class Producer(threading.Thread):
    """librdkafka's defaults except acks=all; one message to partition 0 every `interval` s.
    Keeps, for every delivery report, (send time, report time, offset, error)."""

    def __init__(self, bootstrap, interval):
        threading.Thread.__init__(self, name="failover-producer", daemon=True)
        self.interval = interval
        self.p = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "acks": "all"})
        self.cond = threading.Condition()
        self.stopping = False
        self.sent = 0
        self.acks = []      # (sent, reported, offset), in report order
        self.failures = []  # (sent, error)
        self.exc = None

    def _dr(self, err, msg, sent):
        now = time.monotonic()
        with self.cond:
            if err is not None:
                self.failures.append((sent, str(err)))
            else:
                self.acks.append((sent, now, msg.offset()))
            self.cond.notify_all()

    def run(self):
        try:
            due = time.monotonic()
            while not self.stopping:
                now = time.monotonic()
                if now >= due:
                    sent = time.monotonic()
                    try:
                        self.p.produce(TOPIC, VALUE, partition=0,
                                       on_delivery=lambda e, m, s=sent: self._dr(e, m, s))
                        self.sent += 1
                    except BufferError:  # librdkafka's queue is full: wait for reports
                        pass
                    due = max(due + self.interval, now)
                self.p.poll(max(0.0, due - time.monotonic()))
            self.p.flush(30)
        except Exception as e:  # raised again by the main thread
            self.exc = e

    def wait(self, pred, timeout):
        """Waits until pred(acks) is true (called under the lock); returns its value or None."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                if self.exc:
                    raise self.exc
                v = pred(self.acks)
                if v or time.monotonic() >= deadline:
                    return v or None
                self.cond.wait(min(0.1, max(0.0, deadline - time.monotonic())))

    def close(self):
        self.stopping = True
        self.join(60)


def first_after(t0, start):
    """The first ack (sent, reported, offset) at index >= start of a message sent at or after t0."""
    def pred(acks):
        return next((a for a in acks[start:] if a[0] >= t0), None)
    return pred


def controller_counts_online(ctrl, bid):
    log = ctrl.log_text()
    return log.rfind("controller: broker %d: offline -> online" % bid) > log.rfind(
        "controller: broker %d: online -> offline" % bid)


def p90(xs):
    s = sorted(xs)
    return s[max(0, math.ceil(0.9 * len(s)) - 1)]


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--interval-ms", type=float, default=2.0)
    ap.add_argument("--round-timeout", type=float, default=120.0)
    args = ap.parse_args(argv)

    run = BenchRun()
    prod = None
    try:
        c = kb.Cluster(run, brokers=3, broker_extra={"zookeeper.session.timeout.ms": "18000"})
        ctrl = c.wait_brokers()
        others = [i for i in range(3) if i != ctrl]
        assignment = [others + [ctrl]]
        admin = AdminClient({"bootstrap.servers": c.bootstrap})
        admin.create_topics([NewTopic(TOPIC, 1, replica_assignment=assignment,
                                      config={"min.insync.replicas": "2"})])[TOPIC].result(30)
        c.wait_leaders(TOPIC, 1)
        print("== 1 coordinator, 3 brokers (controller: broker %d), topic %s: 1 partition, replicas "
              "%s, min.insync.replicas=2; producer: librdkafka %s defaults + acks=all, 100 B every "
              "%.1f ms" % (ctrl, TOPIC, assignment[0], confluent_kafka.libversion()[0], args.interval_ms),
              file=sys.stderr)
        prod = Producer(c.bootstrap, args.interval_ms / 1000.0)
        prod.start()
        zk = c.kazoo()
        state_path = c.chroot + "/brokers/topics/%s/partitions/0/state" % TOPIC
        times = []
        for r in range(args.rounds):
            st = c.wait_state(TOPIC, 0, lambda s: len(s["isr"]) == 3, timeout=120,
                              what="all 3 replicas in the ISR")
            t = time.monotonic()
            if not prod.wait(lambda acks: acks and acks[-1][1] > t, 60):
                raise AssertionError("round %d: no write acknowledged with all 3 replicas in the ISR" % (r + 1))
            if st["leader"] == ctrl:
                # an election found the other replica out of the ISR (its controller's view):
                # give the leadership back to the preferred replica before killing a leader
                elect_leaders(c.broker(ctrl).port, {TOPIC: [0]})
                st = c.wait_state(TOPIC, 0, lambda s: s["leader"] == assignment[0][0] and len(s["isr"]) == 3,
                                  timeout=60, what="the preferred replica leading with all 3 in the ISR")
                print("round %d: the controller led; moved back to broker %d by a preferred election"
                      % (r + 1, st["leader"]), file=sys.stderr)
            victim = st["leader"]
            if victim == c.controller():
                raise AssertionError("round %d: the controller moved to leader %d" % (r + 1, victim))
            with prod.cond:
                last_before = prod.acks[-1][2]
                start = len(prod.acks)
            t0w = time.time()
            t0 = time.monotonic()
            c.kill9(victim)
            a = prod.wait(first_after(t0, start), args.round_timeout)
            if a is None:
                raise AssertionError("round %d: no message produced after the kill of broker %d was "
                                     "acknowledged within %ss" % (r + 1, victim, args.round_timeout))
            ms = (a[1] - t0) * 1000.0
            times.append(ms)
            new = c.wait_state(TOPIC, 0, lambda s: s["leader"] not in (victim, -1), timeout=30,
                               what="a leader other than %d" % victim)
            _, stat = zk.get(state_path)
            elect_ms = stat.mtime - t0w * 1000.0
            print("round %d: kill -9 of leader %d; first ack of a message produced after the kill "
                  "after %.0f ms (offset %d, last before the kill %d); new leader %d, epoch %d, ISR %s "
                  "written %.0f ms after the kill"
                  % (r + 1, victim, ms, a[2], last_before, new["leader"], new["leader_epoch"],
                     new["isr"], elect_ms), file=sys.stderr)
            c.start_broker(victim).wait_ready()
            # the controller elects only brokers it counts online (its control-plane channel to
            # them works again), which may come after the broker is back in the ISR
            wait_for(lambda: controller_counts_online(c.broker(ctrl), victim), 60,
                     "the controller to count broker %d online again" % victim)
            # and until clients can find it: its registration in /brokers/ids waits for the
            # killed process's coordinator session to expire (up to 18 s), while the controller
            # may already elect it (its control-plane channel answers); a producer cannot reach
            # a leader that Metadata does not list
            c.wait_brokers(timeout=60)
        if prod.failures:
            raise AssertionError("%d deliveries failed, first: %r" % (len(prod.failures), prod.failures[0]))
        print("failover_ms rounds=%d median=%.0f p90=%.0f max=%.0f min=%.0f"
              % (len(times), statistics.median(times), p90(times), max(times), min(times)))
        run.ok()
        return 0
    finally:
        if prod is not None:
            prod.close()
        run.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
