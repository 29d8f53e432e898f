/*
 * kconn — Kafka client connections and their ordered response slots (see kconn.h).
 */
#include "kconn.h"

#include "kb_metrics.h"

#include "err.h"
#include "kapi.h"
#include "kapi_fetch.h"
#include "kapi_produce.h"
#include "kb_broker.h"
#include "kb_metrics.h"
#include "ksauth.h"
#include "kwait.h"
#include "log.h"
#include "net.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const char *const KCONN_MOD = "kafka-api";

static int kconn_frame(struct net_conn *nc, uint8_t *p, size_t len, void *arg)
{
	struct kconn *c = arg;
	(void)nc;
	if (c->auth && !ksauth_done(c->auth)) {
		int rc = ksauth_frame(c, p, len);
		if (rc != 1)
			return rc;
	}
	return kapi_request(c, p, len);
}

static void kconn_closed(struct net_conn *nc, int err, void *arg)
{
	struct kconn *c = arg;
	log_debug(KCONN_MOD, "connection %s closed: %s", net_conn_peer(nc), err_str(err));
	kconn_gone(c);
	LIST_REMOVE(c, link);
	free(c);
}

static const struct net_conn_cbs kconn_cbs = { .frame = kconn_frame, .closed = kconn_closed };

static struct net_conn_opts kconn_opts(const struct broker *b)
{
	struct net_conn_opts opts = {
		.max_frame = (size_t)b->cfg->socket_request_max_bytes,
		.out_high = 8u << 20,
		.out_hard = 1024u << 20,
	};
	return opts;
}

static struct kconn *kconn_new(struct broker *b)
{
	struct kconn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->b = b;
	c->listener = -1; /* over a bufferevent (tests): the inter-broker listener's view */
	snprintf(c->principal, sizeof(c->principal), "User:ANONYMOUS");
	TAILQ_INIT(&c->q);
	return c;
}

/* A SASL listener's connection starts its authentication (ksauth). */
static int kconn_sasl(struct kconn *c)
{
	if (c->listener < 0)
		return 0;
	enum kb_security sec = c->b->cfg->listener[c->listener].security;
	if ((sec == KB_SEC_SASL_PLAINTEXT || sec == KB_SEC_SASL_SSL) && ksauth_start(c)) {
		net_conn_close(c->nc, ERR_NOMEM);
		return ERR_NOMEM;
	}
	return 0;
}

int kconn_accept(struct broker *b, evutil_socket_t fd, int listener, struct ssl_st *ssl)
{
	struct kconn *c = kconn_new(b);
	if (!c) {
		if (ssl)
			SSL_free(ssl);
		evutil_closesocket(fd);
		return ERR_NOMEM;
	}
	c->listener = listener;
	struct net_conn_opts opts = kconn_opts(b);
	c->nc = ssl ? net_conn_new_tls(b->base, fd, ssl, true, &opts, &kconn_cbs, c)
		    : net_conn_new(b->base, fd, &opts, &kconn_cbs, c);
	if (!c->nc) {
		free(c);
		return ERR_NOMEM;
	}
	LIST_INSERT_HEAD(&b->conns, c, link);
	return kconn_sasl(c);
}

int kconn_accept_bev(struct broker *b, struct bufferevent *bev, int listener)
{
	struct kconn *c = kconn_new(b);
	if (!c)
		return ERR_NOMEM;
	c->listener = listener;
	struct net_conn_opts opts = kconn_opts(b);
	c->nc = net_conn_new_bev(bev, &opts, &kconn_cbs, c);
	if (!c->nc) {
		free(c);
		return ERR_NOMEM;
	}
	LIST_INSERT_HEAD(&b->conns, c, link);
	return kconn_sasl(c);
}

bool kconn_tls(const struct kconn *c)
{
	return c->nc && net_conn_ssl(c->nc) != NULL;
}

void kconn_close_all(struct broker *b)
{
	struct kconn *c;
	while ((c = LIST_FIRST(&b->conns))) {
		/* closing from outside the loop: drop the connections' state directly */
		net_conn_close(c->nc, ERR_CLOSED);
		event_base_loop(b->base, EVLOOP_NONBLOCK);
		if (LIST_FIRST(&b->conns) == c)
			break;
	}
}


static int64_t kconn_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void kconn_flush(struct kconn *c)
{
	struct kresp *r;
	while ((r = TAILQ_FIRST(&c->q)) && r->done) {
		TAILQ_REMOVE(&c->q, r, link);
		if (r->buf) {
			net_conn_send_buffer(c->nc, r->buf);
			evbuffer_free(r->buf);
			if (r->key >= 0)
				kb_metrics_request(c->b, r->key, kconn_now_us() - r->t0_us);
		}
		free(r);
	}
}

struct kresp *kconn_resp_new(struct kconn *c)
{
	struct kresp *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->conn = c;
	r->key = -1;
	r->t0_us = kconn_now_us();
	TAILQ_INSERT_TAIL(&c->q, r, link);
	return r;
}

void kconn_gone(struct kconn *c)
{
	ksauth_free(c->auth);
	c->auth = NULL;
	kapi_produce_conn_gone(c);
	kapi_fetch_conn_gone(c);
	kwait_conn_gone(c);
	struct kresp *r;
	while ((r = TAILQ_FIRST(&c->q))) {
		TAILQ_REMOVE(&c->q, r, link);
		if (r->parked) { /* the group coordinator answers it later: kapi_group_reply frees it */
			r->conn = NULL;
			continue;
		}
		if (r->buf)
			evbuffer_free(r->buf);
		free(r);
	}
}
