/*
 * kwctrl — the controller's side of the two requests the broker serves there, both ways:
 * ControlledShutdown (API 7, v1-2; v0 has a request header without client id and is not
 * served) and ElectLeaders (API 43, v0-1; KIP-183, KIP-460), all non-flexible. ControlledShutdown
 * v2 adds the broker epoch; ElectLeaders v1 adds the election type to the request and a
 * top-level error code to the response. (kelect is the other side of ElectLeaders v1: the
 * leader-election tool's client.) Schemas: apache/kafka
 * clients/src/main/resources/common/message/{ControlledShutdown,ElectLeaders}{Request,Response}.json.
 *
 * The decoders distrust their input: every count is capped at KWIRE_MAX_ITEMS (ElectLeaders'
 * partitions all topics together) and checked against the bytes left before anything is
 * allocated; a topic name too long for KWIRE_TOPIC_BUF (over 250 characters, one more than
 * Kafka's 249) or holding a NUL is kept cut and flagged (bad) for the controller to answer
 * UNKNOWN_TOPIC_OR_PARTITION. The decoded request
 * owns its memory (it outlives the frame: a waiting request keeps it in its kwait). Pure
 * functions, any thread.
 */
#ifndef SAMSA_KWCTRL_H
#define SAMSA_KWCTRL_H

#include "kwire.h"

#include <stdbool.h>
#include <stdint.h>

struct rbuf;
struct wbuf;

#define KWCTRL_API_SHUTDOWN 7
#define KWCTRL_API_ELECT 43
#define KWCTRL_SHUTDOWN_MIN_VERSION 1
#define KWCTRL_SHUTDOWN_MAX_VERSION 2
#define KWCTRL_ELECT_MAX_VERSION 1

/* ---- ControlledShutdown ---- */

struct kwctrl_cs_req {
	int32_t broker_id;
	int64_t broker_epoch; /* v2; -1 otherwise */
};
/* Decodes the body at version ver (KWCTRL_SHUTDOWN_MIN_VERSION..MAX): 0 or ERR_PROTO. */
int kwctrl_cs_req_decode(struct rbuf *r, int16_t ver, struct kwctrl_cs_req *out);
/* Appends the request body (the client side, tests); w's sticky error. */
int kwctrl_cs_req_encode(struct wbuf *w, int16_t ver, const struct kwctrl_cs_req *q);

struct kwctrl_tp {
	const char *topic;
	int32_t partition;
};
struct kwctrl_cs_resp {
	int16_t error;
	int32_t n;
	struct kwctrl_tp *remaining; /* the partitions the broker still leads */
};
/* Appends the response body (the same in v1 and v2); w's sticky error. */
int kwctrl_cs_resp_encode(struct wbuf *w, const struct kwctrl_cs_resp *p);
/* Decodes a response body (the client side, tests) into copies of its topics: 0, ERR_PROTO or
 * ERR_NOMEM; kwctrl_cs_resp_free frees it (also after a failure). */
int kwctrl_cs_resp_decode(struct rbuf *r, struct kwctrl_cs_resp *out);
void kwctrl_cs_resp_free(struct kwctrl_cs_resp *p);

/* ---- ElectLeaders ---- */

struct kwctrl_el_topic {
	char name[KWIRE_TOPIC_BUF];
	bool bad; /* too long for name or holding a NUL (name holds a cut copy) */
	int32_t n;
	int32_t *parts;
};
struct kwctrl_el_req {
	int8_t type;	/* v1: 0 preferred, 1 unclean; v0: 0 */
	int32_t n;	/* -1: null (every partition) */
	struct kwctrl_el_topic *topics;
	int32_t timeout_ms;
};
/* Decodes the body at version ver (0..KWCTRL_ELECT_MAX_VERSION): 0, ERR_PROTO (also an election
 * type other than 0 and 1) or ERR_NOMEM; on an error *out is freed and empty. */
int kwctrl_el_req_decode(struct rbuf *r, int16_t ver, struct kwctrl_el_req *out);
/* Appends the request body (the client side, tests); w's sticky error. */
int kwctrl_el_req_encode(struct wbuf *w, int16_t ver, const struct kwctrl_el_req *q);
void kwctrl_el_req_free(struct kwctrl_el_req *q);

struct kwctrl_el_presp {
	int32_t partition;
	int16_t error;
	const char *message; /* NULL: null */
};
struct kwctrl_el_tresp {
	const char *topic;
	int32_t n;
	struct kwctrl_el_presp *parts;
};
struct kwctrl_el_resp {
	int32_t throttle_ms;
	int16_t error; /* v1 */
	int32_t n;
	struct kwctrl_el_tresp *topics;
};
/* Appends the response body at version ver; w's sticky error. */
int kwctrl_el_resp_encode(struct wbuf *w, int16_t ver, const struct kwctrl_el_resp *p);
/* Decodes a response body (the client side, tests) into copies of its strings: 0, ERR_PROTO or
 * ERR_NOMEM; kwctrl_el_resp_free frees it (also after a failure). */
int kwctrl_el_resp_decode(struct rbuf *r, int16_t ver, struct kwctrl_el_resp *out);
void kwctrl_el_resp_free(struct kwctrl_el_resp *p);

#endif
