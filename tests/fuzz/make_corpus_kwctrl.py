"""Regenerates the seed corpus of the kwctrl harness (tests/fuzz/corpus/kwctrl): request bodies
written field by field from apache/kafka's ControlledShutdownRequest.json and
ElectLeadersRequest.json. Byte 0 picks the API and version (0-1: ControlledShutdown v1-2, 2-3:
ElectLeaders v0-1), the rest is the body.
    /usr/bin/python3 tests/fuzz/make_corpus_kwctrl.py
"""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "kwctrl")


def s(x):
    b = x.encode()
    return struct.pack(">h", len(b)) + b


def topics(ts):
    if ts is None:
        return struct.pack(">i", -1)
    return struct.pack(">i", len(ts)) + b"".join(
        s(n) + struct.pack(">i", len(ps)) + b"".join(struct.pack(">i", p) for p in ps) for n, ps in ts)


SEEDS = {
    "cs_v1": (0, struct.pack(">i", 2)),
    "cs_v2_epoch": (1, struct.pack(">iq", 1, 0x110)),
    "el_v0_two": (2, topics([("t1", [0, 1, 2]), ("t2", [7])]) + struct.pack(">i", 30000)),
    "el_v1_unclean_all": (3, bytes([1]) + topics(None) + struct.pack(">i", 0)),
    "el_v1_nul_name": (3, bytes([0]) + topics([("t\0", [0])]) + struct.pack(">i", 1000)),
}

os.makedirs(out, exist_ok=True)
for name, (sel, body) in SEEDS.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes([sel]) + body)
