/*
 * ktxnrec — the records of __transaction_state, exactly as Kafka writes them
 * (TransactionLog.keyToBytes / valueToBytes; schemas apache/kafka
 * core/src/main/resources/common/message/TransactionLog{Key,Value}.json):
 *   key:   int16 version (0), transactional_id STRING;
 *   value: int16 version, producer_id int64, producer_epoch int16, transaction_timeout_ms
 *          int32, transaction_status int8 (ktxnstate's codes), transaction_partitions
 *          nullable [topic STRING, partition_ids [int32]], transaction_last_update_timestamp_ms
 *          int64, transaction_start_timestamp_ms int64.
 * Version 0 is written (what Kafka 2.x-3.x brokers write and read); version 1 (flexible:
 * compact strings and arrays, tagged fields after each struct) is read too. A null value is
 * a tombstone (the transactional id expired). The decoders distrust their input (these bytes
 * come from a disk and from other brokers' appends): every count is capped and checked
 * against the bytes left before anything is allocated, strings are capped, a status out of
 * range or a topic name holding a NUL is refused. Bytes after the fields are ignored (Kafka
 * reads only its fields too). Pure functions, any thread.
 */
#ifndef SAMSA_KTXNREC_H
#define SAMSA_KTXNREC_H

#include <stddef.h>
#include <stdint.h>

struct wbuf;

#define KTXNREC_KEY_VERSION 0
#define KTXNREC_VALUE_VERSION 0
#define KTXNREC_MAX_ID 32767	 /* a transactional id's bytes */
#define KTXNREC_MAX_TOPIC 249	 /* Kafka's longest topic name */
#define KTXNREC_MAX_ITEMS 100000 /* topics, and partitions per topic */

/* The partitions of a transaction: topics with their partition ids (one topic once). */
struct ktxnrec_topic {
	char *name; /* NUL-terminated, owned */
	int32_t n;
	int32_t *parts; /* owned */
};

struct ktxnrec_value {
	int64_t producer_id;
	int16_t producer_epoch;
	int32_t timeout_ms;
	int8_t status;	 /* enum ktxnstate */
	int32_t ntopics; /* -1: null (Kafka writes null for Empty) */
	struct ktxnrec_topic *topics;
	int64_t last_update_ms;
	int64_t start_ms;
};

/* Appends the key of transactional id id[0..len) to w: w's sticky error. */
int ktxnrec_key_encode(struct wbuf *w, const uint8_t *id, size_t len);
/* Decodes a key: 0 with *id pointing into p (*len bytes, no NUL inside); ERR_PROTO for a
 * version other than 0 (not a transaction record: Kafka skips those too) or a malformed key. */
int ktxnrec_key_decode(const uint8_t *p, size_t plen, const uint8_t **id, size_t *len);

/* Appends the value v at version KTXNREC_VALUE_VERSION to w (topic names written up to their
 * NUL): w's sticky error. */
int ktxnrec_value_encode(struct wbuf *w, const struct ktxnrec_value *v);
/* Decodes a value of version 0 or 1 into *v, which the caller frees with ktxnrec_value_free
 * (also after a failure). 0, ERR_PROTO (malformed, unknown version, bad status) or ERR_NOMEM. */
int ktxnrec_value_decode(const uint8_t *p, size_t plen, struct ktxnrec_value *v);
/* Frees what ktxnrec_value_decode allocated; NULL ok; leaves it with no topics. */
void ktxnrec_value_free(struct ktxnrec_value *v);

#endif
