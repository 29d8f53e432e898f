/*
 * zk_session — sessions and their expiry (see zk_session.h).
 *
 * Invariants: every session is in the id hash once and, unless closing, in exactly one expiry
 * bucket — the one for its expiry time rounded up to a multiple of tick_ms. Buckets are kept
 * in a hash by expiry time; zk_sessions_expire visits the bucket times from the last one it
 * checked up to now, one tick at a time.
 */
#include "zk_session.h"

#include "err.h"

#include <stdlib.h>
#include <string.h>

struct zk_session {
	struct zk_session *hnext;	    /* id hash */
	struct zk_session *bprev, *bnext;   /* expiry bucket list */
	struct zk_bucket *bucket;
	int64_t id;
	int64_t expiry;
	int32_t timeout;
	bool closing;
	void *owner;
	uint8_t passwd[16];
};

struct zk_bucket {
	struct zk_bucket *next; /* bucket hash chain */
	int64_t expiry;
	struct zk_session *head;
};

struct zk_sessions {
	struct zk_session **ids;
	size_t nids; /* power of two */
	size_t count;
	struct zk_bucket **buckets;
	size_t nbuckets;
	int64_t next_id;
	int64_t tick;
	int64_t next_check; /* the next expiry time not yet checked */
};

static size_t zk_sess_hash(int64_t id, size_t n)
{
	uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ULL;
	return (size_t)(h >> 32) & (n - 1);
}

struct zk_sessions *zk_sessions_new(int64_t server_id, int64_t now_ms, int32_t tick_ms)
{
	struct zk_sessions *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->nids = 4096;
	s->nbuckets = 1024;
	s->ids = calloc(s->nids, sizeof(*s->ids));
	s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
	if (!s->ids || !s->buckets) {
		zk_sessions_free(s);
		return NULL;
	}
	s->tick = tick_ms > 0 ? tick_ms : 1;
	/* SessionTrackerImpl.initializeNextSessionId, with wall-clock-free now_ms */
	uint64_t next = ((uint64_t)now_ms << 24) >> 8;
	next |= (uint64_t)server_id << 56;
	if (next == UINT64_MAX)
		next = 0; /* ZooKeeper's guard against a negative id wrap */
	s->next_id = (int64_t)next;
	if (s->next_id <= 0)
		s->next_id = 1;
	s->next_check = (now_ms / s->tick + 1) * s->tick;
	return s;
}

void zk_sessions_free(struct zk_sessions *s)
{
	if (!s)
		return;
	for (size_t i = 0; s->ids && i < s->nids; i++) {
		struct zk_session *x = s->ids[i];
		while (x) {
			struct zk_session *n = x->hnext;
			free(x);
			x = n;
		}
	}
	for (size_t i = 0; s->buckets && i < s->nbuckets; i++) {
		struct zk_bucket *b = s->buckets[i];
		while (b) {
			struct zk_bucket *n = b->next;
			free(b);
			b = n;
		}
	}
	free(s->ids);
	free(s->buckets);
	free(s);
}

static struct zk_session *zk_sess_find(const struct zk_sessions *s, int64_t id)
{
	for (struct zk_session *x = s->ids[zk_sess_hash(id, s->nids)]; x; x = x->hnext)
		if (x->id == id)
			return x;
	return NULL;
}

static struct zk_bucket **zk_bucket_slot(struct zk_sessions *s, int64_t expiry)
{
	struct zk_bucket **pp = &s->buckets[zk_sess_hash(expiry, s->nbuckets)];
	while (*pp && (*pp)->expiry != expiry)
		pp = &(*pp)->next;
	return pp;
}

static void zk_bucket_unlink(struct zk_sessions *s, struct zk_session *x)
{
	struct zk_bucket *b = x->bucket;
	if (!b)
		return;
	if (x->bprev)
		x->bprev->bnext = x->bnext;
	else
		b->head = x->bnext;
	if (x->bnext)
		x->bnext->bprev = x->bprev;
	x->bprev = x->bnext = NULL;
	x->bucket = NULL;
	if (!b->head) {
		struct zk_bucket **pp = zk_bucket_slot(s, b->expiry);
		if (*pp == b)
			*pp = b->next;
		free(b);
	}
}

static int zk_bucket_link(struct zk_sessions *s, struct zk_session *x, int64_t expiry)
{
	struct zk_bucket **pp = zk_bucket_slot(s, expiry);
	if (!*pp) {
		struct zk_bucket *b = calloc(1, sizeof(*b));
		if (!b)
			return ERR_NOMEM;
		b->expiry = expiry;
		*pp = b;
	}
	struct zk_bucket *b = *pp;
	x->bucket = b;
	x->bprev = NULL;
	x->bnext = b->head;
	if (b->head)
		b->head->bprev = x;
	b->head = x;
	x->expiry = expiry;
	return 0;
}

/* ExpiryQueue.roundToNextInterval */
static int64_t zk_sess_round(const struct zk_sessions *s, int64_t t)
{
	return (t / s->tick + 1) * s->tick;
}

int64_t zk_sessions_next_id(struct zk_sessions *s)
{
	while (zk_sess_find(s, s->next_id) || s->next_id == 0)
		s->next_id++;
	return s->next_id++;
}

