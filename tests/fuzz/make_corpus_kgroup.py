"""Regenerates the seed corpus of the kgroup harness (tests/fuzz/corpus/kgroup): programs for
the group coordinator's core, each step an opcode and its operands in the order
fuzz_kgroup.c reads them (see the opcode table there): two members rebalancing, syncing,
committing and leaving; KIP-394 and KIP-345 joins; partitions loaded from records written
here from Kafka's __consumer_offsets schemas (offset commit key v1 / value v3, group metadata
key v2 / value v3, tombstones) and unloaded with requests parked.
    /usr/bin/python3 tests/fuzz/make_corpus_kgroup.py
"""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "kgroup")


def u16(v):
    return struct.pack(">H", v)


def s(v):
    if v is None:
        return struct.pack(">h", -1)
    b = v.encode()
    return struct.pack(">h", len(b)) + b


def by(v):
    return struct.pack(">i", len(v)) + v


# operands
G0, G1, G2, G3, GEMPTY = 0, 1, 2, 3, 4      # group byte
NEW, UNKNOWN = 4, 0                          # member byte: "" / "x-unknown"
def ID(i):                                   # member byte: the i-th id the core handed out
    return 1 + 4 * i
NOINST, I0, I1 = 0, 2, 5                     # instance byte
GEN1, GEN2, GENM1 = 1, 2, 4                  # generation byte


