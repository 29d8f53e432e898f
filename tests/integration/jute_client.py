"""A minimal raw ZooKeeper client (jute over TCP) for tests: it shows exact reply headers
(xid, zxid, err) and sends what kazoo cannot (containers, addWatch, getAllChildrenNumber,
getEphemerals, whoAmI, multiRead) or must not (malformed frames)."""
import socket
import struct


def ustring(s):
    if s is None:
        return struct.pack(">i", -1)
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">i", len(b)) + b


def buffer(b):
    return ustring(b)


def acl_list(acls):
    out = struct.pack(">i", len(acls))
    for perms, scheme, ident in acls:
        out += struct.pack(">i", perms) + ustring(scheme) + ustring(ident)
    return out


OPEN_ACL = [(31, "world", "anyone")]


class Reader:
    def __init__(self, data):
        self.d = data
        self.o = 0

    def int(self):
        (v,) = struct.unpack_from(">i", self.d, self.o)
        self.o += 4
        return v

    def long(self):
        (v,) = struct.unpack_from(">q", self.d, self.o)
        self.o += 8
        return v

    def bool(self):
        v = self.d[self.o] != 0
        self.o += 1
        return v

    def buffer(self):
        n = self.int()
        if n < 0:
            return None
        v = self.d[self.o:self.o + n]
        self.o += n
        return v

    def string(self):
        b = self.buffer()
        return None if b is None else b.decode()

    def stat(self):
        return dict(czxid=self.long(), mzxid=self.long(), ctime=self.long(), mtime=self.long(),
                    version=self.int(), cversion=self.int(), aversion=self.int(),
                    ephemeralOwner=self.long(), dataLength=self.int(), numChildren=self.int(),
                    pzxid=self.long())

    def strings(self):
        n = self.int()
        return [self.string() for _ in range(max(n, 0))]


class RawClient:
    def __init__(self, port, timeout_ms=10000, session_id=0, passwd=b"\0" * 16, last_zxid=0,
                 read_only_byte=True):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.xid = 0
        self.events = []
        body = struct.pack(">iqiq", 0, last_zxid, timeout_ms, session_id) + buffer(passwd)
        if read_only_byte:
            body += b"\0"
        self.send_frame(body)
        r = Reader(self.recv_frame())
        self.protocol_version = r.int()
        self.timeout = r.int()
        self.session_id = r.long()
        self.passwd = r.buffer()

    def send_frame(self, body):
        self.sock.sendall(struct.pack(">i", len(body)) + body)

    def recv_exact(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("closed by the server")
            out += chunk
        return out

    def recv_frame(self):
        (n,) = struct.unpack(">i", self.recv_exact(4))
        return self.recv_exact(n)

    def call(self, op, body=b""):
        """Sends one request; returns (err, zxid, Reader over the body). Notifications that
        arrive first are kept in self.events as (type, state, path)."""
        self.xid += 1
        xid = self.xid
        self.send_frame(struct.pack(">ii", xid, op) + body)
        while True:
            r = Reader(self.recv_frame())
            rxid, zxid, err = r.int(), r.long(), r.int()
            if rxid == -1:
                self.events.append((r.int(), r.int(), r.string()))
                continue
            if rxid != xid:
                raise AssertionError("reply xid %d for request %d" % (rxid, xid))
            return err, zxid, r

    def wait_event(self):
        r = Reader(self.recv_frame())
        rxid, _zxid, _err = r.int(), r.long(), r.int()
        assert rxid == -1, rxid
        ev = (r.int(), r.int(), r.string())
        self.events.append(ev)
        return ev

    # convenience wrappers
    def create(self, path, data=b"", flags=0, op=1, acls=OPEN_ACL):
        err, zxid, r = self.call(op, ustring(path) + buffer(data) + acl_list(acls) + struct.pack(">i", flags))
        if err:
            return err, None, None
        name = r.string()
        stat = r.stat() if op in (15, 19) else None
        return err, name, stat

    def get_data(self, path, watch=False):
        err, zxid, r = self.call(4, ustring(path) + struct.pack(">?", watch))
        return (err, None, None) if err else (err, r.buffer(), r.stat())

    def exists(self, path, watch=False):
        err, zxid, r = self.call(3, ustring(path) + struct.pack(">?", watch))
        return err, (None if err else r.stat())

    def delete(self, path, version=-1):
        return self.call(2, ustring(path) + struct.pack(">i", version))[0]

    def set_data(self, path, data, version=-1):
        err, zxid, r = self.call(5, ustring(path) + buffer(data) + struct.pack(">i", version))
        return err, (None if err else r.stat())

    def children(self, path, watch=False):
        err, zxid, r = self.call(8, ustring(path) + struct.pack(">?", watch))
        return err, (None if err else sorted(r.strings()))

    def all_children_number(self, path):
        err, zxid, r = self.call(104, ustring(path))
        return err, (None if err else r.int())

    def ephemerals(self, prefix):
        err, zxid, r = self.call(103, ustring(prefix))
        return err, (None if err else sorted(r.strings()))

    def add_watch(self, path, mode):
        return self.call(106, ustring(path) + struct.pack(">i", mode))[0]

    def remove_watches(self, path, wtype):
        return self.call(18, ustring(path) + struct.pack(">i", wtype))[0]

    def ping(self):
        self.xid += 1
        self.send_frame(struct.pack(">ii", -2, 11))
        while True:
            r = Reader(self.recv_frame())
            rxid, zxid, err = r.int(), r.long(), r.int()
            if rxid == -1:
                self.events.append((r.int(), r.int(), r.string()))
                continue
            return rxid, err

    def close_session(self):
        err = self.call(-11)[0]
        self.sock.close()
        return err

    def close(self):
        self.sock.close()
