/*
 * klog — a partition's segmented log (see klog.h; the layout in memory and its invariants are in
 * klog_int.h). This file owns opening and closing a log, the segment list, a segment's indexes in
 * memory and on disk, appending and reading; recovery at open is in klog_recover.c, the cleaner's
 * swap in klog_swap.c, retention and truncation in klog_retain.c.
 *
 * Index entries follow Kafka's LogSegment.append: for each batch, once more than
 * index_interval_bytes were written since the last entry, an offset index entry (last offset of
 * this batch, its position) and, when the largest timestamp so far grew, a time index entry
 * (largest timestamp so far, last offset of the batch that reached it). The first batch of a
 * segment has no entry: a lookup that finds no entry starts at position 0. A segment becoming
 * inactive gets a final time index entry for its largest timestamp.
 */
#include "klog_int.h"

#include "buf.h"
#include "err.h"
#include "fsyncq.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- small helpers ---- */

void klog_opts_default(struct klog_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->segment_bytes = 1LL << 30;
	o->roll_ms = 7LL * 24 * 3600 * 1000;
	o->retention_ms = 7LL * 24 * 3600 * 1000;
	o->retention_bytes = -1;
	o->index_interval_bytes = 4096;
	o->max_index_bytes = 10 << 20;
	o->flush_messages = INT64_MAX; /* Kafka's log.flush.interval.messages default: never */
	o->flush_ms = -1;
	o->delete_retention_ms = 24LL * 3600 * 1000;
	o->min_cleanable_ratio = 0.5;
}

static void klog_opts_fix(struct klog_opts *o)
{
	/* positions in the index are u32 and Kafka's segment.bytes is an int */
	if (o->segment_bytes <= 0 || o->segment_bytes > INT32_MAX)
		o->segment_bytes = o->segment_bytes <= 0 ? 1LL << 30 : INT32_MAX;
	if (o->index_interval_bytes <= 0)
		o->index_interval_bytes = 4096;
	if (o->max_index_bytes <= 0)
		o->max_index_bytes = 10 << 20;
	if (o->max_index_bytes < 4 * KLOG_TENT_SIZE)
		o->max_index_bytes = 4 * KLOG_TENT_SIZE;
}

int64_t klog_get64(const uint8_t *p)
{
	return (int64_t)(((uint64_t)be32_get(p) << 32) | be32_get(p + 4));
}

static void klog_put64(uint8_t *p, int64_t v)
{
	be32_put(p, (uint32_t)((uint64_t)v >> 32));
	be32_put(p + 4, (uint32_t)v);
}

/* Last offset of a batch; wraps instead of overflowing on hostile headers (older segments' headers
 * are trusted, not checked, until they are read). */
static int64_t klog_last_off(const struct kbatch_hdr *h)
{
	return (int64_t)((uint64_t)h->base_offset + (uint64_t)(int64_t)h->last_offset_delta);
}

void klog_path(const struct klog *l, int64_t base, const char *ext, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%020" PRId64 "%s", l->dir, base, ext);
}

struct klog_seg *klog_active(const struct klog *l)
{
	return l->segs[l->nseg - 1];
}

static int klog_pwrite_all(int fd, const void *p, size_t len, int64_t off)
{
	const uint8_t *b = p;
	while (len) {
		ssize_t w = pwrite(fd, b, len, (off_t)off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return ERR_IO;
		}
		if (w == 0) {
			errno = ENOSPC;
			return ERR_IO;
		}
		b += w;
		len -= (size_t)w;
		off += w;
	}
	return 0;
}

int klog_pread_all(int fd, void *p, size_t len, int64_t off, size_t *got)
{
	uint8_t *b = p;
	*got = 0;
	while (*got < len) {
		ssize_t r = pread(fd, b + *got, len - *got, (off_t)(off + (int64_t)*got));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return ERR_IO;
		}
		if (r == 0)
			break;
		*got += (size_t)r;
	}
	return 0;
}

/* An fsync failure leaves the page cache in an unknown state: durable state can no longer be
 * trusted, so the process stops (as the coordinator's log does). */
void klog_fsync(const struct klog *l, int fd, const char *what)
{
	if (fd < 0 || l->o.test_no_fsync)
		return;
	if (fdatasync(fd)) {
		log_fatal(KLOG_MOD, "%s: fsync of %s failed: %s; stopping", l->dir, what, strerror(errno));
		abort();
	}
}

/* fsyncq callback, loop thread: the flush queued up to offset is done. */
static void klog_on_synced(int err, uint64_t offset, void *arg)
{
	struct klog *l = arg;
	if (err) {
		log_fatal(KLOG_MOD, "%s: fsync of .log failed: %s; stopping", l->dir, strerror(err));
		abort();
	}
	if ((int64_t)offset > l->flushed)
		l->flushed = (int64_t)offset;
	if (l->on_flushed)
		l->on_flushed(l, (int64_t)offset, l->flush_arg);
}

