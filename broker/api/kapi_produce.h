/*
 * kapi_produce — Produce (API 0, v3-8): each partition's record batches are checked (format
 * v2, CRC, max.message.bytes, no transactions) and appended through the replica manager
 * (krm_append). The response leaves at once (acks=1), never (acks=0), after the fsync that the
 * log's flush policy promises (STYLE rule 7: durable, then acknowledged), and for acks=all once
 * the ISR has every batch (held in the replica manager's purgatory; REQUEST_TIMED_OUT or
 * NOT_ENOUGH_REPLICAS from there). It owns the Produce responses held for an fsync
 * (b->flush_waits) and in the purgatory (b->prod_waits). Loop thread.
 */
#ifndef SAMSA_KAPI_PRODUCE_H
#define SAMSA_KAPI_PRODUCE_H

#include <stdint.h>

struct broker;
struct klog;
struct kconn;
struct kout;
struct kreq;
struct kresp;

/* Handles q, answered into slot resp. Returns 0 (answered in o; resp->holds > 0 when it also
 * waits for an fsync), 1 (acks=0: no response), 2 (held in the purgatory: the response is
 * written into resp when the ISR has every acks=all partition), or < 0 (malformed). */
int kapi_produce_request(struct broker *b, struct kreq *q, struct kout *o, struct kresp *resp);
/* klog_flushed_cb of every partition log (arg: the broker): releases the Produce responses
 * that waited for that fsync. */
void kapi_produce_flushed(struct klog *l, int64_t offset, void *arg);
/* Connection c is closing: forgets its responses waiting for an fsync or in the purgatory
 * (the fsync still runs; the records stay appended and replicate). */
void kapi_produce_conn_gone(struct kconn *c);

#endif
