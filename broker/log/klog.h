/*
 * klog — one partition's durable log in <log.dirs>/<topic>-<partition>/, in Kafka's on-disk
 * layout: segments <base offset %020lld>.log holding record batches exactly as received (offsets
 * assigned), each with a sparse offset index <base>.index (8-byte entries: relative offset u32,
 * position u32, big-endian; the offset is the last offset of the batch at that position) and a
 * time index <base>.timeindex (12-byte entries: timestamp i64, relative offset u32). A fetch is
 * a byte range of one segment, served by sendfile from a dup()ed fd.
 *
 * Threads: every function runs on the broker's loop thread (a klog is not shared). The flush
 * policy's fsyncs (flush_messages, flush_ms) run on an fsync worker when one is given
 * (klog_set_fsyncq), which reports back on the loop; other fsyncs (klog_flush, roll, close,
 * truncation) run inline and block the loop for their duration.
 *
 * Durability: an append is on disk when klog_flush returns, or when the flush policy's fsync
 * that covers it is done (inline: before klog_append returns; on the worker: when the
 * klog_flushed_cb reports an offset past it, see klog_flush_pending). After a
 * crash klog_open scans the last segment batch by batch and cuts it at the first batch that is
 * partial, fails its CRC or does not follow its predecessor (zero-filled tails included).
 *
 * It lives in broker/log/ (library samsa_broker_log) beside kbatch, kepoch and kckpt, and depends
 * only on them and common/: nothing here knows topics' metadata, the coordinator or the protocol.
 */
#ifndef SAMSA_KLOG_H
#define SAMSA_KLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct klog;

struct klog_opts {
	int64_t segment_bytes;	    /* roll when the active .log would exceed this; <= 0: 1 GiB */
	int64_t roll_ms;	    /* roll when the active segment's first batch came longer ago (its
				     * append time; after a restart its maxTimestamp); <= 0 never */
	int64_t retention_ms;	    /* delete old segments whose newest batch is older; < 0 unlimited */
	int64_t retention_bytes;    /* delete old segments while the log is larger; < 0 unlimited */
	int32_t index_interval_bytes; /* bytes of log between index entries; <= 0: 4096 */
	int32_t max_index_bytes;    /* roll when an index file would exceed this; <= 0: 10 MiB */
	int64_t flush_messages;	    /* fsync after this many records appended; <= 0: leave to the OS */
	int64_t flush_ms;	    /* klog_housekeep fsyncs when this long since the last; <= 0 never */
	bool test_no_fsync;	    /* hidden test-only knob: skip every fsync (fuzzing, tmpfs tests) */
	/* cleanup.policy: compact (the log cleaner, kclean, keeps the last record per key) and/or
	 * delete (retention_ms and retention_bytes delete old segments); all false = delete */
	bool compact;
	bool no_delete;
	int64_t delete_retention_ms;   /* delete.retention.ms: how long tombstones are kept */
	int64_t min_compaction_lag_ms; /* min.compaction.lag.ms: younger records are not cleaned */
	double min_cleanable_ratio;    /* min.cleanable.dirty.ratio */
};

/* Kafka's defaults: 1 GiB segments, 7-day roll and retention, no size retention, 4 KiB index
 * interval, 10 MiB indexes, flushing left to the OS; cleanup.policy=delete, and for compaction
 * a 1-day delete.retention.ms, no lag, a dirty ratio of 0.5. */
void klog_opts_default(struct klog_opts *o);

/*
 * Opens the partition log in dir, creating dir (the last component only; its parent must
 * exist) and a first empty segment at offset 0 when there is none. Recovery: the last segment is
 * validated batch by batch and truncated at the first bad or partial batch (log_warn names the
 * file, byte position and offset) and its indexes are rebuilt; older segments keep their indexes
 * when they are sane, else they are rebuilt from the batch headers. A .log whose name is not 20
 * digits, an unreadable file, a bad batch header inside an older segment, or overlapping
 * segments is an error naming the file (nothing is deleted or truncated then). Before that, a
 * cleaner's half-done swap is finished or undone (see klog_swap_cleaned): every *.cleaned file
 * is deleted (the segments it was made from are all still there), and a <base>.log.swap (the
 * cleaned segment was complete and fsynced) replaces <base>.log and every segment whose base
 * is above base and not above the swap's last offset.
 * o may be NULL (defaults). On success *out is owned by the caller (klog_close / klog_remove).
 */
