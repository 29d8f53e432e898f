/*
 * krepl — the replication core of one partition replica (Kafka's Partition + the follower side of
 * its fetcher), with no I/O: it owns the replica's role, its log end offset (LEO) and high
 * watermark (HW), its leader-epoch cache (KIP-101/KIP-279), and on a leader the view of every
 * follower (LEO, last caught-up time), the ISR and the acks=all produces waiting for it. It never
 * touches a file, a socket or a clock: the caller passes the time (ms) into every input and
 * carries out the actions the core queues, in order.
 *
 * Who calls what (all on the broker's loop thread; one struct krepl per hosted partition replica,
 * owned by the replica manager; nothing here blocks or locks):
 *   krepl_new()            at start-up / when the partition is created, with the log as recovered
 *                          (log start, log end, the HW from replication-offset-checkpoint, the
 *                          leader-epoch-checkpoint entries) — it starts OFFLINE;
 *   krepl_become()         for every LeaderAndIsr naming this partition (leader, leader epoch, ISR,
 *                          replicas, zk version of /brokers/topics/<t>/partitions/<p>/state);
 *   krepl_stop()           StopReplica, or the log directory failed;
 *   Leader:  krepl_append() before writing a produce's records (gives the base offset and the
 *            epoch to stamp); krepl_fetch() for every Fetch from a follower (or a consumer) —
 *            it says what to send back; krepl_offset_for_epoch() answers OffsetForLeaderEpoch;
 *            krepl_isr_result() once the ISR write an ISR_UPDATE action asked for is done or
 *            refused (zk version conflict);
 *   Follower: krepl_epoch_request() / krepl_epoch_response() while truncating (the fetcher sends
 *            OffsetForLeaderEpoch to the leader), then krepl_fetch_request() /
 *            krepl_fetch_response() for its Fetch round trips (one outstanding per partition);
 *   krepl_tick()           periodically (ISR shrink after replica.lag.time.max.ms, produce
 *                          deadlines);
 *   then krepl_actions() and, in order: TRUNCATE / RESET the log, APPEND fetched batches,
 *   rewrite leader-epoch-checkpoint (EPOCHS), write the partition state (ISR_UPDATE, conditional
 *   on the zk version), answer produces (COMPLETE), publish the HW (HW); then krepl_actions_clear().
 *
 * Guarantees (the simulator tests/unit/test_repl_sim.c checks them over thousands of seeds):
 * a produce with acks=all completes OK only once every member of the ISR as stored in the
 * coordinator has it (HW > its last offset; an ISR shrink counts only once it is written); the
 * leader's HW never goes back within an epoch; a follower keeps nothing the new leader lacks
 * (truncation by leader epoch, KIP-101, with KIP-279's walk back); a follower joins the ISR only
 * with LEO >= HW and LEO >= the start of the leader's epoch; a deposed leader cannot complete
 * acks=all writes (its followers stop fetching from it and its ISR writes fail on the zk version).
 * Out of memory inside the core aborts (as in coord/raft): a half-applied step would break them.
 */
#ifndef SAMSA_KREPL_H
#define SAMSA_KREPL_H

#include "kepoch.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KREPL_MAX_REPLICAS 16

/* The role state machine (see the diagram in krepl.c). */
enum krepl_role {
	KREPL_OFFLINE,	  /* not hosted / not told yet / stopped: serves nothing */
	KREPL_LEADER,	  /* takes produces, serves fetches, keeps ISR and HW */
	KREPL_TRUNCATING, /* follower: finding where its log leaves the leader's (KIP-101/279) */
	KREPL_FOLLOWING,  /* follower: log is a prefix of the leader's; fetching */
	KREPL_ROLE_COUNT
};

