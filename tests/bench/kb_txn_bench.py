"""Transactional produce throughput against idempotent produce, in the same run (the issue's
figure: transactions of 100 records). 3 brokers, one topic of one partition (RF=3,
min.insync.replicas 2, acks=all), __transaction_state with 3 partitions; confluent-kafka
(librdkafka) from Python, 100-byte records. Each round: an idempotent producer sends RECORDS
records and flushes; then a transactional producer sends the same number in transactions of
TXN records (begin, produce, commit_transaction: AddPartitionsToTxn, then EndTxn, the markers
and CompleteCommit before the next transaction can add its partition). Prints records/s of
each and their ratio per round, and the median.
    kb_txn_bench.py [--records 20000] [--txn 100] [--repeat 3]"""
import argparse
import os
import statistics
import sys
import time
import warnings

from samsatest import kb
from samsatest.benchrun import BenchRun

warnings.simplefilter("ignore")
import confluent_kafka  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402


def idempotent(bootstrap, topic, n, value):
    p = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    t0 = time.monotonic()
    for _ in range(n):
        while True:
            try:
                p.produce(topic, value, partition=0)
                break
            except BufferError:
                p.poll(0.01)
    assert p.flush(120) == 0
    return n / (time.monotonic() - t0)


def transactional(bootstrap, topic, n, per, value, txn_id):
    p = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id, "linger.ms": 5})
    p.init_transactions(60)
    t0 = time.monotonic()
    for _ in range(n // per):
        p.begin_transaction()
        for _ in range(per):
            p.produce(topic, value, partition=0)
        p.commit_transaction(60)
    return n / (time.monotonic() - t0)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--txn", type=int, default=100, help="records per transaction")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    run = BenchRun()
    try:
        c = kb.Cluster(run, brokers=3, broker_extra={"transaction.state.log.num.partitions": "3"})
        c.wait_brokers()
        admin = AdminClient({"bootstrap.servers": c.bootstrap})
        for f in admin.create_topics([NewTopic("tx", 1, 3, config={"min.insync.replicas": "2"})]).values():
            f.result(30)
        c.wait_leaders("tx", 1)
        c.wait_state("tx", 0, lambda s: len(s["isr"]) == 3, what="all 3 replicas in the ISR")
        value = b"x" * 100
        print("== 3 brokers on %d cores (shared with other work); %d records of 100 B per run, "
              "transactions of %d" % (os.cpu_count(), args.records, args.txn), file=sys.stderr)
        ratios = []
        for r in range(args.repeat):
            a = idempotent(c.bootstrap, "tx", args.records, value)
            b = transactional(c.bootstrap, "tx", args.records, args.txn, value, "bench-%d" % r)
            ratios.append(b / a)
            print("round %d: idempotent %.0f records/s, transactional (%d per transaction) %.0f records/s "
                  "(%.0f transactions/s), ratio %.2f" % (r + 1, a, args.txn, b, b / args.txn, b / a))
        print("median ratio transactional/idempotent: %.2f" % statistics.median(ratios))
        run.ok()
    finally:
        run.close()


if __name__ == "__main__":
    main(sys.argv[1:])
