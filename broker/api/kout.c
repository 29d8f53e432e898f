/*
 * kout — response frames: fixed fields in a wbuf, file ranges in an evbuffer (see kout.h).
 */
#include "kout.h"

#include "kb_broker.h"
#include "kconn.h"

#include <event2/buffer.h>
#include <unistd.h>

void kout_init(struct kout *o, int32_t corr)
{
	o->eb = evbuffer_new();
	/* file ranges then stay file chains, which the socket's output sends with sendfile */
	if (o->eb)
		evbuffer_set_flags(o->eb, EVBUFFER_FLAG_DRAINS_TO_FD);
	wbuf_init(&o->w, 1u << 30);
	o->total = 0;
	o->n_tally = 0;
	wbuf_i32(&o->w, 0); /* length, set at the end */
	wbuf_i32(&o->w, corr);
}

void kout_no_sendfile(struct kout *o)
{
	/* without EVBUFFER_FLAG_DRAINS_TO_FD, evbuffer_add_file maps or reads the range */
	if (o->eb)
		evbuffer_clear_flags(o->eb, EVBUFFER_FLAG_DRAINS_TO_FD);
}

static void kout_flush(struct kout *o)
{
	if (o->w.len) {
		evbuffer_add(o->eb, o->w.p, o->w.len);
		o->total += o->w.len;
		wbuf_reset(&o->w);
	}
}

/* Appends a file range (fd is owned from now on). */
void kout_file(struct kout *o, int fd, int64_t pos, size_t len)
{
	kout_flush(o);
	if (evbuffer_add_file(o->eb, fd, pos, (ev_off_t)len) == 0)
		o->total += len;
	else
		close(fd);
}

/* Finishes the frame into resp (or discards it when resp is NULL). */
int kout_finish(struct kout *o, struct kresp *resp)
{
	int err = o->w.err;
	if (o->total == 0 && o->w.len >= 4) { /* all in w: patch the length in place */
		wbuf_put_i32_at(&o->w, 0, (int32_t)(o->w.len - 4));
		kout_flush(o);
	} else {
		kout_flush(o);
		uint8_t len4[4];
		be32_put(len4, (uint32_t)(o->total - 4));
		/* the first 4 bytes in eb are the placeholder */
		evbuffer_drain(o->eb, 4);
		evbuffer_prepend(o->eb, len4, 4);
	}
	wbuf_free(&o->w);
	if (err || !resp) {
		evbuffer_free(o->eb);
		return err ? err : 0;
	}
	resp->buf = o->eb;
	resp->done = true;
	for (size_t i = 0; i < o->n_tally; i++)
		o->tally_topic[i]->m_bytes_out += o->tally_bytes[i];
	return 0;
}

void kout_tally(struct kout *o, struct kb_topic *t, uint64_t bytes)
{
	for (size_t i = 0; i < o->n_tally; i++)
		if (o->tally_topic[i] == t) {
			o->tally_bytes[i] += bytes;
			return;
		}
	if (o->n_tally == KOUT_TALLY) {
		t->m_bytes_out += bytes; /* a Fetch of more topics: counted now (a rare overcount if it waits) */
		return;
	}
	o->tally_topic[o->n_tally] = t;
	o->tally_bytes[o->n_tally++] = bytes;
}

void kout_abort(struct kout *o)
{
	wbuf_free(&o->w);
	evbuffer_free(o->eb);
}
