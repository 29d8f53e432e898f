"""The broker's log on disk: every message acknowledged with acks=1 under a flush-every-message
policy survives kill -9; a segment corrupted while the broker was down is cut at the first bad
batch with a log line naming the file and offset, and nothing before it is lost; retention by
time and by size removes whole old segments; a clean restart keeps everything; produce and
fetch go on while the coordinator is down, and the broker registers again when it is back."""
import glob
import os
import struct
import sys
import time
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kbharness  # noqa: E402

warnings.simplefilter("ignore")
import confluent_kafka  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from kazoo.client import KazooClient  # noqa: E402


def create(bs, port, name, parts=1, config=None):
    a = AdminClient({"bootstrap.servers": bs})
    a.create_topics([NewTopic(name, parts, 1, config=config or {})])[name].result(15)
    kbharness.wait_for(lambda: all(e == 0 for _, e, _ in kbharness.metadata_v1(port, [name])[2][name][1]),
                       what="leaders of %s" % name)


def read_all(bs, topic, partition=0, timeout=10, expect=None):
    c = confluent_kafka.Consumer({"bootstrap.servers": bs, "group.id": "unused", "enable.auto.commit": False,
                                  "enable.partition.eof": True})
    try:
        c.assign([confluent_kafka.TopicPartition(topic, partition, confluent_kafka.OFFSET_BEGINNING)])
        out = []
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = c.poll(0.2)
            if m is None:
                continue
            if m.error():
                if m.error().code() == confluent_kafka.KafkaError._PARTITION_EOF:
                    if expect is None or len(out) >= expect:
                        break
                    continue
                raise AssertionError(str(m.error()))
            out.append((m.offset(), m.value()))
        return out
    finally:
        c.close()


