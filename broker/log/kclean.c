/*
 * kclean — the log cleaner (see kclean.h).
 *
 * The key map is an open-addressing table of (64-bit hash, offset, key position, key length)
 * with the keys' bytes in an arena beside it; a lookup compares the whole key, so two keys never
 * share an entry. Its bound (map_bytes) is half for the slots (filled to 3/4 at most), half for
 * the keys; it starts small and grows toward the bound as keys come. A dirty segment goes in only if it fits whole:
 * a first walk counts what it could add (its keys not yet mapped, repeats counted again, so an
 * over-estimate), a second adds them.
 *
 * Manager states (loop thread; mu guards todo/done/stop between loop and worker):
 *   idle      cur == NULL, no task anywhere
 *   cleaning  cur is the task given to the worker (todo, or taken), cur_log its log
 *   finished  the worker put cur on done and activated done_ev; kclean_done_cb installs it
 * kclean_forget of cur_log goes from cleaning or finished back to idle at once (the worker is
 * cancelled and waited for); the checkpoint moves only when every group was swapped in.
 */
#include "kclean.h"

#include "buf.h"
#include "err.h"
#include "kbatch.h"
#include "kckpt.h"
#include "ktxnidx.h"
#include "log.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const KCLEAN_MOD = "cleaner";

#define KCLEAN_RD_BUF (1u << 20)
#define KCLEAN_MAX_BATCH (256u << 20) /* a larger batch in a segment is corrupt */
#define KCLEAN_WR_BUF (1u << 20)

/* ---- the key map ---- */

struct kclean_ent {
	uint64_t hash; /* 0: empty slot */
	int64_t offset;
	uint32_t koff, klen;
};

struct kclean_map {
	struct kclean_ent *slots;
	size_t mask, used;
	size_t max_slots, max_used; /* the bound map_bytes sets (max_used: 3/4 of max_slots) */
	uint8_t *arena;
	size_t alen, acap, amax;
};

static uint64_t kclean_hash(const uint8_t *k, size_t n)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a, then a 64-bit finaliser */
	for (size_t i = 0; i < n; i++) {
		h ^= k[i];
		h *= 1099511628211ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h ? h : 1;
}

/* The map starts small and grows up to its bound (Kafka allocates the whole buffer at once;
 * here memory a cleaning does not need is never touched). */
#define KCLEAN_MAP_FIRST_SLOTS 4096
#define KCLEAN_ARENA_FIRST (64u << 10)

static int kclean_map_init(struct kclean_map *m, size_t bytes)
{
	memset(m, 0, sizeof(*m));
	if (bytes < KCLEAN_MIN_MAP_BYTES)
		bytes = KCLEAN_MIN_MAP_BYTES;
	size_t n = 8;
	while (n * 2 * sizeof(struct kclean_ent) <= bytes / 2)
		n *= 2;
	m->max_slots = n;
	m->max_used = n / 4 * 3;
	m->amax = bytes / 2 > UINT32_MAX ? UINT32_MAX : bytes / 2;
	size_t first = n < KCLEAN_MAP_FIRST_SLOTS ? n : KCLEAN_MAP_FIRST_SLOTS;
	m->acap = m->amax < KCLEAN_ARENA_FIRST ? m->amax : KCLEAN_ARENA_FIRST;
	m->slots = calloc(first, sizeof(*m->slots));
	m->arena = malloc(m->acap);
	if (!m->slots || !m->arena) {
		free(m->slots);
		free(m->arena);
		memset(m, 0, sizeof(*m));
		return ERR_NOMEM;
	}
	m->mask = first - 1;
	return 0;
}

static void kclean_map_free(struct kclean_map *m)
{
	free(m->slots);
	free(m->arena);
	memset(m, 0, sizeof(*m));
}

/* The slot of key: its entry, or the empty slot where it would go. */
static struct kclean_ent *kclean_map_slot(const struct kclean_map *m, const uint8_t *k, size_t n, uint64_t h)
{
	size_t i = (size_t)h & m->mask;
	for (;;) {
		struct kclean_ent *e = &m->slots[i];
		if (!e->hash || (e->hash == h && e->klen == n && !memcmp(m->arena + e->koff, k, n)))
			return e;
		i = (i + 1) & m->mask;
	}
}

/* Room for keys more entries of bytes more key bytes (within the bound, which the caller
 * checked): the table doubles and rehashes, the arena grows. */
