"""Regenerates the seed corpus of the ksauth harness (tests/fuzz/corpus/ksauth): frame sequences
as chunks [selector, length, bytes] (selector % 5: 0 raw frame, 1 SaslHandshake, 2
SaslAuthenticate, 3 ApiVersions, 4 Metadata; selector // 5 the version), written from
apache/kafka's SaslHandshakeRequest.json and SaslAuthenticateRequest.json.
    /usr/bin/python3 tests/fuzz/make_corpus_ksauth.py
"""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "ksauth")


def chunk(kind, ver, body):
    assert len(body) < 256
    return bytes([kind + 5 * ver, len(body)]) + body


def s16(s):
    return struct.pack(">h", len(s)) + s


def b32(b):
    return struct.pack(">i", len(b)) + b


seeds = {
    "plain_v1": chunk(3, 0, b"") + chunk(1, 1, s16(b"PLAIN")) + chunk(2, 1, b32(b"\0alice\0alice-secret"))
    + chunk(4, 1, struct.pack(">i", -1)),
    "plain_v1_wrong": chunk(1, 1, s16(b"PLAIN")) + chunk(2, 0, b32(b"\0alice\0nope")),
    "plain_v0_raw": chunk(1, 0, s16(b"PLAIN")) + chunk(0, 0, b"\0bob\0b") + chunk(4, 0, struct.pack(">i", 0)),
    "scram_first": chunk(1, 1, s16(b"SCRAM-SHA-256")) + chunk(2, 1, b32(b"n,,n=alice,r=abcdef")),
    "scram_raw": chunk(1, 0, s16(b"SCRAM-SHA-256")) + chunk(0, 0, b"n,,n=al=2Cice,r=xyz")
    + chunk(0, 0, b"c=biws,r=xyz,p=AAAA"),
    "gssapi": chunk(1, 1, s16(b"GSSAPI")),
    "metadata_first": chunk(4, 1, struct.pack(">i", -1)),
    "authenticate_first": chunk(2, 1, b32(b"\0alice\0alice-secret")),
}

os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
