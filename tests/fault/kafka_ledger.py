"""The broker fault tests' workload: a producer that keeps a per-message ledger, and a consumer
that reads a topic back whole; ledger_check.check compares the two.

LedgerProducer (confluent-kafka, i.e. librdkafka 2.0) runs in its own thread: message seq n
(value b"seq-<n>") goes to the next partition round robin that has room in its share of the
window (so a partition without a leader does not stop the others), so within a partition seqs
grow in produce order. Settings: the acks the test asks for (all by default), idempotence off, one request in
flight per connection (order is kept across retries), linger 5 ms. Retries are on in one of two
places (`retry`):
  "app"     librdkafka's own retries off (retries=0): a failed send comes back in its delivery
            report and the producer produces the same seq again (up to max_attempts), recording
            it in `retried`; librdkafka still sends a set again by itself, uncounted, after an
            error saying it was not written (NOT_LEADER_FOR_PARTITION), which its debug log
            shows as in "client" mode;
  "client"  librdkafka's retries on (its default): the ledger learns which messages librdkafka
            sends again from its debug log ("[p]: MessageSet with N message(s) ... encountered
            error: ... (actions ...)"): the N oldest messages of partition p without a report
            (see _client_retry; librdkafka numbers messages only for the idempotent producer).
            Every such set counts, whatever librdkafka guesses of its persistence: a broker
            answers NOT_LEADER_FOR_PARTITION ("MsgNotPersisted") to an acks=all write it had
            appended when its leadership moves before the ISR has it (Kafka's DelayedProduce
            does the same), and the retry then writes it twice. A set that is not sent again
            fails and so cannot be duplicated. librdkafka 2.0 times a produce request out only
            at message.timeout.ms, so its retries follow errors such as a broken connection,
            NOT_LEADER_FOR_PARTITION or NOT_ENOUGH_REPLICAS_AFTER_APPEND.
Each delivery report is recorded: "ack" with the offset, "fail" with the error once attempts are
used up; sends without a report when the producer stops are "unknown".

KafkajsLedgerProducer is the same ledger kept of kafkajs's idempotent producer (kafkajs_ledger.js,
in a node process).

read_all reads every partition from its start to its end (the high watermark) with an assigned
confluent-kafka consumer (no group) and returns {partition: [(offset, seq)]}.

GroupMember is one member of a consumer group (deploy/drill's), recording what it is delivered
and committing what it processed; committed_offsets and high_watermarks read where a group and a
topic stand.
"""
import json
import logging
import os
import re
import shutil
import subprocess
import threading
import time

import confluent_kafka

_MSGSET = re.compile(r"\[(\d+)\]: MessageSet with (\d+) message\(s\) \(MsgId \d+,.*encountered error: "
                     r"(.*) \(actions ([^)]*)\)")


def value_of(seq):
    return b"seq-%d" % seq


def seq_of(value):
    """The seq of a record value, or None when it is not one of ours."""
    m = re.fullmatch(rb"seq-(\d+)", value or b"")
    return int(m.group(1)) if m else None


class _LogParser(logging.Handler):
    """librdkafka's debug lines (through confluent-kafka's `logger`): the retried MessageSets."""

    def __init__(self, prod):
        logging.Handler.__init__(self, logging.DEBUG)
        self.prod = prod

    def emit(self, record):
        m = _MSGSET.search(record.getMessage())
        if m and "Permanent" not in m.group(4):
            self.prod.retry_log.append(m.group(0))
            self.prod._client_retry(int(m.group(1)), int(m.group(2)))


