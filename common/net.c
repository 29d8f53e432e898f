/*
 * net — listener, framed connections, timers and signals on libevent (see net.h).
 *
 * Connection invariants: once `closing` is set no frame is delivered and nothing more is read;
 * the reap event runs `closed` and frees. Reading is enabled only when neither the output
 * backpressure (bp_paused) nor the application (app_paused) holds it, and not while closing
 * or flushing before a close. The same conditions stop frame delivery: frames already in the
 * input buffer wait there (bounded by one read) and are delivered, through a deferred read
 * callback, when the hold is lifted (net_conn_kick).
 */
#include "net.h"

#include "buf.h"
#include "err.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define NET_IO_CHUNK ((size_t)256 << 10) /* bytes per read or write system call, at most */
#define NET_IO_MIN ((size_t)16 << 10)	  /* a read's room when no partial frame says more */

static const char *const NET_MOD = "net";

struct net_listener {
	struct evconnlistener *evl;
	net_accept_cb cb;
	void *arg;
	int port;
};

struct net_conn {
	struct bufferevent *bev;
	struct event *reap_ev;
	struct net_conn_opts opts;
	struct net_conn_cbs cbs;
	void *arg;
	bool preface_done;
	bool raw;	   /* preface took the connection out of framing */
	bool closing;	   /* reap scheduled */
	bool flush_close;  /* close once output is empty */
	bool bp_paused;	   /* output over out_high */
	bool app_paused;   /* net_conn_pause_read */
	bool in_read;	   /* net_conn_read is on the stack: a bufferevent that runs its read
			      callback synchronously could re-enter it from a frame callback;
			      the outer call then picks the new bytes up */
	int close_err;
	/* A socket connection reads itself (libevent 2.1's bufferevent reads 4 KiB per system
	 * call, whatever is waiting): read_ev is the socket's EV_READ, added while reading. NULL
	 * over a bufferevent given to net_conn_new_bev, which then reads as libevent does. */
	struct event *read_ev;
	size_t want;	   /* bytes still missing for the frame at the head of the input (0: none) */
	uint64_t reads;	   /* read system calls on the socket (net_conn_reads) */
	int rcvlowat;	   /* the socket's SO_RCVLOWAT (0: not a socket of ours, never set) */
	bool tls;	   /* over bufferevent_openssl (net_conn_new_tls) */
	char peer[64];
};

/* ---- listener ---- */

static void net_listener_accept(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa,
				int salen, void *arg)
{
	struct net_listener *l = arg;
	(void)evl;
	l->cb(fd, sa, salen, l->arg);
}

static void net_listener_error(struct evconnlistener *evl, void *arg)
{
	int e = EVUTIL_SOCKET_ERROR();
	(void)evl;
	(void)arg;
	/* EMFILE and friends: keep listening; libevent retries on the next readiness */
	log_warn(NET_MOD, "accept failed: %s", evutil_socket_error_to_string(e));
}

