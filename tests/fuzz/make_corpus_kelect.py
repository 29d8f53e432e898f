"""Regenerates the seed corpus of the kelect harness (tests/fuzz/corpus/kelect): Metadata v1
and ElectLeaders v1 response frames (without their length prefix), written field by field from
apache/kafka's message schemas; the first byte picks the decoder (0: ElectLeaders, 1: Metadata).
    /usr/bin/python3 tests/fuzz/make_corpus_kelect.py
"""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "kelect")


def s16(s):
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def ids(v):
    if v is None:
        return struct.pack(">i", -1)
    return struct.pack(">i", len(v)) + b"".join(struct.pack(">i", x) for x in v)


def elect(corr, err, topics):
    b = struct.pack(">iih", corr, 0, err) + struct.pack(">i", len(topics))
    for t, parts in topics:
        b += s16(t) + struct.pack(">i", len(parts))
        for p, e, m in parts:
            b += struct.pack(">ih", p, e) + s16(m)
    return b"\x00" + b


def metadata(corr, brokers, controller, topics):
    b = struct.pack(">i", corr) + struct.pack(">i", len(brokers))
    for i, h, port, rack in brokers:
        b += struct.pack(">i", i) + s16(h) + struct.pack(">i", port) + s16(rack)
    b += struct.pack(">i", controller) + struct.pack(">i", len(topics))
    for e, name, internal, parts in topics:
        b += struct.pack(">h", e) + s16(name) + struct.pack(">b", internal) + struct.pack(">i", len(parts))
        for pe, p, leader, reps, isr in parts:
            b += struct.pack(">hii", pe, p, leader) + ids(reps) + ids(isr)
    return b"\x01" + b


seeds = {
    "elect_mixed": elect(7, 0, [("r3", [(0, 0, None), (1, 84, "preferred election of r3-1: not needed"),
                                       (2, 80, "preferred election of r3-2: the preferred replica is not live")]),
                               ("other", [(0, 3, None)])]),
    "elect_empty": elect(1, 0, []),
    "elect_not_controller": elect(2, 41, [("t", [(0, 41, "this broker is not the controller")])]),
    "elect_many": elect(3, 0, [("t%d" % i, [(p, 0, None) for p in range(8)]) for i in range(16)]),
    "metadata_three": metadata(9, [(0, "127.0.0.1", 9092, None), (1, "127.0.0.1", 9093, "r1"),
                                   (2, "localhost", 9094, None)], 1, []),
    "metadata_topics": metadata(4, [(0, "h0", 1, None)], 0,
                                [(0, "r3", 0, [(0, 0, 0, [0, 1, 2], [0, 2]), (0, 1, 1, [1, 2, 0], None)]),
                                 (3, "gone", 0, [])]),
    "metadata_no_controller": metadata(5, [], -1, []),
}

os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