class LedgerProducer(threading.Thread):
    def __init__(self, bootstrap, topic, partitions, acks="all", retry="app", max_attempts=100,
                 window=200, rate=None, conf=None):
        """window: sends without a report at most (each partition its share); rate: messages per second at most (None: as fast
        as the window allows); conf: further librdkafka settings."""
        threading.Thread.__init__(self, name="ledger-producer", daemon=True)
        if retry not in ("app", "client"):
            raise ValueError("retry must be app or client")
        self.topic = topic
        self.partitions = partitions
        self.retry = retry
        self.max_attempts = max_attempts
        self.window = window
        self.rate = rate
        self.lock = threading.Lock()
        self.sends = {}        # seq -> ledger entry
        self.retried = set()
        self.pending = {}      # seq -> entry, awaiting a report
        self.resend = []       # seqs to produce again (app retries)
        self.errors = []       # errors reported by librdkafka's error callback
        self.retry_log = []    # librdkafka's lines about the sets it sends again (retry="client")
        self.next_seq = 0
        self.rr = 0            # the partition to try first for the next seq
        self.acked = 0
        self.stopping = False
        self.closed = False
        self.exc = None
        c = {
            "bootstrap.servers": bootstrap,
            "acks": acks,
            "enable.idempotence": False,
            "max.in.flight.requests.per.connection": 1,
            "linger.ms": 5,
            "request.timeout.ms": 5000,
            "message.timeout.ms": 30000,
            "error_cb": lambda e: self.errors.append(str(e)),
        }
        if retry == "app":
            c["retries"] = 0
        # Both modes read librdkafka's debug log for the sets it sends again: even with
        # retries=0 it sends a set again, uncounted, after an error that says the set was not
        # written (NOT_LEADER_FOR_PARTITION: "MsgNotPersisted"), which a broker, like Kafka's,
        # answers to an acks=all write it had appended when its leadership moves (deploy/drill
        # found such a duplicate in "app" mode).
        log = logging.getLogger("ledger-rdkafka-%d" % id(self))
        log.setLevel(logging.DEBUG)
        log.propagate = False
        log.addHandler(_LogParser(self))
        c.update({"debug": "msg", "logger": log})
        dbg = os.environ.get("SAMSA_GROUP_DEBUG")  # deploy/drill's debug directory: the producer's log too
        if dbg:
            h = logging.FileHandler(os.path.join(dbg, "producer-%d.log" % os.getpid()))
            h.setFormatter(logging.Formatter("%(created).3f %(message)s"))
            log.addHandler(h)
            c["debug"] = "msg,broker,topic,protocol"
        c.update(conf or {})
        self.producer = confluent_kafka.Producer(c)

    # -- the thread --------------------------------------------------------------------------

    def _report(self, err, msg, seq):
        with self.lock:
            s = self.sends[seq]
            if err is None:
                s.update(result="ack", offset=msg.offset(), error=None, acked_at=time.monotonic())
                self.pending.pop(seq, None)
                self.acked += 1
            elif self.retry == "app" and s["attempts"] < self.max_attempts and not self.closed:
                s["error"] = str(err)
                self.resend.append(seq)
            else:
                s.update(result="fail", error=str(err))
                self.pending.pop(seq, None)

    def _next_partition(self):
        """The next partition, round robin, with room in its window (window / partitions sends
        without a report); None when all are full. A partition without a leader fills its own
        window and the others go on."""
        limit = max(1, self.window // self.partitions)
        per = {}
        for s in self.pending.values():
            per[s["partition"]] = per.get(s["partition"], 0) + 1
        for k in range(self.partitions):
            p = (self.rr + k) % self.partitions
            if per.get(p, 0) < limit:
                self.rr = p + 1
                return p
        return None

    def _client_retry(self, partition, count):
        """librdkafka will send again a MessageSet of `count` messages of `partition` that may
        have been written. With one request in flight per connection a set that was sent is the oldest
        messages of the partition still without a report (a partition's sets are sent in order,
        a retried set goes back to the head of its queue, and the reports of earlier sets reach
        this thread before the log line of a later one: both come through the main queue)."""
        with self.lock:
            oldest = sorted(seq for seq, s in self.pending.items() if s["partition"] == partition)
            self.retried.update(oldest[:count])

    def _produce(self, seq, p):
        while True:
            try:
                self.producer.produce(self.topic, value=value_of(seq), partition=p,
                                      on_delivery=lambda err, msg, seq=seq: self._report(err, msg, seq))
                return
            except BufferError:
                self.producer.poll(0.05)

    def run(self):
        try:
            t0 = time.monotonic()
            while not self.closed:
                with self.lock:
                    again = self.resend
                    self.resend = []
                for seq in again:
                    with self.lock:
                        s = self.sends[seq]
                        s["attempts"] += 1
                        self.retried.add(seq)
                    self._produce(seq, s["partition"])
                if self.stopping:
                    self.producer.poll(0.05)
                    continue
                if self.rate and self.next_seq >= self.rate * (time.monotonic() - t0):
                    self.producer.poll(0.01)
                    continue
                with self.lock:
                    p = self._next_partition()
                if p is None:
                    self.producer.poll(0.01)
                    continue
                seq = self.next_seq
                self.next_seq += 1
                entry = {"seq": seq, "partition": p, "attempts": 1, "result": "unknown", "offset": None,
                         "error": None}
                with self.lock:
                    self.sends[seq] = entry
                    self.pending[seq] = entry
                self._produce(seq, p)
                self.producer.poll(0)
        except Exception as e:  # reported by stop()
            self.exc = e

    # -- the test's side -----------------------------------------------------------------------

    def acked_count(self):
        with self.lock:
            return self.acked

    def wait_progress(self, n, timeout=60):
        """True once n more messages were acknowledged (within timeout)."""
        target = self.acked_count() + n
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.exc:
                raise self.exc
            if self.acked_count() >= target:
                return True
            time.sleep(0.05)
        return False

    def stop(self, drain_timeout=60):
        """Stops producing new seqs, lets the outstanding ones (and their app retries) finish
        within drain_timeout, and returns the ledger. Sends still without a report are
        "unknown"."""
        self.stopping = True
        deadline = time.monotonic() + drain_timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not self.pending and not self.resend:
                    break
            time.sleep(0.05)
        with self.lock:
            self.closed = True
            self.resend = []
        self.join(10)
        self.close()
        if self.exc:
            raise self.exc
        return self.ledger()

    def close(self):
        """Destroys the client (it would go on reconnecting to stopped brokers)."""
        if self.producer is not None:
            self.producer.flush(0)
            self.producer = None

    def ledger(self):
        with self.lock:
            return {"topic": self.topic, "sends": [dict(s) for _, s in sorted(self.sends.items())],
                    "retried": sorted(self.retried)}


def read_all(bootstrap, topic, partitions, timeout=60):
    """Every record of every partition, from its start to its high watermark at the time of the
    call: {partition: [(offset, seq)]}; seq None for a value that is not one of ours. Raises
    AssertionError naming the partitions not read to their end within timeout."""
    c = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": "ledger-reader",
                                  "enable.auto.commit": False, "enable.partition.eof": True,
                                  "auto.offset.reset": "earliest"})
    try:
        ends = {}
        for p in range(partitions):
            lo, hi = c.get_watermark_offsets(confluent_kafka.TopicPartition(topic, p), timeout=15)
            ends[p] = hi
        out = {p: [] for p in range(partitions)}
        c.assign([confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
                  for p in range(partitions)])
        todo = {p for p in range(partitions) if ends[p] > 0}
        deadline = time.monotonic() + timeout
        while todo and time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is None:
                continue
            if m.error():
                if m.error().code() == confluent_kafka.KafkaError._PARTITION_EOF:
                    if m.offset() >= ends[m.partition()]:
                        todo.discard(m.partition())
                    continue
                raise AssertionError("consumer error: %s" % m.error())
            p = m.partition()
            if m.offset() < ends[p]:
                out[p].append((m.offset(), seq_of(m.value())))
            if m.offset() + 1 >= ends[p]:
                todo.discard(p)
        if todo:
            raise AssertionError("partitions %s of %s not read to their ends %s within %ss (read %s)"
                                 % (sorted(todo), topic, ends, timeout,
                                    {p: len(out[p]) for p in sorted(todo)}))
        return out
    finally:
        c.close()


