/*
 * kgroup — the group coordinator's core (Kafka's GroupCoordinator and GroupMetadataManager),
 * with no I/O: the consumer groups whose __consumer_offsets partitions this broker leads,
 * their members, rebalances and committed offsets. The broker drives it with decoded requests
 * (broker/wire's kgw structs), the records it reads back from an offsets partition when it
 * becomes that partition's leader, the completion of the appends the core asked for, and a
 * clock it passes in (kgroups_tick). The core answers through the reply callback — at once,
 * or later for requests it parks (JoinGroup until the rebalance completes, SyncGroup until the
 * leader's assignment is stored, OffsetCommit until its records are replicated) — and asks
 * for records to be appended (acks=all) through the append callback. Deterministic: the same
 * inputs and seed give the same outputs, so the unit tests drive it without a broker.
 *
 * Rules (Kafka 2.x's GroupCoordinator, the group state machine in kgstate):
 *  - a group lives in partition kgplace_partition(group) of offsets_partitions; a request for a
 *    group whose partition is not owned gets NOT_COORDINATOR, one whose partition is loading
 *    COORDINATOR_LOAD_IN_PROGRESS; an empty group id INVALID_GROUP_ID;
 *  - JoinGroup: session timeout outside [min, max] INVALID_SESSION_TIMEOUT; a protocol type or
 *    protocol set that does not match the group's INCONSISTENT_GROUP_PROTOCOL; v4+ with an empty
 *    member id (and no group.instance.id) gets MEMBER_ID_REQUIRED with a new member id
 *    (client_id + "-" + a UUID, KIP-394), remembered as pending until it joins with it or its
 *    session timeout passes; group.instance.id (v5+, KIP-345) maps an instance to its member id
 *    (a rejoin with an unknown member id replaces the old one's id; the old id then gets
 *    FENCED_INSTANCE_ID); group_max_size reached GROUP_MAX_SIZE_REACHED;
 *  - the first join of an Empty group waits initial_rebalance_delay_ms (extended while members
 *    keep joining, up to the rebalance timeout), later rebalances complete when every known
 *    member has rejoined or the rebalance timeout passed (members that did not rejoin are
 *    removed); completing a join bumps the generation, picks the protocol every member
 *    supports with the most votes, answers every parked JoinGroup (the leader's answer carries
 *    the members and their metadata);
 *  - SyncGroup: the leader's assignment is stored (group metadata record appended) and then
 *    every parked SyncGroup answered with its member's assignment; followers that sync before
 *    the leader are parked; a wrong generation ILLEGAL_GENERATION, an unknown member
 *    UNKNOWN_MEMBER_ID, during PreparingRebalance REBALANCE_IN_PROGRESS;
 *  - Heartbeat: extends the member's session; REBALANCE_IN_PROGRESS while preparing, so that
 *    members rejoin; a member whose session passes is removed and the group rebalances;
 *  - LeaveGroup (v0-2 one member, v3+ a batch, by member id or instance id): the member is
 *    removed at once and the group rebalances (or becomes Empty, its metadata stored);
 *  - OffsetCommit: generation -1 with an empty member id commits to an Empty or unknown group
 *    (a "simple" consumer); otherwise the member and generation must match (ILLEGAL_GENERATION,
 *    UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS during a rebalance); metadata longer than
 *    offset_metadata_max_bytes OFFSET_METADATA_TOO_LARGE; a partition the part_exists callback
 *    denies UNKNOWN_TOPIC_OR_PARTITION; the rest appended as offset commit records and answered
 *    once the append completes (its error mapped as Kafka maps it);
 *  - OffsetFetch answers the committed offsets (-1 where none); DescribeGroups, ListGroups;
 *    DeleteGroups only of Empty (or unknown: GROUP_ID_NOT_FOUND) groups, else NON_EMPTY_GROUP,
 *    tombstones appended for the group and its offsets; OffsetDelete refuses partitions of a
 *    topic a Stable consumer group is subscribed to (GROUP_SUBSCRIBED_TO_TOPIC);
 *  - offsets of a group that has been Empty for offsets_retention_ms are expired (KIP-211), and
 *    a group with neither members nor offsets then is removed, tombstones appended.
 * Where Kafka 2.x's own code decides a case the list above leaves open, the core follows it: a
 * loading group's Heartbeat is answered NONE and its SyncGroup REBALANCE_IN_PROGRESS;
 * OffsetCommit is refused (REBALANCE_IN_PROGRESS) only in CompletingRebalance, and taken in
 * PreparingRebalance; Heartbeat in CompletingRebalance extends the session and answers NONE
 * (Kafka 2.5+); OffsetDelete refuses subscribed topics in every non-Empty state of a
 * "consumer" group (NON_EMPTY_GROUP for another protocol type); the empty group id is
 * accepted by OffsetCommit, OffsetFetch, DescribeGroups and DeleteGroups; a static member
 * rejoining in Stable keeps the generation when the selected protocol stays the same (its
 * answer waits for the group record and names the previous leader), and the fenced member
 * id's parked requests get FENCED_INSTANCE_ID; a JoinGroup or SyncGroup replaced by a newer
 * one of the same member gets REBALANCE_IN_PROGRESS; DeleteGroups and OffsetDelete answer once
 * their tombstones are replicated (their append error mapped as for SyncGroup).
 *
 * Threads: all of it runs on the broker's loop thread. Strings in the request structs point
 * into the caller's request bytes and are copied when kept.
 */
