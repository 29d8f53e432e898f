/*
 * fsyncq — one worker thread that runs fdatasync(2) for the loop thread, so that no loop
 * callback blocks on the disk (STYLE rule 6). The loop submits (fd, token, callback); the
 * worker takes everything queued, runs one fdatasync per file of that batch (requests for the
 * same file share it: group commit), and tells the loop through event_active(); the loop then
 * runs the callbacks in submission order with the result. A callback is the caller's signal
 * that what it wrote to that file before submitting is durable (STYLE rule 7: only then may a
 * reply promising it leave).
 *
 * Threads: every function here and every callback runs on the loop thread of the event_base
 * given to fsyncq_new (which needs libevent's threading on: evthread_use_pthreads()); only
 * fsyncq_worker (static) runs on the worker. The fd is dup()ed at submission, so the caller
 * may close or replace its own descriptor at once; a file replaced by rename is still the old
 * file to the request.
 */
#ifndef SAMSA_FSYNCQ_H
#define SAMSA_FSYNCQ_H

#include <stdint.h>

struct event_base;
struct fsyncq;

/* err: 0, or the errno of the failed fdatasync (the caller decides; durable state can no
 * longer be trusted after one). token and arg: as given to fsyncq_submit. */
typedef void (*fsyncq_cb)(int err, uint64_t token, void *arg);

/* Starts the worker. 0 with *out set, ERR_NOMEM (no memory, no thread, no event). */
int fsyncq_new(struct event_base *base, struct fsyncq **out);
/* Lets the worker finish the syncs submitted, stops and frees it. Callbacks not yet run are
 * not run. NULL ok. */
void fsyncq_free(struct fsyncq *q);

/* Queues an fdatasync of fd's file; cb (may be NULL) runs on the loop once it is done. 0,
 * ERR_IO (fd cannot be dup()ed or stat()ed: nothing queued), ERR_NOMEM. */
int fsyncq_submit(struct fsyncq *q, int fd, uint64_t token, fsyncq_cb cb, void *arg);
/* Blocks until every request submitted so far has been synced (before its file is replaced
 * or truncated, say); their callbacks still run from the loop later. */
void fsyncq_drain(struct fsyncq *q);
/* Requests whose arg is arg get no callback any more (their owner is going away); the syncs
 * themselves still run. */
void fsyncq_forget(struct fsyncq *q, const void *arg);
/* Requests submitted and fdatasync calls made since fsyncq_new. */
void fsyncq_stats(const struct fsyncq *q, uint64_t *requests, uint64_t *syncs);

#endif