def poll_batch(consumer, max_messages, timeout, stamp=None):
    """Up to max_messages messages (error events included) from a subscribed confluent-kafka
    consumer: the first waited for up to timeout seconds, the rest taken while they are already
    there, one poll() at a time; with stamp, (message, stamp()) pairs, stamp() called as each
    message arrives (a rebalance callback may run between two polls). Not consume(n): librdkafka 2.0's batch consume (n > 1) stores
    the offsets of messages it then drops when a rebalance runs inside the call (a revoke served
    by its rebalance callback), so the member commits past records it never handed over; its
    v2.0.0 release notes list it as a known issue ("Poor Consumer batch API messaging
    guarantees"), fixed in 2.1. With poll() every message whose offset is stored was returned.
    Seen as a drill failure: a member that held every partition committed 834 on being revoked
    at the group's second join while the last records it had been given were 830."""
    msgs = []
    m = consumer.poll(timeout)
    while m is not None:
        msgs.append((m, stamp()) if stamp else m)
        if len(msgs) >= max_messages:
            break
        m = consumer.poll(0)
    return msgs


class GroupMember(threading.Thread):
    """One member of a consumer group (confluent-kafka, subscribed to topic, the client's default
    assignor; auto.offset.reset earliest) in a thread of its own. It records every record
    delivered to it as (name, session, partition, offset, seq, time.monotonic()) in
    `deliveries` (group_check.check_group reads them), each assignment it receives (a session:
    from an assign to the next revoke) in `assignments`, and commits what it has processed
    (auto commit off): asynchronously after each batch it got, again when its commit lags its
    position (a commit that failed during a rebalance or a coordinator move), synchronously when
    its partitions are revoked and when it stops. conf: further librdkafka settings."""

    def __init__(self, bootstrap, topic, group, name, conf=None):
        threading.Thread.__init__(self, name="group-" + name, daemon=True)
        self.topic = topic
        self.name = name
        self.lock = threading.Lock()
        self.deliveries = []
        self.assignments = []  # (time, [partitions])
        self.session = 0
        self.assigned = ()
        self.position = {}     # partition -> the offset after the last one delivered
        self.committed = {}    # partition -> the last offset a commit of this member acknowledged
        self.commits = 0
        self.commit_errors = []
        self.errors = []
        self.stopping = False
        self.exc = None
        log = logging.getLogger("group-rdkafka-%d" % id(self))  # librdkafka's log: not on stderr
        log.propagate = False
        c = {}
        dbg = os.environ.get("SAMSA_GROUP_DEBUG")  # a directory: librdkafka's debug log of each member there
        if dbg:
            h = logging.FileHandler(os.path.join(dbg, "%s-%s.log" % (group, name)))
            h.setFormatter(logging.Formatter("%(created).3f %(message)s"))
            log.addHandler(h)
            log.setLevel(logging.DEBUG)
            c["debug"] = "cgrp,fetch,msg,topic"
        else:
            log.addHandler(logging.NullHandler())
        c.update({"bootstrap.servers": bootstrap, "group.id": group, "client.id": name, "enable.auto.commit": False,
             "auto.offset.reset": "earliest", "on_commit": self._on_commit, "logger": log,
             "error_cb": lambda e: self.errors.append(str(e))})
        c.update(conf or {})
        self.consumer = confluent_kafka.Consumer(c)

    def _on_commit(self, err, partitions):
        with self.lock:
            if err is not None:
                if err.code() != confluent_kafka.KafkaError._NO_OFFSET:
                    self.commit_errors.append(str(err))
                return
            self.commits += 1
            for tp in partitions:
                if tp.error is None and tp.offset >= 0:
                    self.committed[tp.partition] = max(tp.offset, self.committed.get(tp.partition, -1))

    def _commit(self, asynchronous):
        try:
            self.consumer.commit(asynchronous=asynchronous)
        except confluent_kafka.KafkaException as e:  # nothing to commit, or a rebalance meanwhile
            if e.args[0].code() != confluent_kafka.KafkaError._NO_OFFSET:
                with self.lock:
                    self.commit_errors.append(str(e))

    def _on_assign(self, consumer, partitions):
        with self.lock:
            self.session += 1
            self.assigned = tuple(sorted(tp.partition for tp in partitions))
            self.assignments.append((time.monotonic(), list(self.assigned)))

    def _on_revoke(self, consumer, partitions):
        self._commit(asynchronous=False)
        with self.lock:
            self.assigned = ()

    def lagging(self):
        """The assigned partitions whose position is past what a commit acknowledged."""
        with self.lock:
            return [p for p in self.assigned if self.position.get(p, -1) > self.committed.get(p, -1)]

    def run(self):
        try:
            self.consumer.subscribe([self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
            recommit = time.monotonic()
            while not self.stopping:
                # a stall is seen to 50 ms; each message with the member session it came in
                msgs = poll_batch(self.consumer, 500, 0.05, stamp=lambda: self.session)
                now = time.monotonic()
                got = []
                for m, session in msgs:
                    if m.error():
                        if m.error().code() != confluent_kafka.KafkaError._PARTITION_EOF:
                            self.errors.append(str(m.error()))
                        continue
                    got.append((self.name, session, m.partition(), m.offset(), seq_of(m.value()), now))
                if got:
                    with self.lock:
                        self.deliveries.extend(got)
                        for d in got:
                            self.position[d[2]] = max(d[3] + 1, self.position.get(d[2], 0))
                    self._commit(asynchronous=True)
                elif now > recommit and self.lagging():
                    recommit = now + 1.0
                    self._commit(asynchronous=True)
            self._commit(asynchronous=False)
        except Exception as e:  # reported by stop()
            self.exc = e
        finally:
            self.consumer.close()  # leaves the group

    def snapshot(self):
        """(position per partition, sessions so far, assigned partitions)."""
        with self.lock:
            return dict(self.position), self.session, self.assigned

    def stop(self, timeout=30):
        """Commits what it processed, leaves the group and returns its deliveries."""
        self.stopping = True
        self.join(timeout)
        if self.exc:
            raise self.exc
        with self.lock:
            return list(self.deliveries)


def committed_offsets(bootstrap, topic, partitions, group, timeout=10):
    """The group's committed offsets {partition: offset} (-1001, i.e. none, where it has none),
    read with OffsetFetch by a consumer that does not join the group."""
    c = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        got = c.committed([confluent_kafka.TopicPartition(topic, p) for p in range(partitions)], timeout=timeout)
        return {tp.partition: tp.offset for tp in got}
    finally:
        c.close()


def high_watermarks(bootstrap, topic, partitions, timeout=15):
    """{partition: its high watermark}."""
    c = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": "ledger-reader",
                                  "enable.auto.commit": False})
    try:
        return {p: c.get_watermark_offsets(confluent_kafka.TopicPartition(topic, p), timeout=timeout)[1]
                for p in range(partitions)}
    finally:
        c.close()


