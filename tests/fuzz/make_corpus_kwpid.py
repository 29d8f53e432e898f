"""Regenerates the seed corpus of the kwpid harness (tests/fuzz/corpus/kwpid): InitProducerId
request bodies written field by field from apache/kafka's InitProducerIdRequest.json. Byte 0 is
the version (0-4), the rest the body.
    /usr/bin/python3 tests/fuzz/make_corpus_kwpid.py
"""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "kwpid")

SEEDS = {
    "v0_null": (0, struct.pack(">hi", -1, 60000)),
    "v1_txn": (1, struct.pack(">h", 2) + b"tx" + struct.pack(">i", 1000)),
    "v2_null": (2, bytes([0]) + struct.pack(">i", 60000) + bytes([0])),
    "v3_txn": (3, bytes([3]) + b"ab" + struct.pack(">iqh", 16, -1, -1) + bytes([0])),
    "v4_bump_tagged": (4, bytes([0]) + struct.pack(">iqh", 60000, 7, 3) + bytes([1, 5, 2, 0xAA, 0xBB])),
    "v1_nul": (1, struct.pack(">h", 2) + b"t\0" + struct.pack(">i", 1000)),
}

os.makedirs(out, exist_ok=True)
for name, (ver, body) in SEEDS.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes([ver]) + body)
