"""Regenerates the seed corpus of the kwmark harness (tests/fuzz/corpus/kwmark): WriteTxnMarkers
request and response bodies written field by field from apache/kafka's
WriteTxnMarkers{Request,Response}.json. Byte 0 is the version (0-1), the rest the body.
    /usr/bin/python3 tests/fuzz/make_corpus_kwmark.py
"""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "kwmark")


def s16(name):
    return struct.pack(">h", len(name)) + name


def cstr(name):
    return bytes([len(name) + 1]) + name


def req_v0(markers):
    b = struct.pack(">i", len(markers))
    for pid, epoch, commit, topics, cepoch in markers:
        b += struct.pack(">qhb", pid, epoch, commit) + struct.pack(">i", len(topics))
        for name, parts in topics:
            b += s16(name) + struct.pack(">i", len(parts)) + b"".join(struct.pack(">i", p) for p in parts)
        b += struct.pack(">i", cepoch)
    return b


def req_v1(markers, tag=b""):
    b = bytes([len(markers) + 1])
    for pid, epoch, commit, topics, cepoch in markers:
        b += struct.pack(">qhb", pid, epoch, commit) + bytes([len(topics) + 1])
        for name, parts in topics:
            b += cstr(name) + bytes([len(parts) + 1]) + b"".join(struct.pack(">i", p) for p in parts) + b"\0"
        b += struct.pack(">i", cepoch) + (tag or b"\0")
    return b + b"\0"


def resp_v0(markers):
    b = struct.pack(">i", len(markers))
    for pid, topics in markers:
        b += struct.pack(">qi", pid, len(topics))
        for name, parts in topics:
            b += s16(name) + struct.pack(">i", len(parts)) + b"".join(struct.pack(">ih", i, e) for i, e in parts)
    return b


def resp_v1(markers):
    b = bytes([len(markers) + 1])
    for pid, topics in markers:
        b += struct.pack(">q", pid) + bytes([len(topics) + 1])
        for name, parts in topics:
            b += cstr(name) + bytes([len(parts) + 1])
            b += b"".join(struct.pack(">ih", i, e) + b"\0" for i, e in parts) + b"\0"
        b += b"\0"
    return b + b"\0"


COMMIT = [(5, 2, 1, [(b"t", [0, 3])], 7)]
TWO = [(1000, 0, 1, [(b"orders", [0, 1, 2]), (b"payments", [1])], 3), (1001, 4, 0, [(b"orders", [2])], 3)]
SEEDS = {
    "req_v0_commit": (0, req_v0(COMMIT)),
    "req_v0_two": (0, req_v0(TWO)),
    "req_v1_commit": (1, req_v1(COMMIT)),
    "req_v1_two_tagged": (1, req_v1(TWO, tag=bytes([1, 9, 1, 0xAA]))),
    "req_v0_empty": (0, struct.pack(">i", 0)),
    "req_v0_nul_name": (0, req_v0([(9, 0, 0, [(b"a\0b", [0])], 1)])),
    "resp_v0": (0, resp_v0([(5, [(b"t", [(0, 0), (3, 6)])])])),
    "resp_v1": (1, resp_v1([(5, [(b"t", [(0, 0), (3, 6)])]), (6, [(b"u", [(1, 3)])])])),
}

os.makedirs(out, exist_ok=True)
for name, (ver, body) in SEEDS.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes([ver]) + body)
