/*
 * kpstate — a partition's producer state for the idempotent producer (KIP-98, KIP-360), as
 * Kafka's ProducerStateManager keeps it: per producer id its epoch and the metadata of its last
 * KPSTATE_BATCHES batches (first/last sequence, first/last offset, max timestamp); the check a
 * leader makes before it appends a client's batch; the update after any append (leader,
 * follower, rebuild from the log); expiry after producer.id.expiration.ms; and Kafka's
 * `<offset>.snapshot` files beside the segments, the only code that reads or writes them.
 *
 * Snapshot file (big-endian, Kafka's PID_SNAPSHOT_MAP_SCHEMA, version 1):
 *    0 version i16 (1)    2 crc u32 (CRC-32C of bytes 6..end)    6 count i32
 *   10 count entries of 46 bytes: producerId i64, epoch i16, lastSequence i32, lastOffset i64,
 *      offsetDelta i32 (lastOffset - firstOffset of the last batch), timestamp i64,
 *      coordinatorEpoch i32, currentTxnFirstOffset i64 (-1: none)
 * The file is named by the log offset it covers up to (exclusive), 20 digits as a segment:
 * 00000000000000001234.snapshot. Only the last batch of each producer is kept in it (as Kafka),
 * so after a reload a duplicate of an older one of the five is no longer recognised.
 *
 * The sequence rules (Kafka 2.5+'s ProducerAppendInfo.checkSequence and
 * ProducerStateEntry.findDuplicateBatch), for a client batch (pid, epoch, firstSeq, lastSeq):
 *   1. same epoch and (firstSeq, lastSeq) equal to one of the retained batches: a duplicate,
 *      answered with that batch's offsets and no append;
 *   2. epoch below the current one: INVALID_PRODUCER_EPOCH;
 *   3. epoch above the current one (a bump): firstSeq must be 0, else OUT_OF_ORDER_SEQUENCE;
 *   4. same epoch: firstSeq must follow the last batch's lastSeq (lastSeq + 1, or 0 after
 *      INT32_MAX), else OUT_OF_ORDER_SEQUENCE; an entry without batches expects 0;
 *   5. a producer with no entry (new, expired, or its records gone) is accepted at any
 *      sequence: Kafka 2.5+ (KIP-360) no longer answers UNKNOWN_PRODUCER_ID here.
 * Sequences wrap: a batch of n records starting at s ends at s + n - 1, past INT32_MAX going on
 * from 0.
 *
 * Transactions (KIP-98, as Kafka 2.x/3.x before KIP-890): a transactional batch (attributes
 * 0x10) opens its producer's transaction when none is open (txn_first_offset = its base
 * offset); a transaction marker (a control batch, kbatch_control_marker) from the producer
 * ends it: the entry takes the marker's epoch (a new one drops the retained batches, Kafka's
 * maybeUpdateProducerEpoch) and coordinator epoch, the transaction is reported to the txn
 * callback (Kafka's CompletedTxn: first offset, or the marker's own when none was open) and
 * txn_first_offset goes back to -1. The last stable offset (LSO) is the smaller of the high
 * watermark and the first offset of the earliest open transaction (kpstate_lso).
 *
 * Loop thread only (no locks); one per partition replica. The file functions block (start-up,
 * segment roll, clean shutdown: the places where klog already does blocking I/O).
 */
#ifndef SAMSA_KPSTATE_H
#define SAMSA_KPSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wbuf;
struct klog;

#define KPSTATE_BATCHES 5		       /* Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN */
#define KPSTATE_NO_PRODUCER_ID (-1)
#define KPSTATE_NO_EPOCH (-1)
#define KPSTATE_NO_SEQUENCE (-1)
#define KPSTATE_EXPIRATION_MS_DEFAULT 86400000 /* producer.id.expiration.ms */
#define KPSTATE_SNAPSHOT_VERSION 1
#define KPSTATE_SNAPSHOT_HDR 10
#define KPSTATE_SNAPSHOT_ENTRY 46
#define KPSTATE_SNAPSHOT_MAX_BYTES (64u << 20) /* a larger file is refused before it is read */
#define KPSTATE_MAX_PRODUCERS 1000000	       /* cap of one partition's map (and a file's count) */

struct kpstate_batch {
	int32_t first_seq;
	int32_t last_seq;
	int64_t first_offset;
	int64_t last_offset;
	int64_t timestamp; /* the batch's maxTimestamp */
};

