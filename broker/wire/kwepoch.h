/*
 * kwepoch — the broker's side of OffsetForLeaderEpoch (API 23, KIP-101/KIP-279/KIP-320),
 * versions 0-3 (v4 is flexible): the request decoded into a struct (v3's replica id, per topic
 * and partition v2+'s current leader epoch and the epoch whose end offset is asked for), the
 * response encoded from one (per partition its error and end offset, v1+'s leader epoch, v2+'s
 * throttle_time_ms). A request encoder serves the tests' round trips. Schemas: apache/kafka
 * clients/src/main/resources/common/message/OffsetForLeaderEpoch{Request,Response}.json.
 * The decoder distrusts its input: every count is capped (KWIRE_MAX_ITEMS) and checked against
 * the bytes left before anything is allocated; a topic name longer than Kafka's 249 or holding
 * a NUL is kept cut and flagged (answered UNKNOWN_TOPIC_OR_PARTITION). Bytes after the fields
 * of the version are ignored. (kfw is the follower's, client, side of v3.) Pure functions,
 * any thread.
 */
#ifndef SAMSA_KWEPOCH_H
#define SAMSA_KWEPOCH_H

#include "kwire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rbuf;
struct wbuf;

#define KWEPOCH_MAX_VERSION 3

struct kwepoch_part {
	int32_t index;
	int32_t current_leader_epoch; /* v2+, -1 before */
	int32_t leader_epoch;	      /* the epoch whose end offset is asked for */
};

struct kwepoch_topic {
	char name[KWIRE_TOPIC_BUF];
	bool bad; /* longer than the buffer, or a NUL inside */
	int32_t n;
	struct kwepoch_part *parts;
};

struct kwepoch_req {
	int32_t replica_id; /* v3+, -1 before */
	int32_t n;	    /* topics */
	struct kwepoch_topic *topics;
};

/* Decodes an OffsetForLeaderEpoch request body of version ver (0..KWEPOCH_MAX_VERSION) from r
 * (positioned after the request header) into *out, which the caller frees with
 * kwepoch_req_free (also after a failure). Returns 0, ERR_PROTO (malformed) or ERR_NOMEM. */
int kwepoch_req_decode(struct rbuf *r, int16_t ver, struct kwepoch_req *out);
void kwepoch_req_free(struct kwepoch_req *q); /* NULL ok; leaves it zeroed */
/* Appends the request body of version ver to w. Returns w's sticky error. */
int kwepoch_req_encode(struct wbuf *w, int16_t ver, const struct kwepoch_req *q);

struct kwepoch_presp {
	int16_t error;
	int32_t index;
	int32_t leader_epoch; /* v1+ */
	int64_t end_offset;
};

struct kwepoch_tresp {
	const char *name;
	int32_t n;
	const struct kwepoch_presp *parts;
};

struct kwepoch_resp {
	int32_t throttle_ms; /* v2+ */
	int32_t n;
	const struct kwepoch_tresp *topics;
};

/* Appends the response body of version ver to w. Returns w's sticky error. */
int kwepoch_resp_encode(struct wbuf *w, int16_t ver, const struct kwepoch_resp *m);

#endif
