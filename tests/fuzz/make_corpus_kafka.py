#!/usr/bin/env python3
"""Seeds for fuzz_kafka_req: one valid request body per API and version family. Each file is
[api index, version - min] + the body after the request header (see fuzz_kafka_req.c).
Run from the repository root: /usr/bin/python3 tests/fuzz/make_corpus_kafka.py"""
import os
import struct
import warnings

warnings.simplefilter("ignore")
from kafka.record.default_records import DefaultRecordBatchBuilder  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "kafka_req")
APIS = [(0, 3), (1, 4), (2, 0), (3, 0), (18, 0), (19, 0), (20, 0), (32, 0), (37, 0), (33, 0), (44, 0),
        (23, 0), (8, 0), (9, 0), (10, 0), (11, 0), (12, 0), (13, 0), (14, 0), (15, 0), (16, 0), (42, 0), (47, 0),
        (22, 0)]


def s(x):
    b = x.encode()
    return struct.pack(">h", len(b)) + b


def batch(n):
    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False, producer_id=-1,
                                  producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
    for i in range(n):
        b.append(i, timestamp=1700000000000 + i, key=b"k", value=b"v%d" % i, headers=[("h", b"x")])
    return bytes(b.build())


def seed(name, key, ver, body):
    idx = [a for a, _ in APIS].index(key)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([idx, ver - APIS[idx][1]]) + body)


def ns(x):
    return struct.pack(">h", -1) if x is None else s(x)


def by(b):
    return struct.pack(">i", len(b)) + b


def group_seeds():
    """The consumer-group APIs, handed to the coordinator's core: a member's life in group g
    (join in the oldest and newest versions, sync, heartbeat, commit, fetch, leave), the
    listings, deletions and FindCoordinator."""
    sub = struct.pack(">hi", 0, 1) + s("t") + struct.pack(">i", -1)
    seed("find_coordinator_v0", 10, 0, s("g"))
    seed("find_coordinator_v2", 10, 2, s("g") + b"\x01")
    seed("join_group_v0", 11, 0, s("g") + struct.pack(">i", 10000) + s("") + s("consumer") + struct.pack(">i", 1) +
         s("range") + by(sub))
    seed("join_group_v5", 11, 5, s("g") + struct.pack(">ii", 10000, 30000) + s("") + ns("static-1") + s("consumer") +
         struct.pack(">i", 2) + s("range") + by(sub) + s("roundrobin") + by(sub))
    seed("sync_group_v0", 14, 0, s("g") + struct.pack(">i", 1) + s("m") + struct.pack(">i", 1) + s("m") + by(b"\x00\x00"))
    seed("sync_group_v3", 14, 3, s("g") + struct.pack(">i", 1) + s("m") + ns(None) + struct.pack(">i", 0))
    seed("heartbeat_v0", 12, 0, s("g") + struct.pack(">i", 1) + s("m"))
    seed("leave_group_v0", 13, 0, s("g") + s("m"))
    seed("leave_group_v3", 13, 3, s("g") + struct.pack(">i", 2) + s("m") + ns(None) + s("") + ns("static-1"))
    seed("offset_commit_v0", 8, 0, s("g") + struct.pack(">i", 1) + s("t") + struct.pack(">i", 1) +
         struct.pack(">iq", 0, 5) + ns("meta"))
    seed("offset_commit_v7", 8, 7, s("g") + struct.pack(">i", -1) + s("") + ns(None) + struct.pack(">i", 2) + s("t") +
         struct.pack(">i", 2) + struct.pack(">iqi", 0, 7, -1) + ns(None) + struct.pack(">iqi", 1, 3, 0) + ns("") +
         s("nope") + struct.pack(">i", 1) + struct.pack(">iqi", 0, 1, -1) + ns(None))
    seed("offset_fetch_v1", 9, 1, s("g") + struct.pack(">i", 1) + s("t") + struct.pack(">iii", 2, 0, 1))
    seed("offset_fetch_v5", 9, 5, s("g") + struct.pack(">i", -1))
    seed("list_groups_v2", 16, 2, b"")
    seed("describe_groups_v4", 15, 4, struct.pack(">i", 2) + s("g") + s("none") + b"\x01")
    seed("delete_groups_v1", 42, 1, struct.pack(">i", 2) + s("g") + s("none"))
    seed("offset_delete_v0", 47, 0, s("g") + struct.pack(">i", 1) + s("t") + struct.pack(">ii", 1, 0))


def producer_id_seeds():
    seed("init_producer_id_v1", 22, 1, struct.pack(">hi", -1, 60000))
    seed("init_producer_id_v0_txn", 22, 0, s("my-txn") + struct.pack(">i", 60000))


