/*
 * kfpurg — the fetch purgatory (see kfpurg.h).
 *
 * The index is a hash table of partitions (struct kfpurg_key, made when the first fetch waits
 * on one and freed with its last), each listing the links of the waits on it; a wait has one
 * link per partition of its request. Invariant: a wait is on exactly one of the waiting, ready
 * and batch lists, or on none while OUT, and on the all list until it is removed.
 */
#include "kfpurg.h"

#include "kwfetch.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#define KFPURG_BUCKETS 256

enum kfpurg_where { KFPURG_WAITING, KFPURG_READY, KFPURG_BATCH, KFPURG_OUT };

struct kfpurg_link {
	LIST_ENTRY(kfpurg_link) link; /* key->links */
	struct kfpurg_key *key;	      /* NULL: not indexed (a bad topic name) */
	struct kfpurg_wait *w;
};

struct kfpurg_key {
	LIST_ENTRY(kfpurg_key) link; /* the bucket */
	LIST_HEAD(, kfpurg_link) links;
	int32_t part;
	char topic[]; /* NUL-terminated */
};

struct kfpurg_wait {
	LIST_ENTRY(kfpurg_wait) state; /* waiting, ready or batch (none while OUT) */
	LIST_ENTRY(kfpurg_wait) all;
	enum kfpurg_where where;
	bool touched_out; /* touched while OUT */
	struct kwfetch_req req;
	int64_t deadline_ms;
	void *arg;
	size_t nlinks;
	struct kfpurg_link links[];
};

LIST_HEAD(kfpurg_wlist, kfpurg_wait);

struct kfpurg {
	LIST_HEAD(, kfpurg_key) buckets[KFPURG_BUCKETS];
	struct kfpurg_wlist waiting, ready, batch, all;
	struct kfpurg_stats st;
};

