/*
 * kgw — the Kafka codecs of consumer groups: the request and response bodies of
 * FindCoordinator (10), JoinGroup (11), Heartbeat (12), LeaveGroup (13), SyncGroup (14),
 * DescribeGroups (15), ListGroups (16), OffsetCommit (8), OffsetFetch (9), DeleteGroups (42) and
 * OffsetDelete (47) in their non-flexible versions, and in the flexible ones of OffsetCommit
 * (v8) and OffsetFetch (v6-7: librdkafka 2.0 asks v7; kafka-python 2.0 asks at most v3 and
 * kafkajs 2.2 v4, JoinGroup, SyncGroup, Heartbeat and LeaveGroup no flexible version from any
 * of them), the records of the
 * __consumer_offsets topic (offset commit key v0-1 / value v0-3, group metadata key v2 / value
 * v0-3), and the topic list of a consumer's subscription (ConsumerProtocolSubscription v0+).
 * Schemas: apache/kafka clients/src/main/resources/common/message/<Api>{Request,Response}.json
 * and core/src/main/resources/common/message/{OffsetCommit,GroupMetadata}{Key,Value}.json;
 * field order and the version of every field as there.
 *
 * Bodies only: the request header (api key, version, correlation id, client id) and the
 * response header (correlation id) are the caller's. Each message has one description that
 * both encodes and decodes it, so the two directions cannot disagree.
 *
 * The decoders distrust their input: every count is capped and checked against the bytes left
 * before anything is allocated, every string and byte array is bounded by the body, a null
 * where the schema has none and trailing bytes are errors. Strings and byte arrays of a decoded
 * message point into the decoded bytes (no copy); arrays are allocated from the caller's
 * arena (struct kgw_arena), freed all at once. Nothing here keeps state or does I/O; any thread.
 */
#ifndef SAMSA_KGW_H
#define SAMSA_KGW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wbuf;

#define KGW_API_OFFSET_COMMIT 8
#define KGW_API_OFFSET_FETCH 9
#define KGW_API_FIND_COORDINATOR 10
#define KGW_API_JOIN_GROUP 11
#define KGW_API_HEARTBEAT 12
#define KGW_API_LEAVE_GROUP 13
#define KGW_API_SYNC_GROUP 14
#define KGW_API_DESCRIBE_GROUPS 15
#define KGW_API_LIST_GROUPS 16
#define KGW_API_DELETE_GROUPS 42
#define KGW_API_OFFSET_DELETE 47

/* Caps on what a decoded message may declare. */
#define KGW_MAX_COUNT 1000000	   /* elements of one array */
#define KGW_MAX_BYTES (16u << 20) /* one byte array (protocol metadata, assignment) */

/* The highest version of api this codec implements (all from 0 are), -1 for another api. */
int16_t kgw_max_version(int16_t api);
/* Whether version ver of api is flexible (KIP-482: compact strings and arrays, tagged fields;
 * its request header is v2 and its response header v1, the caller's). */
bool kgw_flexible(int16_t api, int16_t ver);

/* A Kafka string or byte array: len -1 is null (p NULL); p is not NUL-terminated. */
struct kgw_str {
	const uint8_t *p;
	int32_t len;
};

/* A C string as a kgw_str (NULL gives null); for encoders. */
struct kgw_str kgw_s(const char *s);
/* Whether a equals the C string s (null equals only NULL). */
bool kgw_eq(struct kgw_str a, const char *s);

/* The allocations of decoded messages; zero-initialise, free with kgw_arena_free. */
struct kgw_arena {
	void **blocks;
	size_t n, cap;
	/* unknown tagged fields the decoders skipped (flexible versions; they are not kept, so a
	 * message that had some does not encode back to the same bytes) */
	uint32_t tags_skipped;
};
void kgw_arena_free(struct kgw_arena *a); /* NULL ok; leaves it empty and reusable */

