/*
 * kapi_mark — WriteTxnMarkers (API 27, KIP-98, v0-1 as Kafka 2.8/3.x), the partition leader's
 * side of ending a transaction: for each marker and each of its partitions this broker leads,
 * a control batch (commit or abort) is appended as acks=all through the replica manager
 * (krm_append_marker: producer epoch and coordinator epoch checked), and the request is
 * answered once every partition's marker is in its ISR (or failed). Authorized by
 * CLUSTER_ACTION on the cluster, as Kafka: only brokers (the transaction coordinator) send it.
 * The bytes are kwmark's.
 */
#ifndef SAMSA_KAPI_MARK_H
#define SAMSA_KAPI_MARK_H

#include <stdbool.h>

struct broker;
struct kout;
struct kreq;
struct kwait;

/* An admin-kind handler (kapi.c): the first pass decodes and appends every marker (the request
 * kept decoded in the kwait's priv, counted pending while a marker waits for its ISR); a later
 * pass answers once nothing is pending. */
int kapi_mark_write(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first, bool final);

#endif
