/*
 * kwadmin — the broker's side of the topic admin requests: CreateTopics (API 19) v0-4,
 * DeleteTopics (API 20) v0-3 and CreatePartitions (API 37) v0-1, the versions the broker serves
 * (none of them flexible: CreateTopics is from v5, DeleteTopics from v4, CreatePartitions from
 * v2). Requests are decoded into structs (per topic its name, its partition count or
 * replication factor or explicit replica assignment, its configs; the timeout and
 * validate_only), responses encoded from one (per topic its name, error and message). Request
 * encoders serve the tests' round trips. Schemas: apache/kafka clients/src/main/resources/
 * common/message/{CreateTopics,DeleteTopics,CreatePartitions}{Request,Response}.json.
 * The decoders distrust their input: every count is capped (KWIRE_MAX_ITEMS) and checked
 * against the bytes left before anything is allocated, every string at KWIRE_MAX_STR; a topic
 * name longer than Kafka's 249 or holding a NUL is kept cut and flagged (bad), which the handler
 * refuses. A request is decoded whole or refused whole, so nothing is acted on from a request
 * that turns out malformed. Bytes after the fields of the version are ignored. Pure functions,
 * any thread.
 */
#ifndef SAMSA_KWADMIN_H
#define SAMSA_KWADMIN_H

#include "kwire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rbuf;
struct wbuf;

#define KWADMIN_CT_API 19
#define KWADMIN_DT_API 20
#define KWADMIN_CP_API 37
#define KWADMIN_CT_MAX_VERSION 4
#define KWADMIN_DT_MAX_VERSION 3
#define KWADMIN_CP_MAX_VERSION 1

/* A topic name as read: NUL-terminated, cut and flagged when longer than Kafka's 249 or holding
 * a NUL. A null name reads as "" (not flagged: the name rules refuse it). */
struct kwadmin_name {
	char name[KWIRE_TOPIC_BUF];
	bool bad;
};

/* One partition's replicas: CreateTopics says its index, CreatePartitions gives them in order
 * of the new partitions (index is then its position). */
struct kwadmin_assign {
	int32_t index;
	int32_t n;
	int32_t *ids;
};

/* A config entry of CreateTopics; NULL name or value: null on the wire. */
struct kwadmin_conf {
	char *name;
	char *value;
};

struct kwadmin_ct_topic {
	struct kwadmin_name name;
	int32_t nparts; /* -1: the broker's default (or set by an assignment) */
	int16_t rf;	/* -1: likewise */
	int32_t nassign; /* -1: null */
	struct kwadmin_assign *assign;
	int32_t nconf; /* -1: null */
	struct kwadmin_conf *confs;
};

struct kwadmin_ct_req {
	int32_t n;
	struct kwadmin_ct_topic *topics;
	int32_t timeout_ms;
	bool validate_only; /* v1+ */
};

struct kwadmin_dt_req {
	int32_t n;
	struct kwadmin_name *topics;
	int32_t timeout_ms;
};

struct kwadmin_cp_topic {
	struct kwadmin_name name;
	int32_t count;	 /* the partition count asked for */
	int32_t nassign; /* -1: null (the broker places the new replicas) */
	struct kwadmin_assign *assign;
};

struct kwadmin_cp_req {
	int32_t n;
	struct kwadmin_cp_topic *topics;
	int32_t timeout_ms;
	bool validate_only;
};

/* Decode a request body of version ver (within the range above) from r, positioned after the
 * request header, into *out, which the caller frees with the matching _free (also after a
 * failure). Return 0, ERR_PROTO (malformed) or ERR_NOMEM. */
int kwadmin_ct_req_decode(struct rbuf *r, int16_t ver, struct kwadmin_ct_req *out);
int kwadmin_dt_req_decode(struct rbuf *r, int16_t ver, struct kwadmin_dt_req *out);
int kwadmin_cp_req_decode(struct rbuf *r, int16_t ver, struct kwadmin_cp_req *out);
/* Free what a decoder allocated in q (NULL ok) and leave it zeroed; q itself stays the caller's. */
void kwadmin_ct_req_free(struct kwadmin_ct_req *q);
void kwadmin_dt_req_free(struct kwadmin_dt_req *q);
void kwadmin_cp_req_free(struct kwadmin_cp_req *q);
/* Append the request body of version ver to w. Return w's sticky error. */
int kwadmin_ct_req_encode(struct wbuf *w, int16_t ver, const struct kwadmin_ct_req *q);
int kwadmin_dt_req_encode(struct wbuf *w, int16_t ver, const struct kwadmin_dt_req *q);
int kwadmin_cp_req_encode(struct wbuf *w, int16_t ver, const struct kwadmin_cp_req *q);

/* One topic's outcome; message NULL: null (written only where the version has it). */
struct kwadmin_tresp {
	const char *name;
	int16_t error;
	const char *message;
};

/* The response of any of the three; throttle_ms is written where the version has it
 * (CreateTopics v2+, DeleteTopics v1+, CreatePartitions always). */
struct kwadmin_resp {
	int32_t throttle_ms;
	int32_t n;
	const struct kwadmin_tresp *topics;
};

/* Append the response body of version ver to w. Return w's sticky error. */
int kwadmin_ct_resp_encode(struct wbuf *w, int16_t ver, const struct kwadmin_resp *m);
int kwadmin_dt_resp_encode(struct wbuf *w, int16_t ver, const struct kwadmin_resp *m);
int kwadmin_cp_resp_encode(struct wbuf *w, int16_t ver, const struct kwadmin_resp *m);

#endif
