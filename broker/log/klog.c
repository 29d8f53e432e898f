/*
 * klog — a partition's segmented log (see klog.h).
 *
 * In memory, per segment: base offset, the .log fd and size, the next offset after its last
 * batch, the largest batch timestamp and the offset of the batch that first reached it, and both
 * indexes as arrays (the on-disk files mirror them; only the active segment keeps its index fds
 * open and appends entries to them).
 *
 * Index entries follow Kafka's LogSegment.append: for each batch, once more than
 * index_interval_bytes were written since the last entry, an offset index entry (last offset of
 * this batch, its position) and, when the largest timestamp so far grew, a time index entry
 * (largest timestamp so far, last offset of the batch that reached it). The first batch of a
 * segment has no entry: a lookup that finds no entry starts at position 0. A segment becoming
 * inactive gets a final time index entry for its largest timestamp.
 *
 * Invariants: segs[] is sorted by base and non-empty; segs[i]->next_offset <= segs[i+1]->base;
 * the active segment is segs[nseg - 1]; bytes in a .log beyond seg->size are never served and
 * the next append overwrites them; index entries never point at or past seg->size.
 */
#include "klog.h"

#include "buf.h"
#include "err.h"
#include "fsyncq.h"
#include "kbatch.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const KLOG_MOD = "klog";

#define KLOG_NAME_DIGITS 20
#define KLOG_IENT_SIZE 8
#define KLOG_TENT_SIZE 12
#define KLOG_SCAN_BUF 4096

struct klog_ient {
	uint32_t rel;
	uint32_t pos;
};

struct klog_tent {
	int64_t ts;
	uint32_t rel;
};

struct klog_seg {
	int64_t base;
	int fd;	      /* .log, read-write */
	int ifd, tfd; /* .index, .timeindex: open only while the segment is active, else -1 */
	int64_t size; /* bytes of whole batches */
	int64_t next_offset; /* last offset + 1; base when empty */
	int64_t max_ts;	     /* largest batch maxTimestamp, -1 if none */
	int64_t max_ts_off;  /* last offset of the first batch that reached max_ts */
	int64_t roll_ts;     /* roll reference: when the first batch came; -1 empty */
	int64_t mtime_ms;    /* last append (or file mtime): retention when there are no timestamps */
	int64_t bytes_since_idx;
	struct klog_ient *idx;
	size_t nidx, cidx, idx_written;
	struct klog_tent *tidx;
	size_t ntidx, ctidx, tidx_written;
};

struct klog {
	char dir[PATH_MAX];
	struct klog_opts o;
	struct klog_seg **segs;
	int nseg, cseg;
	int64_t total_size;
	int64_t unflushed;     /* records appended since the last fsync */
	int64_t last_flush_ms;
	/* with an fsync worker (klog_set_fsyncq), the flush policy's fsyncs run there:
	 * flush_asked is the end offset of the newest one queued, flushed that of the newest done;
	 * a flush is in flight while flush_asked > flushed */
	struct fsyncq *fq;
	klog_flushed_cb on_flushed;
	void *flush_arg;
	int64_t flush_asked, flushed;
	uint64_t gen; /* bumped whenever an inactive segment is deleted, cut or replaced */
	bool swap_broken; /* a swap failed past its commit point: the next klog_open finishes it */
};

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

static int64_t klog_get64(const uint8_t *p)
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

static void klog_path(const struct klog *l, int64_t base, const char *ext, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%020" PRId64 "%s", l->dir, base, ext);
}

static struct klog_seg *klog_active(const struct klog *l)
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

static int klog_pread_all(int fd, void *p, size_t len, int64_t off, size_t *got)
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
static void klog_fsync(const struct klog *l, int fd, const char *what)
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
static void klog_policy_flush(struct klog *l, int fd, int64_t end)
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

static void klog_sync_dir(const struct klog *l)
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

static void klog_seg_free(struct klog_seg *s)
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

static struct klog_seg *klog_seg_new(int64_t base)
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

static void klog_seg_reset_index(struct klog_seg *s)
{
	s->nidx = s->ntidx = 0;
	s->idx_written = s->tidx_written = 0;
	s->bytes_since_idx = 0;
	s->next_offset = s->base;
	s->max_ts = -1;
	s->max_ts_off = -1;
	s->roll_ts = -1;
}

