/*
 * kout — one Kafka response frame being written: its fixed fields go into a wbuf, the record
 * ranges of a Fetch straight from segment files into an evbuffer (sent with sendfile), and the
 * frame's length is set when it is finished into a response slot (kconn). A small value type
 * that lives on the stack for one handler call; the loop thread runs it.
 */
#ifndef SAMSA_KOUT_H
#define SAMSA_KOUT_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct kresp;
struct kb_topic;

#define KOUT_TALLY 16

struct kout {
	struct evbuffer *eb; /* NULL when kout_init ran out of memory */
	struct wbuf w;
	size_t total;
	/* record bytes per topic this frame sends, counted (kb_topic's m_bytes_out) only if it is
	 * finished into a response: a long-polling Fetch builds and discards frames */
	struct kb_topic *tally_topic[KOUT_TALLY];
	uint64_t tally_bytes[KOUT_TALLY];
	size_t n_tally;
};

/* Starts a response frame to correlation id corr: the length placeholder and corr are written.
 * On success o->eb is set; without memory it is NULL (kout_finish then fails). Either way the
 * caller ends it with kout_finish or kout_abort. */
void kout_init(struct kout *o, int32_t corr);
/* File ranges appended from now on are read into memory (mapped) instead of being left for
 * sendfile: for a TLS connection, whose bytes are encrypted in user space. */
void kout_no_sendfile(struct kout *o);
/* Appends a file range: fd is owned by o from now on (closed on a failure). */
void kout_file(struct kout *o, int fd, int64_t pos, size_t len);
/* Finishes the frame into resp (buf set, done) or, resp NULL, discards it. Returns 0, or w's
 * sticky error (the frame is then discarded and resp untouched). o is finished either way. */
int kout_finish(struct kout *o, struct kresp *resp);
/* Discards the frame. */
void kout_abort(struct kout *o);
/* bytes of topic t's records are in this frame (see struct kout). */
void kout_tally(struct kout *o, struct kb_topic *t, uint64_t bytes);

#endif