static int kclean_map_reserve(struct kclean_map *m, size_t keys, size_t bytes)
{
	size_t n = m->mask + 1;
	size_t want = m->used + keys;
	if (want > n / 4 * 3) {
		size_t nn = n;
		while (want > nn / 4 * 3 && nn < m->max_slots)
			nn *= 2;
		struct kclean_ent *ns = calloc(nn, sizeof(*ns));
		if (!ns)
			return ERR_NOMEM;
		for (size_t i = 0; i < n; i++) {
			if (!m->slots[i].hash)
				continue;
			size_t j = (size_t)m->slots[i].hash & (nn - 1);
			while (ns[j].hash)
				j = (j + 1) & (nn - 1);
			ns[j] = m->slots[i];
		}
		free(m->slots);
		m->slots = ns;
		m->mask = nn - 1;
	}
	if (m->alen + bytes > m->acap) {
		size_t c = m->acap;
		while (m->alen + bytes > c && c < m->amax)
			c = c * 2 > m->amax ? m->amax : c * 2;
		uint8_t *na = realloc(m->arena, c);
		if (!na)
			return ERR_NOMEM;
		m->arena = na;
		m->acap = c;
	}
	return 0;
}

/* ---- reading a segment batch by batch ---- */

struct kclean_rd {
	int fd;
	int64_t size;
	uint8_t *buf;
	size_t cap;
	int64_t bpos; /* file position of buf[0] */
	size_t blen;
};

/* The whole batch at pos, validated (framing, CRC, records of an uncompressed batch, and the
 * shape the cleaner leaves). */
static int kclean_rd_batch(struct kclean_rd *r, int64_t pos, const uint8_t **b, size_t *bsz, struct kbatch_hdr *h,
			   char *eb, size_t el)
{
	if (r->size - pos < KBATCH_HDR_SIZE)
		return err_set(eb, el, ERR_CORRUPT, "partial batch header at byte %" PRId64, pos);
	for (int pass = 0; pass < 2; pass++) {
		if (pos >= r->bpos && pos + KBATCH_LOG_OVERHEAD <= r->bpos + (int64_t)r->blen) {
			const uint8_t *p = r->buf + (pos - r->bpos);
			size_t need = kbatch_size_of(p);
			if (need < KBATCH_HDR_SIZE || need > KCLEAN_MAX_BATCH || (int64_t)need > r->size - pos)
				return err_set(eb, el, ERR_CORRUPT, "bad batch length %zu at byte %" PRId64, need, pos);
			if (pos + (int64_t)need <= r->bpos + (int64_t)r->blen) {
				*b = p;
				*bsz = need;
				int rc = kbatch_validate_ex(p, need, KBATCH_COMPACTED, h, eb, el);
				if (rc)
					return err_set(eb, el, ERR_CORRUPT, "batch at byte %" PRId64 ": %s", pos,
						       eb ? eb : err_str(rc));
				return 0;
			}
			if (need > r->cap) {
				uint8_t *nb = realloc(r->buf, need);
				if (!nb)
					return err_set(eb, el, ERR_NOMEM, "out of memory for a %zu-byte batch", need);
				r->buf = nb;
				r->cap = need;
			}
		}
		if (pass == 1)
			break;
		size_t want = r->cap;
		if ((int64_t)want > r->size - pos)
			want = (size_t)(r->size - pos);
		size_t got = 0;
		while (got < want) {
			ssize_t n = pread(r->fd, r->buf + got, want - got, (off_t)(pos + (int64_t)got));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return err_set(eb, el, ERR_IO, "read at byte %" PRId64 ": %s", pos + (int64_t)got,
					       n < 0 ? strerror(errno) : "the segment became shorter");
			got += (size_t)n;
		}
		r->bpos = pos;
		r->blen = got;
	}
	return err_set(eb, el, ERR_CORRUPT, "cannot read the batch at byte %" PRId64, pos);
}

/* Whether the batch of h belongs to an aborted transaction of t (a transactional data batch of
 * a producer whose aborted transaction spans its offset). t->aborted is sorted by last offset. */
