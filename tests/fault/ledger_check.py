"""The checker of the broker fault tests: what a producer's ledger promises against what a
consumer read back. A pure function of two plain structures (no clients, no clock), so that its
own unit test (test_ledger_check.py) can feed it crafted histories that must fail.

The ledger (kafka_ledger.LedgerProducer.ledger()):
    {"topic": name,
     "sends": [{"seq": int, "partition": int, "attempts": int,
                "result": "ack" | "fail" | "unknown", "offset": int | None, "error": str | None}],
     "retried": [seq, ...]}
  - seq is unique per message and, within one partition, grows in the order the producer
    produced its messages (the producer assigns seqs in order and a partition per seq);
  - "ack": the broker acknowledged the message at (partition, offset); "fail": the producer gave
    up (the message may still have been written: a timed-out request can have been applied);
    "unknown": no answer before the producer stopped;
  - retried: the seqs that went out more than once (the application produced them again after a
    failure, or the client retried a request whose answer it did not get). Only these may
    appear more than once in the log.

What was read (kafka_ledger.read_all): {partition: [(offset, seq), ...]} in offset order, every
record from the log start to the end; seq is None for a record that is not one of the
producer's messages (its raw value goes into the report).

The rules (Kafka's promise for acks=all with min.insync.replicas and one replica lost, and for
the producer settings the tests use: max.in.flight 1, idempotence off):
  1. every acknowledged message is in the log at the partition and offset its ack named, with its
     seq (nothing acknowledged lost, moved or overwritten);
  2. per partition, the first copies of the messages that were never retried appear in seq order
     (a retried message is produced again after later ones, so it may come later);
  3. a seq appears more than once only if it was retried (such duplicates are counted);
  4. nothing is read that the producer never sent, nor in another partition than its own;
  5. offsets read from a partition strictly increase (the consumer saw one log, not two).
"""


class Report:
    """ok: no rule broken; errors: one line per broken rule instance (capped per rule);
    counts: figures for the test's summary line."""

    MAX_PER_RULE = 5

    def __init__(self):
        self.errors = []
        self.counts = {"sent": 0, "acked": 0, "failed": 0, "unknown": 0, "retried": 0, "read": 0,
                       "duplicates": 0, "unacked_read": 0}
        self._per_rule = {}

    @property
    def ok(self):
        return not self.errors

    def error(self, rule, text):
        n = self._per_rule.get(rule, 0) + 1
        self._per_rule[rule] = n
        if n <= self.MAX_PER_RULE:
            self.errors.append("%s: %s" % (rule, text))
        elif n == self.MAX_PER_RULE + 1:
            self.errors.append("%s: (more of these are not listed)" % rule)

    def rule_counts(self):
        """{rule: how many times it was broken}."""
        return dict(self._per_rule)

    def summary(self):
        c = self.counts
        return ("%d sent, %d acknowledged, %d failed, %d unknown, %d retried; %d read, "
                "%d duplicates (all retried), %d read that were never acknowledged"
                % (c["sent"], c["acked"], c["failed"], c["unknown"], c["retried"], c["read"],
                   c["duplicates"], c["unacked_read"]))

    def __repr__(self):
        return "Report(ok=%s, %s%s)" % (self.ok, self.summary(),
                                         "".join("\n  " + e for e in self.errors))


def check(ledger, consumed):
    """Checks the rules of the module comment; returns a Report. Neither argument is changed."""
    rep = Report()
    sends = {}
    for s in ledger["sends"]:
        if s["seq"] in sends:
            rep.error("ledger", "seq %d sent under two ledger entries" % s["seq"])
        sends[s["seq"]] = s
    retried = set(ledger.get("retried", ()))
    c = rep.counts
    c["sent"] = len(sends)
    c["acked"] = sum(s["result"] == "ack" for s in sends.values())
    c["failed"] = sum(s["result"] == "fail" for s in sends.values())
    c["unknown"] = sum(s["result"] == "unknown" for s in sends.values())
    c["retried"] = len(retried)
    c["read"] = sum(len(v) for v in consumed.values())

    # what the log holds at each (partition, offset); where each seq was seen
    at = {}
    seen = {}
    for p in sorted(consumed):
        last = None
        for off, seq in consumed[p]:
            if last is not None and off <= last:
                rep.error("5 offsets", "partition %d: offset %d read after offset %d" % (p, off, last))
            last = off
            at[(p, off)] = seq
            if seq is None:
                rep.error("4 foreign", "partition %d offset %d holds a record the producer never sent"
                          % (p, off))
                continue
            s = sends.get(seq)
            if s is None:
                rep.error("4 foreign", "partition %d offset %d holds seq %d, which was never sent"
                          % (p, off, seq))
                continue
            if s["partition"] != p:
                rep.error("4 foreign", "seq %d was sent to partition %d but read from partition %d "
                          "offset %d" % (seq, s["partition"], p, off))
            seen.setdefault(seq, []).append((p, off))

    # 1: every ack is in the log where it was promised
    for seq in sorted(sends):
        s = sends[seq]
        if s["result"] != "ack":
            continue
        where = (s["partition"], s["offset"])
        got = at.get(where, "missing")
        if got == seq:
            continue
        if got == "missing":
            elsewhere = seen.get(seq)
            rep.error("1 lost", "seq %d acknowledged at partition %d offset %d is not in the log%s"
                      % (seq, where[0], where[1],
                         " (read at %s instead)" % elsewhere if elsewhere else ""))
        else:
            rep.error("1 overwritten", "seq %d acknowledged at partition %d offset %d, but the log "
                      "holds %s there" % (seq, where[0], where[1],
                                          "seq %d" % got if got is not None else "a foreign record"))

    # 2: order of the first copies of never-retried messages, per partition
    for p in sorted(consumed):
        first = []
        done = set()
        for off, seq in consumed[p]:
            if seq is None or seq in done or seq in retried or seq not in sends:
                continue
            done.add(seq)
            first.append((off, seq))
        for (o1, s1), (o2, s2) in zip(first, first[1:]):
            if s2 < s1:
                rep.error("2 order", "partition %d: seq %d at offset %d comes after seq %d at offset %d, "
                          "but was produced before it" % (p, s2, o2, s1, o1))

    # 3: duplicates only where retried
    for seq, where in sorted(seen.items()):
        if len(where) > 1:
            if seq in retried:
                c["duplicates"] += len(where) - 1
            else:
                rep.error("3 duplicate", "seq %d read %d times (%s) but sent once"
                          % (seq, len(where), ", ".join("%d/%d" % w for w in where)))
    c["unacked_read"] = sum(1 for seq in seen if sends[seq]["result"] != "ack")
    return rep
