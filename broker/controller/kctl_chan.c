/*
 * kctl_chan — both ends of the controller's channel (see kctl_chan.h for the protocol, the epoch
 * rules and the liveness diagram). This file owns the broker end's listener and connections with
 * its highest controller epoch and broker epoch, and the controller end's per-broker links: the
 * TCP state of each link (DOWN, CONNECTING, PROBING: connected with a first heartbeat out, UP:
 * that heartbeat answered and requests flowing), the broker's liveness (ALIVE, SUSPECT, DEAD),
 * the request FIFO with its one request in flight, and the heartbeat clock.
 *
 * Invariants of a controller link:
 *   - requests are sent only on an UP link, the FIFO's head only, and at most one is in flight
 *     (head->sent); a link going down clears head->sent so the head is sent again on the next
 *     UP link;
 *   - at most one heartbeat is outstanding per connection (hb_out, hb_corr, hb_sent_at);
 *   - a DEAD broker has an empty FIFO (its requests were failed with ERR_CLOSED on the way);
 *   - a removed link is off the list, has no connection and no armed event, and is freed only by
 *     the reaper, at the loop's next turn (STYLE rule 11), so callbacks may remove links.
 * Loop thread only.
 */
#include "kctl_chan.h"

#include "buf.h"
#include "err.h"
#include "log.h"
#include "net.h"
#include "tls.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <netdb.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define KCTL_MOD "kctl"
#define KCTL_MAX_CONNS 64	     /* controller connections one broker end accepts */
#define KCTL_CONNECT_TIMEOUT_MS 1000 /* a connect attempt pending this long fails */
#define KCTL_OUT_HIGH ((size_t)1 << 20)

static uint64_t kctl_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int kctl_default_port(int listener_port)
{
	if (listener_port <= 0)
		return 0;
	return listener_port + 1000 > 65535 ? -1 : listener_port + 1000;
}

/* ================================ probe ===================================================== */

struct kctl_probe {
	struct event_base *base;
	struct event *ev;
	evutil_socket_t fd;
	bool holding;	   /* connected; waiting to see the connection kept */
	uint64_t deadline; /* ms */
	void (*cb)(bool up, void *arg);
	void *arg;
};

static void kctl_probe_report(struct kctl_probe *p, bool up)
{
	if (p->fd >= 0) {
		evutil_closesocket(p->fd);
		p->fd = -1;
	}
	p->cb(up, p->arg); /* may free p */
}

/*
 * Connected: a live listener keeps the connection, while one whose process is exiting resets
 * it (the kernel closes a dead process's connections before its listening socket, and closing
 * a listener resets the connections still in its accept queue), so the connection must stay
 * open until the deadline.
 */
static void kctl_probe_fired(evutil_socket_t fd, short what, void *arg)
{
	struct kctl_probe *p = arg;
	if (fd < 0 || (what & EV_TIMEOUT)) {
		kctl_probe_report(p, fd >= 0 && p->holding);
		return;
	}
	if (!p->holding) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
			kctl_probe_report(p, false);
			return;
		}
		p->holding = true;
		event_free(p->ev);
		uint64_t now = kctl_now_ms(), left = p->deadline > now ? p->deadline - now : 0;
		struct timeval tv = { (time_t)(left / 1000), (suseconds_t)((left % 1000) * 1000) };
		p->ev = event_new(p->base, fd, EV_READ, kctl_probe_fired, p);
		if (!p->ev || event_add(p->ev, &tv))
			kctl_probe_report(p, true); /* connected, at least */
		return;
	}
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_PEEK);
	kctl_probe_report(p, n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)));
}