int zk_sessions_add(struct zk_sessions *s, int64_t id, int32_t timeout_ms, const uint8_t passwd[16],
		    int64_t now_ms)
{
	struct zk_session *x = zk_sess_find(s, id);
	if (!x) {
		x = calloc(1, sizeof(*x));
		if (!x)
			return ERR_NOMEM;
		x->id = id;
		size_t k = zk_sess_hash(id, s->nids);
		x->hnext = s->ids[k];
		s->ids[k] = x;
		s->count++;
	} else {
		zk_bucket_unlink(s, x);
	}
	x->timeout = timeout_ms;
	x->closing = false;
	if (passwd)
		memcpy(x->passwd, passwd, 16);
	return zk_bucket_link(s, x, zk_sess_round(s, now_ms + timeout_ms));
}

int zk_sessions_touch(struct zk_sessions *s, int64_t id, int64_t now_ms)
{
	struct zk_session *x = zk_sess_find(s, id);
	if (!x)
		return ERR_NOTFOUND;
	if (x->closing)
		return 0;
	int64_t expiry = zk_sess_round(s, now_ms + x->timeout);
	if (x->bucket && expiry == x->expiry)
		return 0;
	zk_bucket_unlink(s, x);
	return zk_bucket_link(s, x, expiry);
}

int zk_sessions_remove(struct zk_sessions *s, int64_t id)
{
	struct zk_session **pp = &s->ids[zk_sess_hash(id, s->nids)];
	while (*pp && (*pp)->id != id)
		pp = &(*pp)->hnext;
	if (!*pp)
		return ERR_NOTFOUND;
	struct zk_session *x = *pp;
	*pp = x->hnext;
	zk_bucket_unlink(s, x);
	s->count--;
	free(x);
	return 0;
}

bool zk_sessions_exists(const struct zk_sessions *s, int64_t id)
{
	return zk_sess_find(s, id) != NULL;
}

int32_t zk_sessions_timeout(const struct zk_sessions *s, int64_t id)
{
	struct zk_session *x = zk_sess_find(s, id);
	return x ? x->timeout : -1;
}

const uint8_t *zk_sessions_passwd(const struct zk_sessions *s, int64_t id)
{
	struct zk_session *x = zk_sess_find(s, id);
	return x ? x->passwd : NULL;
}

void *zk_sessions_get_owner(const struct zk_sessions *s, int64_t id)
{
	struct zk_session *x = zk_sess_find(s, id);
	return x ? x->owner : NULL;
}

void zk_sessions_set_owner(struct zk_sessions *s, int64_t id, void *owner)
{
	struct zk_session *x = zk_sess_find(s, id);
	if (x)
		x->owner = owner;
}

void zk_sessions_set_closing(struct zk_sessions *s, int64_t id)
{
	struct zk_session *x = zk_sess_find(s, id);
	if (x && !x->closing) {
		x->closing = true;
		zk_bucket_unlink(s, x);
	}
}

bool zk_sessions_is_closing(const struct zk_sessions *s, int64_t id)
{
	struct zk_session *x = zk_sess_find(s, id);
	return x && x->closing;
}

int zk_sessions_expire(struct zk_sessions *s, int64_t now_ms, void (*cb)(int64_t id, void *arg), void *arg)
{
	int n = 0;
	/* after a long pause (SIGSTOP, a stalled VM) walking tick by tick would take long:
	 * expire every bucket that is due from a scan of the bucket table instead */
	if (now_ms - s->next_check > (int64_t)10000 * s->tick) {
		for (size_t i = 0; i < s->nbuckets; i++) {
			struct zk_bucket *b = s->buckets[i];
			while (b) {
				struct zk_bucket *next = b->next;
				if (b->expiry <= now_ms) {
					while (b->head) {
						struct zk_session *x = b->head;
						bool last = x->bnext == NULL;
						x->closing = true;
						zk_bucket_unlink(s, x); /* frees b with the last one */
						n++;
						cb(x->id, arg);
						if (last)
							break;
					}
				}
				b = next;
			}
		}
		s->next_check = zk_sess_round(s, now_ms);
		return n;
	}
	while (s->next_check <= now_ms) {
		struct zk_bucket **pp = zk_bucket_slot(s, s->next_check);
		while (*pp) {
			struct zk_session *x = (*pp)->head;
			x->closing = true;
			zk_bucket_unlink(s, x); /* may free the bucket */
			n++;
			cb(x->id, arg);
			pp = zk_bucket_slot(s, s->next_check);
		}
		s->next_check += s->tick;
	}
	return n;
}

int zk_sessions_walk(const struct zk_sessions *s,
		     int (*cb)(int64_t id, int32_t timeout_ms, const uint8_t *passwd, void *arg), void *arg)
{
	for (size_t i = 0; i < s->nids; i++)
		for (struct zk_session *x = s->ids[i]; x; x = x->hnext) {
			int rc = cb(x->id, x->timeout, x->passwd, arg);
			if (rc)
				return rc;
		}
	return 0;
}

size_t zk_sessions_count(const struct zk_sessions *s)
{
	return s->count;
}

int32_t zk_sessions_negotiate(int32_t requested, int32_t min_ms, int32_t max_ms)
{
	if (requested < min_ms)
		return min_ms;
	if (requested > max_ms)
		return max_ms;
	return requested;
}
