/*
 * fsyncq — the fdatasync worker (see fsyncq.h). Requests move through three lists under mu:
 *   todo      submitted by the loop, not yet taken by the worker
 *   inflight  the batch the worker is syncing (busy is set while it is non-empty)
 *   done      synced, waiting for the loop to run their callbacks (done_ev is active)
 *   dispatching  taken by the loop, callbacks running one by one
 * Invariants: a request is on exactly one list; the worker only moves todo -> inflight -> done
 * and never calls a callback; the loop only appends to todo and empties done. The worker owns
 * the dup()ed fd of a request from its submission and closes it after the sync.
 */
#include "fsyncq.h"

#include "err.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fsyncq_req {
	struct fsyncq_req *next;
	int fd; /* our dup; closed by the worker after the sync */
	dev_t dev;
	ino_t ino;
	uint64_t token;
	fsyncq_cb cb; /* NULL: forgotten or none */
	void *arg;
	int err;
};

struct fsyncq_list {
	struct fsyncq_req *head, *tail;
};

struct fsyncq {
	struct event_base *base;
	struct event *done_ev; /* worker -> loop */
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* todo grew, stop was set, or a batch finished */
	struct fsyncq_list todo, inflight, done;
	struct fsyncq_list dispatching; /* loop: done requests whose callbacks are being run */
	bool stop;
	uint64_t requests, syncs;
};

static void fsyncq_list_append(struct fsyncq_list *l, struct fsyncq_list *more)
{
	if (!more->head)
		return;
	if (l->tail)
		l->tail->next = more->head;
	else
		l->head = more->head;
	l->tail = more->tail;
	more->head = more->tail = NULL;
}

/* Worker thread. One fdatasync per file of each batch: every request of the batch was
 * submitted before the batch was taken, so that sync covers what each wrote. */
static void *fsyncq_worker(void *arg)
{
	struct fsyncq *q = arg;
	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!q->stop && !q->todo.head)
			pthread_cond_wait(&q->cv, &q->mu);
		if (!q->todo.head)
			break; /* stop, and nothing left to sync */
		fsyncq_list_append(&q->inflight, &q->todo);
		struct fsyncq_req *batch = q->inflight.head;
		pthread_mutex_unlock(&q->mu);
		uint64_t syncs = 0;
		for (struct fsyncq_req *r = batch; r; r = r->next) {
			const struct fsyncq_req *same = NULL;
			for (const struct fsyncq_req *o = batch; o != r && !same; o = o->next)
				if (o->dev == r->dev && o->ino == r->ino)
					same = o;
			if (same) {
				r->err = same->err;
			} else {
				r->err = fdatasync(r->fd) ? errno : 0;
				syncs++;
			}
		}
		for (struct fsyncq_req *r = batch; r; r = r->next) {
			close(r->fd);
			r->fd = -1;
		}
		pthread_mutex_lock(&q->mu);
		q->syncs += syncs;
		fsyncq_list_append(&q->done, &q->inflight);
		pthread_cond_broadcast(&q->cv);
		event_active(q->done_ev, EV_TIMEOUT, 0);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* Loop thread: runs the callbacks of the finished requests, in submission order. They stay
 * reachable (dispatching) while they run, so a callback may forget the others' owners. */
static void fsyncq_on_done(evutil_socket_t fd, short what, void *arg)
{
	struct fsyncq *q = arg;
	(void)fd;
	(void)what;
	pthread_mutex_lock(&q->mu);
	fsyncq_list_append(&q->dispatching, &q->done);
	for (;;) {
		struct fsyncq_req *r = q->dispatching.head;
		if (!r)
			break;
		q->dispatching.head = r->next;
		if (!r->next)
			q->dispatching.tail = NULL;
		pthread_mutex_unlock(&q->mu);
		if (r->cb)
			r->cb(r->err, r->token, r->arg);
		free(r);
		pthread_mutex_lock(&q->mu);
	}
	pthread_mutex_unlock(&q->mu);
}

int fsyncq_new(struct event_base *base, struct fsyncq **out)
{
	struct fsyncq *q = calloc(1, sizeof(*q));
	*out = NULL;
	if (!q)
		return ERR_NOMEM;
	q->base = base;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->done_ev = event_new(base, -1, 0, fsyncq_on_done, q);
	if (!q->done_ev || pthread_create(&q->thread, NULL, fsyncq_worker, q)) {
		fsyncq_free(q);
		return ERR_NOMEM;
	}
	q->started = true;
	*out = q;
	return 0;
}

static void fsyncq_list_free(struct fsyncq_list *l)
{
	while (l->head) {
		struct fsyncq_req *r = l->head;
		l->head = r->next;
		if (r->fd >= 0)
			close(r->fd);
		free(r);
	}
	l->tail = NULL;
}

void fsyncq_free(struct fsyncq *q)
{
	if (!q)
		return;
	if (q->started) {
		pthread_mutex_lock(&q->mu);
		q->stop = true;
		pthread_cond_broadcast(&q->cv);
		pthread_mutex_unlock(&q->mu);
		pthread_join(q->thread, NULL);
	}
	fsyncq_list_free(&q->todo);
	fsyncq_list_free(&q->done);
	if (q->done_ev)
		event_free(q->done_ev);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	free(q);
}

int fsyncq_submit(struct fsyncq *q, int fd, uint64_t token, fsyncq_cb cb, void *arg)
{
	struct stat st;
	if (fd < 0 || fstat(fd, &st))
		return ERR_IO;
	struct fsyncq_req *r = calloc(1, sizeof(*r));
	if (!r)
		return ERR_NOMEM;
	r->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (r->fd < 0) {
		free(r);
		return errno == ENOMEM ? ERR_NOMEM : ERR_IO;
	}
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	r->token = token;
	r->cb = cb;
	r->arg = arg;
	pthread_mutex_lock(&q->mu);
	struct fsyncq_list one = { r, r };
	fsyncq_list_append(&q->todo, &one);
	q->requests++;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

void fsyncq_drain(struct fsyncq *q)
{
	pthread_mutex_lock(&q->mu);
	while (q->todo.head || q->inflight.head)
		pthread_cond_wait(&q->cv, &q->mu);
	pthread_mutex_unlock(&q->mu);
}

void fsyncq_forget(struct fsyncq *q, const void *arg)
{
	struct fsyncq_list *lists[] = { &q->todo, &q->inflight, &q->done, &q->dispatching };
	pthread_mutex_lock(&q->mu);
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		for (struct fsyncq_req *r = lists[i]->head; r; r = r->next)
			if (r->arg == arg)
				r->cb = NULL;
	pthread_mutex_unlock(&q->mu);
}

void fsyncq_stats(const struct fsyncq *q, uint64_t *requests, uint64_t *syncs)
{
	pthread_mutex_lock((pthread_mutex_t *)&q->mu);
	*requests = q->requests;
	*syncs = q->syncs;
	pthread_mutex_unlock((pthread_mutex_t *)&q->mu);
}
