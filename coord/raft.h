/*
 * raft — the consensus core of the coordinator ensemble: Raft (Ongaro's thesis) with pre-vote
 * (§9.6), check-quorum and leader leases against disruptive servers (§4.2.3, §6.4), log
 * replication with a fast backoff hint (§5.3), snapshots and InstallSnapshot (§5.1 of the
 * thesis, ch. 5), non-voting learners (observers) and single-server membership changes
 * (§4.1, §4.4: the configuration in force is the latest one in the log, committed or not).
 *
 * It owns the in-memory log (entries above the compaction base), the hard state (term, vote),
 * the configuration history and, on a leader, the progress of every peer. It does no I/O, reads
 * no clock and has no randomness of its own: time is raft_tick(), randomness is a PRNG seeded
 * from raft_opts.seed, and every effect is returned in a struct raft_ready for the caller to carry
 * out. Nothing here depends on the wire encoding (proto/quorum.proto mirrors struct raft_msg).
 * Loop thread only; one struct raft per server.
 *
 * Driving it (the caller's loop):
 *   raft_tick() every tick; raft_step() for every message received; raft_propose() for writes;
 *   raft_persisted() when a ready's disk writes are durable; then raft_ready_take() and, in this
 *   order: install rd.snapshot (replacing state and the whole disk log, after earlier disk writes
 *   have finished), write rd.term/rd.vote durably (synchronously), truncate the disk log from
 *   rd.truncate_from and append rd.entries (may complete later, in order: then
 *   raft_persisted(rd.persist_seq)), send rd.msgs, apply rd.committed.
 * Followers acknowledge only entries their disk has made durable, and the leader counts itself
 * only up to its own durable index, so an entry is committed only once a majority has it on disk.
 */
#ifndef SAMSA_RAFT_H
#define SAMSA_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RAFT_MAX_SERVERS 16

enum raft_role {
	RAFT_FOLLOWER,
	RAFT_PRECANDIDATE,
	RAFT_CANDIDATE,
	RAFT_LEADER,
	RAFT_ROLE_COUNT
};

enum raft_entry_type {
	RAFT_ENTRY_NORMAL = 0,
	RAFT_ENTRY_CONFIG = 1, /* data = raft_config_encode() */
	RAFT_ENTRY_NOOP = 2,   /* appended by every new leader */
};

struct raft_server {
	uint64_t id; /* never 0 */
	bool voter;  /* false: learner (observer), replicated to, never counted or campaigning */
};

struct raft_config {
	uint32_t n;
	struct raft_server servers[RAFT_MAX_SERVERS];
};

/* An entry; data is owned by whichever structure holds the entry (see each use). */
struct raft_entry {
	uint64_t index;
	uint64_t term;
	enum raft_entry_type type;
	uint8_t *data;
	size_t len;
};

struct raft_snapshot_meta {
	uint64_t index; /* 0: no snapshot */
	uint64_t term;
	struct raft_config config; /* the configuration in force at index */
};

enum raft_msg_type {
	RAFT_MSG_PREVOTE_REQ,
	RAFT_MSG_PREVOTE_RESP,
	RAFT_MSG_VOTE_REQ,
	RAFT_MSG_VOTE_RESP,
	RAFT_MSG_APPEND_REQ,
	RAFT_MSG_APPEND_RESP,
	RAFT_MSG_SNAPSHOT_REQ,
	RAFT_MSG_SNAPSHOT_RESP,
	RAFT_MSG_TYPE_COUNT
};

/*
 * One peer message (mirrors samsa.quorum.RaftMessage). Only the fields of its type matter.
 * Messages in a raft_ready own their entries (and their data) and snap_data; a message passed
 * to raft_step() stays the caller's.
 */
