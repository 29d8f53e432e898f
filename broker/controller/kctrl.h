/*
 * kctrl — the controller's decisions, with no I/O: Kafka's partition state machine (non-existent,
 * new, online, offline) and replica state machine (online, offline) over the cluster as the
 * coordinator describes it, and the leader elections they make (Kafka 2.x's
 * PartitionStateMachine / ReplicaStateMachine and their election strategies). It never touches
 * the coordinator, a socket or a clock: the broker that holds /controller feeds it what it reads
 * (live brokers, assignments, partition states with their znode versions) and what its channel
 * to the brokers learns (a broker's connection broke, a broker asks for a controlled shutdown),
 * and carries out the actions it queues, in order:
 *   WRITE_STATE   write /brokers/topics/<t>/partitions/<p>/state = state (create when
 *                 expect_version is -1, else a conditional set), then call kctrl_write_result();
 *   LEADER_AND_ISR tell broker `broker` the partition's state (after the write succeeded; for
 *                 every live replica), as Kafka's controller sends LeaderAndIsr; and to a broker
 *                 online again, for every partition it is a replica of.
 *
 * Elections (leader chosen in assignment order, as Kafka's strategies do):
 * - new partition: the first live replica; ISR = the live replicas;
 * - offline partition (its leader died): the first live replica that is in the ISR; with
 *   unclean.leader.election.enable, else the first live replica (the ISR becomes just it);
 *   without either the partition stays leaderless: leader -1, ISR kept as it was (the last
 *   member can come back and lead without losing anything);
 * - controlled shutdown of broker B: the partitions B leads move to the first replica in the
 *   ISR that is live and not shutting down; B leaves the ISR of those it follows;
 * - preferred: the first replica of the assignment, when it is live and in the ISR.
 * The leader epoch moves only when the leader does (an election, a move to -1): an ISR-only
 * change (a dead follower leaves the ISR) keeps it, and the znode's version (LeaderAndIsr's
 * zkVersion, the partition epoch of Kafka's KRaft controller) is what tells a broker that the
 * state is newer. Kafka 2.x's newLeaderAndIsr bumped the leader epoch on every change, which
 * fenced every follower's fetches and made clients refresh their metadata on each broker restart;
 * KAFKA-15021 stopped that: correctness needs a new epoch for a new leader only (a batch's
 * (offset, epoch) names one history). One exception, as in Kafka 2.x's controlled shutdown: a
 * follower shutting down leaves the ISR with a new leader epoch, which fences its fetches so that
 * the leader does not take it back before it stops (KIP-841 refuses shutting-down brokers' ISR
 * joins instead, which samsa's leaders cannot tell yet). Every write is conditional on the znode
 * version the controller last read or wrote: a leader that changed the ISR meanwhile makes the
 * write fail, and the controller decides again from what it reads.
 *
 * A dead replica leaves the ISR of the partitions it follows (Kafka's OfflineReplica: the ISR
 * shrinks at once instead of after replica.lag.time.max.ms) but never the last member of an ISR.
 *
 * One struct kctrl per controller term (controller epoch); all on the broker's loop thread.
 * Out of memory inside the core aborts (a half-applied decision would be worse).
 */
#ifndef SAMSA_KCTRL_H
#define SAMSA_KCTRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KCTRL_MAX_REPLICAS 16

enum kctrl_pstate {
	KCTRL_P_NONEXISTENT, /* no assignment known */
	KCTRL_P_NEW,	     /* assigned, no state znode yet */
	KCTRL_P_ONLINE,	     /* a live leader */
	KCTRL_P_OFFLINE,     /* no leader, or its leader is dead */
	KCTRL_P_COUNT
};

enum kctrl_rstate {
	KCTRL_R_OFFLINE, /* not registered, or its connection broke and was confirmed dead */
	KCTRL_R_ONLINE,
	KCTRL_R_SHUTTING, /* asked for a controlled shutdown: leads nothing, serves until it stops */
	KCTRL_R_COUNT
};

/* A partition's state znode: {"controller_epoch":..,"leader":..,"version":1,"leader_epoch":..,"isr":[..]} */
struct kctrl_lisr {
	int32_t leader; /* -1: none */
	int32_t leader_epoch;
	int32_t controller_epoch;
	int32_t zk_version; /* of the znode; -1: there is none */
	uint32_t n_isr;
	int32_t isr[KCTRL_MAX_REPLICAS];
};

enum kctrl_action_type {
	KCTRL_ACT_WRITE_STATE,
	KCTRL_ACT_LEADER_AND_ISR,
	KCTRL_ACT_TYPE_COUNT
};

struct kctrl_action {
	enum kctrl_action_type type;
	const char *topic; /* valid until the next input */
	int32_t partition;
	int32_t broker;		/* LEADER_AND_ISR: to whom */
	int32_t expect_version; /* WRITE_STATE: -1 create, else the version the set is conditional on */
	struct kctrl_lisr state;
	uint32_t n_replicas; /* LEADER_AND_ISR: the assignment */
	int32_t replicas[KCTRL_MAX_REPLICAS];
};

/* One line per state change ("t-0: offline -> online, leader 2 epoch 5 (leader 1 died)"). */
typedef void (*kctrl_log_fn)(void *arg, const char *line);

