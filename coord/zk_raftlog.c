/*
 * zk_raftlog — durable storage of the Raft core (see zk_raftlog.h for the file formats and the
 * contract).
 *
 * Memory mirrors raft.log: ents[i] is the entry snap.index + 1 + i, offs[i] the byte offset of
 * its frame, end the size of the file. Every write path first validates and allocates (so
 * ERR_INVAL and ERR_NOMEM change nothing), then touches the disk, then updates memory to match
 * what the disk now holds. Only a failure that leaves memory and disk in doubt (a rename or an
 * undo that failed) sets `broken`, after which writes return ERR_IO; open() repairs such a disk.
 */
#include "zk_raftlog.h"

#include "buf.h"
#include "crc32c.h"
#include "err.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const RL_MOD = "zk_raftlog";

#define RL_VERSION 1u
#define RL_STATE_MAGIC "SMRS"
#define RL_STATE_SIZE 28 /* magic, version, term, vote, crc */
#define RL_META_MAGIC "SMRM"
#define RL_META_FIXED 44 /* magic, version, gen, index, term, flags, cfglen, ..., crc */
#define RL_META_INSTALLED 1u /* the log had no entry after index when this meta was written */
#define RL_LOG_MAGIC "SMRL"
#define RL_LOG_HEADER 16 /* magic, version, gen */
#define RL_FRAME 25	 /* len, crc, index, term, type */

struct zk_raftlog {
	char dir[PATH_MAX];
	int fd; /* raft.log, read-write */
	uint64_t term, vote;
	struct raft_snapshot_meta snap;
	uint64_t gen; /* of raft.snapmeta and raft.log (equal once open() returns) */
	struct raft_entry *ents;
	off_t *offs;
	size_t n, cap;
	off_t end;
	off_t alloc_end; /* the file's size: zeros from end to here were written ahead */
	bool broken;
	unsigned fail_io; /* test: countdown to an injected ENOSPC */
};

/* ---- small helpers ---- */

static void zk_raftlog_put64(uint8_t *p, uint64_t v)
{
	be32_put(p, (uint32_t)(v >> 32));
	be32_put(p + 4, (uint32_t)v);
}

static uint64_t zk_raftlog_get64(const uint8_t *p)
{
	return (uint64_t)be32_get(p) << 32 | be32_get(p + 4);
}

/* Test hook: true (errno = ENOSPC) when the injected failure is due. */
static bool zk_raftlog_fail(struct zk_raftlog *l)
{
	if (l->fail_io && --l->fail_io == 0) {
		errno = ENOSPC;
		return true;
	}
	return false;
}

static void zk_raftlog_path(const struct zk_raftlog *l, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", l->dir, name);
}

