/*
 * kwait — requests answered later: the admin requests (CreateTopics, DeleteTopics,
 * CreatePartitions, the config writes, ControlledShutdown, ElectLeaders) waiting for their
 * coordinator writes or the controller. (A Fetch long-polling for min_bytes waits decoded in
 * kapi_fetch's purgatory instead; kwait_retry_all drives both.) A kwait keeps the request
 * header and what its handler decoded on arrival (priv: no request bytes are kept, no pass but
 * the first reads any), its response slot, a deadline, and for admin requests one result
 * (Kafka error code and message) per item, which the writes' callbacks fill (kwait_slot).
 * Waiting requests are retried after every append and metadata change and answered finally at
 * their deadline (kwait_retry_all); the fetch purgatory's only for the partitions touched. The loop thread runs all of it.
 */
#ifndef SAMSA_KWAIT_H
#define SAMSA_KWAIT_H

#include "kb_cluster.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

struct broker;
struct kconn;
struct kreq;
struct kresp;

enum { KWAIT_ADMIN = 2 };

struct kwait {
	LIST_ENTRY(kwait) link; /* b->waits */
	struct kresp *resp;	/* its slot; owned by the connection's queue while that lives */
	int16_t key, ver;	/* the request header's */
	int32_t corr;
	int64_t deadline_ms;
	int kind;    /* KWAIT_ADMIN */
	int pending; /* coordinator writes not completed yet */
	int32_t n;   /* KWAIT_ADMIN: per-item outcome of the writes */
	int16_t *errs;
	char **msgs;
	void *priv;		   /* KWAIT_ADMIN: a handler's own state between its passes */
	void (*priv_free)(void *); /* frees priv with w (NULL: nothing to free) */
};

/* A new waiting request for q answered into resp, listed in b->waits, with a deadline
 * timeout_ms from now. Only its header is kept: the handler keeps what it decoded in priv.
 * NULL without memory. */
struct kwait *kwait_new(struct broker *b, struct kresp *resp, const struct kreq *q, int kind, int32_t timeout_ms);
/* Unlists and frees w, and its slot when the connection is gone (orphaned). */
void kwait_free(struct kwait *w);
/* Frees every waiting request of b, the fetch purgatory's too (at shutdown). */
void kwait_free_all(struct broker *b);
/* Retries waiting requests: all of them (after appends and metadata changes), or only those
 * at their deadline; those answered are freed. Then the fetch purgatory's: those touched
 * (kapi_fetch_touch) and those at their deadline (kapi_fetch_retry). */
void kwait_retry_all(struct broker *b, bool deadlines_only);
/* Connection c is closing: its admin requests are orphaned (their writes finish on their own,
 * then the request is freed). */
void kwait_conn_gone(struct kconn *c);

/* Allocates n result slots (KE_NONE, no message). 0 or ERR_NOMEM. */
int kwait_results(struct kwait *w, int32_t n);
/* Sets result i to err with a printf message (fmt NULL: no message change). */
void kwait_set(struct kwait *w, int32_t i, int16_t err, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A callback for a coordinator write of item i: counted in w->pending until it runs, then a
 * failure fills result i (unless one is already set) and the broker is woken to retry w.
 * Returns the callback with its context in *ctx, or NULL without memory (nothing counted). */
kb_admin_cb kwait_slot(struct kwait *w, int32_t i, void **ctx);

#endif
