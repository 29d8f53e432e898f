/*
 * ktxnstate — the state machine of a transactional id in Kafka's transaction coordinator
 * (TransactionState and its validPreviousStates, KIP-98), on its own so that the coordinator
 * core (ktxn) changes a transaction's state in one place that checks the edge and logs it:
 *
 *          InitProducerId / first AddPartitions after a completed transaction
 *      +-----------------------------------------------------------------+
 *      v                                                                 |
 *    Empty --- AddPartitionsToTxn / AddOffsetsToTxn ---> Ongoing --------+ (more partitions)
 *      ^  \                                            |   |   \
 *      |   +-> Dead (expired)         EndTxn(commit)   |   |    +--> PrepareEpochFence
 *      |                                               v   v         (InitProducerId of a
 *      |                                 PrepareCommit   PrepareAbort <-- new producer while
 *      |                                      |              |            Ongoing)
 *      |                       markers written|              |markers written
 *      |                                      v              v
 *      +------------------------------ CompleteCommit   CompleteAbort --> Ongoing, Empty, Dead
 *
 * Invariants the coordinator keeps (Kafka's TransactionMetadata): Empty has no partitions;
 * Ongoing has the partitions added and a start time; PrepareCommit / PrepareAbort are written
 * to __transaction_state before the client is answered and before any marker is sent, and
 * keep the partitions until every marker is acknowledged; the Complete states have no
 * partitions; PrepareEpochFence is held in memory only (never written), on the way to
 * PrepareAbort with the epoch bumped, so that the old producer is fenced; Dead is removed.
 * Kafka's transaction_status codes in the log are the enum's values. Pure functions.
 */
#ifndef SAMSA_KTXNSTATE_H
#define SAMSA_KTXNSTATE_H

#include <stdbool.h>

enum ktxnstate {
	KTXNSTATE_EMPTY = 0,
	KTXNSTATE_ONGOING = 1,
	KTXNSTATE_PREPARE_COMMIT = 2,
	KTXNSTATE_PREPARE_ABORT = 3,
	KTXNSTATE_COMPLETE_COMMIT = 4,
	KTXNSTATE_COMPLETE_ABORT = 5,
	KTXNSTATE_DEAD = 6,
	KTXNSTATE_PREPARE_EPOCH_FENCE = 7,
	KTXNSTATE_COUNT
};

/* Kafka's names ("Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit",
 * "CompleteAbort", "Dead", "PrepareEpochFence"); "?" for a value out of range. */
const char *ktxnstate_name(enum ktxnstate s);
/* Whether from -> to is an edge of the diagram (Kafka's validPreviousStates of to). */
bool ktxnstate_edge_ok(enum ktxnstate from, enum ktxnstate to);
/* Whether s is a state a transaction is completing in (markers being written). */
bool ktxnstate_preparing(enum ktxnstate s);

typedef void (*ktxnstate_log_fn)(void *arg, const char *line);

/* Moves *s to `to` after checking the edge, logging "transaction <id>: old -> new (why)"
 * through log (may be NULL). An illegal edge is a bug in the coordinator: it aborts loudly,
 * since a transaction in a state it cannot be in would write wrong markers from then on. */
void ktxnstate_set(enum ktxnstate *s, enum ktxnstate to, const char *txn_id, const char *why, ktxnstate_log_fn log,
		   void *log_arg);

#endif
