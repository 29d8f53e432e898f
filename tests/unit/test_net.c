/*
 * Unit tests for common/net: the frame reader (partial input byte by byte, many frames per
 * read, empty frames, lengths over the maximum or negative), the preface hook (ZooKeeper's
 * "ruok"), deferred close from inside callbacks, output backpressure and the hard cap, the
 * application throttle, loopback TCP through net_listen (echo, peer names, bind conflicts),
 * signals and timers.
 *
 * Connections are driven over bufferevent_pair_new() (the test holds the other end, `peer`)
 * and over real 127.0.0.1 sockets. Every loop run is bounded by a timer; nothing sleeps.
 * Warnings the module logs are captured in a log file under a temporary folder and checked
 * for the peer's name.
 */
#include "buf.h"
#include "err.h"
#include "log.h"
#include "net.h"

#include <arpa/inet.h>
#include "check_main.h"

#include <check.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop_helpers.h"

/* ---- a connection with a scriptable application ---- */

struct fx {
	struct event_base *base;
	struct bufferevent *peer; /* the test's end of the pair (NULL for TCP fixtures) */
	struct net_conn *c;	  /* NULL once closed */
	struct net_conn_opts opts;
	/* what the application saw */
	struct evbuffer *got; /* every frame delivered, re-encoded as length + payload */
	int nframes;
	int prefaces;
	int closed;
	int closed_err;
	int frames_after_close;
	bool close_requested;
	/* what the application does */
	int close_at;	   /* net_conn_close(ERR_PROTO) inside this frame (1-based) */
	int fail_at;	   /* return ERR_VERSION from this frame */
	int pause_at;	   /* net_conn_pause_read inside this frame */
	size_t reply_len;  /* net_conn_send this many bytes per frame */
	int reply_rc;	   /* what the last such send returned */
	bool echo;	   /* net_conn_send_frame the frame back */
	bool use_preface;  /* install the "ruok" preface hook */
	int want_frames;   /* for fx_has_frames */
	size_t want_peer;  /* for fx_peer_has */
};

static const uint8_t zeros[8192];

static int fx_frame(struct net_conn *c, uint8_t *p, size_t len, void *arg)
{
	struct fx *f = arg;
	uint8_t hdr[4];
	ck_assert_ptr_eq(c, f->c);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(f->closed, 0);
	if (f->close_requested)
		f->frames_after_close++;
	f->nframes++;
	be32_put(hdr, (uint32_t)len);
	evbuffer_add(f->got, hdr, 4);
	evbuffer_add(f->got, p, len);
	if (f->reply_len)
		f->reply_rc = net_conn_send(c, zeros, f->reply_len);
	if (f->echo)
		ck_assert_int_eq(net_conn_send_frame(c, p, len), 0);
	if (f->nframes == f->close_at) {
		net_conn_close(c, ERR_PROTO);
		net_conn_close(c, ERR_IO); /* idempotent: the first error stands */
		f->close_requested = true;
		ck_assert_int_eq(net_conn_send(c, "x", 1), ERR_CLOSED);
		ck_assert_int_eq(net_conn_send_frame(c, "x", 1), ERR_CLOSED);
		ck_assert(net_conn_closing(c));
	}
	if (f->nframes == f->pause_at)
		net_conn_pause_read(c);
	if (f->nframes == f->fail_at) {
		f->close_requested = true;
		return ERR_VERSION;
	}
	return 0;
}

static int fx_preface(struct net_conn *c, const uint8_t first4[4], void *arg)
{
	struct fx *f = arg;
	f->prefaces++;
	if (memcmp(first4, "ruok", 4) != 0)
		return 0;
	ck_assert_int_eq(net_conn_send(c, "imok", 4), 0);
	net_conn_close_after_flush(c);
	return 1;
}

static void fx_closed(struct net_conn *c, int err, void *arg)
{
	struct fx *f = arg;
	ck_assert_ptr_eq(c, f->c);
	ck_assert_ptr_eq(net_conn_arg(c), f);
	f->closed++;
	f->closed_err = err;
	f->c = NULL;
}

static const struct net_conn_cbs fx_cbs = { .frame = fx_frame, .closed = fx_closed };
static const struct net_conn_cbs fx_cbs_preface = { .preface = fx_preface, .frame = fx_frame, .closed = fx_closed };

static bool fx_is_closed(void *arg)
{
	return ((struct fx *)arg)->closed > 0;
}

static bool fx_has_frames(void *arg)
{
	struct fx *f = arg;
	return f->nframes >= f->want_frames;
}

static bool fx_peer_has(void *arg)
{
	struct fx *f = arg;
	return evbuffer_get_length(bufferevent_get_input(f->peer)) >= f->want_peer;
}

static void fx_init(struct fx *f, size_t max_frame, size_t out_high, size_t out_hard)
{
	memset(f, 0, sizeof(*f));
	f->base = event_base_new();
	ck_assert_ptr_nonnull(f->base);
	f->got = evbuffer_new();
	ck_assert_ptr_nonnull(f->got);
	f->opts.max_frame = max_frame;
	f->opts.out_high = out_high;
	f->opts.out_hard = out_hard;
}

