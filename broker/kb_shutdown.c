/*
 * kb_shutdown — the broker's controlled shutdown (see kb_shutdown.h).
 *
 * One attempt: find the controller in the metadata cache, connect to its Kafka listener, send
 * ControlledShutdown v2, read its answer. Attempts: at most controlled.shutdown.max.retries + 1,
 * controlled.shutdown.retry.backoff.ms apart; an attempt that gets no answer within
 * KB_SHUTDOWN_ATTEMPT_MS counts as failed. When the inter-broker listener is SASL_SSL the
 * connection authenticates first (ksaslc: SaslHandshake, SaslAuthenticate) and the request waits
 * in `req` until that succeeds. All on the loop thread.
 */
#include "kb_shutdown.h"

#include "buf.h"
#include "err.h"
#include "ksaslc.h"
#include "log.h"
#include "tls.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/ssl.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const SHUT_MOD = "controlled-shutdown";

#define KB_SHUTDOWN_ATTEMPT_MS 35000	   /* the controller waits up to 30 s for its writes */
#define KB_SHUTDOWN_MAX_FRAME (1u << 24) /* a list of partitions; far above any real answer */

struct kb_shutdown {
	struct broker *b;
	kb_shutdown_done_fn done;
	struct bufferevent *bev;
	struct event *timer; /* backoff between attempts, and each attempt's deadline */
	int32_t attempts;
	int32_t corr;
	bool waiting_answer;
	bool finished;
	struct ksaslc *auth; /* the SASL exchange of the attempt running, NULL when done or none */
	struct wbuf req;     /* the ControlledShutdown request, sent once authenticated */
};

static void shut_attempt(struct kb_shutdown *s);

static void shut_close(struct kb_shutdown *s)
{
	if (s->bev)
		bufferevent_free(s->bev);
	s->bev = NULL;
	s->waiting_answer = false;
	if (s->auth) {
		ksaslc_clear(s->auth);
		free(s->auth);
		s->auth = NULL;
	}
	wbuf_free(&s->req);
}

static void shut_finish(struct kb_shutdown *s, bool clean)
{
	if (s->finished)
		return;
	s->finished = true;
	shut_close(s);
	event_del(s->timer);
	if (clean)
		log_info(SHUT_MOD, "done: this broker leads no partition that another replica could take");
	else
		log_warn(SHUT_MOD, "giving up after %d attempt(s); proceeding to an unclean shutdown", s->attempts);
	s->done(s->b, clean);
}

/* The attempt failed: another after the backoff, or give up. */
static void shut_retry(struct kb_shutdown *s, const char *why)
{
	shut_close(s);
	const struct kb_config *cfg = s->b->cfg;
	if (s->attempts > cfg->controlled_shutdown_max_retries) {
		log_warn(SHUT_MOD, "attempt %d failed: %s", s->attempts, why);
		shut_finish(s, false);
		return;
	}
	log_info(SHUT_MOD, "attempt %d: %s; again in %lld ms", s->attempts, why,
		 (long long)cfg->controlled_shutdown_retry_backoff_ms);
	int64_t ms = cfg->controlled_shutdown_retry_backoff_ms;
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
	event_add(s->timer, &tv);
}

/* ControlledShutdownResponse v2: error_code, remaining_partitions [topic, partition]. */
static void shut_answer(struct kb_shutdown *s, const uint8_t *p, size_t len)
{
	struct rbuf r = rbuf_make(p, len);
	int32_t corr, n = 0;
	int16_t err = -1;
	rbuf_i32(&r, &corr);
	rbuf_i16(&r, &err);
	if (!r.err)
		rbuf_count_i32(&r, 1000000, 6, &n);
	if (r.err || corr != s->corr) {
		shut_retry(s, "a malformed answer from the controller");
		return;
	}
	if (err) {
		char why[64];
		snprintf(why, sizeof(why), "the controller answered error %d", err);
		shut_retry(s, why);
		return;
	}
	if (n > 0) {
		const uint8_t *name;
		int32_t nl = 0, part = -1;
		rbuf_bytes_i16(&r, 32767, &name, &nl);
		rbuf_i32(&r, &part);
		char why[400];
		snprintf(why, sizeof(why), "%d partition(s) still led here, e.g. %.*s-%d (no other replica in sync)", n,
			 r.err || nl < 0 ? 0 : (int)nl, r.err || nl < 0 ? "" : (const char *)name, part);
		shut_retry(s, why);
		return;
	}
	shut_finish(s, true);
}

static void shut_read(struct bufferevent *bev, void *arg)
{
	struct kb_shutdown *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t hdr[4];
	if (evbuffer_copyout(in, hdr, 4) < 4)
		return;
	uint32_t len = be32_get(hdr);
	if (len > KB_SHUTDOWN_MAX_FRAME) {
		shut_retry(s, "an oversized answer from the controller");
		return;
	}
	if (evbuffer_get_length(in) < 4 + (size_t)len)
		return;
	uint8_t *p = evbuffer_pullup(in, 4 + (ev_ssize_t)len);
	if (s->auth) {
		/* the SASL exchange's answer: the next token, or the request once authenticated */
		char eb[320], why[400];
		struct wbuf w;
		wbuf_init(&w, 1024);
		int rc = ksaslc_answer(s->auth, p + 4, len, &w, eb, sizeof(eb));
		evbuffer_drain(in, 4 + (size_t)len);
		if (rc == 0) {
			s->corr = s->auth->corr;
			ksaslc_clear(s->auth);
			free(s->auth);
			s->auth = NULL;
			wbuf_put_i32_at(&s->req, 8, ++s->corr); /* after the length, api key and version */
			rc = bufferevent_write(bev, s->req.p, s->req.len) ? ERR_IO : 0;
		} else if (rc == 1) {
			rc = bufferevent_write(bev, w.p, w.len) ? ERR_IO : 0;
		}
		wbuf_free(&w);
		if (rc) {
			snprintf(why, sizeof(why), "SASL authentication to the controller failed: %s",
				 rc == ERR_IO ? "cannot write" : eb);
			shut_retry(s, why);
		}
		return;
	}
	shut_answer(s, p + 4, len); /* frees bev: do not touch in afterwards */
}

