"""Regenerates the seed corpus of the ktxnidx harness (tests/fuzz/corpus/ktxnidx): transaction
index files in Kafka's layout (TransactionIndex: entries of version i16 0, producer id, first
offset, last offset, last stable offset, all i64), a few broken ones, and transaction-marker
control batches (EndTransactionMarker: key version + type, value version + coordinator epoch)
for the marker reader.
    /usr/bin/python3 tests/fuzz/make_corpus_ktxnidx.py
"""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "ktxnidx")


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def entry(pid, first, last, lso, version=0):
    return struct.pack(">hqqqq", version, pid, first, last, lso)


def varint(v):
    z = (v << 1) ^ (v >> 63)
    b = bytearray()
    while True:
        if z < 0x80:
            b.append(z)
            return bytes(b)
        b.append((z & 0x7F) | 0x80)
        z >>= 7


def marker(pid, epoch, coord, mtype):
    key = struct.pack(">hh", 0, mtype)
    value = struct.pack(">hi", 0, coord)
    body = b"\x00" + varint(0) + varint(0) + varint(len(key)) + key + varint(len(value)) + value + varint(0)
    rec = varint(len(body)) + body
    after_crc = struct.pack(">hiqqqhii", 0x30, 0, 5, 5, pid, epoch, -1, 1) + rec
    crc = crc32c(after_crc)
    head = struct.pack(">qiibI", 0, 9 + len(after_crc), -1, 2, crc)
    return head + after_crc


SEEDS = {
    "empty": b"",
    "one": entry(7, 10, 14, 12),
    "three": entry(1, 0, 4, 5) + entry(2, 2, 9, 10) + entry(3, 12, 14, 15),
    "bad_version": entry(7, 10, 14, 12, version=1),
    "first_above_last": entry(7, 15, 14, 12),
    "backwards": entry(1, 5, 9, 10) + entry(2, 1, 8, 9),
    "short": entry(7, 10, 14, 12)[:-3],
    "marker_abort": marker(1000, 2, 7, 0),
    "marker_commit": marker(1000, 2, 7, 1),
}

os.makedirs(out, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
