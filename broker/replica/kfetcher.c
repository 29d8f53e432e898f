/*
 * kfetcher — follower fetchers, one connection per leader broker (see kfetcher.h). Owns the
 * partitions it follows (name, leader, backoff; a hash table by topic and partition), the
 * leader connections and the one request each has in flight; the krepl of every partition is
 * the replica manager's, read only here.
 *
 * A leader connection's states (kf_conn_set_state checks every transition):
 *
 *          +--------------------------- BACKOFF <-------------------------------+
 *          | timer (at once when new       ^  connect refused / timed out,       |
 *          | or its address changed)       |  or the address changed           |
 *          v                               |                                    |
 *     CONNECTING ---- connected ----> READY ---- request sent ----> WAITING ---+ broken, answer late,
 *          |                            ^  ^                           |          bad or wrong answer
 *          | connected (SASL)           |  +------ answer handed up ---+
 *          v                            | authenticated
 *        AUTH --------------------------+     (AUTH -> BACKOFF: refused, broken or late)
 *
 *   CONNECTING: fd is a socket with a connect in progress, conn_ev waits for it (with the
 *               socket timeout); nc is NULL.
 *   READY:      nc is up, nothing in flight (n_sent == 0); the timer runs the next round
 *               (at once, or after the backoff when no partition has anything to send).
 *   WAITING:    one request in flight: corr is its correlation id, sent[] its partitions;
 *               the timer is the answer's deadline.
 *   AUTH:       nc is up and the SASL exchange (ksaslc, auth) runs on it, one request in flight;
 *               the timer is its answer's deadline. Only with kfetcher_set_sasl.
 *   BACKOFF:    no socket; the timer reconnects.
 * A connection exists while it has partitions; the last one leaving frees it (deferred while
 * its answer is being handed up). Its net_conn is detached (arg NULL) before it is closed, so
 * a late closed callback finds nothing.
 */
#include "kfetcher.h"

#include "buf.h"
#include "err.h"
#include "kfw.h"
#include "ksaslc.h"
#include "log.h"
#include "net.h"
#include "tls.h"

#include <errno.h>
#include <event2/event.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *const KF_MOD = "replica-fetcher";

#define KF_TOPIC_MAX 249	 /* Kafka's topic name limit */
#define KF_FRAME_SLACK (64u << 20) /* over max_bytes: a first batch bigger than the limits (KIP-74) */

enum kf_state { KF_CONNECTING, KF_READY, KF_WAITING, KF_BACKOFF, KF_AUTH, KF_STATE_COUNT };

static const char *const kf_state_names[KF_STATE_COUNT] = { "connecting", "ready", "waiting", "backoff",
							     "authenticating" };

/* legal[from] has bit `to` set */
static const unsigned kf_legal[KF_STATE_COUNT] = {
	[KF_CONNECTING] = 1u << KF_READY | 1u << KF_BACKOFF | 1u << KF_AUTH,
	[KF_AUTH] = 1u << KF_READY | 1u << KF_BACKOFF,
	[KF_READY] = 1u << KF_WAITING | 1u << KF_BACKOFF,
	[KF_WAITING] = 1u << KF_READY | 1u << KF_BACKOFF,
	[KF_BACKOFF] = 1u << KF_CONNECTING | 1u << KF_BACKOFF,
};

enum kf_kind { KF_REQ_NONE, KF_REQ_FETCH, KF_REQ_EPOCH };

struct kf_conn;

struct kf_part {
	char *topic;
	int32_t part;
	struct krepl *k;
	struct kf_conn *c;
	int64_t until;	   /* no request for it before (its last answer was an error) */
	int16_t last_error; /* the last error logged for it, to log changes only */
	long sent_at;	   /* its index in c->sent while in flight, else -1 */
	TAILQ_ENTRY(kf_part) clink;
	struct kf_part *hnext;
};

/* A partition of the request in flight: what was asked (the answer is matched against it). */
struct kf_sent {
	struct kf_part *p; /* NULL once removed or moved: its answer is dropped */
	int32_t cur_epoch;
	int64_t fetch_offset;	 /* Fetch */
	int32_t requested_epoch; /* OffsetForLeaderEpoch */
	bool answered;
};

struct kf_conn {
	struct kfetcher *f;
	int32_t leader;
	char *host;
	int port;
	enum kf_state state;
	int fd;			/* CONNECTING */
	struct event *conn_ev;	/* CONNECTING */
	struct net_conn *nc;	/* AUTH, READY, WAITING */
	struct ksaslc *auth;	/* AUTH */
	struct event *timer;	/* round, answer deadline or reconnect, by state */
	int32_t corr;
	enum kf_kind kind; /* in flight */
	bool last_epoch;   /* the last request was an OffsetForLeaderEpoch: a Fetch goes next */
	bool dispatching;  /* answers being handed up: freeing waits */
	unsigned failures; /* connect failures in a row (the first is logged) */
	struct kf_sent *sent;
	size_t n_sent, cap_sent;
	TAILQ_HEAD(, kf_part) parts;
	size_t n_parts;
	LIST_ENTRY(kf_conn) link;
};