int net_listen(struct event_base *base, const char *host, int port, int backlog, net_accept_cb accept_cb,
	       void *arg, struct net_listener **out, char *errbuf, size_t errlen)
{
	struct addrinfo hints, *ai = NULL;
	char portstr[16];
	const char *h = (host && *host) ? host : "0.0.0.0";
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(portstr, sizeof(portstr), "%d", port);
	int g = getaddrinfo(h, portstr, &hints, &ai);
	if (g != 0 || !ai)
		return err_set(errbuf, errlen, ERR_IO, "cannot resolve listen address %s:%d: %s", h, port,
			       gai_strerror(g));
	struct net_listener *l = calloc(1, sizeof(*l));
	if (!l) {
		freeaddrinfo(ai);
		return err_set(errbuf, errlen, ERR_NOMEM, "listener for %s:%d: out of memory", h, port);
	}
	l->cb = accept_cb;
	l->arg = arg;
	l->evl = evconnlistener_new_bind(base, net_listener_accept, l,
					 LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
					 backlog, ai->ai_addr, (int)ai->ai_addrlen);
	freeaddrinfo(ai);
	if (!l->evl) {
		int e = errno;
		free(l);
		return err_set(errbuf, errlen, ERR_IO, "cannot listen on %s:%d: %s", h, port, strerror(e));
	}
	evconnlistener_set_error_cb(l->evl, net_listener_error);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	l->port = port;
	if (getsockname(evconnlistener_get_fd(l->evl), (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET)
			l->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			l->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	*out = l;
	return 0;
}

int net_listener_port(const struct net_listener *l)
{
	return l ? l->port : -1;
}

void net_listener_free(struct net_listener *l)
{
	if (!l)
		return;
	evconnlistener_free(l->evl);
	free(l);
}

/* ---- connections ---- */

/* True while frames may be delivered and the peer read from. */
static bool net_conn_reading(const struct net_conn *c)
{
	return !(c->closing || c->flush_close || c->raw || c->bp_paused || c->app_paused);
}

static void net_conn_update_read(struct net_conn *c)
{
	if (c->read_ev) {
		if (net_conn_reading(c))
			event_add(c->read_ev, NULL);
		else
			event_del(c->read_ev);
		return;
	}
	if (net_conn_reading(c))
		bufferevent_enable(c->bev, EV_READ);
	else
		bufferevent_disable(c->bev, EV_READ);
}

/* After a hold is lifted: delivers frames that arrived before it, from a deferred callback
 * (never re-entering the caller, which may be a frame callback of this connection). */
static void net_conn_kick(struct net_conn *c)
{
	if (net_conn_reading(c) && evbuffer_get_length(bufferevent_get_input(c->bev)) >= 4)
		bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

static void net_conn_reap(evutil_socket_t fd, short what, void *arg)
{
	struct net_conn *c = arg;
	(void)fd;
	(void)what;
	if (c->cbs.closed)
		c->cbs.closed(c, c->close_err, c->arg);
	if (c->read_ev)
		event_free(c->read_ev);
	bufferevent_free(c->bev);
	event_free(c->reap_ev);
	free(c);
}

void net_conn_close(struct net_conn *c, int err)
{
	if (!c || c->closing)
		return;
	c->closing = true;
	c->close_err = err;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	if (c->read_ev)
		event_del(c->read_ev);
	event_active(c->reap_ev, EV_TIMEOUT, 0);
}

void net_conn_set_max_frame(struct net_conn *c, size_t max_frame)
{
	c->opts.max_frame = max_frame;
}

void net_conn_close_after_flush(struct net_conn *c)
{
	if (!c || c->closing)
		return;
	c->flush_close = true;
	net_conn_update_read(c);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		net_conn_close(c, 0);
		return;
	}
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_enable(c->bev, EV_WRITE);
}

/*
 * The rest of a frame is `more` bytes away: the socket wakes the loop only once that much has
 * arrived (or 256 KiB, or the peer closed), through SO_RCVLOWAT, which epoll honours for TCP.
 * Without it a 1 MB frame arriving over loopback wakes the reader for every few KiB: three
 * system calls each (epoll_wait, FIONREAD, readv), the bulk of a replica's time under load.
 * Back to 1 once no frame is partial. A failed setsockopt only costs the extra wake-ups.
 */
static void net_conn_want(struct net_conn *c, size_t more)
{
	c->want = more > 1 ? more : 0;
	int v = (int)(more > NET_IO_CHUNK ? NET_IO_CHUNK : more ? more : 1);
	if (c->rcvlowat == 0 || c->rcvlowat == v)
		return;
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof(v)) == 0)
		c->rcvlowat = v;
}

/* The frame reader proper (see net_conn_read): preface, then every complete frame while the
 * connection is reading. Lengths are checked before the payload is waited for or pulled up. */
static void net_conn_read_frames(struct net_conn *c, struct evbuffer *in)
{
	uint8_t hdr[4];

	if (!c->preface_done) {
		if (evbuffer_get_length(in) < 4)
			return;
		c->preface_done = true;
		if (c->cbs.preface) {
			evbuffer_copyout(in, hdr, 4);
			if (c->cbs.preface(c, hdr, c->arg) == 1) {
				c->raw = true;
				evbuffer_drain(in, evbuffer_get_length(in));
				net_conn_update_read(c);
				return;
			}
		}
	}
	while (net_conn_reading(c)) {
		size_t avail = evbuffer_get_length(in);
		if (avail < 4) {
			net_conn_want(c, 1);
			return;
		}
		evbuffer_copyout(in, hdr, 4);
		int32_t len = (int32_t)be32_get(hdr);
		if (len < 0) {
			log_warn(NET_MOD, "negative frame length %d from %s; closing", len, c->peer);
			net_conn_close(c, ERR_CORRUPT);
			return;
		}
		if ((size_t)len > c->opts.max_frame) {
			log_warn(NET_MOD, "frame of %d bytes from %s is over the maximum of %zu; closing", len,
				 c->peer, c->opts.max_frame);
			net_conn_close(c, ERR_TOOBIG);
			return;
		}
		if (avail - 4 < (size_t)len) {
			net_conn_want(c, (size_t)len + 4 - avail);
			return;
		}
		evbuffer_drain(in, 4);
		uint8_t empty = 0;
		uint8_t *p = len ? evbuffer_pullup(in, len) : &empty;
		if (!p) {
			net_conn_close(c, ERR_NOMEM);
			return;
		}
		int rc = c->cbs.frame ? c->cbs.frame(c, p, (size_t)len, c->arg) : 0;
		evbuffer_drain(in, (size_t)len);
		if (rc < 0)
			net_conn_close(c, rc);
	}
}

