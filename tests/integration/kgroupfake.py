"""A scripted stand-in for a Kafka broker's group APIs, for testing kafka-consumer-groups' output
byte for byte whatever the groups' timing: one broker (id 0) on a loopback port that answers, in
the oldest versions librdkafka 2.0 accepts, ApiVersions v0, Metadata v0, FindCoordinator v0,
ListGroups v0, DescribeGroups v0, OffsetFetch v0-2, OffsetCommit v0-2, ListOffsets v0-1,
DeleteGroups v0 and OffsetDelete v0, from state the test sets and reads:

    topics = {"t": [(log_start, log_end), ...]}   # per partition; record o has timestamp TS0 + o
    groups = {"g": Group(state, protocol, members=[Member(...)], offsets={("t", 0): 5})}

DescribeGroups of an unknown group answers state Dead (as Kafka's broker does); DeleteGroups
removes Empty groups (NON_EMPTY_GROUP otherwise, GROUP_ID_NOT_FOUND if unknown); OffsetCommit
and OffsetDelete change the offsets. librdkafka's mock cluster has no ListGroups or
DescribeGroups, hence this. Runs in a thread of the test; stopped by close()."""
import socket
import struct
import threading

TS0 = 1_700_000_000_000  # timestamp of offset 0; offset o has TS0 + o


class Member:
    def __init__(self, member_id, client_id, host, assignment):
        self.member_id, self.client_id, self.host = member_id, client_id, host
        self.assignment = assignment  # {topic: [partitions]}


class Group:
    def __init__(self, state, protocol="range", members=(), offsets=None, protocol_type="consumer"):
        self.state, self.protocol, self.protocol_type = state, protocol, protocol_type
        self.members = list(members)
        self.offsets = dict(offsets or {})


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return v[0]

    def i16(self):
        return self.take(">h")

    def i32(self):
        return self.take(">i")

    def i64(self):
        return self.take(">q")

    def string(self):
        n = self.i16()
        if n < 0:
            return None
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def array(self, fn):
        n = self.i32()
        return None if n < 0 else [fn() for _ in range(n)]


def i16(v):
    return struct.pack(">h", v)


def i32(v):
    return struct.pack(">i", v)


def i64(v):
    return struct.pack(">q", v)


def string(s):
    if s is None:
        return i16(-1)
    b = s.encode()
    return i16(len(b)) + b


def array(items, fn):
    return i32(len(items)) + b"".join(fn(x) for x in items)


def nbytes(b):
    return i32(-1) if b is None else i32(len(b)) + b


# (api key, max version) served
APIS = {18: 0, 3: 0, 10: 0, 16: 0, 15: 0, 9: 2, 8: 2, 2: 1, 42: 0, 47: 0}