#ifndef SAMSA_KGROUP_H
#define SAMSA_KGROUP_H

#include "kgw.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kgroups;

struct kgroups_conf {
	int32_t offsets_partitions;	    /* offsets.topic.num.partitions (50) */
	int32_t min_session_timeout_ms;	    /* group.min.session.timeout.ms (6000) */
	int32_t max_session_timeout_ms;	    /* group.max.session.timeout.ms (1800000) */
	int32_t initial_rebalance_delay_ms; /* group.initial.rebalance.delay.ms (3000) */
	int32_t max_size;		    /* group.max.size (INT32_MAX) */
	int32_t offset_metadata_max_bytes;  /* offset.metadata.max.bytes (4096) */
	int64_t offsets_retention_ms;	    /* offsets.retention.minutes (10080) in ms */
	int64_t retention_check_interval_ms; /* offsets.retention.check.interval.ms (600000) */
	uint64_t seed;			    /* of the member-id UUIDs */
};

/* A record for __consumer_offsets: key and value bytes (value NULL: a tombstone), valid
 * during the append call only. */
struct kgroup_rec {
	const uint8_t *key;
	size_t klen;
	const uint8_t *value;
	size_t vlen;
};

struct kgroups_ops {
	/* Answers request `token` of api (KGW_API_*) and version ver with the response body resp
	 * (a struct kgw_<api>_resp; a struct kgw_list_resp for ListGroups), valid during the call
	 * only. Called exactly once per request the core was given (kgroups_free included), never
	 * from inside another callback of the same request; the broker keeps token's response
	 * slot alive until then, even when the client's connection closed. */
	void (*reply)(void *arg, void *token, int16_t api, int16_t ver, const void *resp);
	/* Appends recs[0..n) as one batch to __consumer_offsets partition `partition` with
	 * acks=all and timestamp now. Returns KE_NONE when the append is under way: the broker
	 * then calls kgroups_append_done(gs, id, err) once, later (never from inside this call).
	 * Any other Kafka error code: it failed at once, and kgroups_append_done is not called. */
	int16_t (*append)(void *arg, int32_t partition, const struct kgroup_rec *recs, int32_t n, uint64_t id);
	/* As append, as one transactional batch of producer pid at epoch (base sequence -1: the
	 * coordinator's own append, no sequence check), which opens the producer's transaction on
	 * the partition until its marker (TxnOffsetCommit's offsets). */
	int16_t (*append_txn)(void *arg, int32_t partition, const struct kgroup_rec *recs, int32_t n, uint64_t id,
			      int64_t pid, int16_t epoch);
	/* Whether topic[0..tlen) has partition part (OffsetCommit's UNKNOWN_TOPIC_OR_PARTITION). */
	bool (*part_exists)(void *arg, const uint8_t *topic, size_t tlen, int32_t part);
	/* One log line (group state changes, members joining, leaving, expiring). */
	void (*log)(void *arg, const char *line);
};

/* The authorization checks the core asks of a request where Kafka's KafkaApis makes them
 * (the group checks of JoinGroup ... OffsetFetch are the caller's, before the core): */
enum kgroup_check {
	KGROUP_CHECK_CLUSTER_DESCRIBE, /* ListGroups: every group (name unused) */
	KGROUP_CHECK_GROUP_DESCRIBE,   /* DescribeGroups per group; ListGroups' filter */
	KGROUP_CHECK_GROUP_DELETE,     /* DeleteGroups per group; OffsetDelete */
	KGROUP_CHECK_TOPIC_READ,       /* OffsetCommit and OffsetDelete per topic */
	KGROUP_CHECK_TOPIC_DESCRIBE,   /* OffsetFetch per topic (and its filter of all topics) */
};
/* Whether the request may do check on the resource named name; asked only during the
 * kgroups_* call that got the context. */
