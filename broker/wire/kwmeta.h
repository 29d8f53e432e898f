/*
 * kwmeta — the broker's side of Metadata (API 3), versions 0-8 (v9 is flexible): the request
 * decoded into a struct (the topics asked for, allow_auto_topic_creation, the v8 operation
 * flags), and the response encoded from one. A request encoder serves the tests' round trips.
 * Schemas: apache/kafka clients/src/main/resources/common/message/Metadata{Request,Response}.json.
 * The decoder distrusts its input: the topic count is capped (KWIRE_MAX_ITEMS) and checked
 * against the bytes left before anything is allocated; a name longer than Kafka's 249 or holding
 * a NUL is kept cut and flagged, so the broker can answer it as INVALID_TOPIC_EXCEPTION. Bytes
 * after the fields of the version are ignored, as before. Pure functions, any thread.
 */
#ifndef SAMSA_KWMETA_H
#define SAMSA_KWMETA_H

#include "kwire.h"

#include <stdbool.h>
#include <stdint.h>

struct rbuf;
struct wbuf;

#define KWMETA_MAX_VERSION 8

struct kwmeta_req_topic {
	char name[KWIRE_TOPIC_BUF];
	bool bad; /* longer than the buffer, or a NUL inside */
};

struct kwmeta_req {
	bool all;   /* every topic: a null list (v1+) or an empty one (v0) */
	int32_t n;  /* the topics named (0 when all) */
	struct kwmeta_req_topic *topics;
	bool allow_auto; /* allow_auto_topic_creation, v4+ (true before) */
	bool cluster_ops, topic_ops; /* include_*_authorized_operations, v8 */
};

/* Decodes a Metadata request body of version ver (0..KWMETA_MAX_VERSION) from r (positioned
 * after the request header) into *out, which the caller frees with kwmeta_req_free (also after
 * a failure). Returns 0, ERR_PROTO (malformed) or ERR_NOMEM. */
int kwmeta_req_decode(struct rbuf *r, int16_t ver, struct kwmeta_req *out);
void kwmeta_req_free(struct kwmeta_req *q); /* NULL ok; leaves it zeroed */
/* Appends the request body of version ver to w (a null list for all, in v0 an empty one).
 * Returns w's sticky error. */
int kwmeta_req_encode(struct wbuf *w, int16_t ver, const struct kwmeta_req *q);

struct kwmeta_broker {
	int32_t id;
	const char *host;
	int32_t port;
	const char *rack; /* NULL: none (v1+) */
};

struct kwmeta_part {
	int16_t error;
	int32_t id;
	int32_t leader;
	int32_t leader_epoch; /* v7+ */
	int32_t nrep, nisr, noff;
	const int32_t *replicas, *isr, *offline; /* offline: v5+ */
};

struct kwmeta_topic {
	int16_t error;
	const char *name;
	bool internal; /* v1+ */
	int32_t nparts;
	const struct kwmeta_part *parts;
};

/* A Metadata response body; the pointers are the caller's. */
struct kwmeta_resp {
	int32_t throttle_ms; /* v3+ */
	int32_t nbrokers;
	const struct kwmeta_broker *brokers;
	const char *cluster_id; /* v2+, NULL: none */
	int32_t controller_id;	/* v1+ */
	int32_t ntopics;
	const struct kwmeta_topic *topics;
};

/* Appends the response body of version ver to w (authorized operations, v8: INT32_MIN, not
 * asked). Returns w's sticky error. */
int kwmeta_resp_encode(struct wbuf *w, int16_t ver, const struct kwmeta_resp *m);

#endif