int kctl_probe_new(struct event_base *base, const char *host, int port, uint32_t timeout_ms,
		   void (*cb)(bool up, void *arg), void *arg, struct kctl_probe **out)
{
	struct addrinfo hints, *ai = NULL;
	char ps[16];
	struct kctl_probe *p = calloc(1, sizeof(*p));
	*out = NULL;
	if (!p)
		return ERR_NOMEM;
	p->base = base;
	p->fd = -1;
	p->cb = cb;
	p->arg = arg;
	p->deadline = kctl_now_ms() + timeout_ms;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(ps, sizeof(ps), "%d", port);
	if (getaddrinfo(host, ps, &hints, &ai) == 0 && ai) {
		p->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (p->fd >= 0 && connect(p->fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
			evutil_closesocket(p->fd); /* refused at once */
			p->fd = -1;
		}
		freeaddrinfo(ai);
	}
	/* the connect's end (or a failure known now, reported from the loop all the same) */
	struct timeval tv = { p->fd >= 0 ? timeout_ms / 1000 : 0, p->fd >= 0 ? (timeout_ms % 1000) * 1000 : 0 };
	p->ev = event_new(base, p->fd, p->fd >= 0 ? EV_WRITE : 0, kctl_probe_fired, p);
	if (!p->ev || event_add(p->ev, &tv)) {
		kctl_probe_free(p);
		return ERR_NOMEM;
	}
	*out = p;
	return 0;
}

void kctl_probe_free(struct kctl_probe *p)
{
	if (!p)
		return;
	if (p->ev)
		event_free(p->ev);
	if (p->fd >= 0)
		evutil_closesocket(p->fd);
	free(p);
}

/* ================================ broker end ================================================ */

struct kctl_sconn {
	struct kctl_srv *s;
	struct net_conn *c;
	struct kctl_sconn *prev, *next;
	int32_t controller_id;	  /* of the last request taken on it; -1 none yet */
	int32_t controller_epoch; /* of that request */
	uint64_t last_rx_ms;	  /* when a frame last came in (heartbeats included) */
	bool silence_told;	  /* controller_silent was called for this silence */
};

struct kctl_srv {
	struct event_base *base;
	struct net_listener *l;
	int32_t broker_id;
	int64_t broker_epoch;	  /* ours; -1 unknown */
	int32_t controller_epoch; /* the highest seen; -1 none yet */
	struct kctl_srv_cbs cbs;
	void *arg;
	struct kctl_sconn *conns;
	size_t n_conns;
	bool paused;
	struct wbuf out; /* the response being encoded */
	uint32_t silence_ms;	 /* 0: the current controller's silence is not watched */
	struct net_timer *tick;	 /* every silence_ms / 4 while watched */
	uint64_t last_tick_ms;	 /* a tick much later than due: this process was not running */
	struct tls_ctx *tls;	 /* borrowed (kctl_srv_set_tls); NULL: plaintext */
};

/* The refusal code for request m, or 0 if it may be handed on. */
static int32_t kctl_srv_refusal(const struct kctl_srv *s, const struct kctl_msg *m, const char *peer)
{
	if (m->version != KCTL_VERSION) {
		log_warn(KCTL_MOD, "%s from controller %d (%s) speaks channel version %u, we speak %u; refused",
			 kctl_type_name(m->type), m->controller_id, peer, m->version, KCTL_VERSION);
		return KCTL_ERR_UNSUPPORTED_VERSION;
	}
	if (m->broker_epoch != -1 && s->broker_epoch != -1 && m->broker_epoch < s->broker_epoch) {
		log_info(KCTL_MOD,
			 "%s from controller %d (%s) carries broker epoch %" PRId64 ", ours is %" PRId64 "; refused",
			 kctl_type_name(m->type), m->controller_id, peer, m->broker_epoch, s->broker_epoch);
		return KCTL_ERR_STALE_BROKER_EPOCH;
	}
	if (m->controller_epoch < s->controller_epoch) {
		log_info(KCTL_MOD, "%s from controller %d (%s) in controller epoch %d, we have seen %d; refused",
			 kctl_type_name(m->type), m->controller_id, peer, m->controller_epoch, s->controller_epoch);
		return KCTL_ERR_STALE_CONTROLLER_EPOCH;
	}
	return 0;
}

/* Handles one decoded request and queues its response. 0, or an error that closes c. */
static int kctl_srv_handle(struct kctl_srv *s, struct kctl_sconn *sc, const struct kctl_msg *m)
{
	struct net_conn *c = sc->c;
	struct kctl_msg r = { .type = (enum kctl_type)(m->type + 1), .version = KCTL_VERSION,
			      .correlation_id = m->correlation_id };
	size_t n = m->type == KCTL_LEADER_AND_ISR ? m->n_parts : m->type == KCTL_STOP_REPLICA ? m->n_stops : 0;
	int32_t *errs = NULL;
	struct kctl_part_err *pe = NULL;
	int rc = 0;

	if (n) {
		errs = calloc(n, sizeof(*errs));
		pe = calloc(n, sizeof(*pe));
		if (!errs || !pe) {
			rc = ERR_NOMEM;
			goto out;
		}
	}
	int32_t code = kctl_srv_refusal(s, m, net_conn_peer(c));
	if (code == 0) {
		if (m->controller_epoch > s->controller_epoch) {
			log_info(KCTL_MOD, "controller epoch %d -> %d (controller %d)", s->controller_epoch,
				 m->controller_epoch, m->controller_id);
			s->controller_epoch = m->controller_epoch;
		}
		if (sc->controller_id < 0 && s->tls) {
			char subject[256];
			tls_peer_subject(net_conn_ssl(c), subject, sizeof(subject));
			log_info(KCTL_MOD, "controller %d speaks from %s over mutual TLS as %s", m->controller_id,
				 net_conn_peer(c), subject);
		}
		sc->controller_id = m->controller_id;
		sc->controller_epoch = m->controller_epoch;
		switch (m->type) {
		case KCTL_LEADER_AND_ISR:
			code = s->cbs.on_leader_and_isr ? s->cbs.on_leader_and_isr(m, errs, s->arg)
							: KCTL_ERR_UNKNOWN_SERVER_ERROR;
			break;
		case KCTL_UPDATE_METADATA:
			code = s->cbs.on_update_metadata ? s->cbs.on_update_metadata(m, s->arg)
							 : KCTL_ERR_UNKNOWN_SERVER_ERROR;
			break;
		case KCTL_STOP_REPLICA:
			code = s->cbs.on_stop_replica ? s->cbs.on_stop_replica(m, errs, s->arg)
						      : KCTL_ERR_UNKNOWN_SERVER_ERROR;
			break;
		default:
			break; /* a heartbeat: answered below */
		}
	} else {
		for (size_t i = 0; i < n; i++)
			errs[i] = code;
	}
	for (size_t i = 0; i < n; i++) {
		if (m->type == KCTL_LEADER_AND_ISR) {
			pe[i].topic = m->parts[i].topic;
			pe[i].partition = m->parts[i].partition;
		} else {
			pe[i].topic = m->stops[i].topic;
			pe[i].partition = m->stops[i].partition;
		}
		pe[i].error_code = errs[i];
	}
	r.error_code = code;
	r.errors = pe;
	r.n_errors = n;
	if (m->type == KCTL_HEARTBEAT) {
		r.broker_id = s->broker_id;
		r.broker_epoch = s->broker_epoch;
		r.controller_epoch = s->controller_epoch;
	}
	wbuf_reset(&s->out);
	rc = kctl_msg_encode(&r, &s->out);
	if (rc) {
		log_error(KCTL_MOD, "cannot encode the %s to %s: %s", kctl_type_name(r.type), net_conn_peer(c),
			  err_str(rc));
		goto out;
	}
	rc = net_conn_send(c, s->out.p, s->out.len);
out:
	free(errs);
	free(pe);
	return rc;
}

static int kctl_srv_frame(struct net_conn *c, uint8_t *p, size_t len, void *arg)
{
	struct kctl_sconn *sc = arg;
	struct kctl_msg m;
	char eb[256];

	if (!sc)
		return ERR_CLOSED;
	sc->last_rx_ms = kctl_now_ms();
	sc->silence_told = false;
	int rc = kctl_msg_decode(p, len, &m, eb, sizeof(eb));
	if (rc) {
		log_warn(KCTL_MOD, "malformed frame from controller at %s: %s; closing", net_conn_peer(c), eb);
		return rc;
	}
	if (!kctl_type_is_request((int)m.type)) {
		log_warn(KCTL_MOD, "unexpected %s from controller at %s; closing", kctl_type_name(m.type),
			 net_conn_peer(c));
		kctl_msg_clear(&m);
		return ERR_PROTO;
	}
	rc = kctl_srv_handle(sc->s, sc, &m);
	kctl_msg_clear(&m);
	return rc;
}

static void kctl_srv_unlink(struct kctl_sconn *sc)
{
	struct kctl_srv *s = sc->s;
	if (sc->prev)
		sc->prev->next = sc->next;
	else
		s->conns = sc->next;
	if (sc->next)
		sc->next->prev = sc->prev;
	s->n_conns--;
}

static void kctl_srv_closed(struct net_conn *c, int err, void *arg)
{
	struct kctl_sconn *sc = arg;
	if (!sc)
		return;
	struct kctl_srv *s = sc->s;
	int32_t id = sc->controller_id, epoch = sc->controller_epoch;
	log_debug(KCTL_MOD, "controller connection from %s closed (%s)", net_conn_peer(c), err_str(err));
	/* a handshake that failed (a plaintext peer, no or an untrusted certificate) is a refusal;
	 * a peer that closed without a word (a controller's liveness probe) is not */
	struct ssl_st *ssl = net_conn_ssl(c);
	if (ssl && !SSL_is_init_finished(ssl) && err == ERR_IO)
		log_warn(KCTL_MOD,
			 "control-plane connection from %s refused: no TLS handshake with a trusted certificate "
			 "(a plaintext peer, or its certificate missing or untrusted)",
			 net_conn_peer(c));
	kctl_srv_unlink(sc);
	free(sc);
	/* the current controller's connection ended without our doing (EOF, reset) */
	if (id >= 0 && id != s->broker_id && epoch == s->controller_epoch && (err == ERR_CLOSED || err == ERR_IO) &&
	    s->cbs.controller_lost)
		s->cbs.controller_lost(id, epoch, s->arg);
}

static void kctl_srv_accept(evutil_socket_t fd, const struct sockaddr *sa, int salen, void *arg)
{
	struct kctl_srv *s = arg;
	(void)sa;
	(void)salen;
	if (s->n_conns >= KCTL_MAX_CONNS) {
		log_warn(KCTL_MOD, "control-plane listener: already %d controller connections; refusing another",
			 KCTL_MAX_CONNS);
		evutil_closesocket(fd);
		return;
	}
	struct kctl_sconn *sc = calloc(1, sizeof(*sc));
	if (!sc) {
		evutil_closesocket(fd);
		return;
	}
	struct net_conn_opts opts = { .max_frame = KCTL_MAX_FRAME, .out_high = KCTL_OUT_HIGH, .out_hard = 0 };
	struct net_conn_cbs cbs = { .frame = kctl_srv_frame, .closed = kctl_srv_closed };
	sc->s = s;
	sc->controller_id = -1;
	sc->controller_epoch = -1;
	sc->last_rx_ms = kctl_now_ms();
	if (s->tls) {
		/* mutual TLS: the peer must present a certificate the truststore vouches for; a
		 * plaintext peer or one without such a certificate fails the handshake, logged by
		 * net_conn and by kctl_srv_closed naming its address, before any frame is read */
		struct ssl_st *ssl = tls_ctx_ssl_fresh(s->tls, NULL, KCTL_MOD);
		if (!ssl) {
			evutil_closesocket(fd);
			free(sc);
			return;
		}
		tls_ssl_require_peer(ssl);
		sc->c = net_conn_new_tls(s->base, fd, ssl, true, &opts, &cbs, sc); /* owns fd and ssl */
	} else {
		sc->c = net_conn_new(s->base, fd, &opts, &cbs, sc); /* owns fd, also on failure */
	}
	if (!sc->c) {
		free(sc);
		return;
	}
	sc->next = s->conns;
	if (s->conns)
		s->conns->prev = sc;
	s->conns = sc;
	s->n_conns++;
	if (s->paused)
		net_conn_pause_read(sc->c);
	log_debug(KCTL_MOD, "controller connection from %s", net_conn_peer(sc->c));
}

int kctl_srv_new(struct event_base *base, const char *host, int port, int32_t broker_id,
		 const struct kctl_srv_cbs *cbs, void *arg, struct kctl_srv **out, char *eb, size_t el)
{
	struct kctl_srv *s = calloc(1, sizeof(*s));
	*out = NULL;
	if (!s)
		return err_set(eb, el, ERR_NOMEM, "out of memory");
	s->base = base;
	s->broker_id = broker_id;
	s->broker_epoch = -1;
	s->controller_epoch = -1;
	if (cbs)
		s->cbs = *cbs;
	s->arg = arg;
	wbuf_init(&s->out, (size_t)KCTL_MAX_FRAME + 4);
	int rc = net_listen(base, host ? host : "", port, 64, kctl_srv_accept, s, &s->l, eb, el);
	if (rc) {
		err_wrap(eb, el, "control-plane listener: ");
		wbuf_free(&s->out);
		free(s);
		return rc;
	}
	log_info(KCTL_MOD, "control-plane listener on port %d (broker %d)", net_listener_port(s->l), broker_id);
	*out = s;
	return 0;
}

/*
 * The current controller's silence: its connection (the highest controller epoch seen, never
 * ours) brought no frame, not even a heartbeat (every 250 ms), for silence_ms — a controller
 * paused (SIGSTOP, a stall) or cut off keeps its TCP connection open, so no EOF tells us. Told
 * once per silence. A tick far later than due means this process itself did not run (it was
 * the one paused): the frames may be waiting unread, so every clock starts again instead.
 */
static void kctl_srv_tick(void *arg)
{
	struct kctl_srv *s = arg;
	uint64_t now = kctl_now_ms();
	bool self_stalled = s->last_tick_ms && now - s->last_tick_ms > s->silence_ms / 2;
	s->last_tick_ms = now;
	if (s->paused)
		return;
	for (struct kctl_sconn *sc = s->conns; sc; sc = sc->next) {
		if (self_stalled) {
			sc->last_rx_ms = now;
			continue;
		}
		if (sc->silence_told || sc->controller_id < 0 || sc->controller_id == s->broker_id ||
		    sc->controller_epoch != s->controller_epoch || now - sc->last_rx_ms < s->silence_ms)
			continue;
		sc->silence_told = true;
		log_warn(KCTL_MOD, "controller %d (epoch %d, %s) silent for %" PRIu64 " ms", sc->controller_id,
			 sc->controller_epoch, net_conn_peer(sc->c), now - sc->last_rx_ms);
		if (s->cbs.controller_silent)
			s->cbs.controller_silent(sc->controller_id, sc->controller_epoch, s->arg);
	}
}

int kctl_srv_watch_silence(struct kctl_srv *s, uint32_t silence_ms)
{
	net_timer_free(s->tick);
	s->tick = NULL;
	s->silence_ms = silence_ms;
	s->last_tick_ms = 0;
	if (!silence_ms)
		return 0;
	uint64_t now = kctl_now_ms();
	for (struct kctl_sconn *sc = s->conns; sc; sc = sc->next)
		sc->last_rx_ms = now;
	s->tick = net_timer_new(s->base, silence_ms / 4 ? silence_ms / 4 : 1, true, kctl_srv_tick, s);
	return s->tick ? 0 : ERR_NOMEM;
}

void kctl_srv_free(struct kctl_srv *s)
{
	if (!s)
		return;
	net_timer_free(s->tick);
	net_listener_free(s->l);
	while (s->conns) {
		struct kctl_sconn *sc = s->conns;
		s->conns = sc->next;
		net_conn_set_arg(sc->c, NULL);
		net_conn_close(sc->c, ERR_CLOSED);
		free(sc);
	}
	wbuf_free(&s->out);
	free(s);
}

void kctl_srv_set_tls(struct kctl_srv *s, struct tls_ctx *tls)
{
	s->tls = tls;
	log_info(KCTL_MOD, "control-plane listener on port %d: %s", net_listener_port(s->l),
		 tls ? "mutual TLS, a trusted peer certificate required" : "plaintext");
}

int kctl_srv_port(const struct kctl_srv *s)
{
	return net_listener_port(s->l);
}

void kctl_srv_set_broker_epoch(struct kctl_srv *s, int64_t broker_epoch)
{
	s->broker_epoch = broker_epoch;
}

void kctl_srv_raise_controller_epoch(struct kctl_srv *s, int32_t controller_epoch)
{
	if (controller_epoch > s->controller_epoch)
		s->controller_epoch = controller_epoch;
}

int32_t kctl_srv_controller_epoch(const struct kctl_srv *s)
{
	return s->controller_epoch;
}

void kctl_srv_pause(struct kctl_srv *s, bool paused)
{
	s->paused = paused;
	for (struct kctl_sconn *sc = s->conns; sc; sc = sc->next) {
		if (paused)
			net_conn_pause_read(sc->c);
		else
			net_conn_resume_read(sc->c);
	}
}

/* ================================ controller end ============================================ */

enum kctl_link_state { KCTL_LINK_DOWN, KCTL_LINK_CONNECTING, KCTL_LINK_PROBING, KCTL_LINK_UP };
static const char *const kctl_link_state_names[] = { "DOWN", "CONNECTING", "PROBING", "UP" };

enum kctl_live { KCTL_ALIVE, KCTL_SUSPECT, KCTL_DEAD };
static const char *const kctl_live_names[] = { "ALIVE", "SUSPECT", "DEAD" };

struct kctl_req {
	uint8_t *frame; /* the whole frame, length included */
	size_t len;
	int32_t corr;
	enum kctl_type type;
	bool sent; /* in flight on the current connection */
	kctl_done_cb done;
	void *arg;
	struct kctl_req *next;
};

struct kctl_link {
	struct kctl_ctrl *ctrl;
	int32_t id;
	char host[KCTL_MAX_NAME + 1];
	int port;
	int64_t broker_epoch;
	enum kctl_link_state state;
	enum kctl_live live;
	bool removed;
	evutil_socket_t fd;	 /* while CONNECTING */
	struct event *conn_ev;	 /* while CONNECTING */
	struct event *retry_ev;	 /* armed while DOWN */
	struct net_conn *c;	 /* while PROBING or UP */
	uint32_t backoff_ms;	 /* the next retry's delay */
	uint64_t unanswered_ms;	 /* ALIVE: waiting for a heartbeat answer since (0: not waiting) */
	uint64_t confirm_by_ms;	 /* SUSPECT: DEAD unless answered by then */
	bool hb_out;		 /* a heartbeat outstanding on c */
	int32_t hb_corr;
	uint64_t hb_sent_ms;
	uint64_t hb_answered_ms; /* the last answer on c */
	struct kctl_req *head, *tail;
	size_t n_queued, queued_bytes;
	struct kctl_link *next;
};

struct kctl_ctrl {
	struct event_base *base;
	int32_t controller_id;
	int32_t controller_epoch;
	struct kctl_ctrl_opts o;
	struct kctl_ctrl_cbs cbs;
	void *arg;
	struct kctl_link *links;
	struct kctl_link *reap; /* removed links, freed by reap_ev */
	struct event *reap_ev;
	struct net_timer *tick;
	int32_t next_corr;
	struct wbuf scratch; /* heartbeats */
	bool deposed_logged; /* a broker has seen a newer controller epoch (logged once) */
	struct tls_ctx *tls; /* borrowed (kctl_ctrl_set_tls); NULL: plaintext */
	bool tls_check_host; /* the broker's certificate must name its host */
};

static void kctl_link_connect(struct kctl_link *l);

static int32_t kctl_ctrl_corr(struct kctl_ctrl *c)
{
	if (c->next_corr == INT32_MAX)
		c->next_corr = 0;
	return ++c->next_corr;
}

static void kctl_link_set_state(struct kctl_link *l, enum kctl_link_state to, const char *why)
{
	if (l->state != to)
		log_debug(KCTL_MOD, "link to broker %d (%s:%d): %s -> %s (%s)", l->id, l->host, l->port,
			  kctl_link_state_names[l->state], kctl_link_state_names[to], why);
	l->state = to;
}

/* The one place liveness changes: legal edges are ALIVE->SUSPECT, ALIVE->DEAD, SUSPECT->ALIVE,
 * SUSPECT->DEAD, DEAD->ALIVE. */
static void kctl_link_set_live(struct kctl_link *l, enum kctl_live to, const char *why)
{
	enum kctl_live from = l->live;
	if (from == to)
		return;
	if (!((from == KCTL_ALIVE && (to == KCTL_SUSPECT || to == KCTL_DEAD)) ||
	      (from == KCTL_SUSPECT && (to == KCTL_ALIVE || to == KCTL_DEAD)) || (from == KCTL_DEAD && to == KCTL_ALIVE))) {
		log_error(KCTL_MOD, "broker %d: illegal liveness change %s -> %s", l->id, kctl_live_names[from],
			  kctl_live_names[to]);
		abort();
	}
	l->live = to;
	log_msg(to == KCTL_DEAD ? LOG_WARN : LOG_INFO, KCTL_MOD, "broker %d (%s:%d): %s -> %s (%s)", l->id, l->host,
		l->port, kctl_live_names[from], kctl_live_names[to], why);
}

static void kctl_req_free_list(struct kctl_req *r)
{
	while (r) {
		struct kctl_req *n = r->next;
		free(r->frame);
		free(r);
		r = n;
	}
}

/* Detaches the FIFO; returns its head. */
static struct kctl_req *kctl_link_take_queue(struct kctl_link *l)
{
	struct kctl_req *r = l->head;
	l->head = l->tail = NULL;
	l->n_queued = 0;
	l->queued_bytes = 0;
	return r;
}

/* Drops the connection or the connect attempt (no callback of it will touch l); DOWN. */
static void kctl_link_drop_conn(struct kctl_link *l, const char *why)
{
	if (l->c) {
		net_conn_set_arg(l->c, NULL);
		net_conn_close(l->c, ERR_CLOSED);
		l->c = NULL;
	}
	if (l->conn_ev) {
		event_free(l->conn_ev);
		l->conn_ev = NULL;
	}
	if (l->fd >= 0) {
		evutil_closesocket(l->fd);
		l->fd = -1;
	}
	l->hb_out = false;
	if (l->head)
		l->head->sent = false;
	kctl_link_set_state(l, KCTL_LINK_DOWN, why);
}

/* DOWN with the retry timer armed at the current backoff, which then doubles. */
static void kctl_link_retry_later(struct kctl_link *l)
{
	struct timeval tv = { l->backoff_ms / 1000, (l->backoff_ms % 1000) * 1000 };
	evtimer_add(l->retry_ev, &tv);
	uint32_t max = l->ctrl->o.backoff_max_ms;
	l->backoff_ms = l->backoff_ms * 2 > max ? max : l->backoff_ms * 2;
}

/* Declares l DEAD: drops the connection, fails the FIFO with ERR_CLOSED, reports broker_dead
 * (last), and keeps retrying with backoff to see it come back. */
static void kctl_link_dead(struct kctl_link *l, const char *why)
{
	struct kctl_ctrl *c = l->ctrl;
	kctl_link_drop_conn(l, why);
	kctl_link_set_live(l, KCTL_DEAD, why);
	l->unanswered_ms = 0;
	l->backoff_ms = c->o.backoff_min_ms;
	kctl_link_retry_later(l);
	struct kctl_req *r = kctl_link_take_queue(l);
	for (struct kctl_req *x = r; x; x = x->next)
		if (x->done)
			x->done(l->id, ERR_CLOSED, NULL, x->arg);
	kctl_req_free_list(r);
	if (c->cbs.broker_dead)
		c->cbs.broker_dead(l->id, c->arg);
}

/* A connect attempt failed, or a connection closed. */
static void kctl_link_failed(struct kctl_link *l, const char *why)
{
	if (l->live == KCTL_SUSPECT) {
		kctl_link_dead(l, why); /* confirmed: nothing answers there */
		return;
	}
	kctl_link_drop_conn(l, why);
	if (l->live == KCTL_ALIVE && l->unanswered_ms == 0)
		l->unanswered_ms = kctl_now_ms(); /* no answer without a connection: the clock runs */
	kctl_link_retry_later(l);
}

/* A connect attempt failed with err (an errno). Refused means nothing listens on the port: a
 * registered broker listens on its control plane before it registers, so its process is gone
 * (killed while its coordinator session lives on, or a restart not yet listening). */
static void kctl_link_connect_failed(struct kctl_link *l, int err, const char *why)
{
	if (err == ECONNREFUSED && l->live == KCTL_ALIVE) {
		kctl_link_set_live(l, KCTL_SUSPECT, why);
		kctl_link_dead(l, why);
		return;
	}
	kctl_link_failed(l, why);
}

static int kctl_link_send_heartbeat(struct kctl_link *l)
{
	struct kctl_ctrl *c = l->ctrl;
	struct kctl_msg m = { .type = KCTL_HEARTBEAT, .version = KCTL_VERSION, .correlation_id = kctl_ctrl_corr(c),
			      .controller_id = c->controller_id, .controller_epoch = c->controller_epoch,
			      .broker_epoch = l->broker_epoch };
	wbuf_reset(&c->scratch);
	int rc = kctl_msg_encode(&m, &c->scratch);
	if (rc == 0)
		rc = net_conn_send(l->c, c->scratch.p, c->scratch.len);
	if (rc)
		return rc;
	l->hb_out = true;
	l->hb_corr = m.correlation_id;
	l->hb_sent_ms = kctl_now_ms();
	if (l->live == KCTL_ALIVE && l->unanswered_ms == 0)
		l->unanswered_ms = l->hb_sent_ms;
	return 0;
}

/* Sends the FIFO's head if the link is UP and nothing is in flight. */
static void kctl_link_pump(struct kctl_link *l)
{
	if (l->state != KCTL_LINK_UP || !l->head || l->head->sent)
		return;
	if (net_conn_send(l->c, l->head->frame, l->head->len) == 0)
		l->head->sent = true; /* else the connection is closing: resent on the next one */
}

static int kctl_link_frame(struct net_conn *nc, uint8_t *p, size_t len, void *arg);
static void kctl_link_closed(struct net_conn *nc, int err, void *arg);

/* TCP is up: wrap it, probe with a heartbeat. */
static void kctl_link_established(struct kctl_link *l)
{
	struct net_conn_opts opts = { .max_frame = KCTL_MAX_FRAME, .out_high = KCTL_OUT_HIGH, .out_hard = 0 };
	struct net_conn_cbs cbs = { .frame = kctl_link_frame, .closed = kctl_link_closed };
	evutil_socket_t fd = l->fd;

	l->fd = -1;
	if (l->conn_ev) {
		event_free(l->conn_ev);
		l->conn_ev = NULL;
	}
	if (l->ctrl->tls) {
		/* the handshake runs under the first heartbeat (queued bytes leave after it); one
		 * that fails (the broker's certificate untrusted, or ours refused) is logged by
		 * net_conn naming the broker and closes the link: retried with backoff, and the
		 * broker goes DEAD when no heartbeat is answered in time, as for any silent one */
		struct ssl_st *ssl = tls_ctx_ssl_fresh(l->ctrl->tls, l->ctrl->tls_check_host ? l->host : NULL, KCTL_MOD);
		if (!ssl) {
			evutil_closesocket(fd);
			kctl_link_failed(l, "cannot set up TLS");
			return;
		}
		l->c = net_conn_new_tls(l->ctrl->base, fd, ssl, false, &opts, &cbs, l); /* owns fd and ssl */
	} else {
		l->c = net_conn_new(l->ctrl->base, fd, &opts, &cbs, l); /* owns fd, also on failure */
	}
	if (!l->c) {
		kctl_link_failed(l, "out of memory");
		return;
	}
	kctl_link_set_state(l, KCTL_LINK_PROBING, "connected");
	if (kctl_link_send_heartbeat(l))
		kctl_link_failed(l, "cannot send a heartbeat");
}

static void kctl_link_connected(evutil_socket_t fd, short what, void *arg)
{
	struct kctl_link *l = arg;
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	char why[160];

	if (what & EV_TIMEOUT) {
		kctl_link_failed(l, "connect timed out");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
		soerr = errno;
	if (soerr) {
		snprintf(why, sizeof(why), "connect failed: %s", strerror(soerr));
		kctl_link_connect_failed(l, soerr, why);
		return;
	}
	kctl_link_established(l);
}

/*
 * Starts a non-blocking connect. The name is resolved here, on the loop: brokers register IP
 * addresses or names in /etc/hosts in practice; a slow resolver would stall the loop that long.
 */
static void kctl_link_connect(struct kctl_link *l)
{
	struct addrinfo hints, *ai = NULL;
	char port[16], why[320];

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", l->port);
	kctl_link_set_state(l, KCTL_LINK_CONNECTING, "connecting");
	int g = getaddrinfo(l->host, port, &hints, &ai);
	if (g != 0 || !ai) {
		snprintf(why, sizeof(why), "cannot resolve %s: %s", l->host, gai_strerror(g));
		kctl_link_failed(l, why);
		return;
	}
	l->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		freeaddrinfo(ai);
		snprintf(why, sizeof(why), "socket: %s", strerror(errno));
		kctl_link_failed(l, why);
		return;
	}
	int r = connect(l->fd, ai->ai_addr, ai->ai_addrlen);
	int e = errno;
	freeaddrinfo(ai);
	if (r == 0) {
		kctl_link_established(l);
		return;
	}
	if (e != EINPROGRESS) {
		snprintf(why, sizeof(why), "connect failed: %s", strerror(e));
		kctl_link_connect_failed(l, e, why);
		return;
	}
	struct timeval tv = { KCTL_CONNECT_TIMEOUT_MS / 1000, (KCTL_CONNECT_TIMEOUT_MS % 1000) * 1000 };
	l->conn_ev = event_new(l->ctrl->base, l->fd, EV_WRITE, kctl_link_connected, l);
	if (!l->conn_ev || event_add(l->conn_ev, &tv))
		kctl_link_failed(l, "out of memory");
}

static void kctl_link_retry_fired(evutil_socket_t fd, short what, void *arg)
{
	struct kctl_link *l = arg;
	(void)fd;
	(void)what;
	if (l->state == KCTL_LINK_DOWN && !l->removed)
		kctl_link_connect(l);
}

/* A heartbeat answered on l->c. */
static void kctl_link_answered(struct kctl_link *l, const struct kctl_msg *m)
{
	struct kctl_ctrl *c = l->ctrl;
	enum kctl_live was = l->live;

	l->hb_out = false;
	l->hb_answered_ms = kctl_now_ms();
	l->unanswered_ms = 0;
	if (m->error_code == KCTL_ERR_STALE_CONTROLLER_EPOCH && !c->deposed_logged) {
		c->deposed_logged = true;
		log_warn(KCTL_MOD, "broker %d has seen controller epoch %d, above ours (%d): this controller is deposed",
			 l->id, m->controller_epoch, c->controller_epoch);
	}
	if (l->state == KCTL_LINK_PROBING) {
		kctl_link_set_state(l, KCTL_LINK_UP, "heartbeat answered");
		l->backoff_ms = c->o.backoff_min_ms;
		if (was != KCTL_ALIVE)
			kctl_link_set_live(l, KCTL_ALIVE, was == KCTL_DEAD ? "answers again" : "reconnected");
		kctl_link_pump(l);
		if (was == KCTL_DEAD && c->cbs.broker_alive)
			c->cbs.broker_alive(l->id, c->arg); /* last: it may remove l */
	}
}

static int kctl_link_frame(struct net_conn *nc, uint8_t *p, size_t len, void *arg)
{
	struct kctl_link *l = arg;
	struct kctl_msg m;
	char eb[256];

	if (!l)
		return ERR_CLOSED;
	int rc = kctl_msg_decode(p, len, &m, eb, sizeof(eb));
	if (rc) {
		log_warn(KCTL_MOD, "malformed frame from broker %d (%s): %s; closing", l->id, net_conn_peer(nc), eb);
		return rc;
	}
	rc = ERR_PROTO;
	if (m.type == KCTL_HEARTBEAT_RESP && l->hb_out && m.correlation_id == l->hb_corr) {
		kctl_link_answered(l, &m);
		rc = 0;
	} else if (l->state == KCTL_LINK_UP && l->head && l->head->sent && m.correlation_id == l->head->corr &&
		   m.type == l->head->type + 1) {
		struct kctl_req *r = l->head;
		l->head = r->next;
		if (!l->head)
			l->tail = NULL;
		l->n_queued--;
		l->queued_bytes -= r->len;
		kctl_link_pump(l);
		if (r->done)
			r->done(l->id, 0, &m, r->arg); /* may send, add or remove: l stays allocated */
		free(r->frame);
		free(r);
		rc = 0;
	} else {
		log_warn(KCTL_MOD, "unexpected %s (correlation id %d) from broker %d (%s); closing",
			 kctl_type_name(m.type), m.correlation_id, l->id, net_conn_peer(nc));
	}
	kctl_msg_clear(&m);
	return rc;
}

static void kctl_link_closed(struct net_conn *nc, int err, void *arg)
{
	struct kctl_link *l = arg;
	char why[96];
	if (!l || l->c != nc)
		return;
	l->c = NULL; /* freed by net right after this returns */
	enum kctl_link_state was = l->state;
	snprintf(why, sizeof(why), "connection closed: %s", err_str(err));
	if (was == KCTL_LINK_UP && l->live == KCTL_ALIVE) {
		/* EOF or reset on an established connection: a killed process, or a restart. Confirm
		 * by reconnecting at once. */
		kctl_link_drop_conn(l, why);
		kctl_link_set_live(l, KCTL_SUSPECT, why);
		l->confirm_by_ms = kctl_now_ms() + l->ctrl->o.confirm_ms;
		kctl_link_connect(l);
		return;
	}
	kctl_link_failed(l, why);
}

/* Every heartbeat_interval_ms: heartbeats, and the deadlines of the liveness diagram. */
static void kctl_ctrl_tick(void *arg)
{
	struct kctl_ctrl *c = arg;
	uint64_t now;
	char why[96];

	/* A DEAD report runs callbacks that may add or remove links: the walk starts over after
	 * one (each link dies at most once per tick, so this ends). The clock is read again then:
	 * a heartbeat sent during the first walk is stamped later than its `now`. */
again:
	now = kctl_now_ms();
	for (struct kctl_link *l = c->links; l; l = l->next) {
		if (l->live == KCTL_SUSPECT && now >= l->confirm_by_ms) {
			snprintf(why, sizeof(why), "not confirmed alive within %u ms of its connection breaking",
				 c->o.confirm_ms);
			kctl_link_dead(l, why);
			goto again;
		}
		if (l->live == KCTL_ALIVE && l->unanswered_ms && now >= l->unanswered_ms + c->o.heartbeat_timeout_ms) {
			snprintf(why, sizeof(why), "no heartbeat answer for %" PRIu64 " ms", now - l->unanswered_ms);
			kctl_link_dead(l, why);
			goto again;
		}
		if (l->state != KCTL_LINK_UP && l->state != KCTL_LINK_PROBING)
			continue;
		if (l->hb_out) {
			/* DEAD or SUSPECT probes that stay unanswered: try a fresh connection */
			if (now >= l->hb_sent_ms + c->o.heartbeat_timeout_ms) {
				kctl_link_failed(l, "heartbeat unanswered on this connection");
				goto again; /* l is DOWN now: not met again */
			}
			continue;
		}
		if (l->state == KCTL_LINK_UP && now + 5 >= l->hb_answered_ms + c->o.heartbeat_interval_ms &&
		    kctl_link_send_heartbeat(l)) {
			kctl_link_failed(l, "cannot send a heartbeat");
			goto again;
		}
	}
}

static void kctl_link_free(struct kctl_link *l)
{
	if (l->c) {
		net_conn_set_arg(l->c, NULL);
		net_conn_close(l->c, ERR_CLOSED);
	}
	if (l->conn_ev)
		event_free(l->conn_ev);
	if (l->fd >= 0)
		evutil_closesocket(l->fd);
	if (l->retry_ev)
		event_free(l->retry_ev);
	kctl_req_free_list(l->head);
	free(l);
}

static void kctl_ctrl_reap(evutil_socket_t fd, short what, void *arg)
{
	struct kctl_ctrl *c = arg;
	(void)fd;
	(void)what;
	while (c->reap) {
		struct kctl_link *l = c->reap;
		c->reap = l->next;
		kctl_link_free(l);
	}
}

int kctl_ctrl_new(struct event_base *base, int32_t controller_id, int32_t controller_epoch,
		  const struct kctl_ctrl_opts *opts, const struct kctl_ctrl_cbs *cbs, void *arg,
		  struct kctl_ctrl **out, char *eb, size_t el)
{
	struct kctl_ctrl *c;
	struct kctl_ctrl_opts o = { 0 };

	*out = NULL;
	if (opts)
		o = *opts;
	o.heartbeat_interval_ms = o.heartbeat_interval_ms ? o.heartbeat_interval_ms : 250;
	o.heartbeat_timeout_ms = o.heartbeat_timeout_ms ? o.heartbeat_timeout_ms : 3000;
	o.confirm_ms = o.confirm_ms ? o.confirm_ms : 1000;
	o.backoff_min_ms = o.backoff_min_ms ? o.backoff_min_ms : 50;
	o.backoff_max_ms = o.backoff_max_ms ? o.backoff_max_ms : 1000;
	o.queue_bytes = o.queue_bytes ? o.queue_bytes : (size_t)64 << 20;
	if (o.heartbeat_timeout_ms <= o.heartbeat_interval_ms || o.backoff_max_ms < o.backoff_min_ms)
		return err_set(eb, el, ERR_INVAL,
			       "controller channel: heartbeat timeout %u ms must exceed the interval %u ms, backoff "
			       "max %u ms be at least min %u ms",
			       o.heartbeat_timeout_ms, o.heartbeat_interval_ms, o.backoff_max_ms, o.backoff_min_ms);
	c = calloc(1, sizeof(*c));
	if (!c)
		return err_set(eb, el, ERR_NOMEM, "out of memory");
	c->base = base;
	c->controller_id = controller_id;
	c->controller_epoch = controller_epoch;
	c->o = o;
	if (cbs)
		c->cbs = *cbs;
	c->arg = arg;
	wbuf_init(&c->scratch, 1024);
	c->reap_ev = event_new(base, -1, 0, kctl_ctrl_reap, c);
	c->tick = net_timer_new(base, o.heartbeat_interval_ms, true, kctl_ctrl_tick, c);
	if (!c->reap_ev || !c->tick) {
		kctl_ctrl_free(c);
		return err_set(eb, el, ERR_NOMEM, "out of memory");
	}
	*out = c;
	return 0;
}

void kctl_ctrl_free(struct kctl_ctrl *c)
{
	if (!c)
		return;
	while (c->links) {
		struct kctl_link *l = c->links;
		c->links = l->next;
		kctl_link_free(l);
	}
	while (c->reap) {
		struct kctl_link *l = c->reap;
		c->reap = l->next;
		kctl_link_free(l);
	}
	if (c->reap_ev)
		event_free(c->reap_ev);
	net_timer_free(c->tick);
	wbuf_free(&c->scratch);
	free(c);
}

void kctl_ctrl_set_tls(struct kctl_ctrl *c, struct tls_ctx *tls, bool check_host)
{
	c->tls = tls;
	c->tls_check_host = check_host;
}

static struct kctl_link *kctl_ctrl_find(const struct kctl_ctrl *c, int32_t id)
{
	for (struct kctl_link *l = c->links; l; l = l->next)
		if (l->id == id)
			return l;
	return NULL;
}

int kctl_ctrl_add_broker(struct kctl_ctrl *c, int32_t id, const char *host, int control_port, int64_t broker_epoch)
{
	if (id < 0 || !host || !host[0] || strlen(host) > KCTL_MAX_NAME || control_port <= 0 || control_port > 65535)
		return ERR_INVAL;
	struct kctl_link *l = kctl_ctrl_find(c, id);
	if (l) {
		if (l->broker_epoch != broker_epoch)
			log_info(KCTL_MOD, "broker %d registered again (broker epoch %" PRId64 " -> %" PRId64 ")", id,
				 l->broker_epoch, broker_epoch);
		l->broker_epoch = broker_epoch;
		if (strcmp(l->host, host) == 0 && l->port == control_port)
			return 0;
		snprintf(l->host, sizeof(l->host), "%s", host);
		l->port = control_port;
		kctl_link_drop_conn(l, "address changed");
		l->backoff_ms = 0; /* reconnect at the loop's next turn, not inside this call */
		event_del(l->retry_ev);
		kctl_link_retry_later(l);
		l->backoff_ms = c->o.backoff_min_ms;
		return 0;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return ERR_NOMEM;
	l->ctrl = c;
	l->id = id;
	snprintf(l->host, sizeof(l->host), "%s", host);
	l->port = control_port;
	l->broker_epoch = broker_epoch;
	l->fd = -1;
	l->state = KCTL_LINK_DOWN;
	l->live = KCTL_ALIVE;
	l->backoff_ms = c->o.backoff_min_ms;
	l->unanswered_ms = kctl_now_ms(); /* answer within the timeout, or DEAD */
	l->retry_ev = evtimer_new(c->base, kctl_link_retry_fired, l);
	if (!l->retry_ev) {
		free(l);
		return ERR_NOMEM;
	}
	l->next = c->links;
	c->links = l;
	log_info(KCTL_MOD, "broker %d at %s:%d (broker epoch %" PRId64 ") added", id, host, control_port,
		 broker_epoch);
	kctl_link_connect(l);
	return 0;
}

void kctl_ctrl_remove_broker(struct kctl_ctrl *c, int32_t id)
{
	struct kctl_link **pp = &c->links;
	while (*pp && (*pp)->id != id)
		pp = &(*pp)->next;
	struct kctl_link *l = *pp;
	if (!l)
		return;
	*pp = l->next;
	l->removed = true;
	kctl_link_drop_conn(l, "removed");
	event_del(l->retry_ev);
	kctl_req_free_list(kctl_link_take_queue(l));
	l->next = c->reap;
	c->reap = l;
	event_active(c->reap_ev, EV_TIMEOUT, 0);
	log_info(KCTL_MOD, "broker %d removed", id);
}

int kctl_ctrl_send(struct kctl_ctrl *c, int32_t id, const struct kctl_msg *m, kctl_done_cb done, void *arg)
{
	struct kctl_link *l = kctl_ctrl_find(c, id);
	struct wbuf w;
	if (!l)
		return ERR_NOTFOUND;
	if (l->live == KCTL_DEAD)
		return ERR_CLOSED;
	if (!kctl_type_is_request((int)m->type) || m->type == KCTL_HEARTBEAT)
		return ERR_INVAL;
	struct kctl_msg s = *m;
	s.version = KCTL_VERSION;
	s.correlation_id = kctl_ctrl_corr(c);
	s.controller_id = c->controller_id;
	s.controller_epoch = c->controller_epoch;
	s.broker_epoch = l->broker_epoch;
	s.priv = NULL;
	wbuf_init(&w, (size_t)KCTL_MAX_FRAME + 4);
	int rc = kctl_msg_encode(&s, &w);
	if (rc) {
		wbuf_free(&w);
		return rc;
	}
	if (l->queued_bytes + w.len > c->o.queue_bytes) {
		log_warn(KCTL_MOD, "queue to broker %d is over %zu bytes; %s refused", id, c->o.queue_bytes,
			 kctl_type_name(s.type));
		wbuf_free(&w);
		return ERR_FULL;
	}
	struct kctl_req *r = calloc(1, sizeof(*r));
	if (!r) {
		wbuf_free(&w);
		return ERR_NOMEM;
	}
	r->frame = w.p; /* taken from w */
	r->len = w.len;
	r->corr = s.correlation_id;
	r->type = s.type;
	r->done = done;
	r->arg = arg;
	if (l->tail)
		l->tail->next = r;
	else
		l->head = r;
	l->tail = r;
	l->n_queued++;
	l->queued_bytes += r->len;
	kctl_link_pump(l);
	return 0;
}

bool kctl_ctrl_alive(const struct kctl_ctrl *c, int32_t id)
{
	const struct kctl_link *l = kctl_ctrl_find(c, id);
	return l && l->live != KCTL_DEAD;
}

size_t kctl_ctrl_undelivered(const struct kctl_ctrl *c, int32_t except)
{
	size_t n = 0;
	for (const struct kctl_link *l = c ? c->links : NULL; l; l = l->next)
		if (l->id != except && l->live != KCTL_DEAD)
			n += l->n_queued;
	return n;
}

size_t kctl_ctrl_queued(const struct kctl_ctrl *c, int32_t id)
{
	const struct kctl_link *l = kctl_ctrl_find(c, id);
	return l ? l->n_queued : 0;
}