/* bufferevent read callback: delivers every complete frame in the input buffer. */
static void net_conn_read(struct bufferevent *bev, void *arg)
{
	struct net_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (c->in_read)
		return; /* nested: the outer loop picks the new bytes up */
	if (c->closing || c->raw || c->flush_close) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	if (!net_conn_reading(c))
		return; /* held: net_conn_kick delivers later */
	c->in_read = true;
	net_conn_read_frames(c, in);
	c->in_read = false;
}

static void net_conn_event(struct bufferevent *bev, short what, void *arg);

/* Reads once from fd into in, at most room bytes: 0 (read), 1 (nothing yet), BEV_EVENT_EOF or
 * BEV_EVENT_ERROR (the stream ended or failed), ERR_NOMEM. */
static int net_conn_read_into(evutil_socket_t fd, struct evbuffer *in, size_t room, uint64_t *reads)
{
	struct evbuffer_iovec v[2];
	struct iovec iov[2];
	int nv = evbuffer_reserve_space(in, (ev_ssize_t)room, v, 2);
	if (nv <= 0)
		return ERR_NOMEM;
	for (int i = 0; i < nv; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len;
	}
	ssize_t n = readv(fd, iov, nv);
	(*reads)++;
	if (n <= 0) {
		int e = errno;
		evbuffer_commit_space(in, v, 0);
		if (n < 0 && (e == EAGAIN || e == EWOULDBLOCK || e == EINTR))
			return 1;
		return n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR;
	}
	size_t got = (size_t)n;
	int used = 0;
	for (int i = 0; i < nv && got > 0; i++, used++) {
		if (v[i].iov_len > got)
			v[i].iov_len = got;
		got -= v[i].iov_len;
	}
	return evbuffer_commit_space(in, v, used) ? ERR_NOMEM : 0;
}

/*
 * A socket connection's socket is readable: one read of what the frame being received still
 * lacks (at least NET_IO_MIN, at most NET_IO_CHUNK) into the input buffer, then the frames.
 * End of stream and errors go where the bufferevent would send them (net_conn_event).
 */
static void net_conn_readable(evutil_socket_t fd, short what, void *arg)
{
	struct net_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	(void)what;
	if (c->closing || !net_conn_reading(c))
		return;
	size_t room = c->want > NET_IO_CHUNK ? NET_IO_CHUNK : c->want < NET_IO_MIN ? NET_IO_MIN : c->want;
	/* the bufferevent keeps its input's end frozen but for its own reads: so do we */
	evbuffer_unfreeze(in, 0);
	int rc = net_conn_read_into(fd, in, room, &c->reads);
	evbuffer_freeze(in, 0);
	if (rc == 0) {
		net_conn_read(c->bev, c);
	} else if (rc == ERR_NOMEM) {
		net_conn_close(c, ERR_NOMEM);
	} else if (rc != 1) {
		event_del(c->read_ev); /* an ended stream stays readable: no busy loop */
		net_conn_event(c->bev, (short)(BEV_EVENT_READING | rc), c);
	}
}

static void net_conn_write(struct bufferevent *bev, void *arg)
{
	struct net_conn *c = arg;
	size_t out = evbuffer_get_length(bufferevent_get_output(bev));
	if (c->closing)
		return;
	if (c->flush_close && out == 0) {
		net_conn_close(c, 0);
		return;
	}
	if (c->bp_paused && out <= c->opts.out_high / 2) {
		c->bp_paused = false;
		net_conn_update_read(c);
		net_conn_kick(c);
	}
}

static void net_conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct net_conn *c = arg;
	if (what & BEV_EVENT_EOF) {
		if (c->flush_close && evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
			return; /* half-closed peer: still deliver the reply */
		net_conn_close(c, ERR_CLOSED);
	} else if (what & BEV_EVENT_ERROR) {
		if (c->tls && !c->closing) {
			/* a failed handshake (a plaintext client, an untrusted certificate) or a broken
			 * record: say why, naming the peer */
			unsigned long e = bufferevent_get_openssl_error(bev);
			char why[256] = "the connection failed";
			if (e)
				ERR_error_string_n(e, why, sizeof(why));
			while (bufferevent_get_openssl_error(bev))
				;
			log_warn(NET_MOD, "TLS with %s failed: %s", c->peer, why);
		}
		net_conn_close(c, ERR_IO);
	}
}