struct kfetcher {
	struct event_base *base;
	int32_t id;
	struct kfetcher_ops ops;
	void *arg;
	struct kfetcher_opts opts;
	char client_id[48];
	struct kf_part **buckets;
	size_t n_buckets, n_parts;
	LIST_HEAD(, kf_conn) conns;
	size_t n_conns;
	struct tls_ctx *tls;	/* borrowed; NULL: plaintext to the leaders */
	bool tls_check_host; /* the leader's certificate must name c->host */
	bool sasl;	     /* authenticate every connection (kfetcher_set_sasl) */
	enum ksasl_mech sasl_mech;
	char sasl_user[KSASL_NAME_BUF], sasl_pass[KSASL_NAME_BUF];
	struct krepl_batch *scratch; /* batches of one partition's answer, for krepl */
	size_t cap_scratch;
};

static void kf_conn_round_soon(struct kf_conn *c);
static void kf_conn_free(struct kf_conn *c);

static int64_t kf_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void kfetcher_opts_default(struct kfetcher_opts *o)
{
	o->max_wait_ms = 500;
	o->min_bytes = 1;
	o->max_bytes = 10 << 20;
	o->partition_max_bytes = 1 << 20;
	o->backoff_ms = 1000;
	o->socket_timeout_ms = 30000;
}

/* ---- partitions: a hash table by (topic, partition) ---- */

static size_t kf_hash(const char *topic, int32_t part, size_t n)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (const char *s = topic; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ULL;
	h = (h ^ (uint32_t)part) * 1099511628211ULL;
	return (size_t)(h & (n - 1));
}

static struct kf_part **kf_part_slot(struct kfetcher *f, const char *topic, int32_t part)
{
	struct kf_part **pp = &f->buckets[kf_hash(topic, part, f->n_buckets)];
	while (*pp && ((*pp)->part != part || strcmp((*pp)->topic, topic) != 0))
		pp = &(*pp)->hnext;
	return pp;
}

static int kf_part_grow(struct kfetcher *f)
{
	if (f->n_parts < f->n_buckets)
		return 0;
	size_t n = f->n_buckets * 2;
	struct kf_part **b = calloc(n, sizeof(*b));
	if (!b)
		return ERR_NOMEM;
	for (size_t i = 0; i < f->n_buckets; i++) {
		struct kf_part *p = f->buckets[i], *next;
		for (; p; p = next) {
			next = p->hnext;
			size_t h = kf_hash(p->topic, p->part, n);
			p->hnext = b[h];
			b[h] = p;
		}
	}
	free(f->buckets);
	f->buckets = b;
	f->n_buckets = n;
	return 0;
}

/* ---- connections ---- */

static void kf_conn_set_state(struct kf_conn *c, enum kf_state to, const char *why)
{
	if (!(kf_legal[c->state] & (1u << to))) {
		log_fatal(KF_MOD, "leader %d: illegal transition %s -> %s (%s)", c->leader, kf_state_names[c->state],
			  kf_state_names[to], why);
		abort();
	}
	log_debug(KF_MOD, "leader %d (%s:%d): %s -> %s (%s)", c->leader, c->host, c->port, kf_state_names[c->state],
		  kf_state_names[to], why);
	c->state = to;
}

static void kf_timer_in(struct kf_conn *c, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	evtimer_add(c->timer, &tv);
}

/* Forgets the request in flight: nothing of its answer will be handed up. */
static void kf_conn_drop_inflight(struct kf_conn *c)
{
	for (size_t i = 0; i < c->n_sent; i++)
		if (c->sent[i].p)
			c->sent[i].p->sent_at = -1;
	c->n_sent = 0;
	c->kind = KF_REQ_NONE;
}

/* Closes the socket (if any) and waits out the backoff (ms) before connecting again. */
static void kf_conn_auth_free(struct kf_conn *c)
{
	if (c->auth) {
		ksaslc_clear(c->auth);
		free(c->auth);
		c->auth = NULL;
	}
}

static void kf_conn_backoff(struct kf_conn *c, int64_t ms, const char *why)
{
	kf_conn_drop_inflight(c);
	kf_conn_auth_free(c);
	if (c->nc) {
		net_conn_set_arg(c->nc, NULL);
		net_conn_close(c->nc, 0);
		c->nc = NULL;
	}
	if (c->conn_ev) {
		event_free(c->conn_ev);
		c->conn_ev = NULL;
	}
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	kf_conn_set_state(c, KF_BACKOFF, why);
	kf_timer_in(c, ms);
}

/* A connection that worked broke (or answered wrongly): logged, then the backoff. */
static void kf_conn_broken(struct kf_conn *c, const char *why)
{
	log_info(KF_MOD, "connection to leader %d at %s:%d broke (%s); reconnecting in %d ms", c->leader, c->host,
		 c->port, why, c->f->opts.backoff_ms);
	c->failures = 0;
	kf_conn_backoff(c, c->f->opts.backoff_ms, why);
}

