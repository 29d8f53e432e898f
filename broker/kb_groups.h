/*
 * kb_groups — the broker's side of the group coordinator: it owns the coordinator's core
 * (broker/group's kgroup, which does no I/O) and gives it what it needs from the broker. It
 * creates __consumer_offsets as Kafka does on the first FindCoordinator (partitions
 * offsets.topic.num.partitions, replication offsets.topic.replication.factor, cleanup.policy
 * compact, compression.type producer, segment.bytes offsets.topic.segment.bytes); it tells the
 * core which of that topic's partitions this broker leads — loading one from its log when this
 * broker becomes its leader (every record from the log start to the log end, as Kafka's
 * GroupMetadataManager.doLoadGroupsAndOffsets reads to the log end: a new leader's log is never
 * truncated, its records past the high watermark become committed; a transactional batch's
 * records and the transaction markers go to the core as such), unloading it when the
 * leadership goes (reading it with kb_clog, which the transaction coordinator shares); it
 * carries out the core's appends (kb_clog) as acks=all appends through the replica manager
 * (one uncompressed batch each, TxnOffsetCommit's a transactional batch of its producer;
 * deadline offsets.commit.timeout.ms; completed when the high
 * watermark passes the batch and, under a flush policy, the fsync its append started is
 * done; failed on the deadline or a lost leadership) and reports
 * each with kgroups_append_done from a deferred event (never from inside the append or the
 * replica manager's callbacks); and it passes the clock (kb_groups_tick). The requests and their
 * answers are broker/api's (kapi_group), which gives the reply callback at start.
 *
 * Leadership is followed from the role of the partition's replica in the replica manager
 * (krepl LEADER or not), checked after every partition state the metadata cache applies
 * (kb_part_apply_state, topic deletion) and again on every tick, so a role change that comes
 * another way (a failed log going offline) is seen too. As in Kafka (Partition.makeLeader's
 * isNewLeader), only a change from not leading to leading loads: a new leader epoch while this
 * broker stays the leader (the controller shrinking the ISR) keeps the loaded groups.
 *
 * Loading reads the whole partition on the loop thread, in bounded chunks; a compacted offsets
 * partition holds one record per live key, so it stays small.
 *
 * The loop thread runs all of it. struct broker holds it (b->groups); every function is a no-op
 * when it is not started (the unit tests' brokers).
 */
#ifndef SAMSA_KB_GROUPS_H
#define SAMSA_KB_GROUPS_H

#include <stdbool.h>
#include <stdint.h>

struct broker;
struct kgroups;

#define KB_OFFSETS_TOPIC "__consumer_offsets"

/* The core's reply callback (kgroups_ops.reply; arg is the broker). */
typedef void (*kb_groups_reply_fn)(void *arg, void *token, int16_t api, int16_t ver, const void *resp);

/* Starts the coordinator of b with reply as the core's answer path: b->groups. 0, or ERR_NOMEM. */
int kb_groups_start(struct broker *b, kb_groups_reply_fn reply);
/* Stops it (at shutdown, before the connections are freed): every parked request is answered
 * (NOT_COORDINATOR) through reply, appends under way are forgotten. NULL-safe, idempotent. */
void kb_groups_stop(struct broker *b);

/* The core to hand requests to (NULL when not started). */
struct kgroups *kb_groups_core(struct broker *b);

/* KE_NONE when __consumer_offsets exists (*nparts its partition count); otherwise
 * COORDINATOR_NOT_AVAILABLE, and its creation is started when enough brokers are live
 * (offsets.topic.replication.factor) and none is under way. */
int16_t kb_groups_offsets_topic(struct broker *b, int32_t *nparts);

/* The state of __consumer_offsets partition p changed here (LeaderAndIsr applied, replica
 * removed): load or unload it if this broker's leadership of it changed. */
void kb_groups_part_changed(struct broker *b, int32_t p);
/* A flush-policy fsync of log l is done up to offset (the logs' flushed callback, relayed by
 * broker/api's kapi_produce_flushed): appends waiting for it complete. */
struct klog;
void kb_groups_flushed(struct broker *b, const struct klog *l, int64_t offset);
/* The marker of producer pid's transaction (epoch, commit or abort) was written to offsets
 * partition p here: its transactional offsets there are committed or dropped. */
void kb_groups_txn_marker(struct broker *b, int32_t p, int64_t pid, int16_t epoch, bool commit);
/* Time passes: the core's tick, and every partition's leadership checked again. */
void kb_groups_tick(struct broker *b, int64_t now);

#endif