/* The flush policy's fsync of the active segment (everything below end is appended): on the
 * fsync worker when there is one, else inline. */
void klog_policy_flush(struct klog *l, int fd, int64_t end)
{
	if (l->fq && fd >= 0 && !l->o.test_no_fsync) {
		if (!fsyncq_submit(l->fq, fd, (uint64_t)end, klog_on_synced, l)) {
			l->flush_asked = end;
			return;
		}
		log_warn(KLOG_MOD, "%s: cannot queue an fsync; syncing on the loop", l->dir);
	}
	klog_fsync(l, fd, ".log");
}

void klog_set_fsyncq(struct klog *l, struct fsyncq *fq, klog_flushed_cb cb, void *arg)
{
	if (l->fq && l->fq != fq)
		fsyncq_forget(l->fq, l);
	l->fq = fq;
	l->on_flushed = cb;
	l->flush_arg = arg;
}

int64_t klog_flush_pending(const struct klog *l)
{
	return l->flush_asked > l->flushed ? l->flush_asked : -1;
}

void klog_sync_dir(const struct klog *l)
{
	if (l->o.test_no_fsync)
		return;
	int fd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		if (fsync(fd))
			log_warn(KLOG_MOD, "%s: fsync of the directory failed: %s", l->dir, strerror(errno));
		close(fd);
	}
}

/* ---- segments ---- */

void klog_seg_free(struct klog_seg *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (s->ifd >= 0)
		close(s->ifd);
	if (s->tfd >= 0)
		close(s->tfd);
	free(s->idx);
	free(s->tidx);
	free(s);
}

struct klog_seg *klog_seg_new(int64_t base)
{
	struct klog_seg *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->base = base;
	s->fd = s->ifd = s->tfd = -1;
	s->next_offset = base;
	s->max_ts = -1;
	s->max_ts_off = -1;
	s->roll_ts = -1;
	return s;
}

void klog_seg_reset_index(struct klog_seg *s)
{
	s->nidx = s->ntidx = 0;
	s->idx_written = s->tidx_written = 0;
	s->bytes_since_idx = 0;
	s->next_offset = s->base;
	s->max_ts = -1;
	s->max_ts_off = -1;
	s->roll_ts = -1;
}

int klog_idx_push(struct klog_seg *s, int64_t off, int64_t pos)
{
	if (s->nidx == s->cidx) {
		size_t c = s->cidx ? s->cidx * 2 : 64;
		struct klog_ient *n = realloc(s->idx, c * sizeof(*n));
		if (!n)
			return ERR_NOMEM;
		s->idx = n;
		s->cidx = c;
	}
	s->idx[s->nidx].rel = (uint32_t)(off - s->base);
	s->idx[s->nidx].pos = (uint32_t)pos;
	s->nidx++;
	return 0;
}

/* Kafka's TimeIndex.maybeAppend: only a timestamp larger than the last entry's. */
int klog_tidx_maybe(struct klog_seg *s, int64_t ts, int64_t off)
{
	if (ts < 0 || off < s->base || (s->ntidx && ts <= s->tidx[s->ntidx - 1].ts))
		return 0;
	if (s->ntidx == s->ctidx) {
		size_t c = s->ctidx ? s->ctidx * 2 : 64;
		struct klog_tent *n = realloc(s->tidx, c * sizeof(*n));
		if (!n)
			return ERR_NOMEM;
		s->tidx = n;
		s->ctidx = c;
	}
	s->tidx[s->ntidx].ts = ts;
	s->tidx[s->ntidx].rel = (uint32_t)(off - s->base);
	s->ntidx++;
	return 0;
}

/* Accounts one batch of size bytes at pos (Kafka's LogSegment.append loop body). */
int klog_seg_account(const struct klog *l, struct klog_seg *s, int64_t pos, size_t size,
		     int64_t last_off, int64_t max_ts)
{
	int rc = 0;
	if (max_ts > s->max_ts) {
		s->max_ts = max_ts;
		s->max_ts_off = last_off;
	}
	if (s->bytes_since_idx > l->o.index_interval_bytes) {
		rc = klog_idx_push(s, last_off, pos);
		if (!rc)
			rc = klog_tidx_maybe(s, s->max_ts, s->max_ts_off);
		s->bytes_since_idx = 0;
	}
	s->bytes_since_idx += (int64_t)size;
	s->next_offset = last_off + 1;
	return rc;
}

