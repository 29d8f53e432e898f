/*
 * kb_kcall — one Kafka request to another broker (see kb_kcall.h). A bufferevent (an OpenSSL
 * one when the inter-broker listener is SSL); a numeric address connects without blocking, a
 * host name is resolved by libevent's blocking getaddrinfo path (hosts are addresses in
 * practice, as for the fetchers).
 */
#include "kb_kcall.h"

#include "buf.h"
#include "err.h"
#include "kb_broker.h"
#include "kb_config.h"
#include "ksaslc.h"
#include "tls.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kb_kcall {
	struct bufferevent *bev;
	struct event *timer;   /* the deadline */
	struct event *deferred; /* reports an early failure from the loop */
	int32_t corr;
	size_t max_answer;
	kb_kcall_fn cb;
	void *arg;
	int err;
	char why[400];
	struct ksaslc *auth; /* the SASL exchange (SASL_SSL inter-broker listener), NULL when done */
	struct wbuf req;     /* the request, sent once authenticated */
};

static void kcall_free(struct kb_kcall *k)
{
	if (k->bev)
		bufferevent_free(k->bev);
	if (k->timer)
		event_free(k->timer);
	if (k->deferred)
		event_free(k->deferred);
	if (k->auth) {
		ksaslc_clear(k->auth);
		free(k->auth);
	}
	wbuf_free(&k->req);
	free(k);
}

void kb_kcall_cancel(struct kb_kcall *k)
{
	if (k)
		kcall_free(k);
}

/* The outcome: cb, then the call is freed. */
static void kcall_end(struct kb_kcall *k, int err, const uint8_t *body, size_t len, const char *why)
{
	kb_kcall_fn cb = k->cb;
	void *arg = k->arg;
	if (k->bev) { /* closed before cb: it may start another call at once */
		bufferevent_disable(k->bev, EV_READ | EV_WRITE);
	}
	cb(arg, err, body, len, why);
	kcall_free(k);
}

static void kcall_read(struct bufferevent *bev, void *arg)
{
	struct kb_kcall *k = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t hdr[4];
	if (evbuffer_copyout(in, hdr, 4) < 4)
		return;
	uint32_t len = be32_get(hdr);
	if (len < 4 || len > k->max_answer) {
		kcall_end(k, ERR_PROTO, NULL, 0, "an answer of a bad size");
		return;
	}
	if (evbuffer_get_length(in) < 4 + (size_t)len)
		return;
	const uint8_t *p = evbuffer_pullup(in, 4 + (ev_ssize_t)len);
	if (!p) {
		kcall_end(k, ERR_NOMEM, NULL, 0, "out of memory");
		return;
	}
	if (k->auth) {
		/* the SASL exchange's answer: the next token, or the request once authenticated */
		char eb[320];
		struct wbuf w;
		wbuf_init(&w, 1024);
		int rc = ksaslc_answer(k->auth, p + 4, len, &w, eb, sizeof(eb));
		evbuffer_drain(in, 4 + (size_t)len);
		if (rc == 0) {
			k->corr = k->auth->corr + 1;
			ksaslc_clear(k->auth);
			free(k->auth);
			k->auth = NULL;
			wbuf_put_i32_at(&k->req, 8, k->corr); /* after the length, api key and version */
			rc = bufferevent_write(bev, k->req.p, k->req.len) ? ERR_IO : 0;
		} else if (rc == 1) {
			rc = bufferevent_write(bev, w.p, w.len) ? ERR_IO : 0;
		}
		wbuf_free(&w);
		if (rc) {
			snprintf(k->why, sizeof(k->why), "SASL authentication failed: %s", rc == ERR_IO ? "cannot write" : eb);
			kcall_end(k, ERR_PROTO, NULL, 0, k->why);
		}
		return;
	}
	if ((int32_t)be32_get(p + 4) != k->corr) {
		kcall_end(k, ERR_PROTO, NULL, 0, "an answer to another request");
		return;
	}
	kcall_end(k, 0, p + 8, len - 4, NULL);
}

static void kcall_event(struct bufferevent *bev, short what, void *arg)
{
	struct kb_kcall *k = arg;
	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF))
		kcall_end(k, ERR_CLOSED, NULL, 0, (what & BEV_EVENT_EOF) ? "the broker closed the connection"
									 : "cannot reach the broker");
}

