"""Prints the byte vectors of tests/unit/test_kfw.c, encoded by kafka-python 2.0.2 (an
independent implementation of the Kafka protocol): a Fetch v11 request as a follower sends it,
a Fetch v11 response whose records were built by kafka-python's record batch builder (the
second partition's last batch cut short, as a leader cuts it at its size limit), and
OffsetForLeaderEpoch v3 (not in kafka-python 2.0: declared here from apache/kafka's
OffsetForLeaderEpoch{Request,Response}.json with kafka-python's own type encoders):
    /usr/bin/python3 tests/unit/kfw_vectors.py
With --corpus DIR it writes the responses as seeds of the fuzz harness tests/fuzz/fuzz_kfw.c
instead (a first byte 0: Fetch, 1: OffsetForLeaderEpoch, then the frame):
    /usr/bin/python3 tests/unit/kfw_vectors.py --corpus tests/fuzz/corpus/kfw
"""
from kafka.protocol.api import RequestHeader, Request, Response
from kafka.protocol.fetch import FetchRequest_v11, FetchResponse_v11
from kafka.protocol.types import Array, Int16, Int32, Int64, Schema, String
from kafka.record.default_records import DefaultRecordBatchBuilder
import os
import struct
import sys


class OffsetForLeaderEpochResponse_v3(Response):
    API_KEY = 23
    API_VERSION = 3
    SCHEMA = Schema(
        ('throttle_time_ms', Int32),
        ('topics', Array(
            ('topic', String('utf-8')),
            ('partitions', Array(
                ('error_code', Int16),
                ('partition', Int32),
                ('leader_epoch', Int32),
                ('end_offset', Int64))))))


class OffsetForLeaderEpochRequest_v3(Request):
    API_KEY = 23
    API_VERSION = 3
    RESPONSE_TYPE = OffsetForLeaderEpochResponse_v3
    SCHEMA = Schema(
        ('replica_id', Int32),
        ('topics', Array(
            ('topic', String('utf-8')),
            ('partitions', Array(
                ('partition', Int32),
                ('current_leader_epoch', Int32),
                ('leader_epoch', Int32))))))


def frame(req, corr, client):
    hdr = RequestHeader(req, correlation_id=corr, client_id=client)  # kept: encode is a weak method
    body = hdr.encode() + req.encode()
    return struct.pack('>i', len(body)) + body


def batch(base, epoch, values):
    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False,
                                  producer_id=-1, producer_epoch=-1, base_sequence=-1,
                                  batch_size=1 << 20)
    for i, v in enumerate(values):
        b.append(i, timestamp=1700000000000 + i, key=None, value=v, headers=[])
    out = bytearray(b.build())
    out[0:8] = struct.pack('>q', base)
    out[12:16] = struct.pack('>i', epoch)  # not covered by the CRC
    return bytes(out)


def c_array(name, data):
    lines = ['static const uint8_t %s[%d] = {' % (name, len(data))]
    for i in range(0, len(data), 16):
        lines.append('\t' + ', '.join('0x%02x' % x for x in data[i:i + 16]) + ',')
    lines.append('};')
    return '\n'.join(lines)


def main(corpus=None):
    seeds = {}
    fetch = FetchRequest_v11(
        replica_id=2, max_wait_time=500, min_bytes=1, max_bytes=10485760, isolation_level=0,
        session_id=0, session_epoch=-1,
        topics=[('cities', [(0, 4, 17, -1, 1048576), (3, 4, 0, -1, 1048576)]),
                ('t2', [(1, 7, 123456789012, -1, 1048576)])],
        forgotten_topics_data=[], rack_id='')
    print(c_array('fetch_req_v11', frame(fetch, 41, 'broker-2-fetcher')))

    b1 = batch(17, 3, [b'a', b'bb'])
    b2 = batch(19, 4, [b'ccc'])
    b3 = batch(5, 4, [b'x' * 40, b'y'])
    cut = b3 + batch(7, 4, [b'z' * 30])[:25]
    resp = FetchResponse_v11(
        throttle_time_ms=0, error_code=0, session_id=0,
        topics=[('cities', [(0, 0, 21, 21, 2, [], -1, b1 + b2),
                            (3, 6, -1, -1, -1, [], -1, b'')]),
                ('t2', [(1, 0, 9, 9, 0, [(1000, 4)], -1, cut)])])
    body = struct.pack('>i', 41) + resp.encode()  # response header v0: correlation id
    print(c_array('fetch_resp_v11', body))
    seeds['fetch_three_parts'] = b'\0' + body
    print('/* batch sizes: b1 %d, b2 %d, b3 %d, cut tail %d */' % (len(b1), len(b2), len(b3), 25))

    ofle = OffsetForLeaderEpochRequest_v3(
        replica_id=2, topics=[('cities', [(0, 5, 3), (3, 5, -1)])])
    print(c_array('epoch_req_v3', frame(ofle, 42, 'broker-2-fetcher')))
    eresp = OffsetForLeaderEpochResponse_v3(
        throttle_time_ms=0, topics=[('cities', [(0, 0, 3, 19), (74, 3, -1, -1)])])
    print(c_array('epoch_resp_v3', struct.pack('>i', 42) + eresp.encode()))
    seeds['epoch_two_parts'] = b'\1' + struct.pack('>i', 42) + eresp.encode()
    empty = FetchResponse_v11(throttle_time_ms=0, error_code=0, session_id=0, topics=[])
    seeds['fetch_empty'] = b'\0' + struct.pack('>i', 1) + empty.encode()
    many = FetchResponse_v11(
        throttle_time_ms=5, error_code=0, session_id=0,
        topics=[('t%d' % t, [(p, 0, 100, 100, 0, None, -1, batch(10 * p, p, [b'v%d' % i for i in range(p + 1)]))
                             for p in range(4)]) for t in range(3)])
    seeds['fetch_many'] = b'\0' + struct.pack('>i', 2) + many.encode()
    if corpus:
        os.makedirs(corpus, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(corpus, name), 'wb') as f:
                f.write(data)


if __name__ == '__main__':
    if len(sys.argv) == 3 and sys.argv[1] == '--corpus':
        import contextlib
        with contextlib.redirect_stdout(open(os.devnull, 'w')):
            main(sys.argv[2])
    else:
        main()
