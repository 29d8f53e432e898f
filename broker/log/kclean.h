/*
 * kclean — the log cleaner (Kafka's LogCleaner) for partition logs whose cleanup.policy has
 * compact: it keeps the last record of each key, drops tombstones (a key with a null value)
 * once their segment is older than delete.retention.ms, and never touches the active segment
 * nor a segment holding a record younger than min.compaction.lag.ms. A log is cleaned when its
 * dirty part (the bytes since the cleaner's checkpoint) is at least min.cleanable.dirty.ratio
 * of its cleanable bytes.
 *
 * One cleaning, as Kafka does it: (1) a map of key -> last offset is built from the dirty
 * records (bounded by log.cleaner.dedupe.buffer.size; when it fills, the cleaning stops at the
 * last segment it could map whole); (2) every segment from the log start to that point is
 * rewritten, consecutive segments grouped into one of at most segment.bytes, into
 * <base>.log.cleaned, keeping a record when the map holds no later offset for its key;
 * batches keep their baseOffset and lastOffsetDelta and records their offsets (a batch left
 * with no record is dropped; compressed and control batches are kept whole, since records
 * inside them are not decoded here; a batch of an aborted transaction is dropped, and its
 * keys were never mapped, as Kafka's cleaner discards aborted records; a transaction marker
 * goes once no record of its transaction is left before it and its segment is older than
 * delete.retention.ms, as Kafka's cleaner removes markers with the tombstones' horizon); (3) each group is swapped in crash-safely by
 * klog_swap_cleaned; (4) the end of the cleaned part is written to
 * <log.dirs>/cleaner-offset-checkpoint (Kafka's file, through kckpt).
 *
 * Threads: steps 1-2 (kclean_task_run) run on the cleaner's worker thread on dup()ed fds of
 * the inactive segments, which nothing else writes; everything else runs on the loop thread
 * of the event_base given to kclean_new, which owns the logs: planning (a snapshot of the
 * segments), the swap, the checkpoint. The worker tells the loop through event_active(). A
 * log that changed meanwhile (retention, truncation) makes the swap refuse (ERR_BUSY) and the
 * work is thrown away. It lives in broker/log/ and depends on klog, kbatch, kckpt, common/.
 */
#ifndef SAMSA_KCLEAN_H
#define SAMSA_KCLEAN_H

#include "klog.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct kclean;
struct ktxnidx;
struct ktxnidx_entry;

#define KCLEAN_MIN_MAP_BYTES 1024
#define KCLEAN_CKPT_NAME "cleaner-offset-checkpoint"

/* One cleaning's work order and outcome (see the top comment). */
struct kclean_group {
	int64_t base;	/* the first segment's base: the cleaned segment's name */
	int count;	/* segments it replaces */
	bool written;	/* <base>.log.cleaned exists (deleted by kclean_task_free unless swapped) */
};

struct kclean_task {
	/* in: filled by kclean_task_plan on the loop thread */
	char dir[PATH_MAX];
	struct klog_segview *v; /* the cleanable segments (fds dup'ed), oldest first */
	int nv;
	uint64_t gen;
	int64_t first_dirty;	   /* records from here on go into the key map */
	int64_t first_uncleanable; /* = the base of the first segment not in v */
	int64_t now_ms;
	int64_t delete_retention_ms;
	int64_t segment_bytes;
	size_t map_bytes;
	bool no_fsync;
	double dirty_ratio; /* for the log line */
	/* the log's aborted transactions (kclean_task_set_aborted; NULL: none): their batches
	 * are dropped and their keys never mapped, as Kafka's cleaner discards aborted records */
	struct ktxnidx_entry *aborted;
	size_t n_aborted;
	/* out: filled by kclean_task_run */
	struct kclean_group *groups;
	int ngroups;
	int64_t cleaned_upto; /* the new checkpoint: every record below it has been cleaned */
	int64_t bytes_in, bytes_out, records_in, records_kept, tombstones_dropped, markers_dropped;
	int64_t run_us;
	int rc;
	char err[256];
};