static bool kclean_is_aborted(const struct kclean_task *t, const struct kbatch_hdr *h)
{
	if (!t->n_aborted || !(h->attributes & KBATCH_TRANSACTIONAL) || (h->attributes & KBATCH_CONTROL) ||
	    h->producer_id < 0)
		return false;
	size_t lo = 0, hi = t->n_aborted;
	while (lo < hi) { /* the first transaction whose marker is at or after the batch */
		size_t mid = lo + (hi - lo) / 2;
		if (t->aborted[mid].last_offset < h->base_offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < t->n_aborted; i++)
		if (t->aborted[i].producer_id == h->producer_id && t->aborted[i].first_offset <= h->base_offset)
			return true;
	return false;
}

int kclean_task_set_aborted(struct kclean_task *t, const struct ktxnidx *x)
{
	size_t n = x ? ktxnidx_count(x) : 0;
	free(t->aborted);
	t->aborted = NULL;
	t->n_aborted = 0;
	if (!n)
		return 0;
	t->aborted = malloc(n * sizeof(*t->aborted));
	if (!t->aborted)
		return ERR_NOMEM;
	for (size_t i = 0; i < n; i++)
		t->aborted[i] = *ktxnidx_at(x, i);
	t->n_aborted = n;
	return 0;
}

/* ---- step 1: the key map ---- */

struct kclean_mapwalk {
	struct kclean_map *m;
	int64_t from; /* records below are not dirty */
	bool insert;
	size_t new_keys, new_bytes;
};

static int kclean_map_cb(const struct kbatch_record *rec, void *arg)
{
	struct kclean_mapwalk *w = arg;
	if (rec->offset < w->from || !rec->key)
		return 0;
	uint64_t h = kclean_hash(rec->key, (size_t)rec->key_len);
	struct kclean_ent *e = kclean_map_slot(w->m, rec->key, (size_t)rec->key_len, h);
	if (!w->insert) {
		if (!e->hash) {
			w->new_keys++;
			w->new_bytes += (size_t)rec->key_len;
		}
		return 0;
	}
	if (!e->hash) {
		e->hash = h;
		e->koff = (uint32_t)w->m->alen;
		e->klen = (uint32_t)rec->key_len;
		memcpy(w->m->arena + w->m->alen, rec->key, (size_t)rec->key_len);
		w->m->alen += (size_t)rec->key_len;
		w->m->used++;
	}
	e->offset = rec->offset;
	return 0;
}

/* One walk over segment v (counting or inserting). */
static int kclean_map_walk(struct kclean_task *t, const struct klog_segview *v, struct kclean_rd *rd,
			   struct kclean_mapwalk *w, atomic_int *cancel)
{
	int64_t pos = 0;
	rd->fd = v->fd;
	rd->size = v->size;
	rd->blen = 0;
	while (pos < v->size) {
		const uint8_t *b;
		size_t bsz;
		struct kbatch_hdr h;
		if (cancel && atomic_load(cancel))
			return err_set(t->err, sizeof(t->err), ERR_BUSY, "cancelled");
		int rc = kclean_rd_batch(rd, pos, &b, &bsz, &h, t->err, sizeof(t->err));
		if (rc)
			return rc;
		if (!(h.attributes & (KBATCH_COMPRESSION_MASK | KBATCH_CONTROL)) && !kclean_is_aborted(t, &h) &&
		    h.base_offset + h.last_offset_delta >= w->from &&
		    (rc = kbatch_records(b, bsz, kclean_map_cb, w, t->err, sizeof(t->err))))
			return rc;
		pos += (int64_t)bsz;
	}
	return 0;
}

/* ---- step 2: writing the cleaned segments ---- */

struct kclean_wr {
	int fd;
	uint8_t *buf;
	size_t len;
	int64_t written;
};

static int kclean_wr_flush(struct kclean_wr *w)
{
	size_t off = 0;
	while (off < w->len) {
		ssize_t n = write(w->fd, w->buf + off, w->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return ERR_IO;
		off += (size_t)n;
	}
	w->written += (int64_t)w->len;
	w->len = 0;
	return 0;
}

static int kclean_wr_put(struct kclean_wr *w, const void *p, size_t n)
{
	if (w->len + n > KCLEAN_WR_BUF && kclean_wr_flush(w))
		return ERR_IO;
	if (n > KCLEAN_WR_BUF) {
		size_t off = 0;
		while (off < n) {
			ssize_t k = write(w->fd, (const uint8_t *)p + off, n - off);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				return ERR_IO;
			off += (size_t)k;
		}
		w->written += (int64_t)n;
		return 0;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
	return 0;
}

struct kclean_filter {
	const struct kclean_map *m;
	bool drop_tombstones;
	uint8_t *out; /* the records kept, back to back */
	size_t len;
	int32_t kept, seen, tomb;
};

static int kclean_filter_cb(const struct kbatch_record *rec, void *arg)
{
	struct kclean_filter *f = arg;
	bool keep = true;
	f->seen++;
	if (rec->key) {
		uint64_t h = kclean_hash(rec->key, (size_t)rec->key_len);
		const struct kclean_ent *e = kclean_map_slot(f->m, rec->key, (size_t)rec->key_len, h);
		if (e->hash && e->offset > rec->offset)
			keep = false; /* a later record of the key supersedes it */
		else if (!rec->value && f->drop_tombstones) {
			keep = false;
			f->tomb++;
		}
	}
	if (keep) {
		memcpy(f->out + f->len, rec->raw, rec->raw_len);
		f->len += rec->raw_len;
		f->kept++;
	}
	return 0;
}

/*
 * The transactions met while rewriting (one cleaning, across its groups, in offset order): per
 * producer, whether a record of its current transaction (since its last marker) was kept.
 * Kafka's CleanedTransactionMetadata: a marker whose transaction kept no record is no longer
 * needed by any reader (a read_committed one skips nothing there, the aborted list has nothing
 * to hide) and goes with the tombstones' horizon. An open-addressing table of producer ids.
 */
struct kclean_txm {
	int64_t *pid; /* [cap], -1: free */
	bool *kept;
	size_t cap, used;
};

static void kclean_txm_free(struct kclean_txm *x)
{
	free(x->pid);
	free(x->kept);
	*x = (struct kclean_txm){ NULL, NULL, 0, 0 };
}

static size_t kclean_txm_slot(const struct kclean_txm *x, int64_t pid)
{
	size_t i = (size_t)((uint64_t)pid * 0x9E3779B97F4A7C15ull) & (x->cap - 1);
	while (x->pid[i] != -1 && x->pid[i] != pid)
		i = (i + 1) & (x->cap - 1);
	return i;
}

/* The entry of pid, added (kept false) when new; NULL without memory. */
static bool *kclean_txm_get(struct kclean_txm *x, int64_t pid)
{
	if ((x->used + 1) * 2 > x->cap) {
		struct kclean_txm n = { NULL, NULL, x->cap ? x->cap * 2 : 64, 0 };
		n.pid = malloc(n.cap * sizeof(*n.pid));
		n.kept = malloc(n.cap * sizeof(*n.kept));
		if (!n.pid || !n.kept) {
			kclean_txm_free(&n);
			return NULL;
		}
		for (size_t i = 0; i < n.cap; i++)
			n.pid[i] = -1;
		for (size_t i = 0; i < x->cap; i++)
			if (x->pid[i] != -1) {
				size_t k = kclean_txm_slot(&n, x->pid[i]);
				n.pid[k] = x->pid[i];
				n.kept[k] = x->kept[i];
				n.used++;
			}
		kclean_txm_free(x);
		*x = n;
	}
	size_t k = kclean_txm_slot(x, pid);
	if (x->pid[k] == -1) {
		x->pid[k] = pid;
		x->kept[k] = false;
		x->used++;
	}
	return &x->kept[k];
}

/* Rewrites the segments of group g into <base>.log.cleaned. */
static int kclean_write_group(struct kclean_task *t, struct kclean_group *g, int first, const struct kclean_map *m,
			      struct kclean_txm *txm, struct kclean_rd *rd, atomic_int *cancel)
{
	char path[PATH_MAX + 64];
	struct kclean_wr w = { -1, NULL, 0, 0 };
	uint8_t *nb = NULL;
	size_t nbcap = 0;
	int rc = 0;
	snprintf(path, sizeof(path), "%s/%020" PRId64 ".log.cleaned", t->dir, g->base);
	w.buf = malloc(KCLEAN_WR_BUF);
	if (!w.buf)
		return err_set(t->err, sizeof(t->err), ERR_NOMEM, "out of memory");
	w.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w.fd < 0) {
		rc = err_set(t->err, sizeof(t->err), ERR_IO, "cannot create %s: %s", path, strerror(errno));
		goto out;
	}
	g->written = true;
	int64_t horizon = t->now_ms - t->delete_retention_ms;
	for (int i = first; i < first + g->count && !rc; i++) {
		const struct klog_segview *v = &t->v[i];
		int64_t newest = v->max_ts >= 0 ? v->max_ts : v->mtime_ms;
		int64_t pos = 0;
		rd->fd = v->fd;
		rd->size = v->size;
		rd->blen = 0;
		while (pos < v->size) {
			const uint8_t *b;
			size_t bsz;
			struct kbatch_hdr h;
			if (cancel && atomic_load(cancel)) {
				rc = err_set(t->err, sizeof(t->err), ERR_BUSY, "cancelled");
				break;
			}
			if ((rc = kclean_rd_batch(rd, pos, &b, &bsz, &h, t->err, sizeof(t->err))))
				break;
			pos += (int64_t)bsz;
			t->bytes_in += (int64_t)bsz;
			t->records_in += h.records_count;
			if (kclean_is_aborted(t, &h))
				continue; /* an aborted transaction's records: never read by anyone committed */
			bool past_horizon = t->delete_retention_ms >= 0 && newest < horizon;
			bool *txkept = NULL;
			if ((h.attributes & (KBATCH_TRANSACTIONAL | KBATCH_CONTROL)) &&
			    !(txkept = kclean_txm_get(txm, h.producer_id))) {
				rc = err_set(t->err, sizeof(t->err), ERR_NOMEM, "out of memory");
				break;
			}
			if (h.attributes & KBATCH_CONTROL) {
				/* a transaction marker: needed while a record of its transaction is kept */
				bool needed = *txkept;
				*txkept = false; /* the producer's next transaction starts after it */
				if (!needed && past_horizon) {
					t->markers_dropped++;
					continue;
				}
			}
			if (h.attributes & (KBATCH_COMPRESSION_MASK | KBATCH_CONTROL)) {
				/* not decoded here: kept whole, its records count as kept */
				t->records_kept += h.records_count;
				if (txkept && !(h.attributes & KBATCH_CONTROL))
					*txkept = true;
				if (kclean_wr_put(&w, b, bsz))
					goto werr;
				continue;
			}
			if (bsz > nbcap) {
				uint8_t *n2 = realloc(nb, bsz);
				if (!n2) {
					rc = err_set(t->err, sizeof(t->err), ERR_NOMEM, "out of memory");
					break;
				}
				nb = n2;
				nbcap = bsz;
			}
			struct kclean_filter f = { m, past_horizon, nb + KBATCH_HDR_SIZE, 0, 0, 0, 0 };
			if ((rc = kbatch_records(b, bsz, kclean_filter_cb, &f, t->err, sizeof(t->err))))
				break;
			t->records_kept += f.kept;
			t->tombstones_dropped += f.tomb;
			if (f.kept == 0)
				continue;
			if (txkept)
				*txkept = true;
			if (f.kept == f.seen) {
				if (kclean_wr_put(&w, b, bsz))
					goto werr;
				continue;
			}
			/* Kafka's filterTo: same baseOffset, lastOffsetDelta, timestamps and producer
			 * fields; fewer records; a new length and CRC */
			memcpy(nb, b, KBATCH_HDR_SIZE);
			size_t nsz = KBATCH_HDR_SIZE + f.len;
			be32_put(nb + KBATCH_OFF_LENGTH, (uint32_t)(nsz - KBATCH_LOG_OVERHEAD));
			be32_put(nb + KBATCH_OFF_RECORDS_COUNT, (uint32_t)f.kept);
			kbatch_update_crc(nb, nsz);
			if (kclean_wr_put(&w, nb, nsz))
				goto werr;
		}
	}
	if (!rc && kclean_wr_flush(&w))
		goto werr;
	if (!rc && !t->no_fsync && fdatasync(w.fd))
		goto werr;
	t->bytes_out += w.written;
	goto out;
werr:
	rc = err_set(t->err, sizeof(t->err), ERR_IO, "cannot write %s: %s", path, strerror(errno));
out:
	if (w.fd >= 0)
		close(w.fd);
	free(w.buf);
	free(nb);
	return rc;
}

static int64_t kclean_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int kclean_task_run(struct kclean_task *t, atomic_int *cancel)
{
	struct kclean_map m;
	struct kclean_txm txm = { NULL, NULL, 0, 0 };
	struct kclean_rd rd = { -1, 0, NULL, KCLEAN_RD_BUF, 0, 0 };
	int64_t t0 = kclean_mono_us();
	int nclean = t->nv;
	int rc;
	t->cleaned_upto = t->first_uncleanable;
	t->err[0] = 0;
	if ((rc = kclean_map_init(&m, t->map_bytes))) {
		err_set(t->err, sizeof(t->err), rc, "cannot allocate the %zu-byte key map", t->map_bytes);
		goto out;
	}
	if (!(rd.buf = malloc(rd.cap))) {
		rc = err_set(t->err, sizeof(t->err), ERR_NOMEM, "out of memory");
		goto out;
	}
	/* step 1: the dirty segments into the map, each whole or not at all */
	for (int i = 0; i < t->nv; i++) {
		if (t->v[i].next_offset <= t->first_dirty)
			continue;
		struct kclean_mapwalk w = { &m, t->first_dirty, false, 0, 0 };
		if ((rc = kclean_map_walk(t, &t->v[i], &rd, &w, cancel)))
			goto out;
		if (m.used + w.new_keys > m.max_used || m.alen + w.new_bytes > m.amax) {
			if (t->v[i].base <= t->first_dirty) {
				rc = err_set(t->err, sizeof(t->err), ERR_FULL,
					     "the key map (log.cleaner.dedupe.buffer.size %zu) cannot hold the keys of "
					     "one segment (%020" PRId64 ".log)",
					     t->map_bytes, t->v[i].base);
				goto out;
			}
			nclean = i;
			t->cleaned_upto = t->v[i].base;
			break;
		}
		if ((rc = kclean_map_reserve(&m, w.new_keys, w.new_bytes))) {
			err_set(t->err, sizeof(t->err), rc, "out of memory for the key map");
			goto out;
		}
		w.insert = true;
		if ((rc = kclean_map_walk(t, &t->v[i], &rd, &w, cancel)))
			goto out;
	}
	/* step 2: groups of consecutive segments of at most segment.bytes, each rewritten */
	t->groups = calloc(nclean > 0 ? (size_t)nclean : 1, sizeof(*t->groups));
	if (!t->groups) {
		rc = err_set(t->err, sizeof(t->err), ERR_NOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < nclean;) {
		int j = i + 1;
		int64_t sz = t->v[i].size;
		while (j < nclean && sz + t->v[j].size <= t->segment_bytes &&
		       t->v[j].next_offset - 1 - t->v[i].base <= INT32_MAX) {
			sz += t->v[j].size;
			j++;
		}
		struct kclean_group *g = &t->groups[t->ngroups++];
		g->base = t->v[i].base;
		g->count = j - i;
		if ((rc = kclean_write_group(t, g, i, &m, &txm, &rd, cancel)))
			goto out;
		i = j;
	}
out:
	kclean_map_free(&m);
	kclean_txm_free(&txm);
	free(rd.buf);
	t->run_us = kclean_mono_us() - t0;
	t->rc = rc;
	return rc;
}

/* ---- planning and installing (loop thread) ---- */

int kclean_task_plan(struct klog *l, int64_t checkpoint, int64_t stable, int64_t now_ms, size_t map_bytes,
		     struct kclean_task **out, double *ratio, char *eb, size_t el)
{
	const struct klog_opts *o = klog_get_opts(l);
	struct klog_segview *v = NULL;
	int n = 0;
	uint64_t gen;
	*out = NULL;
	if (ratio)
		*ratio = 0;
	int rc = klog_segviews(l, false, &v, &n, &gen, eb, el);
	if (rc || n == 0)
		return rc;
	int64_t start = klog_start_offset(l), end = klog_end_offset(l);
	int64_t first_dirty = checkpoint < start || checkpoint > end ? start : checkpoint;
	/* the first segment holding a record younger than the lag or at or above stable, or the
	 * active one */
	int u = 0;
	while (u < n) {
		int64_t newest = v[u].max_ts >= 0 ? v[u].max_ts : v[u].mtime_ms;
		if (o->min_compaction_lag_ms > 0 && newest > now_ms - o->min_compaction_lag_ms)
			break;
		if (v[u].next_offset > stable)
			break;
		u++;
	}
	int64_t first_uncleanable = u < n ? v[u].base : klog_segment_base(l, klog_segment_count(l) - 1);
	int64_t clean = 0, dirty = 0;
	for (int i = 0; i < u; i++) {
		if (v[i].next_offset <= first_dirty)
			clean += v[i].size;
		else
			dirty += v[i].size;
	}
	klog_segviews_free(v, n);
	double r = clean + dirty > 0 ? (double)dirty / (double)(clean + dirty) : 0;
	if (ratio)
		*ratio = r;
	if (first_dirty >= first_uncleanable || dirty == 0 || r < o->min_cleanable_ratio)
		return 0;

	struct kclean_task *t = calloc(1, sizeof(*t));
	if (!t)
		return err_set(eb, el, ERR_NOMEM, "out of memory");
	snprintf(t->dir, sizeof(t->dir), "%s", klog_dir(l));
	if ((rc = klog_segviews(l, true, &t->v, &t->nv, &t->gen, eb, el))) {
		free(t);
		return rc;
	}
	for (int i = u; i < t->nv; i++)
		close(t->v[i].fd);
	t->nv = u;
	t->first_dirty = first_dirty;
	t->first_uncleanable = first_uncleanable;
	t->now_ms = now_ms;
	t->delete_retention_ms = o->delete_retention_ms;
	t->segment_bytes = o->segment_bytes;
	t->map_bytes = map_bytes;
	t->no_fsync = o->test_no_fsync;
	t->dirty_ratio = r;
	t->cleaned_upto = -1;
	*out = t;
	return 0;
}

int kclean_task_install(struct klog *l, struct kclean_task *t, klog_swap_hook hook, void *hook_arg, char *eb,
			size_t el)
{
	char path[PATH_MAX + 64];
	uint64_t gen = t->gen;
	for (int i = 0; i < t->ngroups; i++) {
		struct kclean_group *g = &t->groups[i];
		snprintf(path, sizeof(path), "%s/%020" PRId64 ".log.cleaned", t->dir, g->base);
		int rc = klog_swap_cleaned(l, gen, g->base, g->count, path, hook, hook_arg, eb, el);
		if (rc)
			return rc;
		g->written = false; /* it is the segment now */
		gen = klog_gen(l); /* our own swap moved the generation; nothing else ran meanwhile */
	}
	return 0;
}

void kclean_task_free(struct kclean_task *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->ngroups; i++) {
		if (!t->groups[i].written)
			continue;
		char path[PATH_MAX + 64];
		snprintf(path, sizeof(path), "%s/%020" PRId64 ".log.cleaned", t->dir, t->groups[i].base);
		if (unlink(path) && errno != ENOENT)
			log_warn(KCLEAN_MOD, "cannot delete %s: %s", path, strerror(errno));
	}
	klog_segviews_free(t->v, t->nv);
	free(t->groups);
	free(t->aborted);
	free(t);
}

/* ---- the manager ---- */

struct kclean {
	struct event_base *base;
	struct event *done_ev; /* worker -> loop */
	struct kclean_opts o;
	char ckpt_path[PATH_MAX];
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;   /* todo set, stop set, or a task done */
	struct kclean_task *todo; /* under mu: given to the worker, not taken yet */
	struct kclean_task *done; /* under mu: finished by the worker */
	bool running;		  /* under mu: the worker holds a task */
	bool stop;		  /* under mu */
	atomic_int cancel;
	/* loop thread only */
	struct kclean_task *cur; /* the cleaning in flight (cleaning or finished) */
	struct klog *cur_log;
	char cur_topic[KCKPT_TOPIC_MAX + 1];
	int32_t cur_part;
	struct kckpt_offset *ck;
	size_t nck;
	uint64_t cleanings, bytes_in, bytes_out;
};

static void *kclean_worker(void *arg)
{
	struct kclean *c = arg;
	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->stop && !c->todo)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->stop)
			break;
		struct kclean_task *t = c->todo;
		c->todo = NULL;
		c->running = true;
		pthread_mutex_unlock(&c->mu);
		kclean_task_run(t, &c->cancel);
		pthread_mutex_lock(&c->mu);
		c->running = false;
		c->done = t;
		pthread_cond_broadcast(&c->cv);
		event_active(c->done_ev, EV_READ, 0);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

static ssize_t kclean_ck_find(const struct kclean *c, const char *topic, int32_t part)
{
	for (size_t i = 0; i < c->nck; i++)
		if (c->ck[i].partition == part && !strcmp(c->ck[i].topic, topic))
			return (ssize_t)i;
	return -1;
}

int64_t kclean_checkpoint(const struct kclean *c, const char *topic, int32_t part)
{
	ssize_t i = kclean_ck_find(c, topic, part);
	return i < 0 ? -1 : c->ck[i].offset;
}

/* Sets (offset >= 0) or drops (-1) an entry and rewrites the file. */
static void kclean_ck_set(struct kclean *c, const char *topic, int32_t part, int64_t offset)
{
	char eb[256];
	ssize_t i = kclean_ck_find(c, topic, part);
	if (offset < 0) {
		if (i < 0)
			return;
		c->ck[i] = c->ck[--c->nck];
	} else if (i >= 0) {
		c->ck[i].offset = offset;
	} else {
		struct kckpt_offset *n = realloc(c->ck, (c->nck + 1) * sizeof(*n));
		if (!n) {
			log_error(KCLEAN_MOD, "out of memory for the checkpoint of %s-%d", topic, part);
			return;
		}
		c->ck = n;
		snprintf(c->ck[c->nck].topic, sizeof(c->ck[c->nck].topic), "%s", topic);
		c->ck[c->nck].partition = part;
		c->ck[c->nck].offset = offset;
		c->nck++;
	}
	if (kckpt_offsets_write(c->ckpt_path, c->ck, c->nck, eb, sizeof(eb)))
		log_error(KCLEAN_MOD, "cannot write %s: %s", c->ckpt_path, eb);
}

/* Loop thread: the worker finished cur. */
static void kclean_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kclean *c = arg;
	char eb[256];
	(void)fd;
	(void)what;
	pthread_mutex_lock(&c->mu);
	struct kclean_task *t = c->done;
	c->done = NULL;
	pthread_mutex_unlock(&c->mu);
	if (!t || t != c->cur)
		return; /* forgotten meanwhile (kclean_forget freed it) */
	struct klog *l = c->cur_log;
	c->cur = NULL;
	c->cur_log = NULL;
	if (t->rc) {
		if (t->rc == ERR_FULL || t->rc == ERR_CORRUPT || t->rc == ERR_IO)
			log_error(KCLEAN_MOD, "%s-%d: cleaning failed: %s", c->cur_topic, c->cur_part, t->err);
		kclean_task_free(t);
		return;
	}
	int rc = kclean_task_install(l, t, c->o.test_hook, c->o.test_arg, eb, sizeof(eb));
	if (rc == ERR_BUSY) {
		log_info(KCLEAN_MOD, "%s-%d: %s; cleaning again later", c->cur_topic, c->cur_part, eb);
	} else if (rc) {
		log_error(KCLEAN_MOD, "%s-%d: swapping in the cleaned segments failed: %s", c->cur_topic, c->cur_part,
			  eb);
	} else {
		kclean_ck_set(c, c->cur_topic, c->cur_part, t->cleaned_upto);
		c->cleanings++;
		c->bytes_in += (uint64_t)t->bytes_in;
		c->bytes_out += (uint64_t)t->bytes_out;
		double secs = (double)t->run_us / 1e6;
		log_info(KCLEAN_MOD,
			 "%s-%d: cleaned offsets up to %" PRId64 " (dirty ratio %.2f): %" PRId64 " -> %" PRId64
			 " bytes, %" PRId64 " of %" PRId64 " records kept, %" PRId64 " tombstones and %" PRId64
			 " transaction markers removed, %d segment(s) from %d, %.3f s (%.1f MB/s)",
			 c->cur_topic, c->cur_part, t->cleaned_upto, t->dirty_ratio, t->bytes_in, t->bytes_out,
			 t->records_kept, t->records_in, t->tombstones_dropped, t->markers_dropped, t->ngroups, t->nv,
			 secs,
			 secs > 0 ? (double)t->bytes_in / 1e6 / secs : 0.0);
	}
	kclean_task_free(t);
}