/* Writes index entries [*written, n) to fd at their place. */
static int klog_write_idx(int fd, const struct klog_ient *e, size_t n, size_t *written)
{
	if (*written >= n)
		return 0;
	size_t k = n - *written;
	uint8_t *buf = malloc(k * KLOG_IENT_SIZE);
	if (!buf)
		return ERR_NOMEM;
	for (size_t i = 0; i < k; i++) {
		be32_put(buf + i * KLOG_IENT_SIZE, e[*written + i].rel);
		be32_put(buf + i * KLOG_IENT_SIZE + 4, e[*written + i].pos);
	}
	int rc = klog_pwrite_all(fd, buf, k * KLOG_IENT_SIZE, (int64_t)(*written * KLOG_IENT_SIZE));
	free(buf);
	if (!rc)
		*written = n;
	return rc;
}

static int klog_write_tidx(int fd, const struct klog_tent *e, size_t n, size_t *written)
{
	if (*written >= n)
		return 0;
	size_t k = n - *written;
	uint8_t *buf = malloc(k * KLOG_TENT_SIZE);
	if (!buf)
		return ERR_NOMEM;
	for (size_t i = 0; i < k; i++) {
		klog_put64(buf + i * KLOG_TENT_SIZE, e[*written + i].ts);
		be32_put(buf + i * KLOG_TENT_SIZE + 8, e[*written + i].rel);
	}
	int rc = klog_pwrite_all(fd, buf, k * KLOG_TENT_SIZE, (int64_t)(*written * KLOG_TENT_SIZE));
	free(buf);
	if (!rc)
		*written = n;
	return rc;
}

/* Opens (creating) the index files of s for writing, truncated when trunc. */
int klog_seg_open_indexes(const struct klog *l, struct klog_seg *s, bool trunc, char *eb,
			  size_t el)
{
	char path[PATH_MAX + 64];
	int flags = O_RDWR | O_CREAT | O_CLOEXEC | (trunc ? O_TRUNC : 0);
	if (s->ifd < 0) {
		klog_path(l, s->base, ".index", path, sizeof(path));
		if ((s->ifd = open(path, flags, 0644)) < 0)
			return err_set(eb, el, ERR_IO, "cannot open %s: %s", path, strerror(errno));
	}
	if (s->tfd < 0) {
		klog_path(l, s->base, ".timeindex", path, sizeof(path));
		if ((s->tfd = open(path, flags, 0644)) < 0)
			return err_set(eb, el, ERR_IO, "cannot open %s: %s", path, strerror(errno));
	}
	return 0;
}

/* Rewrites both index files of s from memory (they are open). */
int klog_seg_write_indexes(const struct klog *l, struct klog_seg *s, char *eb, size_t el)
{
	s->idx_written = s->tidx_written = 0;
	if (ftruncate(s->ifd, 0) || ftruncate(s->tfd, 0) ||
	    klog_write_idx(s->ifd, s->idx, s->nidx, &s->idx_written) ||
	    klog_write_tidx(s->tfd, s->tidx, s->ntidx, &s->tidx_written))
		return err_set(eb, el, ERR_IO, "%s: cannot write the indexes of segment %020" PRId64 ": %s",
			       l->dir, s->base, strerror(errno));
	return 0;
}

void klog_seg_close_indexes(struct klog_seg *s)
{
	if (s->ifd >= 0)
		close(s->ifd);
	if (s->tfd >= 0)
		close(s->tfd);
	s->ifd = s->tfd = -1;
}

int klog_seg_seal(struct klog *l, struct klog_seg *s, char *eb, size_t el)
{
	int rc = klog_tidx_maybe(s, s->max_ts, s->max_ts_off);
	if (!rc)
		rc = klog_seg_open_indexes(l, s, true, eb, el);
	if (!rc)
		rc = klog_seg_write_indexes(l, s, eb, el);
	if (!rc) {
		klog_fsync(l, s->ifd, ".index");
		klog_fsync(l, s->tfd, ".timeindex");
	}
	klog_seg_close_indexes(s);
	return rc;
}

/* ---- reading batch headers with pread ---- */

void klog_scan_init(struct klog_scan *sc, const struct klog_seg *s)
{
	sc->fd = s->fd;
	sc->size = s->size;
	sc->bpos = 0;
	sc->blen = 0;
}

/* Header of the batch at pos and its size; ERR_CORRUPT for a bad or partial one. */
int klog_scan_hdr(struct klog_scan *sc, int64_t pos, struct kbatch_hdr *h, size_t *bsz)
{
	if (pos < 0 || sc->size - pos < KBATCH_HDR_SIZE)
		return ERR_CORRUPT;
	if (pos < sc->bpos || pos + KBATCH_HDR_SIZE > sc->bpos + (int64_t)sc->blen) {
		size_t want = KLOG_SCAN_BUF;
		if ((int64_t)want > sc->size - pos)
			want = (size_t)(sc->size - pos);
		if (klog_pread_all(sc->fd, sc->buf, want, pos, &sc->blen))
			return ERR_IO;
		sc->bpos = pos;
		if (sc->blen < KBATCH_HDR_SIZE)
			return ERR_CORRUPT;
	}
	if (kbatch_parse_hdr(sc->buf + (pos - sc->bpos), KBATCH_HDR_SIZE, h) || h->last_offset_delta < 0)
		return ERR_CORRUPT;
	*bsz = KBATCH_LOG_OVERHEAD + (size_t)h->batch_length;
	if ((int64_t)*bsz > sc->size - pos)
		return ERR_CORRUPT;
	return 0;
}

