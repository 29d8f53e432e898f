/*
 * klog_swap — the log cleaner's side of a log (see klog.h, kclean.h): the views of the inactive
 * segments it cleans, the crash-safe swap of a cleaned segment for the group it replaces, and
 * finishing or undoing at open a swap that a crash interrupted.
 */
#include "klog_int.h"

#include "err.h"
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
int klog_finish_swaps(struct klog *l, char *eb, size_t el)
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
		rc = klog_seg_seal(l, ns, eb, el);
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
