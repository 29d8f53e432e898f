"""A consume-transform-produce application with transactions (confluent-kafka), for test_kb_txn:
reads IN partition 0 from its group's committed offset, writes each value to OUT in
transactions of at most BATCH records whose input offsets commit with them
(send_offsets_to_transaction), until it finds nothing more to read for 2 s; then prints "done".
Killed at any point and started again, a read_committed reader of OUT must see every input
exactly once.
    txn_ctp_app.py BOOTSTRAP IN OUT GROUP TRANSACTIONAL_ID BATCH"""
import sys

import confluent_kafka


def main(bootstrap, tin, tout, group, txn_id, batch):
    p = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id})
    # first: a previous instance's open transaction is aborted, or its commit completed, before
    # this one reads the group's committed offset
    p.init_transactions(60)
    c = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                                  "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
    c.assign([confluent_kafka.TopicPartition(tin, 0)])
    idle = 0
    while idle < 4:
        msgs = [m for m in c.consume(batch, 0.5) if not m.error()]
        if not msgs:
            idle += 1
            continue
        idle = 0
        p.begin_transaction()
        for m in msgs:
            p.produce(tout, m.value(), partition=0)
        p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), 30)
        p.commit_transaction(60)
        print("committed %d" % msgs[-1].offset(), flush=True)
    c.close()
    print("done", flush=True)


if __name__ == "__main__":
    a = sys.argv[1:]
    main(a[0], a[1], a[2], a[3], a[4], int(a[5]))
