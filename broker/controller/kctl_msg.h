/*
 * kctl_msg — the codec of the controller's channel to brokers: frames of proto/controller.proto
 * messages <-> struct kctl_msg. The only code that reads the channel's bytes.
 *
 * Wire format of a frame (DESIGN.md, Internal protocol):
 *   u32 big-endian length (of what follows) | u8 type (enum kctl_type) | protobuf body
 * A frame is at most KCTL_MAX_FRAME bytes after its length. Decoding distrusts its input: the
 * length is checked before anything is allocated, a type outside enum kctl_type is refused by
 * name, protobuf-c unpacks under a memory budget proportional to the body (so a body of many tiny
 * fields cannot cost many times its size), and every count and string is capped (KCTL_MAX_*)
 * before the message is handed on. Encoding refuses what decoding would refuse, so what one end
 * sends the other accepts.
 *
 * Pure functions, no I/O, any thread.
 */
#ifndef SAMSA_KCTL_MSG_H
#define SAMSA_KCTL_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wbuf;

#define KCTL_VERSION 1u			  /* the channel protocol version this build speaks */
#define KCTL_MAX_FRAME (8u << 20)	  /* type + body */
#define KCTL_MAX_PARTITIONS 262144u	  /* partition states, stops or errors of one message */
#define KCTL_MAX_REPLICAS 1024u		  /* isr, replicas, offline replicas of one partition */
#define KCTL_MAX_BROKERS 65536u		  /* live brokers / live leaders of one message */
#define KCTL_MAX_NAME 255u		  /* bytes of a topic, host or rack */

/* Kafka error codes the channel itself gives (others come from the broker's callbacks). */
#define KCTL_ERR_NONE 0
#define KCTL_ERR_UNKNOWN_SERVER_ERROR (-1)
#define KCTL_ERR_STALE_CONTROLLER_EPOCH 11
#define KCTL_ERR_UNSUPPORTED_VERSION 35
#define KCTL_ERR_STALE_BROKER_EPOCH 77

/* The 1-byte message type of a frame. Requests are odd, their response is the next number. */
enum kctl_type {
	KCTL_LEADER_AND_ISR = 1,
	KCTL_LEADER_AND_ISR_RESP = 2,
	KCTL_UPDATE_METADATA = 3,
	KCTL_UPDATE_METADATA_RESP = 4,
	KCTL_STOP_REPLICA = 5,
	KCTL_STOP_REPLICA_RESP = 6,
	KCTL_HEARTBEAT = 7,
	KCTL_HEARTBEAT_RESP = 8
};
#define KCTL_TYPE_MAX 8

/* "LeaderAndIsr", ..., or "unknown" for a value outside enum kctl_type. */
const char *kctl_type_name(int type);
static inline bool kctl_type_is_request(int type)
{
	return type >= KCTL_LEADER_AND_ISR && type <= KCTL_TYPE_MAX && (type & 1);
}

/* One partition's state (PartitionState). Arrays and strings are borrowed (see struct kctl_msg). */
struct kctl_part {
	const char *topic; /* 1..KCTL_MAX_NAME bytes */
	int32_t partition; /* >= 0 */
	int32_t controller_epoch;
	int32_t leader; /* -1: none */
	int32_t leader_epoch;
	int32_t zk_version;
	const int32_t *isr;
	size_t n_isr;
	const int32_t *replicas;
	size_t n_replicas;
	const int32_t *offline; /* UpdateMetadata's offline replicas */
	size_t n_offline;
	bool is_new; /* LeaderAndIsr */
};

/* A live leader's data-plane address (LeaderAndIsr). */
struct kctl_endpoint {
	int32_t id;
	const char *host; /* 0..KCTL_MAX_NAME bytes */
	int32_t port;
};

/* A live broker (UpdateMetadata). */
struct kctl_broker {
	int32_t id;
	const char *host;
	int32_t port;
	const char *rack; /* "" or NULL (encoding) = none */
	int32_t control_port;
};

