/*
 * kgstate — the consumer group state machine of Kafka's group coordinator (GroupMetadata's
 * states), on its own so that the coordinator core (kgroup, still to come) changes a group's
 * state in one place that checks the edge and logs it:
 *
 *            +--------------------- join ---------------------+
 *            |                                                 v
 *   Empty <--+-- all members gone, rebalance done --  PreparingRebalance <--+
 *     |                                                |   ^               |
 *     |                                 every member joined | member joins, leaves,
 *     |                                 or the rebalance    | dies, or the leader's
 *     |                                 timeout passed      | metadata changes
 *     |                                                v   |               |
 *     |                                        CompletingRebalance --------+
 *     |                                                |                   |
 *     |                                 the leader's SyncGroup stored      |
 *     |                                                v                   |
 *     |                                             Stable ----------------+
 *     +------> Dead <------ (from every state: group deleted, expired, its partition unloaded)
 *
 * Invariants the coordinator keeps (Kafka's): Empty has no members (it may hold offsets);
 * PreparingRebalance waits for members to rejoin (JoinGroup requests are parked);
 * CompletingRebalance has a new generation and waits for the leader's assignment (SyncGroup
 * requests are parked); Stable has an assignment for the generation; Dead has no members and
 * answers nothing but COORDINATOR_NOT_AVAILABLE / GROUP_ID_NOT_FOUND. Pure functions.
 */
#ifndef SAMSA_KGSTATE_H
#define SAMSA_KGSTATE_H

#include <stdbool.h>

enum kgstate {
	KGSTATE_EMPTY,
	KGSTATE_PREPARING_REBALANCE,
	KGSTATE_COMPLETING_REBALANCE,
	KGSTATE_STABLE,
	KGSTATE_DEAD,
	KGSTATE_COUNT
};

/* Kafka's names (DescribeGroups' state string): "Empty", "PreparingRebalance",
 * "CompletingRebalance", "Stable", "Dead"; "?" for a value out of range. */
const char *kgstate_name(enum kgstate s);
/* Whether from -> to is an edge of the diagram (Kafka's validPreviousStates). */
bool kgstate_edge_ok(enum kgstate from, enum kgstate to);

/* One line per change ("group g: Stable -> PreparingRebalance (member m-1 left)"). */
typedef void (*kgstate_log_fn)(void *arg, const char *line);

/* Moves *s to `to` after checking the edge, logging "group <group>: old -> new (why)" through
 * log (may be NULL). An illegal edge is a bug in the coordinator: it aborts loudly, since a
 * group in a state it cannot be in would answer members wrongly from then on. */
void kgstate_set(enum kgstate *s, enum kgstate to, const char *group, const char *why, kgstate_log_fn log,
		 void *log_arg);

#endif
