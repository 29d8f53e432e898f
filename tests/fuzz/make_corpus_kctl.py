"""Writes the seeds of fuzz_kctl_msg (tests/fuzz/corpus/kctl_msg/): frames of the controller
channel (proto/controller.proto, framed as broker/controller/kctl_msg.h says: u32 length, u8
type, protobuf body) as kctl_msg encodes them, one of every message type, a stream of two
frames, and a few at and over the caps (replicas of a partition, name lengths, an unknown type,
a huge length, empty sub-messages). Pure Python:
    python3 tests/fuzz/make_corpus_kctl.py
"""
import os
import struct


def varint(v):
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def vint(field, v):
    return varint(field << 3) + varint(v) if v else b""


def ld(field, data):
    return varint(field << 3 | 2) + varint(len(data)) + data


def s(field, text):
    return ld(field, text.encode()) if text else b""


def packed(field, ints):
    return ld(field, b"".join(varint(i) for i in ints)) if ints else b""


def rq(corr, ctrl=1, epoch=3, bepoch=42, version=1):
    return ld(1, vint(1, version) + vint(2, corr) + vint(3, ctrl) + vint(4, epoch) + vint(5, bepoch))


def rs(corr, err=0, version=1):
    return ld(1, vint(1, version) + vint(2, corr) + vint(3, err))


def pstate(topic, part, leader, lepoch, isr, reps, is_new=False, offline=(), cepoch=3, zkv=0):
    return (s(1, topic) + vint(2, part) + vint(3, cepoch) + vint(4, leader) + vint(5, lepoch) +
            packed(6, isr) + vint(7, zkv) + packed(8, reps) + vint(9, 1 if is_new else 0) +
            packed(10, offline))


def frame(t, body):
    return struct.pack(">IB", len(body) + 1, t) + body


def main():
    d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "kctl_msg")
    os.makedirs(d, exist_ok=True)
    lai = frame(1, rq(1) + ld(2, pstate("cities", 0, 1, 9, [1, 2], [1, 2, 0], True, zkv=12)) +
                ld(2, pstate("cities", 1, -1, 2, [], [1, 2, 0])) +
                ld(3, vint(1, 1) + s(2, "127.0.0.1") + vint(3, 9093)))
    um = frame(3, rq(2, bepoch=-1) +
               ld(2, vint(1, 0) + s(2, "127.0.0.1") + vint(3, 9092) + s(4, "r1") + vint(5, 10092)) +
               ld(2, vint(1, 1) + s(2, "localhost") + vint(3, 9093) + vint(5, 10093)) +
               ld(3, pstate("x", 7, 0, 1, [0, 1], [0, 1, 2], offline=[2])))
    sr = frame(5, rq(3) + vint(2, 1) + ld(3, s(1, "t") + vint(2, 3)) + ld(3, s(1, "u")))
    hb = frame(7, rq(4))
    perr = ld(2, s(1, "x") + vint(2, 7)) + ld(2, s(1, "y") + vint(3, 11))
    seeds = {
        "leader_and_isr": lai,
        "leader_and_isr_resp": frame(2, rs(1) + perr),
        "update_metadata": um,
        "update_metadata_resp": frame(4, rs(2, 77)),
        "stop_replica": sr,
        "stop_replica_resp": frame(6, rs(3) + perr),
        "heartbeat": hb,
        "heartbeat_resp": frame(8, rs(4) + vint(2, 2) + vint(3, 77777) + vint(4, 6)),
        "stream_two": hb + sr,
        "version_2": frame(7, rq(5, version=2)),
        "isr_at_cap": frame(1, rq(6) + ld(2, pstate("t", 0, 1, 1, [1] * 1024, [1]))),
        "isr_over_cap": frame(1, rq(6) + ld(2, pstate("t", 0, 1, 1, [1] * 1025, [1]))),
        "topic_at_cap": frame(5, rq(7) + ld(3, s(1, "a" * 255))),
        "topic_over_cap": frame(5, rq(7) + ld(3, s(1, "a" * 256))),
        "unknown_type": frame(9, rq(8)),
        "huge_length": struct.pack(">IB", 0x7FFFFFFF, 1) + rq(9),
        "empty_states": frame(1, rq(10) + ld(2, b"") * 2000),
        "no_header": frame(7, b""),
    }
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