static unsigned kfpurg_hash(const char *topic, int32_t part)
{
	uint32_t h = 2166136261u;
	for (const char *s = topic; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	h = (h ^ (uint32_t)part) * 16777619u;
	return h % KFPURG_BUCKETS;
}

static struct kfpurg_key *kfpurg_key_find(const struct kfpurg *pg, const char *topic, int32_t part)
{
	struct kfpurg_key *k;
	LIST_FOREACH(k, &pg->buckets[kfpurg_hash(topic, part)], link)
		if (k->part == part && !strcmp(k->topic, topic))
			return k;
	return NULL;
}

struct kfpurg *kfpurg_new(void)
{
	struct kfpurg *pg = calloc(1, sizeof(*pg));
	if (!pg)
		return NULL;
	for (size_t i = 0; i < KFPURG_BUCKETS; i++)
		LIST_INIT(&pg->buckets[i]);
	LIST_INIT(&pg->waiting);
	LIST_INIT(&pg->ready);
	LIST_INIT(&pg->batch);
	LIST_INIT(&pg->all);
	return pg;
}

void kfpurg_free(struct kfpurg *pg, void (*drop)(void *arg))
{
	if (!pg)
		return;
	struct kfpurg_wait *w;
	while ((w = LIST_FIRST(&pg->all))) {
		if (drop)
			drop(w->arg);
		kfpurg_remove(pg, w);
	}
	free(pg);
}

/* Puts w on the list of place where (none for OUT). */
static void kfpurg_place(struct kfpurg *pg, struct kfpurg_wait *w, enum kfpurg_where where)
{
	if (w->where != KFPURG_OUT)
		LIST_REMOVE(w, state);
	w->where = where;
	if (where == KFPURG_WAITING)
		LIST_INSERT_HEAD(&pg->waiting, w, state);
	else if (where == KFPURG_READY)
		LIST_INSERT_HEAD(&pg->ready, w, state);
	else if (where == KFPURG_BATCH)
		LIST_INSERT_HEAD(&pg->batch, w, state);
}

static void kfpurg_unlink(struct kfpurg_link *l)
{
	struct kfpurg_key *k = l->key;
	if (!k)
		return;
	LIST_REMOVE(l, link);
	l->key = NULL;
	if (LIST_EMPTY(&k->links)) {
		LIST_REMOVE(k, link);
		free(k);
	}
}

void kfpurg_remove(struct kfpurg *pg, struct kfpurg_wait *w)
{
	for (size_t i = 0; i < w->nlinks; i++)
		kfpurg_unlink(&w->links[i]);
	if (w->where != KFPURG_OUT)
		LIST_REMOVE(w, state);
	LIST_REMOVE(w, all);
	pg->st.waiting--;
	kwfetch_req_free(&w->req);
	free(w);
}

struct kfpurg_wait *kfpurg_add(struct kfpurg *pg, struct kwfetch_req *req, int64_t deadline_ms, void *arg)
{
	size_t n = req->nparts;
	struct kfpurg_wait *w = calloc(1, sizeof(*w) + n * sizeof(w->links[0]));
	if (!w)
		return NULL;
	w->nlinks = n;
	w->deadline_ms = deadline_ms;
	w->arg = arg;
	w->where = KFPURG_OUT;
	size_t li = 0;
	for (int32_t ti = 0; ti < req->n; ti++) {
		const struct kwfetch_topic *t = &req->topics[ti];
		for (int32_t pi = 0; pi < t->n; pi++, li++) {
			struct kfpurg_link *l = &w->links[li];
			l->w = w;
			if (t->bad)
				continue;
			struct kfpurg_key *k = kfpurg_key_find(pg, t->name, t->parts[pi].partition);
			if (!k) {
				size_t tl = strlen(t->name);
				k = calloc(1, sizeof(*k) + tl + 1);
				if (!k) {
					for (size_t j = 0; j < li; j++)
						kfpurg_unlink(&w->links[j]);
					free(w);
					return NULL;
				}
				memcpy(k->topic, t->name, tl + 1);
				k->part = t->parts[pi].partition;
				LIST_INIT(&k->links);
				LIST_INSERT_HEAD(&pg->buckets[kfpurg_hash(k->topic, k->part)], k, link);
			}
			l->key = k;
			LIST_INSERT_HEAD(&k->links, l, link);
		}
	}
	w->req = *req;
	memset(req, 0, sizeof(*req));
	LIST_INSERT_HEAD(&pg->all, w, all);
	kfpurg_place(pg, w, KFPURG_WAITING);
	pg->st.added++;
	pg->st.waiting++;
	return w;
}

size_t kfpurg_touch(struct kfpurg *pg, const char *topic, int32_t part)
{
	struct kfpurg_key *k = kfpurg_key_find(pg, topic, part);
	size_t n = 0;
	if (!k)
		return 0;
	struct kfpurg_link *l;
	LIST_FOREACH(l, &k->links, link) {
		if (l->w->where == KFPURG_WAITING) {
			kfpurg_place(pg, l->w, KFPURG_READY);
			n++;
		} else if (l->w->where == KFPURG_OUT) {
			l->w->touched_out = true;
		}
	}
	pg->st.touched += n;
	return n;
}

size_t kfpurg_due(struct kfpurg *pg, int64_t now)
{
	size_t n = 0;
	struct kfpurg_wait *w, *next;
	for (w = LIST_FIRST(&pg->waiting); w; w = next) {
		next = LIST_NEXT(w, state);
		if (w->deadline_ms <= now) {
			kfpurg_place(pg, w, KFPURG_READY);
			n++;
		}
	}
	pg->st.expired += n;
	return n;
}

void kfpurg_begin(struct kfpurg *pg)
{
	struct kfpurg_wait *w;
	while ((w = LIST_FIRST(&pg->ready)))
		kfpurg_place(pg, w, KFPURG_BATCH);
}

struct kfpurg_wait *kfpurg_pop(struct kfpurg *pg)
{
	struct kfpurg_wait *w = LIST_FIRST(&pg->batch);
	if (!w)
		return NULL;
	kfpurg_place(pg, w, KFPURG_OUT);
	w->touched_out = false;
	return w;
}

void kfpurg_rewait(struct kfpurg *pg, struct kfpurg_wait *w)
{
	if (w->where != KFPURG_OUT)
		return;
	kfpurg_place(pg, w, w->touched_out ? KFPURG_READY : KFPURG_WAITING);
	w->touched_out = false;
}

const struct kwfetch_req *kfpurg_req(const struct kfpurg_wait *w)
{
	return &w->req;
}

int64_t kfpurg_deadline(const struct kfpurg_wait *w)
{
	return w->deadline_ms;
}

void *kfpurg_arg(const struct kfpurg_wait *w)
{
	return w->arg;
}

struct kfpurg_wait *kfpurg_first(const struct kfpurg *pg)
{
	return LIST_FIRST(&pg->all);
}

struct kfpurg_wait *kfpurg_next(const struct kfpurg_wait *w)
{
	return LIST_NEXT(w, all);
}

struct kfpurg_stats kfpurg_stats(const struct kfpurg *pg)
{
	return pg->st;
}