static int zk_raftlog_pwrite_all(struct zk_raftlog *l, int fd, const uint8_t *p, size_t n, off_t off)
{
	size_t done = 0;
	if (zk_raftlog_fail(l))
		return -1;
	while (done < n) {
		ssize_t w = pwrite(fd, p + done, n - done, off + (off_t)done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		done += (size_t)w;
	}
	return 0;
}

static int zk_raftlog_fsync(struct zk_raftlog *l, int fd, bool data_only)
{
	if (zk_raftlog_fail(l))
		return -1;
	return data_only ? fdatasync(fd) : fsync(fd);
}

static int zk_raftlog_ftruncate(struct zk_raftlog *l, int fd, off_t len)
{
	if (zk_raftlog_fail(l))
		return -1;
	return ftruncate(fd, len);
}

static int zk_raftlog_fsync_dir(struct zk_raftlog *l)
{
	if (zk_raftlog_fail(l))
		return -1;
	int dfd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	int rc = fsync(dfd);
	int e = errno;
	close(dfd);
	errno = e;
	return rc;
}

/* Reads the whole file at path. ERR_NOTFOUND if it does not exist. */
static int zk_raftlog_read_fd(int fd, uint8_t **buf, size_t *len)
{
	struct stat st;
	*buf = NULL;
	*len = 0;
	if (fstat(fd, &st))
		return ERR_IO;
	size_t size = (size_t)st.st_size;
	uint8_t *b = malloc(size ? size : 1);
	if (!b)
		return ERR_NOMEM;
	size_t got = 0;
	while (got < size) {
		ssize_t r = pread(fd, b + got, size - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(b);
			return ERR_IO;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	*buf = b;
	*len = got;
	return 0;
}

static int zk_raftlog_read_file(const char *path, uint8_t **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? ERR_NOTFOUND : ERR_IO;
	int rc = zk_raftlog_read_fd(fd, buf, len);
	close(fd);
	return rc;
}

/*
 * Writes p[0..n) to dir/<name>.tmp and fsyncs it. 0 and *fd_out (the open temp file, read-write)
 * if fd_out, else closed; on failure the temp file is removed.
 */
static int zk_raftlog_write_tmp(struct zk_raftlog *l, const char *name, const uint8_t *p, size_t n, int *fd_out,
			char *eb, size_t el)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/%s.tmp", l->dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_set(eb, el, ERR_IO, "cannot create %s: %s", path, strerror(errno));
	if (zk_raftlog_pwrite_all(l, fd, p, n, 0) || zk_raftlog_fsync(l, fd, false)) {
		int e = errno;
		close(fd);
		unlink(path);
		return err_set(eb, el, ERR_IO, "cannot write %s: %s", path, strerror(e));
	}
	if (fd_out)
		*fd_out = fd;
	else
		close(fd);
	return 0;
}

/* Renames dir/<name>.tmp over dir/<name> and fsyncs dir. *renamed: whether the rename happened
 * (then the new file is visible even if the directory fsync failed). */
static int zk_raftlog_commit_tmp(struct zk_raftlog *l, const char *name, bool *renamed, char *eb, size_t el)
{
	char tmp[PATH_MAX + 32], path[PATH_MAX + 32];
	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", l->dir, name);
	zk_raftlog_path(l, name, path, sizeof(path));
	*renamed = false;
	if (zk_raftlog_fail(l) || rename(tmp, path)) {
		int e = errno;
		unlink(tmp);
		return err_set(eb, el, ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(e));
	}
	*renamed = true;
	if (zk_raftlog_fsync_dir(l))
		return err_set(eb, el, ERR_IO, "cannot fsync directory %s: %s", l->dir, strerror(errno));
	return 0;
}

/* Replaces dir/<name> with p[0..n) durably. */
static int zk_raftlog_replace(struct zk_raftlog *l, const char *name, const uint8_t *p, size_t n, bool *renamed,
		      char *eb, size_t el)
{
	*renamed = false;
	int rc = zk_raftlog_write_tmp(l, name, p, n, NULL, eb, el);
	return rc ? rc : zk_raftlog_commit_tmp(l, name, renamed, eb, el);
}

static size_t zk_raftlog_frame_size(const struct raft_entry *e)
{
	return RL_FRAME + e->len;
}

static void zk_raftlog_frame_put(uint8_t *p, const struct raft_entry *e)
{
	be32_put(p, (uint32_t)e->len);
	zk_raftlog_put64(p + 8, e->index);
	zk_raftlog_put64(p + 16, e->term);
	p[24] = (uint8_t)e->type;
	if (e->len)
		memcpy(p + RL_FRAME, e->data, e->len);
	be32_put(p + 4, crc32c(0, p + 8, RL_FRAME - 8 + e->len));
}

static void zk_raftlog_log_header(uint8_t *p, uint64_t gen)
{
	memcpy(p, RL_LOG_MAGIC, 4);
	be32_put(p + 4, RL_VERSION);
	zk_raftlog_put64(p + 8, gen);
}

/* Frees the entries at positions [from, to). */
static void zk_raftlog_free_range(struct zk_raftlog *l, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		free(l->ents[i].data);
		l->ents[i].data = NULL;
	}
}

static int zk_raftlog_reserve(struct zk_raftlog *l, size_t need)
{
	if (need <= l->cap)
		return 0;
	size_t cap = l->cap ? l->cap : 64;
	while (cap < need)
		cap *= 2;
	struct raft_entry *ne = realloc(l->ents, cap * sizeof(*ne));
	if (!ne)
		return ERR_NOMEM;
	l->ents = ne;
	off_t *no = realloc(l->offs, cap * sizeof(*no));
	if (!no)
		return ERR_NOMEM; /* ents is merely larger: harmless */
	l->offs = no;
	l->cap = cap;
	return 0;
}

/* ---- rewriting raft.log (compaction, recovery) ---- */

/* Writes raft.log.tmp: the header of gen and the entries at positions [from, n). 0 and *fd. */
static int zk_raftlog_log_build_tmp(struct zk_raftlog *l, uint64_t gen, size_t from, int *fd, char *eb, size_t el)
{
	size_t total = RL_LOG_HEADER;
	for (size_t i = from; i < l->n; i++)
		total += zk_raftlog_frame_size(&l->ents[i]);
	uint8_t *b = malloc(total);
	if (!b)
		return err_set(eb, el, ERR_NOMEM, "out of memory rewriting %s/raft.log (%zu bytes)", l->dir, total);
	zk_raftlog_log_header(b, gen);
	size_t off = RL_LOG_HEADER;
	for (size_t i = from; i < l->n; i++) {
		zk_raftlog_frame_put(b + off, &l->ents[i]);
		off += zk_raftlog_frame_size(&l->ents[i]);
	}
	int rc = zk_raftlog_write_tmp(l, "raft.log", b, total, fd, eb, el);
	free(b);
	return rc;
}

static void zk_raftlog_log_drop_tmp(struct zk_raftlog *l, int fd)
{
	char tmp[PATH_MAX + 32];
	close(fd);
	snprintf(tmp, sizeof(tmp), "%s/raft.log.tmp", l->dir);
	unlink(tmp);
}

/* Memory after raft.log was replaced by a file (fd) with the entries [from, n) and gen. */
static void zk_raftlog_log_adopt(struct zk_raftlog *l, int fd, uint64_t gen, size_t from)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = fd;
	l->gen = gen;
	zk_raftlog_free_range(l, 0, from);
	if (l->n > from)
		memmove(l->ents, l->ents + from, (l->n - from) * sizeof(*l->ents));
	l->n -= from;
	l->end = RL_LOG_HEADER;
	for (size_t i = 0; i < l->n; i++) {
		l->offs[i] = l->end;
		l->end += (off_t)zk_raftlog_frame_size(&l->ents[i]);
	}
	struct stat st;
	l->alloc_end = fstat(fd, &st) == 0 && st.st_size > l->end ? st.st_size : l->end;
}

