"""Regenerates the seed corpus of the kgw harness (tests/fuzz/corpus/kgw): consumer-group
request and response bodies, __consumer_offsets records and a consumer subscription, written
field by field from apache/kafka's message schemas. Byte 0 picks the message (its index in
MSGS, the harness's order), byte 1 the version, the rest is the body.
    /usr/bin/python3 tests/fuzz/make_corpus_kgw.py
"""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus", "kgw")

MSGS = ["find_req", "find_resp", "join_req", "join_resp", "sync_req", "sync_resp",
        "heartbeat_req", "heartbeat_resp", "leave_req", "leave_resp", "commit_req",
        "commit_resp", "ofetch_req", "ofetch_resp", "list_resp", "describe_req",
        "describe_resp", "delete_req", "delete_resp", "odelete_req", "odelete_resp", "key",
        "offset_value", "group_value", "subscription"]


def i8(v):
    return struct.pack(">b", v)


def i16(v):
    return struct.pack(">h", v)


def i32(v):
    return struct.pack(">i", v)


def i64(v):
    return struct.pack(">q", v)


def s(v):
    if v is None:
        return i16(-1)
    b = v.encode()
    return i16(len(b)) + b


def b(v):
    if v is None:
        return i32(-1)
    return i32(len(v)) + v


def arr(items):
    return i32(len(items)) + b"".join(items)


# flexible versions (KIP-482): unsigned varint lengths + 1 (0 is null), tagged fields
def uv(n):
    out = b""
    while True:
        byte = n & 0x7f
        n >>= 7
        if n:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


def cs(v):
    if v is None:
        return uv(0)
    b_ = v.encode()
    return uv(len(b_) + 1) + b_


def carr(items):
    return uv(len(items) + 1) + b"".join(items)


NO_TAGS = uv(0)


def tagged(*fields):
    """A tagged-field section with unknown fields (tag, bytes), which a decoder skips."""
    return uv(len(fields)) + b"".join(uv(t) + uv(len(d)) + d for t, d in fields)


def sub(topics):
    return i16(0) + arr([s(t) for t in topics]) + b(None)


def join_req(v):
    x = s("grp") + i32(10000)
    if v >= 1:
        x += i32(30000)
    x += s("")
    if v >= 5:
        x += s("inst-1")
    return x + s("consumer") + arr([s("range") + b(sub(["t1", "t2"])), s("roundrobin") + b(sub(["t1"]))])


def join_resp(v):
    x = i32(0) if v >= 2 else b""
    x += i16(0) + i32(3) + s("range") + s("m-1") + s("m-1")
    mem = []
    for m in ("m-1", "m-2"):
        e = s(m)
        if v >= 5:
            e += s(None)
        mem.append(e + b(sub(["t1"])))
    return x + arr(mem)


def sync_req(v):
    x = s("grp") + i32(3) + s("m-1")
    if v >= 3:
        x += s(None)
    return x + arr([s("m-1") + b(b"\x00\x00assign"), s("m-2") + b(b"")])


def commit_req(v):
    f = v >= 8
    S, A, T = (cs, carr, NO_TAGS) if f else (s, arr, b"")
    x = S("grp")
    if v >= 1:
        x += i32(3) + S("m-1")
    if v >= 7:
        x += S(None)
    if 2 <= v <= 4:
        x += i64(-1)
    parts = []
    for p in (0, 1):
        e = i32(p) + i64(100 + p)
        if v >= 6:
            e += i32(4)
        if v == 1:
            e += i64(1700000000000)
        parts.append(e + S("meta" if p else None) + T)
    return x + A([S("t1") + A(parts) + T]) + T


def commit_resp(v):
    f = v >= 8
    S, A, T = (cs, carr, NO_TAGS) if f else (s, arr, b"")
    x = i32(0) if v >= 3 else b""
    return x + A([S("t1") + A([i32(0) + i16(0) + T, i32(1) + i16(25) + T]) + T]) + T


def ofetch_req(v):
    f = v >= 6
    S, A, T = (cs, carr, NO_TAGS) if f else (s, arr, b"")
    stable = i8(1) if v >= 7 else b""
    if v >= 2 and v % 2:
        return S("grp") + (uv(0) if f else i32(-1)) + stable + T
    return S("grp") + A([S("t1") + A([i32(0), i32(1)]) + T]) + stable + T


def ofetch_resp(v):
    f = v >= 6
    S, A, T = (cs, carr, NO_TAGS) if f else (s, arr, b"")
    x = i32(0) if v >= 3 else b""
    parts = []
    for p in (0, 1):
        e = i32(p) + i64(100 if p == 0 else -1)
        if v >= 5:
            e += i32(-1)
        parts.append(e + S("") + i16(0) + T)
    x += A([S("t1") + A(parts) + T])
    if v >= 2:
        x += i16(0)
    return x + T


def describe_resp(v):
    x = i32(0) if v >= 1 else b""
    m = s("m-1")
    if v >= 4:
        m += s("inst")
    m += s("rdkafka") + s("/127.0.0.1") + b(sub(["t1"])) + b(b"\x00\x00")
    g = i16(0) + s("grp") + s("Stable") + s("consumer") + s("range") + arr([m])
    if v >= 3:
        g += i32(-2147483648)
    return x + arr([g, i16(0) + s("gone") + s("Dead") + s("") + s("") + arr([]) + (i32(0) if v >= 3 else b"")])


