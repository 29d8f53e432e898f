/*
 * kreplica — the replica manager (Kafka's ReplicaManager): the only module that opens and
 * removes partition logs and the only writer of the high watermark. One hosted partition is a
 * klog plus a struct krepl (the pure replication core); the manager feeds krepl its inputs
 * (LeaderAndIsr, produces, fetches, fetcher answers, ticks) and carries out the actions krepl
 * queues, in order: TRUNCATE / RESET the log, APPEND fetched batches (klog_append_replica),
 * EPOCHS (leader-epoch-checkpoint through kckpt), ISR_UPDATE (ops->isr_write, conditional on the
 * state znode's version; the answer comes back through krm_isr_result), COMPLETE (answers a
 * held acks=all produce from the purgatory), HW (publishes it: consumers' fetches and
 * ListOffsets see only up to it; ops->wake names the partition whose waiting fetches may retry).
 *
 * The purgatory of delayed produce is keyed by partition and krepl token; each held produce
 * keeps the per-partition results its response is written from (never the request bytes).
 *
 * Producer state (the idempotent producer, KIP-98): every hosted partition keeps a kpstate
 * covering its whole log, loaded at hosting (newest <offset>.snapshot + the log after it),
 * updated by every append (leader and follower), reloaded after a truncation or reset,
 * snapshotted at segment roll and clean close, its snapshots pruned below the log start with
 * retention, idle producers expired by krm_housekeep after producer.id.expiration.ms. Only the
 * leader checks sequences (krm_append).
 *
 * Transactions (KIP-98, the partition side): the producer state also knows each producer's
 * open transaction (its first offset), opened by transactional batches and ended by the
 * markers WriteTxnMarkers appends (krm_append_marker), on leaders and followers alike; the
 * last stable offset is min(HW, the earliest open transaction's first offset). Every aborted
 * transaction is kept in memory (ktxnidx) and in the .txnindex file of the segment holding its
 * marker: appended at the marker, loaded with the producer state (the files below the
 * snapshot, the replay after it; a segment without an abort has no file, as in Kafka; a bad
 * file has the whole log replayed), trimmed with retention, rewritten after a truncation. read_committed fetches see up to the LSO and get the aborted
 * transactions of what they read (krm_fetch_txn).
 *
 * Checkpoints (Kafka's files in the log directory, written by krm_checkpoint and krm_free):
 * replication-offset-checkpoint (HW per partition) and recovery-point-offset-checkpoint (the
 * offset below which the log was flushed). Both are read by krm_new; a partition hosted later
 * starts its krepl from them and from its own leader-epoch-checkpoint.
 *
 * Nothing here knows ZooKeeper, sockets or the Kafka wire format: the broker wires the ops
 * (kb_cluster writes the ISR, the follower fetcher follows leaders). Loop thread only. A
 * partition whose log fails (an I/O error in an action) stops serving (KAFKA_STORAGE_ERROR)
 * until the broker restarts, as Kafka marks a log directory offline.
 */
#ifndef SAMSA_KREPLICA_H
#define SAMSA_KREPLICA_H

#include "klog.h"
#include "krepl.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fsyncq;
struct kclean;
struct krm;
struct krm_produce;

/* Kafka error codes the manager answers with, besides krepl's (which are Kafka's already). */
#define KRM_E_UNKNOWN_TOPIC_OR_PARTITION 3
#define KRM_E_OUT_OF_ORDER_SEQUENCE_NUMBER 45
#define KRM_E_INVALID_PRODUCER_EPOCH 47
#define KRM_E_INVALID_TXN_STATE 48
#define KRM_E_TRANSACTION_COORDINATOR_FENCED 52
#define KRM_E_KAFKA_STORAGE_ERROR 56
#define KRM_E_INVALID_RECORD 87

#define KRM_TOPIC_MAX 249

