"""Regenerates the seed corpora of the broker's fuzz harnesses (kbatch, klog_recover, kclean) from record
batches built by kafka-python (an independent implementation of the v2 format):
    /usr/bin/python3 tests/fuzz/make_corpus_broker.py
"""
import os
import struct

from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.record.util import calc_crc32c

here = os.path.dirname(os.path.abspath(__file__))


def batch(records, compression=0, transactional=False, pid=-1, epoch=-1, seq=-1, ts=1700000000000):
    b = DefaultRecordBatchBuilder(magic=2, compression_type=compression, is_transactional=transactional,
                                  producer_id=pid, producer_epoch=epoch, base_sequence=seq,
                                  batch_size=1 << 24)
    for i, (k, v, h) in enumerate(records):
        b.append(i, timestamp=ts + i, key=k, value=v, headers=h)
    return bytearray(b.build())


def set_base(b, off):
    b[0:8] = struct.pack(">q", off)
    return b


def log_append_time(b, ts):
    b[22] |= 0x08
    b[35:43] = struct.pack(">q", ts)
    b[17:21] = struct.pack(">I", calc_crc32c(bytes(b[21:])))
    return b


def index(entries):
    return b"".join(struct.pack(">II", rel, pos) for rel, pos in entries)


def segment(batches, base=0):
    out, off, idx, since = bytearray(), base, [], 0
    for b in batches:
        b = set_base(bytearray(b), off)
        n = struct.unpack(">i", b[23:27])[0] + 1
        if since > 64:
            idx.append((off + n - 1 - base, len(out)))
            since = 0
        out += b
        since += len(b)
        off += n
    return bytes(out), index(idx)


def u16(n):
    return struct.pack(">H", n)


def main():
    plain = batch([(b"k1", b"hello", [("h", b"v")]), (None, b"world", []), (b"", None, [("a", None)])])
    small = batch([(None, b"x" * 10, [])])
    many = batch([(b"key%d" % i, b"v" * 100, []) for i in range(100)])
    gz = batch([(None, b"x" * 50, [])] * 5, compression=1)
    txn = batch([(b"k", b"v", [])], transactional=True, pid=4242, epoch=1, seq=0)
    lat = log_append_time(batch([(None, b"lat", [])] * 3), 1700000009999)
    big = batch([(b"big", b"B" * 3000, [("trace", b"t" * 40)] * 3)])
    seeds = {
        "plain": plain, "small": small, "many": many, "gzip": gz, "txn": txn, "lat": lat, "big": big,
        "three_batches": plain + small + gz,
        "partial_tail": plain + small + gz[:40],
    }
    os.makedirs(os.path.join(here, "corpus", "kbatch"), exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(here, "corpus", "kbatch", name), "wb") as f:
            f.write(bytes(data))

    seg, idx = segment([plain, small, many, gz, txn, lat, small, plain])
    older, older_idx = segment([plain, small, small, plain])
    active, _ = segment([small, plain, lat], base=1000)
    recover = {
        "clean": b"\0" + seg,
        "with_index": b"\1" + u16(len(idx)) + idx + seg,
        "partial_tail": b"\0" + seg + plain[:30],
        "zero_tail": b"\0" + seg + b"\0" * 300,
        "garbage_tail": b"\0" + seg + b"not a batch" * 10,
        "two_segments": b"\2" + u16(len(older)) + older + active,
        "older_index": b"\7" + u16(len(older_idx)) + older_idx + u16(len(older)) + older + active,
        "interval": b"\x30" + seg,
    }
    os.makedirs(os.path.join(here, "corpus", "klog_recover"), exist_ok=True)
    for name, data in recover.items():
        with open(os.path.join(here, "corpus", "klog_recover", name), "wb") as f:
            f.write(bytes(data))

    # kclean: flags, u16 + the older segment 0, the active segment 1000
    keyed = [batch([(b"k%d" % (i % 4), b"v%d" % r, []) for i in range(6)], ts=1600000000000 + r) for r in range(5)]
    tomb = batch([(b"k1", None, []), (b"k2", None, [])], ts=1600000000100)
    unkeyed = batch([(None, b"no key", [])], ts=1600000000200)
    older, _ = segment(keyed + [tomb, unkeyed, gz])
    active, _ = segment([batch([(b"k0", b"new", [])])], base=1000)
    clean = {
        "keyed": b"\0" + u16(len(older)) + older + active,
        "tombstones_due": b"\x10" + u16(len(older)) + older + active,
        "min_lag": b"\x20" + u16(len(older)) + older + active,
        "swap_left": b"\1" + u16(len(older)) + older + active,
        "stray_cleaned": b"\2" + u16(len(older)) + older + active,
        "bad_crc": b"\0" + u16(len(older)) + older[:100] + b"\xff" + older[101:] + active,
        "empty_older": b"\0" + u16(0) + active,
    }
    os.makedirs(os.path.join(here, "corpus", "kclean"), exist_ok=True)
    for name, data in clean.items():
        with open(os.path.join(here, "corpus", "kclean", name), "wb") as f:
            f.write(bytes(data))


if __name__ == "__main__":
    main()