/* ---- FindCoordinator v0-2 ---- */
#define KGW_COORD_GROUP 0
#define KGW_COORD_TXN 1
struct kgw_find_req {
	struct kgw_str key;
	int8_t key_type; /* v1+; 0 (group) below */
};
struct kgw_find_resp {
	int32_t throttle_ms; /* v1+ */
	int16_t error;
	struct kgw_str error_message; /* v1+, nullable */
	int32_t node_id;
	struct kgw_str host;
	int32_t port;
};

/* ---- JoinGroup v0-5 ---- */
struct kgw_join_proto {
	struct kgw_str name;
	struct kgw_str metadata; /* bytes */
};
struct kgw_join_req {
	struct kgw_str group_id;
	int32_t session_timeout_ms;
	int32_t rebalance_timeout_ms; /* v1+; -1 below (the session timeout applies) */
	struct kgw_str member_id;
	struct kgw_str group_instance_id; /* v5+, nullable; null below */
	struct kgw_str protocol_type;
	int32_t n_protocols;
	struct kgw_join_proto *protocols;
};
struct kgw_join_member {
	struct kgw_str member_id;
	struct kgw_str group_instance_id; /* v5+, nullable */
	struct kgw_str metadata;	  /* bytes */
};
struct kgw_join_resp {
	int32_t throttle_ms; /* v2+ */
	int16_t error;
	int32_t generation_id;
	struct kgw_str protocol_name;
	struct kgw_str leader;
	struct kgw_str member_id;
	int32_t n_members;
	struct kgw_join_member *members;
};

/* ---- SyncGroup v0-3 ---- */
struct kgw_sync_assignment {
	struct kgw_str member_id;
	struct kgw_str assignment; /* bytes */
};
struct kgw_sync_req {
	struct kgw_str group_id;
	int32_t generation_id;
	struct kgw_str member_id;
	struct kgw_str group_instance_id; /* v3+, nullable */
	int32_t n_assignments;
	struct kgw_sync_assignment *assignments;
};
struct kgw_sync_resp {
	int32_t throttle_ms; /* v1+ */
	int16_t error;
	struct kgw_str assignment; /* bytes */
};

/* ---- Heartbeat v0-3 ---- */
struct kgw_heartbeat_req {
	struct kgw_str group_id;
	int32_t generation_id;
	struct kgw_str member_id;
	struct kgw_str group_instance_id; /* v3+, nullable */
};
struct kgw_heartbeat_resp {
	int32_t throttle_ms; /* v1+ */
	int16_t error;
};

/* ---- LeaveGroup v0-3 ---- */
struct kgw_leave_member {
	struct kgw_str member_id;
	struct kgw_str group_instance_id; /* nullable */
};
struct kgw_leave_req {
	struct kgw_str group_id;
	struct kgw_str member_id; /* v0-2 */
	int32_t n_members;	  /* v3+ */
	struct kgw_leave_member *members;
};
struct kgw_leave_member_resp {
	struct kgw_str member_id;
	struct kgw_str group_instance_id; /* nullable */
	int16_t error;
};
struct kgw_leave_resp {
	int32_t throttle_ms; /* v1+ */
	int16_t error;
	int32_t n_members; /* v3+ */
	struct kgw_leave_member_resp *members;
};

/* ---- OffsetCommit v0-8 (v8 flexible) ---- */
struct kgw_commit_part {
	int32_t partition;
	int64_t offset;
	int32_t leader_epoch;	   /* v6+; -1 below */
	int64_t commit_timestamp;  /* v1 only; -1 elsewhere */
	struct kgw_str metadata;   /* nullable */
};
struct kgw_commit_topic {
	struct kgw_str name;
	int32_t n_parts;
	struct kgw_commit_part *parts;
};
struct kgw_commit_req {
	struct kgw_str group_id;
	int32_t generation_id;		  /* v1+; -1 below */
	struct kgw_str member_id;	  /* v1+; "" below */
	struct kgw_str group_instance_id; /* v7+, nullable */
	int64_t retention_time_ms;	  /* v2-4; -1 elsewhere */
	int32_t n_topics;
	struct kgw_commit_topic *topics;
};
struct kgw_part_error {
	int32_t partition;
	int16_t error;
};
struct kgw_topic_errors {
	struct kgw_str name;
	int32_t n_parts;
	struct kgw_part_error *parts;
};
struct kgw_commit_resp {
	int32_t throttle_ms; /* v3+ */
	int32_t n_topics;
	struct kgw_topic_errors *topics;
};

