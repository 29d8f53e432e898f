"""deploy/drill's checker of its consumer group: what the producer's ledger says was acknowledged
against what the group's members were delivered. A pure function of plain structures (no
clients; times are numbers, time.monotonic() in the drill), so that test_group_check.py can feed
it crafted histories.

The ledger's sends (kafka_ledger.LedgerProducer.ledger()["sends"]): each {"seq", "partition",
"result", "offset", "acked_at"}; only "ack" ones count. The deliveries
(kafka_ledger.GroupMember.deliveries of every member): (member, session, partition, offset, seq,
time), in the order each member got them; a member's session is one assignment (from a
rebalance's assign to the next revoke), numbered from 1.

  consumed      acknowledged records the group was delivered (the same partition, offset and seq)
  missed        acknowledged records the group was never delivered: a failure
  redelivered   deliveries of a (partition, offset) the group had already been delivered, by
                any member (at-least-once: after a rebalance the new owner starts at the last
                commit); counted, not a failure
  out_of_order  deliveries whose offset is not above the one before it in the same partition
                and member session (a member's fetch position moving back)
  longest_wait  the longest time from an acknowledgement to the record's first delivery (of those
                acknowledged between begin and end)
  stalls        the intervals (start, end) in which the group got no record it had not had
                before while at least one acknowledged record was waiting for it (acknowledged
                and not yet delivered): from the later of the last new delivery and the earliest
                such ack to the next new delivery (or `end` when none came)
"""


def check_group(sends, deliveries, begin, end):
    """Returns {"acked", "consumed", "longest_wait", "waits" ((acked_at, first delivered or None)
    of each acknowledged record), "missed" (sorted (partition, offset, seq) of the first 20),
    "missed_count", "delivered", "redelivered", "out_of_order", "stalls"}; stalls are clipped
    to begin..end (the time the group formed to the end of its drain)."""
    acked = {(s["partition"], s["offset"]): (s["seq"], s.get("acked_at")) for s in sends if s["result"] == "ack"}
    first = {}          # (partition, offset) -> (seq, time of its first delivery)
    redelivered = 0
    out_of_order = 0
    last = {}           # (member, session, partition) -> offset last delivered
    for member, session, p, off, seq, t in deliveries:
        key = (member, session, p)
        if key in last and off <= last[key]:
            out_of_order += 1
        last[key] = off
        if (p, off) in first:
            redelivered += 1
            first[(p, off)] = (first[(p, off)][0], min(first[(p, off)][1], t))
        else:
            first[(p, off)] = (seq, t)
    consumed = 0
    missed = []
    waits = []          # (acked_at, time first delivered or None) of each acknowledged record
    for where, (seq, at) in acked.items():
        got = first.get(where)
        if got is not None and got[0] == seq:
            consumed += 1
            waits.append((at, got[1]))
        else:
            missed.append(where + (seq,))
            waits.append((at, None))
    waited = [d - a for a, d in waits if a is not None and d is not None and begin <= a <= end]
    return {"acked": len(acked), "consumed": consumed, "longest_wait": max([0.0] + waited), "waits": waits,
            "missed": sorted(missed)[:20], "missed_count": len(missed),
            "delivered": len(deliveries), "redelivered": redelivered, "out_of_order": out_of_order,
            "stalls": stalls([t for _, t in first.values()], waits, begin, end)}


def stalls(progress, waits, begin, end):
    """progress: the times the group got a record new to it; waits: (acked_at, delivered_at or
    None) per acknowledged record. The intervals within begin..end with a record waiting and
    no progress (see the module comment), in time order."""
    inf = float("inf")
    moments = sorted([begin] + [t for t in progress if begin < t < end]) + [end]
    pend = sorted((inf if d is None else d, a) for a, d in waits if a is not None)
    # suffix minimum of acked_at over the records delivered last: the earliest ack still waiting
    earliest = [inf] * (len(pend) + 1)
    for i in range(len(pend) - 1, -1, -1):
        earliest[i] = min(pend[i][1], earliest[i + 1])
    out = []
    j = 0
    for a, b in zip(moments, moments[1:]):
        while j < len(pend) and pend[j][0] <= a:
            j += 1
        start = max(a, earliest[j])
        if start < b:
            out.append((start, b))
    return out


def longest_wait(waits, t0, t1):
    """The longest time from its ack to its first delivery of a record acknowledged within
    t0..t1 (one never delivered: None)."""
    w = [d - a for a, d in waits if a is not None and t0 <= a <= t1 and d is not None]
    if any(d is None for a, d in waits if a is not None and t0 <= a <= t1):
        return None
    return max([0.0] + w)


def longest(intervals):
    """The longest of intervals (a, b), 0 when none."""
    return max([0.0] + [b - a for a, b in intervals])


def per_round(intervals, tiles):
    """tiles: consecutive rounds (start, end), each starting where the one before ended. Per
    tile, the longest of intervals (a, b) whose midpoint lies in it: each interval counts in one
    round only, the one it mostly belongs to (a gap that begins at the very end of a round, as
    the next one's fault strikes, is the next one's)."""
    import bisect
    starts = [t0 for t0, _ in tiles]
    out = [0.0] * len(tiles)
    for a, b in intervals:
        m = (a + b) / 2
        i = bisect.bisect_right(starts, m) - 1
        if 0 <= i < len(tiles) and m < tiles[i][1]:
            out[i] = max(out[i], b - a)
    return out