class KafkajsLedgerProducer(threading.Thread):
    """LedgerProducer's interface over kafkajs_ledger.js: kafkajs's idempotent producer (acks=-1,
    its own retries, which an idempotent producer never gives up) in a node process of its own,
    one send at a time per partition; this thread reads its event lines into the same ledger.
    kafkajs says nothing of the requests it sends again, so `retried` stays empty: any
    duplicate read back is an error for ledger_check, as an idempotent producer must write none."""

    SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kafkajs_ledger.js")
    MODULES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "node_modules", "kafkajs")

    def __init__(self, bootstrap, topic, partitions, rate=500):
        threading.Thread.__init__(self, name="kafkajs-ledger", daemon=True)
        node = shutil.which("node") or shutil.which("nodejs")
        if not node or not os.path.isdir(self.MODULES):
            raise AssertionError("node or tests/node_modules/kafkajs is missing: run deploy/install-deps")
        self.topic = topic
        self.lock = threading.Lock()
        self.sends = {}
        self.acked = 0
        self.errors = []
        self.exc = None
        self.finished = False
        self.proc = subprocess.Popen([node, self.SCRIPT, bootstrap, topic, str(partitions), str(rate)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def run(self):
        try:
            for line in self.proc.stdout:
                ev = json.loads(line)
                with self.lock:
                    if "send" in ev:
                        self.sends[ev["send"]] = {"seq": ev["send"], "partition": ev["p"], "attempts": 1,
                                                  "result": "unknown", "offset": None, "error": None}
                    elif "ack" in ev:
                        self.sends[ev["ack"]].update(result="ack", offset=ev["offset"])
                        self.acked += 1
                    elif "fail" in ev:
                        self.sends[ev["fail"]].update(result="fail", error=ev["error"])
                        self.errors.append(ev["error"])
                    elif "error" in ev:
                        self.errors.append(ev["error"])
                    elif ev.get("done"):
                        self.finished = True
        except Exception as e:  # reported by stop()
            self.exc = e

    def acked_count(self):
        with self.lock:
            return self.acked

    def wait_progress(self, n, timeout=60):
        """True once n more messages were acknowledged (within timeout)."""
        target = self.acked_count() + n
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.exc:
                raise self.exc
            if self.acked_count() >= target:
                return True
            if self.proc.poll() is not None and not self.is_alive():
                raise AssertionError("kafkajs_ledger.js exited with %s: %s" % (self.proc.returncode, self.errors[-3:]))
            time.sleep(0.05)
        return False

    def stop(self, drain_timeout=60):
        """No new seq; the sends in flight finish within drain_timeout (else the process is
        killed and they stay "unknown"); returns the ledger."""
        try:
            self.proc.stdin.write("stop\n")
            self.proc.stdin.close()
        except (BrokenPipeError, ValueError):
            pass
        try:
            self.proc.wait(drain_timeout)
        except subprocess.TimeoutExpired:
            pass
        self.close()
        self.join(10)
        if self.exc:
            raise self.exc
        return self.ledger()

    def close(self):
        """Stops the node process by its pid (also when a test fails)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def ledger(self):
        with self.lock:
            return {"topic": self.topic, "sends": [dict(s) for _, s in sorted(self.sends.items())], "retried": []}