/* ---- OffsetFetch v0-7 (v6+ flexible; v8's groups array is not implemented) ---- */
struct kgw_fetch_topic {
	struct kgw_str name;
	int32_t n_parts;
	int32_t *parts;
};
struct kgw_ofetch_req {
	struct kgw_str group_id;
	int32_t n_topics; /* -1 (null, v2+): every committed offset of the group */
	struct kgw_fetch_topic *topics;
	bool require_stable; /* v7+ (KIP-447); false below */
};
struct kgw_ofetch_part {
	int32_t partition;
	int64_t offset;	     /* -1: none committed */
	int32_t leader_epoch; /* v5+ */
	struct kgw_str metadata; /* nullable */
	int16_t error;
};
struct kgw_ofetch_topic {
	struct kgw_str name;
	int32_t n_parts;
	struct kgw_ofetch_part *parts;
};
struct kgw_ofetch_resp {
	int32_t throttle_ms; /* v3+ */
	int32_t n_topics;
	struct kgw_ofetch_topic *topics;
	int16_t error; /* v2+ */
};

/* ---- ListGroups v0-2 (the request has no fields) ---- */
struct kgw_listed_group {
	struct kgw_str group_id;
	struct kgw_str protocol_type;
};
struct kgw_list_resp {
	int32_t throttle_ms; /* v1+ */
	int16_t error;
	int32_t n_groups;
	struct kgw_listed_group *groups;
};

/* ---- DescribeGroups v0-4 ---- */
struct kgw_describe_req {
	int32_t n_groups;
	struct kgw_str *groups;
	bool include_authorized_operations; /* v3+ */
};
struct kgw_described_member {
	struct kgw_str member_id;
	struct kgw_str group_instance_id; /* v4+, nullable */
	struct kgw_str client_id;
	struct kgw_str client_host;
	struct kgw_str metadata;   /* bytes */
	struct kgw_str assignment; /* bytes */
};
struct kgw_described_group {
	int16_t error;
	struct kgw_str group_id;
	struct kgw_str state;
	struct kgw_str protocol_type;
	struct kgw_str protocol_data;
	int32_t n_members;
	struct kgw_described_member *members;
	int32_t authorized_operations; /* v3+ */
};
struct kgw_describe_resp {
	int32_t throttle_ms; /* v1+ */
	int32_t n_groups;
	struct kgw_described_group *groups;
};

/* ---- DeleteGroups v0-1 ---- */
struct kgw_delete_req {
	int32_t n_groups;
	struct kgw_str *groups;
};
struct kgw_delete_result {
	struct kgw_str group_id;
	int16_t error;
};
struct kgw_delete_resp {
	int32_t throttle_ms;
	int32_t n_results;
	struct kgw_delete_result *results;
};

/* ---- OffsetDelete v0 ---- */
struct kgw_odelete_topic {
	struct kgw_str name;
	int32_t n_parts;
	int32_t *parts;
};
struct kgw_odelete_req {
	struct kgw_str group_id;
	int32_t n_topics;
	struct kgw_odelete_topic *topics;
};
struct kgw_odelete_resp {
	int16_t error;
	int32_t throttle_ms;
	int32_t n_topics;
	struct kgw_topic_errors *topics;
};

/* ---- __consumer_offsets records ---- */
/* A record key: version 0 or 1, an offset commit (group, topic, partition); version 2, a
 * group's metadata (group). */
