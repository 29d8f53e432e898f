/*
 * kconn — a client connection of the broker's Kafka listener and its queue of response slots:
 * every request gets a slot (kresp) when it arrives, and slots leave in request order whether
 * they are filled at once or later (a long-polling Fetch, an admin request waiting for its
 * coordinator writes, an acks=all Produce in the purgatory, a Produce waiting for its fsync).
 * The connection's frames go to kapi_request; when it closes, what waits for it is dropped or
 * orphaned (kconn_gone). The loop thread runs all of it.
 */
#ifndef SAMSA_KCONN_H
#define SAMSA_KCONN_H

#include <stdbool.h>
#include <sys/queue.h>

#include <event2/util.h>

struct broker;
struct bufferevent;
struct evbuffer;
struct net_conn;
struct ksauth;

/* A response slot: filled now or later, sent in request order. */
struct kresp {
	TAILQ_ENTRY(kresp) link;
	struct kconn *conn;   /* NULL once the connection is gone (the owner of an async op frees it) */
	struct evbuffer *buf; /* the whole frame, length included */
	bool done;
	int holds; /* flush-policy fsyncs this response promises and waits for (kapi_produce) */
	int16_t key;	/* the request's api key, -1 unknown (kb_metrics counts it when it leaves) */
	int32_t corr;	/* the request's correlation id */
	bool parked;	/* the group coordinator holds it (kapi_group): a closing connection orphans
			 * it (conn NULL, out of the queue) and the coordinator's reply frees it */
	int64_t t0_us;	/* when the request arrived (monotonic) */
};
TAILQ_HEAD(kresp_q, kresp);

struct kconn {
	struct broker *b;
	struct net_conn *nc;
	int listener; /* index into cfg->listener it came in on (Metadata's endpoints) */
	struct ksauth *auth; /* SASL listeners: the authentication (ksauth), else NULL */
	char principal[300]; /* "User:ANONYMOUS", or "User:<name>" once SASL authenticated it */
	struct kresp_q q;
	LIST_ENTRY(kconn) link; /* b->conns */
};

/* Serves the accepted socket fd (owned from now on: closed on a failure) as a Kafka client
 * connection of b on listener `listener` (index into cfg->listener), framed by net_conn with
 * b's socket.request.max.bytes; over TLS with ssl (owned from now on too) unless it is NULL.
 * Returns 0 or ERR_NOMEM. */
struct ssl_st;
int kconn_accept(struct broker *b, evutil_socket_t fd, int listener, struct ssl_st *ssl);
/* Whether c is a TLS connection (its Fetch responses are copied, not sent with sendfile). */
bool kconn_tls(const struct kconn *c);
/* The same over an existing bufferevent (owned from now on; tests use a bufferevent pair), as if
 * accepted on listener `listener` (-1: none, the inter-broker listener's view, no SASL). */
int kconn_accept_bev(struct broker *b, struct bufferevent *bev, int listener);
/* Closes every connection of b (at shutdown, from outside the loop's callbacks). */
void kconn_close_all(struct broker *b);

/* A new empty slot at the tail of c's queue (owned by the queue); NULL without memory. */
struct kresp *kconn_resp_new(struct kconn *c);
/* Sends the filled slots at the head of the queue, in order, up to the first unfilled one. */
void kconn_flush(struct kconn *c);
/* The connection is closing: drops its queued responses, waiting fetches and held produces
 * (admin writes in flight finish on their own and are then forgotten; slots the group
 * coordinator holds are orphaned, and freed by its reply). The caller frees c. */
void kconn_gone(struct kconn *c);

#endif