def group_value(v):
    x = i16(v) + s("consumer") + i32(5) + s("range") + s("m-1")
    if v >= 2:
        x += i64(1700000000000)
    m = s("m-1")
    if v >= 3:
        m += s("inst")
    m += s("rdkafka") + s("/127.0.0.1")
    if v >= 1:
        m += i32(300000)
    m += i32(10000) + b(sub(["t1"])) + b(b"\x00\x00")
    return x + arr([m])


def offset_value(v):
    x = i16(v) + i64(42)
    if v >= 3:
        x += i32(7)
    x += s("meta") + i64(1700000000000)
    if v == 1:
        x += i64(1700000600000)
    return x


seeds = {}
for v in range(3):
    seeds[f"find_req_v{v}"] = ("find_req", v, s("grp") + (i8(0) if v >= 1 else b""))
    seeds[f"find_resp_v{v}"] = ("find_resp", v, (i32(0) if v >= 1 else b"") + i16(0) +
                                (s(None) if v >= 1 else b"") + i32(1) + s("localhost") + i32(9092))
for v in range(6):
    seeds[f"join_req_v{v}"] = ("join_req", v, join_req(v))
    seeds[f"join_resp_v{v}"] = ("join_resp", v, join_resp(v))
for v in range(4):
    seeds[f"sync_req_v{v}"] = ("sync_req", v, sync_req(v))
    seeds[f"sync_resp_v{v}"] = ("sync_resp", v, (i32(0) if v >= 1 else b"") + i16(0) + b(b"\x00\x00a"))
    seeds[f"heartbeat_req_v{v}"] = ("heartbeat_req", v, s("grp") + i32(3) + s("m-1") + (s("i") if v >= 3 else b""))
    seeds[f"heartbeat_resp_v{v}"] = ("heartbeat_resp", v, (i32(0) if v >= 1 else b"") + i16(27))
    seeds[f"leave_req_v{v}"] = ("leave_req", v, s("grp") + (s("m-1") if v <= 2 else
                                arr([s("m-1") + s(None), s("") + s("inst")])))
    seeds[f"leave_resp_v{v}"] = ("leave_resp", v, (i32(0) if v >= 1 else b"") + i16(0) +
                                 (arr([s("m-1") + s(None) + i16(0)]) if v >= 3 else b""))
for v in range(9):
    seeds[f"commit_req_v{v}"] = ("commit_req", v, commit_req(v))
    seeds[f"commit_resp_v{v}"] = ("commit_resp", v, commit_resp(v))
for v in range(8):
    seeds[f"ofetch_req_v{v}"] = ("ofetch_req", v, ofetch_req(v))
    seeds[f"ofetch_resp_v{v}"] = ("ofetch_resp", v, ofetch_resp(v))
# unknown tagged fields, which a flexible decoder skips (at the top and in a topic)
seeds["ofetch_req_v7_tags"] = ("ofetch_req", 7, cs("grp") + carr([cs("t1") + carr([i32(0)]) + tagged((5, b"xy"))]) +
                               i8(0) + tagged((0, b""), (1000, b"abc")))
seeds["commit_req_v8_tags"] = ("commit_req", 8, commit_req(8)[:-1] + tagged((2, b"\x01")))
for v in range(3):
    seeds[f"list_resp_v{v}"] = ("list_resp", v, (i32(0) if v >= 1 else b"") + i16(0) +
                                arr([s("grp") + s("consumer"), s("other") + s("")]))
for v in range(5):
    seeds[f"describe_req_v{v}"] = ("describe_req", v, arr([s("grp"), s("gone")]) + (i8(1) if v >= 3 else b""))
    seeds[f"describe_resp_v{v}"] = ("describe_resp", v, describe_resp(v))
for v in range(2):
    seeds[f"delete_req_v{v}"] = ("delete_req", v, arr([s("grp"), s("other")]))
    seeds[f"delete_resp_v{v}"] = ("delete_resp", v, i32(0) + arr([s("grp") + i16(0), s("other") + i16(68)]))
seeds["odelete_req_v0"] = ("odelete_req", 0, s("grp") + arr([s("t1") + arr([i32(0), i32(1)])]))
seeds["odelete_resp_v0"] = ("odelete_resp", 0, i16(0) + i32(0) + arr([s("t1") + arr([i32(0) + i16(0), i32(1) + i16(86)])]))
seeds["key_offset_v1"] = ("key", 0, i16(1) + s("grp") + s("t1") + i32(3))
seeds["key_offset_v0"] = ("key", 0, i16(0) + s("grp") + s("t1") + i32(0))
seeds["key_group_v2"] = ("key", 0, i16(2) + s("grp"))
for v in range(4):
    seeds[f"offset_value_v{v}"] = ("offset_value", 0, offset_value(v))
    seeds[f"group_value_v{v}"] = ("group_value", 0, group_value(v))
seeds["group_value_empty"] = ("group_value", 0, i16(3) + s("consumer") + i32(6) + s(None) + s(None) + i64(5) + arr([]))
seeds["subscription_v1"] = ("subscription", 0, i16(1) + arr([s("t1"), s("t2")]) + b(None) +
                            arr([s("t1") + arr([i32(0)])]))

os.makedirs(out, exist_ok=True)
for name, (msg, v, body) in sorted(seeds.items()):
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes([MSGS.index(msg), v]) + body)
print(f"{len(seeds)} seeds in {out}")