#define KGW_KEY_OFFSET 1
#define KGW_KEY_GROUP 2
struct kgw_key {
	int16_t version;
	struct kgw_str group;
	struct kgw_str topic; /* offset keys */
	int32_t partition;    /* offset keys */
};
struct kgw_offset_value {
	int16_t version; /* 0-3 */
	int64_t offset;
	int32_t leader_epoch; /* v3+; -1 below */
	struct kgw_str metadata;
	int64_t commit_timestamp;
	int64_t expire_timestamp; /* v1 only; -1 elsewhere */
};
struct kgw_group_member {
	struct kgw_str member_id;
	struct kgw_str group_instance_id; /* v3+, nullable */
	struct kgw_str client_id;
	struct kgw_str client_host;
	int32_t rebalance_timeout_ms; /* v1+; the session timeout below */
	int32_t session_timeout_ms;
	struct kgw_str subscription; /* bytes */
	struct kgw_str assignment;   /* bytes */
};
struct kgw_group_value {
	int16_t version; /* 0-3 */
	struct kgw_str protocol_type;
	int32_t generation;
	struct kgw_str protocol; /* nullable */
	struct kgw_str leader;	 /* nullable */
	int64_t current_state_timestamp; /* v2+; -1 below */
	int32_t n_members;
	struct kgw_group_member *members;
};

/* ---- a consumer's subscription (the metadata of protocol type "consumer") ---- */
struct kgw_subscription {
	int16_t version;
	int32_t n_topics;
	struct kgw_str *topics;
	/* later fields (user data, owned partitions, generation, rack) are not read */
};

/*
 * For each message M below:
 *   int kgw_M_decode(const uint8_t *p, size_t len, int16_t ver, struct kgw_M *out,
 *                    struct kgw_arena *a, char *eb, size_t el);
 * decodes the body p[0..len) of version ver into *out (zeroed first); pointers in it go into
 * p, arrays into a (freed by the caller, also after a failure). Returns 0; ERR_VERSION (ver
 * outside what is implemented), ERR_TRUNC / ERR_CORRUPT / ERR_TOOBIG / ERR_PROTO (malformed,
 * trailing bytes included) with the reason in eb; ERR_NOMEM.
 *   int kgw_M_encode(struct wbuf *w, int16_t ver, const struct kgw_M *in);
 * appends the body of version ver to w. Returns 0; ERR_VERSION; ERR_INVAL (a null where the
 * schema has none, a string over 32767 bytes, a count that does not fit); or w's sticky
 * error. w may then hold a partial body.
 */
#define KGW_DECLARE(M)                                                                              \
	int kgw_##M##_decode(const uint8_t *p, size_t len, int16_t ver, struct kgw_##M *out,        \
			     struct kgw_arena *a, char *eb, size_t el);                             \
	int kgw_##M##_encode(struct wbuf *w, int16_t ver, const struct kgw_##M *in);

KGW_DECLARE(find_req)
KGW_DECLARE(find_resp)
KGW_DECLARE(join_req)
KGW_DECLARE(join_resp)
KGW_DECLARE(sync_req)
KGW_DECLARE(sync_resp)
KGW_DECLARE(heartbeat_req)
KGW_DECLARE(heartbeat_resp)
KGW_DECLARE(leave_req)
KGW_DECLARE(leave_resp)
KGW_DECLARE(commit_req)
KGW_DECLARE(commit_resp)
KGW_DECLARE(ofetch_req)
KGW_DECLARE(ofetch_resp)
KGW_DECLARE(list_resp)
KGW_DECLARE(describe_req)
KGW_DECLARE(describe_resp)
KGW_DECLARE(delete_req)
KGW_DECLARE(delete_resp)
KGW_DECLARE(odelete_req)
KGW_DECLARE(odelete_resp)
/* Records: each carries its version in its first two bytes (the struct's version field), so
 * ver is ignored; a version outside the schema is ERR_VERSION. */
KGW_DECLARE(key)
KGW_DECLARE(offset_value)
KGW_DECLARE(group_value)
/* The subscription carries its version (ver ignored); only the topics are read, any later
 * bytes are accepted (newer clients add fields), and encoding writes version 0 with a null
 * user data. */
KGW_DECLARE(subscription)

#endif