int klog_scan_err(const struct klog *l, const struct klog_seg *s, int rc, int64_t pos, char *eb,
		  size_t el)
{
	return err_set(eb, el, rc, "%s/%020" PRId64 ".log: %s at byte %" PRId64, l->dir, s->base,
		       rc == ERR_IO ? strerror(errno) : "bad batch header", pos);
}

/* Largest i with entry offset <= offset, or -1. */
static ssize_t klog_idx_floor_off(const struct klog_seg *s, int64_t offset)
{
	if (offset < s->base)
		return -1;
	uint64_t rel = (uint64_t)(offset - s->base);
	size_t lo = 0, hi = s->nidx;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->idx[mid].rel <= rel)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (ssize_t)lo - 1;
}

/* Position of the first batch whose last offset is >= offset, or s->size if none. */
int klog_seg_find_pos(const struct klog *l, struct klog_seg *s, struct klog_scan *sc,
		      int64_t offset, int64_t *out, char *eb, size_t el)
{
	ssize_t k = klog_idx_floor_off(s, offset);
	int64_t pos = k >= 0 ? s->idx[k].pos : 0;
	while (pos < s->size) {
		struct kbatch_hdr h;
		size_t bsz;
		int rc = klog_scan_hdr(sc, pos, &h, &bsz);
		if (rc)
			return klog_scan_err(l, s, rc, pos, eb, el);
		if (klog_last_off(&h) >= offset)
			break;
		pos += (int64_t)bsz;
	}
	*out = pos;
	return 0;
}

/* The largest batch boundary b with from < b <= limit, or the end of the batch at from if that
 * is beyond limit (KIP-74: at least one batch). */
static int klog_seg_bound_pos(const struct klog *l, struct klog_seg *s, struct klog_scan *sc,
			      int64_t from, int64_t limit, int64_t *out, char *eb, size_t el)
{
	if (limit >= s->size) {
		*out = s->size;
		return 0;
	}
	/* jump with the index: its positions are batch boundaries, ascending */
	size_t lo = 0, hi = s->nidx;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if ((int64_t)s->idx[mid].pos <= limit)
			lo = mid + 1;
		else
			hi = mid;
	}
	int64_t pos = from;
	if (lo > 0 && (int64_t)s->idx[lo - 1].pos > from)
		pos = s->idx[lo - 1].pos;
	int64_t b = pos;
	while (pos < s->size) {
		struct kbatch_hdr h;
		size_t bsz;
		int rc = klog_scan_hdr(sc, pos, &h, &bsz);
		if (rc)
			return klog_scan_err(l, s, rc, pos, eb, el);
		if (pos + (int64_t)bsz > limit) {
			if (b == from)
				b = pos + (int64_t)bsz;
			break;
		}
		pos += (int64_t)bsz;
		b = pos;
	}
	*out = b;
	return 0;
}

/* ---- the segment list, opening and closing ---- */

static int klog_push_seg(struct klog *l, struct klog_seg *s)
{
	if (l->nseg == l->cseg) {
		int c = l->cseg ? l->cseg * 2 : 8;
		struct klog_seg **n = realloc(l->segs, (size_t)c * sizeof(*n));
		if (!n)
			return ERR_NOMEM;
		l->segs = n;
		l->cseg = c;
	}
	l->segs[l->nseg++] = s;
	return 0;
}

/* Creates a new empty segment at base and makes it the active one. */
int klog_seg_create(struct klog *l, int64_t base, int64_t now_ms, char *eb, size_t el)
{
	char path[PATH_MAX + 64];
	struct klog_seg *s = klog_seg_new(base);
	if (!s)
		return err_set(eb, el, ERR_NOMEM, "out of memory");
	klog_path(l, base, ".log", path, sizeof(path));
	s->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (s->fd < 0) {
		int rc = err_set(eb, el, ERR_IO, "cannot create %s: %s", path, strerror(errno));
		klog_seg_free(s);
		return rc;
	}
	s->mtime_ms = now_ms;
	int rc = klog_seg_open_indexes(l, s, true, eb, el);
	if (!rc && klog_push_seg(l, s))
		rc = err_set(eb, el, ERR_NOMEM, "out of memory");
	if (rc) {
		unlink(path);
		klog_seg_free(s);
		return rc;
	}
	klog_sync_dir(l);
	return 0;
}