/* A connect attempt failed: the first of a row is logged, the others at debug level. */
static void kf_conn_failed(struct kf_conn *c, const char *why)
{
	if (c->failures++ == 0)
		log_warn(KF_MOD, "cannot connect to leader %d at %s:%d: %s; retrying every %d ms", c->leader, c->host,
			 c->port, why, c->f->opts.backoff_ms);
	else
		log_debug(KF_MOD, "cannot connect to leader %d at %s:%d: %s (attempt %u)", c->leader, c->host, c->port,
			  why, c->failures);
	kf_conn_backoff(c, c->f->opts.backoff_ms, why);
}

static int kf_frame(struct net_conn *nc, uint8_t *p, size_t len, void *arg);

static void kf_closed(struct net_conn *nc, int err, void *arg)
{
	struct kf_conn *c = arg;
	(void)nc;
	if (!c)
		return; /* detached: we closed it */
	c->nc = NULL;
	kf_conn_broken(c, err == ERR_CLOSED ? "closed by the leader" : err_str(err));
}

static void kf_connected(struct kf_conn *c)
{
	static const struct net_conn_cbs cbs = { NULL, kf_frame, kf_closed };
	struct net_conn_opts o = { .max_frame = (size_t)c->f->opts.max_bytes + KF_FRAME_SLACK };
	int fd = c->fd;
	c->fd = -1;
	if (c->f->tls) {
		/* a handshake that fails (an untrusted or misnamed certificate, a refused client
		 * certificate) is logged by net_conn naming the leader, and closes: kf_closed then
		 * backs off and retries, so the follower stays out of the ISR until it succeeds */
		struct ssl_st *ssl = tls_ctx_ssl_fresh(c->f->tls, c->f->tls_check_host ? c->host : NULL, KF_MOD);
		if (!ssl) {
			close(fd);
			kf_conn_failed(c, "cannot set up TLS");
			return;
		}
		c->nc = net_conn_new_tls(c->f->base, fd, ssl, false, &o, &cbs, c); /* owns fd and ssl */
	} else {
		c->nc = net_conn_new(c->f->base, fd, &o, &cbs, c); /* owns fd, also on failure */
	}
	if (!c->nc) {
		kf_conn_failed(c, "out of memory");
		return;
	}
	log_info(KF_MOD, "connected to leader %d at %s:%d%s for %zu partition%s", c->leader, c->host, c->port,
		 c->f->tls ? " (TLS)" : "", c->n_parts, c->n_parts == 1 ? "" : "s");
	if (c->f->sasl) {
		/* SaslHandshake + SaslAuthenticate first (queued behind a TLS handshake if any);
		 * failures in a row stay counted until one authenticates */
		struct wbuf w;
		wbuf_init(&w, 1024);
		c->auth = malloc(sizeof(*c->auth));
		int rc = c->auth ? ksaslc_start(c->auth, c->f->sasl_mech, c->f->sasl_user, c->f->sasl_pass, c->f->client_id,
						c->corr, &w)
				 : ERR_NOMEM;
		if (rc == 0)
			rc = net_conn_send(c->nc, w.p, w.len);
		wbuf_free(&w);
		if (rc) {
			kf_conn_failed(c, "cannot start the SASL authentication");
			return;
		}
		kf_conn_set_state(c, KF_AUTH, "connected, authenticating");
		kf_timer_in(c, c->f->opts.socket_timeout_ms);
		return;
	}
	c->failures = 0;
	kf_conn_set_state(c, KF_READY, "connected");
	kf_conn_round_soon(c);
}

/* An answer of the SASL exchange: the next request, or READY, or the backoff with the reason
 * logged (the leader's own line names us and the user). */
static void kf_auth_frame(struct kf_conn *c, const uint8_t *frame, size_t len)
{
	char eb[320], why[320 + KSASL_NAME_BUF + 64];
	struct wbuf w;
	wbuf_init(&w, 1024);
	int rc = ksaslc_answer(c->auth, frame, len, &w, eb, sizeof(eb));
	c->corr = c->auth->corr;
	if (rc == 1 && net_conn_send(c->nc, w.p, w.len) == 0) {
		wbuf_free(&w);
		kf_timer_in(c, c->f->opts.socket_timeout_ms);
		return;
	}
	wbuf_free(&w);
	if (rc) {
		snprintf(why, sizeof(why), "SASL %s authentication as %s failed: %s", ksasl_mech_name(c->f->sasl_mech),
			 c->f->sasl_user, rc == 1 ? "the connection is closing" : eb);
		kf_conn_failed(c, why);
		return;
	}
	evtimer_del(c->timer);
	kf_conn_auth_free(c);
	log_info(KF_MOD, "authenticated to leader %d at %s:%d as %s (SASL %s)", c->leader, c->host, c->port,
		 c->f->sasl_user, ksasl_mech_name(c->f->sasl_mech));
	c->failures = 0;
	kf_conn_set_state(c, KF_READY, "authenticated");
	kf_conn_round_soon(c);
}

