/*
 * kapi_fetch — Fetch (API 1, v4-11) for consumers and followers: per partition the replica
 * manager's read (krm_fetch: a follower's fetch also moves its log end, the ISR and the high
 * watermark; a consumer reads up to the high watermark), the records sent as file ranges of the
 * segments (sendfile), bounded by max_bytes with KIP-74's first batch. No fetch sessions: every
 * fetch is a full one. The long poll (min_bytes, max_wait_ms): a fetch that finds too few
 * bytes waits decoded in the fetch purgatory (kfpurg), indexed by its partitions, and is retried
 * only when one of them changes (kapi_fetch_touch), or answered at its deadline. Loop thread.
 */
#ifndef SAMSA_KAPI_FETCH_H
#define SAMSA_KAPI_FETCH_H

#include <stdbool.h>
#include <stdint.h>

struct broker;
struct kconn;
struct kout;
struct kresp;
struct kreq;
struct kwfetch_req;

/* Writes the body of a Fetch response of version ver to the decoded request fq into o (the
 * records as file ranges). terr (NULL: none) holds per topic of fq an error decided before
 * (the authorizer's refusal), answered for each of its partitions instead of reading them.
 * Returns the record bytes it holds; *now (may be NULL) says whether it must be sent as it is,
 * without waiting for min_bytes: no partition was authorized, or one read has an error. */
int64_t kapi_fetch_answer(struct broker *b, int16_t ver, const struct kwfetch_req *fq, const int16_t *terr,
			  struct kout *o, bool *now);
/* Handles Fetch q, answered into slot resp. Returns 0 (answered in o), 2 (held in the fetch
 * purgatory, b->fpurg, decoded: kapi_fetch_retry answers it into resp once min_bytes are there,
 * a partition has an error, or at max_wait_ms), or < 0 (malformed, or no memory). */
int kapi_fetch_request(struct broker *b, struct kreq *q, struct kout *o, struct kresp *resp);
/* topic-part changed (krm_ops.wake: an append, a HW move, a role change): the fetches waiting
 * on it are retried at the next kapi_fetch_retry. Safe from inside the replica manager. */
void kapi_fetch_touch(struct broker *b, const char *topic, int32_t part);
/* Retries the waiting fetches touched since the last call and answers those at their deadline
 * (with what there is). Not from inside the replica manager (it reads through it). */
void kapi_fetch_retry(struct broker *b);
/* The same as if the clock read now (tests: INT64_MAX answers every waiting fetch). */
void kapi_fetch_retry_at(struct broker *b, int64_t now);
/* Connection c is closing: its waiting fetches are forgotten. */
void kapi_fetch_conn_gone(struct kconn *c);
/* Frees the purgatory and every fetch in it (at shutdown, connections closed). */
void kapi_fetch_free_all(struct broker *b);

#endif
