/*
 * kfw — the client side of the two Kafka APIs a follower speaks to its leader: Fetch (API 1,
 * version 11) and OffsetForLeaderEpoch (API 23, version 3). It encodes the requests (request
 * header v1: api key, version, correlation id, client id) and decodes the responses (response
 * header v0: correlation id), and splits a partition's fetched records into whole batches with
 * kbatch (the one decoder of batch bytes). Schemas: apache/kafka
 * clients/src/main/resources/common/message/{Fetch,OffsetForLeaderEpoch}{Request,Response}.json.
 * Both versions are non-flexible (Fetch v12+ would add diverging epochs; without them the
 * follower finds divergence with OffsetForLeaderEpoch, KIP-101/279).
 *
 * The decoders take one whole response frame (without its 4-byte length, as net_conn hands it)
 * and distrust it: every count is capped and checked against the bytes left before anything is
 * allocated, strings and byte fields are bounded by the frame, and a fetched records field is
 * cut at its last whole batch that passes kbatch_validate (a Kafka leader cuts the last batch
 * of a response at its size limit: that partial tail is dropped, never handed on).
 * Nothing here does I/O or keeps state; it lives in broker/wire/ (library samsa_broker_wire),
 * which depends on common/ and, for kbatch alone, broker/log/.
 */
#ifndef SAMSA_KFW_H
#define SAMSA_KFW_H

#include <stddef.h>
#include <stdint.h>

struct wbuf;

#define KFW_API_FETCH 1
#define KFW_API_OFFSET_FOR_LEADER_EPOCH 23
#define KFW_FETCH_VERSION 11
#define KFW_EPOCH_VERSION 3

/* Caps on what a response may declare (far above what a leader sends to one follower). */
#define KFW_MAX_TOPICS 100000
#define KFW_MAX_PARTS 1000000 /* per response, all topics together */
#define KFW_MAX_TOPIC_LEN 32767

/* ---- Fetch ---- */

/* One partition to fetch. Consecutive entries with the same topic form one topic of the
 * request: give them sorted (or at least grouped) by topic. */
struct kfw_fetch_part {
	const char *topic;
	int32_t partition;
	int32_t current_leader_epoch; /* KIP-320: the leader fences a stale one */
	int64_t fetch_offset;
	int64_t log_start_offset; /* the follower's; -1 when not told */
	int32_t partition_max_bytes;
};

struct kfw_fetch_req {
	int32_t replica_id; /* the follower's broker id (a consumer would send -1) */
	int32_t max_wait_ms;
	int32_t min_bytes;
	int32_t max_bytes;
	int8_t isolation_level; /* 0: read uncommitted (what followers read) */
	const struct kfw_fetch_part *parts;
	size_t n_parts;
};

/*
 * Appends one whole Fetch v11 request frame (4-byte length included) to w: a full fetch
 * (session id 0, epoch -1), no forgotten topics, rack "". Returns 0, or ERR_INVAL (a NULL or
 * over-long topic, too many partitions) / w's sticky error; w may then hold a partial frame.
 */
int kfw_fetch_encode(struct wbuf *w, int32_t corr, const char *client_id, const struct kfw_fetch_req *req);

/* A whole batch of a fetched records field, as its header says. */
struct kfw_batch {
	int64_t base_offset, last_offset;
	int32_t epoch; /* partitionLeaderEpoch */
};

/* One partition of a Fetch response. Pointers go into the decoded frame (valid while it is). */
struct kfw_fetch_presp {
	const uint8_t *topic; /* not NUL-terminated */
	size_t topic_len;
	int32_t partition;
	int16_t error; /* Kafka's error code */
	int64_t high_watermark, last_stable_offset, log_start;
	int32_t preferred_read_replica;
	const uint8_t *records; /* the whole valid batches only, back to back */
	size_t records_len;
	size_t dropped; /* bytes of the field after them (a partial last batch, or a bad batch on) */
	int bad;	/* 0, or why a batch was refused (ERR_CORRUPT: framing or CRC; ERR_VERSION: not
			 * magic 2; ERR_PROTO: invalid content); a partial last batch is not bad */
	size_t first_batch, n_batches; /* the kfw_fetch_resp.batches of records */
};

struct kfw_fetch_resp {
	int32_t corr;
	int32_t throttle_ms;
	int16_t error; /* top-level (fetch sessions) */
	int32_t session_id;
	struct kfw_fetch_presp *parts;
	size_t n_parts;
	struct kfw_batch *batches;
	size_t n_batches;
};

/*
 * Decodes a Fetch v11 response frame p[0..len) (from the correlation id on) into *out, which
 * the caller frees with kfw_fetch_resp_free (also after a failure; *out is zeroed first).
 * Returns 0; ERR_TRUNC / ERR_CORRUPT / ERR_TOOBIG / ERR_PROTO for a malformed frame (trailing
 * bytes included), with the reason in eb; ERR_NOMEM. A bad batch is not a failure of the
 * frame: it ends that partition's records (see kfw_fetch_presp.bad).
 */
int kfw_fetch_decode(const uint8_t *p, size_t len, struct kfw_fetch_resp *out, char *eb, size_t el);
void kfw_fetch_resp_free(struct kfw_fetch_resp *r); /* NULL ok; leaves it zeroed */

/* ---- OffsetForLeaderEpoch ---- */

/* One partition to ask about; grouped by topic as for Fetch. */
struct kfw_epoch_part {
	const char *topic;
	int32_t partition;
	int32_t current_leader_epoch;
	int32_t leader_epoch; /* the epoch whose end offset is asked for */
};

/* Appends one whole OffsetForLeaderEpoch v3 request frame (length included) to w. Returns as
 * kfw_fetch_encode. */
int kfw_epoch_encode(struct wbuf *w, int32_t corr, const char *client_id, int32_t replica_id,
		     const struct kfw_epoch_part *parts, size_t n_parts);

struct kfw_epoch_presp {
	const uint8_t *topic; /* into the frame, not NUL-terminated */
	size_t topic_len;
	int16_t error;
	int32_t partition;
	int32_t leader_epoch; /* -1: undefined */
	int64_t end_offset;   /* -1: undefined */
};

struct kfw_epoch_resp {
	int32_t corr;
	int32_t throttle_ms;
	struct kfw_epoch_presp *parts;
	size_t n_parts;
};

/* Decodes an OffsetForLeaderEpoch v3 response frame; as kfw_fetch_decode. */
int kfw_epoch_decode(const uint8_t *p, size_t len, struct kfw_epoch_resp *out, char *eb, size_t el);
void kfw_epoch_resp_free(struct kfw_epoch_resp *r); /* NULL ok; leaves it zeroed */

#endif
