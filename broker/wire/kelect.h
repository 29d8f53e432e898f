/*
 * kelect — the client side of the two Kafka APIs a leader-election tool speaks: Metadata
 * (API 3, version 1: the first with the controller's id) to find the controller, and
 * ElectLeaders (API 43, version 1: the first with an election type, KIP-460) sent to it.
 * It encodes the requests (request header v1) and decodes the responses (response header v0).
 * Schemas: apache/kafka clients/src/main/resources/common/message/
 * {Metadata,ElectLeaders}{Request,Response}.json; both versions are non-flexible.
 *
 * The decoders take one whole response frame (without its 4-byte length) and distrust it:
 * every count is capped and checked against the bytes left before anything is allocated,
 * strings are bounded by the frame, trailing bytes are an error. kelect_frame_len checks a
 * frame's length prefix before the caller allocates for it. Nothing here does I/O or keeps
 * state; it lives in broker/wire/ (library samsa_broker_wire).
 */
#ifndef SAMSA_KELECT_H
#define SAMSA_KELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wbuf;

#define KELECT_API_METADATA 3
#define KELECT_API_ELECT_LEADERS 43
#define KELECT_METADATA_VERSION 1
#define KELECT_ELECT_VERSION 1

/* Caps on what a response may declare. */
#define KELECT_MAX_FRAME (64u << 20) /* bytes of one response frame */
#define KELECT_MAX_BROKERS 100000
#define KELECT_MAX_TOPICS 100000
#define KELECT_MAX_PARTS 1000000 /* per response, all topics together */
#define KELECT_MAX_STR 32767	 /* topic names, hosts, error messages */

/* ElectLeaders' election_type (org.apache.kafka.common.ElectionType). */
#define KELECT_PREFERRED 0
#define KELECT_UNCLEAN 1

/*
 * Reads the 4-byte big-endian length prefix of a response frame into *len. Returns 0, or
 * ERR_CORRUPT (negative, or too short for a correlation id) / ERR_TOOBIG (over
 * KELECT_MAX_FRAME) with the reason in eb: the caller must not allocate then.
 */
int kelect_frame_len(const uint8_t hdr[4], size_t *len, char *eb, size_t el);

/* ---- Metadata v1 ---- */

/* Appends one whole Metadata v1 request frame (length included) asking for no topic (an empty
 * list: brokers and controller only). Returns 0 or w's sticky error. */
int kelect_metadata_encode(struct wbuf *w, int32_t corr, const char *client_id);

struct kelect_broker {
	int32_t id;
	const uint8_t *host; /* into the frame, not NUL-terminated */
	size_t host_len;
	int32_t port;
};

struct kelect_metadata {
	int32_t corr;
	int32_t controller_id; /* -1: none known to that broker */
	struct kelect_broker *brokers;
	size_t n_brokers;
	size_t n_topics; /* topics are read (bounded) and skipped */
};

/*
 * Decodes a Metadata v1 response frame p[0..len) (from the correlation id on) into *out, which
 * the caller frees with kelect_metadata_free (also after a failure; *out is zeroed first).
 * Pointers in it go into p. Returns 0; ERR_TRUNC / ERR_CORRUPT / ERR_TOOBIG / ERR_PROTO for a
 * malformed frame (trailing bytes included), with the reason in eb; ERR_NOMEM.
 */
int kelect_metadata_decode(const uint8_t *p, size_t len, struct kelect_metadata *out, char *eb, size_t el);
void kelect_metadata_free(struct kelect_metadata *m); /* NULL ok; leaves it zeroed */

/* ---- ElectLeaders v1 ---- */

/* One partition to elect. Consecutive entries with the same topic form one topic of the
 * request: give them grouped by topic. */
struct kelect_tp {
	const char *topic;
	int32_t partition;
};

/*
 * Appends one whole ElectLeaders v1 request frame (length included) to w: election type
 * KELECT_PREFERRED or KELECT_UNCLEAN, the partitions tps[0..n), or every partition of the
 * cluster (a null list) when all is true (tps is then ignored), and the time the controller
 * may take. Returns 0, or ERR_INVAL (a bad type, a NULL or over-long topic, too many
 * partitions) / w's sticky error; w may then hold a partial frame.
 */
int kelect_encode(struct wbuf *w, int32_t corr, const char *client_id, int8_t type, bool all,
		  const struct kelect_tp *tps, size_t n, int32_t timeout_ms);

/* One partition's result. Pointers go into the decoded frame. */
struct kelect_result {
	const uint8_t *topic; /* not NUL-terminated */
	size_t topic_len;
	int32_t partition;
	int16_t error; /* Kafka's error code; 0: elected */
	const uint8_t *message; /* NULL when the message is null */
	size_t message_len;
};

struct kelect_resp {
	int32_t corr;
	int32_t throttle_ms;
	int16_t error; /* top-level (v1) */
	struct kelect_result *parts;
	size_t n_parts;
};

/* Decodes an ElectLeaders v1 response frame; as kelect_metadata_decode. */
int kelect_decode(const uint8_t *p, size_t len, struct kelect_resp *out, char *eb, size_t el);
void kelect_resp_free(struct kelect_resp *r); /* NULL ok; leaves it zeroed */

#endif