int kclean_new(struct event_base *base, const char *log_dir, const struct kclean_opts *o, struct kclean **out,
	       char *eb, size_t el)
{
	*out = NULL;
	struct kclean *c = calloc(1, sizeof(*c));
	if (!c)
		return err_set(eb, el, ERR_NOMEM, "out of memory");
	c->base = base;
	c->o = *o;
	if (c->o.map_bytes < KCLEAN_MIN_MAP_BYTES)
		c->o.map_bytes = KCLEAN_MIN_MAP_BYTES;
	atomic_init(&c->cancel, 0);
	snprintf(c->ckpt_path, sizeof(c->ckpt_path), "%s/%s", log_dir, KCLEAN_CKPT_NAME);
	int rc = kckpt_offsets_read(c->ckpt_path, &c->ck, &c->nck, eb, el);
	if (rc && rc != ERR_NOTFOUND) {
		free(c);
		return rc;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	c->done_ev = event_new(base, -1, 0, kclean_done_cb, c);
	if (!c->done_ev || pthread_create(&c->thread, NULL, kclean_worker, c)) {
		kclean_free(c);
		return err_set(eb, el, ERR_NOMEM, "cannot start the log cleaner thread");
	}
	c->started = true;
	*out = c;
	return 0;
}

void kclean_free(struct kclean *c)
{
	if (!c)
		return;
	if (c->started) {
		pthread_mutex_lock(&c->mu);
		c->stop = true;
		atomic_store(&c->cancel, 1);
		pthread_cond_broadcast(&c->cv);
		pthread_mutex_unlock(&c->mu);
		pthread_join(c->thread, NULL);
	}
	/* cur is the task on todo or done, or the one the worker just finished */
	kclean_task_free(c->cur);
	if (c->done_ev)
		event_free(c->done_ev);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c->ck);
	free(c);
}