static void kf_connect_done(evutil_socket_t fd, short what, void *arg)
{
	struct kf_conn *c = arg;
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	char why[160];

	event_free(c->conn_ev);
	c->conn_ev = NULL;
	if (what & EV_TIMEOUT) {
		kf_conn_failed(c, "connect timed out");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
		soerr = errno;
	if (soerr) {
		snprintf(why, sizeof(why), "%s", strerror(soerr));
		kf_conn_failed(c, why);
		return;
	}
	kf_connected(c);
}

/* BACKOFF -> CONNECTING: a non-blocking connect to the leader's address (resolved here). */
static void kf_conn_connect(struct kf_conn *c)
{
	struct addrinfo hints, *ai = NULL;
	char port[16], why[320];

	kf_conn_set_state(c, KF_CONNECTING, "reconnect timer");
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", c->port);
	int g = getaddrinfo(c->host, port, &hints, &ai);
	if (g != 0 || !ai) {
		snprintf(why, sizeof(why), "cannot resolve %s: %s", c->host, gai_strerror(g));
		kf_conn_failed(c, why);
		return;
	}
	c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		freeaddrinfo(ai);
		snprintf(why, sizeof(why), "socket: %s", strerror(errno));
		kf_conn_failed(c, why);
		return;
	}
	int r = connect(c->fd, ai->ai_addr, ai->ai_addrlen);
	int e = errno;
	freeaddrinfo(ai);
	if (r == 0) {
		kf_connected(c);
		return;
	}
	if (e != EINPROGRESS) {
		snprintf(why, sizeof(why), "%s", strerror(e));
		kf_conn_failed(c, why);
		return;
	}
	int64_t ms = c->f->opts.socket_timeout_ms;
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	c->conn_ev = event_new(c->f->base, c->fd, EV_WRITE, kf_connect_done, c);
	if (!c->conn_ev || event_add(c->conn_ev, &tv)) {
		kf_conn_failed(c, "out of memory");
		return;
	}
}

/* ---- rounds ---- */

static int kf_sent_add(struct kf_conn *c, struct kf_part *p)
{
	if (c->n_sent == c->cap_sent) {
		size_t n = c->cap_sent ? c->cap_sent * 2 : 16;
		struct kf_sent *s = realloc(c->sent, n * sizeof(*s));
		if (!s)
			return ERR_NOMEM;
		c->sent = s;
		c->cap_sent = n;
	}
	struct kf_sent *s = &c->sent[c->n_sent++];
	memset(s, 0, sizeof(*s));
	s->p = p;
	return 0;
}

static int kf_sent_cmp(const void *a, const void *b)
{
	const struct kf_sent *x = a, *y = b;
	int c = strcmp(x->p->topic, y->p->topic);
	if (c)
		return c;
	return x->p->part < y->p->part ? -1 : x->p->part > y->p->part;
}

/* Builds and sends the request in c->sent (already sorted) of kind; 0 or an error. */
static int kf_conn_send(struct kf_conn *c, enum kf_kind kind)
{
	struct kfetcher *f = c->f;
	struct wbuf w;
	int rc;
	size_t n = c->n_sent;

	wbuf_init(&w, (size_t)1 << 30);
	c->corr = c->corr == INT32_MAX ? 0 : c->corr + 1;
	if (kind == KF_REQ_FETCH) {
		struct kfw_fetch_part *fp = calloc(n, sizeof(*fp));
		if (!fp) {
			wbuf_free(&w);
			return ERR_NOMEM;
		}
		for (size_t i = 0; i < n; i++) {
			fp[i].topic = c->sent[i].p->topic;
			fp[i].partition = c->sent[i].p->part;
			fp[i].current_leader_epoch = c->sent[i].cur_epoch;
			fp[i].fetch_offset = c->sent[i].fetch_offset;
			fp[i].log_start_offset = -1;
			fp[i].partition_max_bytes = f->opts.partition_max_bytes;
		}
		struct kfw_fetch_req req = { .replica_id = f->id, .max_wait_ms = f->opts.max_wait_ms,
					     .min_bytes = f->opts.min_bytes, .max_bytes = f->opts.max_bytes,
					     .isolation_level = 0, .parts = fp, .n_parts = n };
		rc = kfw_fetch_encode(&w, c->corr, f->client_id, &req);
		free(fp);
	} else {
		struct kfw_epoch_part *ep = calloc(n, sizeof(*ep));
		if (!ep) {
			wbuf_free(&w);
			return ERR_NOMEM;
		}
		for (size_t i = 0; i < n; i++) {
			ep[i].topic = c->sent[i].p->topic;
			ep[i].partition = c->sent[i].p->part;
			ep[i].current_leader_epoch = c->sent[i].cur_epoch;
			ep[i].leader_epoch = c->sent[i].requested_epoch;
		}
		rc = kfw_epoch_encode(&w, c->corr, f->client_id, f->id, ep, n);
		free(ep);
	}
	if (rc == 0)
		rc = net_conn_send(c->nc, w.p, w.len);
	wbuf_free(&w);
	return rc;
}

