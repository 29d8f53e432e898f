"""Regenerates the seed corpus of the kwadmin harness (tests/fuzz/corpus/kwadmin): CreateTopics,
DeleteTopics and CreatePartitions request bodies (after the request header), the first byte
picking the API and version as the harness does (byte % 3: 0 CreateTopics, 1 DeleteTopics,
2 CreatePartitions; byte // 3: the version), written field by field from apache/kafka's
{CreateTopics,DeleteTopics,CreatePartitions}Request.json.
    /usr/bin/python3 tests/fuzz/make_corpus_kwadmin.py
"""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))


def s16(s):
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">h", len(b)) + b


def i16(v):
    return struct.pack(">h", v)


def i32(v):
    return struct.pack(">i", v)


def arr(items):
    if items is None:
        return i32(-1)
    return i32(len(items)) + b"".join(items)


def create_topics(ver, topics, timeout=30000, validate=False):
    """topics: (name, nparts, rf, assignments [(index, [ids])] or None, configs [(k, v)] or None)"""
    body = arr([s16(n) + i32(np) + i16(rf)
                + arr(None if asg is None else [i32(p) + arr([i32(b) for b in ids]) for p, ids in asg])
                + arr(None if confs is None else [s16(k) + s16(v) for k, v in confs])
                for n, np, rf, asg, confs in topics])
    body += i32(timeout)
    if ver >= 1:
        body += bytes([1 if validate else 0])
    return bytes([ver * 3 + 0]) + body


def delete_topics(ver, names, timeout=30000):
    return bytes([ver * 3 + 1]) + arr([s16(n) for n in names]) + i32(timeout)


def create_partitions(ver, topics, timeout=30000, validate=False):
    """topics: (name, count, assignments [[ids]] or None)"""
    body = arr([s16(n) + i32(c) + arr(None if asg is None else [arr([i32(b) for b in ids]) for ids in asg])
                for n, c, asg in topics])
    return bytes([ver * 3 + 2]) + body + i32(timeout) + bytes([1 if validate else 0])


seeds = {
    "ct_v0_one": create_topics(0, [("t", 3, 1, None, None)]),
    "ct_v1_validate": create_topics(1, [("t", 1, 1, [], [])], validate=True),
    "ct_v2_configs": create_topics(2, [("cities", 6, 3, [], [("cleanup.policy", "compact"),
                                                              ("retention.ms", None)])]),
    "ct_v3_assign": create_topics(3, [("t.x", -1, -1, [(0, [1, 2, 3]), (1, [2, 3, 1])], None)]),
    "ct_v4_defaults": create_topics(4, [("a", -1, -1, [], []), ("b", 2, -1, None, None)], timeout=0),
    "ct_v4_long_name": create_topics(4, [("x" * 300, 1, 1, [], [])]),
    "ct_v2_nul_name": create_topics(2, [(b"a\x00b", 1, 1, [], [])]),
    "ct_v3_truncated": create_topics(3, [("t", 1, 1, [(0, [1])], [("k", "v")])])[:-6],
    "dt_v0_one": delete_topics(0, ["t"]),
    "dt_v1_two": delete_topics(1, ["cities", "t.x"], timeout=0),
    "dt_v3_null_name": delete_topics(3, [None, "x" * 300]),
    "dt_v2_empty": delete_topics(2, []),
    "cp_v0_count": create_partitions(0, [("t", 4, None)]),
    "cp_v1_assign": create_partitions(1, [("t", 3, [[1, 2], [2, 3]]), ("u", 8, None)], validate=True),
    "cp_v1_truncated": create_partitions(1, [("t", 3, [[1, 2]])])[:-9],
}

out = os.path.join(here, "corpus", "kwadmin")
os.makedirs(out, exist_ok=True)
for seed, data in seeds.items():
    with open(os.path.join(out, seed), "wb") as f:
        f.write(data)