class DurabilityTest(unittest.TestCase):
    def test_kill9_keeps_every_acknowledged_message(self):
        c = kbharness.Cluster(self, broker_extra={"log.flush.interval.messages": "1"})
        b = c.brokers[0]
        create(c.bootstrap, b.port, "d")
        acked = []
        p = confluent_kafka.Producer({"bootstrap.servers": c.bootstrap, "acks": "1", "linger.ms": 1,
                                      "message.timeout.ms": 3000, "retries": 0})

        def on_delivery(err, m):
            if err is None:
                acked.append((m.offset(), m.value()))
        i = 0
        while len(acked) < 300:
            p.produce("d", b"m%06d" % i, on_delivery=on_delivery)
            i += 1
            p.poll(0)
            if i % 50 == 0:
                p.flush(5)
        for _ in range(200):  # more in flight while the broker dies
            p.produce("d", b"m%06d" % i, on_delivery=on_delivery)
            i += 1
        p.poll(0)
        b.kill9()
        p.flush(6)
        b.start()
        b.wait_ready()
        kbharness.wait_for(lambda: (kbharness.partition_meta(b.port, "d") or (0, -1, -1))[1] == 0, what="leader")
        got = dict(read_all(c.bootstrap, "d", expect=len(acked)))
        missing = [(o, v) for o, v in acked if got.get(o) != v]
        self.assertEqual(missing, [])
        self.assertGreaterEqual(len(got), len(acked))

    def test_corrupt_segment_cut_at_first_bad_batch(self):
        c = kbharness.Cluster(self)
        b = c.brokers[0]
        create(c.bootstrap, b.port, "cor")
        p = confluent_kafka.Producer({"bootstrap.servers": c.bootstrap, "linger.ms": 0})
        for i in range(20):
            p.produce("cor", b"ok%d" % i)
            p.flush(5)
        b.stop()
        seg = os.path.join(b.log_dirs, "cor-0", "00000000000000000000.log")
        size = os.path.getsize(seg)
        with open(seg, "r+b") as f:
            f.seek(size)
            # a batch header that promises more bytes than follow, then noise
            f.write(struct.pack(">qi", 20, 5000) + b"\x00\x00\x00\x00\x02" + os.urandom(100))
        b.start()
        b.wait_ready()
        kbharness.wait_for(lambda: "truncating at byte %d (offset 20)" % size in b.log_text(), what="the cut")
        self.assertIn(seg, b.log_text())
        self.assertEqual(os.path.getsize(seg), size)
        got = read_all(c.bootstrap, "cor", expect=20)
        self.assertEqual(got, [(i, b"ok%d" % i) for i in range(20)])
        # appends go on at offset 20
        p = confluent_kafka.Producer({"bootstrap.servers": c.bootstrap})
        offs = []
        p.produce("cor", b"after", on_delivery=lambda e, m: offs.append(m.offset()))
        p.flush(10)
        self.assertEqual(offs, [20])
        # a CRC error in the middle of the active segment cuts there as well
        b.stop()
        with open(seg, "r+b") as f:
            data = f.read()
            # flip a byte inside the 11th batch's records (each batch here holds one record)
            pos = 0
            for _ in range(10):
                (ln,) = struct.unpack_from(">i", data, pos + 8)
                pos += 12 + ln
            cut = pos
            f.seek(pos + 12 + 50)
            f.write(b"\xff")
        b.start()
        b.wait_ready()
        kbharness.wait_for(lambda: "truncating at byte %d (offset 10)" % cut in b.log_text(), what="the CRC cut")
        got = read_all(c.bootstrap, "cor", expect=10)
        self.assertEqual(got, [(i, b"ok%d" % i) for i in range(10)])

    def test_retention_by_time_and_size(self):
        c = kbharness.Cluster(self, broker_extra={"log.retention.check.interval.ms": "200"})
        b = c.brokers[0]
        create(c.bootstrap, b.port, "rt", config={"segment.bytes": "2000", "retention.ms": "1500"})
        create(c.bootstrap, b.port, "rs", config={"segment.bytes": "2000", "retention.bytes": "5000"})
        p = confluent_kafka.Producer({"bootstrap.servers": c.bootstrap, "linger.ms": 0})
        for i in range(100):
            p.produce("rt", b"x" * 100)
            p.produce("rs", b"y" * 100)
            p.flush(5)
        segs = lambda t: sorted(glob.glob(os.path.join(b.log_dirs, t + "-0", "*.log")))  # noqa: E731
        self.assertGreater(len(segs("rt")), 3)
        # by size: old segments go until the rest fits in 5000 bytes (whole segments only)
        kbharness.wait_for(lambda: sum(os.path.getsize(s) for s in segs("rs")) <= 5000 + 2200, what="size retention")
        cons = confluent_kafka.Consumer({"bootstrap.servers": c.bootstrap, "group.id": "unused"})
        lo, hi = cons.get_watermark_offsets(confluent_kafka.TopicPartition("rs", 0), timeout=10)
        self.assertGreater(lo, 0)
        self.assertEqual(hi, 100)
        self.assertEqual(os.path.basename(segs("rs")[0]), "%020d.log" % lo)
        # by time: once the newest record of a segment is older than 1.5 s, only the active one stays
        kbharness.wait_for(lambda: len(segs("rt")) == 1, timeout=20, what="time retention")
        lo, hi = cons.get_watermark_offsets(confluent_kafka.TopicPartition("rt", 0), timeout=10)
        cons.close()
        self.assertEqual(hi, 100)
        self.assertGreater(lo, 0)
        got = read_all(c.bootstrap, "rt", expect=100 - lo)
        self.assertEqual([o for o, _ in got], list(range(lo, 100)))

    def test_restart_and_coordinator_outage(self):
        c = kbharness.Cluster(self)
        b = c.brokers[0]
        create(c.bootstrap, b.port, "out", 2)
        p = confluent_kafka.Producer({"bootstrap.servers": c.bootstrap})
        for i in range(10):
            p.produce("out", b"before%d" % i, partition=0)
        p.flush(10)
        b.stop()
        b.start()
        b.wait_ready()
        kbharness.wait_for(lambda: (kbharness.partition_meta(b.port, "out") or (0, -1, -1))[1] == 0, what="leader")
        self.assertEqual(len(read_all(c.bootstrap, "out", expect=10)), 10)
        # the coordinator goes away: produce and fetch on existing partitions go on
        c.zk.stop()
        p = confluent_kafka.Producer({"bootstrap.servers": c.bootstrap})
        for i in range(10):
            p.produce("out", b"during%d" % i, partition=0)
        self.assertEqual(p.flush(10), 0)
        got = read_all(c.bootstrap, "out", expect=20)
        self.assertEqual([v for _, v in got][10:], [b"during%d" % i for i in range(10)])
        # it comes back (same data dir and port): the broker is registered again
        c.zk.start()
        zk = KazooClient(hosts=c.zk.hosts, timeout=10)
        zk.start(15)
        try:
            kbharness.wait_for(lambda: zk.exists("/kafka/brokers/ids/0"), timeout=40, what="re-registration")
            self.assertEqual(sorted(zk.get_children("/kafka/brokers/topics")), ["out"])
        finally:
            zk.stop()
            zk.close()
        self.assertIn("out", kbharness.metadata_v1(b.port)[2])


if __name__ == "__main__":
    unittest.main()
