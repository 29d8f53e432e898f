/*
 * kwpid — InitProducerId (API 22), both sides, versions 0-4: the request a producer sends to get
 * a producer id and epoch (KIP-98; a transactional producer sends its transactional id, an
 * idempotent one a null). v0-1 are identical; v2 is flexible (KIP-482: compact strings, tagged
 * fields); v3 adds the producer id and epoch a producer already holds (KIP-360, to bump its
 * epoch); v4 only lets the broker answer PRODUCER_FENCED. Schemas: apache/kafka
 * clients/src/main/resources/common/message/InitProducerId{Request,Response}.json.
 * The decoder distrusts its input: the transactional id is capped at KWIRE_MAX_STR and must not
 * hold a NUL; tagged fields are skipped within the bytes left. Pure functions, any thread.
 */
#ifndef SAMSA_KWPID_H
#define SAMSA_KWPID_H

#include <stdbool.h>
#include <stdint.h>

struct rbuf;
struct wbuf;

#define KWPID_API 22
#define KWPID_MAX_VERSION 4
#define KWPID_FIRST_FLEXIBLE 2

/* A decoded request; txn_id points into the request bytes (NULL with txn_id_len -1: null). */
struct kwpid_req {
	const uint8_t *txn_id;
	int32_t txn_id_len;
	int32_t txn_timeout_ms;
	int64_t producer_id;	/* v3+; -1 otherwise */
	int16_t producer_epoch; /* v3+; -1 otherwise */
};

/* Decodes the body at version ver (0..KWPID_MAX_VERSION) from r (after the request header).
 * 0, or ERR_PROTO (malformed, a NUL in the id); *out is filled on 0. */
int kwpid_req_decode(struct rbuf *r, int16_t ver, struct kwpid_req *out);
/* Appends the request body (the client side, tests); w's sticky error. */
int kwpid_req_encode(struct wbuf *w, int16_t ver, const struct kwpid_req *q);

struct kwpid_resp {
	int32_t throttle_ms;
	int16_t error;
	int64_t producer_id;
	int16_t producer_epoch;
};
/* Appends the response body at version ver; w's sticky error. */
int kwpid_resp_encode(struct wbuf *w, int16_t ver, const struct kwpid_resp *p);
/* Decodes a response body (the client side, tests): 0 or ERR_PROTO. */
int kwpid_resp_decode(struct rbuf *r, int16_t ver, struct kwpid_resp *out);

#endif