struct net_conn *net_conn_new_bev(struct bufferevent *bev, const struct net_conn_opts *opts,
				  const struct net_conn_cbs *cbs, void *arg)
{
	struct net_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		bufferevent_free(bev);
		return NULL;
	}
	c->bev = bev;
	c->opts = *opts;
	if (!c->opts.out_high)
		c->opts.out_high = 1u << 20;
	if (!c->opts.out_hard || c->opts.out_hard < c->opts.out_high)
		c->opts.out_hard = c->opts.out_high * 64;
	c->cbs = *cbs;
	c->arg = arg;
	snprintf(c->peer, sizeof(c->peer), "pair");
	c->reap_ev = event_new(bufferevent_get_base(bev), -1, 0, net_conn_reap, c);
	if (!c->reap_ev) {
		bufferevent_free(bev);
		free(c);
		return NULL;
	}
	bufferevent_setcb(bev, net_conn_read, net_conn_write, net_conn_event, c);
	/* the write callback fires when output drains to half the high mark */
	bufferevent_setwatermark(bev, EV_WRITE, c->opts.out_high / 2, 0);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	return c;
}

/* c->peer from the socket's peer address: "127.0.0.1:53211", "[::1]:9092". */
static void net_conn_name_peer(struct net_conn *c, evutil_socket_t fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
		snprintf(c->peer, sizeof(c->peer), "%s:%d", host, ntohs(((struct sockaddr_in *)&ss)->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof(host));
		snprintf(c->peer, sizeof(c->peer), "[%s]:%d", host, ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
	}
}

struct net_conn *net_conn_new(struct event_base *base, evutil_socket_t fd, const struct net_conn_opts *opts,
			      const struct net_conn_cbs *cbs, void *arg)
{
	int one = 1;
	evutil_make_socket_nonblocking(fd);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct bufferevent *bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		evutil_closesocket(fd);
		return NULL;
	}
	/* libevent writes a socket 16 KiB per call by default (a 1 MB Fetch answer: 64 rounds of
	 * sendfile + epoll_wait), and reads it 4 KiB per call whatever the limit, so reads are
	 * ours (net_conn_readable) */
	bufferevent_set_max_single_write(bev, NET_IO_CHUNK);
	struct net_conn *c = net_conn_new_bev(bev, opts, cbs, arg);
	if (!c)
		return NULL;
	bufferevent_disable(bev, EV_READ);
	c->read_ev = event_new(bufferevent_get_base(bev), fd, EV_READ | EV_PERSIST, net_conn_readable, c);
	if (!c->read_ev) {
		bufferevent_free(bev);
		event_free(c->reap_ev);
		free(c);
		return NULL;
	}
	c->rcvlowat = 1; /* the kernel's default */
	net_conn_update_read(c);
	net_conn_name_peer(c, fd);
	return c;
}

struct net_conn *net_conn_new_tls(struct event_base *base, evutil_socket_t fd, struct ssl_st *ssl, bool accepting,
				  const struct net_conn_opts *opts, const struct net_conn_cbs *cbs, void *arg)
{
	int one = 1;
	evutil_make_socket_nonblocking(fd);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct bufferevent *bev = bufferevent_openssl_socket_new(
		base, fd, ssl, accepting ? BUFFEREVENT_SSL_ACCEPTING : BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		SSL_free(ssl);
		evutil_closesocket(fd);
		return NULL;
	}
	/* a peer that closes without close_notify is an end of stream, not an error */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	struct net_conn *c = net_conn_new_bev(bev, opts, cbs, arg);
	if (!c)
		return NULL;
	c->tls = true;
	net_conn_name_peer(c, fd);
	return c;
}

struct ssl_st *net_conn_ssl(const struct net_conn *c)
{
	return c->tls ? bufferevent_openssl_get_ssl(c->bev) : NULL;
}

static int net_conn_check_out(struct net_conn *c)
{
	size_t out = evbuffer_get_length(bufferevent_get_output(c->bev));
	if (out > c->opts.out_hard) {
		log_warn(NET_MOD, "output to %s is %zu bytes, over the hard cap of %zu; closing", c->peer, out,
			 c->opts.out_hard);
		net_conn_close(c, ERR_FULL);
		return ERR_FULL;
	}
	if (out > c->opts.out_high && !c->bp_paused) {
		c->bp_paused = true;
		net_conn_update_read(c);
	}
	return 0;
}

