/*
 * ktxn — the transaction coordinator's core (Kafka's TransactionCoordinator and
 * TransactionStateManager, KIP-98), with no I/O: the transactional ids whose
 * __transaction_state partitions this broker leads, their producer ids and epochs, their
 * state (ktxnstate) and partitions. The broker drives it with decoded requests, the records
 * it reads back from a state partition when it becomes that partition's leader, the
 * completion of the appends and marker rounds the core asked for, and a clock it passes in
 * (ktxns_tick). The core answers through the reply callback — once the state the answer
 * promises is replicated (acks=all) — and asks for records to be appended and for
 * WriteTxnMarkers to be sent to the leaders of a transaction's partitions.
 *
 * Rules (Kafka 2.x-3.x's TransactionCoordinator):
 *  - a transactional id lives in partition kgplace_partition(id) of state_partitions; a
 *    request for one whose partition is not owned gets NOT_COORDINATOR, loading
 *    COORDINATOR_LOAD_IN_PROGRESS;
 *  - one transition at a time per id (Kafka's pendingState): while an append or the markers
 *    of an id are under way, its requests get CONCURRENT_TRANSACTIONS;
 *  - InitProducerId: a timeout over max_timeout_ms INVALID_TRANSACTION_TIMEOUT; a new id gets
 *    a new producer id (ops->new_pid) with epoch 0; Empty, CompleteCommit or CompleteAbort bump
 *    the epoch (a new producer id when it would pass 32766); Ongoing is fenced and aborted
 *    (PrepareEpochFence: the epoch bumped in memory at once, so the old producer is fenced,
 *    then PrepareAbort written and the markers sent) and answered CONCURRENT_TRANSACTIONS, so
 *    the client retries and gets the next epoch once the abort completed; PrepareCommit and
 *    PrepareAbort CONCURRENT_TRANSACTIONS; v3+ naming a producer id and epoch (KIP-360) must
 *    name the current ones (or the previous epoch of a bump whose answer was lost, answered
 *    again without a new bump), else PRODUCER_FENCED (v4+) / INVALID_PRODUCER_EPOCH; the
 *    Empty record is written before the answer;
 *  - AddPartitionsToTxn / AddOffsetsToTxn (the group's __consumer_offsets partition, added
 *    by the caller): an unknown id or another producer id INVALID_PRODUCER_ID_MAPPING; another
 *    epoch PRODUCER_FENCED (the caller maps it to INVALID_PRODUCER_EPOCH for old versions);
 *    PrepareCommit / PrepareAbort CONCURRENT_TRANSACTIONS; partitions already in an Ongoing
 *    transaction are answered at once; otherwise Ongoing is written with the union (the start
 *    time set when it was not Ongoing) before the answer;
 *  - EndTxn: the same id and epoch checks; Ongoing writes PrepareCommit / PrepareAbort, answers,
 *    sends the markers (retried by the broker until every leader acknowledged them), then
 *    writes CompleteCommit / CompleteAbort; a retried EndTxn of the same result in its Complete
 *    state is answered NONE, in its Prepare state CONCURRENT_TRANSACTIONS; the other result, or
 *    Empty, INVALID_TXN_STATE;
 *  - an Ongoing transaction older than its timeout is fenced and aborted as above (checked on
 *    the tick every abort_check_ms);
 *  - an id in Empty, CompleteCommit or CompleteAbort not updated for id_expiration_ms is
 *    removed (checked every expire_check_ms): a tombstone is written, then it is Dead and
 *    forgotten, as Kafka's removeExpiredTransactionalIds;
 *  - loading a partition replays its records (the last of each id wins, a tombstone removes
 *    it); ids left in PrepareCommit / PrepareAbort get their markers sent again, then their
 *    Complete state written, as Kafka's coordinator does after a failover.
 *
 * Threads: all of it runs on the broker's loop thread. Strings in requests are copied when
 * kept.
 */
#ifndef SAMSA_KTXN_H
#define SAMSA_KTXN_H

#include "ktxnrec.h"
#include "ktxnstate.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ktxns;

struct ktxns_conf {
	int32_t state_partitions; /* transaction.state.log.num.partitions (50) */
	int32_t max_timeout_ms;	  /* transaction.max.timeout.ms (900000) */
	int32_t abort_check_ms;	  /* transaction.abort.timed.out.transaction.cleanup.interval.ms (10000) */
	int64_t id_expiration_ms; /* transactional.id.expiration.ms (604800000) */
	int32_t expire_check_ms;  /* transaction.remove.expired.transaction.cleanup.interval.ms (3600000) */
};

/* What a request is answered: an error, and for InitProducerId the producer id and epoch. */
struct ktxn_answer {
	int16_t error;
	int64_t producer_id;
	int16_t producer_epoch;
};

/* The markers of one transaction to write: to the leaders of every partition of topics. */
struct ktxn_markers {
	int64_t producer_id;
	int16_t producer_epoch;
	bool commit;
	int32_t coordinator_epoch; /* the leader epoch of the state partition */
	int32_t ntopics;
	const struct ktxnrec_topic *topics;
};