struct raft_msg {
	enum raft_msg_type type;
	uint64_t from, to;
	uint64_t term; /* PREVOTE_REQ: the term the sender would campaign in */
	/* PREVOTE_REQ, VOTE_REQ */
	uint64_t last_index, last_term;
	/* PREVOTE_RESP, VOTE_RESP */
	bool granted;
	/* APPEND_REQ */
	uint64_t prev_index, prev_term, commit;
	struct raft_entry *entries;
	size_t n_entries;
	/* APPEND_RESP, SNAPSHOT_RESP: on success, index = the sender's log matches the leader's up
	 * to here, durable = ... and is on its disk (<= index). On reject (APPEND_RESP only),
	 * reject_index = the prev_index refused, hint_index/hint_term = where to retry (§5.3). */
	bool reject;
	uint64_t index, durable;
	uint64_t reject_index, hint_index, hint_term;
	/* SNAPSHOT_REQ: the snapshot's meta; snap_data is opaque to the core (a handle or the
	 * state itself), filled in by the sending caller and handed back in raft_ready.snap_data */
	struct raft_snapshot_meta snap;
	uint8_t *snap_data;
	size_t snap_len;
};

/* Receives one line per role change ("term 4: candidate -> leader (won election)") and other
 * notable events; raft never prints. */
typedef void (*raft_log_fn)(void *arg, uint64_t id, const char *line);

struct raft_opts {
	uint64_t id;			   /* this server, != 0 */
	struct raft_config config;	   /* bootstrap configuration: the one in force at index 0,
					    * the same on every server of the ensemble (a server
					    * added later passes the ensemble's original one too);
					    * superseded by the snapshot's and by config entries */
	uint32_t election_ticks;	   /* T: timeouts are drawn from [T, 2T); >= 2 */
	uint32_t heartbeat_ticks;	   /* < election_ticks */
	uint64_t seed;			   /* the PRNG seed (e.g. id ^ time at start-up) */
	uint32_t max_batch;		   /* entries per APPEND_REQ; 0: 64 */
	uint32_t max_inflight;		   /* entries sent past a peer's match; 0: 1024 */
	/* durable state restored from disk */
	uint64_t term, vote;
	const struct raft_snapshot_meta *snapshot; /* NULL or index 0: none */
	const struct raft_entry *entries;	   /* contiguous, first = snapshot index + 1 */
	size_t n_entries;
	raft_log_fn log;
	void *log_arg;
};

/*
 * The effects to carry out, in the order of the fields (see the top comment). Everything is
 * owned by the ready until raft_ready_clear().
 */
struct raft_ready {
	bool hs_changed; /* term/vote must be durable before msgs are sent */
	uint64_t term, vote;
	bool has_snapshot; /* install: state := snap_data, disk log := empty from snapshot.index */
	struct raft_snapshot_meta snapshot;
	uint8_t *snap_data;
	size_t snap_len;
	uint64_t persist_seq;	 /* != 0: call raft_persisted(persist_seq) once the below is durable */
	uint64_t truncate_from;	 /* != 0: delete disk entries >= this first */
	struct raft_entry *entries; /* then append these */
	size_t n_entries;
	struct raft_msg *msgs;
	size_t n_msgs;
	struct raft_entry *committed; /* newly committed, in index order, to apply */
	size_t n_committed;
};

struct raft;

/* Creates a server from opts and its restored durable state. NULL on a bad option or restored
 * state (the reason goes into err) or out of memory. opts and what it points to stay the
 * caller's. */
struct raft *raft_new(const struct raft_opts *opts, char *err, size_t errlen);
void raft_free(struct raft *r); /* NULL ok */

/* Inputs. */
void raft_tick(struct raft *r);
/* 0, or ERR_PROTO for a malformed message (not addressed to us, entries not contiguous, a bad
 * config entry, ...), which changes nothing. m stays the caller's. */
int raft_step(struct raft *r, const struct raft_msg *m);
/* Appends a normal entry (data copied) in the current term, raft_term(). 0 and *index;
 * ERR_NOTLEADER (raft_leader() is the hint). The core keeps no list of proposals: the entry is
 * committed when rd.committed carries *index with that term; any other term there means it was
 * lost (a new leader overwrote it) and the caller answers its request with an error. */
int raft_propose(struct raft *r, const void *data, size_t len, uint64_t *index);
/* Proposes cfg as the next configuration. ERR_NOTLEADER; ERR_BUSY while a configuration entry
 * is uncommitted or this leader has not committed an entry of its term yet (the thesis' fix for
 * single-server changes); ERR_INVAL if more than one voter would be added or removed, or cfg is
 * malformed or has no voter. */