int net_conn_send(struct net_conn *c, const void *p, size_t n)
{
	if (c->closing)
		return ERR_CLOSED;
	if (bufferevent_write(c->bev, p, n)) {
		net_conn_close(c, ERR_NOMEM);
		return ERR_NOMEM;
	}
	return net_conn_check_out(c);
}

int net_conn_send_buffer(struct net_conn *c, struct evbuffer *buf)
{
	if (c->closing)
		return ERR_CLOSED;
	if (evbuffer_add_buffer(bufferevent_get_output(c->bev), buf)) {
		net_conn_close(c, ERR_NOMEM);
		return ERR_NOMEM;
	}
	return net_conn_check_out(c);
}

int net_conn_send_frame(struct net_conn *c, const void *p, size_t n)
{
	uint8_t hdr[4];
	if (c->closing)
		return ERR_CLOSED;
	if (n > INT32_MAX)
		return ERR_TOOBIG;
	be32_put(hdr, (uint32_t)n);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	if (evbuffer_add(out, hdr, 4) || evbuffer_add(out, p, n)) {
		net_conn_close(c, ERR_NOMEM);
		return ERR_NOMEM;
	}
	return net_conn_check_out(c);
}

void net_conn_pause_read(struct net_conn *c)
{
	c->app_paused = true;
	net_conn_update_read(c);
}

void net_conn_resume_read(struct net_conn *c)
{
	c->app_paused = false;
	net_conn_update_read(c);
	net_conn_kick(c);
}

uint64_t net_conn_reads(const struct net_conn *c)
{
	return c->reads;
}

size_t net_conn_output_len(const struct net_conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev));
}

const char *net_conn_peer(const struct net_conn *c)
{
	return c->peer;
}

void *net_conn_arg(const struct net_conn *c)
{
	return c->arg;
}

void net_conn_set_arg(struct net_conn *c, void *arg)
{
	c->arg = arg;
}

bool net_conn_closing(const struct net_conn *c)
{
	return c->closing || c->flush_close;
}

/* ---- signals ---- */

struct net_signals {
	struct event *term;
	struct event *intr;
	void (*cb)(int, void *);
	void *arg;
};

static void net_signal_fired(evutil_socket_t sig, short what, void *arg)
{
	struct net_signals *s = arg;
	(void)what;
	s->cb((int)sig, s->arg);
}

struct net_signals *net_signals_new(struct event_base *base, void (*cb)(int signo, void *arg), void *arg)
{
	struct net_signals *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	signal(SIGPIPE, SIG_IGN);
	s->cb = cb;
	s->arg = arg;
	s->term = evsignal_new(base, SIGTERM, net_signal_fired, s);
	s->intr = evsignal_new(base, SIGINT, net_signal_fired, s);
	if (!s->term || !s->intr || evsignal_add(s->term, NULL) || evsignal_add(s->intr, NULL)) {
		net_signals_free(s);
		return NULL;
	}
	return s;
}

void net_signals_free(struct net_signals *s)
{
	if (!s)
		return;
	if (s->term)
		event_free(s->term);
	if (s->intr)
		event_free(s->intr);
	free(s);
}

/* ---- timers ---- */

struct net_timer {
	struct event *ev;
	void (*cb)(void *);
	void *arg;
	uint64_t ms;
};

static void net_timer_fired(evutil_socket_t fd, short what, void *arg)
{
	struct net_timer *t = arg;
	(void)fd;
	(void)what;
	t->cb(t->arg);
}

static void net_timer_arm(struct net_timer *t)
{
	struct timeval tv = { (time_t)(t->ms / 1000), (suseconds_t)((t->ms % 1000) * 1000) };
	evtimer_add(t->ev, &tv);
}

struct net_timer *net_timer_new(struct event_base *base, uint64_t ms, bool repeat, void (*cb)(void *arg),
				void *arg)
{
	struct net_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cb = cb;
	t->arg = arg;
	t->ms = ms;
	t->ev = event_new(base, -1, repeat ? EV_PERSIST : 0, net_timer_fired, t);
	if (!t->ev) {
		free(t);
		return NULL;
	}
	net_timer_arm(t);
	return t;
}

void net_timer_reset(struct net_timer *t, uint64_t ms)
{
	t->ms = ms;
	evtimer_del(t->ev);
	net_timer_arm(t);
}

void net_timer_free(struct net_timer *t)
{
	if (!t)
		return;
	event_free(t->ev);
	free(t);
}
