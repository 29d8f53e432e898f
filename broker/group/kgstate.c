/*
 * kgstate — the group state machine's names, edges and its one setter (see kgstate.h).
 */
#include "kgstate.h"

#include <stdio.h>
#include <stdlib.h>

static const char *const kgstate_names[KGSTATE_COUNT] = {
	[KGSTATE_EMPTY] = "Empty",
	[KGSTATE_PREPARING_REBALANCE] = "PreparingRebalance",
	[KGSTATE_COMPLETING_REBALANCE] = "CompletingRebalance",
	[KGSTATE_STABLE] = "Stable",
	[KGSTATE_DEAD] = "Dead",
};

const char *kgstate_name(enum kgstate s)
{
	return (unsigned)s < KGSTATE_COUNT ? kgstate_names[s] : "?";
}

bool kgstate_edge_ok(enum kgstate from, enum kgstate to)
{
	if ((unsigned)from >= KGSTATE_COUNT || (unsigned)to >= KGSTATE_COUNT)
		return false;
	switch (to) {
	case KGSTATE_EMPTY:
		return from == KGSTATE_PREPARING_REBALANCE;
	case KGSTATE_PREPARING_REBALANCE:
		return from == KGSTATE_STABLE || from == KGSTATE_COMPLETING_REBALANCE || from == KGSTATE_EMPTY;
	case KGSTATE_COMPLETING_REBALANCE:
		return from == KGSTATE_PREPARING_REBALANCE;
	case KGSTATE_STABLE:
		return from == KGSTATE_COMPLETING_REBALANCE;
	case KGSTATE_DEAD:
		return true;
	default:
		return false;
	}
}

void kgstate_set(enum kgstate *s, enum kgstate to, const char *group, const char *why, kgstate_log_fn log,
		 void *log_arg)
{
	if (!kgstate_edge_ok(*s, to)) {
		fprintf(stderr, "kgstate: group %s: illegal transition %s -> %s (%s)\n", group, kgstate_name(*s),
			kgstate_name(to), why);
		abort();
	}
	if (log) {
		char line[512];
		snprintf(line, sizeof(line), "group %s: %s -> %s (%s)", group, kgstate_name(*s), kgstate_name(to), why);
		log(log_arg, line);
	}
	*s = to;
}