def header(delay_ms=3000, max_size=8, retention=100, interval=1000, seed=1):
    return bytes([delay_ms // 20, max_size - 1]) + u16(retention) + u16(interval) + bytes([seed])


def join(ver, group, member, inst=NOINST, protos=1, session=10000, rebalance=10000):
    b = bytes([3, ver, protos, group]) + u16(session // 4) + u16(rebalance // 4 + 1) + bytes([member])
    return b + (bytes([inst]) if ver >= 5 else b"")


def sync(ver, group, gen, member, assign=(), inst=NOINST):
    return bytes([5, ver, len(assign)] + list(assign) + [group, gen, member, inst])


def heartbeat(group, gen, member, inst=NOINST, ver=3):
    return bytes([6, ver, group, gen, member, inst])


def leave(ver, group, member, batch=()):
    b = bytes([7, ver, len(batch)])
    for m, i in batch:
        b += bytes([m, i])
    return b + bytes([group, member])


def commit(ver, group, gen, member, parts, topic=0, retention=None, inst=NOINST):
    b = bytes([8, ver, 1, len(parts)])
    for p, off in parts:
        b += bytes([p]) + u16(off)
    b += bytes([topic, group, gen, member, inst])
    return b + (bytes([0]) + u16(retention // 10) if retention is not None else bytes([1]))


def fetch(ver, group, all_=True):
    return bytes([9, ver, 0 if all_ else 2, group])


def describe(*groups):
    g = list(groups) + [0] * (3 - len(groups))
    return bytes([10, 4] + g + [len(groups)])


def list_():
    return bytes([11, 2])


def delete(*groups):
    g = list(groups) + [0] * (3 - len(groups))
    return bytes([12, 1] + g + [len(groups)])


def odelete(group, ntopics=2):
    return bytes([13, 0, group, ntopics])


def tick(ms):
    return bytes([14]) + u16(ms // 4)


def complete(which=0, err=0):
    return bytes([15, which, err])


def unload(p):
    return bytes([2, p])


def load(p, recs=(), end=True):
    b = bytes([0, p, len(recs)])
    for k, v in recs:
        b += bytes([len(k), len(v)]) + k + v
    return b + bytes([1 if end else 0])


def offset_key(g, t, p):
    return struct.pack(">h", 1) + s(g) + s(t) + struct.pack(">i", p)


def offset_value(off, md="x"):  # 25 bytes (24 would read as a tombstone)
    return struct.pack(">hqi", 3, off, -1) + s(md) + struct.pack(">q", 1000)


def group_key(g):
    return struct.pack(">h", 2) + s(g)


def subscription(*topics):
    b = struct.pack(">hi", 0, len(topics))
    for t in topics:
        b += s(t)
    return b + struct.pack(">i", -1)


def group_value(gen, members, protocol="range", leader=None):
    b = struct.pack(">h", 3) + s("consumer") + struct.pack(">i", gen) + s(protocol)
    b += s(leader if leader is not None else (members[0] if members else None))
    b += struct.pack(">qi", 1000, len(members))
    for m in members:
        b += s(m) + s(None) + s("c") + s("/h") + struct.pack(">ii", 10000, 10000)
        b += by(subscription("t0")) + by(b"A")
    return b


def tomb(n=3):
    return b"\0" * n  # a value length with len % 7 == 3 is read as a tombstone


progs = {
    "two_members": header() + join(3, G0, NEW) + join(3, G0, NEW) + tick(7000)
    + sync(3, G0, GEN1, ID(1)) + sync(3, G0, GEN1, ID(0), (ID(0), ID(1))) + complete()
    + heartbeat(G0, GEN1, ID(0)) + commit(7, G0, GEN1, ID(0), [(1, 42), (2, 43)]) + complete()
    + fetch(5, G0) + fetch(1, G0, False) + describe(G0, G1, GEMPTY) + list_()
    + leave(3, G0, NEW, [(ID(1), NOINST), (UNKNOWN, NOINST)]) + heartbeat(G0, GEN1, ID(0))
    + join(3, G0, ID(0)) + tick(100) + complete() + delete(G0, G1) + odelete(G0)
    + unload(1) + load(1) + fetch(5, G0),
    "member_id_required": header(delay_ms=0) + join(4, G1, NEW) + join(4, G1, ID(0)) + tick(100)
    + join(4, G1, NEW) + tick(11000) + join(4, G1, ID(2)) + heartbeat(G1, GEN1, ID(1)),
    "static": header() + join(5, G2, NEW, I0) + tick(3000) + sync(3, G2, GEN1, ID(0), (ID(0),))
    + complete() + join(5, G2, NEW, I0) + complete() + heartbeat(G2, GEN1, ID(0), I0)
    + heartbeat(G2, GEN1, ID(1), I0) + join(5, G2, NEW, I0) + complete(0, 4)
    + leave(3, G2, NEW, [(NEW, I0)]) + tick(12000),
    "rebalance_timeout": header(delay_ms=100) + join(3, G3, NEW, rebalance=8000)
    + join(3, G3, NEW, rebalance=8000) + tick(4000) + sync(3, G3, GEN1, ID(0), (ID(0), ID(1)))
    + complete() + join(3, G3, ID(0), rebalance=8000) + tick(9000) + heartbeat(G3, GEN1, ID(1))
    + commit(2, G3, GENM1, NEW, [(0, 5)], retention=5000) + complete() + tick(20000) + fetch(5, G3),
    "simple_commits_retention": header(retention=1, interval=500)
    + commit(2, G1, GENM1, NEW, [(0, 1), (3, 2)]) + complete() + commit(1, GEMPTY, GENM1, NEW, [(1, 9)])
    + complete(0, 3) + tick(3000) + tick(3000) + complete() + fetch(3, G1, False) + list_(),
    "load_records": header() + unload(1)
    + load(1, [(offset_key("g0", "t0", 0), offset_value(7)),
               (offset_key("g0", "t0", 1), offset_value(8, "m")),
               (offset_key("g0", "t0", 1), tomb()),
               (group_key("g0"), group_value(4, ["m-1", "m-2"]))])
    + heartbeat(G0, 4, NEW) + describe(G0) + fetch(5, G0) + join(3, G0, NEW) + tick(100)
    + load(1, [(group_key("g3"), group_value(2, []))], end=False) + join(3, G3, NEW)
    + list_() + unload(1) + load(1, [(group_key("g0"), tomb())]) + describe(G0),
    "unload_parked": header(delay_ms=5000) + join(3, G0, NEW) + commit(2, G0, GENM1, NEW, [(0, 1)])
    + unload(1) + complete() + join(3, G0, NEW) + load(1) + join(3, G0, NEW) + tick(6000)
    + sync(3, G0, GEN1, ID(1)) + bytes([17]) + commit(2, G3, GENM1, NEW, [(0, 1)]) + bytes([17])
    + sync(3, G0, GEN1, ID(0)),
}

os.makedirs(out, exist_ok=True)
for name, body in progs.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(body)