/*
 * Loop thread: whether l needs cleaning now, given the checkpoint (-1: none), now_ms and stable
 * (the high watermark: a segment reaching it is not cleaned, as Kafka stops at the last stable
 * offset; INT64_MAX for none). 0 with
 * *out NULL (nothing to clean: no inactive segment past the lag, nothing dirty, or a dirty ratio
 * below min_cleanable_ratio; *ratio, may be NULL, gets it), 0 with *out a task the caller owns
 * (kclean_task_free), ERR_NOMEM/ERR_IO. map_bytes is log.cleaner.dedupe.buffer.size.
 */
int kclean_task_plan(struct klog *l, int64_t checkpoint, int64_t stable, int64_t now_ms, size_t map_bytes,
		     struct kclean_task **out, double *ratio, char *eb, size_t el);
/* Loop thread: gives t a copy of the log's aborted transactions (x NULL: none). 0 or ERR_NOMEM. */
int kclean_task_set_aborted(struct kclean_task *t, const struct ktxnidx *x);
/*
 * Any thread, blocking disk I/O: steps 1 and 2 on the task's fds, writing and fsyncing the
 * <base>.log.cleaned files of t->groups. cancel (may be NULL) is polled between batches: when
 * set the run stops with ERR_BUSY. Returns t->rc: 0, ERR_FULL (the map cannot hold even the
 * first dirty segment: raise log.cleaner.dedupe.buffer.size), ERR_CORRUPT (a bad batch:
 * nothing is cleaned), ERR_IO, ERR_NOMEM, ERR_BUSY; t->err says more.
 */
int kclean_task_run(struct kclean_task *t, atomic_int *cancel);
/*
 * Loop thread: swaps the groups in, oldest first (klog_swap_cleaned, hook as there). 0 when
 * all were; else the first error, the rest are not swapped (kclean_task_free deletes their
 * files) and the checkpoint must not move.
 */
int kclean_task_install(struct klog *l, struct kclean_task *t, klog_swap_hook hook, void *hook_arg,
			char *eb, size_t el);
/* Closes the fds, deletes the .cleaned files not swapped in, frees. NULL ok. */
void kclean_task_free(struct kclean_task *t);

/* ---- the cleaner: a worker thread and the checkpoint file ---- */

struct kclean_opts {
	size_t map_bytes;	  /* log.cleaner.dedupe.buffer.size */
	bool test_no_fsync;	  /* hidden test-only knob */
	klog_swap_hook test_hook; /* hidden test-only knob: told of each swap step */
	void *test_arg;
};

/*
 * Starts the worker and reads <log_dir>/cleaner-offset-checkpoint (missing: empty; corrupt:
 * an error naming the line, and nothing is started). base needs libevent's threading on.
 * 0 with *out set, or an error in eb.
 */
int kclean_new(struct event_base *base, const char *log_dir, const struct kclean_opts *o, struct kclean **out,
	       char *eb, size_t el);
/* Stops the worker (a cleaning in flight is cancelled and thrown away) and frees. Call after
 * kclean_forget of every log, or before closing them. NULL ok. */
void kclean_free(struct kclean *c);

/*
 * Loop thread: offers topic-part's log l (whose opts have compact) for cleaning, up to stable
 * (its high watermark). Starts one when the worker is idle and l needs it. 1 started, 0 nothing to do, ERR_BUSY (a cleaning is in
 * flight: offer again later), or an error (logged).
 */
int kclean_offer(struct kclean *c, struct klog *l, const char *topic, int32_t part, int64_t stable,
		 int64_t now_ms);
/* kclean_offer of a log with transactions: stable is its last stable offset, aborted (NULL:
 * none) its aborted transactions, whose records the cleaning removes (KIP-98). */
int kclean_offer_txn(struct kclean *c, struct klog *l, const char *topic, int32_t part, int64_t stable,
		     int64_t now_ms, const struct ktxnidx *aborted);
/* Loop thread: l is about to be closed or removed: a cleaning of it in flight is cancelled
 * (this waits for the worker to notice, between two batches) and its files deleted. With
 * drop_checkpoint the partition's entry leaves the checkpoint file too (topic deletion). */
void kclean_forget(struct kclean *c, struct klog *l, const char *topic, int32_t part, bool drop_checkpoint);
/* The checkpoint of topic-part, -1 if none. */
int64_t kclean_checkpoint(const struct kclean *c, const char *topic, int32_t part);
/* Cleanings completed, and their bytes in and out, since kclean_new. */
void kclean_stats(const struct kclean *c, uint64_t *cleanings, uint64_t *bytes_in, uint64_t *bytes_out);

#endif