/* A connection over a bufferevent pair (libevent always defers a pair's callbacks). */
static void fx_pair(struct fx *f, int bev_opts)
{
	struct bufferevent *pair[2];
	ck_assert_int_eq(bufferevent_pair_new(f->base, bev_opts, pair), 0);
	f->peer = pair[1];
	bufferevent_enable(f->peer, EV_READ | EV_WRITE);
	f->c = net_conn_new_bev(pair[0], &f->opts, f->use_preface ? &fx_cbs_preface : &fx_cbs, f);
	ck_assert_ptr_nonnull(f->c);
	ck_assert_str_eq(net_conn_peer(f->c), "pair");
}

static void fx_free(struct fx *f)
{
	if (f->c) {
		net_conn_close(f->c, ERR_CLOSED);
		ck_assert(run_until(f->base, fx_is_closed, f, 2000));
	}
	ck_assert_int_eq(f->closed, 1); /* exactly once */
	if (f->peer)
		bufferevent_free(f->peer);
	evbuffer_free(f->got);
	event_base_free(f->base);
}

/* Runs the loop until everything queued in-process has been handled. */
static void fx_idle(struct fx *f)
{
	for (int i = 0; i < 50; i++)
		event_base_loop(f->base, EVLOOP_NONBLOCK);
}

static void put_frame(struct evbuffer *b, const void *p, size_t n)
{
	uint8_t hdr[4];
	be32_put(hdr, (uint32_t)n);
	evbuffer_add(b, hdr, 4);
	evbuffer_add(b, p, n);
}

/* A stream of frames with the given lengths and pseudo-random payloads. */
static struct evbuffer *make_stream(const size_t *lens, int n)
{
	struct evbuffer *b = evbuffer_new();
	uint8_t payload[4096];
	uint32_t x = 12345;
	for (int i = 0; i < n; i++) {
		ck_assert_uint_le(lens[i], sizeof(payload));
		for (size_t k = 0; k < lens[i]; k++) {
			x = x * 1103515245u + 12345u;
			payload[k] = (uint8_t)(x >> 16);
		}
		put_frame(b, payload, lens[i]);
	}
	return b;
}

static void assert_same(struct evbuffer *a, struct evbuffer *b)
{
	size_t n = evbuffer_get_length(a);
	ck_assert_uint_eq(n, evbuffer_get_length(b));
	ck_assert(n == 0 || memcmp(evbuffer_pullup(a, -1), evbuffer_pullup(b, -1), n) == 0);
}

/* ---- frame reader ---- */

START_TEST(test_partial_frames_byte_by_byte)
{
	static const size_t lens[] = { 5, 0, 1, 300, 4, 1000, 2 };
	int n = (int)(sizeof(lens) / sizeof(lens[0]));
	struct fx f;
	fx_init(&f, 4096, 1 << 20, 1 << 24);
	fx_pair(&f, BEV_OPT_DEFER_CALLBACKS);
	struct evbuffer *s = make_stream(lens, n);
	size_t total = evbuffer_get_length(s);
	const uint8_t *p = evbuffer_pullup(s, -1);
	size_t frame_end = 4 + lens[0];
	int complete = 0;
	for (size_t i = 0; i < total; i++) {
		ck_assert_int_eq(bufferevent_write(f.peer, p + i, 1), 0);
		fx_idle(&f);
		if (i + 1 == frame_end) {
			complete++;
			if (complete < n)
				frame_end += 4 + lens[complete];
		}
		/* a frame is delivered exactly when its last byte arrives, never before */
		ck_assert_int_eq(f.nframes, complete);
	}
	ck_assert_int_eq(f.nframes, n);
	assert_same(f.got, s);
	ck_assert_int_eq(f.closed, 0);
	evbuffer_free(s);
	fx_free(&f);
	ck_assert_int_eq(f.closed_err, ERR_CLOSED);
}
END_TEST