/*
 * Zeros are written ahead of the appends, a megabyte at a time: an fdatasync of data written
 * over blocks that already hold zeros needs no journal commit for the file's size, which
 * otherwise costs every sync of a growing file a metadata write (as ZooKeeper's preAllocSize).
 * A zero frame is the end of the log when it is read back.
 */
#define RL_PREALLOC_STEP ((off_t)1 << 20)

static int zk_raftlog_prealloc(struct zk_raftlog *l, off_t need)
{
	static const uint8_t zeros[65536];
	if (need <= l->alloc_end)
		return 0;
	off_t to = ((need + RL_PREALLOC_STEP - 1) / RL_PREALLOC_STEP) * RL_PREALLOC_STEP;
	for (off_t off = l->alloc_end; off < to;) {
		size_t chunk = to - off > (off_t)sizeof(zeros) ? sizeof(zeros) : (size_t)(to - off);
		if (zk_raftlog_pwrite_all(l, l->fd, zeros, chunk, off))
			return -1;
		off += (off_t)chunk;
	}
	l->alloc_end = to;
	return 0;
}

/* True if p[from..len) holds only zero bytes (preallocation). */
static bool zk_raftlog_zero_tail(const uint8_t *p, size_t from, size_t len)
{
	for (size_t i = from; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* ---- open: hard state and snapshot meta ---- */

static int zk_raftlog_load_state(struct zk_raftlog *l, char *eb, size_t el)
{
	char path[PATH_MAX + 32];
	uint8_t *b;
	size_t len;
	zk_raftlog_path(l, "raft.state", path, sizeof(path));
	int rc = zk_raftlog_read_file(path, &b, &len);
	if (rc == ERR_NOTFOUND)
		return 0;
	if (rc)
		return err_set(eb, el, rc, "cannot read %s: %s", path, strerror(errno));
	if (len < 8 || memcmp(b, RL_STATE_MAGIC, 4))
		rc = err_set(eb, el, ERR_CORRUPT, "%s is not a samsa raft hard state (foreign header); "
			     "refusing to start rather than touch it", path);
	else if (be32_get(b + 4) != RL_VERSION)
		rc = err_set(eb, el, ERR_VERSION, "%s: version %u, expected %u", path, be32_get(b + 4), RL_VERSION);
	else if (len != RL_STATE_SIZE || crc32c(0, b, RL_STATE_SIZE - 4) != be32_get(b + RL_STATE_SIZE - 4))
		rc = err_set(eb, el, ERR_CORRUPT, "%s is damaged (%zu bytes, CRC mismatch or bad size): the term "
			     "and vote cannot be trusted; refusing to start", path, len);
	if (!rc) {
		l->term = zk_raftlog_get64(b + 8);
		l->vote = zk_raftlog_get64(b + 16);
	}
	free(b);
	return rc;
}

static int zk_raftlog_load_meta(struct zk_raftlog *l, uint32_t *flags, char *eb, size_t el)
{
	char path[PATH_MAX + 32];
	uint8_t *b;
	size_t len;
	*flags = 0;
	zk_raftlog_path(l, "raft.snapmeta", path, sizeof(path));
	int rc = zk_raftlog_read_file(path, &b, &len);
	if (rc == ERR_NOTFOUND)
		return 0;
	if (rc)
		return err_set(eb, el, rc, "cannot read %s: %s", path, strerror(errno));
	if (len < 8 || memcmp(b, RL_META_MAGIC, 4)) {
		rc = err_set(eb, el, ERR_CORRUPT, "%s is not a samsa raft snapshot meta (foreign header); "
			     "refusing to start rather than touch it", path);
	} else if (be32_get(b + 4) != RL_VERSION) {
		rc = err_set(eb, el, ERR_VERSION, "%s: version %u, expected %u", path, be32_get(b + 4), RL_VERSION);
	} else if (len < RL_META_FIXED || be32_get(b + 36) != len - RL_META_FIXED ||
		   crc32c(0, b, len - 4) != be32_get(b + len - 4) ||
		   raft_config_decode(&l->snap.config, b + 40, len - RL_META_FIXED)) {
		rc = err_set(eb, el, ERR_CORRUPT, "%s is damaged (%zu bytes: bad size, CRC or configuration); "
			     "refusing to start", path, len);
	} else {
		l->gen = zk_raftlog_get64(b + 8);
		l->snap.index = zk_raftlog_get64(b + 16);
		l->snap.term = zk_raftlog_get64(b + 24);
		*flags = be32_get(b + 32);
	}
	free(b);
	return rc;
}

/* ---- open: the log ---- */

/*
 * Parses the frames of b[RL_LOG_HEADER..len) into memory. Returns the offset where the valid
 * prefix ends and, if it ends before len, why in *why and the first index lost in *lost.
 */
static int zk_raftlog_parse(struct zk_raftlog *l, const uint8_t *b, size_t len, size_t *valid, const char **why,
		    uint64_t *lost)
{
	size_t off = RL_LOG_HEADER;
	uint64_t prev_index = 0, prev_term = 0;
	*why = NULL;
	while (off < len) {
		const uint8_t *p = b + off;
		*lost = prev_index + 1;
		if (len - off < RL_FRAME) {
			*why = "frame header cut short";
			break;
		}
		uint32_t dlen = be32_get(p);
		uint64_t index = zk_raftlog_get64(p + 8), term = zk_raftlog_get64(p + 16);
		if (!prev_index)
			*lost = index;
		if (dlen > ZK_RAFTLOG_MAX_ENTRY) {
			*why = "length over the maximum";
			break;
		}
		if (len - off - RL_FRAME < dlen) {
			*why = "frame cut short";
			break;
		}
		if (crc32c(0, p + 8, RL_FRAME - 8 + (size_t)dlen) != be32_get(p + 4)) {
			*why = "CRC mismatch";
			break;
		}
		if (p[24] > RAFT_ENTRY_NOOP) {
			*why = "unknown entry type";
			break;
		}
		if (index == 0 || term == 0) {
			*why = "index or term 0";
			break;
		}
		if (prev_index && index != prev_index + 1) {
			*why = "index does not follow the previous one";
			break;
		}
		if (term < prev_term) {
			*why = "term goes backwards";
			break;
		}
		if (zk_raftlog_reserve(l, l->n + 1))
			return ERR_NOMEM;
		struct raft_entry *e = &l->ents[l->n];
		e->index = index;
		e->term = term;
		e->type = (enum raft_entry_type)p[24];
		e->len = dlen;
		e->data = NULL;
		if (dlen) {
			e->data = malloc(dlen);
			if (!e->data)
				return ERR_NOMEM;
			memcpy(e->data, p + RL_FRAME, dlen);
		}
		l->offs[l->n++] = (off_t)off;
		prev_index = index;
		prev_term = term;
		off += RL_FRAME + (size_t)dlen;
	}
	*valid = off;
	return 0;
}

/* Creates raft.log with only a header of the current gen. */
static int zk_raftlog_log_create(struct zk_raftlog *l, char *eb, size_t el)
{
	int fd;
	bool renamed;
	int rc = zk_raftlog_log_build_tmp(l, l->gen, l->n, &fd, eb, el);
	if (rc)
		return rc;
	rc = zk_raftlog_commit_tmp(l, "raft.log", &renamed, eb, el);
	if (rc) {
		close(fd);
		return rc;
	}
	zk_raftlog_log_adopt(l, fd, l->gen, l->n);
	return 0;
}

static int zk_raftlog_load_log(struct zk_raftlog *l, uint32_t meta_flags, char *eb, size_t el)
{
	char path[PATH_MAX + 32];
	uint8_t *b = NULL;
	size_t len = 0;
	int rc = 0;
	zk_raftlog_path(l, "raft.log", path, sizeof(path));
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			return err_set(eb, el, ERR_IO, "cannot open %s: %s", path, strerror(errno));
		return zk_raftlog_log_create(l, eb, el);
	}
	rc = zk_raftlog_read_fd(fd, &b, &len);
	if (rc) {
		rc = err_set(eb, el, rc, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	uint8_t hdr[RL_LOG_HEADER];
	zk_raftlog_log_header(hdr, 0);
	if (len < RL_LOG_HEADER) {
		/* a prefix of our magic and version: torn while being created (only an older
		 * scheme could do that; ours renames a complete file into place) */
		if (memcmp(b, hdr, len < 8 ? len : 8)) {
			rc = err_set(eb, el, ERR_CORRUPT, "%s is not a samsa raft log (foreign header); refusing "
				     "to start rather than touch it", path);
			goto out;
		}
		if (len)
			log_warn(RL_MOD, "%s: header cut short at byte offset %zu (index 1): recreating it", path, len);
		close(fd);
		fd = -1;
		rc = zk_raftlog_log_create(l, eb, el);
		goto out;
	}
	if (memcmp(b, RL_LOG_MAGIC, 4)) {
		rc = err_set(eb, el, ERR_CORRUPT, "%s is not a samsa raft log (foreign header); refusing to "
			     "start rather than touch it", path);
		goto out;
	}
	if (be32_get(b + 4) != RL_VERSION) {
		rc = err_set(eb, el, ERR_VERSION, "%s: version %u, expected %u", path, be32_get(b + 4), RL_VERSION);
		goto out;
	}
	uint64_t gen = zk_raftlog_get64(b + 8);
	if (gen > l->gen || gen + 1 < l->gen) {
		rc = err_set(eb, el, ERR_CORRUPT, "%s has generation %" PRIu64 " but raft.snapmeta %" PRIu64
			     " (a file lost or restored from elsewhere?); refusing to start", path, gen, l->gen);
		goto out;
	}

	size_t valid;
	const char *why;
	uint64_t lost = 0;
	rc = zk_raftlog_parse(l, b, len, &valid, &why, &lost);
	if (rc) {
		rc = err_set(eb, el, rc, "out of memory reading %s", path);
		goto out;
	}
	if (why && zk_raftlog_zero_tail(b, valid, len)) {
		why = NULL; /* zeros written ahead: the log simply ends here */
	} else if (why) {
		log_warn(RL_MOD, "%s: %s at byte offset %zu (index %" PRIu64 "): truncating the tail (%zu bytes)",
			 path, why, valid, lost, len - valid);
		if (zk_raftlog_ftruncate(l, fd, (off_t)valid) || zk_raftlog_fsync(l, fd, true)) {
			rc = err_set(eb, el, ERR_IO, "cannot truncate %s: %s", path, strerror(errno));
			goto out;
		}
	}
	l->fd = fd;
	fd = -1;
	l->end = (off_t)valid;
	l->alloc_end = why ? (off_t)valid : (off_t)len;

	/*
	 * Which entries are above the snapshot: Raft §5.4 — the log matches the snapshot up to its
	 * index only if the entry there has the snapshot's term, and the next one must follow it.
	 * A log one gen behind the snapmeta is from before an interrupted compaction (or, with
	 * RL_META_INSTALLED, an InstallSnapshot, which replaced everything).
	 */
	uint64_t s = l->snap.index;
	size_t from = 0;
	const char *cut = NULL;
	if (l->n) {
		uint64_t first = l->ents[0].index, last = l->ents[l->n - 1].index;
		if (gen < l->gen && (meta_flags & RL_META_INSTALLED)) {
			from = l->n;
		} else if (first > s + 1) {
			cut = "the first entry does not follow the snapshot index (a gap)";
			from = l->n;
		} else if (last <= s) {
			from = l->n;
		} else if (first <= s && l->ents[s - first].term != l->snap.term) {
			cut = "the entry at the snapshot index has another term (a stale tail)";
			from = l->n;
		} else {
			from = (size_t)(s + 1 - first);
			if (l->ents[from].term < l->snap.term) {
				cut = "the entry after the snapshot has a lower term";
				from = l->n;
			}
		}
	}
	if (cut)
		log_warn(RL_MOD, "%s: %s at byte offset %lld (index %" PRIu64 ", snapshot index %" PRIu64
			 "): dropping %zu entries", path, cut, (long long)l->offs[0], l->ents[0].index, s, l->n);
	if (from || gen != l->gen) {
		int nfd;
		bool renamed;
		if (gen != l->gen)
			log_info(RL_MOD, "%s: finishing an interrupted compaction to index %" PRIu64, path, s);
		rc = zk_raftlog_log_build_tmp(l, l->gen, from, &nfd, eb, el);
		if (!rc) {
			rc = zk_raftlog_commit_tmp(l, "raft.log", &renamed, eb, el);
			if (rc)
				close(nfd);
			else
				zk_raftlog_log_adopt(l, nfd, l->gen, from);
		}
	}
out:
	free(b);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ---- the API ---- */

int zk_raftlog_open(const char *dir, struct zk_raftlog **out, char *eb, size_t el)
{
	static const char *const tmps[] = { "raft.state.tmp", "raft.snapmeta.tmp", "raft.log.tmp" };
	uint32_t flags = 0;
	int rc;
	*out = NULL;
	if (strlen(dir) + 32 >= PATH_MAX)
		return err_set(eb, el, ERR_CONFIG, "raft directory name too long: %s", dir);
	if (mkdir(dir, 0755) && errno != EEXIST)
		return err_set(eb, el, ERR_IO, "cannot create %s: %s", dir, strerror(errno));
	struct zk_raftlog *l = calloc(1, sizeof(*l));
	if (!l)
		return err_set(eb, el, ERR_NOMEM, "out of memory opening %s", dir);
	snprintf(l->dir, sizeof(l->dir), "%s", dir);
	l->fd = -1;
	for (size_t i = 0; i < sizeof(tmps) / sizeof(tmps[0]); i++) {
		char path[PATH_MAX + 32];
		zk_raftlog_path(l, tmps[i], path, sizeof(path));
		unlink(path); /* a write that never got renamed into place */
	}
	rc = zk_raftlog_load_state(l, eb, el);
	if (!rc)
		rc = zk_raftlog_load_meta(l, &flags, eb, el);
	if (!rc)
		rc = zk_raftlog_load_log(l, flags, eb, el);
	if (rc) {
		zk_raftlog_close(l);
		return rc;
	}
	*out = l;
	return 0;
}

void zk_raftlog_close(struct zk_raftlog *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	zk_raftlog_free_range(l, 0, l->n);
	free(l->ents);
	free(l->offs);
	free(l);
}

uint64_t zk_raftlog_term(const struct zk_raftlog *l)
{
	return l->term;
}

uint64_t zk_raftlog_vote(const struct zk_raftlog *l)
{
	return l->vote;
}

const struct raft_snapshot_meta *zk_raftlog_snapshot(const struct zk_raftlog *l)
{
	return &l->snap;
}

const struct raft_entry *zk_raftlog_entries(const struct zk_raftlog *l, size_t *n)
{
	*n = l->n;
	return l->n ? l->ents : NULL;
}

const struct raft_entry *zk_raftlog_get(const struct zk_raftlog *l, uint64_t index)
{
	if (index <= l->snap.index || index - l->snap.index > l->n)
		return NULL;
	return &l->ents[index - l->snap.index - 1];
}

uint64_t zk_raftlog_last_index(const struct zk_raftlog *l)
{
	return l->snap.index + l->n;
}

int zk_raftlog_fd(const struct zk_raftlog *l)
{
	return l->broken ? -1 : l->fd;
}

size_t zk_raftlog_bytes(const struct zk_raftlog *l)
{
	return (size_t)l->end;
}

void zk_raftlog_test_fail_io(struct zk_raftlog *l, unsigned nth)
{
	l->fail_io = nth;
}

int zk_raftlog_set_hard_state(struct zk_raftlog *l, uint64_t term, uint64_t vote, char *eb, size_t el)
{
	uint8_t b[RL_STATE_SIZE];
	bool renamed;
	if (term < l->term)
		return err_set(eb, el, ERR_INVAL, "%s/raft.state: term %" PRIu64 " below the stored %" PRIu64,
			       l->dir, term, l->term);
	memcpy(b, RL_STATE_MAGIC, 4);
	be32_put(b + 4, RL_VERSION);
	zk_raftlog_put64(b + 8, term);
	zk_raftlog_put64(b + 16, vote);
	be32_put(b + 24, crc32c(0, b, RL_STATE_SIZE - 4));
	int rc = zk_raftlog_replace(l, "raft.state", b, sizeof(b), &renamed, eb, el);
	if (rc)
		return rc;
	l->term = term;
	l->vote = vote;
	return 0;
}

int zk_raftlog_append(struct zk_raftlog *l, uint64_t truncate_from, const struct raft_entry *e, size_t n,
		      char *eb, size_t el)
{
	char path[PATH_MAX + 32];
	zk_raftlog_path(l, "raft.log", path, sizeof(path));
	if (l->broken)
		return err_set(eb, el, ERR_IO, "%s: unusable after an earlier write failure", path);
	size_t keep = l->n;
	if (truncate_from) {
		if (truncate_from <= l->snap.index)
			return err_set(eb, el, ERR_INVAL, "%s: cannot truncate from %" PRIu64 ", at or below the "
				       "snapshot index %" PRIu64, path, truncate_from, l->snap.index);
		if (truncate_from - l->snap.index - 1 < keep)
			keep = (size_t)(truncate_from - l->snap.index - 1);
	}
	uint64_t prev_index = l->snap.index + keep;
	uint64_t prev_term = keep ? l->ents[keep - 1].term : l->snap.term;
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		if (e[i].index != prev_index + 1)
			return err_set(eb, el, ERR_INVAL, "%s: entry %" PRIu64 " does not continue the log at %" PRIu64,
				       path, e[i].index, prev_index);
		if (e[i].term < prev_term || e[i].term == 0)
			return err_set(eb, el, ERR_INVAL, "%s: entry %" PRIu64 " has term %" PRIu64 " after term %" PRIu64,
				       path, e[i].index, e[i].term, prev_term);
		if ((unsigned)e[i].type > RAFT_ENTRY_NOOP || e[i].len > ZK_RAFTLOG_MAX_ENTRY || (e[i].len && !e[i].data))
			return err_set(eb, el, ERR_INVAL, "%s: entry %" PRIu64 " has a bad type or length", path,
				       e[i].index);
		prev_index = e[i].index;
		prev_term = e[i].term;
		total += zk_raftlog_frame_size(&e[i]);
	}

	/* allocate everything before touching the disk */
	if (zk_raftlog_reserve(l, keep + n))
		return err_set(eb, el, ERR_NOMEM, "%s: out of memory for %zu entries", path, keep + n);
	uint8_t *buf = malloc(total ? total : 1);
	uint8_t **datas = calloc(n ? n : 1, sizeof(*datas));
	bool nomem = !buf || !datas;
	for (size_t i = 0; i < n && !nomem; i++) {
		if (e[i].len && !(datas[i] = malloc(e[i].len)))
			nomem = true;
		else if (e[i].len)
			memcpy(datas[i], e[i].data, e[i].len);
	}
	int rc = 0;
	if (nomem) {
		rc = err_set(eb, el, ERR_NOMEM, "%s: out of memory for %zu bytes of entries", path, total);
		goto out;
	}
	for (size_t i = 0, off = 0; i < n; i++) {
		zk_raftlog_frame_put(buf + off, &e[i]);
		off += zk_raftlog_frame_size(&e[i]);
	}

	if (keep < l->n) {
		/* Raft §5.3: a conflicting suffix goes. Made durable before new frames land where it
		 * was, or a crash could leave new frames followed by stale old ones. */
		off_t cut = l->offs[keep];
		if (zk_raftlog_ftruncate(l, l->fd, cut)) {
			rc = err_set(eb, el, ERR_IO, "cannot truncate %s at byte offset %lld (index %" PRIu64 "): %s",
				     path, (long long)cut, l->snap.index + keep + 1, strerror(errno));
			goto out;
		}
		zk_raftlog_free_range(l, keep, l->n);
		l->n = keep;
		l->end = cut;
		l->alloc_end = cut;
		if (zk_raftlog_fsync(l, l->fd, true)) {
			rc = err_set(eb, el, ERR_IO, "cannot fdatasync %s after a truncation: %s", path, strerror(errno));
			goto out;
		}
	}
	if (total && (zk_raftlog_prealloc(l, l->end + (off_t)total) ||
		      zk_raftlog_pwrite_all(l, l->fd, buf, total, l->end))) {
		int err = errno;
		l->alloc_end = l->end;
		if (zk_raftlog_ftruncate(l, l->fd, l->end)) {
			l->broken = true;
			log_error(RL_MOD, "%s: cannot cut back a failed append at byte offset %lld: %s", path,
				  (long long)l->end, strerror(errno));
		}
		rc = err_set(eb, el, ERR_IO, "cannot append %zu entries to %s at byte offset %lld: %s", n, path,
			     (long long)l->end, strerror(err));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		l->ents[l->n] = e[i];
		l->ents[l->n].data = datas[i];
		datas[i] = NULL;
		l->offs[l->n++] = l->end;
		l->end += (off_t)zk_raftlog_frame_size(&e[i]);
	}
out:
	if (datas)
		for (size_t i = 0; i < n; i++)
			free(datas[i]);
	free(datas);
	free(buf);
	return rc;
}

int zk_raftlog_sync(struct zk_raftlog *l, char *eb, size_t el)
{
	if (l->broken)
		return err_set(eb, el, ERR_IO, "%s/raft.log: unusable after an earlier write failure", l->dir);
	if (zk_raftlog_fsync(l, l->fd, true))
		return err_set(eb, el, ERR_IO, "cannot fdatasync %s/raft.log: %s", l->dir, strerror(errno));
	return 0;
}

/* Compaction and InstallSnapshot: new log to a temp file, then the snapmeta, then the log
 * renamed into place (see the header comment on gen). */
static int zk_raftlog_take_snapshot(struct zk_raftlog *l, const struct raft_snapshot_meta *meta, bool drop_all, char *eb,
		       size_t el)
{
	if (l->broken)
		return err_set(eb, el, ERR_IO, "%s/raft.log: unusable after an earlier write failure", l->dir);
	if (meta->index < l->snap.index)
		return err_set(eb, el, ERR_INVAL, "%s: snapshot index %" PRIu64 " below the current %" PRIu64,
			       l->dir, meta->index, l->snap.index);
	uint8_t cfg[2 + RAFT_MAX_SERVERS * 9];
	size_t cfglen = raft_config_encode(&meta->config, cfg, sizeof(cfg));
	if (cfglen > sizeof(cfg))
		return err_set(eb, el, ERR_INVAL, "%s: snapshot configuration too large", l->dir);

	size_t from;
	uint64_t s = l->snap.index;
	if (drop_all || meta->index > s + l->n)
		from = l->n;
	else if (meta->index == s)
		from = 0;
	else if (l->ents[meta->index - s - 1].term != meta->term)
		from = l->n; /* stale tail from meta->index (raft_snapshot_done) */
	else
		from = (size_t)(meta->index - s);

	uint64_t gen = l->gen + 1;
	int fd;
	int rc = zk_raftlog_log_build_tmp(l, gen, from, &fd, eb, el);
	if (rc)
		return rc;

	uint8_t mb[RL_META_FIXED + sizeof(cfg)];
	size_t mlen = RL_META_FIXED + cfglen;
	memcpy(mb, RL_META_MAGIC, 4);
	be32_put(mb + 4, RL_VERSION);
	zk_raftlog_put64(mb + 8, gen);
	zk_raftlog_put64(mb + 16, meta->index);
	zk_raftlog_put64(mb + 24, meta->term);
	be32_put(mb + 32, drop_all ? RL_META_INSTALLED : 0);
	be32_put(mb + 36, (uint32_t)cfglen);
	memcpy(mb + 40, cfg, cfglen);
	be32_put(mb + mlen - 4, crc32c(0, mb, mlen - 4));
	bool renamed;
	rc = zk_raftlog_replace(l, "raft.snapmeta", mb, mlen, &renamed, eb, el);
	if (rc) {
		zk_raftlog_log_drop_tmp(l, fd);
		if (renamed)
			l->broken = true; /* the new snapmeta may be in force: open() sorts it out */
		return rc;
	}
	rc = zk_raftlog_commit_tmp(l, "raft.log", &renamed, eb, el);
	if (rc) {
		l->broken = true;
		if (!renamed) {
			close(fd);
			return rc;
		}
	}
	l->snap = *meta;
	zk_raftlog_log_adopt(l, fd, gen, from);
	return rc;
}

int zk_raftlog_compact(struct zk_raftlog *l, const struct raft_snapshot_meta *meta, char *eb, size_t el)
{
	return zk_raftlog_take_snapshot(l, meta, false, eb, el);
}

int zk_raftlog_install_snapshot(struct zk_raftlog *l, const struct raft_snapshot_meta *meta, char *eb,
				size_t el)
{
	return zk_raftlog_take_snapshot(l, meta, true, eb, el);
}