struct krm_ops {
	/* ISR_UPDATE: write st (leader, leader_epoch, isr) with controller_epoch to the
	 * partition's state znode if its version is still st->zk_version, then call
	 * krm_isr_result (never from inside this call). May be NULL (the write is then refused). */
	void (*isr_write)(void *arg, const char *topic, int32_t part, const struct krepl_state *st,
			  int32_t controller_epoch);
	/* This replica now follows leader (a new leader or epoch): fetch for k from it (the
	 * fetcher's kfetcher_add). Called again for each new leader or epoch. May be NULL. */
	void (*follow)(void *arg, const char *topic, int32_t part, int32_t leader, struct krepl *k);
	/* Stop fetching for the partition (before its krepl changes role away or is freed). */
	void (*unfollow)(void *arg, const char *topic, int32_t part);
	/* topic-part's HW moved, its role changed or its log was appended: the fetches waiting on
	 * it may be answered. The last stable offset moves only at these (a marker is an append,
	 * the LSO is bounded by the HW), so a read_committed fetch waiting for the LSO is woken
	 * too. Called from inside the manager's calls: defer the retries. */
	void (*wake)(void *arg, const char *topic, int32_t part);
};

struct krm_opts {
	int32_t broker_id;
	const char *log_dir;	 /* copied */
	int64_t lag_time_max_ms; /* replica.lag.time.max.ms */
	int64_t pid_expiration_ms; /* producer.id.expiration.ms; <= 0: Kafka's 86400000 */
	struct fsyncq *fsq;	 /* the flush policy's worker for every log (may be NULL) */
	struct kclean *cleaner;	 /* the log cleaner of compacted logs (may be NULL: none runs) */
	klog_flushed_cb flushed; /* passed to klog_set_fsyncq with flushed_arg */
	void *flushed_arg;
	const struct krm_ops *ops; /* stays the caller's */
	void *arg;
	/* the clock of the fetcher's answers, in the same ms as every now passed in; NULL: the
	 * wall clock (kb_now_ms's) */
	int64_t (*clock)(void);
};

/* A hosted partition's topic configuration. */
struct krm_conf {
	struct klog_opts log;
	int32_t min_insync; /* min.insync.replicas: the topic's, else the broker's */
};

/* Reads the two checkpoint files of log_dir (missing: empty; corrupt: an error naming the file
 * and line, and the manager is not made). NULL with the reason in err. */
struct krm *krm_new(const struct krm_opts *o, char *err, size_t errlen);
/* Clean shutdown: every partition stops (its held produces are answered with
 * NOT_LEADER_OR_FOLLOWER), the checkpoint files are written, the logs closed. NULL ok. */
void krm_free(struct krm *rm);

/*
 * LeaderAndIsr for topic-part (for now the state znode read by kb_cluster; later the
 * controller's channel): st names leader, leader epoch, ISR, replicas and the znode version;
 * controller_epoch is what an ISR write stores. When this broker is among st->replicas and
 * the partition is not hosted yet, its log is opened (created) with conf and its krepl built
 * from the checkpoints. 0 (also for a stale epoch, which changes nothing), ERR_INVAL (this
 * broker is not a replica: nothing is opened; use krm_remove), or the error of opening the log.
 */
int krm_become(struct krm *rm, const char *topic, int32_t part, const struct krepl_state *st,
	       int32_t controller_epoch, const struct krm_conf *conf, int64_t now);
/* A config change of a hosted partition (NULL-safe: not hosted is a no-op). */
void krm_set_conf(struct krm *rm, const char *topic, int32_t part, const struct krm_conf *conf);
/* No longer a replica here (reassignment, topic deletion): stops it, answers its held produces,
 * unfollows, and deletes the log directory (delete_log) or only closes it. Not hosted: 0. */
int krm_remove(struct krm *rm, const char *topic, int32_t part, bool delete_log);
bool krm_hosted(const struct krm *rm, const char *topic, int32_t part);

/* ISR_UPDATE's outcome (see krm_ops.isr_write). */
void krm_isr_result(struct krm *rm, const char *topic, int32_t part, int32_t leader_epoch, bool ok,
		    int32_t new_zk_version, int64_t now);
/* Produce deadlines, ISR shrink; call every few tens of ms. */
void krm_tick(struct krm *rm, int64_t now);
/* Writes replication-offset-checkpoint and recovery-point-offset-checkpoint (blocking: small
 * files, fsynced). 0 or the first error (in err). */