static void shut_event(struct bufferevent *bev, short what, void *arg)
{
	struct kb_shutdown *s = arg;
	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		s->waiting_answer = true;
		return;
	}
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF))
		shut_retry(s, (what & BEV_EVENT_EOF) ? "the controller closed the connection"
						     : "cannot reach the controller");
}

static void shut_timer(evutil_socket_t fd, short what, void *arg)
{
	struct kb_shutdown *s = arg;
	(void)fd;
	(void)what;
	if (s->bev)
		shut_retry(s, "no answer from the controller in time");
	else
		shut_attempt(s);
}

static void shut_attempt(struct kb_shutdown *s)
{
	struct broker *b = s->b;
	s->attempts++;
	const struct kb_node *ctrl = NULL;
	for (int32_t i = 0; i < b->nnodes; i++)
		if (b->nodes[i].id == b->controller_id)
			ctrl = &b->nodes[i];
	if (!ctrl) {
		shut_retry(s, "no controller known");
		return;
	}
	char hostport[300];
	struct sockaddr_storage ss;
	int sl = (int)sizeof(ss);
	snprintf(hostport, sizeof(hostport), strchr(ctrl->host, ':') ? "[%s]:%d" : "%s:%d", ctrl->host, ctrl->port);
	if (b->ib_tls) {
		/* the controller's inter-broker listener is SSL: the broker's client TLS, as the
		 * fetchers use it */
		struct ssl_st *ssl = tls_ctx_ssl_fresh(b->ib_tls, b->ib_tls_check_host ? ctrl->host : NULL, SHUT_MOD);
		s->bev = ssl ? bufferevent_openssl_socket_new(b->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
							      BEV_OPT_CLOSE_ON_FREE)
			     : NULL;
		if (s->bev)
			bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
		else if (ssl)
			SSL_free(ssl);
	} else {
		s->bev = bufferevent_socket_new(b->base, -1, BEV_OPT_CLOSE_ON_FREE);
	}
	if (!s->bev) {
		shut_retry(s, "out of memory");
		return;
	}
	bufferevent_setcb(s->bev, shut_read, NULL, shut_event, s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	/* the request: ControlledShutdown v2 {broker_id, broker_epoch -1} */
	struct wbuf *w = &s->req;
	char client[32];
	snprintf(client, sizeof(client), "samsa-broker-%d", b->cfg->broker_id);
	wbuf_init(w, 4096);
	wbuf_i32(w, 0);
	wbuf_i16(w, 7);
	wbuf_i16(w, 2);
	wbuf_i32(w, ++s->corr);
	wbuf_str_i16(w, client);
	wbuf_i32(w, b->cfg->broker_id);
	wbuf_i64(w, -1);
	wbuf_put_i32_at(w, 0, (int32_t)(w->len - 4));
	int rc = w->err ? -1 : 0;
	if (rc == 0 && b->ib_sasl) {
		/* SASL first: the request leaves once shut_read sees the authentication succeed */
		struct wbuf hs;
		wbuf_init(&hs, 1024);
		s->auth = malloc(sizeof(*s->auth));
		rc = s->auth ? ksaslc_start(s->auth, (enum ksasl_mech)b->ib_sasl_mech, b->ib_sasl_user, b->ib_sasl_pass,
					    client, s->corr, &hs)
			     : -1;
		if (rc == 0)
			rc = bufferevent_write(s->bev, hs.p, hs.len);
		wbuf_free(&hs);
	} else if (rc == 0) {
		rc = bufferevent_write(s->bev, w->p, w->len);
	}
	if (rc == 0) {
		/* a numeric address connects without blocking; a name is resolved here (getaddrinfo:
		 * the one blocking call, made only while the broker is stopping) */
		if (evutil_parse_sockaddr_port(hostport, (struct sockaddr *)&ss, &sl) == 0)
			rc = bufferevent_socket_connect(s->bev, (struct sockaddr *)&ss, sl);
		else
			rc = bufferevent_socket_connect_hostname(s->bev, NULL, AF_UNSPEC, ctrl->host, ctrl->port);
	}
	if (rc) {
		shut_retry(s, "cannot connect to the controller");
		return;
	}
	log_info(SHUT_MOD, "attempt %d: asking the controller (broker %d at %s) to move this broker's leaderships",
		 s->attempts, ctrl->id, hostport);
	struct timeval tv = { KB_SHUTDOWN_ATTEMPT_MS / 1000, 0 };
	event_add(s->timer, &tv);
}

struct kb_shutdown *kb_shutdown_start(struct broker *b, kb_shutdown_done_fn done)
{
	struct kb_shutdown *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->b = b;
	s->done = done;
	s->timer = event_new(b->base, -1, 0, shut_timer, s);
	if (!s->timer) {
		free(s);
		return NULL;
	}
	log_info(SHUT_MOD, "starting: leaderships move away first (controlled.shutdown.enable)");
	struct timeval now = { 0, 0 };
	event_add(s->timer, &now); /* the first attempt, from the loop */
	return s;
}

void kb_shutdown_free(struct kb_shutdown *s)
{
	if (!s)
		return;
	shut_close(s);
	if (s->timer)
		event_free(s->timer);
	free(s);
}
