/*
 * kwfetch — the broker's side of Fetch (API 1), versions 4-11 (v12 is flexible): the request
 * decoded into a struct (who fetches, the long poll's max_wait_ms and min_bytes, max_bytes, the
 * session fields, per topic and partition the position asked for, the forgotten topics and the
 * rack), and the response encoded piece by piece: its head, each topic's head, each
 * partition's fields up to the length of its records, whose bytes the caller appends itself
 * (file ranges of the segments, sent with sendfile; the codec never sees them). A request
 * encoder serves the tests' round trips. Schemas: apache/kafka
 * clients/src/main/resources/common/message/Fetch{Request,Response}.json. The client side of
 * Fetch v11 (a follower's) is kfw's.
 * The decoder distrusts its input: every count is capped (KWIRE_MAX_ITEMS) and checked against
 * the bytes left before anything is allocated; a topic name longer than Kafka's 249 or holding
 * a NUL is kept cut and flagged (answered UNKNOWN_TOPIC_OR_PARTITION); the whole request,
 * forgotten topics and rack included, must be there. Bytes after the fields of the version are
 * ignored. Pure functions, any thread.
 */
#ifndef SAMSA_KWFETCH_H
#define SAMSA_KWFETCH_H

#include "kwire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rbuf;
struct wbuf;

#define KWFETCH_MIN_VERSION 4
#define KWFETCH_MAX_VERSION 11
#define KWFETCH_RACK_BUF 256 /* a longer rack id is kept cut (it is not used) */

struct kwfetch_part {
	int32_t partition;
	int32_t current_leader_epoch; /* v9+, -1 before */
	int64_t fetch_offset;
	int64_t log_start;	      /* v5+ (a follower's), -1 before */
	int32_t max_bytes;
};

struct kwfetch_topic {
	char name[KWIRE_TOPIC_BUF];
	bool bad; /* longer than the buffer, or a NUL inside */
	int32_t n;
	struct kwfetch_part *parts;
};

/* A forgotten topic (v7+): its partitions' indexes. */
struct kwfetch_forgot {
	char name[KWIRE_TOPIC_BUF];
	bool bad;
	int32_t n;
	int32_t *parts;
};

struct kwfetch_req {
	int32_t replica_id; /* a follower's broker id; -1 for a consumer */
	int32_t max_wait_ms;
	int32_t min_bytes;
	int32_t max_bytes;
	int8_t isolation_level;
	int32_t session_id, session_epoch; /* v7+; 0 and -1 before */
	int32_t n;			   /* topics */
	struct kwfetch_topic *topics;
	size_t nparts; /* partitions of all topics together */
	int32_t nforgot; /* v7+ (a null list decodes as 0) */
	struct kwfetch_forgot *forgot;
	char rack[KWFETCH_RACK_BUF]; /* v11+ */
};

/* Decodes a Fetch request body of version ver (KWFETCH_MIN_VERSION..KWFETCH_MAX_VERSION) from r
 * (positioned after the request header) into *out, which the caller frees with
 * kwfetch_req_free (also after a failure). Returns 0, ERR_PROTO (malformed) or ERR_NOMEM. */
int kwfetch_req_decode(struct rbuf *r, int16_t ver, struct kwfetch_req *out);
void kwfetch_req_free(struct kwfetch_req *q); /* NULL ok; leaves it zeroed */
/* Appends the request body of version ver to w. Returns w's sticky error. */
int kwfetch_req_encode(struct wbuf *w, int16_t ver, const struct kwfetch_req *q);

/* An aborted transaction of a read_committed answer (KIP-98). */
struct kwfetch_aborted {
	int64_t producer_id;
	int64_t first_offset;
};

/* One partition of a response, up to its records. The aborted transactions are null unless
 * has_aborted (a read_committed fetch: Kafka sends null to read_uncommitted ones); no
 * preferred read replica (-1): samsa has none. */
struct kwfetch_presp {
	int32_t partition;
	int16_t error;
	int64_t high_watermark;
	int64_t last_stable_offset;
	int64_t log_start; /* v5+ */
	bool has_aborted;
	int32_t n_aborted;
	const struct kwfetch_aborted *aborted;
	int32_t records_len; /* the bytes the caller appends right after; 0: none */
};

/* The response's head: throttle_time_ms, (v7+) error_code and session_id, the topic count. */
int kwfetch_resp_head(struct wbuf *w, int16_t ver, int32_t throttle_ms, int16_t error, int32_t session_id,
		      int32_t ntopics);
/* A topic's head: its name and partition count; its partitions follow. */
int kwfetch_resp_topic(struct wbuf *w, int16_t ver, const char *name, int32_t nparts);
/* A partition's fields, ending with the length of its records field (p->records_len), whose
 * bytes the caller appends next. Each returns w's sticky error. */
int kwfetch_resp_part(struct wbuf *w, int16_t ver, const struct kwfetch_presp *p);

#endif