int raft_propose_config(struct raft *r, const struct raft_config *cfg, uint64_t *index);
/* The transport lost its link to the leader (its process died, the connection reset): a
 * follower forgets the leader, so that it grants (pre-)votes at once, and campaigns after a
 * tick or few instead of a whole election timeout. A hint for liveness only: safety does not
 * depend on it being true (a wrong one costs at most a pre-vote that the others refuse while
 * they still hear from the leader). */
void raft_leader_unreachable(struct raft *r);
/* The disk writes of the ready with this persist_seq (and all before it) are durable. */
void raft_persisted(struct raft *r, uint64_t persist_seq);
/* A snapshot of the state machine through index (<= the last index handed out in
 * rd.committed) is durable; it becomes the one sent to lagging followers. ERR_INVAL otherwise.
 * The caller may then drop disk entries <= index; if its disk has an entry at index with a term
 * other than raft_snapshot()->term, the disk tail from there is stale (its truncation is still
 * on its way) and must go too, or a restart would restore it after the snapshot. */
int raft_snapshot_done(struct raft *r, uint64_t index);
/* Drops the in-memory log through index (<= the snapshot index). ERR_INVAL otherwise. */
int raft_compact(struct raft *r, uint64_t index);

/* Outputs: moves the pending effects into rd (which the caller has zeroed or cleared) and
 * returns whether there were any. Free with raft_ready_clear(). */
bool raft_ready_take(struct raft *r, struct raft_ready *rd);
void raft_ready_clear(struct raft_ready *rd); /* frees everything in rd and zeroes it */

/* Deep copy of a message (entries, data, snap_data); 0 or ERR_NOMEM (dst zeroed). */
int raft_msg_copy(struct raft_msg *dst, const struct raft_msg *src);
void raft_msg_clear(struct raft_msg *m); /* frees what m owns and zeroes it */

/* State. */
uint64_t raft_id(const struct raft *r);
enum raft_role raft_role(const struct raft *r);
const char *raft_role_name(enum raft_role role);
const char *raft_msg_type_name(enum raft_msg_type t);
uint64_t raft_term(const struct raft *r);
uint64_t raft_vote(const struct raft *r);
uint64_t raft_leader(const struct raft *r); /* 0: unknown */
uint64_t raft_commit_index(const struct raft *r);
uint64_t raft_last_index(const struct raft *r);
uint64_t raft_durable_index(const struct raft *r); /* own log durable up to here */
uint64_t raft_snapshot_index(const struct raft *r);
/* The latest snapshot (raft_snapshot_done, installed, or restored): what SNAPSHOT_REQ sends. */
const struct raft_snapshot_meta *raft_snapshot(const struct raft *r);
/* The term of the entry at index, 0 if not known (compacted below the base, or past the end). */
uint64_t raft_term_at(const struct raft *r, uint64_t index);
/* The configuration in force (the latest in the log) and the index of its entry. */
const struct raft_config *raft_config(const struct raft *r, uint64_t *index);
/* Leader only: the durable match index of peer id, or 0 (not a leader, unknown id). */
uint64_t raft_peer_match(const struct raft *r, uint64_t id);
/* Leader only: the number of voters (itself included) whose disk has the whole log up to the
 * commit index (ZooKeeper mntr's synced_followers + 1). */
uint32_t raft_synced_voters(const struct raft *r);
/* The reason of the last role change ("check-quorum: lost the majority"). */
const char *raft_reason(const struct raft *r);

/* Configuration helpers. */
bool raft_config_is_voter(const struct raft_config *cfg, uint64_t id);
bool raft_config_has(const struct raft_config *cfg, uint64_t id);
/* Bytes of a CONFIG entry: writes at most cap bytes, returns the length needed. */
size_t raft_config_encode(const struct raft_config *cfg, uint8_t *out, size_t cap);
/* 0 or ERR_CORRUPT (bad length, too many servers, id 0, duplicate id). */
int raft_config_decode(struct raft_config *cfg, const uint8_t *data, size_t len);

#endif