int krm_checkpoint(struct krm *rm, char *err, size_t errlen);
/* Retention, roll and time-based flush of every hosted log (klog_housekeep). */
void krm_housekeep(struct krm *rm, int64_t now);
/* Offers the hosted logs whose cleanup.policy has compact to the cleaner (kclean_offer, below
 * each one's high watermark), until one starts or the cleaner is busy. Call every
 * log.cleaner.backoff.ms. A removed or closed partition's cleaning in flight is cancelled. */
void krm_clean(struct krm *rm, int64_t now);
/* The flushed callback of a log (to be called from opts.flushed's target): the recovery point. */
void krm_flushed(struct krm *rm, const struct klog *l, int64_t offset);

/*
 * Produce. A produce request gets one struct krm_produce with a result slot per partition;
 * krm_append fills slot i, krm_produce_submit says whether every slot is final. A slot of an
 * acks=all append waits in the purgatory until krepl answers it (the ISR has it: NONE, or
 * NOT_ENOUGH_REPLICAS_AFTER_APPEND; its deadline: REQUEST_TIMED_OUT; leadership lost:
 * NOT_LEADER_OR_FOLLOWER); when the last waiting slot is answered cb(arg, pr) runs once, and
 * cb owns pr from then on (krm_produce_free).
 */
struct krm_pres {
	int16_t error;	     /* a Kafka error code */
	int64_t base_offset; /* -1 unless appended */
	int64_t log_start;   /* -1 unless hosted */
	bool waiting;	     /* in the purgatory */
};
typedef void (*krm_produce_cb)(void *arg, struct krm_produce *pr);
/* n >= 1 slots, all { NONE, -1, -1 }. NULL when out of memory. */
struct krm_produce *krm_produce_new(struct krm *rm, size_t n, krm_produce_cb cb, void *arg);
/* An idempotent producer's batch, from its header (KIP-98): producer_id -1 for any other. */
struct krm_producer {
	int64_t producer_id;
	int16_t epoch;
	int32_t base_seq;
	int32_t records_count;
	bool transactional; /* attributes 0x10: opens or continues the producer's transaction */
};
/* Appends records (whole v2 batches the caller validated, holding nrecords records in all;
 * rewritten in place: offsets, leader epoch, LogAppendTime) for slot i as this partition's
 * leader. prod (NULL or producer_id -1: not idempotent, nothing checked) is the single batch's
 * producer fields (Kafka takes exactly one batch per partition from an idempotent producer; the
 * caller refuses more with INVALID_RECORD): the partition's producer state decides first
 * (kpstate_check): in order, appended as any batch and recorded; a retry of one of the
 * producer's last five batches, nothing appended and NONE with the original's base offset (acks
 * -1 waits until the HW covers the original: never acknowledged before it is committed);
 * OUT_OF_ORDER_SEQUENCE_NUMBER (a gap) or INVALID_PRODUCER_EPOCH (an older epoch), nothing
 * appended; INVALID_RECORD when prod's count is not nrecords.
 * Returns the slot's error: NONE (appended or a duplicate; acks -1 then waits),
 * UNKNOWN_TOPIC_OR_PARTITION (not hosted), NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS (acks -1
 * and the ISR is smaller than min.insync.replicas: nothing appended), KAFKA_STORAGE_ERROR, or
 * the producer errors above. *log (may be NULL) gets the partition's log (for the flush-policy
 * wait), NULL unless appended or a duplicate. */
int16_t krm_append(struct krm *rm, struct krm_produce *pr, size_t i, const char *topic, int32_t part,
		   uint8_t *records, size_t len, int64_t nrecords, const struct krm_producer *prod, int acks,
		   int64_t deadline, bool log_append_time, int64_t now, struct klog **log);
/*
 * A transaction marker (WriteTxnMarkers, KIP-98) for slot i as this partition's leader: a
 * control batch ending producer_id's transaction (commit or abort, Kafka's EndTransactionMarker
 * with coordinator_epoch) appended as acks=all with the given deadline (the slot waits in the
 * purgatory until the ISR has it), after kpstate_check_marker: INVALID_PRODUCER_EPOCH (an epoch
 * older than the producer's), TRANSACTION_COORDINATOR_FENCED (an older coordinator epoch than
 * the last marker's). Otherwise as krm_append's errors (no producer-state check of sequences).
 * The producer state records it (the transaction ends; an abort enters the partition's
 * aborted transactions and the active segment's .txnindex).
 */
