/*
 * net — networking on libevent for both daemons: a TCP listener, connections that frame their
 * input as 4-byte big-endian length + payload (ZooKeeper's jute and Kafka both do), bounded
 * output with backpressure, deferred close, timers and the shutdown signals.
 *
 * Loop thread only. A connection is never freed inside one of its own callbacks: closing marks
 * it and an event reaps it at a safe point, where `closed` is called exactly once.
 */
#ifndef SAMSA_NET_H
#define SAMSA_NET_H

#include <event2/util.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bufferevent;
struct event_base;
struct net_conn;
struct net_listener;
struct sockaddr;

typedef void (*net_accept_cb)(evutil_socket_t fd, const struct sockaddr *sa, int salen, void *arg);

/*
 * Listens on host:port (host "" or "0.0.0.0" = every IPv4 address, "::" = every address;
 * port 0 = ephemeral). accept_cb owns each accepted fd. Returns 0 with *out set, or ERR_IO
 * with text naming host:port in errbuf.
 */
int net_listen(struct event_base *base, const char *host, int port, int backlog, net_accept_cb accept_cb,
	       void *arg, struct net_listener **out, char *errbuf, size_t errlen);
int net_listener_port(const struct net_listener *l);
void net_listener_free(struct net_listener *l); /* NULL ok */

struct net_conn_opts {
	size_t max_frame; /* a longer frame closes the connection (ERR_TOOBIG) before allocation */
	size_t out_high;  /* output above this stops reading from the peer and delivering frames
			     until it drains to out_high / 2 (0: 1 MiB) */
	size_t out_hard;  /* output above this closes the connection (ERR_FULL; 0 or below
			     out_high: 64 * out_high) */
};

struct net_conn_cbs {
	/* Optional: called once with the first 4 bytes before they are taken as a length. Return 1
	 * to take the connection out of framing (ZooKeeper's four-letter words): no frame callback
	 * follows; reply with net_conn_send and net_conn_close_after_flush. Return 0 to go on. */
	int (*preface)(struct net_conn *c, const uint8_t first4[4], void *arg);
	/* One whole frame without its length; p is valid only during the call and may be
	 * modified in place (the broker assigns offsets inside a Produce request's batches).
	 * Return < 0 to close the connection with that error. */
	int (*frame)(struct net_conn *c, uint8_t *p, size_t len, void *arg);
	/* The connection is gone (peer closed, error, bound broken, or net_conn_close): called
	 * exactly once, from a safe point; c is freed right after it returns. */
	void (*closed)(struct net_conn *c, int err, void *arg);
};

/* Wraps an accepted socket (owned from now on; closed on failure too). NULL on failure. */
struct net_conn *net_conn_new(struct event_base *base, evutil_socket_t fd, const struct net_conn_opts *opts,
			      const struct net_conn_cbs *cbs, void *arg);
/* Wraps a socket in TLS with ssl (from tls_ctx_ssl; both owned from now on, freed on failure
 * too): accepting (server side) or connecting (client side, on a connected socket). Bytes
 * queued before the handshake completes leave after it; a failed handshake closes the
 * connection (ERR_IO) with a log line naming the peer and OpenSSL's reason. */
struct ssl_st;
struct net_conn *net_conn_new_tls(struct event_base *base, evutil_socket_t fd, struct ssl_st *ssl, bool accepting,
				  const struct net_conn_opts *opts, const struct net_conn_cbs *cbs, void *arg);
/* The connection's SSL object (for its peer certificate), NULL for a plaintext connection. */
struct ssl_st *net_conn_ssl(const struct net_conn *c);
/* Same over an existing bufferevent (owned from now on), e.g. one end of bufferevent_pair_new. */
struct net_conn *net_conn_new_bev(struct bufferevent *bev, const struct net_conn_opts *opts,
				  const struct net_conn_cbs *cbs, void *arg);
/* Queues raw bytes (the caller frames them) / one frame with its length prepended. 0, or
 * ERR_CLOSED if closing, ERR_FULL if over out_hard (the connection is then closed). */
int net_conn_send(struct net_conn *c, const void *p, size_t n);
int net_conn_send_frame(struct net_conn *c, const void *p, size_t n);
/* Moves every byte of buf (which may hold file segments added with evbuffer_add_file, sent
 * with sendfile) to the output; the caller framed them. Same results as net_conn_send. */
struct evbuffer;
int net_conn_send_buffer(struct net_conn *c, struct evbuffer *buf);
/* Closes (deferred); err reaches the closed callback. Idempotent. */
void net_conn_close(struct net_conn *c, int err);
/* Stops reading; closes once every queued byte has been written. */
void net_conn_close_after_flush(struct net_conn *c);
/* Application-level throttle, independent of output backpressure: while paused nothing is
 * read and no frame is delivered (not even one already buffered); resume delivers those from
 * a deferred callback, never from inside the call. */
/* Sets the longest frame accepted from now on (a frame already announced is checked against
 * the bound it met). The broker lowers it before a SASL client has authenticated. */
void net_conn_set_max_frame(struct net_conn *c, size_t max_frame);
void net_conn_pause_read(struct net_conn *c);
void net_conn_resume_read(struct net_conn *c);
size_t net_conn_output_len(const struct net_conn *c);
/* Read system calls made on a socket connection's socket so far (0 over net_conn_new_bev).
 * A frame is read in pieces of up to 256 KiB, and the socket wakes the loop only once the
 * rest of a partial frame (up to that much) is there (SO_RCVLOWAT). */
uint64_t net_conn_reads(const struct net_conn *c);
/* "127.0.0.1:53211", "[::1]:9092", or "pair" for a bufferevent pair. */
const char *net_conn_peer(const struct net_conn *c);
void *net_conn_arg(const struct net_conn *c);
void net_conn_set_arg(struct net_conn *c, void *arg);
bool net_conn_closing(const struct net_conn *c);

/* SIGTERM and SIGINT call cb (on the loop); SIGPIPE is ignored. */
struct net_signals;
struct net_signals *net_signals_new(struct event_base *base, void (*cb)(int signo, void *arg), void *arg);
void net_signals_free(struct net_signals *s); /* NULL ok */

/* A timer on the loop: after ms (and every ms if repeat). */
struct net_timer;
struct net_timer *net_timer_new(struct event_base *base, uint64_t ms, bool repeat, void (*cb)(void *arg),
				void *arg);
void net_timer_reset(struct net_timer *t, uint64_t ms);
void net_timer_free(struct net_timer *t); /* NULL ok */

#endif