int klog_open(const char *dir, const struct klog_opts *o, int64_t now_ms, struct klog **out,
	      char *eb, size_t el);
/* Replaces the options of an open log (a dynamic config change): roll, retention, flush and
 * index spacing apply from the next append or housekeeping on. test_no_fsync is kept. */
void klog_set_opts(struct klog *l, const struct klog_opts *o);
/* fsyncs the active segment and its indexes, closes and frees. NULL ok. */
void klog_close(struct klog *l);
/* Closes l and deletes its directory with every file in it (topic deletion). l is freed even on
 * error. */
int klog_remove(struct klog *l, char *eb, size_t el);

int64_t klog_start_offset(const struct klog *l); /* log start offset (earliest retained) */
int64_t klog_end_offset(const struct klog *l);	 /* log end offset: next offset to assign */
const char *klog_dir(const struct klog *l);

/*
 * Appends batches that kbatch_validate accepted (one or more back to back, as in a Produce
 * request), rewriting them in place: baseOffset from the log end offset on, the leader epoch,
 * and with log_append_time the LogAppendTime attribute and maxTimestamp = now_ms (CRC
 * recomputed). Rolls first when the active segment is full or old, writes everything with one
 * pwrite, adds index entries, and fsyncs per the flush policy. *first_offset (may be NULL) = the
 * offset of the first record appended. Returns 0; ERR_INVAL if the bytes are not whole v2
 * batches; ERR_IO (nothing of this append stays in the log, the buffer may be rewritten).
 */
int klog_append(struct klog *l, uint8_t *batches, size_t len, int32_t leader_epoch,
		bool log_append_time, int64_t now_ms, int64_t *first_offset, char *eb, size_t el);
/*
 * Appends batches whose offsets are already assigned (a follower copying its leader): each
 * baseOffset must be >= the log end offset, which becomes the last offset + 1. Nothing is
 * rewritten. Returns 0, ERR_INVAL (framing, or an offset going backwards), ERR_IO.
 */
int klog_append_replica(struct klog *l, const uint8_t *batches, size_t len, int64_t now_ms,
			char *eb, size_t el);
/* fsyncs the active segment now. */
int klog_flush(struct klog *l, char *eb, size_t el);

struct fsyncq;
/* Loop thread: an fsync the flush policy queued is done; every record below offset is on disk. */
typedef void (*klog_flushed_cb)(struct klog *l, int64_t offset, void *arg);
/* From now on the flush policy's fsyncs run on fq's worker (fq must outlive l, or be replaced
 * first); cb (may be NULL) hears of each when it is done, and once more from klog_close or
 * klog_remove for one still in flight then. fq NULL: back to inline fsyncs. */
void klog_set_fsyncq(struct klog *l, struct fsyncq *fq, klog_flushed_cb cb, void *arg);
/* The end offset of a flush-policy fsync still in flight, or -1. An append whose first offset
 * is below it is covered by that fsync (it triggered it): its durability is promised once cb
 * reports that offset. */
int64_t klog_flush_pending(const struct klog *l);

/*
 * For Fetch: the whole batches starting with the one that contains offset, at most max_bytes of
 * them but always at least one (KIP-74), none with an offset at or beyond upto (the high
 * watermark; batches are whole below it), all from one segment (the client fetches again for
 * the next one). out->fd is a dup() the caller owns and closes (it stays valid if the segment
 * is deleted); out->len == 0 (fd -1) means nothing is available yet. Returns 0, ERR_RANGE if
 * offset < start or > end offset (OFFSET_OUT_OF_RANGE), ERR_IO/ERR_CORRUPT on a bad segment.
 */
struct klog_slice {
	int fd;
	int64_t pos;
	size_t len;
};
int klog_read(struct klog *l, int64_t offset, size_t max_bytes, int64_t upto,
	      struct klog_slice *out, char *eb, size_t el);

/* ListOffsets by timestamp: the offset of the first record whose timestamp is >= ts_ms (the
 * first batch with maxTimestamp >= ts_ms, then the first such record inside it), and that
 * record's timestamp in *found_ts (may be NULL); -1 (and -1) if there is none. A compressed
 * CreateTime batch is not decoded: its base offset, with its baseTimestamp when that is
 * >= ts_ms, else its maxTimestamp. */