typedef bool (*kgroup_allowed_fn)(void *arg, enum kgroup_check check, struct kgw_str name);

/* The context of one request: its response token, version, and the client's identity
 * (the request header's client id and the connection's peer host, C strings copied when
 * kept; DescribeGroups shows them); allowed (NULL: everything is) answers the checks. */
struct kgroup_ctx {
	void *token;
	int16_t ver;
	const char *client_id;
	const char *client_host;
	kgroup_allowed_fn allowed;
	void *allowed_arg;
};

/* A new coordinator owning no partition. conf and ops are copied. NULL without memory. */
struct kgroups *kgroups_new(const struct kgroups_conf *conf, const struct kgroups_ops *ops, void *arg);
/* Answers every parked request with NOT_COORDINATOR, forgets appends under way (their
 * kgroups_append_done must not come after this), frees everything. NULL ok. */
void kgroups_free(struct kgroups *gs);

/* ---- ownership of __consumer_offsets partitions ---- */
/* This broker became the leader of partition p: its groups are loading (requests get
 * COORDINATOR_LOAD_IN_PROGRESS) until kgroups_load_end. Records read back from the log, in
 * offset order up to its high watermark, are passed to kgroups_load_record (key and value
 * bytes of one record; value NULL for a tombstone): offset commits, group metadata and
 * tombstones, the last of each key winning, as GroupMetadataManager.loadGroupsAndOffsets;
 * those of transactional batches to kgroups_load_txn_record and the markers, in log order, to
 * kgroups_load_marker (below, with TxnOffsetCommit). Malformed records are skipped (returns
 * an error with the reason in eb) and lose nothing else.
 * Calling kgroups_load_begin for a partition already owned or loading reloads it from scratch. */
void kgroups_load_begin(struct kgroups *gs, int32_t p);
int kgroups_load_record(struct kgroups *gs, int32_t p, const uint8_t *key, size_t klen, const uint8_t *value,
			size_t vlen, char *eb, size_t el);
void kgroups_load_end(struct kgroups *gs, int32_t p, int64_t now);
/* This broker is no longer partition p's leader: its groups are dropped from memory, their
 * parked requests answered with NOT_COORDINATOR, appends under way for p answered as failed
 * when they complete. */
void kgroups_unload(struct kgroups *gs, int32_t p);
/* KE_NONE when group g[0..len) is coordinated here, else NOT_COORDINATOR or
 * COORDINATOR_LOAD_IN_PROGRESS (and INVALID_GROUP_ID for an empty id). */
int16_t kgroups_owns(const struct kgroups *gs, const uint8_t *g, size_t len);

/* ---- requests: each is answered through ops->reply exactly once, at once or later ---- */
void kgroups_join(struct kgroups *gs, const struct kgroup_ctx *x, const struct kgw_join_req *q, int64_t now);
void kgroups_sync(struct kgroups *gs, const struct kgroup_ctx *x, const struct kgw_sync_req *q, int64_t now);
void kgroups_heartbeat(struct kgroups *gs, const struct kgroup_ctx *x, const struct kgw_heartbeat_req *q, int64_t now);
void kgroups_leave(struct kgroups *gs, const struct kgroup_ctx *x, const struct kgw_leave_req *q, int64_t now);
void kgroups_commit(struct kgroups *gs, const struct kgroup_ctx *x, const struct kgw_commit_req *q, int64_t now);
void kgroups_offset_fetch(struct kgroups *gs, const struct kgroup_ctx *x, const struct kgw_ofetch_req *q, int64_t now);
void kgroups_describe(struct kgroups *gs, const struct kgroup_ctx *x, const struct kgw_describe_req *q, int64_t now);
void kgroups_list(struct kgroups *gs, const struct kgroup_ctx *x, int64_t now);
void kgroups_delete(struct kgroups *gs, const struct kgroup_ctx *x, const struct kgw_delete_req *q, int64_t now);
void kgroups_offset_delete(struct kgroups *gs, const struct kgroup_ctx *x, const struct kgw_odelete_req *q, int64_t now);

/* ---- transactional offsets (TxnOffsetCommit) ---- */
/* One offset of a TxnOffsetCommit (strings point into the caller's request). */
struct kgroup_txoff {
	struct kgw_str topic;
	int32_t part;
	int64_t offset;
	int32_t leader_epoch;
	struct kgw_str metadata; /* len -1: null */
};
/* The consumer a TxnOffsetCommit v3+ commits for (KIP-447: the producer's
 * send_offsets_to_transaction with the consumer's group metadata; strings point into the
 * caller's request). Generation -1, member id "" and no instance id, the schema's defaults and
 * what v0-2 mean, bind the offsets to no generation. */
