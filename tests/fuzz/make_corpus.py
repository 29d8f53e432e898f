"""Regenerates the seed corpora of the coordinator's fuzz harnesses (jute, txnrec, txnlog, snap)
from real bytes: request frames as a ZooKeeper client sends them, and the log and snapshot files
samsa-coord writes while serving such requests.
    SAMSA_COORD=build/coord/samsa-coord /usr/bin/python3 tests/fuzz/make_corpus.py
"""
import os
import shutil
import struct
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "integration"))
import zkharness  # noqa: E402
from jute_client import RawClient, acl_list, buffer, ustring  # noqa: E402


def frames():
    p = ustring
    acl = acl_list([(31, "world", "anyone"), (1, "digest", "u:abc=")])
    yield "connect", struct.pack(">iqiq", 0, 0, 30000, 0) + buffer(b"\0" * 16) + b"\0"
    yield "connect_old", struct.pack(">iqiq", 0, 5, 30000, 0x1234) + buffer(b"x" * 16)
    yield "create", struct.pack(">ii", 1, 1) + p("/a") + buffer(b"data") + acl + struct.pack(">i", 3)
    yield "create2", struct.pack(">ii", 2, 15) + p("/a/b") + buffer(None) + acl + struct.pack(">i", 0)
    yield "container", struct.pack(">ii", 3, 19) + p("/c") + buffer(b"") + acl + struct.pack(">i", 4)
    yield "ttl", struct.pack(">ii", 4, 21) + p("/t") + buffer(b"") + acl + struct.pack(">iq", 5, 1000)
    yield "delete", struct.pack(">ii", 5, 2) + p("/a") + struct.pack(">i", -1)
    yield "exists", struct.pack(">ii", 6, 3) + p("/a") + b"\1"
    yield "getdata", struct.pack(">ii", 7, 4) + p("/a") + b"\0"
    yield "setdata", struct.pack(">ii", 8, 5) + p("/a") + buffer(b"v" * 100) + struct.pack(">i", 3)
    yield "getacl", struct.pack(">ii", 9, 6) + p("/a")
    yield "setacl", struct.pack(">ii", 10, 7) + p("/a") + acl + struct.pack(">i", 0)
    yield "children2", struct.pack(">ii", 11, 12) + p("/") + b"\1"
    yield "sync", struct.pack(">ii", 12, 9) + p("/")
    yield "ping", struct.pack(">ii", -2, 11)
    yield "check", struct.pack(">ii", 13, 13) + p("/a") + struct.pack(">i", 2)
    ops = (struct.pack(">i?i", 1, False, -1) + p("/m") + buffer(b"1") + acl + struct.pack(">i", 0) +
           struct.pack(">i?i", 13, False, -1) + p("/m") + struct.pack(">i", 0) +
           struct.pack(">i?i", 5, False, -1) + p("/m") + buffer(b"2") + struct.pack(">i", -1) +
           struct.pack(">i?i", 2, False, -1) + p("/m") + struct.pack(">i", -1) +
           struct.pack(">i?i", -1, True, -1))
    yield "multi", struct.pack(">ii", 14, 14) + ops
    yield "multiread", struct.pack(">ii", 15, 22) + struct.pack(">i?i", 4, False, -1) + p("/a") + b"\0" + \
        struct.pack(">i?i", 8, False, -1) + p("/") + b"\0" + struct.pack(">i?i", -1, True, -1)
    yield "auth", struct.pack(">ii", -4, 100) + struct.pack(">i", 0) + p("digest") + buffer(b"u:p")
    lists = b"".join(struct.pack(">i", 2) + p("/a") + p("/b") for _ in range(5))
    yield "setwatches", struct.pack(">ii", -8, 101) + struct.pack(">q", 7) + lists[:3 * len(lists) // 5]
    yield "setwatches2", struct.pack(">ii", -8, 105) + struct.pack(">q", 7) + lists
    yield "addwatch", struct.pack(">ii", 16, 106) + p("/a") + struct.pack(">i", 1)
    yield "removewatches", struct.pack(">ii", 17, 18) + p("/a") + struct.pack(">i", 3)
    yield "ephemerals", struct.pack(">ii", 18, 103) + p("/")
    yield "allchildren", struct.pack(">ii", 19, 104) + p("/")
    yield "close", struct.pack(">ii", 20, -11)
    yield "whoami", struct.pack(">ii", 21, 107)
    yield "reconfig", struct.pack(">ii", 22, 16) + p("") + p("") + p("") + struct.pack(">q", -1)
    yield "unknown", struct.pack(">ii", 23, 999)


def main():
    out = os.path.join(here, "corpus")
    for name, body in frames():
        with open(os.path.join(out, "jute", name), "wb") as f:
            f.write(body)
    tmp = tempfile.mkdtemp(prefix="samsa-corpus-")
    srv = zkharness.samsa_server(tmp, {"snapCount": "20"})
    srv.start()
    try:
        c = RawClient(srv.port)
        c.create("/a", b"x")
        c.create("/a/e", b"", flags=1)
        c.create("/a/s-", b"", flags=2)
        c.create("/c", b"", op=19, flags=4)
        c.set_data("/a", b"y" * 50)
        c.call(14, struct.pack(">i?i", 1, False, -1) + ustring("/m") + buffer(b"1") +
               acl_list([(31, "world", "anyone")]) + struct.pack(">i", 0) +
               struct.pack(">i?i", 13, False, -1) + ustring("/a") + struct.pack(">i", 99) +
               struct.pack(">i?i", -1, True, -1))
        for i in range(30):
            c.create("/n%d" % i, b"v")
        c.delete("/n0")
        # the snapshot is taken on the next tick: wait for it (bounded)
        v2 = os.path.join(tmp, "data", "version-2")
        for _ in range(200):
            if any(f.startswith("snapshot.") and not f.endswith(".tmp") for f in os.listdir(v2)):
                break
            time.sleep(0.05)
        c.close_session()
    finally:
        srv.stop()
    v2 = os.path.join(tmp, "data", "version-2")
    logs = sorted(f for f in os.listdir(v2) if f.startswith("log."))
    snaps = sorted(f for f in os.listdir(v2) if f.startswith("snapshot.") and not f.endswith(".tmp"))
    for i, name in enumerate(logs[:2]):
        shutil.copy(os.path.join(v2, name), os.path.join(out, "txnlog", "log%d" % i))
        blob = open(os.path.join(v2, name), "rb").read()
        off, k = 16, 0
        while off + 16 <= len(blob):
            n = struct.unpack(">I", blob[off:off + 4])[0]
            if n == 0:
                break
            with open(os.path.join(out, "txnrec", "rec%d_%d" % (i, k)), "wb") as f:
                f.write(blob[off + 16:off + 16 + n])
            off += 16 + n
            k += 1
    for i, name in enumerate(snaps[:2]):
        shutil.copy(os.path.join(v2, name), os.path.join(out, "snap", "snap%d" % i))
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
