/*
 * kwoffs — the broker's side of ListOffsets (API 2), versions 0-5 (v6 is flexible): the
 * request decoded into a struct (replica id, isolation level, per topic and partition the
 * timestamp asked for: -1 latest, -2 earliest, else the first record at or after it), and the
 * response encoded from one (v0's old_style_offsets array, v1+'s timestamp and offset, v4+'s
 * leader epoch). A request encoder serves the tests' round trips. Schemas: apache/kafka
 * clients/src/main/resources/common/message/ListOffsets{Request,Response}.json.
 * The decoder distrusts its input: every count is capped (KWIRE_MAX_ITEMS) and checked against
 * the bytes left before anything is allocated; a topic name longer than Kafka's 249 or holding
 * a NUL is kept cut and flagged (answered UNKNOWN_TOPIC_OR_PARTITION). Bytes after the fields
 * of the version are ignored. Pure functions, any thread.
 */
#ifndef SAMSA_KWOFFS_H
#define SAMSA_KWOFFS_H

#include "kwire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rbuf;
struct wbuf;

#define KWOFFS_MAX_VERSION 5

struct kwoffs_part {
	int32_t index;
	int32_t current_leader_epoch; /* v4+, -1 before */
	int64_t timestamp;	      /* -1 latest, -2 earliest */
	int32_t max_num_offsets;      /* v0 only, 1 after */
};

struct kwoffs_topic {
	char name[KWIRE_TOPIC_BUF];
	bool bad; /* longer than the buffer, or a NUL inside */
	int32_t n;
	struct kwoffs_part *parts;
};

struct kwoffs_req {
	int32_t replica_id;
	int8_t isolation_level; /* v2+ */
	int32_t n;		/* topics */
	struct kwoffs_topic *topics;
};

/* Decodes a ListOffsets request body of version ver (0..KWOFFS_MAX_VERSION) from r (positioned
 * after the request header) into *out, which the caller frees with kwoffs_req_free (also after
 * a failure). Returns 0, ERR_PROTO (malformed) or ERR_NOMEM. */
int kwoffs_req_decode(struct rbuf *r, int16_t ver, struct kwoffs_req *out);
void kwoffs_req_free(struct kwoffs_req *q); /* NULL ok; leaves it zeroed */
/* Appends the request body of version ver to w. Returns w's sticky error. */
int kwoffs_req_encode(struct wbuf *w, int16_t ver, const struct kwoffs_req *q);

/* One partition of a response. In v0 the offset goes into old_style_offsets: none when
 * offset < 0 or the partition has an error or max_num_offsets was <= 0 (v0_none). */
struct kwoffs_presp {
	int32_t index;
	int16_t error;
	int64_t timestamp; /* v1+ */
	int64_t offset;
	int32_t leader_epoch; /* v4+ */
	bool v0_none;	      /* v0: an empty old_style_offsets whatever offset says */
};

struct kwoffs_tresp {
	const char *name;
	int32_t n;
	const struct kwoffs_presp *parts;
};

struct kwoffs_resp {
	int32_t throttle_ms; /* v2+ */
	int32_t n;
	const struct kwoffs_tresp *topics;
};

/* Appends the response body of version ver to w. Returns w's sticky error. */
int kwoffs_resp_encode(struct wbuf *w, int16_t ver, const struct kwoffs_resp *m);

#endif