static void klog_free(struct klog *l)
{
	if (!l)
		return;
	if (l->fq) {
		/* no callback may reach a freed log; whoever waits for a flush in flight is released
		 * now (klog_close has synced everything; klog_remove deletes the records anyway) */
		fsyncq_forget(l->fq, l);
		if (l->flush_asked > l->flushed && l->on_flushed)
			l->on_flushed(l, l->flush_asked, l->flush_arg);
	}
	for (int i = 0; i < l->nseg; i++)
		klog_seg_free(l->segs[i]);
	free(l->segs);
	free(l);
}

void klog_set_opts(struct klog *l, const struct klog_opts *o)
{
	bool no_fsync = l->o.test_no_fsync;
	l->o = *o;
	l->o.test_no_fsync = no_fsync;
	klog_opts_fix(&l->o);
}

int klog_open(const char *dir, const struct klog_opts *o, int64_t now_ms, struct klog **out,
	      char *eb, size_t el)
{
	struct klog *l = calloc(1, sizeof(*l));
	int64_t *bases = NULL;
	int nbases = 0;
	int rc = 0;
	struct stat st;

	*out = NULL;
	if (!l)
		return err_set(eb, el, ERR_NOMEM, "out of memory");
	if (o)
		l->o = *o;
	else
		klog_opts_default(&l->o);
	klog_opts_fix(&l->o);
	l->last_flush_ms = now_ms;
	size_t dlen = strlen(dir);
	if (dlen >= sizeof(l->dir) - 32) {
		rc = err_set(eb, el, ERR_INVAL, "log directory name too long: %s", dir);
		goto fail;
	}
	memcpy(l->dir, dir, dlen + 1);
	if (mkdir(dir, 0755) && errno != EEXIST) {
		rc = err_set(eb, el, ERR_IO, "cannot create %s: %s", dir, strerror(errno));
		goto fail;
	}
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		rc = err_set(eb, el, ERR_IO, "%s is not a directory", dir);
		goto fail;
	}
	if ((rc = klog_finish_swaps(l, eb, el)))
		goto fail;
	if ((rc = klog_list(l, &bases, &nbases, eb, el)))
		goto fail;
	if (nbases == 0) {
		if ((rc = klog_seg_create(l, 0, now_ms, eb, el)))
			goto fail;
		goto done;
	}
	for (int i = 0; i < nbases; i++) {
		struct klog_seg *s = klog_seg_new(bases[i]);
		if (!s || klog_push_seg(l, s)) {
			klog_seg_free(s);
			rc = err_set(eb, el, ERR_NOMEM, "out of memory");
			goto fail;
		}
		if ((rc = klog_seg_open_log(l, s, eb, el)))
			goto fail;
		if (i + 1 < nbases)
			rc = klog_seg_load_older(l, s, eb, el);
		else
			rc = klog_seg_recover_active(l, s, eb, el);
		if (rc)
			goto fail;
		if (i > 0 && l->segs[i - 1]->next_offset > s->base) {
			rc = err_set(eb, el, ERR_CORRUPT,
				     "%s: segment %020" PRId64 " ends at offset %" PRId64
				     " beyond the start of segment %020" PRId64,
				     dir, l->segs[i - 1]->base, l->segs[i - 1]->next_offset, s->base);
			goto fail;
		}
		l->total_size += s->size;
	}
done:
	free(bases);
	log_info(KLOG_MOD, "%s: opened, %d segment(s), offsets %" PRId64 "..%" PRId64 ", %" PRId64 " bytes",
		 dir, l->nseg, klog_start_offset(l), klog_end_offset(l), l->total_size);
	*out = l;
	return 0;
fail:
	free(bases);
	klog_free(l);
	return rc;
}

int klog_flush(struct klog *l, char *eb, size_t el)
{
	(void)eb;
	(void)el;
	struct klog_seg *s = klog_active(l);
	klog_fsync(l, s->fd, ".log");
	l->unflushed = 0;
	return 0;
}

void klog_close(struct klog *l)
{
	if (!l)
		return;
	struct klog_seg *s = klog_active(l);
	klog_fsync(l, s->fd, ".log");
	klog_fsync(l, s->ifd, ".index");
	klog_fsync(l, s->tfd, ".timeindex");
	klog_free(l);
}

int klog_remove(struct klog *l, char *eb, size_t el)
{
	char dir[PATH_MAX];
	int rc = 0;
	snprintf(dir, sizeof(dir), "%s", l->dir);
	klog_free(l);
	DIR *d = opendir(dir);
	if (!d)
		return err_set(eb, el, ERR_IO, "cannot list %s: %s", dir, strerror(errno));
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[PATH_MAX + 300];
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) && !rc)
			rc = err_set(eb, el, ERR_IO, "cannot delete %s: %s", path, strerror(errno));
	}
	closedir(d);
	if (!rc && rmdir(dir))
		rc = err_set(eb, el, ERR_IO, "cannot delete %s: %s", dir, strerror(errno));
	if (!rc)
		log_info(KLOG_MOD, "%s: deleted", dir);
	return rc;
}