/* The outcomes the core answers with, in the Kafka protocol's numbering. */
enum krepl_error {
	KREPL_OK = 0,
	KREPL_OFFSET_OUT_OF_RANGE = 1,
	KREPL_NOT_LEADER_OR_FOLLOWER = 6,
	KREPL_REQUEST_TIMED_OUT = 7,
	KREPL_NOT_ENOUGH_REPLICAS = 19,
	KREPL_NOT_ENOUGH_REPLICAS_AFTER_APPEND = 20,
	KREPL_FENCED_LEADER_EPOCH = 74,
	KREPL_UNKNOWN_LEADER_EPOCH = 75,
};

/* LeaderAndIsr's partition state (and what ISR_UPDATE writes). */
struct krepl_state {
	int32_t leader; /* -1: none (every ISR member is down) */
	int32_t leader_epoch;
	int32_t zk_version; /* of the partition state znode */
	uint32_t n_isr, n_replicas;
	int32_t isr[KREPL_MAX_REPLICAS];
	int32_t replicas[KREPL_MAX_REPLICAS]; /* assignment order */
};

/* A record batch as the core sees it: offsets and the leader epoch stamped in it. */
struct krepl_batch {
	int64_t base_offset, last_offset;
	int32_t epoch;
};

/* A Fetch from a follower (replica_id >= 0) or a consumer (replica_id -1). */
struct krepl_fetch_req {
	int32_t replica_id;
	int32_t current_leader_epoch; /* KIP-320 fencing; -1: not checked (old consumers) */
	int64_t fetch_offset;
	int32_t last_fetched_epoch; /* the epoch of the record before fetch_offset; -1: none */
};

/* The leader's answer to a fetch: send the records in [from, to) with these fields. */
struct krepl_fetch_plan {
	enum krepl_error error;
	int64_t from, to;
	int64_t high_watermark, log_start;
	bool diverging; /* the follower's log leaves ours: it must truncate (KIP-595's check) */
	int32_t diverging_epoch;
	int64_t diverging_end_offset;
};

/* What a follower got back for its krepl_fetch_request(). */
struct krepl_fetch_resp {
	enum krepl_error error;
	int32_t leader_epoch; /* the current_leader_epoch of the request it answers */
	int64_t fetch_offset; /* and its fetch_offset */
	int64_t high_watermark, log_start;
	bool diverging;
	int32_t diverging_epoch;
	int64_t diverging_end_offset;
	const struct krepl_batch *batches; /* the caller's; contiguous from fetch_offset */
	size_t n_batches;
};

/* OffsetForLeaderEpoch, one partition. */
struct krepl_epoch_req {
	int32_t current_leader_epoch;
	int32_t leader_epoch; /* the follower's latest epoch */
};

struct krepl_epoch_resp {
	enum krepl_error error;
	int32_t current_leader_epoch; /* of the request it answers */
	int32_t requested_epoch;      /* and its leader_epoch (the caller keeps its request) */
	int32_t leader_epoch;	      /* largest epoch <= requested on the leader, -1: none */
	int64_t end_offset;	      /* where it ends there, -1: none */
};

enum krepl_action_type {
	KREPL_ACT_TRUNCATE,   /* delete the log's offsets >= offset */
	KREPL_ACT_RESET,      /* delete the whole log; it restarts empty at offset (the leader's log start) */
	KREPL_ACT_APPEND,     /* append the fetched batch [offset, last_offset] (epoch) just passed in */
	KREPL_ACT_EPOCHS,     /* the epoch cache changed: rewrite leader-epoch-checkpoint (krepl_epochs) */
	KREPL_ACT_ISR_UPDATE, /* write state (leader, epoch, isr) if the znode's version is still
			       * state.zk_version, then call krepl_isr_result() */
	KREPL_ACT_COMPLETE,   /* answer the produce token with error */
	KREPL_ACT_HW,	      /* the high watermark is now offset */
	KREPL_ACT_TYPE_COUNT
};

struct krepl_action {
	enum krepl_action_type type;
	int64_t offset, last_offset;
	int32_t epoch;
	uint64_t token;
	enum krepl_error error;
	struct krepl_state state; /* ISR_UPDATE: the state to write, zk_version = the expected one */
};

/* Receives one line per role change ("epoch 4: following -> leader (LeaderAndIsr)") and per
 * ISR, truncation or other notable event; the core never prints. */
