/*
 * fuzz_frame — the net_conn frame reader under arbitrary peer bytes. The input is the byte
 * stream a peer sends; it reaches a net_conn over a bufferevent pair in chunks whose sizes are
 * derived from the input itself, with the loop run between chunks. The application echoes
 * every frame (so output backpressure and the hard cap come into play, the peer reading its
 * replies only every other chunk), takes "ruok" out of framing through the preface hook, and
 * reacts to the first payload byte: 0xCC closes from inside the callback, 0xCD returns an
 * error, 0xCE pauses reading until the next chunk.
 *
 * Checked besides memory safety: no frame over max_frame is delivered, no frame after a close
 * was asked for or after the preface took the connection, and `closed` runs exactly once.
 */
#include "err.h"
#include "log.h"
#include "net.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { FUZZ_MAX_FRAME = 4096 };

struct fuzz_state {
	struct net_conn *c;
	int closed;
	bool stopped; /* close requested or preface took the connection: no frame may follow */
	bool paused;
};

static void fuzz_check(bool ok)
{
	if (!ok)
		abort();
}

static int fuzz_frame_cb(struct net_conn *c, uint8_t *p, size_t len, void *arg)
{
	struct fuzz_state *st = arg;
	fuzz_check(c == st->c && st->closed == 0 && !st->stopped);
	fuzz_check(len <= FUZZ_MAX_FRAME && p != NULL);
	if (len && p[0] == 0xCC) {
		st->stopped = true;
		net_conn_close(c, ERR_PROTO);
		fuzz_check(net_conn_send_frame(c, p, len) == ERR_CLOSED);
		return 0;
	}
	if (len && p[0] == 0xCD) {
		st->stopped = true;
		return ERR_PROTO;
	}
	if (len && p[0] == 0xCE) {
		net_conn_pause_read(c);
		st->paused = true;
	}
	if (net_conn_send_frame(c, p, len) == ERR_FULL)
		st->stopped = true;
	return 0;
}

static int fuzz_preface_cb(struct net_conn *c, const uint8_t first4[4], void *arg)
{
	struct fuzz_state *st = arg;
	fuzz_check(st->closed == 0);
	if (memcmp(first4, "ruok", 4) != 0)
		return 0;
	st->stopped = true;
	net_conn_send(c, "imok", 4);
	net_conn_close_after_flush(c);
	return 1;
}

static void fuzz_closed_cb(struct net_conn *c, int err, void *arg)
{
	struct fuzz_state *st = arg;
	(void)err;
	fuzz_check(c == st->c);
	st->closed++;
	st->c = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct net_conn_cbs cbs = {
		.preface = fuzz_preface_cb,
		.frame = fuzz_frame_cb,
		.closed = fuzz_closed_cb,
	};
	const struct net_conn_opts opts = { .max_frame = FUZZ_MAX_FRAME, .out_high = 512, .out_hard = 2048 };
	struct fuzz_state st = { 0 };
	struct bufferevent *pair[2];

	log_set_level(LOG_ERROR); /* too-big frames are expected here; keep the replay quiet */
	struct event_base *base = event_base_new();
	fuzz_check(base != NULL);
	fuzz_check(bufferevent_pair_new(base, 0, pair) == 0);
	bufferevent_enable(pair[1], EV_READ | EV_WRITE);
	st.c = net_conn_new_bev(pair[0], &opts, &cbs, &st);
	fuzz_check(st.c != NULL);

	size_t pos = 0;
	for (unsigned k = 0; pos < size && st.closed == 0; k++) {
		size_t n = 1 + (size_t)((data[pos] * 131u + k * 17u) % 61u);
		if (n > size - pos)
			n = size - pos;
		bufferevent_write(pair[1], data + pos, n);
		pos += n;
		if (k & 1)
			bufferevent_enable(pair[1], EV_READ);
		else
			bufferevent_disable(pair[1], EV_READ);
		if (st.paused && st.c) {
			net_conn_resume_read(st.c);
			st.paused = false;
		}
		for (int i = 0; i < 4; i++)
			event_base_loop(base, EVLOOP_NONBLOCK);
		/* the replies the peer read are consumed, so only the connection's output is bounded */
		struct evbuffer *in = bufferevent_get_input(pair[1]);
		evbuffer_drain(in, evbuffer_get_length(in));
	}
	/* the peer reads everything: frames held back by backpressure or the pause are delivered */
	bufferevent_enable(pair[1], EV_READ);
	if (st.paused && st.c)
		net_conn_resume_read(st.c);
	for (int i = 0; i < 16 && st.c; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		struct evbuffer *in = bufferevent_get_input(pair[1]);
		evbuffer_drain(in, evbuffer_get_length(in));
	}
	if (st.c)
		net_conn_close(st.c, ERR_CLOSED);
	for (int i = 0; i < 100 && st.closed == 0; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	fuzz_check(st.closed == 1);
	for (int i = 0; i < 4; i++)
		event_base_loop(base, EVLOOP_NONBLOCK); /* a second `closed` would show here */
	fuzz_check(st.closed == 1);
	bufferevent_free(pair[1]);
	event_base_free(base);
	return 0;
}