int64_t klog_start_offset(const struct klog *l)
{
	return l->segs[0]->base;
}

int64_t klog_end_offset(const struct klog *l)
{
	return klog_active(l)->next_offset;
}

const char *klog_dir(const struct klog *l)
{
	return l->dir;
}

size_t klog_size_bytes(const struct klog *l)
{
	return (size_t)l->total_size;
}

int klog_segment_count(const struct klog *l)
{
	return l->nseg;
}

int64_t klog_segment_base(const struct klog *l, int i)
{
	return i >= 0 && i < l->nseg ? l->segs[i]->base : -1;
}

/* ---- appending ---- */

/* Makes a new active segment at the end offset; the old one gets its final time index entry,
 * is fsynced and keeps only its .log fd. */
int klog_roll(struct klog *l, int64_t now_ms, char *eb, size_t el)
{
	struct klog_seg *old = klog_active(l);
	int rc = klog_seg_create(l, old->next_offset, now_ms, eb, el);
	if (rc)
		return rc;
	if (klog_tidx_maybe(old, old->max_ts, old->max_ts_off) == 0 &&
	    klog_write_tidx(old->tfd, old->tidx, old->ntidx, &old->tidx_written))
		log_warn(KLOG_MOD, "%s: cannot write the last time index entry of %020" PRId64 ": %s", l->dir,
			 old->base, strerror(errno));
	klog_fsync(l, old->fd, ".log");
	klog_fsync(l, old->ifd, ".index");
	klog_fsync(l, old->tfd, ".timeindex");
	klog_seg_close_indexes(old);
	l->unflushed = 0;
	log_info(KLOG_MOD, "%s: rolled segment %020" PRId64 " (%" PRId64 " bytes) at offset %" PRId64, l->dir,
		 old->base, old->size, old->next_offset);
	return 0;
}

static bool klog_need_roll(const struct klog *l, const struct klog_seg *s, size_t len,
			   int64_t last_off, int64_t now_ms)
{
	if (s->size == 0)
		return false;
	if (s->size + (int64_t)len > l->o.segment_bytes)
		return true;
	if (l->o.roll_ms > 0 && s->roll_ts >= 0 && now_ms - s->roll_ts > l->o.roll_ms)
		return true;
	if ((int64_t)(s->nidx + 1) * KLOG_IENT_SIZE > l->o.max_index_bytes ||
	    (int64_t)(s->ntidx + 1) * KLOG_TENT_SIZE > l->o.max_index_bytes)
		return true;
	return last_off - s->base > INT32_MAX; /* relative offsets are u32; Kafka keeps int range */
}