/* One producer's entry (a copy handed out by kpstate_get and taken by kpstate_put). */
struct kpstate_entry {
	int64_t producer_id;
	int16_t epoch;
	int32_t coordinator_epoch; /* -1 until transactions exist */
	int64_t txn_first_offset;  /* -1: no transaction open */
	int64_t last_timestamp;	   /* for expiry: the last batch's timestamp */
	int n_batches;		   /* 0..KPSTATE_BATCHES, oldest first */
	struct kpstate_batch batches[KPSTATE_BATCHES];
};

enum kpstate_verdict {
	KPSTATE_OK = 0,		/* in order (or a new producer): append it */
	KPSTATE_DUPLICATE,	/* a retry of a retained batch: answer with *dup, do not append */
	KPSTATE_OUT_OF_ORDER,	/* OUT_OF_ORDER_SEQUENCE_NUMBER (45) */
	KPSTATE_INVALID_EPOCH,	/* INVALID_PRODUCER_EPOCH (47) */
	KPSTATE_COORDINATOR_FENCED, /* a marker: TRANSACTION_COORDINATOR_FENCED (52) */
};

/* A transaction a marker ended (Kafka's CompletedTxn), as told to the txn callback. */
struct kpstate_txn {
	int64_t producer_id;
	int64_t first_offset; /* its first batch's base offset (the marker's when none was open) */
	int64_t last_offset;  /* the marker's offset */
	int64_t lso;	      /* once ended: the first offset of the earliest transaction still open,
			       * else last_offset + 1 (Kafka's AbortedTxn.lastStableOffset) */
	bool aborted;
};
/* Told of every transaction a marker ends, from any update (leader, follower, load). */
typedef void (*kpstate_txn_cb)(void *arg, const struct kpstate_txn *t);

struct kpstate;

/* An empty map; NULL when out of memory. Free with kpstate_free (NULL ok). */
struct kpstate *kpstate_new(void);
void kpstate_free(struct kpstate *s);
/* Forgets every producer (a log reset or a full truncation). */
void kpstate_clear(struct kpstate *s);

/* Sets (cb NULL: removes) the callback told of ended transactions. */
void kpstate_set_txn_cb(struct kpstate *s, kpstate_txn_cb cb, void *arg);

/* Before a leader appends a marker for (producer_id, epoch) written by a coordinator of
 * coordinator_epoch (Kafka's appendEndTxnMarker checks): an epoch below the producer's is
 * KPSTATE_INVALID_EPOCH, a coordinator epoch below the last marker's KPSTATE_COORDINATOR_FENCED,
 * else KPSTATE_OK (also for a producer without an entry). Changes nothing. */
enum kpstate_verdict kpstate_check_marker(const struct kpstate *s, int64_t producer_id, int16_t epoch,
					  int32_t coordinator_epoch);
/* Records a marker appended at offset (no check): see the transactions paragraph above. The
 * ended transaction goes to the callback and, when t is not NULL, into *t. 0, ERR_NOMEM, ERR_FULL. */
int kpstate_end_txn(struct kpstate *s, int64_t producer_id, int16_t epoch, int32_t coordinator_epoch, bool commit,
		    int64_t offset, int64_t timestamp, struct kpstate_txn *t);
/* The first offset of the earliest open transaction, or -1 when none is open. */
int64_t kpstate_first_unstable(const struct kpstate *s);
/* The last stable offset for high watermark hw: min(hw, kpstate_first_unstable) (hw when none
 * is open). */
int64_t kpstate_lso(const struct kpstate *s, int64_t hw);

/* The last sequence of a batch of records_count records from base_seq, with Kafka's wrap. */
int32_t kpstate_last_seq(int32_t base_seq, int32_t records_count);

/*
 * The check before a leader appends a client's batch (rules 1-5 above). producer_id must be
 * >= 0 (a batch without a producer id is not checked). On KPSTATE_DUPLICATE, *dup (may be NULL)
 * gets the retained batch, whose first_offset is the answer's base offset. Changes nothing.
 */
enum kpstate_verdict kpstate_check(const struct kpstate *s, int64_t producer_id, int16_t epoch,
				   int32_t base_seq, int32_t records_count, struct kpstate_batch *dup);

