"""Regenerates the seed corpus of the kwtxn harness (tests/fuzz/corpus/kwtxn): AddPartitionsToTxn,
AddOffsetsToTxn, EndTxn and TxnOffsetCommit request bodies written field by field from
apache/kafka's {AddPartitionsToTxn,AddOffsetsToTxn,EndTxn,TxnOffsetCommit}Request.json. Byte 0
is the API (0: 24, 1: 25, 2: 26, 3: 28 TxnOffsetCommit), byte 1 the version (0-2; 3 for
TxnOffsetCommit's flexible v3: compact strings and arrays, tagged fields), the rest the body.
    /usr/bin/python3 tests/fuzz/make_corpus_kwtxn.py
"""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "kwtxn")


def s16(b):
    return struct.pack(">h", len(b)) + b


def uvarint(n):
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7f) | 0x80])
        n >>= 7
    return out + bytes([n])


def cs(b):
    """COMPACT_(NULLABLE_)STRING; None is null"""
    return b"\0" if b is None else uvarint(len(b) + 1) + b


def head(txn, pid, epoch):
    return s16(txn) + struct.pack(">qh", pid, epoch)


SEEDS = {
    "add_parts_v0": (0, 0, head(b"tx", 1000, 0) + struct.pack(">i", 2) + s16(b"t") +
                     struct.pack(">iii", 2, 0, 1) + s16(b"u") + struct.pack(">ii", 1, 7)),
    "add_parts_v2_empty": (0, 2, head(b"my-transactional-id", 5, 3) + struct.pack(">i", 0)),
    "add_parts_nul_topic": (0, 1, head(b"t", 1, 1) + struct.pack(">i", 1) + s16(b"a\0") + struct.pack(">ii", 1, 0)),
    "add_offsets_v0": (1, 0, head(b"tx", 1000, 0) + s16(b"group-1")),
    "add_offsets_v2": (1, 2, head(b"tx", -1, -1) + s16(b"")),
    "end_commit_v0": (2, 0, head(b"tx", 1000, 0) + bytes([1])),
    "end_abort_v1": (2, 1, head(b"tx", 1000, 4) + bytes([0])),
    "null_id": (2, 0, struct.pack(">hqh", -1, 1, 1) + bytes([1])),
    "txn_offsets_v0": (3, 0, s16(b"tx") + s16(b"g") + struct.pack(">qh", 1000, 0) + struct.pack(">i", 1) + s16(b"t") +
                       struct.pack(">i", 2) + struct.pack(">iq", 0, 42) + s16(b"meta") +
                       struct.pack(">iqh", 1, 7, -1)),
    "txn_offsets_v2": (3, 2, s16(b"tx") + s16(b"g") + struct.pack(">qh", 1000, 3) + struct.pack(">i", 1) + s16(b"t") +
                       struct.pack(">i", 1) + struct.pack(">iqih", 0, 42, 5, 0)),
    # v3 (KIP-447): generation, member id, instance id; per partition, topic and request tags
    "txn_offsets_v3": (3, 3, cs(b"tx") + cs(b"g") + struct.pack(">qhi", 1000, 3, 4) + cs(b"rdkafka-1234") + cs(None) +
                       uvarint(2) + cs(b"t") + uvarint(3) +
                       struct.pack(">iqi", 0, 42, 5) + cs(b"meta") + b"\0" +
                       struct.pack(">iqi", 1, 7, -1) + cs(None) + b"\0" + b"\0" + b"\0"),
    "txn_offsets_v3_static_tags": (3, 3, cs(b"tx") + cs(b"g") + struct.pack(">qhi", 5, 0, 12) + cs(b"inst-1-abc") +
                                   cs(b"inst-1") + uvarint(2) + cs(b"t") + uvarint(2) +
                                   struct.pack(">iqi", 0, 1, -1) + cs(b"") + bytes([1, 3, 2]) + b"xy" +
                                   b"\0" + bytes([2, 0, 0, 7, 1]) + b"z"),
    "txn_offsets_v3_unbound": (3, 3, cs(b"tx") + cs(b"g") + struct.pack(">qhi", 5, 0, -1) + cs(b"") + cs(None) +
                               uvarint(1) + b"\0"),
}

os.makedirs(out, exist_ok=True)
for name, (api, ver, body) in SEEDS.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes([api, ver]) + body)