static int klog_append_common(struct klog *l, uint8_t *b, size_t len, bool assign, int32_t epoch,
			      bool log_append_time, int64_t now_ms, int64_t *first_offset, char *eb,
			      size_t el)
{
	int64_t expect = klog_end_offset(l);
	int64_t records = 0;
	size_t pos = 0;
	int rc;

	if (len == 0)
		return err_set(eb, el, ERR_INVAL, "%s: empty append", l->dir);
	/* framing pass: whole v2 batches only, offsets going forward */
	while (pos < len) {
		struct kbatch_hdr h;
		if (kbatch_parse_hdr(b + pos, len - pos, &h) || h.last_offset_delta < 0 ||
		    (size_t)h.batch_length + KBATCH_LOG_OVERHEAD > len - pos)
			return err_set(eb, el, ERR_INVAL, "%s: append of bytes that are not whole v2 batches (at byte %zu)",
				       l->dir, pos);
		if (!assign) {
			if (h.base_offset < expect || h.base_offset > INT64_MAX - h.last_offset_delta - 1)
				return err_set(eb, el, ERR_INVAL,
					       "%s: replicated batch at offset %" PRId64 " is below the end offset %" PRId64,
					       l->dir, h.base_offset, expect);
			expect = h.base_offset + h.last_offset_delta + 1;
		} else {
			expect += (int64_t)h.last_offset_delta + 1;
		}
		records += h.records_count > 0 ? h.records_count : 0;
		pos += (size_t)h.batch_length + KBATCH_LOG_OVERHEAD;
	}

	struct klog_seg *s = klog_active(l);
	if (klog_need_roll(l, s, len, expect - 1, now_ms)) {
		if ((rc = klog_roll(l, now_ms, eb, el)))
			return rc;
		s = klog_active(l);
	}
	if (expect - 1 - s->base > (int64_t)UINT32_MAX)
		return err_set(eb, el, ERR_INVAL, "%s: append spans more than 2^32 offsets", l->dir);

	struct klog_seg saved = *s;
	int64_t off = klog_end_offset(l);
	if (first_offset)
		*first_offset = assign ? off : (int64_t)klog_get64(b);
	rc = 0;
	for (pos = 0; pos < len && !rc;) {
		uint8_t *batch = b + pos;
		size_t bsz = kbatch_size_of(batch);
		int32_t lod = (int32_t)be32_get(batch + KBATCH_OFF_LAST_OFFSET_DELTA);
		if (assign) {
			kbatch_set_base_offset(batch, off);
			kbatch_set_leader_epoch(batch, epoch);
			if (log_append_time)
				kbatch_set_log_append_time(batch, bsz, now_ms);
		} else {
			off = klog_get64(batch);
		}
		rc = klog_seg_account(l, s, s->size + (int64_t)pos, bsz, off + lod,
				      klog_get64(batch + KBATCH_OFF_MAX_TIMESTAMP));
		off += (int64_t)lod + 1;
		pos += bsz;
	}
	if (rc) {
		rc = err_set(eb, el, rc, "%s: out of memory for index entries", l->dir);
		goto undo;
	}
	if (klog_pwrite_all(s->fd, b, len, s->size)) {
		rc = err_set(eb, el, ERR_IO, "%s/%020" PRId64 ".log: write of %zu bytes at %" PRId64 " failed: %s",
			     l->dir, s->base, len, s->size, strerror(errno));
		goto undo;
	}
	if (klog_write_idx(s->ifd, s->idx, s->nidx, &s->idx_written) ||
	    klog_write_tidx(s->tfd, s->tidx, s->ntidx, &s->tidx_written)) {
		rc = err_set(eb, el, ERR_IO, "%s/%020" PRId64 ".index: write failed: %s", l->dir, s->base,
			     strerror(errno));
		goto undo;
	}
	if (s->roll_ts < 0)
		s->roll_ts = now_ms;
	s->size += (int64_t)len;
	s->mtime_ms = now_ms;
	l->total_size += (int64_t)len;
	l->unflushed += records;
	if (l->o.flush_messages > 0 && l->unflushed >= l->o.flush_messages) {
		klog_policy_flush(l, s->fd, klog_end_offset(l));
		l->unflushed = 0;
		l->last_flush_ms = now_ms;
	}
	return 0;
undo:
	/* nothing of this append may stay: cut the files back to what memory says */
	saved.idx = s->idx;
	saved.cidx = s->cidx;
	saved.tidx = s->tidx;
	saved.ctidx = s->ctidx;
	*s = saved;
	if (ftruncate(s->fd, s->size) || ftruncate(s->ifd, (off_t)(s->idx_written * KLOG_IENT_SIZE)) ||
	    ftruncate(s->tfd, (off_t)(s->tidx_written * KLOG_TENT_SIZE)))
		log_warn(KLOG_MOD, "%s: cannot cut back a failed append: %s (the bytes past the end are ignored "
				   "and overwritten)",
			 l->dir, strerror(errno));
	return rc;
}

int klog_append(struct klog *l, uint8_t *batches, size_t len, int32_t leader_epoch,
		bool log_append_time, int64_t now_ms, int64_t *first_offset, char *eb, size_t el)
{
	return klog_append_common(l, batches, len, true, leader_epoch, log_append_time, now_ms,
				  first_offset, eb, el);
}

int klog_append_replica(struct klog *l, const uint8_t *batches, size_t len, int64_t now_ms,
			char *eb, size_t el)
{
	/* nothing is rewritten when !assign */
	return klog_append_common(l, (uint8_t *)(uintptr_t)batches, len, false, 0, false, now_ms,
				  NULL, eb, el);
}

/* ---- reading ---- */