typedef void (*krepl_log_fn)(void *arg, int32_t broker_id, const char *line);

struct krepl_opts {
	int32_t broker_id;
	int64_t lag_time_max_ms; /* replica.lag.time.max.ms (Kafka 2.x: 10000) */
	int32_t min_insync;	 /* min.insync.replicas (topic config, else the broker's) */
	/* the log as recovered */
	int64_t log_start, log_end;
	int64_t high_watermark; /* from replication-offset-checkpoint; clamped into the log */
	const struct kepoch_entry *epochs; /* leader-epoch-checkpoint; entries past log_end dropped */
	size_t n_epochs;
	krepl_log_fn log;
	void *log_arg;
};

struct krepl;

/* A replica in OFFLINE from opts (which stays the caller's). NULL on bad options or epochs (the
 * reason in err), or out of memory. It may queue an EPOCHS action (epochs starting at or past
 * the log end were dropped): carry out its actions before the first input. */
struct krepl *krepl_new(const struct krepl_opts *opts, char *err, size_t errlen);
void krepl_free(struct krepl *k); /* NULL ok; pending produces are dropped unanswered */

/*
 * Inputs. now is the caller's monotonic clock in ms. Each may queue actions.
 */
/* LeaderAndIsr. 0; ERR_INVAL for a malformed state (this broker not a replica, ISR not within
 * the replicas, a leader outside the ISR, counts over KREPL_MAX_REPLICAS); ERR_RANGE when the
 * leader epoch is not above the current one (a stale request: Kafka ignores it too) or below the
 * latest epoch of our cache. Both change nothing. The one exception: a state of the current
 * leader epoch with a newer zk_version, the same leader and the same replicas is an ISR change
 * the controller made (the leader epoch moves only with the leader; the znode version is the
 * partition epoch): a replica already playing its part in this epoch takes the ISR and the
 * version and keeps its role, its followers' fetch state and its epoch cache (0). st stays the
 * caller's. */
int krepl_become(struct krepl *k, const struct krepl_state *st, int64_t now);
/* StopReplica: -> OFFLINE; waiting produces fail with NOT_LEADER_OR_FOLLOWER. The leader epoch
 * is kept, so a LeaderAndIsr must still be newer; a partition hosted again after its log was
 * deleted gets a new struct krepl, as Kafka makes a new Partition. */
void krepl_stop(struct krepl *k);
/* A change of min.insync.replicas (topic config): applies to the next acks=all produce and
 * completion. n >= 1. */
void krepl_set_min_insync(struct krepl *k, int32_t n);
/* ISR shrink (replica.lag.time.max.ms), produce deadlines. */
void krepl_tick(struct krepl *k, int64_t now);

/* Leader: a produce of count records (count >= 1). OK: the caller writes them at *base_offset,
 * stamped with *epoch; acks -1 (all) then completes later with a COMPLETE action for token
 * (by deadline at the latest: REQUEST_TIMED_OUT), acks 0/1 are answered by the caller at once.
 * NOT_LEADER_OR_FOLLOWER; NOT_ENOUGH_REPLICAS (acks=all with fewer than min.insync.replicas in
 * the ISR): nothing appended. */
enum krepl_error krepl_append(struct krepl *k, int64_t count, int acks, uint64_t token, int64_t deadline,
			      int64_t now, int64_t *base_offset, int32_t *epoch);
/* Leader: a produce answered with records already in the log (an idempotent producer's retry of
 * a batch appended before, whose last offset is last_offset < the log end): the same checks as
 * krepl_append (NOT_LEADER_OR_FOLLOWER; NOT_ENOUGH_REPLICAS for acks=all under
 * min.insync.replicas), nothing appended; acks -1 then completes with a COMPLETE action for token
 * once the HW passes last_offset (queued at once when it already has), by deadline at the
 * latest: a duplicate is never acknowledged before its original is committed. acks 0/1: OK at
 * once. OFFSET_OUT_OF_RANGE when last_offset is not below the log end (nothing held). */