/* A partition named by a StopReplica. */
struct kctl_tp {
	const char *topic;
	int32_t partition;
};

/* A per-partition answer (LeaderAndIsr and StopReplica responses). */
struct kctl_part_err {
	const char *topic;
	int32_t partition;
	int32_t error_code; /* a Kafka error code */
};

/*
 * A decoded message or one to encode (value type). Which fields count depends on type:
 *   every type              version, correlation_id
 *   requests                controller_id, controller_epoch, broker_epoch (the receiver's, -1:
 *                           unchecked)
 *   responses               error_code (for the whole request)
 *   LEADER_AND_ISR          parts, leaders
 *   UPDATE_METADATA         brokers, parts
 *   STOP_REPLICA            delete_partitions, stops
 *   LEADER_AND_ISR_RESP, STOP_REPLICA_RESP   errors
 *   HEARTBEAT_RESP          broker_id, and controller_epoch / broker_epoch: the answering
 *                           broker's highest seen controller epoch and its own broker epoch
 * When encoding, every pointer is the caller's and NULL arrays go with a 0 count. A decoded
 * message owns what its pointers point to through priv: release it with kctl_msg_clear().
 */
struct kctl_msg {
	enum kctl_type type;
	uint32_t version;
	int32_t correlation_id;
	int32_t controller_id;
	int32_t controller_epoch;
	int64_t broker_epoch;
	int32_t error_code;
	int32_t broker_id;
	bool delete_partitions;
	const struct kctl_part *parts;
	size_t n_parts;
	const struct kctl_endpoint *leaders;
	size_t n_leaders;
	const struct kctl_broker *brokers;
	size_t n_brokers;
	const struct kctl_tp *stops;
	size_t n_stops;
	const struct kctl_part_err *errors;
	size_t n_errors;
	void *priv; /* decoder's storage; NULL when encoding */
};

/*
 * Appends m as one whole frame (length, type, body) to out. m stays the caller's. 0, or out's
 * error (ERR_NOMEM, ERR_TOOBIG), ERR_TOOBIG when the frame would exceed KCTL_MAX_FRAME, or
 * ERR_INVAL for a type outside enum kctl_type, version 0, or a count or string over its cap (a
 * topic empty, a partition negative) — nothing is appended then.
 */
int kctl_msg_encode(const struct kctl_msg *m, struct wbuf *out);

/*
 * Decodes one frame without its length prefix (what common/net's frame callback gives: the
 * type byte, then the body), f[0..len). On success *m (overwritten) owns its storage: release
 * with kctl_msg_clear(). On failure *m is zeroed and eb says why: ERR_CORRUPT (empty frame,
 * malformed protobuf, over the memory budget, a count or string over its cap, version 0, a
 * missing header, a topic empty or a partition negative), ERR_PROTO (a type byte outside enum
 * kctl_type), ERR_TOOBIG (len over KCTL_MAX_FRAME), ERR_NOMEM. A version other than
 * KCTL_VERSION is not an error here: the caller answers it (KCTL_ERR_UNSUPPORTED_VERSION).
 */
int kctl_msg_decode(const uint8_t *f, size_t len, struct kctl_msg *m, char *eb, size_t el);

/*
 * Decodes the first frame of a byte stream p[0..len) (length prefix included): 0 with *used =
 * its bytes and *m as kctl_msg_decode; ERR_AGAIN (not an error: *used = 0) when the frame is not
 * complete yet; ERR_TOOBIG for a length over KCTL_MAX_FRAME and ERR_CORRUPT for a length of 0,
 * both found from the first 4 bytes, before anything is allocated; else as kctl_msg_decode.
 */
int kctl_msg_decode_frame(const uint8_t *p, size_t len, size_t *used, struct kctl_msg *m, char *eb, size_t el);

/* Releases what a decode gave m and zeroes it. NULL and zeroed messages are fine. */
void kctl_msg_clear(struct kctl_msg *m);

#endif