int kclean_offer(struct kclean *c, struct klog *l, const char *topic, int32_t part, int64_t stable, int64_t now_ms)
{
	return kclean_offer_txn(c, l, topic, part, stable, now_ms, NULL);
}

int kclean_offer_txn(struct kclean *c, struct klog *l, const char *topic, int32_t part, int64_t stable,
		     int64_t now_ms, const struct ktxnidx *aborted)
{
	char eb[256];
	if (c->cur)
		return ERR_BUSY;
	if (!klog_get_opts(l)->compact)
		return 0;
	struct kclean_task *t;
	int rc = kclean_task_plan(l, kclean_checkpoint(c, topic, part), stable, now_ms, c->o.map_bytes, &t, NULL,
				  eb, sizeof(eb));
	if (rc) {
		log_warn(KCLEAN_MOD, "%s-%d: cannot plan a cleaning: %s", topic, part, eb);
		return rc;
	}
	if (!t)
		return 0;
	if (kclean_task_set_aborted(t, aborted)) {
		kclean_task_free(t);
		log_warn(KCLEAN_MOD, "%s-%d: cannot plan a cleaning: out of memory", topic, part);
		return ERR_NOMEM;
	}
	if (c->o.test_no_fsync)
		t->no_fsync = true;
	c->cur = t;
	c->cur_log = l;
	snprintf(c->cur_topic, sizeof(c->cur_topic), "%s", topic);
	c->cur_part = part;
	pthread_mutex_lock(&c->mu);
	atomic_store(&c->cancel, 0);
	c->todo = t;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	log_debug(KCLEAN_MOD, "%s-%d: cleaning %d segment(s), dirty from offset %" PRId64 " (ratio %.2f)", topic, part,
		  t->nv, t->first_dirty, t->dirty_ratio);
	return 1;
}

void kclean_forget(struct kclean *c, struct klog *l, const char *topic, int32_t part, bool drop_checkpoint)
{
	if (!c)
		return;
	if (c->cur && c->cur_log == l) {
		pthread_mutex_lock(&c->mu);
		if (c->todo == c->cur) {
			c->todo = NULL;
		} else {
			atomic_store(&c->cancel, 1);
			while (c->done != c->cur)
				pthread_cond_wait(&c->cv, &c->mu);
			c->done = NULL;
		}
		pthread_mutex_unlock(&c->mu);
		kclean_task_free(c->cur);
		c->cur = NULL;
		c->cur_log = NULL;
	}
	if (drop_checkpoint)
		kclean_ck_set(c, topic, part, -1);
}

void kclean_stats(const struct kclean *c, uint64_t *cleanings, uint64_t *bytes_in, uint64_t *bytes_out)
{
	*cleanings = c->cleanings;
	*bytes_in = c->bytes_in;
	*bytes_out = c->bytes_out;
}
