/*
 * zk_watch — the watch manager (see zk_watch.h).
 *
 * Each watch is one entry linked into two lists: its path's list and its watcher's list, so
 * that both an event on a path and the close of a connection find their entries directly.
 * Invariants: a path record exists only while it has entries; likewise a watcher record; no
 * two entries share (path, kind, watcher).
 */
#include "zk_watch.h"

#include "err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct zk_wentry {
	struct zk_wentry *pprev, *pnext; /* the path's list */
	struct zk_wentry *wprev, *wnext; /* the watcher's list */
	struct zk_wpath *wp;
	struct zk_wwatcher *ww;
	enum zk_watch_kind kind;
};

struct zk_wpath {
	struct zk_wpath *hnext;
	struct zk_wentry *head;
	uint32_t hash;
	size_t len;
	char path[];
};

struct zk_wwatcher {
	struct zk_wwatcher *hnext;
	struct zk_wentry *head;
	void *watcher;
	uint64_t stamp; /* trigger generation that last notified it */
};

struct zk_watch {
	struct zk_wpath **paths;
	size_t npaths_b, npaths;
	struct zk_wwatcher **watchers;
	size_t nwatchers_b, nwatchers;
	size_t nentries;
	uint64_t gen;
	void **fire; /* scratch for one trigger */
	size_t nfire, capfire;
};

static uint32_t zk_wh(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)s[i];
		h *= 16777619u;
	}
	return h;
}

static size_t zk_wph(const void *p, size_t n)
{
	uint64_t h = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ULL;
	return (size_t)(h >> 32) & (n - 1);
}

struct zk_watch *zk_watch_new(void)
{
	struct zk_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->npaths_b = 1024;
	w->nwatchers_b = 256;
	w->paths = calloc(w->npaths_b, sizeof(*w->paths));
	w->watchers = calloc(w->nwatchers_b, sizeof(*w->watchers));
	if (!w->paths || !w->watchers) {
		zk_watch_free(w);
		return NULL;
	}
	return w;
}

void zk_watch_free(struct zk_watch *w)
{
	if (!w)
		return;
	for (size_t i = 0; w->watchers && i < w->nwatchers_b; i++)
		while (w->watchers[i])
			zk_watch_remove_watcher(w, w->watchers[i]->watcher);
	free(w->paths);
	free(w->watchers);
	free(w->fire);
	free(w);
}

static struct zk_wpath *zk_wpath_find(const struct zk_watch *w, const char *path, size_t len, uint32_t h)
{
	for (struct zk_wpath *p = w->paths[h & (w->npaths_b - 1)]; p; p = p->hnext)
		if (p->hash == h && p->len == len && !memcmp(p->path, path, len))
			return p;
	return NULL;
}

static struct zk_wwatcher *zk_wwatcher_find(const struct zk_watch *w, const void *watcher)
{
	for (struct zk_wwatcher *x = w->watchers[zk_wph(watcher, w->nwatchers_b)]; x; x = x->hnext)
		if (x->watcher == watcher)
			return x;
	return NULL;
}

static void zk_watch_grow_paths(struct zk_watch *w)
{
	size_t nb = w->npaths_b * 2;
	struct zk_wpath **b = calloc(nb, sizeof(*b));
	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < w->npaths_b; i++) {
		struct zk_wpath *p = w->paths[i];
		while (p) {
			struct zk_wpath *n = p->hnext;
			p->hnext = b[p->hash & (nb - 1)];
			b[p->hash & (nb - 1)] = p;
			p = n;
		}
	}
	free(w->paths);
	w->paths = b;
	w->npaths_b = nb;
}

static void zk_watch_grow_watchers(struct zk_watch *w)
{
	size_t nb = w->nwatchers_b * 2;
	struct zk_wwatcher **b = calloc(nb, sizeof(*b));
	if (!b)
		return;
	for (size_t i = 0; i < w->nwatchers_b; i++) {
		struct zk_wwatcher *x = w->watchers[i];
		while (x) {
			struct zk_wwatcher *n = x->hnext;
			size_t k = zk_wph(x->watcher, nb);
			x->hnext = b[k];
			b[k] = x;
			x = n;
		}
	}
	free(w->watchers);
	w->watchers = b;
	w->nwatchers_b = nb;
}

