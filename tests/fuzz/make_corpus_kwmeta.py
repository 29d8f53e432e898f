"""Regenerates the seed corpus of the kwmeta harness (tests/fuzz/corpus/kwmeta): Metadata
request bodies (after the request header), the first byte the version, written field by field
from apache/kafka's MetadataRequest.json.
    /usr/bin/python3 tests/fuzz/make_corpus_kwmeta.py
"""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "kwmeta")


def s16(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">h", len(b)) + b


def req(ver, topics, allow_auto=True, ops=(False, False)):
    b = struct.pack(">i", -1) if topics is None else struct.pack(">i", len(topics)) + b"".join(s16(t) for t in topics)
    if ver >= 4:
        b += bytes([allow_auto])
    if ver >= 8:
        b += bytes(ops)
    return bytes([ver]) + b


seeds = {
    "v0_all": req(0, []),
    "v0_two": req(0, ["cities", "t"]),
    "v1_null": req(1, None),
    "v4_no_auto": req(4, ["new-topic"], False),
    "v8_ops": req(8, ["a.b", "a_b"], True, (True, True)),
    "v8_long_name": req(8, ["x" * 300]),
    "v5_nul_name": req(5, [b"a\x00b"]),
    "v7_truncated": req(7, ["cities"])[:-3],
}

os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
