/*
 * kwprod — the broker's side of Produce (API 0), versions 3-8 (v9 is flexible): the request
 * decoded into a struct (transactional id, acks, timeout, and per topic and partition the
 * records field as a slice of the request frame, not copied: the handler validates the batches
 * with kbatch and appends them in place), and the response encoded from one. A request encoder
 * serves the tests' round trips. Schemas: apache/kafka
 * clients/src/main/resources/common/message/Produce{Request,Response}.json.
 * The decoder distrusts its input: every count is capped (KWIRE_MAX_ITEMS) and checked against
 * the bytes left before anything is allocated, a records field is bounded by the frame, and a
 * topic name longer than Kafka's 249 or holding a NUL is kept cut and flagged (the broker then
 * answers its partitions UNKNOWN_TOPIC_OR_PARTITION). Bytes after the fields of the version are
 * ignored. Pure functions, any thread.
 */
#ifndef SAMSA_KWPROD_H
#define SAMSA_KWPROD_H

#include "kwire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rbuf;
struct wbuf;

#define KWPROD_MIN_VERSION 3
#define KWPROD_MAX_VERSION 8
/* The transactional id's buffer (longer ids are kept cut: the broker refuses transactional
 * batches whatever the id says). */
#define KWPROD_TXN_BUF 256

struct kwprod_part {
	int32_t index;
	const uint8_t *records; /* into the decoded bytes; NULL when null */
	int32_t len;		/* -1: null */
};

struct kwprod_topic {
	char name[KWIRE_TOPIC_BUF];
	bool bad; /* longer than the buffer, or a NUL inside */
	int32_t n;
	struct kwprod_part *parts;
};

struct kwprod_req {
	char txn[KWPROD_TXN_BUF];
	bool txn_null;
	int16_t acks;
	int32_t timeout_ms;
	int32_t n; /* topics */
	struct kwprod_topic *topics;
	size_t nparts; /* partitions of all topics together */
};

/* Decodes a Produce request body of version ver (KWPROD_MIN_VERSION..KWPROD_MAX_VERSION) from r
 * (positioned after the request header) into *out, which the caller frees with kwprod_req_free
 * (also after a failure). The records slices point into r's bytes: valid while they are.
 * Returns 0, ERR_PROTO (malformed) or ERR_NOMEM. */
int kwprod_req_decode(struct rbuf *r, int16_t ver, struct kwprod_req *out);
void kwprod_req_free(struct kwprod_req *q); /* NULL ok; leaves it zeroed */
/* Appends the request body of version ver to w. Returns w's sticky error. */
int kwprod_req_encode(struct wbuf *w, int16_t ver, const struct kwprod_req *q);

/* One partition of a response; error_message (v8) NULL: none. No record_errors are sent. */
struct kwprod_presp {
	int32_t index;
	int16_t error;
	int64_t base_offset;
	int64_t log_append_time; /* -1: CreateTime */
	int64_t log_start;	 /* v5+ */
	const char *msg;	 /* v8+ */
};

struct kwprod_tresp {
	const char *name;
	int32_t n;
	const struct kwprod_presp *parts;
};

/* A Produce response body; the pointers are the caller's. */
struct kwprod_resp {
	int32_t n;
	const struct kwprod_tresp *topics;
	int32_t throttle_ms;
};

/* Appends the response body of version ver to w. Returns w's sticky error. */
int kwprod_resp_encode(struct wbuf *w, int16_t ver, const struct kwprod_resp *m);

#endif