class FakeGroupBroker:
    def __init__(self):
        self.topics = {}
        self.groups = {}
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.bootstrap = "127.0.0.1:%d" % self.port
        self.closed = False
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.closed = True
        self.sock.close()
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _recv(self, c, n):
        b = b""
        while len(b) < n:
            chunk = c.recv(n - len(b))
            if not chunk:
                raise EOFError
            b += chunk
        return b

    def _serve(self, c):
        try:
            while True:
                size = struct.unpack(">i", self._recv(c, 4))[0]
                req = self._recv(c, size)
                key, ver, corr = struct.unpack_from(">hhi", req)
                if key == 18 and ver > APIS[18]:  # a newer ApiVersions: v0 answer, UNSUPPORTED_VERSION
                    body = self._api_versions(35)
                else:
                    r = Reader(req)
                    r.pos = 8
                    r.string()  # client id
                    with self.lock:
                        body = self._handle(key, ver, r)
                if body is None:
                    return
                c.sendall(i32(4 + len(body)) + i32(corr) + body)
        except (EOFError, OSError, struct.error):
            pass
        finally:
            c.close()

    def _api_versions(self, err=0):
        return i16(err) + array(sorted(APIS.items()), lambda kv: i16(kv[0]) + i16(0) + i16(kv[1]))

    def _handle(self, key, ver, r):
        if key not in APIS or ver > APIS[key]:
            return None
        if key == 18:
            return self._api_versions()
        if key == 3:
            r.array(r.string)
            broker = i32(0) + string("127.0.0.1") + i32(self.port)

            def topic(name):
                parts = self.topics[name]
                return i16(0) + string(name) + array(
                    list(range(len(parts))), lambda p: i16(0) + i32(p) + i32(0) + array([0], i32) + array([0], i32))
            return array([0], lambda _: broker) + array(sorted(self.topics), topic)
        if key == 10:
            r.string()
            return i16(0) + i32(0) + string("127.0.0.1") + i32(self.port)
        if key == 16:
            return i16(0) + array(sorted(self.groups), lambda g: string(g) + string(self.groups[g].protocol_type))
        if key == 15:
            return array(r.array(r.string), self._describe)
        if key == 9:
            g = self.groups.get(r.string())
            want = r.array(lambda: (r.string(), r.array(r.i32)))
            offs = g.offsets if g else {}
            if want is None:
                want = [(t, [p for (tt, p) in offs if tt == t]) for t in sorted({t for (t, _) in offs})]

            def part(tp):
                return i32(tp[1]) + i64(offs.get(tp, -1)) + string("") + i16(0)
            body = array(want, lambda tw: string(tw[0]) + array([(tw[0], p) for p in tw[1]], part))
            return body + (i16(0) if ver >= 2 else b"")
        if key == 8:
            gid = r.string()
            if ver >= 1:
                r.i32(), r.string()
            if ver >= 2:
                r.i64()
            topics = r.array(lambda: (r.string(), r.array(
                lambda: (r.i32(), r.i64(), r.i64() if ver == 1 else None, r.string()))))
            g = self.groups.setdefault(gid, Group("Empty", protocol=""))
            for t, parts in topics:
                for p, off, _, _ in parts:
                    g.offsets[(t, p)] = off
            return array(topics, lambda t: string(t[0]) + array(t[1], lambda p: i32(p[0]) + i16(0)))
        if key == 2:
            r.i32()
            topics = r.array(lambda: (r.string(), r.array(
                lambda: (r.i32(), r.i64(), r.i32() if ver == 0 else None))))
            return array(topics, lambda t: string(t[0]) + array(t[1], lambda p: self._list_offset(t[0], p, ver)))
        if key == 42:
            return i32(0) + array(r.array(r.string), self._delete_group)
        if key == 47:
            gid = r.string()
            topics = r.array(lambda: (r.string(), r.array(r.i32)))
            g = self.groups.get(gid)
            if g is None:
                return i16(69) + i32(0) + array([], None)

            def drop(t, p):
                g.offsets.pop((t, p), None)
                return i32(p) + i16(0)
            return i16(0) + i32(0) + array(topics, lambda t: string(t[0]) + array(t[1], lambda p: drop(t[0], p)))
        return None

    def _describe(self, gid):
        g = self.groups.get(gid)
        if g is None:
            return i16(0) + string(gid) + string("Dead") + string("") + string("") + array([], None)

        def assignment(m):
            return i16(0) + array(sorted(m.assignment), lambda t: string(t) + array(m.assignment[t], i32)) + \
                nbytes(None)

        def member(m):
            return string(m.member_id) + string(m.client_id) + string(m.host) + nbytes(b"") + nbytes(assignment(m))
        return i16(0) + string(gid) + string(g.state) + string(g.protocol_type) + string(g.protocol) + \
            array(g.members, member)

    def _delete_group(self, gid):
        g = self.groups.get(gid)
        if g is None:
            err = 69
        elif g.state != "Empty":
            err = 68
        else:
            del self.groups[gid]
            err = 0
        return string(gid) + i16(err)

    def _list_offset(self, topic, p, ver):
        part, ts = p[0], p[1]
        parts = self.topics.get(topic)
        if parts is None or part >= len(parts):
            return i32(part) + i16(3) + (i64(-1) + i64(-1) if ver else array([], None))
        start, end = parts[part]
        if ts == -2:
            off = start
        elif ts == -1:
            off = end
        else:
            off = max(start, ts - TS0)
            if off >= end:
                off = -1
        if ver == 0:
            return i32(part) + i16(0) + array([off], i64)
        return i32(part) + i16(0) + i64(-1 if off < 0 else TS0 + off) + i64(off)