def main():
    os.makedirs(OUT, exist_ok=True)
    group_seeds()
    producer_id_seeds()
    rec = batch(3)
    for v in (3, 8):
        seed("produce_v%d" % v, 0, v, s("") + struct.pack(">hi", 1, 1000) + struct.pack(">i", 1) + s("t") +
             struct.pack(">ii", 1, 0) + struct.pack(">i", len(rec)) + rec)
    for v in (4, 11):
        b = struct.pack(">iiiib", -1, 100, 1, 1 << 20, 0)
        if v >= 7:
            b += struct.pack(">ii", 0, -1)
        b += struct.pack(">i", 1) + s("t") + struct.pack(">ii", 1, 0)
        if v >= 9:
            b += struct.pack(">i", -1)
        b += struct.pack(">q", 0)
        if v >= 5:
            b += struct.pack(">q", -1)
        b += struct.pack(">i", 1 << 20)
        if v >= 7:
            b += struct.pack(">i", 0)
        if v >= 11:
            b += s("")
        seed("fetch_v%d" % v, 1, v, b)
    seed("list_offsets_v0", 2, 0, struct.pack(">i", -1) + struct.pack(">i", 1) + s("t") +
         struct.pack(">iiqi", 1, 0, -1, 1))
    seed("list_offsets_v5", 2, 5, struct.pack(">ib", -1, 0) + struct.pack(">i", 1) + s("t") +
         struct.pack(">iiiq", 1, 0, -1, 1700000000001))
    seed("metadata_v0", 3, 0, struct.pack(">i", 0))
    seed("metadata_v8", 3, 8, struct.pack(">i", 2) + s("t") + s("new") + b"\x01\x00\x00")
    seed("api_versions_v2", 18, 2, b"")
    seed("create_topics_v4", 19, 4, struct.pack(">i", 1) + s("c") + struct.pack(">ih", -1, -1) +
         struct.pack(">i", 0) + struct.pack(">i", 1) + s("retention.ms") + s("1000") + struct.pack(">i", 1000) + b"\x00")
    seed("create_topics_assign", 19, 1, struct.pack(">i", 1) + s("c2") + struct.pack(">ih", -1, -1) +
         struct.pack(">i", 1) + struct.pack(">ii", 0, 1) + struct.pack(">i", 0) + struct.pack(">i", 0) +
         struct.pack(">i", 1000) + b"\x01")
    seed("delete_topics_v3", 20, 3, struct.pack(">i", 2) + s("t") + s("nope") + struct.pack(">i", 1000))
    seed("describe_configs_v2", 32, 2, struct.pack(">i", 2) + b"\x02" + s("t") + struct.pack(">i", -1) + b"\x04" +
         s("0") + struct.pack(">i", 1) + s("retention.ms") + b"\x01")
    # AlterConfigs: a topic (valid, and a bad value), the broker default and a wrong broker id
    seed("alter_configs_v1", 33, 1, struct.pack(">i", 3) + b"\x02" + s("t") + struct.pack(">i", 2) + s("retention.ms") +
         s("1000") + s("segment.bytes") + struct.pack(">h", -1) + b"\x04" + s("") + struct.pack(">i", 1) +
         s("log.retention.ms") + s("x") + b"\x04" + s("7") + struct.pack(">i", 0) + b"\x01")
    seed("alter_configs_v0", 33, 0, struct.pack(">i", 1) + b"\x02" + s("nope") + struct.pack(">i", 1) +
         s("retention.ms") + s("5") + b"\x00")
    # IncrementalAlterConfigs: SET, DELETE, APPEND, SUBTRACT and an unknown operation
    seed("incremental_alter_configs_v0", 44, 0, struct.pack(">i", 2) + b"\x02" + s("t") + struct.pack(">i", 4) +
         s("retention.ms") + b"\x00" + s("1000") + s("flush.ms") + b"\x01" + struct.pack(">h", -1) +
         s("cleanup.policy") + b"\x02" + s("delete") + s("cleanup.policy") + b"\x03" + s("compact") +
         b"\x04" + s("") + struct.pack(">i", 1) + s("log.retention.bytes") + b"\x09" + s("1") + b"\x00")
    # OffsetForLeaderEpoch: v0 (no current epoch), v2 (a fenced and an unknown current epoch, a
    # partition that does not exist), v3 (replica_id first)
    seed("offset_for_leader_epoch_v0", 23, 0, struct.pack(">i", 1) + s("t") + struct.pack(">i", 2) +
         struct.pack(">ii", 0, 0) + struct.pack(">ii", 1, 5))
    seed("offset_for_leader_epoch_v2", 23, 2, struct.pack(">i", 2) + s("t") + struct.pack(">i", 3) +
         struct.pack(">iii", 0, -1, 0) + struct.pack(">iii", 1, 3, 0) + struct.pack(">iii", 9, 0, 0) + s("nope") +
         struct.pack(">i", 1) + struct.pack(">iii", 0, 0, 0))
    seed("offset_for_leader_epoch_v3", 23, 3, struct.pack(">i", 1) + struct.pack(">i", 1) + s("t") +
         struct.pack(">i", 1) + struct.pack(">iii", 0, 0, -1))
    seed("create_partitions_v1", 37, 1, struct.pack(">i", 1) + s("t") + struct.pack(">i", 4) +
         struct.pack(">i", -1) + struct.pack(">i", 1000) + b"\x00")


if __name__ == "__main__":
    main()
