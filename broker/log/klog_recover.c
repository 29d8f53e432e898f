/*
 * klog_recover — opening a log's existing segments (see klog.h, klog_int.h): listing the
 * segment files, scanning a .log batch by batch, loading an inactive segment's indexes or
 * rebuilding them, and cutting the active segment at its first bad or partial batch.
 */
#include "klog_int.h"

#include "buf.h"
#include "err.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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
int klog_seg_scan(const struct klog *l, struct klog_seg *s, bool validate, int64_t *good,
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

int klog_seg_open_log(const struct klog *l, struct klog_seg *s, char *eb, size_t el)
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
int klog_seg_recover_active(struct klog *l, struct klog_seg *s, char *eb, size_t el)
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
int klog_seg_load_older(struct klog *l, struct klog_seg *s, char *eb, size_t el)
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
	return klog_seg_seal(l, s, eb, el);
}

int klog_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Base offsets of the segments in l->dir, ascending. A .log with a bad name is an error. */
int klog_list(struct klog *l, int64_t **out, int *n, char *eb, size_t el)
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
