/*
 * ktxnstate — the transaction state machine's names, edges and its one setter (see
 * ktxnstate.h).
 */
#include "ktxnstate.h"

#include <stdio.h>
#include <stdlib.h>

static const char *const ktxnstate_names[KTXNSTATE_COUNT] = {
	[KTXNSTATE_EMPTY] = "Empty",
	[KTXNSTATE_ONGOING] = "Ongoing",
	[KTXNSTATE_PREPARE_COMMIT] = "PrepareCommit",
	[KTXNSTATE_PREPARE_ABORT] = "PrepareAbort",
	[KTXNSTATE_COMPLETE_COMMIT] = "CompleteCommit",
	[KTXNSTATE_COMPLETE_ABORT] = "CompleteAbort",
	[KTXNSTATE_DEAD] = "Dead",
	[KTXNSTATE_PREPARE_EPOCH_FENCE] = "PrepareEpochFence",
};

const char *ktxnstate_name(enum ktxnstate s)
{
	return (unsigned)s < KTXNSTATE_COUNT ? ktxnstate_names[s] : "?";
}

bool ktxnstate_edge_ok(enum ktxnstate from, enum ktxnstate to)
{
	if ((unsigned)from >= KTXNSTATE_COUNT || (unsigned)to >= KTXNSTATE_COUNT)
		return false;
	bool completed = from == KTXNSTATE_COMPLETE_COMMIT || from == KTXNSTATE_COMPLETE_ABORT;
	switch (to) {
	case KTXNSTATE_EMPTY:
		return from == KTXNSTATE_EMPTY || completed;
	case KTXNSTATE_ONGOING:
		return from == KTXNSTATE_ONGOING || from == KTXNSTATE_EMPTY || completed;
	case KTXNSTATE_PREPARE_COMMIT:
		return from == KTXNSTATE_ONGOING;
	case KTXNSTATE_PREPARE_ABORT:
		return from == KTXNSTATE_ONGOING || from == KTXNSTATE_PREPARE_EPOCH_FENCE;
	case KTXNSTATE_COMPLETE_COMMIT:
		return from == KTXNSTATE_PREPARE_COMMIT;
	case KTXNSTATE_COMPLETE_ABORT:
		return from == KTXNSTATE_PREPARE_ABORT;
	case KTXNSTATE_DEAD:
		return from == KTXNSTATE_EMPTY || completed;
	case KTXNSTATE_PREPARE_EPOCH_FENCE:
		return from == KTXNSTATE_ONGOING;
	default:
		return false;
	}
}

bool ktxnstate_preparing(enum ktxnstate s)
{
	return s == KTXNSTATE_PREPARE_COMMIT || s == KTXNSTATE_PREPARE_ABORT;
}

void ktxnstate_set(enum ktxnstate *s, enum ktxnstate to, const char *txn_id, const char *why, ktxnstate_log_fn log,
		   void *log_arg)
{
	if (!ktxnstate_edge_ok(*s, to)) {
		fprintf(stderr, "ktxnstate: transaction %s: illegal transition %s -> %s (%s)\n", txn_id,
			ktxnstate_name(*s), ktxnstate_name(to), why);
		abort();
	}
	if (log && *s != to) {
		char line[512];
		snprintf(line, sizeof(line), "transaction %s: %s -> %s (%s)", txn_id, ktxnstate_name(*s),
			 ktxnstate_name(to), why);
		log(log_arg, line);
	}
	*s = to;
}