enum krepl_error krepl_await(struct krepl *k, int acks, uint64_t token, int64_t last_offset, int64_t deadline,
			     int64_t now);
/* Leader: a Fetch. plan says what to send (and its error). Follower fetches move the follower's
 * LEO, may expand the ISR and advance the HW. */
void krepl_fetch(struct krepl *k, const struct krepl_fetch_req *req, int64_t now, struct krepl_fetch_plan *plan);
/* Leader: OffsetForLeaderEpoch (API 23). current_leader_epoch -1: not checked. */
enum krepl_error krepl_offset_for_epoch(const struct krepl *k, int32_t current_leader_epoch, int32_t requested,
					int32_t *epoch, int64_t *end_offset);
/* Leader: the outcome of an ISR_UPDATE for leader_epoch: ok with the znode's new version, or
 * refused (its version moved: the controller changed it; wait for its LeaderAndIsr). An ok at
 * a version not above the one taken meanwhile (krepl_become of the same epoch) changes nothing. */
void krepl_isr_result(struct krepl *k, int32_t leader_epoch, bool ok, int32_t new_zk_version, int64_t now);

/* Follower, TRUNCATING: the OffsetForLeaderEpoch request to send to krepl_leader(); false when
 * there is nothing to ask (not truncating, or no leader). */
bool krepl_epoch_request(const struct krepl *k, struct krepl_epoch_req *req);
/* Its answer: truncates (KIP-101), walks back another round when the leader's epoch is unknown
 * here (KIP-279), or moves to FOLLOWING. An answer to an older request (another leader epoch,
 * or an epoch asked about before an earlier round cut the log: a retried request's late
 * answer), or an error, changes nothing (ask again). 0, or ERR_PROTO for an answer no correct
 * leader gives (an epoch above the one asked about): nothing changes. */
int krepl_epoch_response(struct krepl *k, const struct krepl_epoch_resp *resp, int64_t now);
/* Follower, FOLLOWING: the Fetch to send; false when not following a leader. */
bool krepl_fetch_request(const struct krepl *k, struct krepl_fetch_req *req);
/* Its answer: appends (APPEND actions), new epochs (EPOCHS), the HW; a diverging answer goes
 * back to truncation; an answer to an older request is ignored. 0, or ERR_PROTO (batches not
 * contiguous from the fetch offset, epochs going back or above the leader's): nothing changes. */
int krepl_fetch_response(struct krepl *k, const struct krepl_fetch_resp *resp, int64_t now);

/* Outputs: the queued actions in order (valid until the next input), and their release. */
const struct krepl_action *krepl_actions(const struct krepl *k, size_t *n);
void krepl_actions_clear(struct krepl *k);

/* State. */
enum krepl_role krepl_role(const struct krepl *k);
const char *krepl_role_name(enum krepl_role role);
const char *krepl_error_name(enum krepl_error e);
const char *krepl_action_name(enum krepl_action_type t);
int32_t krepl_id(const struct krepl *k);
int32_t krepl_leader(const struct krepl *k); /* -1: none known */
int32_t krepl_leader_epoch(const struct krepl *k);
int64_t krepl_log_end(const struct krepl *k);
int64_t krepl_high_watermark(const struct krepl *k);
/* The ISR as last stored (LeaderAndIsr or a successful ISR_UPDATE) and its zk version. */
const int32_t *krepl_isr(const struct krepl *k, uint32_t *n, int32_t *zk_version);
bool krepl_isr_pending(const struct krepl *k); /* an ISR_UPDATE awaits its result */
const struct kepoch *krepl_epochs(const struct krepl *k);
/* Leader: a follower's LEO (-1: not fetched in this epoch) and last caught-up time. false for an
 * unknown id or not a leader. */
bool krepl_peer(const struct krepl *k, int32_t id, int64_t *leo, int64_t *last_caught_up);
size_t krepl_waiting(const struct krepl *k); /* acks=all produces waiting */

#endif
