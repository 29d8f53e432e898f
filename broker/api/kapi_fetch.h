/*
 * kapi_fetch — Fetch (API 1, v4-11) for consumers and followers: per partition the replica
 * manager's read (krm_fetch: a follower's fetch also moves its log end, the ISR and the high
 * watermark; a consumer reads up to the high watermark), the records sent as file ranges of the
 * segments (sendfile), bounded by max_bytes with KIP-74's first batch. No fetch sessions: every
 * fetch is a full one. The long poll (min_bytes, max_wait_ms) is kapi's: it calls this again
 * from a kwait. Loop thread.
 */
#ifndef SAMSA_KAPI_FETCH_H
#define SAMSA_KAPI_FETCH_H

#include <stdint.h>

struct broker;
struct kout;
struct kreq;
struct kwfetch_req;

/* Writes the body of a Fetch response of version ver to the decoded request fq into o (the
 * records as file ranges). terr (NULL: none) holds per topic of fq an error decided before
 * (the authorizer's refusal), answered for each of its partitions instead of reading them.
 * Returns the record bytes it holds. */
int64_t kapi_fetch_answer(struct broker *b, int16_t ver, const struct kwfetch_req *fq, const int16_t *terr,
			  struct kout *o);
/* Builds the Fetch response to q into o and sets *max_wait and *min_bytes from the request.
 * Returns the record bytes the response holds, or < 0 on a malformed request. */
int64_t kapi_fetch_build(struct broker *b, struct kreq *q, struct kout *o, int32_t *max_wait, int32_t *min_bytes);

#endif