int zk_watch_add(struct zk_watch *w, const char *path, enum zk_watch_kind kind, void *watcher)
{
	size_t len = strlen(path);
	uint32_t h = zk_wh(path, len);
	struct zk_wpath *p = zk_wpath_find(w, path, len, h);
	if (p) {
		for (struct zk_wentry *e = p->head; e; e = e->pnext)
			if (e->kind == kind && e->ww->watcher == watcher)
				return 0;
	}
	struct zk_wwatcher *x = zk_wwatcher_find(w, watcher);
	bool new_p = false, new_x = false;
	if (!p) {
		if (w->npaths >= w->npaths_b)
			zk_watch_grow_paths(w);
		p = calloc(1, sizeof(*p) + len + 1);
		if (!p)
			return ERR_NOMEM;
		memcpy(p->path, path, len + 1);
		p->len = len;
		p->hash = h;
		new_p = true;
	}
	if (!x) {
		if (w->nwatchers >= w->nwatchers_b)
			zk_watch_grow_watchers(w);
		x = calloc(1, sizeof(*x));
		if (!x) {
			if (new_p)
				free(p);
			return ERR_NOMEM;
		}
		x->watcher = watcher;
		new_x = true;
	}
	struct zk_wentry *e = calloc(1, sizeof(*e));
	if (!e) {
		if (new_p)
			free(p);
		if (new_x)
			free(x);
		return ERR_NOMEM;
	}
	if (new_p) {
		size_t k = h & (w->npaths_b - 1);
		p->hnext = w->paths[k];
		w->paths[k] = p;
		w->npaths++;
	}
	if (new_x) {
		size_t k = zk_wph(watcher, w->nwatchers_b);
		x->hnext = w->watchers[k];
		w->watchers[k] = x;
		w->nwatchers++;
	}
	e->kind = kind;
	e->wp = p;
	e->ww = x;
	e->pnext = p->head;
	if (p->head)
		p->head->pprev = e;
	p->head = e;
	e->wnext = x->head;
	if (x->head)
		x->head->wprev = e;
	x->head = e;
	w->nentries++;
	return 0;
}

static void zk_wpath_drop(struct zk_watch *w, struct zk_wpath *p)
{
	struct zk_wpath **pp = &w->paths[p->hash & (w->npaths_b - 1)];
	while (*pp && *pp != p)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = p->hnext;
	w->npaths--;
	free(p);
}

static void zk_wwatcher_drop(struct zk_watch *w, struct zk_wwatcher *x)
{
	struct zk_wwatcher **pp = &w->watchers[zk_wph(x->watcher, w->nwatchers_b)];
	while (*pp && *pp != x)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = x->hnext;
	w->nwatchers--;
	free(x);
}

/* Unlinks and frees an entry; drops its path and watcher records when they become empty. */
static void zk_wentry_remove(struct zk_watch *w, struct zk_wentry *e)
{
	struct zk_wpath *p = e->wp;
	struct zk_wwatcher *x = e->ww;
	if (e->pprev)
		e->pprev->pnext = e->pnext;
	else
		p->head = e->pnext;
	if (e->pnext)
		e->pnext->pprev = e->pprev;
	if (e->wprev)
		e->wprev->wnext = e->wnext;
	else
		x->head = e->wnext;
	if (e->wnext)
		e->wnext->wprev = e->wprev;
	free(e);
	w->nentries--;
	if (!p->head)
		zk_wpath_drop(w, p);
	if (!x->head)
		zk_wwatcher_drop(w, x);
}

static bool zk_watch_matches(enum zk_watch_kind kind, enum zk_event_type type, bool exact)
{
	if (!exact)
		return kind == ZK_WATCH_PERSISTENT_RECURSIVE && type != ZK_EVENT_CHILDCHANGED;
	switch (kind) {
	case ZK_WATCH_DATA:
	case ZK_WATCH_EXIST:
		return type == ZK_EVENT_CREATED || type == ZK_EVENT_DATACHANGED || type == ZK_EVENT_DELETED;
	case ZK_WATCH_CHILD:
		return type == ZK_EVENT_DELETED || type == ZK_EVENT_CHILDCHANGED;
	case ZK_WATCH_PERSISTENT:
		return true;
	case ZK_WATCH_PERSISTENT_RECURSIVE:
		return type != ZK_EVENT_CHILDCHANGED;
	}
	return false;
}

