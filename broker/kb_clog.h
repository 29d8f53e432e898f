/*
 * kb_clog — what the broker's two coordinators share about their compacted internal topics
 * (__consumer_offsets for the group coordinator, kb_groups; __transaction_state for the
 * transaction coordinator, kb_txns): creating the topic on first need (with the settings each
 * coordinator gives); appending a coordinator's records to one of its
 * partitions as acks=all appends through the replica manager (one uncompressed batch each,
 * with a deadline; completed when the high watermark passes the batch and, under a flush
 * policy, the fsync its append started is done; failed on the deadline or a lost leadership),
 * each reported through the done callback from a deferred event (never from inside the append
 * or the replica manager's callbacks); and reading a partition back when this broker becomes
 * its leader: every record from the log start to the log end (as Kafka's coordinators read to
 * the log end: a new leader's log is never truncated, its records past the high watermark
 * become committed), in bounded chunks, on the loop thread — a compacted partition holds one
 * record per live key, so it stays small. Compressed batches are skipped (the coordinators
 * write none); transaction markers are told to whoever asks (kb_clog_load_ex: the group
 * coordinator, whose TxnOffsetCommit batches are transactional).
 *
 * The loop thread runs all of it. One struct kb_clog per coordinator, owned by it.
 */
#ifndef SAMSA_KB_CLOG_H
#define SAMSA_KB_CLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct broker;
struct klog;
struct kb_clog;
struct kb_tconf;

/* A record: key and value bytes (value NULL: a tombstone), valid during the call only. Loading
 * also tells the batch's producer when it is a transactional one (producer_id -1 otherwise). */
struct kb_clog_rec {
	const uint8_t *key;
	size_t klen;
	const uint8_t *value;
	size_t vlen;
	int64_t producer_id;
	int16_t producer_epoch;
};

/* An append completed: err KE_NONE (replicated and, under a flush policy, flushed) or the
 * Kafka error of its failure. Runs from the deferred event. */
typedef void (*kb_clog_done_fn)(void *arg, uint64_t id, int16_t err);

/* A writer of topic's partitions reporting through done(arg, ...). NULL without memory. */
struct kb_clog *kb_clog_new(struct broker *b, const char *topic, kb_clog_done_fn done, void *arg);
/* Forgets the appends under way (they leave the purgatory unanswered; done is not called). NULL
 * ok. Call it before the replica manager is closed. */
void kb_clog_free(struct kb_clog *c);
/* Appends recs[0..n) as one batch to partition part with acks=all, deadline timeout_ms.
 * KE_NONE: under way, done(id) follows later; any other Kafka error: it failed at once. */
int16_t kb_clog_append(struct kb_clog *c, int32_t part, const struct kb_clog_rec *recs, int32_t n, int32_t timeout_ms,
		       uint64_t id);
/* kb_clog_append as one transactional batch of producer pid at epoch (base sequence -1: the
 * coordinator's own append, no sequence check); the partition's producer state opens the
 * producer's transaction there until its marker. pid -1: kb_clog_append. */
int16_t kb_clog_append_txn(struct kb_clog *c, int32_t part, const struct kb_clog_rec *recs, int32_t n,
			   int32_t timeout_ms, uint64_t id, int64_t pid, int16_t epoch);
/* The coordinator's topic, created on first need as Kafka's coordinators do: KE_NONE with
 * *nparts its partition count when it exists; else KE_COORDINATOR_NOT_AVAILABLE (the clients
 * retry), having started its creation (nparts_new partitions, replication factor rf, confs)
 * unless one is under way or fewer than rf brokers live (then a warning naming rf_key, at most
 * one per 10 s, as Kafka words it: never a smaller factor than configured). what names the
 * topic in that warning ("offsets topic"). created is the coordinator's completion callback,
 * which calls kb_clog_topic_created on its kb_clog if it still has one. */
struct kb_clog_topic_spec {
	int32_t nparts;
	int32_t rf;
	const char *rf_key;
	const char *what;
	const struct kb_tconf *confs;
	int32_t nconfs;
};
int16_t kb_clog_topic(struct kb_clog *c, const struct kb_clog_topic_spec *spec,
		      void (*created)(struct broker *b, void *ctx, int16_t err, const char *msg), int32_t *nparts);
/* A creation kb_clog_topic started ended (err a Kafka error, msg may be NULL): logged, and
 * another may start. c NULL: nothing. */
void kb_clog_topic_created(struct kb_clog *c, int16_t err, const char *msg);

/* A flush-policy fsync of log l is done up to offset: appends waiting for it complete. */
void kb_clog_flushed(struct kb_clog *c, const struct klog *l, int64_t offset);

/* Reads partition p of topic (this broker its leader) from the log start to the log end,
 * calling rec(arg, record, offset) for every record of its data batches; rec returns 0, or
 * non-zero to count the record as skipped. Fills *epoch with the leader epoch, *end with the
 * log end, and counts. 0, or ERR_INVAL when this broker has no leader replica of it (nothing
 * read); a read error stops the reading, logged, with what was read kept. */
struct kb_clog_load {
	int64_t records; /* passed to rec and taken */
	int64_t skipped; /* refused by rec, or in batches not decoded */
	int64_t end;	 /* the log end offset read up to */
	int32_t epoch;	 /* the leader epoch */
};
int kb_clog_load(struct broker *b, const char *topic, int32_t p,
		 int (*rec)(void *arg, const struct kb_clog_rec *r, int64_t offset), void *arg,
		 struct kb_clog_load *out);
/* kb_clog_load telling marker(arg, ...) of every transaction marker (control batch) too, in
 * log order with the records (marker NULL: kb_clog_load). */
typedef void (*kb_clog_marker_fn)(void *arg, int64_t pid, int16_t epoch, bool commit, int64_t offset);
int kb_clog_load_ex(struct broker *b, const char *topic, int32_t p,
		    int (*rec)(void *arg, const struct kb_clog_rec *r, int64_t offset), kb_clog_marker_fn marker,
		    void *arg, struct kb_clog_load *out);

#endif
