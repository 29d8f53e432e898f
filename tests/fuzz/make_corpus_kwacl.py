"""Regenerates the seed corpus of the kwacl harness (tests/fuzz/corpus/kwacl): DescribeAcls,
CreateAcls and DeleteAcls request bodies (after the request header), byte 0 the API (0: 29,
1: 30, 2: 31), byte 1 the version, written field by field from apache/kafka's
{Describe,Create,Delete}AclsRequest.json.
    /usr/bin/python3 tests/fuzz/make_corpus_kwacl.py
"""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "kwacl")


def s16(s):
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">h", len(b)) + b


def binding(ver, rtype, name, pattern, principal, host, op, perm):
    b = bytes([rtype]) + s16(name)
    if ver >= 1:
        b += bytes([pattern])
    return b + s16(principal) + s16(host) + bytes([op, perm])


def arr(items):
    return struct.pack(">i", len(items)) + b"".join(items)


seeds = {
    "describe_v0_all": bytes([0, 0]) + binding(0, 1, None, 1, None, None, 1, 1),
    "describe_v1_topic": bytes([0, 1]) + binding(1, 2, "t", 3, "User:alice", "*", 3, 3),
    "describe_v1_match": bytes([0, 1]) + binding(1, 2, "fin-x", 2, None, None, 1, 1),
    "create_v0": bytes([1, 0]) + arr([binding(0, 2, "t", 3, "User:alice", "*", 3, 3)]),
    "create_v1_two": bytes([1, 1]) + arr([binding(1, 2, "fin-", 4, "User:alice", "*", 4, 3),
                                         binding(1, 4, "kafka-cluster", 3, "User:CN=a,O=b", "10.0.0.1", 7, 2)]),
    "create_v1_null": bytes([1, 1]) + arr([binding(1, 2, None, 3, "User:a", "*", 3, 3)]),
    "delete_v1": bytes([2, 1]) + arr([binding(1, 2, "t", 1, "User:alice", None, 1, 1),
                                     binding(1, 1, None, 1, None, None, 1, 1)]),
    "delete_v0_lying_count": bytes([2, 0]) + struct.pack(">i", 100000) + b"\x02\x00\x01t",
    "create_v1_truncated": (bytes([1, 1]) + arr([binding(1, 2, "t", 3, "User:alice", "*", 3, 3)]))[:-4],
    # DescribeAcls responses as kafka-acls reads them: refused, then empty and allowed
    "describe_resp_refused": bytes([0, 1]) + struct.pack(">ih", 0, 31) + s16("Cluster authorization failed.")
    + struct.pack(">i", 0),
    "describe_resp_empty": bytes([0, 1]) + struct.pack(">ih", 0, 0) + s16(None) + struct.pack(">i", 0),
    # whole responses as kafka-acls reads them for TransactionalId ACLs
    "describe_resp_txn": bytes([0, 1]) + struct.pack(">ih", 0, 0) + s16(None) + arr([
        bytes([5]) + s16("tx1") + bytes([3]) + arr([s16("User:alice") + s16("*") + bytes([4, 3]),
                                                  s16("User:alice") + s16("*") + bytes([8, 3])]),
        bytes([5]) + s16("tx-") + bytes([4]) + arr([s16("User:bob") + s16("10.0.0.1") + bytes([2, 2])])]),
    "describe_resp_v0": bytes([0, 0]) + struct.pack(">ih", 0, 0) + s16(None) + arr([
        bytes([2]) + s16("t") + arr([s16("User:a") + s16("*") + bytes([3, 3])])]),
    "create_resp": bytes([1, 1]) + struct.pack(">i", 0) + arr([struct.pack(">h", 0) + s16(None),
                                                              struct.pack(">h", 31) + s16("Cluster authorization failed.")]),
    "delete_resp": bytes([2, 1]) + struct.pack(">i", 0) + arr([
        struct.pack(">h", 0) + s16(None) + arr([struct.pack(">h", 0) + s16(None)
                                               + binding(1, 5, "tx1", 3, "User:alice", "*", 4, 3)]),
        struct.pack(">h", 0) + s16(None) + arr([struct.pack(">h", 87) + s16("not deleted")
                                               + binding(1, 5, "tx1", 3, "User:alice", "*", 8, 3)])]),
}

os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