START_TEST(test_many_frames_one_write)
{
	size_t lens[200];
	for (int i = 0; i < 200; i++)
		lens[i] = (size_t)((i * 37) % 500);
	struct fx f;
	fx_init(&f, 4096, 1 << 20, 1 << 24);
	fx_pair(&f, BEV_OPT_DEFER_CALLBACKS);
	struct evbuffer *s = make_stream(lens, 200);
	struct evbuffer *copy = evbuffer_new();
	evbuffer_add(copy, evbuffer_pullup(s, -1), evbuffer_get_length(s));
	ck_assert_int_eq(bufferevent_write_buffer(f.peer, copy), 0);
	/* one read callback drains every complete frame: one loop pass is enough */
	event_base_loop(f.base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(f.nframes, 200);
	assert_same(f.got, s);
	evbuffer_free(copy);
	evbuffer_free(s);
	fx_free(&f);
}
END_TEST

START_TEST(test_zero_length_frames)
{
	struct fx f;
	fx_init(&f, 16, 1 << 20, 1 << 24);
	fx_pair(&f, BEV_OPT_DEFER_CALLBACKS);
	static const uint8_t three_empty[12] = { 0 };
	bufferevent_write(f.peer, three_empty, sizeof(three_empty));
	f.want_frames = 3;
	ck_assert(run_until(f.base, fx_has_frames, &f, 2000));
	ck_assert_int_eq(f.nframes, 3);
	ck_assert_uint_eq(evbuffer_get_length(f.got), 12);
	fx_free(&f);
}
END_TEST

START_TEST(test_frame_over_max_closes)
{
	log_capture();
	struct fx f;
	fx_init(&f, 64, 1 << 20, 1 << 24);
	fx_pair(&f, BEV_OPT_DEFER_CALLBACKS);
	struct evbuffer *s = evbuffer_new();
	put_frame(s, zeros, 64); /* exactly the maximum: fine */
	uint8_t hdr[4];
	be32_put(hdr, 65);
	evbuffer_add(s, hdr, 4); /* one over, and no payload follows: closed on the length alone */
	bufferevent_write_buffer(f.peer, s);
	ck_assert(run_until(f.base, fx_is_closed, &f, 2000));
	ck_assert_int_eq(f.nframes, 1);
	ck_assert_int_eq(f.closed_err, ERR_TOOBIG);
	ck_assert(log_has("over the maximum", "pair"));
	evbuffer_free(s);
	fx_free(&f);
	log_release();
}
END_TEST

START_TEST(test_huge_and_negative_lengths)
{
	static const uint8_t huge[4] = { 0x7f, 0xff, 0xff, 0xff };
	static const uint8_t neg[4] = { 0x80, 0x00, 0x00, 0x00 };
	static const uint8_t minus1[4] = { 0xff, 0xff, 0xff, 0xff };
	const uint8_t *cases[] = { huge, neg, minus1 };
	const int want[] = { ERR_TOOBIG, ERR_CORRUPT, ERR_CORRUPT };
	log_capture();
	for (int i = 0; i < 3; i++) {
		struct fx f;
		fx_init(&f, 4096, 1 << 20, 1 << 24);
		fx_pair(&f, BEV_OPT_DEFER_CALLBACKS);
		bufferevent_write(f.peer, cases[i], 4);
		ck_assert(run_until(f.base, fx_is_closed, &f, 2000));
		ck_assert_int_eq(f.closed_err, want[i]);
		ck_assert_int_eq(f.nframes, 0);
		fx_free(&f);
	}
	ck_assert(log_has("negative frame length", "pair"));
	log_release();
}
END_TEST

/* Request/reply ping-pong: each reply makes the peer send the next request. 1000 round trips
 * arrive in order, each request once. */
static void pingpong_peer_read(struct bufferevent *bev, void *arg)
{
	int *left = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	while (evbuffer_get_length(in) >= 8) {
		uint8_t fr[8];
		evbuffer_remove(in, fr, 8);
		if (--*left > 0) {
			uint32_t next = be32_get(fr + 4) + 1;
			uint8_t out[8];
			be32_put(out, 4);
			be32_put(out + 4, next);
			bufferevent_write(bev, out, 8);
		}
	}
}

START_TEST(test_pair_pingpong)
{
	struct fx f;
	int left = 1000;
	fx_init(&f, 4096, 1 << 20, 1 << 24);
	f.echo = true;
	fx_pair(&f, BEV_OPT_DEFER_CALLBACKS);
	bufferevent_setcb(f.peer, pingpong_peer_read, NULL, NULL, &left);
	uint8_t first[8];
	be32_put(first, 4);
	be32_put(first + 4, 0);
	bufferevent_write(f.peer, first, 8);
	fx_idle(&f);
	ck_assert_int_eq(f.nframes, 1000);
	ck_assert_int_eq(left, 0);
	const uint8_t *g = evbuffer_pullup(f.got, -1);
	for (int i = 0; i < 1000; i++)
		ck_assert_uint_eq(be32_get(g + 8 * i + 4), (uint32_t)i);
	fx_free(&f);
}
END_TEST

/* ---- preface ---- */

START_TEST(test_preface_ruok)
{
	struct fx f;
	fx_init(&f, 4096, 1 << 20, 1 << 24);
	f.use_preface = true;
	fx_pair(&f, BEV_OPT_DEFER_CALLBACKS);
	bufferevent_disable(f.peer, EV_READ); /* the reply waits in the connection's output */
	static const uint8_t req[] = { 'r', 'u', 'o', 'k', 0, 0, 0, 1, 'x' };
	bufferevent_write(f.peer, req, sizeof(req));
	fx_idle(&f);
	ck_assert_int_eq(f.prefaces, 1);
	ck_assert_int_eq(f.nframes, 0); /* out of framing: the bytes after "ruok" are no frame */
	ck_assert_int_eq(f.closed, 0);	/* close_after_flush waits for the reply to leave */
	ck_assert_uint_eq(net_conn_output_len(f.c), 4);
	ck_assert(net_conn_closing(f.c));
	bufferevent_enable(f.peer, EV_READ);
	ck_assert(run_until(f.base, fx_is_closed, &f, 2000));
	ck_assert_int_eq(f.closed_err, 0);
	struct evbuffer *in = bufferevent_get_input(f.peer);
	ck_assert_uint_eq(evbuffer_get_length(in), 4);
	ck_assert_mem_eq(evbuffer_pullup(in, -1), "imok", 4);
	fx_free(&f);
}
END_TEST

START_TEST(test_preface_declined_frames_flow)
{
	static const size_t lens[] = { 3, 0, 10 };
	struct fx f;
	fx_init(&f, 4096, 1 << 20, 1 << 24);
	f.use_preface = true;
	fx_pair(&f, BEV_OPT_DEFER_CALLBACKS);
	struct evbuffer *s = make_stream(lens, 3);
	const uint8_t *p = evbuffer_pullup(s, -1);
	size_t total = evbuffer_get_length(s);
	/* the first 4 bytes arrive in two pieces: the preface waits for all four */
	bufferevent_write(f.peer, p, 2);
	fx_idle(&f);
	ck_assert_int_eq(f.prefaces, 0);
	bufferevent_write(f.peer, p + 2, total - 2);
	f.want_frames = 3;
	ck_assert(run_until(f.base, fx_has_frames, &f, 2000));
	ck_assert_int_eq(f.prefaces, 1); /* once only */
	assert_same(f.got, s);
	evbuffer_free(s);
	fx_free(&f);
}
END_TEST

/* ---- close ---- */

START_TEST(test_close_inside_frame_callback)
{
	struct fx f;
	fx_init(&f, 4096, 1 << 20, 1 << 24);
	f.close_at = 2;
	fx_pair(&f, BEV_OPT_DEFER_CALLBACKS);
	static const size_t lens[] = { 1, 2, 3, 4, 5 };
	struct evbuffer *s = make_stream(lens, 5);
	bufferevent_write_buffer(f.peer, s);
	ck_assert(run_until(f.base, fx_is_closed, &f, 2000));
	ck_assert_int_eq(f.nframes, 2);
	ck_assert_int_eq(f.frames_after_close, 0);
	ck_assert_int_eq(f.closed_err, ERR_PROTO);
	fx_idle(&f); /* a second reap would show here (and under ASan as a use after free) */
	evbuffer_free(s);
	fx_free(&f);
}
END_TEST

START_TEST(test_frame_callback_error_closes)
{
	struct fx f;
	fx_init(&f, 4096, 1 << 20, 1 << 24);
	f.fail_at = 3;
	fx_pair(&f, BEV_OPT_DEFER_CALLBACKS);
	static const size_t lens[] = { 1, 2, 3, 4, 5 };
	struct evbuffer *s = make_stream(lens, 5);
	bufferevent_write_buffer(f.peer, s);
	ck_assert(run_until(f.base, fx_is_closed, &f, 2000));
	ck_assert_int_eq(f.nframes, 3);
	ck_assert_int_eq(f.frames_after_close, 0);
	ck_assert_int_eq(f.closed_err, ERR_VERSION);
	evbuffer_free(s);
	fx_free(&f);
}
END_TEST

START_TEST(test_close_is_deferred_and_once)
{
	struct fx f;
	fx_init(&f, 4096, 1 << 20, 1 << 24);
	fx_pair(&f, BEV_OPT_DEFER_CALLBACKS);
	struct net_conn *c = f.c;
	net_conn_close(c, ERR_BUSY);
	net_conn_close(c, ERR_IO);
	ck_assert_int_eq(f.closed, 0); /* nothing freed inside the caller */
	ck_assert(net_conn_closing(c));
	ck_assert_int_eq(net_conn_send_frame(c, "a", 1), ERR_CLOSED);
	ck_assert(run_until(f.base, fx_is_closed, &f, 2000));
	ck_assert_int_eq(f.closed_err, ERR_BUSY);
	fx_idle(&f);
	fx_free(&f);
}
END_TEST

START_TEST(test_peer_eof_closes)
{
	struct fx f;
	fx_init(&f, 4096, 1 << 20, 1 << 24);
	fx_pair(&f, BEV_OPT_DEFER_CALLBACKS);
	static const uint8_t partial[] = { 0, 0, 0, 9, 1, 2 };
	bufferevent_write(f.peer, partial, sizeof(partial));
	fx_idle(&f);
	bufferevent_flush(f.peer, EV_WRITE, BEV_FINISHED);
	ck_assert(run_until(f.base, fx_is_closed, &f, 2000));
	ck_assert_int_eq(f.closed_err, ERR_CLOSED);
	ck_assert_int_eq(f.nframes, 0);
	fx_free(&f);
}
END_TEST

START_TEST(test_close_after_flush_empty_output)
{
	struct fx f;
	fx_init(&f, 4096, 1 << 20, 1 << 24);
	fx_pair(&f, BEV_OPT_DEFER_CALLBACKS);
	net_conn_close_after_flush(f.c);
	ck_assert_int_eq(f.closed, 0);
	ck_assert(run_until(f.base, fx_is_closed, &f, 2000));
	ck_assert_int_eq(f.closed_err, 0);
	fx_free(&f);
}
END_TEST

/* ---- backpressure ---- */

START_TEST(test_backpressure_pauses_and_resumes)
{
	struct fx f;
	fx_init(&f, 4096, 1000, 1 << 20);
	f.reply_len = 600;
	fx_pair(&f, BEV_OPT_DEFER_CALLBACKS);
	bufferevent_disable(f.peer, EV_READ); /* the peer stops reading its replies */
	static const size_t lens[] = { 8, 8, 8, 8, 8, 8, 8, 8, 8, 8 };
	struct evbuffer *s = make_stream(lens, 10);
	bufferevent_write_buffer(f.peer, s);
	fx_idle(&f);
	/* 600 then 1200 > out_high: delivery and reading stop after the second frame */
	ck_assert_int_eq(f.nframes, 2);
	ck_assert_uint_eq(net_conn_output_len(f.c), 1200);
	ck_assert_int_eq(f.reply_rc, 0);
	/* more requests stay with the peer: the connection does not read */
	static const size_t more[] = { 8, 8, 8, 8, 8 };
	struct evbuffer *s2 = make_stream(more, 5);
	bufferevent_write_buffer(f.peer, s2);
	fx_idle(&f);
	ck_assert_int_eq(f.nframes, 2);
	ck_assert_uint_eq(evbuffer_get_length(bufferevent_get_output(f.peer)), 5 * 12);
	/* the peer reads: output drains below out_high/2, reading and delivery resume */
	bufferevent_enable(f.peer, EV_READ);
	f.want_frames = 15;
	ck_assert(run_until(f.base, fx_has_frames, &f, 2000));
	f.want_peer = 15 * 600;
	ck_assert(run_until(f.base, fx_peer_has, &f, 2000));
	ck_assert_uint_eq(evbuffer_get_length(bufferevent_get_output(f.peer)), 0);
	ck_assert_int_eq(f.closed, 0);
	evbuffer_free(s);
	evbuffer_free(s2);
	fx_free(&f);
}
END_TEST

START_TEST(test_hard_cap_closes_from_callback)
{
	log_capture();
	struct fx f;
	fx_init(&f, 4096, 1000, 3000);
	f.reply_len = 4000;
	fx_pair(&f, BEV_OPT_DEFER_CALLBACKS);
	bufferevent_disable(f.peer, EV_READ);
	static const size_t lens[] = { 1, 1, 1 };
	struct evbuffer *s = make_stream(lens, 3);
	bufferevent_write_buffer(f.peer, s);
	ck_assert(run_until(f.base, fx_is_closed, &f, 2000));
	ck_assert_int_eq(f.reply_rc, ERR_FULL);
	ck_assert_int_eq(f.closed_err, ERR_FULL);
	ck_assert_int_eq(f.nframes, 1);
	ck_assert(log_has("hard cap", "pair"));
	evbuffer_free(s);
	fx_free(&f);
	log_release();
}
END_TEST

START_TEST(test_hard_cap_closes_from_outside)
{
	struct fx f;
	fx_init(&f, 4096, 1000, 3000);
	fx_pair(&f, BEV_OPT_DEFER_CALLBACKS);
	bufferevent_disable(f.peer, EV_READ);
	ck_assert_int_eq(net_conn_send(f.c, zeros, 1000), 0);
	ck_assert_int_eq(net_conn_send_frame(f.c, zeros, 996), 0);
	ck_assert_int_eq(net_conn_send(f.c, zeros, 1000), 0); /* 3000: at the cap, not over */
	ck_assert_uint_eq(net_conn_output_len(f.c), 3000);
	ck_assert_int_eq(net_conn_send(f.c, zeros, 1), ERR_FULL);
	ck_assert_int_eq(net_conn_send(f.c, zeros, 1), ERR_CLOSED);
	ck_assert_int_eq(f.closed, 0);
	ck_assert(run_until(f.base, fx_is_closed, &f, 2000));
	ck_assert_int_eq(f.closed_err, ERR_FULL);
	fx_free(&f);
}
END_TEST

START_TEST(test_app_pause_resume)
{
	struct fx f;
	fx_init(&f, 4096, 1 << 20, 1 << 24);
	f.pause_at = 3;
	fx_pair(&f, BEV_OPT_DEFER_CALLBACKS);
	static const size_t lens[] = { 1, 2, 3, 4, 5, 6 };
	struct evbuffer *s = make_stream(lens, 6);
	bufferevent_write(f.peer, evbuffer_pullup(s, -1), evbuffer_get_length(s));
	fx_idle(&f);
	ck_assert_int_eq(f.nframes, 3);
	static const uint8_t one[] = { 0, 0, 0, 1, 7 };
	bufferevent_write(f.peer, one, sizeof(one));
	fx_idle(&f);
	ck_assert_int_eq(f.nframes, 3);
	ck_assert_uint_eq(evbuffer_get_length(bufferevent_get_output(f.peer)), sizeof(one));
	net_conn_resume_read(f.c);
	f.want_frames = 7;
	ck_assert(run_until(f.base, fx_has_frames, &f, 2000));
	ck_assert_int_eq(f.nframes, 7);
	evbuffer_add(s, one, sizeof(one));
	assert_same(f.got, s);
	evbuffer_free(s);
	fx_free(&f);
}
END_TEST

/* ---- loopback TCP ---- */

struct tcp {
	struct fx f;
	struct net_listener *l;
	struct bufferevent *client;
	int accepted;
};

static void tcp_accept(evutil_socket_t fd, const struct sockaddr *sa, int salen, void *arg)
{
	struct tcp *t = arg;
	ck_assert_int_eq(sa->sa_family, AF_INET);
	ck_assert_int_ge(salen, (int)sizeof(struct sockaddr_in));
	t->accepted++;
	t->f.c = net_conn_new(t->f.base, fd, &t->f.opts, t->f.use_preface ? &fx_cbs_preface : &fx_cbs, &t->f);
	ck_assert_ptr_nonnull(t->f.c);
}

static bool tcp_accepted(void *arg)
{
	return ((struct tcp *)arg)->accepted > 0;
}

static bool tcp_client_has(void *arg)
{
	struct tcp *t = arg;
	return evbuffer_get_length(bufferevent_get_input(t->client)) >= t->f.want_peer;
}

static void tcp_client_event(struct bufferevent *bev, short what, void *arg)
{
	int *eof = arg;
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		*eof = 1;
}

static bool flag_set(void *arg)
{
	return *(int *)arg != 0;
}

static void tcp_start_max(struct tcp *t, bool preface, size_t max_frame)
{
	char eb[256];
	fx_init(&t->f, max_frame, 1 << 20, 1 << 24);
	t->f.use_preface = preface;
	t->f.echo = true;
	ck_assert_int_eq(net_listen(t->f.base, "127.0.0.1", 0, 16, tcp_accept, t, &t->l, eb, sizeof(eb)), 0);
	int port = net_listener_port(t->l);
	ck_assert_int_gt(port, 0);
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	t->client = bufferevent_socket_new(t->f.base, -1, BEV_OPT_CLOSE_ON_FREE);
	ck_assert_ptr_nonnull(t->client);
	ck_assert_int_eq(bufferevent_socket_connect(t->client, (struct sockaddr *)&sin, sizeof(sin)), 0);
	bufferevent_enable(t->client, EV_READ | EV_WRITE);
	ck_assert(run_until(t->f.base, tcp_accepted, t, 5000));
}

static void tcp_start(struct tcp *t, bool preface)
{
	tcp_start_max(t, preface, 4096);
}

static void tcp_stop(struct tcp *t)
{
	if (t->client)
		bufferevent_free(t->client);
	net_listener_free(t->l);
	fx_free(&t->f);
}

START_TEST(test_tcp_echo_and_peer_name)
{
	struct tcp t;
	memset(&t, 0, sizeof(t));
	tcp_start(&t, false);
	static const size_t lens[] = { 0, 17, 4000, 1 };
	struct evbuffer *s = make_stream(lens, 4);
	size_t total = evbuffer_get_length(s);
	struct evbuffer *copy = evbuffer_new();
	evbuffer_add(copy, evbuffer_pullup(s, -1), total);
	bufferevent_write_buffer(t.client, copy);
	t.f.want_peer = total;
	ck_assert(run_until(t.f.base, tcp_client_has, &t, 5000));
	assert_same(bufferevent_get_input(t.client), s);
	assert_same(t.f.got, s);

	/* the server names its peer by the client's address and port */
	struct sockaddr_in me;
	socklen_t ml = sizeof(me);
	ck_assert_int_eq(getsockname(bufferevent_getfd(t.client), (struct sockaddr *)&me, &ml), 0);
	char want[64];
	snprintf(want, sizeof(want), "127.0.0.1:%d", ntohs(me.sin_port));
	ck_assert_str_eq(net_conn_peer(t.f.c), want);

	/* the client goes away: the server's connection closes with ERR_CLOSED */
	bufferevent_free(t.client);
	t.client = NULL;
	ck_assert(run_until(t.f.base, fx_is_closed, &t.f, 5000));
	ck_assert_int_eq(t.f.closed_err, ERR_CLOSED);
	evbuffer_free(copy);
	evbuffer_free(s);
	tcp_stop(&t);
}
END_TEST

/* A 1 MiB frame written at once arrives in a few large reads (libevent's own reads take 4 KiB
 * each: 256 and more), and a small frame after it is still delivered at once (the socket's
 * low-water mark went back to one byte). */
START_TEST(test_tcp_big_frame_few_reads)
{
	struct tcp t;
	memset(&t, 0, sizeof(t));
	tcp_start_max(&t, false, 2u << 20);
	t.f.echo = false;
	static uint8_t big[1u << 20];
	for (size_t k = 0; k < sizeof(big); k++)
		big[k] = (uint8_t)(k * 7 + k / 4099);
	struct evbuffer *s = evbuffer_new();
	put_frame(s, big, sizeof(big));
	put_frame(s, "small", 5);
	struct evbuffer *copy = evbuffer_new();
	evbuffer_add(copy, evbuffer_pullup(s, -1), evbuffer_get_length(s));
	bufferevent_write_buffer(t.client, copy);
	t.f.want_frames = 2;
	ck_assert(run_until(t.f.base, fx_has_frames, &t.f, 5000));
	assert_same(t.f.got, s);
	ck_assert_uint_le(net_conn_reads(t.f.c), 32);
	ck_assert_uint_ge(net_conn_reads(t.f.c), 4); /* 256 KiB at most per read */
	evbuffer_free(copy);
	evbuffer_free(s);
	tcp_stop(&t);
}
END_TEST

START_TEST(test_tcp_ruok)
{
	struct tcp t;
	int eof = 0;
	memset(&t, 0, sizeof(t));
	tcp_start(&t, true);
	bufferevent_setcb(t.client, NULL, NULL, tcp_client_event, &eof);
	bufferevent_write(t.client, "ruok", 4);
	ck_assert(run_until(t.f.base, flag_set, &eof, 5000)); /* the server closes after the reply */
	struct evbuffer *in = bufferevent_get_input(t.client);
	ck_assert_uint_eq(evbuffer_get_length(in), 4);
	ck_assert_mem_eq(evbuffer_pullup(in, -1), "imok", 4);
	ck_assert(run_until(t.f.base, fx_is_closed, &t.f, 5000));
	ck_assert_int_eq(t.f.closed_err, 0);
	ck_assert_int_eq(t.f.nframes, 0);
	tcp_stop(&t);
}
END_TEST

START_TEST(test_tcp_too_big_names_peer)
{
	struct tcp t;
	memset(&t, 0, sizeof(t));
	log_capture();
	tcp_start(&t, false);
	uint8_t hdr[4];
	be32_put(hdr, 4097);
	bufferevent_write(t.client, hdr, 4);
	ck_assert(run_until(t.f.base, fx_is_closed, &t.f, 5000));
	ck_assert_int_eq(t.f.closed_err, ERR_TOOBIG);
	struct sockaddr_in me;
	socklen_t ml = sizeof(me);
	ck_assert_int_eq(getsockname(bufferevent_getfd(t.client), (struct sockaddr *)&me, &ml), 0);
	char want[64];
	snprintf(want, sizeof(want), "127.0.0.1:%d", ntohs(me.sin_port));
	ck_assert(log_has("over the maximum", want));
	tcp_stop(&t);
	log_release();
}
END_TEST

static void no_accept(evutil_socket_t fd, const struct sockaddr *sa, int salen, void *arg)
{
	(void)sa;
	(void)salen;
	(void)arg;
	evutil_closesocket(fd);
}

START_TEST(test_bind_conflict_is_clear)
{
	struct event_base *base = event_base_new();
	struct net_listener *l1 = NULL, *l2 = NULL;
	char eb[256] = "";
	ck_assert_int_eq(net_listen(base, "127.0.0.1", 0, 8, no_accept, NULL, &l1, eb, sizeof(eb)), 0);
	int port = net_listener_port(l1);
	ck_assert_int_gt(port, 0);
	ck_assert_int_eq(net_listen(base, "127.0.0.1", port, 8, no_accept, NULL, &l2, eb, sizeof(eb)), ERR_IO);
	ck_assert_ptr_null(l2);
	char want[64];
	snprintf(want, sizeof(want), "127.0.0.1:%d", port);
	ck_assert_msg(strstr(eb, want) != NULL, "error text '%s' does not name %s", eb, want);
	ck_assert_msg(strstr(eb, "in use") != NULL, "error text '%s' does not say why", eb);
	/* once the first is gone the port can be taken again (SO_REUSEADDR) */
	net_listener_free(l1);
	ck_assert_int_eq(net_listen(base, "127.0.0.1", port, 8, no_accept, NULL, &l2, eb, sizeof(eb)), 0);
	ck_assert_int_eq(net_listener_port(l2), port);
	net_listener_free(l2);
	net_listener_free(NULL);
	ck_assert_int_eq(net_listener_port(NULL), -1);
	event_base_free(base);
}
END_TEST

/* ---- signals and timers ---- */

struct sigt {
	struct event_base *base;
	int signo;
	int raise_what;
};

static void sig_cb(int signo, void *arg)
{
	struct sigt *st = arg;
	st->signo = signo;
	event_base_loopbreak(st->base);
}

static void raise_cb(void *arg)
{
	struct sigt *st = arg;
	raise(st->raise_what);
}

static bool sig_seen(void *arg)
{
	return ((struct sigt *)arg)->signo != 0;
}

static void check_signal(int signo)
{
	struct sigt st = { event_base_new(), 0, signo };
	struct net_signals *s = net_signals_new(st.base, sig_cb, &st);
	ck_assert_ptr_nonnull(s);
	struct net_timer *t = net_timer_new(st.base, 5, false, raise_cb, &st);
	ck_assert_ptr_nonnull(t);
	ck_assert(run_until(st.base, sig_seen, &st, 5000));
	ck_assert_int_eq(st.signo, signo);
	net_timer_free(t);
	net_signals_free(s);
	event_base_free(st.base);
}

START_TEST(test_sigterm_ends_loop)
{
	check_signal(SIGTERM);
}
END_TEST

START_TEST(test_sigint_ends_loop)
{
	check_signal(SIGINT);
}
END_TEST

START_TEST(test_sigpipe_ignored)
{
	struct event_base *base = event_base_new();
	struct sigaction sa;
	struct net_signals *s = net_signals_new(base, sig_cb, NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(sigaction(SIGPIPE, NULL, &sa), 0);
	ck_assert(sa.sa_handler == SIG_IGN);
	/* writing to a socket whose reader is gone is an error, not a death */
	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	ck_assert_int_eq(write(sv[0], "x", 1), -1);
	close(sv[0]);
	net_signals_free(s);
	net_signals_free(NULL);
	event_base_free(base);
}
END_TEST

struct tick {
	int repeat_n, once_n, reset_n, self_n;
	struct net_timer *self;
};

static void tick_repeat(void *arg)
{
	((struct tick *)arg)->repeat_n++;
}

static void tick_once(void *arg)
{
	((struct tick *)arg)->once_n++;
}

static void tick_reset(void *arg)
{
	((struct tick *)arg)->reset_n++;
}

static void tick_self_free(void *arg)
{
	struct tick *k = arg;
	k->self_n++;
	net_timer_free(k->self); /* freeing a timer from its own callback is allowed */
	k->self = NULL;
}

static bool tick_done(void *arg)
{
	struct tick *k = arg;
	return k->repeat_n >= 5 && k->once_n >= 1 && k->reset_n >= 1 && k->self_n >= 1;
}

START_TEST(test_timers)
{
	struct event_base *base = event_base_new();
	struct tick k = { 0 };
	struct net_timer *rep = net_timer_new(base, 3, true, tick_repeat, &k);
	struct net_timer *once = net_timer_new(base, 1, false, tick_once, &k);
	struct net_timer *rst = net_timer_new(base, 600000, false, tick_reset, &k);
	k.self = net_timer_new(base, 2, false, tick_self_free, &k);
	ck_assert(rep && once && rst && k.self);
	net_timer_reset(rst, 1); /* from ten minutes to now */
	ck_assert(run_until(base, tick_done, &k, 5000));
	/* the one-shot timers fire once however long the loop runs on */
	int r = k.repeat_n;
	run_for(base, 20);
	ck_assert_int_eq(k.once_n, 1);
	ck_assert_int_eq(k.reset_n, 1);
	ck_assert_int_eq(k.self_n, 1);
	ck_assert_int_gt(k.repeat_n, r); /* the repeating one goes on */
	/* re-arming a fired one-shot timer makes it fire again */
	net_timer_reset(once, 1);
	k.repeat_n = 0;
	ck_assert(run_until(base, tick_done, &k, 5000));
	ck_assert_int_eq(k.once_n, 2);
	net_timer_free(rep);
	net_timer_free(once);
	net_timer_free(rst);
	net_timer_free(NULL);
	event_base_free(base);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("net");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_partial_frames_byte_by_byte);
	tcase_add_test(tc, test_many_frames_one_write);
	tcase_add_test(tc, test_zero_length_frames);
	tcase_add_test(tc, test_frame_over_max_closes);
	tcase_add_test(tc, test_huge_and_negative_lengths);
	tcase_add_test(tc, test_pair_pingpong);
	tcase_add_test(tc, test_preface_ruok);
	tcase_add_test(tc, test_preface_declined_frames_flow);
	tcase_add_test(tc, test_close_inside_frame_callback);
	tcase_add_test(tc, test_frame_callback_error_closes);
	tcase_add_test(tc, test_close_is_deferred_and_once);
	tcase_add_test(tc, test_peer_eof_closes);
	tcase_add_test(tc, test_close_after_flush_empty_output);
	tcase_add_test(tc, test_backpressure_pauses_and_resumes);
	tcase_add_test(tc, test_hard_cap_closes_from_callback);
	tcase_add_test(tc, test_hard_cap_closes_from_outside);
	tcase_add_test(tc, test_app_pause_resume);
	tcase_add_test(tc, test_tcp_echo_and_peer_name);
	tcase_add_test(tc, test_tcp_big_frame_few_reads);
	tcase_add_test(tc, test_tcp_ruok);
	tcase_add_test(tc, test_tcp_too_big_names_peer);
	tcase_add_test(tc, test_bind_conflict_is_clear);
	tcase_add_test(tc, test_sigterm_ends_loop);
	tcase_add_test(tc, test_sigint_ends_loop);
	tcase_add_test(tc, test_sigpipe_ignored);
	tcase_add_test(tc, test_timers);
	suite_add_tcase(s, tc);
	return check_run(s);
}
