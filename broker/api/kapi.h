/*
 * kapi — the Kafka protocol's front door on the broker's listener: the request header, the one
 * dispatch table kb_apis[] {key, min, max, handler} from which ApiVersions is written (a key
 * that is not in it, or a version outside its range, closes the connection; it never reaches
 * another handler), and the retry of requests answered later (kwait). The handlers live per
 * area in kapi_meta, kapi_produce, kapi_fetch, kapi_offsets, kapi_admin, kapi_config,
 * kapi_ctrl and kapi_group (consumer groups); connections and their ordered response slots in kconn; response frames in kout.
 * Schemas: apache/kafka clients/src/main/resources/common/message/ (the JSON files); the
 * versions served are those listed in kb_apis[], non-flexible but for OffsetCommit v8 and
 * OffsetFetch v6-7, whose request header (v2) ends in tagged fields that kapi_header_read skips
 * (their handler writes response header v1). The loop thread runs all of it.
 */
#ifndef SAMSA_KAPI_H
#define SAMSA_KAPI_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct broker;
struct kconn;
struct kwait;

enum {
	API_PRODUCE = 0,
	API_FETCH = 1,
	API_LIST_OFFSETS = 2,
	API_METADATA = 3,
	API_CONTROLLED_SHUTDOWN = 7,
	API_API_VERSIONS = 18,
	API_OFFSET_FOR_LEADER_EPOCH = 23,
	API_CREATE_TOPICS = 19,
	API_DELETE_TOPICS = 20,
	API_DESCRIBE_ACLS = 29,
	API_CREATE_ACLS = 30,
	API_DELETE_ACLS = 31,
	API_DESCRIBE_CONFIGS = 32,
	API_ALTER_CONFIGS = 33,
	API_CREATE_PARTITIONS = 37,
	API_ELECT_LEADERS = 43,
	API_INCREMENTAL_ALTER_CONFIGS = 44,
	API_SASL_HANDSHAKE = 17,
	API_SASL_AUTHENTICATE = 36,
};

/* Bounds on request arrays, far above what any client sends. */
#define KB_MAX_ITEMS 100000
#define KB_MAX_STR 32767

/* A request as the handlers see it: its header decoded, r positioned at the body. The frame
 * p belongs to the caller (net_conn's input, or a kwait's copy) for the handler's call. */
struct kreq {
	int16_t key, ver;
	int32_t corr;
	struct rbuf r; /* positioned at the body */
	uint8_t *p;    /* the whole request, mutable */
	size_t len;
	int listener; /* the connection's listener (index into cfg->listener), -1: none known */
	const struct kconn *conn; /* the client's connection, for its principal (kapi_acl); NULL: none */
	const uint8_t *client_id; /* the header's client id, in p (NULL: null), client_id_len bytes */
	int32_t client_id_len;
};

/* The dispatch table, read-only: how many APIs it serves, the range of the i-th
 * (i < kapi_count(), ApiVersions order), whether a key and version are served. */
size_t kapi_count(void);
void kapi_range_at(size_t i, int16_t *key, int16_t *min, int16_t *max);
bool kapi_supported(int16_t key, int16_t ver);
/* The body of an ApiVersions response of version ver (0-2) with error err, written from the
 * table. */
void kapi_versions_body(struct wbuf *w, int16_t ver, int16_t err);

/* Reads the request header of frame p[0..len) into q (q->r positioned at the body, listener
 * -1). Returns 0 or r's error. */
int kapi_header_read(uint8_t *p, size_t len, struct kreq *q);
/* One request frame p[0..len) (without its length) from connection c; p stays the caller's.
 * Returns 0, or an error after which the caller closes the connection (a malformed request,
 * an unknown API or version, no memory). */
int kapi_request(struct kconn *c, uint8_t *p, size_t len);
/* Tries a waiting request again; final = at its deadline. Returns true when it was answered
 * (or can be forgotten): the caller then frees w. */
bool kapi_retry(struct broker *b, struct kwait *w, bool final);

#endif