struct kctrl_opts {
	int32_t controller_epoch;
	bool unclean_default; /* unclean.leader.election.enable of the brokers (default false) */
	kctrl_log_fn log;
	void *log_arg;
};

struct kctrl;

struct kctrl *kctrl_new(const struct kctrl_opts *o); /* NULL only when out of memory */
void kctrl_free(struct kctrl *k);		     /* NULL ok */

/*
 * Inputs; each may queue actions. Nothing is decided for a partition while one of its writes is
 * in flight; its result decides again.
 */
/* The live brokers as /brokers/ids lists them (n ids): those missing become OFFLINE (their
 * partitions elect, they leave ISRs), new ones ONLINE (offline partitions they can lead elect). */
void kctrl_brokers(struct kctrl *k, const int32_t *ids, size_t n);
/* The channel confirmed broker id dead before its registration went away (fast detection):
 * as if it had left /brokers/ids; it is ONLINE again only when kctrl_brokers() lists it after
 * kctrl_broker_back() (its connection works again). */
void kctrl_broker_dead(struct kctrl *k, int32_t id);
void kctrl_broker_back(struct kctrl *k, int32_t id);
/* Controlled shutdown of id: moves its leaderships away, takes it out of ISRs (again on every
 * call: partitions created meanwhile). Returns how many of its leaderships are being moved (the
 * writes in flight); the partitions it leads once they are done are those no other live ISR
 * member can take (kctrl_leading lists them; Kafka's ControlledShutdownResponse does too). */
size_t kctrl_broker_shutting(struct kctrl *k, int32_t id);
/* A topic partition. */
struct kctrl_tp {
	const char *topic; /* valid until the next input */
	int32_t partition;
};
/* The replicated partitions (more than one replica) whose written state names id as leader
 * (up to max into out); returns how many there are. A partition with one replica cannot move
 * and never holds a controlled shutdown up (Kafka counts only replicated ones too). */
size_t kctrl_leading(const struct kctrl *k, int32_t id, struct kctrl_tp *out, size_t max);
/* A partition as the coordinator holds it: its assignment (n replicas, assignment order) and
 * its state znode (NULL: none yet), a topic's unclean.leader.election.enable override
 * (-1: the default). Updates what was known; the state replaces the known one only when its
 * version is newer. ERR_INVAL (from err.h) for an assignment over KCTRL_MAX_REPLICAS or with
 * duplicates: ignored. */
int kctrl_partition(struct kctrl *k, const char *topic, int32_t partition, const int32_t *replicas, size_t n,
		    const struct kctrl_lisr *st, int unclean);
/* The topic was deleted: its partitions become NONEXISTENT and are forgotten. */
void kctrl_topic_gone(struct kctrl *k, const char *topic);
/* The outcome of a WRITE_STATE: ok with the znode's new version, or failed (then the caller
 * reads the state again and passes it to kctrl_partition(), which decides again). */
void kctrl_write_result(struct kctrl *k, const char *topic, int32_t partition, bool ok, int32_t new_version);
/* ElectLeaders for one partition (KIP-460): preferred (the first replica of the assignment,
 * when it is live and in the ISR) or unclean (a leaderless partition takes its first live
 * replica even outside the ISR). Returns KCTRL_ELECT_STARTED (the write is queued), _NOT_NEEDED
 * (already led by its preferred replica / has a leader), _NOT_AVAILABLE (the preferred replica
 * is dead or out of the ISR / no live replica), _UNKNOWN (no such partition), _BUSY (a write is
 * in flight: ask again). */
enum kctrl_elect {
	KCTRL_ELECT_STARTED,
	KCTRL_ELECT_NOT_NEEDED,
	KCTRL_ELECT_NOT_AVAILABLE,
	KCTRL_ELECT_UNKNOWN,
	KCTRL_ELECT_BUSY,
};
enum kctrl_elect kctrl_elect(struct kctrl *k, const char *topic, int32_t partition, bool unclean);
/* Whether a write of the partition's state is in flight. */
bool kctrl_busy(const struct kctrl *k, const char *topic, int32_t partition);
/* auto.leader.rebalance.enable's check: for every broker whose share of partitions it is the
 * preferred replica of but does not lead exceeds pct percent
 * (leader.imbalance.per.broker.percentage), preferred elections of those partitions. Returns
 * how many it started. */
size_t kctrl_rebalance(struct kctrl *k, int32_t pct);

/* Outputs. */
const struct kctrl_action *kctrl_actions(const struct kctrl *k, size_t *n);
void kctrl_actions_clear(struct kctrl *k);

/* State. */
enum kctrl_pstate kctrl_pstate(const struct kctrl *k, const char *topic, int32_t partition);
enum kctrl_rstate kctrl_rstate(const struct kctrl *k, int32_t id);
/* The partition's state as last read or written (NULL: unknown partition). */
const struct kctrl_lisr *kctrl_state(const struct kctrl *k, const char *topic, int32_t partition);
const char *kctrl_pstate_name(enum kctrl_pstate s);
const char *kctrl_rstate_name(enum kctrl_rstate s);
const char *kctrl_action_name(enum kctrl_action_type t);

#endif