/* READY: one request for what the partitions need now, or a wait when none needs anything. */
static void kf_conn_round(struct kf_conn *c)
{
	struct kfetcher *f = c->f;
	int64_t now = kf_now_ms(), wake = now + f->opts.backoff_ms;
	size_t n_epoch = 0, n_fetch = 0;
	struct kf_part *p;

	/* which kind goes: a truncation round first, but never two in a row while others wait */
	TAILQ_FOREACH(p, &c->parts, clink) {
		struct krepl_epoch_req er;
		struct krepl_fetch_req fr;
		if (p->until > now) {
			wake = p->until < wake ? p->until : wake;
			continue;
		}
		if (krepl_leader(p->k) != c->leader)
			continue; /* told of another leader, not yet moved: ask nothing of this one */
		if (krepl_epoch_request(p->k, &er))
			n_epoch++;
		else if (krepl_fetch_request(p->k, &fr))
			n_fetch++;
	}
	if (net_conn_closing(c->nc))
		return; /* its closed callback is on its way, with the reason */
	enum kf_kind kind = KF_REQ_NONE;
	if (n_epoch && (!c->last_epoch || !n_fetch))
		kind = KF_REQ_EPOCH;
	else if (n_fetch)
		kind = KF_REQ_FETCH;
	if (kind == KF_REQ_NONE) {
		kf_timer_in(c, wake - now);
		return;
	}
	c->n_sent = 0;
	TAILQ_FOREACH(p, &c->parts, clink) {
		struct krepl_epoch_req er;
		struct krepl_fetch_req fr;
		if (p->until > now || krepl_leader(p->k) != c->leader)
			continue;
		if (kind == KF_REQ_EPOCH ? !krepl_epoch_request(p->k, &er) : !krepl_fetch_request(p->k, &fr))
			continue;
		if (kf_sent_add(c, p)) {
			c->n_sent = 0;
			kf_conn_broken(c, "out of memory");
			return;
		}
		struct kf_sent *s = &c->sent[c->n_sent - 1];
		if (kind == KF_REQ_EPOCH) {
			s->cur_epoch = er.current_leader_epoch;
			s->requested_epoch = er.leader_epoch;
		} else {
			s->cur_epoch = fr.current_leader_epoch;
			s->fetch_offset = fr.fetch_offset;
		}
	}
	qsort(c->sent, c->n_sent, sizeof(*c->sent), kf_sent_cmp);
	for (size_t i = 0; i < c->n_sent; i++)
		c->sent[i].p->sent_at = (long)i;
	c->kind = kind;
	int rc = kf_conn_send(c, kind);
	if (rc) {
		kf_conn_broken(c, err_str(rc));
		return;
	}
	c->last_epoch = kind == KF_REQ_EPOCH;
	kf_conn_set_state(c, KF_WAITING, kind == KF_REQ_EPOCH ? "OffsetForLeaderEpoch sent" : "Fetch sent");
	int64_t deadline = f->opts.socket_timeout_ms + (kind == KF_REQ_FETCH ? f->opts.max_wait_ms : 0);
	kf_timer_in(c, deadline);
}

static void kf_conn_timer(evutil_socket_t fd, short what, void *arg)
{
	struct kf_conn *c = arg;
	(void)fd;
	(void)what;
	switch (c->state) {
	case KF_BACKOFF:
		kf_conn_connect(c);
		break;
	case KF_READY:
		kf_conn_round(c);
		break;
	case KF_WAITING:
		kf_conn_broken(c, "no answer within replica.socket.timeout.ms");
		break;
	case KF_AUTH:
		kf_conn_failed(c, "no SASL answer within replica.socket.timeout.ms");
		break;
	case KF_CONNECTING:
	case KF_STATE_COUNT:
		break;
	}
}

/* Runs a round from the loop (never inside the caller) if the connection is idle. */
static void kf_conn_round_soon(struct kf_conn *c)
{
	if (c->state == KF_READY)
		kf_timer_in(c, 0);
}

/* ---- answers ---- */

/* The sent entry answering (topic, part), found from the expected position `hint` on. */
static struct kf_sent *kf_sent_find(struct kf_conn *c, const uint8_t *topic, size_t tlen, int32_t part, size_t *hint)
{
	for (size_t k = 0; k < c->n_sent; k++) {
		size_t i = (*hint + k) % c->n_sent;
		struct kf_sent *s = &c->sent[i];
		if (!s->p || s->answered || s->p->part != part)
			continue;
		if (strlen(s->p->topic) == tlen && memcmp(s->p->topic, topic, tlen) == 0) {
			*hint = i + 1;
			return s;
		}
	}
	return NULL;
}

/* Kafka's names of the errors a leader answers a follower with. */
static const char *kf_error_name(int16_t e)
{
	switch (e) {
	case 2: return "CORRUPT_MESSAGE";
	case 3: return "UNKNOWN_TOPIC_OR_PARTITION";
	case 56: return "KAFKA_STORAGE_ERROR";
	default: return krepl_error_name((enum krepl_error)e);
	}
}

/* How long a partition waits after an error answer. NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH
 * and UNKNOWN_LEADER_EPOCH come, during a leader change, from the one broker of the two that has
 * not processed its LeaderAndIsr yet, a matter of milliseconds: asked again after
 * KF_EPOCH_RETRY_MS, a new leader's followers are back in its ISR that much sooner (Kafka waits
 * the whole replica.fetch.backoff.ms, 1 s, which a failover then pays). Other errors wait the
 * backoff. */
#define KF_EPOCH_RETRY_MS 50

