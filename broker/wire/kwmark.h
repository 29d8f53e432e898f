/*
 * kwmark — WriteTxnMarkers (API 27, KIP-98), both sides, versions 0-1: the request a
 * transaction coordinator sends to the leaders of a transaction's partitions to end it (per
 * marker a producer id and epoch, commit or abort, the coordinator's epoch and the partitions
 * by topic), and the leaders' answer (per marker the producer id, per partition an error).
 * v1 is flexible (KIP-482: compact strings and arrays, tagged fields); neither version has a
 * throttle time. Schemas: apache/kafka clients/src/main/resources/common/message/
 * WriteTxnMarkers{Request,Response}.json. The coordinator encodes requests and decodes
 * responses, a partition leader the reverse. The decoders distrust their input: every count is
 * capped (KWIRE_MAX_ITEMS) and checked against the bytes left before anything is allocated; a
 * topic name longer than Kafka's 249 or holding a NUL is kept cut and flagged (answered
 * UNKNOWN_TOPIC_OR_PARTITION); a null name or array is refused. Bytes after the fields of the
 * version are ignored. Pure functions, any thread.
 */
#ifndef SAMSA_KWMARK_H
#define SAMSA_KWMARK_H

#include "kwire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rbuf;
struct wbuf;

#define KWMARK_API 27
#define KWMARK_MAX_VERSION 1
#define KWMARK_FIRST_FLEXIBLE 1

struct kwmark_topic {
	char name[KWIRE_TOPIC_BUF];
	bool bad; /* decoded: longer than the buffer, or a NUL inside */
	int32_t n;
	int32_t *parts; /* partition indexes */
};

struct kwmark_marker {
	int64_t producer_id;
	int16_t producer_epoch;
	bool commit; /* the transaction result: true commit, false abort */
	int32_t n;
	struct kwmark_topic *topics;
	int32_t coordinator_epoch;
};

struct kwmark_req {
	int32_t n;
	struct kwmark_marker *markers;
};

/* Decodes a request body of version ver (0..KWMARK_MAX_VERSION) from r (positioned after the
 * request header) into *out, which the caller frees with kwmark_req_free (also after a
 * failure). Returns 0, ERR_PROTO (malformed, unknown version) or ERR_NOMEM. */
int kwmark_req_decode(struct rbuf *r, int16_t ver, struct kwmark_req *out);
/* Frees what kwmark_req_decode allocated (not for a request the caller built); NULL ok; leaves
 * it zeroed. */
void kwmark_req_free(struct kwmark_req *q);
/* Appends the request body of version ver to w (names are written up to their NUL). Returns
 * w's sticky error, or ERR_PROTO for an unknown version. */
int kwmark_req_encode(struct wbuf *w, int16_t ver, const struct kwmark_req *q);

struct kwmark_presult {
	int32_t index;
	int16_t error;
};

struct kwmark_tresult {
	char name[KWIRE_TOPIC_BUF];
	bool bad; /* decoded: longer than the buffer, or a NUL inside */
	int32_t n;
	struct kwmark_presult *parts;
};

struct kwmark_mresult {
	int64_t producer_id;
	int32_t n;
	struct kwmark_tresult *topics;
};

struct kwmark_resp {
	int32_t n;
	struct kwmark_mresult *markers;
};

/* Decodes a response body of version ver into *out, freed by kwmark_resp_free (also after a
 * failure). Returns 0, ERR_PROTO or ERR_NOMEM. */
int kwmark_resp_decode(struct rbuf *r, int16_t ver, struct kwmark_resp *out);
/* Frees what kwmark_resp_decode allocated; NULL ok; leaves it zeroed. */
void kwmark_resp_free(struct kwmark_resp *p);
/* Appends the response body of version ver to w. Returns w's sticky error, or ERR_PROTO. */
int kwmark_resp_encode(struct wbuf *w, int16_t ver, const struct kwmark_resp *p);

#endif
