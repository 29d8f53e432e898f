"""Bad input to the broker, sent as raw bytes: malformed and oversized frames, unknown API
keys, unsupported versions, bad CRCs, invalid topic names, oversized batches, unknown
partitions and out-of-range offsets. Each gets Kafka's error code or a clean close, the broker
keeps serving other clients, and nothing already stored is lost."""
import os
import socket
import struct
import sys
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kbharness  # noqa: E402
from samsatest.workdir import SharedFixtureTest  # noqa: E402
from kbharness import KafkaRaw, kstr  # noqa: E402

warnings.simplefilter("ignore")
from kafka.record.default_records import DefaultRecordBatchBuilder  # noqa: E402


def batch(values):
    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False, producer_id=-1,
                                  producer_epoch=-1, base_sequence=-1, batch_size=1 << 24)
    for i, v in enumerate(values):
        b.append(i, timestamp=1700000000000 + i, key=None, value=v, headers=[])
    return bytes(b.build())


def produce_body(topic, partition, records, acks=1):
    return (kstr(None) + struct.pack(">hi", acks, 10000) + struct.pack(">i", 1) + kstr(topic) +
            struct.pack(">i", 1) + struct.pack(">i", partition) + struct.pack(">i", len(records)) + records)


def produce_result(resp):
    """(error, base_offset) of the single partition of a Produce v3 response."""
    pos = 4 + 4
    (tl,) = struct.unpack_from(">h", resp, pos)
    pos += 2 + tl + 4
    _, err, base = struct.unpack_from(">ihq", resp, pos)
    return err, base


def fetch_body(topic, partition, offset):
    return (struct.pack(">iiiib", -1, 0, 0, 1 << 20, 0) + struct.pack(">i", 1) + kstr(topic) +
            struct.pack(">i", 1) + struct.pack(">iqi", partition, offset, 1 << 20))


