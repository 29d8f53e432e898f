/*
 * klog_retain — removing records from a log (see klog.h): retention by time, size and start
 * offset (klog_housekeep), and truncation from either end (klog_reset, klog_truncate_to).
 */
#include "klog_int.h"

#include "err.h"
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
