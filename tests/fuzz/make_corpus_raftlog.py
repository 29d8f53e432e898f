"""Writes the seed corpus of fuzz_raftlog (tests/fuzz/corpus/raftlog/): raft.log files in the
format of coord/zk_raftlog.h — clean, torn, with a flipped bit, a gap, a term going backwards,
foreign. Pure Python (no samsa build needed):
    python3 tests/fuzz/make_corpus_raftlog.py
"""
import os
import struct


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def header(gen=0, version=1):
    return b"SMRL" + struct.pack(">IQ", version, gen)


def frame(index, term, typ, data):
    body = struct.pack(">QQB", index, term, typ) + data
    return struct.pack(">II", len(data), crc32c(body)) + body


def config(servers):
    return bytes([1, len(servers)]) + b"".join(struct.pack(">QB", i, v) for i, v in servers)


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "raftlog")
    os.makedirs(out, exist_ok=True)
    entries = [frame(1, 1, 2, b""), frame(2, 1, 1, config([(1, 1), (2, 1), (3, 0)]))]
    entries += [frame(i, 1 + i // 4, 0, b"txn-%d" % i * (i % 5)) for i in range(3, 12)]
    clean = header() + b"".join(entries)
    cases = {
        "empty": b"",
        "header": header(),
        "torn_header": header()[:7],
        "clean": clean,
        "torn_tail": clean[:-5],
        "bitflip": clean[:60] + bytes([clean[60] ^ 4]) + clean[61:],
        "gap": header() + entries[0] + entries[1] + entries[3],
        "term_back": header() + frame(1, 3, 0, b"a") + frame(2, 2, 0, b"b"),
        "late_start": header() + frame(5, 1, 0, b"a") + frame(6, 1, 0, b"b"),
        "zero_tail": clean + b"\0" * 40,
        "foreign": b"ZKLG\0\0\0\2" + b"\0" * 32,
        "newer_gen": header(gen=2) + entries[0],
    }
    for name, data in cases.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
