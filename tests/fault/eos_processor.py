"""A consume-transform-produce loop with exactly-once semantics, as Kafka's EOS applications run
it on confluent-kafka (librdkafka's transactional producer): read a batch of `in` (read_committed,
no auto commit), and in one transaction write each record's value prefixed with "out-" to `out`
and the consumer's positions as the group's offsets (send_offsets_to_transaction), then commit.
A static group member (group.instance.id), so that a restart after kill -9 takes the dead
member's place at once instead of waiting out its session.

    eos_processor.py BOOTSTRAP IN OUT GROUP TRANSACTIONAL_ID

Prints "ready" once init_transactions returned (the previous incarnation's open transaction is
then aborted, or its commit completed), "committed N" after each commit (N: records in it),
"aborted N: why" after a transaction failed with an abortable error (it is aborted and the
partitions are read again from the group's committed offsets, as EOS applications do), and
"done" and exits 0 when every partition of IN is consumed to its high watermark and nothing is
left to commit. Meant to be killed with -9 at any point and started again."""
import sys
import warnings

warnings.simplefilter("ignore")
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition  # noqa: E402
from kafka_ledger import poll_batch  # noqa: E402  (one poll() at a time: see there)


def main(bootstrap, tin, tout, group, txn_id):
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id,
                  "transaction.timeout.ms": 20000, "linger.ms": 5})
    p.init_transactions(60)
    print("ready", flush=True)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "group.instance.id": txn_id,
                  "enable.auto.commit": False, "auto.offset.reset": "earliest",
                  "isolation.level": "read_committed", "session.timeout.ms": 6000})
    assigned = [0]  # assignments so far: a message stamped with an older one is of a revoked one

    def on_assign(consumer, parts):
        assigned[0] += 1

    c.subscribe([tin], on_assign=on_assign)
    try:
        while True:
            # only the messages of the current assignment: a rebalance inside the batch reset
            # the positions to the committed offsets, from which the earlier ones come again
            got = poll_batch(c, 50, 0.5, stamp=lambda: assigned[0])
            msgs = [m for m, n in got if not m.error() and n == assigned[0]]
            if not msgs:
                parts = c.assignment()
                if parts and finished(c, tin, parts):
                    print("done", flush=True)
                    return 0
                continue
            p.begin_transaction()
            try:
                for m in msgs:
                    p.produce(tout, key=m.key(), value=b"out-" + m.value(), partition=m.partition())
                p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), 30)
                p.commit_transaction(60)
            except KafkaException as e:
                if not e.args[0].txn_requires_abort():
                    raise
                # e.g. ILLEGAL_GENERATION from TxnOffsetCommit v3 after a rebalance (KIP-447):
                # abort, and read again from what the group committed, as EOS applications do
                p.abort_transaction(60)
                rewind(c)
                print("aborted %d: %s" % (len(msgs), e.args[0].str()), flush=True)
                continue
            print("committed %d" % len(msgs), flush=True)
    finally:
        c.close()


def rewind(c):
    """Every assigned partition back to the group's committed offset (its start when none)."""
    for tp in c.committed(c.assignment(), timeout=30):
        c.seek(TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_BEGINNING))


def finished(c, tin, parts):
    """Every partition of tin assigned here and consumed to its high watermark."""
    md = c.list_topics(tin, timeout=10)
    if len(parts) != len(md.topics[tin].partitions):
        return False
    # the position is unknown (negative) until this incarnation consumed from a partition: then
    # the group's committed offset (a predecessor's commit) tells how far it got
    committed = {tp.partition: tp.offset for tp in c.committed(parts, timeout=10)}
    for tp in c.position(parts):
        at = max(tp.offset, committed.get(tp.partition, -1))
        _, high = c.get_watermark_offsets(TopicPartition(tin, tp.partition), timeout=10)
        if at < high:
            return False
    return True


if __name__ == "__main__":
    try:
        sys.exit(main(*sys.argv[1:6]))
    except KafkaException as e:
        print("error %s" % e, flush=True)
        sys.exit(1)
