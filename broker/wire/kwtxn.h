/*
 * kwtxn — the transaction coordinator's APIs (KIP-98), the coordinator's side, versions 0-2 of
 * each (non-flexible; v1 only changes throttling, v2 lets the coordinator answer
 * PRODUCER_FENCED): AddPartitionsToTxn (API 24: a transactional id, its producer id and epoch,
 * partitions by topic), AddOffsetsToTxn (API 25: the same with a group id) and EndTxn (API 26:
 * the same with commit or abort), and their responses (per partition an error; one error).
 * librdkafka 2.x asks v0 of each, kafkajs 2.x v0-1 (its maxima are 1). Schemas: apache/kafka
 * clients/src/main/resources/common/message/{AddPartitionsToTxn,AddOffsetsToTxn,EndTxn}
 * {Request,Response}.json. The decoders distrust their input: every count is capped
 * (KWIRE_MAX_ITEMS) and checked against the bytes left before anything is allocated; the
 * transactional and group ids are copied (at most KWIRE_MAX_STR bytes; a null one or one
 * holding a NUL is refused); a topic name longer than Kafka's 249 or holding a NUL is kept cut
 * and flagged (answered UNKNOWN_TOPIC_OR_PARTITION). Decoded requests own their strings.
 * Bytes after the fields are ignored. TxnOffsetCommit (API 28, v0-3; v2 adds the committed
 * leader epoch, v3 the consumer's generation, member id and group instance id of KIP-447 and is
 * flexible: KIP-482's compact strings and arrays, tagged fields skipped after every structure)
 * is decoded here too for the group coordinator: a transactional id, a group id, the producer
 * id and epoch, per topic and partition an offset and nullable metadata (at most KWIRE_MAX_STR
 * bytes); its response has AddPartitionsToTxn's shape (compact, with empty tagged fields, in
 * v3). Schemas: TxnOffsetCommit{Request,Response}.json beside the others. Pure functions, any
 * thread.
 */
#ifndef SAMSA_KWTXN_H
#define SAMSA_KWTXN_H

#include "kwire.h"

#include <stdbool.h>
#include <stdint.h>

struct rbuf;
struct wbuf;

#define KWTXN_API_ADD_PARTITIONS 24
#define KWTXN_API_ADD_OFFSETS 25
#define KWTXN_API_END 26
#define KWTXN_API_TXN_OFFSET_COMMIT 28
#define KWTXN_MAX_VERSION 2 /* AddPartitionsToTxn, AddOffsetsToTxn, EndTxn */
#define KWTXN_TOC_MAX_VERSION 3 /* TxnOffsetCommit */
#define KWTXN_TOC_FIRST_FLEXIBLE 3

/* A partition's offset of TxnOffsetCommit. */
struct kwtxn_poff {
	int64_t offset;
	int32_t leader_epoch; /* v2+; -1 otherwise */
	uint8_t *meta;	      /* owned; NULL with meta_len -1: null */
	int32_t meta_len;
};

struct kwtxn_topic {
	char name[KWIRE_TOPIC_BUF];
	bool bad; /* decoded: longer than the buffer, or a NUL inside */
	int32_t n;
	int32_t *parts;		/* partition indexes */
	struct kwtxn_poff *offs; /* TxnOffsetCommit: per partition (NULL otherwise) */
};

/* AddPartitionsToTxn, AddOffsetsToTxn, EndTxn and TxnOffsetCommit in one: what each has. */
struct kwtxn_req {
	char *txn_id; /* owned, NUL-terminated */
	int64_t producer_id;
	int16_t producer_epoch;
	int32_t ntopics; /* AddPartitionsToTxn, TxnOffsetCommit */
	struct kwtxn_topic *topics;
	char *group_id; /* AddOffsetsToTxn, TxnOffsetCommit: owned */
	bool commit;	/* EndTxn */
	/* TxnOffsetCommit v3+ (KIP-447), the consumer whose offsets these are; before v3 the
	 * schema's defaults: generation -1, member id NULL (""), instance NULL (null) */
	int32_t generation_id;
	char *member_id;	 /* owned, NUL-terminated; NULL reads as "" */
	char *group_instance_id; /* owned, NUL-terminated; NULL: null */
};

/* Decodes the body of api (one of the four) at version ver (0..KWTXN_MAX_VERSION, TxnOffsetCommit
 * 0..KWTXN_TOC_MAX_VERSION) from r into *out, freed by kwtxn_req_free (also after a failure).
 * 0, ERR_PROTO or ERR_NOMEM. */
int kwtxn_req_decode(struct rbuf *r, int16_t api, int16_t ver, struct kwtxn_req *out);
void kwtxn_req_free(struct kwtxn_req *q);
/* Appends the request body (the client side, tests). w's sticky error, ERR_PROTO for a bad
 * api or version. */
int kwtxn_req_encode(struct wbuf *w, int16_t api, int16_t ver, const struct kwtxn_req *q);

/* AddPartitionsToTxn's and TxnOffsetCommit's answer: per topic of the request, per partition an error. */
struct kwtxn_presult {
	int32_t index;
	int16_t error;
};
struct kwtxn_tresult {
	const char *name;
	int32_t n;
	const struct kwtxn_presult *parts;
};
struct kwtxn_resp {
	int32_t throttle_ms;
	int16_t error;	 /* AddOffsetsToTxn, EndTxn */
	int32_t ntopics; /* AddPartitionsToTxn */
	const struct kwtxn_tresult *topics;
};
/* Appends the response body of api at version ver. w's sticky error, ERR_PROTO. */
int kwtxn_resp_encode(struct wbuf *w, int16_t api, int16_t ver, const struct kwtxn_resp *p);
/* Decodes a response body (tests, the fuzz harness): only throttle and error, and for
 * AddPartitionsToTxn the first partition's error into p->error and the partition count into
 * p->ntopics (topics left NULL). 0 or ERR_PROTO. */
int kwtxn_resp_decode(struct rbuf *r, int16_t api, int16_t ver, struct kwtxn_resp *p);

#endif