static void zk_watch_collect(struct zk_watch *w, struct zk_wwatcher *x)
{
	if (x->stamp == w->gen)
		return;
	x->stamp = w->gen;
	if (w->nfire == w->capfire) {
		size_t cap = w->capfire ? w->capfire * 2 : 16;
		void **nf = realloc(w->fire, cap * sizeof(*nf));
		if (!nf)
			return; /* cannot happen in practice; the watch stays registered */
		w->fire = nf;
		w->capfire = cap;
	}
	w->fire[w->nfire++] = x->watcher;
}

/* Handles the entries of one path record; may free it. */
static void zk_watch_fire_path(struct zk_watch *w, struct zk_wpath *p, enum zk_event_type type, bool exact)
{
	struct zk_wentry *e = p->head;
	while (e) {
		struct zk_wentry *next = e->pnext;
		bool last = next == NULL;
		if (zk_watch_matches(e->kind, type, exact)) {
			zk_watch_collect(w, e->ww);
			if (e->kind != ZK_WATCH_PERSISTENT && e->kind != ZK_WATCH_PERSISTENT_RECURSIVE) {
				zk_wentry_remove(w, e); /* may free p when it was the last entry */
				if (last)
					return;
			}
		}
		e = next;
	}
}

int zk_watch_trigger(struct zk_watch *w, const char *path, enum zk_event_type type,
		     void (*cb)(void *watcher, enum zk_event_type type, const char *path, void *arg), void *arg)
{
	size_t len = strlen(path);
	w->gen++;
	w->nfire = 0;
	struct zk_wpath *p = zk_wpath_find(w, path, len, zk_wh(path, len));
	if (p)
		zk_watch_fire_path(w, p, type, true);
	if (type != ZK_EVENT_CHILDCHANGED) {
		/* ancestors, nearest first: "/a/b/c" -> "/a/b", "/a", "/" */
		size_t n = len;
		while (n > 1) {
			while (n > 0 && path[n - 1] != '/')
				n--;
			if (n == 0)
				break;
			size_t plen = n > 1 ? n - 1 : 1;
			p = zk_wpath_find(w, path, plen, zk_wh(path, plen));
			if (p)
				zk_watch_fire_path(w, p, type, false);
			n = plen;
		}
	}
	size_t nf = w->nfire;
	for (size_t i = 0; i < nf; i++)
		cb(w->fire[i], type, path, arg);
	return (int)nf;
}

bool zk_watch_remove(struct zk_watch *w, const char *path, int kind_mask, void *watcher)
{
	size_t len = strlen(path);
	struct zk_wpath *p = zk_wpath_find(w, path, len, zk_wh(path, len));
	bool removed = false;
	if (!p)
		return false;
	struct zk_wentry *e = p->head;
	while (e) {
		struct zk_wentry *next = e->pnext;
		bool last = next == NULL;
		if (e->ww->watcher == watcher && (kind_mask & (1 << e->kind))) {
			zk_wentry_remove(w, e);
			removed = true;
			if (last)
				break;
		}
		e = next;
	}
	return removed;
}

bool zk_watch_has(const struct zk_watch *w, const char *path, int kind_mask, void *watcher)
{
	size_t len = strlen(path);
	struct zk_wpath *p = zk_wpath_find(w, path, len, zk_wh(path, len));
	for (struct zk_wentry *e = p ? p->head : NULL; e; e = e->pnext)
		if (e->ww->watcher == watcher && (kind_mask & (1 << e->kind)))
			return true;
	return false;
}

void zk_watch_remove_watcher(struct zk_watch *w, void *watcher)
{
	struct zk_wwatcher *x = zk_wwatcher_find(w, watcher);
	while (x) {
		struct zk_wentry *e = x->head;
		bool last = e->wnext == NULL;
		zk_wentry_remove(w, e); /* frees x with the last entry */
		if (last)
			break;
	}
}

size_t zk_watch_count(const struct zk_watch *w)
{
	return w->nentries;
}

size_t zk_watch_path_count(const struct zk_watch *w)
{
	return w->npaths;
}

size_t zk_watch_watcher_count(const struct zk_watch *w)
{
	return w->nwatchers;
}
