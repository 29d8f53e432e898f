#!/usr/bin/env python3
"""Consumer-group figures on 3 brokers (__consumer_offsets with 10 partitions, replication 3,
group.initial.rebalance.delay.ms=0), with confluent-kafka (librdkafka):

  1. offset commits through one coordinator, acks=all on RF 3: --commits synchronous commits of
     one partition's offset one after the other (commits/s and ms each), then as many
     asynchronous ones (all in flight; timed until the last is readable back);
  2. rebalance: --members consumers subscribe to a topic of as many partitions; the time from the
     first subscribe to every member having been assigned one partition;
  3. kill -9 of a member (a consumer in a child process) of a group of two with
     session.timeout.ms 6000: the time until the survivor is assigned the dead member's
     partitions and until it has fetched a record from each of them;
  4. kill -9 of the group's coordinator: the time until another broker names a new coordinator
     (FindCoordinator) and until a fresh consumer reads the last committed offset back from it.

Prints one line per figure; asserts only that the runs complete and the offset survives the kill.

    kb_groups_bench.py [--commits 2000] [--members 10]
    env: SAMSA_COORD, SAMSA_BROKER (the daemons), PYTHONPATH=tests/lib
"""
import argparse
import os
import signal
import struct
import subprocess
import sys
import time
import warnings

from samsatest import kb
from samsatest.benchrun import BenchRun
from samsatest.wait import wait_for

warnings.simplefilter("ignore")
import confluent_kafka  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TOPIC = "bench-groups"


def find_coordinator(broker, group):
    raw = kb.KafkaRaw(broker.port, host=broker.host)
    try:
        raw.request(10, 0, kb.kstr(group))
        r = raw.recv()
    finally:
        raw.close()
    return struct.unpack(">hi", r[4:10])


MEMBER = """
import sys, confluent_kafka
c = confluent_kafka.Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2],
                              "session.timeout.ms": int(sys.argv[4]), "heartbeat.interval.ms": 500})
c.subscribe([sys.argv[3]], on_assign=lambda _c, ps: print("assigned", " ".join(str(p.partition) for p in ps),
                                                           flush=True))
while True:
    c.poll(0.1)
"""