class BadInputTest(SharedFixtureTest):
    @classmethod
    def setUpClass(cls):
        fx = cls.fixture()
        cls.cluster = kbharness.Cluster(fx, broker_extra={"message.max.bytes": "20000",
                                                      "socket.request.max.bytes": "1000000"})
        cls.port = cls.cluster.brokers[0].port
        k = KafkaRaw(cls.port)
        # CreateTopics v0: "t" with 1 partition
        body = struct.pack(">i", 1) + kstr("t") + struct.pack(">ihii", 1, 1, 0, 0) + struct.pack(">i", 30000)
        k.request(19, 0, body)
        r = k.recv()
        assert r is not None and struct.unpack_from(">h", r, 4 + 4 + 2 + 1)[0] == 0, r
        k.close()
        kbharness.wait_for(lambda: (kbharness.partition_meta(cls.port, "t") or (0, -1, -1))[2] == 0, what="leader")
        k = KafkaRaw(cls.port)
        k.request(0, 3, produce_body("t", 0, batch([b"keep-%d" % i for i in range(5)])))
        assert produce_result(k.recv()) == (0, 0)
        k.close()
        fx.ready()

    def assert_closed(self, k):
        self.assertIsNone(k.recv(), "the broker should have closed the connection")
        k.close()

    def assert_intact(self):
        k = KafkaRaw(self.port)
        k.request(1, 4, fetch_body("t", 0, 0))
        r = k.recv()
        k.close()
        for i in range(5):
            self.assertIn(b"keep-%d" % i, r)
        self.assertIn("t", kbharness.metadata_v1(self.port)[2])

    def test_garbage_and_short_frames_close(self):
        for payload in (b"\x00", b"\xff\xff\xff\xff\xff\xff", b"\x00\x03\x00\x00"):
            k = KafkaRaw(self.port)
            k.send_raw(payload)
            self.assert_closed(k)
        k = KafkaRaw(self.port)
        k.sock.sendall(struct.pack(">i", -5))
        self.assert_closed(k)
        self.assert_intact()

    def test_oversized_request_closes_before_reading(self):
        k = KafkaRaw(self.port)
        k.sock.sendall(struct.pack(">i", 2000000000))
        self.assert_closed(k)
        self.assertIn("over the maximum", self.cluster.brokers[0].log_text())
        self.assert_intact()

    def test_unknown_api_and_versions(self):
        k = KafkaRaw(self.port)
        k.request(999, 0, b"")
        self.assert_closed(k)
        # keys between the served ones (AddPartitionsToTxn, AddOffsetsToTxn, DeleteRecords) are
        # refused too, never answered by a neighbour's handler; a cut-short InitProducerId closes
        for key in (24, 25, 21, 22):
            k = KafkaRaw(self.port)
            k.request(key, 0, b"\x00\x00\x00\x00")
            self.assert_closed(k)
        k = KafkaRaw(self.port)
        k.request(0, 99, produce_body("t", 0, batch([b"x"])))
        self.assert_closed(k)
        # ApiVersions v3 (too new): UNSUPPORTED_VERSION and the ranges in a v0 body
        k = KafkaRaw(self.port)
        k.request(18, 3, b"\x00\x00\x00")
        r = k.recv()
        err, n = struct.unpack_from(">hi", r, 4)
        self.assertEqual(err, 35)
        ranges = {struct.unpack_from(">h", r, 10 + 6 * i)[0]: struct.unpack_from(">hh", r, 12 + 6 * i)
                  for i in range(n)}
        self.assertEqual(ranges[18], (0, 2))
        self.assertEqual(ranges[0], (3, 8))
        self.assertEqual(ranges[1], (4, 11))
        self.assertEqual(ranges[3], (0, 8))
        self.assertEqual(len(r), 4 + 2 + 4 + 6 * n)
        # the connection is still usable
        k.request(18, 0, b"")
        self.assertEqual(struct.unpack_from(">h", k.recv(), 4)[0], 0)
        k.close()
        self.assert_intact()

    def test_truncated_body_closes(self):
        k = KafkaRaw(self.port)
        k.request(0, 3, produce_body("t", 0, batch([b"x"]))[:-10])
        self.assert_closed(k)
        k = KafkaRaw(self.port)
        k.request(3, 1, struct.pack(">i", 1000000))  # a topic count with no topics
        self.assert_closed(k)
        self.assert_intact()

    def test_bad_crc_too_large_unknown_partition(self):
        k = KafkaRaw(self.port)
        good = bytearray(batch([b"v1", b"v2"]))
        bad = bytearray(good)
        bad[-1] ^= 0xff
        k.request(0, 3, produce_body("t", 0, bytes(bad)))
        self.assertEqual(produce_result(k.recv())[0], 2)  # CORRUPT_MESSAGE
        k.request(0, 3, produce_body("t", 0, bytes(good)[:-3]))  # a partial batch
        self.assertEqual(produce_result(k.recv())[0], 2)
        k.request(0, 3, produce_body("t", 0, batch([b"x" * 30000])))
        self.assertEqual(produce_result(k.recv())[0], 10)  # MESSAGE_TOO_LARGE
        k.request(0, 3, produce_body("t", 7, bytes(good)))
        self.assertEqual(produce_result(k.recv())[0], 3)  # UNKNOWN_TOPIC_OR_PARTITION
        k.request(0, 3, produce_body("t", 0, bytes(good), acks=5))
        self.assertEqual(produce_result(k.recv())[0], 21)  # INVALID_REQUIRED_ACKS
        # the log end did not move: the next good batch lands right after the 5 kept records
        k.request(0, 3, produce_body("t", 0, bytes(good)))
        err, base = produce_result(k.recv())
        self.assertEqual(err, 0)
        self.assertEqual(base, 5)  # tests run in name order: this one produces first
        k.close()
        self.assertIn("refused", self.cluster.brokers[0].log_text())
        self.assert_intact()

    def test_produce_acks0_refused_closes(self):
        # acks=0 gets no answer: accepted, the connection stays; refused (an unknown
        # partition), the broker closes it as Kafka does, the only error such a producer sees
        k = KafkaRaw(self.port)
        k.request(0, 3, produce_body("t", 0, batch([b"zero-acks"]), acks=0))
        k.request(3, 1, struct.pack(">i", 0))  # Metadata v1, no topics: answered next
        r = k.recv()
        self.assertIsNotNone(r)
        self.assertEqual(struct.unpack_from(">i", r, 0)[0], k.corr)
        k.request(0, 3, produce_body("t", 7, batch([b"nowhere"]), acks=0))
        self.assert_closed(k)
        self.assertIn("acks=0 produce from", self.cluster.brokers[0].log_text())
        self.assert_intact()

    def test_invalid_topic_names(self):
        _, _, t = kbharness.metadata_v1(self.port, ["bad name!", "x" * 300, ".."])
        self.assertEqual(t["bad name!"][0], 17)
        self.assertEqual(t[".."][0], 17)
        self.assertEqual([e for n, (e, _) in t.items() if n.startswith("xxx")], [17])
        k = KafkaRaw(self.port)
        body = struct.pack(">i", 1) + kstr("no/slashes") + struct.pack(">ihii", 1, 1, 0, 0) + struct.pack(">i", 1000)
        k.request(19, 1, body + b"\x00")
        r = k.recv()
        (nl,) = struct.unpack_from(">h", r, 8)
        self.assertEqual(struct.unpack_from(">h", r, 10 + nl)[0], 17)
        k.close()

    def test_fetch_out_of_range(self):
        k = KafkaRaw(self.port)
        k.request(1, 4, fetch_body("t", 0, 1000))
        r = k.recv()
        pos = 4 + 4 + 4
        (tl,) = struct.unpack_from(">h", r, pos)
        pos += 2 + tl + 4
        _, err = struct.unpack_from(">ih", r, pos)
        self.assertEqual(err, 1)  # OFFSET_OUT_OF_RANGE
        k.close()


