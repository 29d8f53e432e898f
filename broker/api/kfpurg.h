/*
 * kfpurg — the fetch purgatory (Kafka's DelayedFetch purgatory): Fetch requests long-polling
 * for min_bytes, kept decoded (kwfetch_req: their partitions and positions, min_bytes) with a
 * deadline and the caller's context (the response slot), and indexed by every partition they
 * wait on. When a partition changes (an append, a high watermark move, a role change:
 * kfpurg_touch), only the fetches waiting on it become ready to be retried; a deadline makes a
 * fetch ready too (kfpurg_due), to be answered with what there is. Nothing is re-decoded and
 * fetches on other partitions are not looked at.
 *
 * A wait is in one of four places:
 *   WAITING --touch/due--> READY --kfpurg_begin--> BATCH --kfpurg_pop--> OUT
 *   OUT --kfpurg_rewait--> WAITING (READY when touched while it was out) | kfpurg_remove
 * A touch while OUT (its own retry moved a partition it waits on) is remembered, so it is not
 * lost. The index holds every wait until kfpurg_remove, wherever it is.
 *
 * It lives in broker/api rather than broker/replica because what it holds is the Kafka
 * protocol's (decoded requests, response slots), which the replica manager knows nothing of;
 * the manager only says which partition changed (krm_ops.wake). It does no I/O and knows no
 * broker, so its unit test drives it alone. Loop thread.
 */
#ifndef SAMSA_KFPURG_H
#define SAMSA_KFPURG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kfpurg;
struct kfpurg_wait;
struct kwfetch_req;

/* Counters (for /metrics and tests). */
struct kfpurg_stats {
	uint64_t added;	  /* fetches that started waiting */
	uint64_t touched; /* waits made ready by a change of a partition they wait on */
	uint64_t expired; /* waits made ready by their deadline */
	size_t waiting;	  /* waits held now, wherever they are */
};

/* A new, empty purgatory; NULL without memory. */
struct kfpurg *kfpurg_new(void);
/* Frees pg and every wait still in it (drop, may be NULL, is called with each one's arg
 * first). NULL ok. */
void kfpurg_free(struct kfpurg *pg, void (*drop)(void *arg));

/* Holds the fetch *req (moved in: *req is zeroed, the purgatory frees it) until deadline_ms,
 * with the caller's arg, indexed by each of its partitions (a topic flagged bad is not
 * indexed: no append can reach it). Returns the wait (WAITING), or NULL without memory (*req is
 * then untouched and stays the caller's). */
struct kfpurg_wait *kfpurg_add(struct kfpurg *pg, struct kwfetch_req *req, int64_t deadline_ms, void *arg);
/* Unindexes and frees w (its request too), wherever it is. */
void kfpurg_remove(struct kfpurg *pg, struct kfpurg_wait *w);

/* topic-part changed: its WAITING fetches become READY (an OUT one is marked). Returns how many
 * became ready. */
size_t kfpurg_touch(struct kfpurg *pg, const char *topic, int32_t part);
/* The WAITING fetches whose deadline is at or before now become READY. Returns how many. */
size_t kfpurg_due(struct kfpurg *pg, int64_t now);
/* Takes every READY wait into the batch that kfpurg_pop hands out (later touches go to READY
 * again, for the next batch). */
void kfpurg_begin(struct kfpurg *pg);
/* The next wait of the batch (now OUT), or NULL when the batch is done. The caller retries it
 * and then calls kfpurg_remove or kfpurg_rewait. Waits removed meanwhile simply leave it. */
struct kfpurg_wait *kfpurg_pop(struct kfpurg *pg);
/* An OUT wait not answered yet goes back to waiting (READY if it was touched while out). */
void kfpurg_rewait(struct kfpurg *pg, struct kfpurg_wait *w);

/* A wait's request, deadline and arg. */
const struct kwfetch_req *kfpurg_req(const struct kfpurg_wait *w);
int64_t kfpurg_deadline(const struct kfpurg_wait *w);
void *kfpurg_arg(const struct kfpurg_wait *w);
/* Every wait, wherever it is, in no particular order: the first, then the one after w (NULL at
 * the end). Removing w while walking: take the next first. */
struct kfpurg_wait *kfpurg_first(const struct kfpurg *pg);
struct kfpurg_wait *kfpurg_next(const struct kfpurg_wait *w);

struct kfpurg_stats kfpurg_stats(const struct kfpurg *pg);

#endif