struct kgroup_txn_member {
	struct kgw_str member_id; /* len 0 (or -1): "" */
	struct kgw_str instance;  /* group instance id; len -1: null */
	int32_t generation;
};
/* A TxnOffsetCommit's outcome: KE_NONE (stored and pending) or the error of every partition the
 * request did not refuse. */
typedef void (*kgroup_done_fn)(void *arg, int16_t err);
/* Stores offs[0..n) of producer pid at epoch for group (created if unknown, as a simple
 * consumer's), for the entries whose errs[i] is KE_NONE (a metadata too long gets
 * OFFSET_METADATA_TOO_LARGE there), as Kafka does: one transactional batch of the producer
 * appended to the group's offsets partition (ops->append_txn); once it is replicated the
 * offsets are pending until the producer's marker, and done(done_arg, err) is called once
 * (*waiting true; from inside this call only when the append fails at once). who (NULL: bound
 * to nothing, as v0-2) is checked against the group as Kafka's GroupCoordinator
 * validateOffsetCommit checks a transactional commit: when who names a generation (>= 0), a
 * member or an instance, and unless the generation is -1 and the group Empty, an instance known
 * under another member id is FENCED_INSTANCE_ID, a member (or an instance) not in the group
 * UNKNOWN_MEMBER_ID, another generation than the group's ILLEGAL_GENERATION. Returns KE_NONE
 * (*waiting false: nothing to store), or an error for all and done is not called: the group's
 * (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, INVALID_GROUP_ID), those of who's check,
 * INVALID_PRODUCER_EPOCH for an epoch older than one pending. A newer epoch drops what an older
 * epoch of pid left. */
int16_t kgroups_txn_offsets(struct kgroups *gs, const struct kgw_str group, int64_t pid, int16_t epoch,
			    const struct kgroup_txn_member *who, const struct kgroup_txoff *offs, int32_t n, int16_t *errs,
			    kgroup_done_fn done, void *done_arg, bool *waiting, int64_t now);
/* Loading (between kgroups_load_begin and _end): a record of a transactional batch of producer
 * pid at epoch. An offset commit is pending for that producer until its marker; anything else
 * is taken as kgroups_load_record takes it. Errors as kgroups_load_record. */
int kgroups_load_txn_record(struct kgroups *gs, int32_t p, int64_t pid, int16_t epoch, const uint8_t *key,
			    size_t klen, const uint8_t *value, size_t vlen, char *eb, size_t el);
/* Loading: producer pid's marker (epoch, commit or abort) met in the log: its pending offsets
 * are committed (commit, that epoch) or dropped. Those still pending at kgroups_load_end stay
 * pending until a live marker (kgroups_txn_end). */
void kgroups_load_marker(struct kgroups *gs, int32_t p, int64_t pid, int16_t epoch, bool commit);
/* The marker of producer pid's transaction (at epoch) was written to offsets partition p: on
 * commit its pending offsets of that epoch in p's groups become committed (visible at once,
 * and appended again as plain offset records), on abort they are dropped, and those of older
 * epochs of pid (a zombie's) are dropped either way. */
void kgroups_txn_end(struct kgroups *gs, int32_t p, int64_t pid, int16_t epoch, bool commit, int64_t now);

/* An append the core asked for completed with Kafka error err (KE_NONE: replicated). */
void kgroups_append_done(struct kgroups *gs, uint64_t id, int16_t err, int64_t now);
/* Time passes: sessions expire, joins and rebalances complete at their deadlines, offsets
 * past retention expire. Call it at least every 100 ms. */
void kgroups_tick(struct kgroups *gs, int64_t now);

/* ---- reading, for metrics and the cluster page ---- */
struct kgroup_info {
	const char *group;
	const char *state; /* kgstate_name */
	const char *protocol_type;
	int32_t generation;
	int32_t members;
};
/* Calls fn for each group loaded here (any order). */
void kgroups_each(const struct kgroups *gs, void (*fn)(void *arg, const struct kgroup_info *gi), void *arg);
/* Calls fn for each committed offset of group g (any order). Returns false when g is not
 * loaded here. */
bool kgroups_offsets(const struct kgroups *gs, const char *g,
		     void (*fn)(void *arg, const char *topic, int32_t part, int64_t offset), void *arg);

#endif