/* Index of the segment holding offset (the last with base <= offset). */
static int klog_seg_for(const struct klog *l, int64_t offset)
{
	int lo = 0, hi = l->nseg;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (l->segs[mid]->base <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 ? lo - 1 : 0;
}

int klog_read(struct klog *l, int64_t offset, size_t max_bytes, int64_t upto,
	      struct klog_slice *out, char *eb, size_t el)
{
	int64_t start = klog_start_offset(l), end = klog_end_offset(l);
	out->fd = -1;
	out->pos = 0;
	out->len = 0;
	if (offset < start || offset > end)
		return err_set(eb, el, ERR_RANGE, "%s: offset %" PRId64 " is out of range [%" PRId64 ", %" PRId64 "]",
			       l->dir, offset, start, end);
	if (upto > end)
		upto = end;
	if (offset >= upto)
		return 0;
	int i = klog_seg_for(l, offset);
	/* past the segment's last batch, or a segment the cleaner emptied: the next offset that
	 * exists is in a later segment */
	while (i < l->nseg && (offset >= l->segs[i]->next_offset || l->segs[i]->size == 0))
		i++;
	if (i == l->nseg)
		return 0;
	struct klog_seg *s = l->segs[i];
	struct klog_scan *sc = malloc(sizeof(*sc));
	if (!sc)
		return err_set(eb, el, ERR_NOMEM, "out of memory");
	klog_scan_init(sc, s);
	int64_t from = 0, upto_pos = 0, to = 0;
	struct kbatch_hdr h;
	size_t bsz;
	int rc = klog_seg_find_pos(l, s, sc, offset, &from, eb, el);
	if (rc || from >= s->size)
		goto out;
	if ((rc = klog_scan_hdr(sc, from, &h, &bsz))) {
		rc = klog_scan_err(l, s, rc, from, eb, el);
		goto out;
	}
	if (klog_last_off(&h) >= upto)
		goto out; /* the batch holding offset is not wholly below the high watermark */
	upto_pos = s->size;
	if (upto < s->next_offset && (rc = klog_seg_find_pos(l, s, sc, upto, &upto_pos, eb, el)))
		goto out;
	int64_t limit = upto_pos;
	if (max_bytes < (size_t)(upto_pos - from))
		limit = from + (int64_t)max_bytes;
	if ((rc = klog_seg_bound_pos(l, s, sc, from, limit, &to, eb, el)))
		goto out;
	if (to > upto_pos)
		to = upto_pos;
	out->fd = fcntl(s->fd, F_DUPFD_CLOEXEC, 0);
	if (out->fd < 0) {
		rc = err_set(eb, el, ERR_IO, "%s: dup: %s", l->dir, strerror(errno));
		goto out;
	}
	out->pos = from;
	out->len = (size_t)(to - from);
out:
	free(sc);
	return rc;
}

struct klog_time_find {
	int64_t ts;
	int64_t found;
	int64_t found_ts;
};

static int klog_time_cb(const struct kbatch_record *r, void *arg)
{
	struct klog_time_find *f = arg;
	if (r->timestamp >= f->ts) {
		f->found = r->offset;
		f->found_ts = r->timestamp;
		return 1;
	}
	return 0;
}

/*
 * First record with timestamp >= ts inside the batch at pos (whose maxTimestamp is >= ts), with
 * that record's timestamp in *found_ts. Under LogAppendTime every record carries the batch's
 * maxTimestamp, so it is the first record. A compressed batch is not decoded here: when its
 * first record (baseTimestamp) is late enough that is the answer; otherwise the batch's base
 * offset with its maxTimestamp (a consumer seeking there misses nothing).
 */
static int64_t klog_time_in_batch(const struct klog_seg *s, int64_t pos, size_t bsz,
				  const struct kbatch_hdr *h, int64_t ts, int64_t *found_ts)
{
	if (h->attributes & KBATCH_LOG_APPEND_TIME) {
		*found_ts = h->max_timestamp;
		return h->base_offset;
	}
	if ((h->attributes & KBATCH_COMPRESSION_MASK) || bsz > (64u << 20)) {
		*found_ts = h->base_timestamp >= ts ? h->base_timestamp : h->max_timestamp;
		return h->base_offset;
	}
	uint8_t *b = malloc(bsz);
	size_t got;
	struct klog_time_find f = { ts, h->base_offset, h->max_timestamp };
	if (b && !klog_pread_all(s->fd, b, bsz, pos, &got) && got == bsz)
		kbatch_records(b, bsz, klog_time_cb, &f, NULL, 0);
	free(b);
	*found_ts = f.found_ts;
	return f.found;
}

int64_t klog_offset_for_time(struct klog *l, int64_t ts_ms, int64_t *found_ts)
{
	int64_t dummy;
	if (!found_ts)
		found_ts = &dummy;
	*found_ts = -1;
	for (int i = 0; i < l->nseg; i++) {
		struct klog_seg *s = l->segs[i];
		if (s->max_ts < ts_ms || s->size == 0)
			continue;
		/* last time index entry with timestamp <= ts: no batch before its offset reaches ts */
		size_t lo = 0, hi = s->ntidx;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (s->tidx[mid].ts <= ts_ms)
				lo = mid + 1;
			else
				hi = mid;
		}
		int64_t from_off = lo ? s->base + s->tidx[lo - 1].rel : s->base;
		struct klog_scan *sc = malloc(sizeof(*sc));
		if (!sc)
			return -1;
		klog_scan_init(sc, s);
		int64_t pos;
		int64_t found = -1;
		if (klog_seg_find_pos(l, s, sc, from_off, &pos, NULL, 0) == 0) {
			while (pos < s->size) {
				struct kbatch_hdr h;
				size_t bsz;
				if (klog_scan_hdr(sc, pos, &h, &bsz))
					break;
				if (h.max_timestamp >= ts_ms) {
					found = klog_time_in_batch(s, pos, bsz, &h, ts_ms, found_ts);
					break;
				}
				pos += (int64_t)bsz;
			}
		}
		free(sc);
		if (found >= 0)
			return found;
	}
	return -1;
}