class ConnectionLimitTest(SharedFixtureTest):
    """max.connections.per.ip and max.connections.per.ip.overrides: a connection over the limit
    of its address is closed at once (and logged, as Kafka's acceptor does); others and other
    addresses are served; closing one makes room again."""

    @classmethod
    def setUpClass(cls):
        fx = cls.fixture()
        cls.cluster = kbharness.Cluster(fx, broker_extra={"max.connections.per.ip": "3",
                                                      "max.connections.per.ip.overrides": "127.0.0.2:5"})
        cls.port = cls.cluster.brokers[0].port

    def connect(self, source):
        s = socket.socket()
        s.settimeout(5)
        s.bind((source, 0))
        s.connect(("127.0.0.1", self.port))
        self.addCleanup(s.close)
        return s

    def answered(self, s):
        """Whether an ApiVersions v0 on s gets an answer (False: the broker closed it)."""
        hdr = struct.pack(">hhi", 18, 0, 7) + kstr("limit")
        try:
            s.sendall(struct.pack(">i", len(hdr)) + hdr)
            data = s.recv(4)
        except (ConnectionResetError, BrokenPipeError):
            return False
        return len(data) == 4

    def test_per_address_limits(self):
        ones = [self.connect("127.0.0.1") for _ in range(3)]
        for s in ones:
            self.assertTrue(self.answered(s))
        self.assertFalse(self.answered(self.connect("127.0.0.1")), "a 4th connection from 127.0.0.1 was served")
        # the override: five from 127.0.0.2
        twos = [self.connect("127.0.0.2") for _ in range(5)]
        for s in twos:
            self.assertTrue(self.answered(s))
        self.assertFalse(self.answered(self.connect("127.0.0.2")))
        log = self.cluster.brokers[0].log_text()
        self.assertIn("Rejected connection from /127.0.0.1, address already has the configured maximum of 3 "
                      "connections.", log)
        # room again once one closes (the broker notices the close first)
        ones[0].close()
        kbharness.wait_for(lambda: self.answered(self.connect("127.0.0.1")), 10, "a freed slot to be reused")


if __name__ == "__main__":
    unittest.main()