/*
 * Records an appended batch (leader after kpstate_check said OK, follower, rebuild from the
 * log): the epoch becomes the entry's (a new epoch drops the old batches), the batch joins the
 * retained ones (the oldest leaves past KPSTATE_BATCHES), last_timestamp = max_timestamp.
 * base_offset and last_offset_delta are the batch's as stored. No check is made (Kafka's
 * appends from replication). A producer_id < 0 is ignored. Returns 0, ERR_NOMEM, or ERR_FULL
 * (KPSTATE_MAX_PRODUCERS reached: the batch is not recorded).
 */
int kpstate_update(struct kpstate *s, int64_t producer_id, int16_t epoch, int32_t base_seq,
		   int64_t base_offset, int32_t last_offset_delta, int64_t max_timestamp);

/* kpstate_update for each batch with a producer id in back-to-back batches bytes (whose headers
 * the caller has validated: a segment, a follower's fetch, an append); a transactional batch
 * opens its producer's transaction, a marker ends it (kpstate_end_txn; a control batch that is
 * no readable marker is skipped). ERR_CORRUPT on framing trouble; else as kpstate_update. */
int kpstate_update_batches(struct kpstate *s, const uint8_t *p, size_t len, char *eb, size_t el);

/* Removes producers idle for expiration_ms: now_ms - last_timestamp >= expiration_ms, without an
 * open transaction (Kafka's removeExpiredProducers). Returns how many went. */
size_t kpstate_expire(struct kpstate *s, int64_t now_ms, int64_t expiration_ms);

/* The entry of producer_id copied into *e: 0, or ERR_NOTFOUND. */
int kpstate_get(const struct kpstate *s, int64_t producer_id, struct kpstate_entry *e);
size_t kpstate_count(const struct kpstate *s);

/* Appends the snapshot bytes of s (entries by producer id) to w; 0 or w's error. */
int kpstate_snapshot_encode(const struct kpstate *s, struct wbuf *w);
/*
 * Decodes a snapshot of len bytes into s (emptied first), leaving out entries already expired
 * at now_ms (expiration_ms <= 0: none). Strict, since the bytes come from a disk: a length
 * that is not 10 + 46 * count, a version other than 1, a CRC mismatch, a producer id < 0 or
 * repeated, an offset delta < 0 or above the last offset, a sequence below -1: ERR_CORRUPT with
 * the reason in eb (s is then empty). ERR_TOOBIG past KPSTATE_SNAPSHOT_MAX_BYTES, ERR_NOMEM.
 */
int kpstate_snapshot_decode(struct kpstate *s, const uint8_t *p, size_t len, int64_t now_ms,
			    int64_t expiration_ms, char *eb, size_t el);

/* "<dir>/<20-digit offset>.snapshot" into buf; ERR_TOOBIG if it does not fit. */
int kpstate_snapshot_path(char *buf, size_t len, const char *dir, int64_t offset);
/* Writes s's snapshot for offset crash-safely (a .tmp file, fsync, rename, directory fsync).
 * 0 or ERR_IO/ERR_NOMEM (an old file of that name stays; the temporary file is removed). */
int kpstate_snapshot_write(const struct kpstate *s, const char *dir, int64_t offset, char *eb, size_t el);
/* Deletes the snapshots of dir whose offset is above max_offset or below min_offset (a
 * truncation, or the log start moving up); min_offset <= 0 keeps all below. 0 or ERR_IO. */
int kpstate_snapshot_prune(const char *dir, int64_t min_offset, int64_t max_offset, char *eb, size_t el);

/*
 * Start-up and truncation (Kafka's truncateAndReload): s is emptied, then loaded from the newest
 * snapshot in klog's directory whose offset is within [log start, log end] (a corrupt one is
 * logged, deleted, and the next older tried; producers expired at now_ms are left out), and
 * the log's batches from that offset (or the log start when there is none) to the end are
 * replayed with kpstate_update. *snap_offset (may be NULL) gets the snapshot's offset, -1 when
 * none was used. 0, or ERR_IO/ERR_CORRUPT from reading the log, ERR_NOMEM.
 */
int kpstate_load(struct kpstate *s, struct klog *l, int64_t now_ms, int64_t expiration_ms,
		 int64_t *snap_offset, char *eb, size_t el);
/* s emptied and rebuilt from the whole log (no snapshot), as kpstate_load otherwise. */
int kpstate_rebuild(struct kpstate *s, struct klog *l, int64_t now_ms, int64_t expiration_ms, char *eb, size_t el);

#endif