struct ktxns_ops {
	/* Answers request `token`, exactly once per request the core was given (ktxns_free
	 * included), never from inside the ktxns_* call that gave it. a is valid during the call. */
	void (*reply)(void *arg, void *token, const struct ktxn_answer *a);
	/* Appends one record (key, value; value NULL: a tombstone) to state partition `partition`
	 * with acks=all. KE_NONE: under way, ktxns_append_done(id) follows later (never from
	 * inside this call); any other Kafka error: it failed at once, no ktxns_append_done. */
	int16_t (*append)(void *arg, int32_t partition, const uint8_t *key, size_t klen, const uint8_t *value,
			  size_t vlen, uint64_t id);
	/* A new producer id into *pid: KE_NONE, or an error (then the InitProducerId gets it). */
	int16_t (*new_pid)(void *arg, int64_t *pid);
	/* Sends the markers m (valid during the call) until every partition's leader acknowledged
	 * them (or the partition is gone), then calls ktxns_markers_done(id) — later, never from
	 * inside this call. ktxns_markers_wanted(id) tells whether the core still waits for them
	 * (it stops waiting when the state partition is unloaded). */
	void (*markers)(void *arg, uint64_t id, const struct ktxn_markers *m);
	/* One log line (state changes). */
	void (*log)(void *arg, const char *line);
};

/* A new coordinator owning no partition; conf and ops copied. NULL without memory. */
struct ktxns *ktxns_new(const struct ktxns_conf *conf, const struct ktxns_ops *ops, void *arg);
/* Answers every waiting request NOT_COORDINATOR and frees everything. NULL ok. */
void ktxns_free(struct ktxns *ts);

/* ---- ownership of __transaction_state partitions (as kgroups_load_*) ---- */
/* This broker became partition p's leader at leader epoch coord_epoch: its ids are loading
 * until ktxns_load_end; records read back from the log in offset order go to
 * ktxns_load_record (malformed ones are refused with the reason in eb, and skipped). */
void ktxns_load_begin(struct ktxns *ts, int32_t p, int32_t coord_epoch);
int ktxns_load_record(struct ktxns *ts, int32_t p, const uint8_t *key, size_t klen, const uint8_t *value,
		      size_t vlen, char *eb, size_t el);
void ktxns_load_end(struct ktxns *ts, int32_t p, int64_t now);
/* No longer partition p's leader: its ids are dropped, their waiting requests answered
 * NOT_COORDINATOR, its appends and markers under way forgotten. */
void ktxns_unload(struct ktxns *ts, int32_t p);
/* KE_NONE when transactional id id[0..len) is coordinated here, else NOT_COORDINATOR or
 * COORDINATOR_LOAD_IN_PROGRESS. */
int16_t ktxns_owns(const struct ktxns *ts, const uint8_t *id, size_t len);
/* The state partition of id[0..len). */
int32_t ktxns_partition(const struct ktxns *ts, const uint8_t *id, size_t len);

/* ---- requests: each answered through ops->reply exactly once ---- */
/* InitProducerId with a transactional id; pid/epoch -1 unless v3+ named them; ver the
 * request's version (PRODUCER_FENCED from v4). */
void ktxns_init_pid(struct ktxns *ts, void *token, const uint8_t *id, size_t len, int32_t timeout_ms, int64_t pid,
		    int16_t epoch, int16_t ver, int64_t now);
/* A partition of AddPartitionsToTxn (AddOffsetsToTxn: the group's offsets partition). */
struct ktxn_tp {
	const char *topic;
	int32_t part;
};
void ktxns_add_partitions(struct ktxns *ts, void *token, const uint8_t *id, size_t len, int64_t pid, int16_t epoch,
			  const struct ktxn_tp *tps, int32_t n, int64_t now);
void ktxns_end(struct ktxns *ts, void *token, const uint8_t *id, size_t len, int64_t pid, int16_t epoch, bool commit,
	       int64_t now);

/* An append the core asked for completed with Kafka error err (KE_NONE: replicated). */
void ktxns_append_done(struct ktxns *ts, uint64_t id, int16_t err, int64_t now);
/* Every marker of round id was acknowledged. Unknown ids are ignored. */
void ktxns_markers_done(struct ktxns *ts, uint64_t id, int64_t now);
bool ktxns_markers_wanted(const struct ktxns *ts, uint64_t id);
/* Time passes: timed-out transactions aborted, failed writes retried. Call it every 100 ms
 * or so. */
void ktxns_tick(struct ktxns *ts, int64_t now);

/* ---- reading, for tests and the metrics ---- */
struct ktxn_info {
	const char *id;
	int64_t producer_id;
	int16_t producer_epoch;
	enum ktxnstate state;
	int32_t npartitions;
};
/* Fills *out for id (a C string): true, or false when it is not loaded here. */
bool ktxns_info(const struct ktxns *ts, const char *id, struct ktxn_info *out);
/* The number of ids loaded here. */
size_t ktxns_count(const struct ktxns *ts);

#endif