static int32_t kf_error_backoff(const struct kfetcher *f, int16_t error)
{
	bool epoch_race = error == KREPL_NOT_LEADER_OR_FOLLOWER || error == KREPL_FENCED_LEADER_EPOCH ||
			  error == KREPL_UNKNOWN_LEADER_EPOCH;
	return epoch_race && f->opts.backoff_ms > KF_EPOCH_RETRY_MS ? KF_EPOCH_RETRY_MS : f->opts.backoff_ms;
}

/* Logs an error answer when it differs from the partition's last one, and backs it off. */
static void kf_part_error(struct kf_conn *c, struct kf_part *p, int16_t error, const char *what)
{
	struct kfetcher *f = c->f;
	int32_t ms = kf_error_backoff(f, error);
	if (error != p->last_error)
		log_info(KF_MOD, "%s of %s-%d from leader %d: error %d (%s); backing off %d ms", what, p->topic, p->part,
			 c->leader, error, kf_error_name(error), ms);
	p->last_error = error;
	p->until = kf_now_ms() + ms;
}

static void kf_answer_epochs(struct kf_conn *c, const struct kfw_epoch_resp *er)
{
	struct kfetcher *f = c->f;
	size_t hint = 0;
	for (size_t i = 0; i < er->n_parts; i++) {
		const struct kfw_epoch_presp *pr = &er->parts[i];
		struct kf_sent *s = kf_sent_find(c, pr->topic, pr->topic_len, pr->partition, &hint);
		if (!s)
			continue; /* removed, moved, or never asked: nothing to hand up */
		s->answered = true;
		struct kf_part *p = s->p;
		struct krepl_epoch_resp resp = { .error = (enum krepl_error)pr->error,
						 .current_leader_epoch = s->cur_epoch,
						 .requested_epoch = s->requested_epoch,
						 .leader_epoch = pr->leader_epoch,
						 .end_offset = pr->end_offset };
		if (pr->error)
			kf_part_error(c, p, pr->error, "OffsetForLeaderEpoch");
		else
			p->last_error = 0;
		f->ops.epoch_answer(f->arg, p->topic, p->part, &resp);
		/* p may be gone now: s->p was cleared then */
	}
}

static void kf_answer_fetch(struct kf_conn *c, const struct kfw_fetch_resp *fr)
{
	struct kfetcher *f = c->f;
	size_t hint = 0;
	for (size_t i = 0; i < fr->n_parts; i++) {
		const struct kfw_fetch_presp *pr = &fr->parts[i];
		struct kf_sent *s = kf_sent_find(c, pr->topic, pr->topic_len, pr->partition, &hint);
		if (!s)
			continue;
		s->answered = true;
		struct kf_part *p = s->p;
		struct krepl_fetch_resp resp = { .error = (enum krepl_error)pr->error,
						 .leader_epoch = s->cur_epoch,
						 .fetch_offset = s->fetch_offset,
						 .high_watermark = pr->high_watermark,
						 .log_start = pr->log_start,
						 .diverging = false,
						 .diverging_epoch = -1,
						 .diverging_end_offset = -1,
						 .batches = NULL,
						 .n_batches = 0 };
		if (pr->error) {
			/* up with no records (an error answer's are not the partition's); krepl decides,
			 * OFFSET_OUT_OF_RANGE by truncating or resetting, the others by waiting for the
			 * controller, and this partition waits out the backoff meanwhile */
			if (pr->error != KREPL_OFFSET_OUT_OF_RANGE)
				kf_part_error(c, p, pr->error, "fetch");
			f->ops.fetch_answer(f->arg, p->topic, p->part, &resp, NULL, 0);
			continue;
		}
		p->last_error = 0;
		if (pr->n_batches > f->cap_scratch) {
			struct krepl_batch *b = realloc(f->scratch, pr->n_batches * sizeof(*b));
			if (!b) {
				log_warn(KF_MOD, "fetch of %s-%d from leader %d: out of memory", p->topic, p->part,
					 c->leader);
				p->until = kf_now_ms() + f->opts.backoff_ms;
				continue;
			}
			f->scratch = b;
			f->cap_scratch = pr->n_batches;
		}
		for (size_t b = 0; b < pr->n_batches; b++) {
			const struct kfw_batch *kb = &fr->batches[pr->first_batch + b];
			f->scratch[b] = (struct krepl_batch){ kb->base_offset, kb->last_offset, kb->epoch };
		}
		if (pr->bad) {
			/* the whole batches before it still go up; the next fetch starts at the bad one */
			log_warn(KF_MOD, "fetch of %s-%d from leader %d: the batch after offset %lld is refused (%s), "
					 "%zu bytes dropped; backing off %d ms",
				 p->topic, p->part, c->leader,
				 (long long)(pr->n_batches ? f->scratch[pr->n_batches - 1].last_offset : s->fetch_offset - 1),
				 err_str(pr->bad), pr->dropped, f->opts.backoff_ms);
			p->until = kf_now_ms() + f->opts.backoff_ms;
			if (!pr->n_batches)
				continue;
		}
		resp.batches = f->scratch;
		resp.n_batches = pr->n_batches;
		f->ops.fetch_answer(f->arg, p->topic, p->part, &resp, pr->n_batches ? pr->records : NULL,
				    pr->n_batches ? pr->records_len : 0);
	}
}

