"""Writes the application-message seeds of fuzz_peer (tests/fuzz/corpus/peer/app_*): the
protobuf bodies of quorum.proto's Forward, Touch, Sync and Nack as zk_peer encodes them, plus a
few at and over the caps of coord/zk_peer.h (identities, identity lengths, Touch sessions packed
and unpacked, field counts). fuzz_peer tries every input as each kind. Pure Python:
    python3 tests/fuzz/make_corpus_peer_app.py
"""
import os


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


def key(field, wire):
    return varint(field << 3 | wire)


def vint(field, v):
    return key(field, 0) + varint(v)


def ldelim(field, data):
    return key(field, 2) + varint(len(data)) + data


def auth_id(scheme, ident):
    return ldelim(1, scheme) + ldelim(2, ident)


def forward(kind, session, timeout=0, passwd=b"", ids=(), request=b""):
    out = vint(1, kind) + vint(2, session)
    if timeout:
        out += vint(3, timeout)
    if passwd:
        out += ldelim(4, passwd)
    for s, i in ids:
        out += ldelim(5, auth_id(s, i))
    if request:
        out += ldelim(6, request)
    return out


def jute_create(xid, path):
    body = xid.to_bytes(4, "big", signed=True) + (1).to_bytes(4, "big")
    body += len(path).to_bytes(4, "big") + path
    body += (3).to_bytes(4, "big") + b"abc"
    body += (1).to_bytes(4, "big") + (31).to_bytes(4, "big")
    body += (5).to_bytes(4, "big") + b"world" + (6).to_bytes(4, "big") + b"anyone"
    body += (0).to_bytes(4, "big")
    return body


def touch_packed(sessions):
    return ldelim(1, b"".join(varint(s) for s in sessions))


def touch_unpacked(sessions):
    return b"".join(vint(1, s) for s in sessions)


def sync(session, xid, zxid=0):
    out = vint(1, session) + vint(2, xid)
    return out + vint(3, zxid) if zxid else out


SEEDS = {
    "app_forward_write": forward(1, 0x100000001, 30000, bytes(range(16)),
                                 [(b"ip", b"127.0.0.1"), (b"digest", b"bob:abcdefghijklmnopqrstuvwxyz0=")],
                                 jute_create(7, b"/a")),
    "app_forward_create": forward(2, 0x100000002, 4000, bytes(16), [(b"ip", b"::1")]),
    "app_forward_close": forward(3, 0x100000003, 0, bytes(16), [(b"ip", b"10.0.0.1")],
                                 (9).to_bytes(4, "big") + (-11).to_bytes(4, "big", signed=True)),
    "app_forward_max_ids": forward(1, 5, 0, b"", [(b"ip", b"x" * 1024)] * 16, b"\x00" * 8),
    "app_forward_too_many_ids": forward(1, 5, 0, b"", [(b"ip", b"1.2.3.4")] * 17),
    "app_forward_long_id": forward(1, 5, 0, b"", [(b"digest", b"y" * 1025)]),
    "app_forward_bad_kind": forward(4, 5),
    "app_forward_create_no_passwd": forward(2, 5, 100),
    "app_forward_many_fields": vint(2, 1) * 65,
    "app_touch": touch_packed([0x100000001, 0x100000002, -1, 0x7FFFFFFFFFFFFFFF]),
    "app_touch_unpacked": touch_unpacked([1, 2, 3, -5]),
    "app_touch_max": touch_packed(range(1, 65537)),
    "app_touch_over": touch_unpacked([1] * 65537),
    "app_sync": sync(0x100000001, 12),
    "app_sync_resp": sync(0x100000001, -3, 0x20000000A),
    "app_nack": vint(1, 0x100000009),
    "app_empty": b"",
}


def main():
    d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "peer")
    os.makedirs(d, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