static int klog_idx_push(struct klog_seg *s, int64_t off, int64_t pos)
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
static int klog_tidx_maybe(struct klog_seg *s, int64_t ts, int64_t off)
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
static int klog_seg_account(const struct klog *l, struct klog_seg *s, int64_t pos, size_t size,
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
static int klog_seg_open_indexes(const struct klog *l, struct klog_seg *s, bool trunc, char *eb,
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
static int klog_seg_write_indexes(const struct klog *l, struct klog_seg *s, char *eb, size_t el)
{
	s->idx_written = s->tidx_written = 0;
	if (ftruncate(s->ifd, 0) || ftruncate(s->tfd, 0) ||
	    klog_write_idx(s->ifd, s->idx, s->nidx, &s->idx_written) ||
	    klog_write_tidx(s->tfd, s->tidx, s->ntidx, &s->tidx_written))
		return err_set(eb, el, ERR_IO, "%s: cannot write the indexes of segment %020" PRId64 ": %s",
			       l->dir, s->base, strerror(errno));
	return 0;
}

static void klog_seg_close_indexes(struct klog_seg *s)
{
	if (s->ifd >= 0)
		close(s->ifd);
	if (s->tfd >= 0)
		close(s->tfd);
	s->ifd = s->tfd = -1;
}

/* ---- reading batch headers with pread ---- */

struct klog_scan {
	int fd;
	int64_t size; /* end of the readable range */
	int64_t bpos;
	size_t blen;
	uint8_t buf[KLOG_SCAN_BUF];
};

static void klog_scan_init(struct klog_scan *sc, const struct klog_seg *s)
{
	sc->fd = s->fd;
	sc->size = s->size;
	sc->bpos = 0;
	sc->blen = 0;
}

/* Header of the batch at pos and its size; ERR_CORRUPT for a bad or partial one. */
static int klog_scan_hdr(struct klog_scan *sc, int64_t pos, struct kbatch_hdr *h, size_t *bsz)
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

static int klog_scan_err(const struct klog *l, const struct klog_seg *s, int rc, int64_t pos, char *eb,
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
static int klog_seg_find_pos(const struct klog *l, struct klog_seg *s, struct klog_scan *sc,
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

/* ---- recovery ---- */

static bool klog_all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/*
 * Rebuilds s's in-memory indexes by walking its .log from the start: with validate, every batch
 * goes through kbatch_validate (the active segment after a crash), else only headers are read.
 * Stops at the first bad batch: *good = bytes of good batches, why = the reason ("" if none).
 */
static int klog_seg_scan(const struct klog *l, struct klog_seg *s, bool validate, int64_t *good,
			 char *why, size_t wl)
{
	klog_seg_reset_index(s);
	why[0] = 0;
	*good = 0;
	if (s->size == 0)
		return 0;
	if ((uint64_t)s->size > SIZE_MAX)
		return ERR_TOOBIG;
	size_t size = (size_t)s->size;
	uint8_t *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, s->fd, 0);
	if (p == MAP_FAILED)
		return ERR_IO;
	size_t pos = 0;
	int rc = 0;
	while (pos < size) {
		size_t left = size - pos;
		struct kbatch_hdr h;
		char msg[200];
		if (left < KBATCH_LOG_OVERHEAD || be32_get(p + pos + KBATCH_OFF_LENGTH) > INT32_MAX ||
		    kbatch_size_of(p + pos) > left || kbatch_size_of(p + pos) < KBATCH_HDR_SIZE) {
			if (klog_all_zero(p + pos, left))
				snprintf(why, wl, "zero-filled tail of %zu bytes", left);
			else if (left < KBATCH_LOG_OVERHEAD || kbatch_size_of(p + pos) > left)
				snprintf(why, wl, "partial batch (%zu bytes left)", left);
			else
				snprintf(why, wl, "bad batchLength %d", (int32_t)be32_get(p + pos + KBATCH_OFF_LENGTH));
			break;
		}
		size_t bsz = kbatch_size_of(p + pos);
		if (validate) {
			if (kbatch_validate_ex(p + pos, bsz, KBATCH_COMPACTED, &h, msg, sizeof(msg))) {
				snprintf(why, wl, "%s", msg);
				break;
			}
		} else if (kbatch_parse_hdr(p + pos, bsz, &h) || h.last_offset_delta < 0) {
			snprintf(why, wl, "bad batch header");
			break;
		}
		if (h.base_offset < s->next_offset || h.base_offset > INT64_MAX - h.last_offset_delta - 1 ||
		    h.base_offset + h.last_offset_delta - s->base > INT32_MAX) {
			snprintf(why, wl, "batch offsets %" PRId64 "+%d do not follow %" PRId64, h.base_offset,
				 h.last_offset_delta, s->next_offset);
			break;
		}
		if (pos == 0)
			s->roll_ts = h.max_timestamp >= 0 ? h.max_timestamp : s->mtime_ms;
		rc = klog_seg_account(l, s, (int64_t)pos, bsz, h.base_offset + h.last_offset_delta,
				      h.max_timestamp);
		if (rc)
			break;
		pos += bsz;
	}
	munmap(p, size);
	*good = (int64_t)pos;
	return rc;
}

/* Reads an index file whole; *n entries of esize bytes. Missing file: ERR_NOTFOUND. */
static int klog_read_index_file(const char *path, size_t esize, size_t max, uint8_t **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? ERR_NOTFOUND : ERR_IO;
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st)) {
		rc = ERR_IO;
	} else if ((size_t)st.st_size % esize || (size_t)st.st_size > max) {
		rc = ERR_CORRUPT;
	} else if (st.st_size > 0) {
		size_t got;
		*out = malloc((size_t)st.st_size);
		if (!*out)
			rc = ERR_NOMEM;
		else if (klog_pread_all(fd, *out, (size_t)st.st_size, 0, &got) || got != (size_t)st.st_size)
			rc = ERR_IO;
		else
			*n = got / esize;
	}
	close(fd);
	if (rc) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

/*
 * Loads the index files of an older segment if they are sane: sizes multiples of the entry size,
 * offsets and positions strictly increasing, positions inside the log. 0 if loaded, else a
 * reason to rebuild.
 */
static int klog_seg_load_indexes(const struct klog *l, struct klog_seg *s)
{
	char path[PATH_MAX + 64];
	uint8_t *raw = NULL;
	size_t n = 0;
	size_t cap = (size_t)l->o.max_index_bytes * 4 + 1024; /* sanity cap on what we read */
	klog_seg_reset_index(s);
	klog_path(l, s->base, ".index", path, sizeof(path));
	int rc = klog_read_index_file(path, KLOG_IENT_SIZE, cap, &raw, &n);
	if (rc)
		return rc;
	for (size_t i = 0; i < n && !rc; i++) {
		uint32_t rel = be32_get(raw + i * KLOG_IENT_SIZE), pos = be32_get(raw + i * KLOG_IENT_SIZE + 4);
		if ((int64_t)pos >= s->size || rel > INT32_MAX ||
		    (i && (rel <= s->idx[i - 1].rel || pos <= s->idx[i - 1].pos)))
			rc = ERR_CORRUPT;
		else
			rc = klog_idx_push(s, s->base + rel, pos);
	}
	free(raw);
	if (rc)
		return rc;
	klog_path(l, s->base, ".timeindex", path, sizeof(path));
	rc = klog_read_index_file(path, KLOG_TENT_SIZE, cap, &raw, &n);
	if (rc)
		return rc;
	for (size_t i = 0; i < n && !rc; i++) {
		int64_t ts = klog_get64(raw + i * KLOG_TENT_SIZE);
		uint32_t rel = be32_get(raw + i * KLOG_TENT_SIZE + 8);
		size_t before = s->ntidx;
		if (ts < 0 || rel > INT32_MAX || (i && (ts <= s->tidx[i - 1].ts || rel < s->tidx[i - 1].rel)))
			rc = ERR_CORRUPT;
		else if (!(rc = klog_tidx_maybe(s, ts, s->base + rel)) && s->ntidx != before + 1)
			rc = ERR_CORRUPT;
	}
	free(raw);
	s->idx_written = s->nidx;
	s->tidx_written = s->ntidx;
	return rc;
}

/* After trusted indexes were loaded: the batches after the last index entry give the next
 * offset and the largest timestamp. */
static int klog_seg_scan_tail(const struct klog *l, struct klog_seg *s, char *eb, size_t el)
{
	struct klog_scan *sc = malloc(sizeof(*sc));
	if (!sc)
		return err_set(eb, el, ERR_NOMEM, "out of memory");
	klog_scan_init(sc, s);
	int64_t pos = s->nidx ? s->idx[s->nidx - 1].pos : 0;
	if (s->ntidx) {
		s->max_ts = s->tidx[s->ntidx - 1].ts;
		s->max_ts_off = s->base + s->tidx[s->ntidx - 1].rel;
	}
	int rc = 0;
	while (pos < s->size) {
		struct kbatch_hdr h;
		size_t bsz;
		rc = klog_scan_hdr(sc, pos, &h, &bsz);
		if (!rc && (h.base_offset < s->next_offset || h.base_offset > INT64_MAX - h.last_offset_delta - 1))
			rc = ERR_CORRUPT;
		if (rc) {
			rc = klog_scan_err(l, s, rc, pos, eb, el);
			break;
		}
		if (pos == 0)
			s->roll_ts = h.max_timestamp >= 0 ? h.max_timestamp : s->mtime_ms;
		if (h.max_timestamp > s->max_ts) {
			s->max_ts = h.max_timestamp;
			s->max_ts_off = h.base_offset + h.last_offset_delta;
		}
		s->next_offset = h.base_offset + h.last_offset_delta + 1;
		pos += (int64_t)bsz;
	}
	free(sc);
	if (!rc && s->ntidx && s->base + s->tidx[s->ntidx - 1].rel >= s->next_offset)
		rc = ERR_CORRUPT; /* time index points past the log: rebuild */
	if (!rc && s->nidx && s->base + s->idx[s->nidx - 1].rel >= s->next_offset)
		rc = ERR_CORRUPT;
	return rc;
}

static int klog_seg_open_log(const struct klog *l, struct klog_seg *s, char *eb, size_t el)
{
	char path[PATH_MAX + 64];
	struct stat st;
	klog_path(l, s->base, ".log", path, sizeof(path));
	s->fd = open(path, O_RDWR | O_CLOEXEC);
	if (s->fd < 0 || fstat(s->fd, &st))
		return err_set(eb, el, ERR_IO, "cannot open %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return err_set(eb, el, ERR_IO, "%s is not a regular file", path);
	s->size = st.st_size;
	s->mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
	return 0;
}

/* Recovers the active segment: validate every batch, cut at the first bad one, rebuild indexes. */
static int klog_seg_recover_active(struct klog *l, struct klog_seg *s, char *eb, size_t el)
{
	char path[PATH_MAX + 64];
	char why[256];
	int64_t good;
	klog_path(l, s->base, ".log", path, sizeof(path));
	int rc = klog_seg_scan(l, s, true, &good, why, sizeof(why));
	if (rc)
		return err_set(eb, el, rc, "cannot scan %s: %s", path, rc == ERR_IO ? strerror(errno) : err_str(rc));
	if (good < s->size) {
		log_warn(KLOG_MOD, "%s: truncating at byte %" PRId64 " (offset %" PRId64 "), dropping %" PRId64
				   " bytes: %s",
			 path, good, s->next_offset, s->size - good, why);
		if (ftruncate(s->fd, good))
			return err_set(eb, el, ERR_IO, "cannot truncate %s: %s", path, strerror(errno));
		klog_fsync(l, s->fd, path);
		s->size = good;
	}
	rc = klog_seg_open_indexes(l, s, true, eb, el);
	if (!rc)
		rc = klog_seg_write_indexes(l, s, eb, el);
	return rc;
}

/* Loads an older segment: trusted indexes if sane, else rebuilt from the batch headers. */
static int klog_seg_load_older(struct klog *l, struct klog_seg *s, char *eb, size_t el)
{
	char path[PATH_MAX + 64];
	char why[256];
	int64_t good;
	klog_path(l, s->base, ".log", path, sizeof(path));
	int rc = klog_seg_load_indexes(l, s);
	if (rc == ERR_IO || rc == ERR_NOMEM)
		return err_set(eb, el, rc, "cannot read the indexes of %s: %s", path,
			       rc == ERR_IO ? strerror(errno) : err_str(rc));
	if (!rc) {
		/* ERR_CORRUPT here: the indexes disagree with the log, or a bad header; the full
		 * scan below tells which */
		rc = klog_seg_scan_tail(l, s, eb, el);
		if (rc != ERR_CORRUPT)
			return rc;
	}
	log_info(KLOG_MOD, "%s: rebuilding the indexes (%s)", path,
		 rc == ERR_NOTFOUND ? "missing" : "not consistent with the log");
	rc = klog_seg_scan(l, s, false, &good, why, sizeof(why));
	if (rc)
		return err_set(eb, el, rc, "cannot scan %s: %s", path, rc == ERR_IO ? strerror(errno) : err_str(rc));
	if (good < s->size)
		return err_set(eb, el, ERR_CORRUPT,
			       "%s (not the last segment) is damaged at byte %" PRId64 " (offset %" PRId64
			       "): %s; refusing to open the log rather than drop later segments",
			       path, good, s->next_offset, why);
	/* a segment that is no longer active has its final time index entry */
	rc = klog_tidx_maybe(s, s->max_ts, s->max_ts_off);
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
static int klog_seg_create(struct klog *l, int64_t base, int64_t now_ms, char *eb, size_t el)
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

static int klog_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Base offsets of the segments in l->dir, ascending. A .log with a bad name is an error. */
static int klog_list(struct klog *l, int64_t **out, int *n, char *eb, size_t el)
{
	int cap = 0;
	int rc = 0;
	*out = NULL;
	*n = 0;
	DIR *d = opendir(l->dir);
	if (!d)
		return err_set(eb, el, ERR_IO, "cannot list %s: %s", l->dir, strerror(errno));
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 4 || strcmp(e->d_name + len - 4, ".log"))
			continue;
		bool ok = len == KLOG_NAME_DIGITS + 4;
		for (size_t i = 0; ok && i < KLOG_NAME_DIGITS; i++)
			ok = e->d_name[i] >= '0' && e->d_name[i] <= '9';
		int64_t base = 0;
		if (ok) {
			errno = 0;
			unsigned long long v = strtoull(e->d_name, NULL, 10);
			ok = !errno && v <= (unsigned long long)INT64_MAX - 1;
			base = (int64_t)v;
		}
		if (!ok) {
			rc = err_set(eb, el, ERR_CORRUPT,
				     "%s/%s: a .log file whose name is not a 20-digit base offset; "
				     "move it away to open this log",
				     l->dir, e->d_name);
			break;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			int64_t *nv = realloc(*out, (size_t)cap * sizeof(*nv));
			if (!nv) {
				rc = err_set(eb, el, ERR_NOMEM, "out of memory");
				break;
			}
			*out = nv;
		}
		(*out)[(*n)++] = base;
	}
	closedir(d);
	if (rc) {
		free(*out);
		*out = NULL;
		*n = 0;
		return rc;
	}
	if (*n > 1)
		qsort(*out, (size_t)*n, sizeof(**out), klog_cmp_i64);
	return 0;
}

/* ---- the cleaner's swap, and its recovery ---- */

/* A name "<20 digits><ext>" in a directory: its base offset, or -1. */
static int64_t klog_name_base(const char *name, const char *ext)
{
	size_t len = strlen(name), elen = strlen(ext);
	if (len != KLOG_NAME_DIGITS + elen || strcmp(name + KLOG_NAME_DIGITS, ext))
		return -1;
	for (size_t i = 0; i < KLOG_NAME_DIGITS; i++)
		if (name[i] < '0' || name[i] > '9')
			return -1;
	errno = 0;
	unsigned long long v = strtoull(name, NULL, 10);
	if (errno || v > (unsigned long long)INT64_MAX - 1)
		return -1;
	return (int64_t)v;
}

static void klog_unlink_ext(const struct klog *l, int64_t base, const char *ext)
{
	char path[PATH_MAX + 64];
	klog_path(l, base, ext, path, sizeof(path));
	if (unlink(path) && errno != ENOENT)
		log_warn(KLOG_MOD, "cannot delete %s: %s", path, strerror(errno));
}

/* The last offset + 1 of the batches in a complete segment file (base when it is empty), every
 * batch validated: a .swap was fsynced before it was renamed, so any damage is the disk's. */
static int klog_file_end(struct klog *l, int64_t base, const char *path, int64_t *end, char *eb, size_t el)
{
	char why[256];
	int64_t good;
	struct klog_seg *s = klog_seg_new(base);
	if (!s)
		return err_set(eb, el, ERR_NOMEM, "out of memory");
	int rc = 0;
	struct stat st;
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0 || fstat(s->fd, &st)) {
		rc = err_set(eb, el, ERR_IO, "cannot open %s: %s", path, strerror(errno));
		goto out;
	}
	s->size = st.st_size;
	rc = klog_seg_scan(l, s, true, &good, why, sizeof(why));
	if (rc) {
		rc = err_set(eb, el, rc, "cannot scan %s: %s", path, rc == ERR_IO ? strerror(errno) : err_str(rc));
		goto out;
	}
	if (good != s->size) {
		rc = err_set(eb, el, ERR_CORRUPT,
			     "%s: the cleaner's swap file is damaged at byte %" PRId64 " (%s) although it was "
			     "fsynced before its rename; move it away to open this log",
			     path, good, why);
		goto out;
	}
	*end = s->next_offset;
out:
	klog_seg_free(s);
	return rc;
}

/*
 * Start-up: finishes or undoes the cleaner's swaps a crash interrupted (klog_swap_cleaned's
 * protocol). A .cleaned file is a cleaning that had not committed: it is deleted and the
 * segments it was made from, all still there, stay. A <base>.log.swap had committed: the
 * segments it replaces (base, and those above base up to its last offset) and every index of
 * them are deleted, and it becomes <base>.log. A segment of the group above the swap's last
 * offset (the cleaner emptied its tail) may survive; it holds only records the cleaner had
 * dropped as superseded, in offset order, so nothing is lost and the next cleaning drops them.
 */
static int klog_finish_swaps(struct klog *l, char *eb, size_t el)
{
	int64_t *swaps = NULL, *logs = NULL;
	int nswap = 0, cswap = 0, nlogs = 0;
	int rc = 0;
	DIR *d = opendir(l->dir);
	if (!d)
		return err_set(eb, el, ERR_IO, "cannot list %s: %s", l->dir, strerror(errno));
	char (*cleaned)[NAME_MAX + 1] = NULL;
	int ncl = 0, ccl = 0;
	struct dirent *e;
	while ((e = readdir(d)) && !rc) {
		size_t len = strlen(e->d_name);
		if (len > 8 && !strcmp(e->d_name + len - 8, ".cleaned")) {
			if (ncl == ccl) {
				ccl = ccl ? ccl * 2 : 4;
				void *nv = realloc(cleaned, (size_t)ccl * sizeof(*cleaned));
				if (!nv) {
					rc = err_set(eb, el, ERR_NOMEM, "out of memory");
					break;
				}
				cleaned = nv;
			}
			snprintf(cleaned[ncl++], NAME_MAX + 1, "%s", e->d_name);
			continue;
		}
		int64_t b = klog_name_base(e->d_name, ".log.swap");
		if (b < 0)
			continue;
		if (nswap == cswap) {
			cswap = cswap ? cswap * 2 : 4;
			int64_t *nv = realloc(swaps, (size_t)cswap * sizeof(*nv));
			if (!nv) {
				rc = err_set(eb, el, ERR_NOMEM, "out of memory");
				break;
			}
			swaps = nv;
		}
		swaps[nswap++] = b;
	}
	closedir(d);
	for (int i = 0; i < ncl && !rc; i++) {
		char path[PATH_MAX + NAME_MAX + 2];
		snprintf(path, sizeof(path), "%s/%s", l->dir, cleaned[i]);
		log_warn(KLOG_MOD, "%s: deleting an unfinished cleaning (the segments it came from are intact)", path);
		if (unlink(path) && errno != ENOENT)
			rc = err_set(eb, el, ERR_IO, "cannot delete %s: %s", path, strerror(errno));
	}
	if (nswap > 1)
		qsort(swaps, (size_t)nswap, sizeof(*swaps), klog_cmp_i64);
	for (int i = 0; i < nswap && !rc; i++) {
		char swap[PATH_MAX + 64], log[PATH_MAX + 64];
		int64_t base = swaps[i], end = base;
		klog_path(l, base, ".log.swap", swap, sizeof(swap));
		klog_path(l, base, ".log", log, sizeof(log));
		if ((rc = klog_file_end(l, base, swap, &end, eb, el)))
			break;
		free(logs);
		logs = NULL;
		if ((rc = klog_list(l, &logs, &nlogs, eb, el)))
			break;
		int gone = 0;
		for (int k = 0; k < nlogs; k++) {
			if (logs[k] <= base || logs[k] >= end)
				continue;
			klog_unlink_ext(l, logs[k], ".index");
			klog_unlink_ext(l, logs[k], ".timeindex");
			klog_unlink_ext(l, logs[k], ".log");
			gone++;
		}
		klog_unlink_ext(l, base, ".index");
		klog_unlink_ext(l, base, ".timeindex");
		if (rename(swap, log)) {
			rc = err_set(eb, el, ERR_IO, "cannot rename %s to %s: %s", swap, log, strerror(errno));
			break;
		}
		klog_sync_dir(l);
		log_warn(KLOG_MOD, "%s: completed an interrupted cleaner swap (offsets up to %" PRId64
				   ", %d later segment(s) it replaced deleted)",
			 log, end - 1, gone);
	}
	free(cleaned);
	free(swaps);
	free(logs);
	return rc;
}

int klog_segviews(struct klog *l, bool dup_fds, struct klog_segview **out, int *n, uint64_t *gen,
		  char *eb, size_t el)
{
	*out = NULL;
	*n = 0;
	*gen = l->gen;
	int k = l->nseg - 1;
	if (k <= 0)
		return 0;
	struct klog_segview *v = calloc((size_t)k, sizeof(*v));
	if (!v)
		return err_set(eb, el, ERR_NOMEM, "out of memory");
	for (int i = 0; i < k; i++) {
		const struct klog_seg *s = l->segs[i];
		v[i].base = s->base;
		v[i].size = s->size;
		v[i].next_offset = s->next_offset;
		v[i].max_ts = s->max_ts;
		v[i].mtime_ms = s->mtime_ms;
		v[i].fd = -1;
		if (dup_fds && (v[i].fd = fcntl(s->fd, F_DUPFD_CLOEXEC, 0)) < 0) {
			int rc = err_set(eb, el, ERR_IO, "%s: dup: %s", l->dir, strerror(errno));
			klog_segviews_free(v, i);
			return rc;
		}
	}
	*out = v;
	*n = k;
	return 0;
}

void klog_segviews_free(struct klog_segview *v, int n)
{
	for (int i = 0; v && i < n; i++)
		if (v[i].fd >= 0)
			close(v[i].fd);
	free(v);
}

uint64_t klog_gen(const struct klog *l)
{
	return l->gen;
}

const struct klog_opts *klog_get_opts(const struct klog *l)
{
	return &l->o;
}

#define KLOG_SWAP_HOOK(st)                    \
	do {                                  \
		if (hook)                     \
			hook((st), hook_arg); \
	} while (0)

int klog_swap_cleaned(struct klog *l, uint64_t gen, int64_t base, int count, const char *cleaned_path,
		      klog_swap_hook hook, void *hook_arg, char *eb, size_t el)
{
	char swap[PATH_MAX + 64], log[PATH_MAX + 64], why[256];
	int first = -1;
	for (int i = 0; i < l->nseg; i++)
		if (l->segs[i]->base == base)
			first = i;
	if (l->swap_broken)
		return err_set(eb, el, ERR_IO, "%s: an earlier swap failed; cleaning waits for a restart", l->dir);
	if (gen != l->gen || count < 1 || first < 0 || first + count > l->nseg - 1)
		return err_set(eb, el, ERR_BUSY, "%s: the segments cleaned from %020" PRId64 " changed meanwhile",
			       l->dir, base);
	klog_path(l, base, ".log.swap", swap, sizeof(swap));
	klog_path(l, base, ".log", log, sizeof(log));
	if (rename(cleaned_path, swap))
		return err_set(eb, el, ERR_IO, "cannot rename %s to %s: %s", cleaned_path, swap, strerror(errno));
	klog_sync_dir(l); /* the commit point: from here on klog_open finishes the swap */
	KLOG_SWAP_HOOK(KLOG_SWAP_RENAMED_SWAP);
	for (int k = first; k < first + count; k++) {
		klog_unlink_ext(l, l->segs[k]->base, ".index");
		klog_unlink_ext(l, l->segs[k]->base, ".timeindex");
	}
	KLOG_SWAP_HOOK(KLOG_SWAP_INDEXES_GONE);
	for (int k = first + 1; k < first + count; k++) {
		klog_unlink_ext(l, l->segs[k]->base, ".log");
		if (k == first + 1)
			KLOG_SWAP_HOOK(KLOG_SWAP_ONE_LOG_GONE);
	}
	KLOG_SWAP_HOOK(KLOG_SWAP_LOGS_GONE);
	l->gen++;
	if (rename(swap, log)) {
		l->swap_broken = true;
		return err_set(eb, el, ERR_IO, "cannot rename %s to %s: %s (a restart finishes the swap)", swap, log,
			       strerror(errno));
	}
	KLOG_SWAP_HOOK(KLOG_SWAP_RENAMED_LOG);
	klog_sync_dir(l);

	/* in memory: the new segment replaces the group (reads served before keep their fds) */
	struct klog_seg *ns = klog_seg_new(base);
	int64_t good = 0, mtime = 0, old_size = 0;
	int rc = ns ? klog_seg_open_log(l, ns, eb, el) : err_set(eb, el, ERR_NOMEM, "out of memory");
	if (!rc && (rc = klog_seg_scan(l, ns, false, &good, why, sizeof(why))) != 0)
		rc = err_set(eb, el, rc, "cannot scan %s: %s", log, err_str(rc));
	if (!rc && good != ns->size)
		rc = err_set(eb, el, ERR_CORRUPT, "%s: the cleaned segment is bad at byte %" PRId64 ": %s", log, good,
			     why);
	for (int k = first; k < first + count; k++) {
		if (l->segs[k]->mtime_ms > mtime)
			mtime = l->segs[k]->mtime_ms;
		old_size += l->segs[k]->size;
	}
	if (!rc && ns->size > 0 && ns->next_offset > l->segs[first + count]->base)
		rc = err_set(eb, el, ERR_CORRUPT, "%s: the cleaned segment reaches offset %" PRId64 " of the next segment",
			     log, ns->next_offset - 1);
	if (!rc) {
		ns->mtime_ms = mtime;
		rc = klog_tidx_maybe(ns, ns->max_ts, ns->max_ts_off);
		if (!rc)
			rc = klog_seg_open_indexes(l, ns, true, eb, el);
		if (!rc)
			rc = klog_seg_write_indexes(l, ns, eb, el);
		if (!rc) {
			klog_fsync(l, ns->ifd, ".index");
			klog_fsync(l, ns->tfd, ".timeindex");
		}
		klog_seg_close_indexes(ns);
	}
	if (rc) {
		klog_seg_free(ns);
		l->swap_broken = true;
		log_error(KLOG_MOD, "%s: after the swap of %020" PRId64 ": %s; serving the old files until a restart",
			  l->dir, base, eb ? eb : "");
		return rc;
	}
	for (int k = first; k < first + count; k++)
		klog_seg_free(l->segs[k]);
	l->segs[first] = ns;
	memmove(l->segs + first + 1, l->segs + first + count, (size_t)(l->nseg - first - count) * sizeof(*l->segs));
	l->nseg -= count - 1;
	l->total_size += ns->size - old_size;
	KLOG_SWAP_HOOK(KLOG_SWAP_DONE);
	log_info(KLOG_MOD, "%s: swapped in the cleaned segment %020" PRId64 " for %d segment(s): %" PRId64
			   " -> %" PRId64 " bytes",
		 l->dir, base, count, old_size, ns->size);
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
static int klog_roll(struct klog *l, int64_t now_ms, char *eb, size_t el)
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

/* ---- housekeeping, truncation ---- */

static void klog_seg_unlink(const struct klog *l, const struct klog_seg *s)
{
	char path[PATH_MAX + 64];
	/* indexes first: a crash in between leaves a .log whose indexes get rebuilt */
	klog_path(l, s->base, ".index", path, sizeof(path));
	unlink(path);
	klog_path(l, s->base, ".timeindex", path, sizeof(path));
	unlink(path);
	klog_path(l, s->base, ".log", path, sizeof(path));
	if (unlink(path) && errno != ENOENT)
		log_warn(KLOG_MOD, "cannot delete %s: %s", path, strerror(errno));
}

/* Deletes the oldest segment (never the only one). */
static void klog_delete_oldest(struct klog *l, const char *why)
{
	struct klog_seg *s = l->segs[0];
	klog_seg_unlink(l, s);
	l->gen++;
	l->total_size -= s->size;
	memmove(l->segs, l->segs + 1, (size_t)(l->nseg - 1) * sizeof(*l->segs));
	l->nseg--;
	log_info(KLOG_MOD, "%s: deleted segment %020" PRId64 " (%" PRId64 " bytes, offsets up to %" PRId64
			   ") by %s; log start offset now %" PRId64,
		 l->dir, s->base, s->size, s->next_offset - 1, why, klog_start_offset(l));
	klog_seg_free(s);
}

int klog_housekeep(struct klog *l, int64_t now_ms)
{
	int deleted = 0;
	char eb[256];
	struct klog_seg *a = klog_active(l);
	if (l->o.roll_ms > 0 && a->size > 0 && a->roll_ts >= 0 && now_ms - a->roll_ts > l->o.roll_ms &&
	    klog_roll(l, now_ms, eb, sizeof(eb)))
		log_warn(KLOG_MOD, "%s: time-based roll failed: %s", l->dir, eb);
	while (!l->o.no_delete && l->o.retention_ms >= 0 && l->nseg > 1) {
		struct klog_seg *s = l->segs[0];
		int64_t newest = s->max_ts >= 0 ? s->max_ts : s->mtime_ms;
		if (now_ms - newest <= l->o.retention_ms)
			break;
		klog_delete_oldest(l, "retention.ms");
		deleted++;
	}
	while (!l->o.no_delete && l->o.retention_bytes >= 0 && l->nseg > 1 &&
	       l->total_size - l->segs[0]->size >= l->o.retention_bytes) {
		klog_delete_oldest(l, "retention.bytes");
		deleted++;
	}
	if (deleted)
		klog_sync_dir(l);
	if (l->o.flush_ms > 0 && l->unflushed > 0 && now_ms - l->last_flush_ms >= l->o.flush_ms) {
		klog_policy_flush(l, klog_active(l)->fd, klog_end_offset(l));
		l->unflushed = 0;
		l->last_flush_ms = now_ms;
	}
	return deleted;
}

int klog_reset(struct klog *l, int64_t offset, char *eb, size_t el)
{
	/* Kafka's truncateFullyAndStartAt */
	int rc;
	l->gen++;
	while (l->nseg > 0) {
		struct klog_seg *s = l->segs[--l->nseg];
		klog_seg_unlink(l, s);
		klog_seg_free(s);
	}
	l->total_size = 0;
	l->unflushed = 0;
	if ((rc = klog_seg_create(l, offset < 0 ? 0 : offset, l->last_flush_ms, eb, el)))
		return rc;
	log_warn(KLOG_MOD, "%s: truncated fully, log restarts at offset %" PRId64, l->dir, offset);
	return 0;
}

int klog_truncate_to(struct klog *l, int64_t offset, char *eb, size_t el)
{
	int64_t end = klog_end_offset(l);
	char why[256];
	int64_t good;
	int rc;
	if (offset >= end)
		return 0;
	if (offset <= klog_start_offset(l))
		return klog_reset(l, offset, eb, el);
	l->gen++;
	while (klog_active(l)->base >= offset) {
		struct klog_seg *s = l->segs[--l->nseg];
		l->total_size -= s->size;
		klog_seg_unlink(l, s);
		klog_seg_free(s);
	}
	struct klog_seg *s = klog_active(l);
	struct klog_scan *sc = malloc(sizeof(*sc));
	if (!sc)
		return err_set(eb, el, ERR_NOMEM, "out of memory");
	klog_scan_init(sc, s);
	int64_t pos;
	rc = klog_seg_find_pos(l, s, sc, offset, &pos, eb, el);
	free(sc);
	if (rc)
		return rc;
	if (pos < s->size) {
		if (ftruncate(s->fd, pos))
			return err_set(eb, el, ERR_IO, "%s/%020" PRId64 ".log: truncate: %s", l->dir, s->base,
				       strerror(errno));
		klog_fsync(l, s->fd, ".log");
		l->total_size -= s->size - pos;
		s->size = pos;
	}
	rc = klog_seg_scan(l, s, false, &good, why, sizeof(why));
	if (!rc && good != s->size)
		rc = err_set(eb, el, ERR_CORRUPT, "%s/%020" PRId64 ".log: bad batch at byte %" PRId64 ": %s",
			     l->dir, s->base, good, why);
	if (!rc)
		rc = klog_seg_open_indexes(l, s, true, eb, el);
	if (!rc)
		rc = klog_seg_write_indexes(l, s, eb, el);
	if (!rc)
		log_warn(KLOG_MOD, "%s: truncated to offset %" PRId64 " (end offset was %" PRId64 ")", l->dir,
			 klog_end_offset(l), end);
	return rc;
}