/* One answer frame from the leader. */
static int kf_frame(struct net_conn *nc, uint8_t *frame, size_t len, void *arg)
{
	struct kf_conn *c = arg;
	char eb[256], why[320];
	(void)nc;
	if (!c)
		return 0;
	if (c->state == KF_AUTH) {
		kf_auth_frame(c, frame, len);
		return 0;
	}
	if (c->state != KF_WAITING) {
		kf_conn_broken(c, "an answer nothing was asked for");
		return 0;
	}
	struct kfw_fetch_resp fr;
	struct kfw_epoch_resp er;
	int32_t corr;
	int rc = c->kind == KF_REQ_FETCH ? kfw_fetch_decode(frame, len, &fr, eb, sizeof(eb))
					 : kfw_epoch_decode(frame, len, &er, eb, sizeof(eb));
	if (rc) {
		snprintf(why, sizeof(why), "bad answer: %s", eb);
		kf_conn_broken(c, why);
		return 0;
	}
	corr = c->kind == KF_REQ_FETCH ? fr.corr : er.corr;
	if (corr != c->corr) {
		snprintf(why, sizeof(why), "answer with correlation id %d, expected %d", corr, c->corr);
		if (c->kind == KF_REQ_FETCH)
			kfw_fetch_resp_free(&fr);
		else
			kfw_epoch_resp_free(&er);
		kf_conn_broken(c, why);
		return 0;
	}
	evtimer_del(c->timer);
	enum kf_kind kind = c->kind;
	kf_conn_set_state(c, KF_READY, "answer");
	c->dispatching = true;
	if (kind == KF_REQ_FETCH) {
		if (fr.error)
			log_warn(KF_MOD, "fetch from leader %d: top-level error %d", c->leader, fr.error);
		kf_answer_fetch(c, &fr);
		kfw_fetch_resp_free(&fr);
	} else {
		kf_answer_epochs(c, &er);
		kfw_epoch_resp_free(&er);
	}
	c->dispatching = false;
	kf_conn_drop_inflight(c);
	if (c->n_parts == 0) {
		log_info(KF_MOD, "no partitions left to follow from leader %d at %s:%d: closing", c->leader, c->host,
			 c->port);
		kf_conn_free(c);
		return 0;
	}
	kf_conn_round_soon(c);
	return 0;
}

/* ---- connection lifetime ---- */

static struct kf_conn *kf_conn_find(struct kfetcher *f, int32_t leader)
{
	struct kf_conn *c;
	LIST_FOREACH(c, &f->conns, link)
		if (c->leader == leader)
			return c;
	return NULL;
}

static struct kf_conn *kf_conn_new(struct kfetcher *f, int32_t leader, const char *host, int port)
{
	struct kf_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->f = f;
	c->leader = leader;
	c->port = port;
	c->fd = -1;
	c->state = KF_BACKOFF;
	c->host = strdup(host);
	c->timer = evtimer_new(f->base, kf_conn_timer, c);
	TAILQ_INIT(&c->parts);
	if (!c->host || !c->timer) {
		free(c->host);
		if (c->timer)
			event_free(c->timer);
		free(c);
		return NULL;
	}
	LIST_INSERT_HEAD(&f->conns, c, link);
	f->n_conns++;
	kf_timer_in(c, 0); /* the first connect runs from the loop */
	return c;
}

static void kf_conn_free(struct kf_conn *c)
{
	if (!c)
		return;
	kf_conn_drop_inflight(c);
	kf_conn_auth_free(c);
	if (c->nc) {
		net_conn_set_arg(c->nc, NULL);
		net_conn_close(c->nc, 0);
	}
	if (c->conn_ev)
		event_free(c->conn_ev);
	if (c->fd >= 0)
		close(c->fd);
	event_free(c->timer);
	LIST_REMOVE(c, link);
	c->f->n_conns--;
	free(c->sent);
	free(c->host);
	free(c);
}

/* Takes p off its connection; a connection left empty closes (later if it is handing up). */
static void kf_part_detach(struct kf_part *p)
{
	struct kf_conn *c = p->c;
	if (!c)
		return;
	if (p->sent_at >= 0) {
		c->sent[p->sent_at].p = NULL;
		p->sent_at = -1;
	}
	TAILQ_REMOVE(&c->parts, p, clink);
	c->n_parts--;
	p->c = NULL;
	if (c->n_parts == 0 && !c->dispatching) {
		log_info(KF_MOD, "no partitions left to follow from leader %d at %s:%d: closing", c->leader, c->host,
			 c->port);
		kf_conn_free(c);
	}
}

/* ---- the interface ---- */

struct kfetcher *kfetcher_new(struct event_base *base, int32_t my_broker_id, const struct kfetcher_ops *ops, void *arg)
{
	struct kfetcher *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->base = base;
	f->id = my_broker_id;
	f->ops = *ops;
	f->arg = arg;
	kfetcher_opts_default(&f->opts);
	snprintf(f->client_id, sizeof(f->client_id), "broker-%d-fetcher-0", my_broker_id);
	f->n_buckets = 64;
	f->buckets = calloc(f->n_buckets, sizeof(*f->buckets));
	if (!f->buckets) {
		free(f);
		return NULL;
	}
	LIST_INIT(&f->conns);
	return f;
}

