"""Regenerates the seed corpus of the kpstate harness (tests/fuzz/corpus/kpstate): producer-state
snapshot files in Kafka's layout (version 1, CRC-32C of the bytes after the CRC field, the
entries), written field by field from ProducerStateManager's schema, and a few broken ones.
    /usr/bin/python3 tests/fuzz/make_corpus_kpstate.py
"""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "kpstate")


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def entry(pid, epoch, last_seq, last_offset, delta, ts, coord=-1, txn=-1):
    return struct.pack(">qhiqiqiq", pid, epoch, last_seq, last_offset, delta, ts, coord, txn)


def snapshot(entries, version=1, crc=None):
    body = struct.pack(">i", len(entries)) + b"".join(entries)
    c = crc32c(body) if crc is None else crc
    return struct.pack(">hI", version, c) + body


SEEDS = {
    "empty": snapshot([]),
    "one": snapshot([entry(7, 3, 13, 203, 3, 123456)]),
    "three": snapshot([entry(1, 0, 4, 4, 4, 1000), entry(1000, 2, 99, 500, 9, 2000),
                       entry(4000, 32767, 0, 600, 0, 3000)]),
    "wrap": snapshot([entry(5, 0, 1, 53, 3, 1)]),  # a batch across INT32_MAX
    "no_batch": snapshot([entry(9, 4, -1, -1, 0, 77)]),
    "txn_open": snapshot([entry(11, 1, 5, 90, 2, 5, 3, 80)]),
    "bad_crc": snapshot([entry(7, 3, 13, 203, 3, 123456)], crc=1),
    "bad_version": snapshot([entry(7, 3, 13, 203, 3, 123456)], version=2),
    "short": snapshot([entry(7, 3, 13, 203, 3, 123456)])[:30],
}

os.makedirs(out, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
