/*
 * kapi_txn — the transaction coordinator's APIs on the listener (KIP-98): InitProducerId with a
 * transactional id (kapi_pid hands those here), AddPartitionsToTxn, AddOffsetsToTxn and EndTxn
 * v0-2, decoded (broker/wire's kwpid, kwtxn), authorized as Kafka's KafkaApis authorizes them
 * (WRITE on the transactional id; AddPartitionsToTxn WRITE on each topic, whose refusal or an
 * unknown partition answers those partitions and OPERATION_NOT_ATTEMPTED for the others
 * without asking the coordinator; AddOffsetsToTxn READ on the group, which adds the group's
 * __consumer_offsets partition), then handed to the coordinator's core (kb_txns) with the
 * request's waiting slot (kwait) as token; the core's answer (kapi_txn_reply) fills it and the
 * next pass writes the response. PRODUCER_FENCED is answered INVALID_PRODUCER_EPOCH to the
 * versions before it existed (AddPartitionsToTxn, AddOffsetsToTxn and EndTxn v0-1,
 * InitProducerId v0-3), as Kafka does. An InitProducerId first makes sure the broker's producer
 * id block has an id left (claiming the next block, kb_pid) so that the core can take one at
 * once. TxnOffsetCommit goes to the group coordinator (kgroup's transactional offsets). The
 * loop thread runs all of it.
 */
#ifndef SAMSA_KAPI_TXN_H
#define SAMSA_KAPI_TXN_H

#include <stdbool.h>

struct broker;
struct kreq;
struct kout;
struct kwait;
struct kwpid_req;
struct ktxn_answer;

/* AddPartitionsToTxn, AddOffsetsToTxn, EndTxn: an admin handler (kapi's API_KIND_ADMIN). */
int kapi_txn_request(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first, bool final);
/* InitProducerId with a transactional id: from kapi_pid_init, on the first pass with the
 * decoded request rq, on later passes (w->priv is then this module's) with rq NULL. Returns as
 * an admin handler does. */
int kapi_txn_init_pid(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, const struct kwpid_req *rq);
/* TxnOffsetCommit (v0-3; v3, flexible, names the consumer whose offsets these are, whose
 * member id and generation the group coordinator checks, KIP-447), an admin handler: the group
 * coordinator appends the offsets to the
 * group's offsets partition as the producer's transactional batch and the answer waits until
 * it is replicated; they are pending until the marker of the producer's transaction reaches
 * that partition (kapi_mark calls kb_groups_txn_marker), or one is met when a new coordinator
 * loads the partition. */
int kapi_txn_offset_commit(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first, bool final);
/* The core's answer to token (kb_txns_reply_fn). */
void kapi_txn_reply(struct broker *b, void *token, const struct ktxn_answer *a);

#endif
