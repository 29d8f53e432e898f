"""Regenerates the seed corpus of the kwconfig harness (tests/fuzz/corpus/kwconfig): request
bodies written field by field from apache/kafka's DescribeConfigsRequest.json,
AlterConfigsRequest.json and IncrementalAlterConfigsRequest.json. Byte 0 picks the API and
version (0-2: DescribeConfigs v0-2, 3-4: AlterConfigs v0-1, 5: IncrementalAlterConfigs v0), the
rest is the body.
    /usr/bin/python3 tests/fuzz/make_corpus_kwconfig.py
"""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "kwconfig")


def s(x):
    if x is None:
        return struct.pack(">h", -1)
    b = x.encode()
    return struct.pack(">h", len(b)) + b


def arr(items):
    if items is None:
        return struct.pack(">i", -1)
    return struct.pack(">i", len(items)) + b"".join(items)


def dc(res, synonyms=None):
    body = arr([bytes([t]) + s(n) + arr(None if k is None else [s(x) for x in k]) for t, n, k in res])
    return body + (bytes([1 if synonyms else 0]) if synonyms is not None else b"")


def ac(res, validate, inc=False):
    def entry(e):
        return s(e[0]) + (bytes([e[1]]) if inc else b"") + s(e[2])
    return arr([bytes([t]) + s(n) + arr([entry(e) for e in es]) for t, n, es in res]) + bytes([1 if validate else 0])


SEEDS = {
    "dc_v0_topic": (0, dc([(2, "t1", None)])),
    "dc_v1_broker_keys": (1, dc([(4, "1", ["log.retention.ms", "min.insync.replicas"])], True)),
    "dc_v2_two": (2, dc([(2, "t1", ["retention.ms"]), (4, "", None)], False)),
    "ac_v0_topic": (3, ac([(2, "t1", [("retention.ms", 0, "1000"), ("segment.ms", 0, None)])], False)),
    "ac_v1_broker": (4, ac([(4, "", [("log.retention.ms", 0, "5000")])], True)),
    "iac_v0_ops": (5, ac([(2, "t1", [("cleanup.policy", 2, "compact"), ("retention.ms", 1, None),
                                     ("segment.ms", 9, "1")])], False, inc=True)),
    "iac_v0_nul": (5, ac([(2, "t\0", [("k", 0, "v\0")])], False, inc=True)),
}

os.makedirs(out, exist_ok=True)
for name, (sel, body) in SEEDS.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes([sel]) + body)