int16_t krm_append_marker(struct krm *rm, struct krm_produce *pr, size_t i, const char *topic, int32_t part,
			  int64_t producer_id, int16_t epoch, int32_t coordinator_epoch, bool commit, int64_t deadline,
			  int64_t now);
/* Every slot appended: true when none waits (the caller keeps pr and frees it); false when cb
 * will run later. */
bool krm_produce_submit(struct krm *rm, struct krm_produce *pr);
const struct krm_pres *krm_produce_result(const struct krm_produce *pr, size_t i);
size_t krm_produce_count(const struct krm_produce *pr);
/* Frees pr; slots still waiting leave the purgatory unanswered (the client went away). NULL ok. */
void krm_produce_free(struct krm_produce *pr);
size_t krm_purgatory_size(const struct krm *rm);

/*
 * Fetch of topic-part at offset by replica_id (-1: a consumer, which sees only up to the HW;
 * >= 0: a follower, which sees up to the log end and moves its LEO, the ISR and the HW),
 * current_leader_epoch -1 unchecked (KIP-320). Returns a Kafka error; on NONE *sl holds the
 * whole batches to send (at most max_bytes, at least one batch when max_bytes > 0; sl->len 0:
 * nothing yet), *hw and *log_start the fields of the answer.
 */
int16_t krm_fetch(struct krm *rm, const char *topic, int32_t part, int32_t replica_id, int32_t current_leader_epoch,
		  int64_t offset, size_t max_bytes, int64_t now, struct klog_slice *sl, int64_t *hw, int64_t *log_start);
/*
 * krm_fetch with transactions: tx (NULL: as krm_fetch) says whether a consumer reads committed
 * records only (isolation_level 1: it sees up to the last stable offset instead of the HW) and
 * gets the LSO (min(HW, the first offset of the earliest open transaction); -1 unless answered),
 * and for a read_committed read that returned records the aborted transactions that may be
 * among them (a new array the caller frees, n_aborted entries; NULL when none).
 */
struct ktxnidx_entry;
struct krm_fetch_txn {
	bool read_committed;		/* in */
	int64_t lso;			/* out */
	struct ktxnidx_entry *aborted;	/* out: owned by the caller */
	size_t n_aborted;
};
int16_t krm_fetch_txn(struct krm *rm, const char *topic, int32_t part, int32_t replica_id, int32_t current_leader_epoch,
		      int64_t offset, size_t max_bytes, int64_t now, struct krm_fetch_txn *tx, struct klog_slice *sl,
		      int64_t *hw, int64_t *log_start);
/* The last stable offset of a hosted partition (-1: not hosted): min(published HW, the first
 * offset of its earliest open transaction). */
int64_t krm_last_stable_offset(const struct krm *rm, const char *topic, int32_t part);
/* Leader-only reads (ListOffsets, Produce's log_start_offset): the error of serving it
 * (fencing by current_leader_epoch, -1 unchecked), the published HW, the log start, the
 * leader epoch and the log (borrowed; valid until the next call into the manager). */
int16_t krm_leader(struct krm *rm, const char *topic, int32_t part, int32_t current_leader_epoch, int64_t *hw,
		   int64_t *log_start, int32_t *leader_epoch, struct klog **log);
/* OffsetForLeaderEpoch (API 23) on the leader. */
int16_t krm_offset_for_epoch(struct krm *rm, const char *topic, int32_t part, int32_t current_leader_epoch,
			     int32_t requested, int32_t *epoch, int64_t *end_offset);
/* The published HW (-1: not hosted). */
int64_t krm_high_watermark(const struct krm *rm, const char *topic, int32_t part);
/* The krepl of a hosted partition (borrowed), NULL if not hosted. */
struct krepl *krm_krepl(const struct krm *rm, const char *topic, int32_t part);

/* The follower fetcher's answers (kfetcher_ops; arg is the manager). */
void krm_epoch_answer(void *arg, const char *topic, int32_t part, const struct krepl_epoch_resp *resp);
void krm_fetch_answer(void *arg, const char *topic, int32_t part, const struct krepl_fetch_resp *resp,
		      const uint8_t *records, size_t len);
/* Calls ops->follow again for every following partition (the leaders' addresses changed). */
void krm_refollow(struct krm *rm);

#endif