int64_t klog_offset_for_time(struct klog *l, int64_t ts_ms, int64_t *found_ts);

/*
 * Periodic housekeeping: rolls the active segment if roll_ms passed, then deletes whole oldest
 * segments (never the active one) whose newest timestamp is older than retention_ms, and while
 * the log without the oldest segment is still at least retention_bytes; fsyncs if flush_ms
 * passed. Each deletion is logged and advances the start offset. Returns segments deleted.
 */
int klog_housekeep(struct klog *l, int64_t now_ms);

/*
 * Follower truncation: removes every batch that contains an offset >= offset (a batch containing
 * it is removed whole, so the end offset may land below offset). offset <= start offset empties
 * the log and restarts it at offset. A no-op when offset >= end offset.
 */
int klog_truncate_to(struct klog *l, int64_t offset, char *eb, size_t el);
/* Kafka's truncateFullyAndStartAt: deletes every segment and restarts the log empty at offset
 * (any offset >= 0, also past the end: a follower whose leader's log starts beyond its own end).
 * On error (ERR_IO creating the new segment) the log has no segment and must be closed. */
int klog_reset(struct klog *l, int64_t offset, char *eb, size_t el);

/*
 * The log cleaner's view (kclean). A snapshot of the inactive segments (all but the active
 * one), oldest first; fds are dup()s the caller closes (klog_segviews_free), or -1 without
 * dup_fds. *gen is the log's generation: it changes whenever an inactive segment may have
 * changed (retention deleted one, truncation, reset), never on appends or rolls. 0, ERR_NOMEM,
 * ERR_IO (dup failed). *out is NULL when *n is 0.
 */
struct klog_segview {
	int64_t base, size, next_offset;
	int64_t max_ts;	  /* largest batch maxTimestamp, -1 none */
	int64_t mtime_ms; /* last append, or the file's mtime */
	int fd;
};
int klog_segviews(struct klog *l, bool dup_fds, struct klog_segview **out, int *n, uint64_t *gen,
		  char *eb, size_t el);
void klog_segviews_free(struct klog_segview *v, int n);

/* The steps of klog_swap_cleaned, for a test hook that stops the process at each. */
enum klog_swap_step {
	KLOG_SWAP_RENAMED_SWAP = 1, /* <base>.log.cleaned renamed to <base>.log.swap (fsynced dir) */
	KLOG_SWAP_INDEXES_GONE,	    /* the group's index files deleted */
	KLOG_SWAP_ONE_LOG_GONE,	    /* the first later .log of the group deleted (groups of >= 2) */
	KLOG_SWAP_LOGS_GONE,	    /* every later .log of the group deleted */
	KLOG_SWAP_RENAMED_LOG,	    /* <base>.log.swap renamed over <base>.log, dir not fsynced yet */
	KLOG_SWAP_DONE,		    /* the directory fsynced and the new indexes written */
};
typedef void (*klog_swap_hook)(enum klog_swap_step step, void *arg);

/*
 * Replaces the count inactive segments starting with the one based at base by the cleaned
 * segment in cleaned_path (a complete, fsynced file in this log's directory holding batches
 * whose offsets lie inside the group's range, ascending). Kafka's swap protocol, crash-safe at
 * every step (klog_open finishes it): rename the file to <base>.log.swap and fsync the
 * directory (the commit point), delete the group's indexes and its later .log files, rename
 * the swap over <base>.log, fsync the directory, rebuild the segment's indexes. A read served
 * before keeps its fd on the old files. gen must still be the log's generation and the group
 * must still be there and inactive: else ERR_BUSY and nothing changes (the caller deletes
 * cleaned_path). hook (may be NULL) is told of each step. 0, ERR_BUSY, ERR_IO, ERR_CORRUPT.
 */
int klog_swap_cleaned(struct klog *l, uint64_t gen, int64_t base, int count, const char *cleaned_path,
		      klog_swap_hook hook, void *hook_arg, char *eb, size_t el);
const struct klog_opts *klog_get_opts(const struct klog *l);
uint64_t klog_gen(const struct klog *l);

size_t klog_size_bytes(const struct klog *l);
int klog_segment_count(const struct klog *l);
/* Base offset of segment i (0 = oldest), for tests and tools; -1 if out of range. */
int64_t klog_segment_base(const struct klog *l, int i);

#endif