def member_kill(bs, partitions, session_ms):
    """A group of two (this process and a child); the child is killed with -9; returns the ms
    until this member owns every partition and until it fetched a record from each of the
    dead member's."""
    group = "g-kill"
    child = subprocess.Popen([sys.executable, "-c", MEMBER, bs, group, TOPIC, str(session_ms)],
                             stdout=subprocess.PIPE)
    try:
        owned = set()
        me = confluent_kafka.Consumer({"bootstrap.servers": bs, "group.id": group, "auto.offset.reset": "earliest",
                                       "session.timeout.ms": session_ms, "heartbeat.interval.ms": 500})

        def on_assign(_c, parts):
            owned.clear()
            owned.update(p.partition for p in parts)
        me.subscribe([TOPIC], on_assign=on_assign)
        theirs = set()
        os.set_blocking(child.stdout.fileno(), False)
        buf = ""

        def split():
            nonlocal buf
            me.poll(0.01)
            try:
                buf += os.read(child.stdout.fileno(), 65536).decode()
            except BlockingIOError:
                pass
            lines = [ln for ln in buf.splitlines() if ln.startswith("assigned")]
            if lines:
                theirs.clear()
                theirs.update(int(x) for x in lines[-1].split()[1:])
            return owned and theirs and owned | theirs == set(range(partitions)) and not owned & theirs
        wait_for(split, 120, "the two members splitting the partitions", interval=0)
        dead = set(theirs)
        t0 = time.monotonic()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        wait_for(lambda: me.poll(0.01) or owned == set(range(partitions)) or None, 120,
                 "the survivor owning every partition", interval=0)
        t1 = time.monotonic()
        p = confluent_kafka.Producer({"bootstrap.servers": bs})
        for part in dead:
            p.produce(TOPIC, b"after-the-kill", partition=part)
        p.flush(30)
        seen = set()

        def fetched():
            m = me.poll(0.05)
            if m is not None and not m.error() and m.value() == b"after-the-kill":
                seen.add(m.partition())
            return seen >= dead
        wait_for(fetched, 120, "a record of each of the dead member's partitions", interval=0)
        t2 = time.monotonic()
        me.close()
        return len(dead), (t1 - t0) * 1000, (t2 - t0) * 1000
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--commits", type=int, default=2000)
    ap.add_argument("--members", type=int, default=10)
    args = ap.parse_args(argv)
    run = BenchRun()
    try:
        c = kb.Cluster(run, brokers=3, broker_extra={
            "offsets.topic.replication.factor": "3", "offsets.topic.num.partitions": "10",
            "group.initial.rebalance.delay.ms": "0", "default.replication.factor": "3"})
        bs = c.bootstrap
        admin = AdminClient({"bootstrap.servers": bs})
        admin.create_topics([NewTopic(TOPIC, args.members, 3)])[TOPIC].result(30)
        del admin  # gone before the brokers stop (no reconnect noise at the end)
        print("== 3 brokers, __consumer_offsets 10 partitions x 3 replicas, librdkafka %s"
              % confluent_kafka.libversion()[0])
        # 1. commits
        n = args.commits
        cons = confluent_kafka.Consumer({"bootstrap.servers": bs, "group.id": "g-bench", "enable.auto.commit": False})
        cons.commit(offsets=[confluent_kafka.TopicPartition(TOPIC, 0, 1)], asynchronous=False)
        t0 = time.monotonic()
        for i in range(n):
            cons.commit(offsets=[confluent_kafka.TopicPartition(TOPIC, 0, i + 2)], asynchronous=False)
        dt = time.monotonic() - t0
        print("commits_sync n=%d seconds=%.2f per_s=%.0f ms_each=%.2f" % (n, dt, n / dt, dt / n * 1000))
        last = 2 * n + 1
        t0 = time.monotonic()
        for i in range(n):
            cons.commit(offsets=[confluent_kafka.TopicPartition(TOPIC, 0, n + i + 2)], asynchronous=True)
        tp = confluent_kafka.TopicPartition(TOPIC, 0)
        while cons.committed([tp], timeout=10)[0].offset != last:
            cons.poll(0.001)
        dt = time.monotonic() - t0
        print("commits_async n=%d seconds=%.2f per_s=%.0f" % (n, dt, n / dt))
        cons.close()
        # 2. rebalance of a group of --members
        owned = {}
        members = []
        t0 = time.monotonic()
        for k in range(args.members):
            m = confluent_kafka.Consumer({"bootstrap.servers": bs, "group.id": "g-members",
                                          "session.timeout.ms": 6000, "heartbeat.interval.ms": 500})

            def on_assign(_c, parts, k=k):
                owned[k] = len(parts)
            m.subscribe([TOPIC], on_assign=on_assign)
            members.append(m)

        def all_assigned():
            for m in members:
                m.poll(0.001)
            return len(owned) == args.members and all(v == 1 for v in owned.values())
        wait_for(all_assigned, 120, "every member assigned a partition", interval=0)
        print("rebalance members=%d first_subscribe_to_all_assigned_ms=%.0f"
              % (args.members, (time.monotonic() - t0) * 1000))
        for m in members:
            m.close()
        # 3. kill -9 of a member
        session_ms = 6000
        nd, ms_assigned, ms_fetched = member_kill(bs, args.members, session_ms)
        print("member_kill session_timeout_ms=%d dead_partitions=%d reassigned_ms=%.0f fetched_ms=%.0f"
              % (session_ms, nd, ms_assigned, ms_fetched))
        # 4. kill -9 of the coordinator of g-bench
        err, old = find_coordinator(c.brokers[0], "g-bench")
        live = [b for b in c.brokers if b.id != old]
        t0 = time.monotonic()
        c.kill9(old)

        def moved():
            e, nd = find_coordinator(live[0], "g-bench")
            return (nd,) if e == 0 and nd != old else None
        (new,) = wait_for(moved, 120, "a new coordinator", interval=0.005)
        t1 = time.monotonic()
        cons = confluent_kafka.Consumer({"bootstrap.servers": ",".join(b.bootstrap for b in live),
                                         "group.id": "g-bench", "enable.auto.commit": False})
        got = cons.committed([tp], timeout=60)[0].offset
        t2 = time.monotonic()
        cons.close()
        print("coordinator_kill old=%d new=%d new_coordinator_ms=%.0f committed_read_ms=%.0f offset=%d"
              % (old, new, (t1 - t0) * 1000, (t2 - t0) * 1000, got))
        if got != last:
            raise AssertionError("committed offset %d after the kill, %d before" % (got, last))
        run.ok()
    finally:
        run.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
