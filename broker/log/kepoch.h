/*
 * kepoch — a partition's leader-epoch cache (KIP-101, KIP-279): the ordered list of
 * (leader epoch, start offset) pairs, one per epoch that wrote records to (or led) the log,
 * and the rule that answers OffsetForLeaderEpoch from it. In memory only: its durable form is
 * the `leader-epoch-checkpoint` file (kckpt.h), which the caller rewrites after every change.
 *
 * Invariants: epochs strictly increase along the list, start offsets never decrease, every
 * epoch and offset is >= 0. Loop thread only (it has no locks); one per partition replica.
 */
#ifndef SAMSA_KEPOCH_H
#define SAMSA_KEPOCH_H

#include <stddef.h>
#include <stdint.h>

#define KEPOCH_UNDEFINED (-1) /* Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET */
#define KEPOCH_MAX_ENTRIES 65536

struct kepoch_entry {
	int32_t epoch;
	int64_t start_offset;
};

struct kepoch;

/* An empty cache; NULL when out of memory. Free with kepoch_free (NULL ok). */
struct kepoch *kepoch_new(void);
void kepoch_free(struct kepoch *c);

/* Replaces the content with n entries (copied; e stays the caller's). 0, or ERR_CORRUPT (the
 * entries break the invariants above: the cache is then left empty), ERR_TOOBIG (n over
 * KEPOCH_MAX_ENTRIES), ERR_NOMEM. */
int kepoch_load(struct kepoch *c, const struct kepoch_entry *e, size_t n);

/* Records that epoch starts at start_offset (a new leader at its log end; a follower appending
 * the first batch of an epoch). An epoch equal to the latest one changes nothing. 0, or
 * ERR_RANGE (epoch below the latest, or start_offset below the latest start: the caller broke
 * an invariant), ERR_TOOBIG, ERR_NOMEM. */
int kepoch_assign(struct kepoch *c, int32_t epoch, int64_t start_offset);

/* The log was truncated to end_offset (offsets >= end_offset are gone): entries starting at or
 * after it are removed (KIP-101). Returns whether anything changed. */
int kepoch_truncate_end(struct kepoch *c, int64_t end_offset);

/* The log start moved up to start_offset (retention, DeleteRecords): entries wholly below it go
 * and the one that covers it now starts there. Returns whether anything changed. */
int kepoch_truncate_start(struct kepoch *c, int64_t start_offset);

/* The latest epoch, KEPOCH_UNDEFINED when empty. */
int32_t kepoch_latest(const struct kepoch *c);

/* The start offset of epoch, KEPOCH_UNDEFINED if the cache has no entry for exactly it. */
int64_t kepoch_start_of(const struct kepoch *c, int32_t epoch);

/*
 * OffsetForLeaderEpoch (KIP-101, KIP-279), for a log whose end offset is log_end: the largest
 * epoch <= requested in *epoch, and in *end_offset the offset where it ends (the start of the
 * next epoch, or log_end for the latest one). A requested epoch below every entry answers
 * (requested, start of the first entry); requested above the latest, or the cache empty, or
 * requested KEPOCH_UNDEFINED answers (KEPOCH_UNDEFINED, KEPOCH_UNDEFINED) — Kafka's rules.
 */
void kepoch_end_offset_for(const struct kepoch *c, int32_t requested, int64_t log_end, int32_t *epoch,
			   int64_t *end_offset);

/* The entries, oldest first (valid until the next change); *n gets their number. */
const struct kepoch_entry *kepoch_entries(const struct kepoch *c, size_t *n);

#endif
