/*
 * zk_txnlog — the coordinator's transaction log: append-only, preallocated files
 * <dir>/version-2/log.<first zxid in hex>, each a 16-byte header ("SMSL", u32 version, i64
 * first zxid) then records framed as u32 length + u32 crc32c(payload) + payload; a length of 0
 * (the preallocated zeros) ends the file.
 *
 * Group commit without blocking the loop: appends go to a memory batch; zk_txnlog_flush hands
 * the batch to a worker thread that writes and fdatasyncs it, then wakes the loop, which
 * reports the durable zxid and starts the next batch — many appends per fsync. A write or
 * fsync failure aborts the process (durable state can no longer be trusted).
 */
#ifndef SAMSA_ZK_TXNLOG_H
#define SAMSA_ZK_TXNLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct zk_txnlog;

#define ZK_TXNLOG_MAX_RECORD (64u << 20)

struct zk_txnlog_opts {
	size_t prealloc_bytes; /* preAllocSize; 0 = 64 MiB; the file is zero-filled ahead in
				* steps of min(this, 1 MiB) (see zk_txnlog_write_batch) */
	size_t roll_bytes;     /* start a new file past this size; 0 = 4 x prealloc */
	bool force_sync;       /* forceSync: fdatasync each batch */
};

/*
 * Replays every record with zxid > after_zxid, in order, through cb. The first bad record of
 * the last file (short, over the maximum, CRC mismatch) is a torn tail: the file is truncated
 * there and a warning names the file and offset. A bad record in an earlier file, or zxids
 * that do not follow one another, is ERR_CORRUPT naming file and offset. *last_zxid is the
 * last zxid seen in the log (0 if none).
 */
int zk_txnlog_replay(const char *dir, int64_t after_zxid,
		     int (*cb)(int64_t zxid, const uint8_t *rec, size_t len, void *arg), void *arg,
		     int64_t *last_zxid, char *errbuf, size_t errlen);

/* Opens the log for appending after last_zxid (a new file starts with the first batch) and
 * starts the worker thread. evthread_use_pthreads() must have been called. */
int zk_txnlog_open(const char *dir, int64_t last_zxid, const struct zk_txnlog_opts *opts,
		   struct event_base *base, void (*durable_cb)(int64_t zxid, void *arg), void *arg,
		   struct zk_txnlog **out, char *errbuf, size_t errlen);
/* Loop thread: appends a record to the pending batch (no I/O). zxids must increase. */
int zk_txnlog_append(struct zk_txnlog *log, int64_t zxid, const uint8_t *rec, size_t len);
/* Loop thread: starts writing the pending batch unless a write is in flight (then it follows). */
void zk_txnlog_flush(struct zk_txnlog *log);
/* The next batch goes to a new file (after a snapshot, so old files can be purged). */
void zk_txnlog_roll(struct zk_txnlog *log);
void zk_txnlog_stats(const struct zk_txnlog *log, uint64_t *appends, uint64_t *syncs);
/* Writes what is pending, stops the worker, closes. NULL ok. */
void zk_txnlog_close(struct zk_txnlog *log);

/* Start zxids of the log files in dir, ascending (for purge). Caller frees *out. */
int zk_txnlog_files(const char *dir, int64_t **out, size_t *n);
/* The zxids of the files named "<prefix><hex>" (nothing after the hex: ".tmp" files are not
 * listed) in dir/version-2, ascending. Caller frees *out. Shared with zk_snap. */
int zk_txnlog_list(const char *dir, const char *prefix, int64_t **out, size_t *n);

#endif
