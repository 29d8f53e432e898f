"""Regenerates the seed corpora of the kwprod, kwfetch, kwoffs and kwepoch harnesses
(tests/fuzz/corpus/kw{prod,fetch,offs,epoch}): Produce, Fetch, ListOffsets and
OffsetForLeaderEpoch request bodies (after the request header), the first byte picking the
version as each harness does, written field by field from apache/kafka's
{Produce,Fetch,ListOffsets,OffsetForLeaderEpoch}Request.json.
    /usr/bin/python3 tests/fuzz/make_corpus_kwire.py
"""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))


def s16(s):
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">h", len(b)) + b


def i32(v):
    return struct.pack(">i", v)


def i64(v):
    return struct.pack(">q", v)


def arr(items):
    return i32(len(items)) + b"".join(items)


# a record batch header of 61 bytes with no records (the codec never looks inside)
BATCH = i64(0) + i32(49) + i32(0) + bytes([2]) + bytes(4) + bytes(2) + i32(0) + i64(0) + i64(0) + i64(-1) \
    + struct.pack(">h", -1) + i32(-1) + i32(0)


def produce(ver, topics, txn=None, acks=-1, timeout=30000):
    body = s16(txn) + struct.pack(">h", acks) + i32(timeout)
    body += arr([s16(t) + arr([i32(p) + (i32(-1) if r is None else i32(len(r)) + r) for p, r in parts])
                 for t, parts in topics])
    return bytes([ver - 3]) + body


def fetch(ver, topics, replica=-1, wait=500, minb=1, maxb=52428800, forgot=(), rack="r1"):
    body = i32(replica) + i32(wait) + i32(minb) + i32(maxb) + bytes([0])
    if ver >= 7:
        body += i32(0) + i32(-1)
    parts = []
    for t, ps in topics:
        pb = []
        for p, off in ps:
            e = i32(p)
            if ver >= 9:
                e += i32(3)
            e += i64(off)
            if ver >= 5:
                e += i64(-1)
            pb.append(e + i32(1048576))
        parts.append(s16(t) + arr(pb))
    body += arr(parts)
    if ver >= 7:
        body += arr([s16(t) + arr([i32(p) for p in ps]) for t, ps in forgot])
    if ver >= 11:
        body += s16(rack)
    return bytes([ver - 4]) + body


def offsets(ver, topics, replica=-1):
    body = i32(replica)
    if ver >= 2:
        body += bytes([1])
    tb = []
    for t, ps in topics:
        pb = []
        for p, ts in ps:
            e = i32(p)
            if ver >= 4:
                e += i32(0)
            e += i64(ts)
            if ver == 0:
                e += i32(1)
            pb.append(e)
        tb.append(s16(t) + arr(pb))
    return bytes([ver]) + body + arr(tb)


def epoch(ver, topics, replica=1):
    body = i32(replica) if ver >= 3 else b""
    tb = []
    for t, ps in topics:
        pb = []
        for p, e in ps:
            x = i32(p)
            if ver >= 2:
                x += i32(e)
            pb.append(x + i32(e))
        tb.append(s16(t) + arr(pb))
    return bytes([ver]) + body + arr(tb)


corpora = {
    "kwprod": {
        "v3_one": produce(3, [("t", [(0, BATCH)])]),
        "v5_two_topics": produce(5, [("cities", [(0, BATCH), (1, BATCH + BATCH)]), ("t.x", [(2, BATCH)])], acks=1),
        "v7_txn": produce(7, [("t", [(0, BATCH)])], txn="tx-1"),
        "v8_null_records": produce(8, [("t", [(0, None)])], acks=0),
        "v8_long_name": produce(8, [("x" * 300, [(0, BATCH)])]),
        "v6_nul_name": produce(6, [(b"a\x00b", [(0, b"")])]),
        "v4_truncated": produce(4, [("t", [(0, BATCH)])])[:-7],
        "v8_empty": produce(8, []),
    },
    "kwfetch": {
        "v4_one": fetch(4, [("t", [(0, 0)])]),
        "v6_two": fetch(6, [("cities", [(0, 10), (1, 0)]), ("t.x", [(2, 5)])], replica=1),
        "v7_forgot": fetch(7, [("t", [(0, 0)])], forgot=[("old", [1, 2])]),
        "v9_epoch": fetch(9, [("t", [(0, 3)])], wait=0, minb=0),
        "v11_rack": fetch(11, [("t", [(0, 0), (1, 0)])], rack="rack-a"),
        "v11_long_name": fetch(11, [("x" * 300, [(0, 0)])]),
        "v10_truncated": fetch(10, [("t", [(0, 0)])])[:-3],
        "v8_empty": fetch(8, []),
    },
    "kwoffs": {
        "v0_latest": offsets(0, [("t", [(0, -1)])]),
        "v1_earliest": offsets(1, [("t", [(0, -2), (1, -2)])]),
        "v2_time": offsets(2, [("cities", [(0, 1700000000000)]), ("t.x", [(0, -1)])]),
        "v4_epoch": offsets(4, [("t", [(0, -1)])]),
        "v5_long_name": offsets(5, [("x" * 300, [(0, -1)])]),
        "v3_nul_name": offsets(3, [(b"a\x00b", [(0, -1)])]),
        "v5_truncated": offsets(5, [("t", [(0, -1)])])[:-5],
    },
    "kwepoch": {
        "v0_one": epoch(0, [("t", [(0, 0)])]),
        "v1_two": epoch(1, [("cities", [(0, 3), (1, 2)]), ("t.x", [(2, 0)])]),
        "v2_current": epoch(2, [("t", [(0, 5)])]),
        "v3_replica": epoch(3, [("t", [(0, 5), (1, 4)])], replica=2),
        "v3_long_name": epoch(3, [("x" * 300, [(0, 1)])]),
        "v2_nul_name": epoch(2, [(b"a\x00b", [(0, 1)])]),
        "v3_truncated": epoch(3, [("t", [(0, 5)])])[:-3],
        "v0_empty": epoch(0, []),
    },
}

for name, seeds in corpora.items():
    out = os.path.join(here, "corpus", name)
    os.makedirs(out, exist_ok=True)
    for seed, data in seeds.items():
        with open(os.path.join(out, seed), "wb") as f:
            f.write(data)