static void kcall_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	kcall_end(arg, ERR_BUSY, NULL, 0, "no answer in time");
}

static void kcall_deferred(evutil_socket_t fd, short what, void *arg)
{
	struct kb_kcall *k = arg;
	(void)fd;
	(void)what;
	kcall_end(k, k->err, NULL, 0, k->why);
}

struct kb_kcall *kb_kcall_start(struct broker *b, const struct kb_node *nd, int16_t api, int16_t ver,
				const uint8_t *body, size_t len, int32_t timeout_ms, size_t max_answer, kb_kcall_fn cb,
				void *arg)
{
	struct kb_kcall *k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->cb = cb;
	k->arg = arg;
	k->max_answer = max_answer;
	k->corr = 1; /* one request per connection (after the SASL exchange's, when there is one) */
	k->timer = event_new(b->base, -1, 0, kcall_timer, k);
	k->deferred = event_new(b->base, -1, 0, kcall_deferred, k);
	if (!k->timer || !k->deferred) {
		kcall_free(k);
		return NULL;
	}
	if (b->ib_tls) {
		struct ssl_st *ssl = tls_ctx_ssl(b->ib_tls, b->ib_tls_check_host ? nd->host : NULL);
		k->bev = ssl ? bufferevent_openssl_socket_new(b->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
							      BEV_OPT_CLOSE_ON_FREE)
			     : NULL;
		if (k->bev)
			bufferevent_openssl_set_allow_dirty_shutdown(k->bev, 1);
		else if (ssl)
			SSL_free(ssl);
	} else {
		k->bev = bufferevent_socket_new(b->base, -1, BEV_OPT_CLOSE_ON_FREE);
	}
	int rc = -1;
	if (k->bev) {
		bufferevent_setcb(k->bev, kcall_read, NULL, kcall_event, k);
		bufferevent_enable(k->bev, EV_READ | EV_WRITE);
		struct wbuf *w = &k->req;
		char client[32];
		snprintf(client, sizeof(client), "samsa-broker-%d", b->cfg->broker_id);
		wbuf_init(w, len + 4096);
		wbuf_i32(w, 0);
		wbuf_i16(w, api);
		wbuf_i16(w, ver);
		wbuf_i32(w, k->corr);
		wbuf_str_i16(w, client);
		wbuf_raw(w, body, len);
		wbuf_put_i32_at(w, 0, (int32_t)(w->len - 4));
		rc = w->err ? -1 : 0;
		if (rc == 0 && b->ib_sasl) {
			/* SASL first (SaslHandshake v1, SaslAuthenticate v1): the request leaves once
			 * kcall_read sees the authentication succeed */
			struct wbuf hs;
			wbuf_init(&hs, 1024);
			k->auth = malloc(sizeof(*k->auth));
			rc = k->auth ? ksaslc_start(k->auth, (enum ksasl_mech)b->ib_sasl_mech, b->ib_sasl_user,
						    b->ib_sasl_pass, client, k->corr, &hs)
				     : -1;
			if (rc == 0)
				rc = bufferevent_write(k->bev, hs.p, hs.len);
			wbuf_free(&hs);
		} else if (rc == 0) {
			rc = bufferevent_write(k->bev, w->p, w->len);
		}
	}
	if (rc == 0) {
		char hostport[300];
		struct sockaddr_storage ss;
		int sl = (int)sizeof(ss);
		snprintf(hostport, sizeof(hostport), strchr(nd->host, ':') ? "[%s]:%d" : "%s:%d", nd->host, nd->port);
		if (evutil_parse_sockaddr_port(hostport, (struct sockaddr *)&ss, &sl) == 0)
			rc = bufferevent_socket_connect(k->bev, (struct sockaddr *)&ss, sl);
		else
			rc = bufferevent_socket_connect_hostname(k->bev, NULL, AF_UNSPEC, nd->host, nd->port);
	}
	if (rc) { /* reported from the loop, as any other failure */
		k->err = ERR_CLOSED;
		snprintf(k->why, sizeof(k->why), "cannot connect to the broker");
		event_active(k->deferred, EV_TIMEOUT, 0);
		return k;
	}
	struct timeval tv = { (time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000 };
	event_add(k->timer, &tv);
	return k;
}
