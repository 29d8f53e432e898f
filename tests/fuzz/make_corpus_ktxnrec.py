"""Regenerates the seed corpus of the ktxnrec harness (tests/fuzz/corpus/ktxnrec):
__transaction_state keys and values written field by field from apache/kafka's
TransactionLogKey.json and TransactionLogValue.json. Byte 0: even a key, odd a value.
    /usr/bin/python3 tests/fuzz/make_corpus_ktxnrec.py
"""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "ktxnrec")


def s16(b):
    return struct.pack(">h", len(b)) + b


def value_v0(pid, epoch, timeout, status, topics, last, start):
    b = struct.pack(">hqhib", 0, pid, epoch, timeout, status)
    if topics is None:
        b += struct.pack(">i", -1)
    else:
        b += struct.pack(">i", len(topics))
        for name, parts in topics:
            b += s16(name) + struct.pack(">i", len(parts)) + b"".join(struct.pack(">i", p) for p in parts)
    return b + struct.pack(">qq", last, start)


def value_v1(pid, epoch, timeout, status, topics, last, start):
    b = struct.pack(">hqhib", 1, pid, epoch, timeout, status)
    b += bytes([len(topics) + 1])
    for name, parts in topics:
        b += bytes([len(name) + 1]) + name + bytes([len(parts) + 1])
        b += b"".join(struct.pack(">i", p) for p in parts) + bytes([0])
    return b + struct.pack(">qq", last, start) + bytes([0])


SEEDS = {
    "key": (0, struct.pack(">h", 0) + s16(b"my-txn")),
    "key_v1": (0, struct.pack(">h", 1) + s16(b"x")),
    "empty": (1, value_v0(1000, 0, 60000, 0, None, 1700000000000, -1)),
    "ongoing": (1, value_v0(1000, 3, 60000, 1, [(b"t", [0, 1]), (b"__consumer_offsets", [7])], 5, 4)),
    "prepare_commit": (1, value_v0(7, 1, 900000, 2, [(b"a", [3])], 9, 8)),
    "complete_abort": (1, value_v0(7, 2, 900000, 5, [], 9, 8)),
    "v1_ongoing": (1, value_v1(9, 9, 1000, 1, [(b"topic", [0, 2, 4])], 3, 2)),
    "bad_status": (1, value_v0(1, 1, 1, 9, None, 1, 1)),
}

os.makedirs(out, exist_ok=True)
for name, (kind, body) in SEEDS.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes([kind]) + body)