void kfetcher_free(struct kfetcher *f)
{
	if (!f)
		return;
	struct kf_conn *c; /* first: they clear the in-flight marks of their partitions */
	while ((c = LIST_FIRST(&f->conns)))
		kf_conn_free(c);
	for (size_t i = 0; i < f->n_buckets; i++) {
		struct kf_part *p = f->buckets[i], *next;
		for (; p; p = next) {
			next = p->hnext;
			free(p->topic);
			free(p);
		}
	}
	free(f->buckets);
	free(f->scratch);
	explicit_bzero(f->sasl_pass, sizeof(f->sasl_pass));
	free(f);
}

void kfetcher_set_tls(struct kfetcher *f, struct tls_ctx *tls, bool check_host)
{
	f->tls = tls;
	f->tls_check_host = check_host;
}

int kfetcher_set_sasl(struct kfetcher *f, enum ksasl_mech mech, const char *user, const char *pass)
{
	if (strlen(user) >= sizeof(f->sasl_user) || strlen(pass) >= sizeof(f->sasl_pass))
		return ERR_INVAL;
	f->sasl = true;
	f->sasl_mech = mech;
	snprintf(f->sasl_user, sizeof(f->sasl_user), "%s", user);
	snprintf(f->sasl_pass, sizeof(f->sasl_pass), "%s", pass);
	return 0;
}

void kfetcher_set_opts(struct kfetcher *f, const struct kfetcher_opts *o)
{
	if (o->max_wait_ms > 0)
		f->opts.max_wait_ms = o->max_wait_ms;
	if (o->min_bytes > 0)
		f->opts.min_bytes = o->min_bytes;
	if (o->max_bytes > 0)
		f->opts.max_bytes = o->max_bytes;
	if (o->partition_max_bytes > 0)
		f->opts.partition_max_bytes = o->partition_max_bytes;
	if (o->backoff_ms > 0)
		f->opts.backoff_ms = o->backoff_ms;
	if (o->socket_timeout_ms > 0)
		f->opts.socket_timeout_ms = o->socket_timeout_ms;
}

int kfetcher_add(struct kfetcher *f, const char *topic, int32_t part, int32_t leader_id, const char *host, int port,
		 struct krepl *k)
{
	if (!topic || !*topic || strlen(topic) > KF_TOPIC_MAX || part < 0 || leader_id < 0 || leader_id == f->id ||
	    !host || !*host || port <= 0 || port > 65535 || !k)
		return ERR_INVAL;
	struct kf_conn *c = kf_conn_find(f, leader_id);
	char *new_host = NULL;
	if (c && (strcmp(c->host, host) != 0 || c->port != port) && !(new_host = strdup(host))) {
		kfetcher_remove(f, topic, part);
		return ERR_NOMEM;
	}
	struct kf_part *p = *kf_part_slot(f, topic, part);
	if (!p) {
		if (kf_part_grow(f) || !(p = calloc(1, sizeof(*p))) || !(p->topic = strdup(topic))) {
			free(p);
			free(new_host);
			return ERR_NOMEM;
		}
		p->part = part;
		p->sent_at = -1;
		*kf_part_slot(f, topic, part) = p; /* after the growth */
		f->n_parts++;
	}
	if (!c) {
		c = kf_conn_new(f, leader_id, host, port);
		if (!c) {
			kfetcher_remove(f, topic, part);
			return ERR_NOMEM;
		}
	} else if (new_host) {
		log_info(KF_MOD, "leader %d moved from %s:%d to %s:%d: reconnecting", leader_id, c->host, c->port, host,
			 port);
		free(c->host);
		c->host = new_host;
		c->port = port;
		c->failures = 0;
		kf_conn_backoff(c, 0, "new address");
	}
	if (p->c != c) {
		kf_part_detach(p);
		p->c = c;
		TAILQ_INSERT_TAIL(&c->parts, p, clink);
		c->n_parts++;
	}
	p->k = k;
	p->until = 0; /* a new LeaderAndIsr: ask at once */
	p->last_error = 0;
	kf_conn_round_soon(c);
	return 0;
}

void kfetcher_remove(struct kfetcher *f, const char *topic, int32_t part)
{
	if (!topic)
		return;
	struct kf_part **slot = kf_part_slot(f, topic, part);
	struct kf_part *p = *slot;
	if (!p)
		return;
	*slot = p->hnext;
	f->n_parts--;
	kf_part_detach(p);
	free(p->topic);
	free(p);
}

size_t kfetcher_partitions(const struct kfetcher *f)
{
	return f->n_parts;
}

size_t kfetcher_connections(const struct kfetcher *f)
{
	return f->n_conns;
}

bool kfetcher_connected(const struct kfetcher *f, int32_t leader_id)
{
	const struct kf_conn *c;
	LIST_FOREACH(c, &f->conns, link)
		if (c->leader == leader_id)
			return c->state == KF_READY || c->state == KF_WAITING;
	return false;
}
