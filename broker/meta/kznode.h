/*
 * kznode — the JSON documents Kafka 2.x keeps in ZooKeeper, one encoder and one decoder each,
 * as kafka.zk.ZkData (2.7) writes and reads them. The broker (registration, the metadata cache,
 * the controller, the admin writes) and the tools (kafka-topics --zookeeper) both link this one
 * copy, so what one writes the other reads the same way:
 *
 *   /brokers/topics/<t>                    TopicZNode: {"version":2,"partitions":{"0":[1,2]},
 *                                          "adding_replicas":{},"removing_replicas":{}}
 *   /brokers/topics/<t>/partitions/<p>/state  TopicPartitionStateZNode: {"controller_epoch":1,
 *                                          "leader":1,"version":1,"leader_epoch":0,"isr":[1,2]}
 *   /brokers/ids/<id>                      BrokerIdZNode, version 5: host, port, endpoints
 *                                          ["NAME://host:port",...], listener map, jmx_port,
 *                                          timestamp, features (and rack, read only)
 *   /controller                            ControllerZNode: {"version":1,"brokerid":1,
 *                                          "timestamp":"<ms>"}
 *   /controller_epoch                      ControllerEpochZNode: the decimal epoch, no JSON
 *   /cluster/id                            ClusterIdZNode: {"version":"1","id":"<id>"}
 *   /isr_change_notification/isr_change_N  IsrChangeNotificationSequenceZNode:
 *                                          {"version":1,"partitions":[{"topic":t,"partition":p}]}
 *   /config/changes/config_change_N        ConfigEntityChangeNotificationSequenceZNode:
 *                                          {"version":2,"entity_path":"topics/<t>"}
 *   /config/topics/<t>, /config/brokers/<id>  ConfigEntityZNode: {"version":1,"config":{"k":"v"}}
 *                                          (what the keys and values may be is kb_dynconf's)
 *   /latest_producer_id_block              ProducerIdBlockZNode: {"version":1,"broker":0,
 *                                          "block_start":"0","block_end":"999"} (decimal strings,
 *                                          both ends inclusive; numbers are read too)
 *
 * Decoders read outside bytes (whatever a coordinator holds, written by anyone): they are bounded
 * by len, never read past it, cap every count (KZNODE_MAX_*), and refuse what Kafka's own decoder
 * refuses (a missing required member, a wrong type) with ERR_CORRUPT and a message in eb; on an
 * error the output is left empty. Encoders return a malloc'd NUL-terminated document (the caller
 * frees it) or ERR_NOMEM; strings in them are JSON-escaped. Pure functions, no state, no I/O.
 */
#ifndef SAMSA_KZNODE_H
#define SAMSA_KZNODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KZNODE_MAX_PARTITIONS (1 << 20) /* partitions in one assignment */
#define KZNODE_MAX_REPLICAS 1024	/* replicas of one partition, ids in one ISR */
#define KZNODE_MAX_HOST 255		/* bytes of a registered host name */
#define KZNODE_MAX_ID 63		/* bytes of a cluster id */
#define KZNODE_MAX_CONFIGS 10000	/* pairs in one entity config */

/* ---- /brokers/topics/<t> ---- */

/* A topic's assignment: partitions 0 .. n_parts - 1, each with its replicas (broker ids >= 0,
 * in Kafka's preference order). Owned by the caller: kznode_assignment_free. */
struct kznode_assignment {
	int32_t n_parts;
	uint32_t *off; /* n_parts + 1 offsets into ids: partition p is ids[off[p] .. off[p + 1]) */
	int32_t *ids;
};

/* Replicas of partition p (0 <= p < a->n_parts): the count in *n, a pointer into a. */
const int32_t *kznode_assignment_replicas(const struct kznode_assignment *a, int32_t p, int32_t *n);
void kznode_assignment_free(struct kznode_assignment *a); /* NULL or zeroed is fine; zeroes it */

/* Decodes len bytes into *out (zeroed first). The "partitions" object must name every partition
 * 0 .. n-1 exactly once (decimal keys, any order), each an array of broker ids; the optional
 * "adding_replicas" / "removing_replicas" of a reassignment in flight are not kept. 0, or
 * ERR_CORRUPT / ERR_TOOBIG / ERR_NOMEM with text in eb and *out empty. */
int kznode_assignment_decode(const char *buf, size_t len, struct kznode_assignment *out, char *eb, size_t el);
/* Encodes n_parts partitions of rf replicas each, partition p's in ids[p * rf .. p * rf + rf),
 * as version 2 with empty "adding_replicas" and "removing_replicas" (AdminZkClient's write).
 * 0 with *out (caller frees), ERR_INVAL (n_parts < 0, rf < 1) or ERR_NOMEM. */
int kznode_assignment_encode(int32_t n_parts, int32_t rf, const int32_t *ids, char **out);

/* ---- /brokers/topics/<t>/partitions/<p>/state ---- */

/* LeaderIsrAndControllerEpoch; the znode's version (the zkVersion of LeaderAndIsr) is the
 * caller's, from the ZooKeeper Stat. A value type. */
struct kznode_state {
	int32_t leader; /* -1: no leader */
	int32_t leader_epoch;
	int32_t controller_epoch;
	uint32_t n_isr;
	int32_t isr[KZNODE_MAX_REPLICAS];
};

/* Requires "leader" (>= -1), "leader_epoch", "controller_epoch" (>= 0) and "isr" (an array of
 * at most KZNODE_MAX_REPLICAS broker ids >= 0), as Kafka's decoder does. 0 or ERR_CORRUPT. */
int kznode_state_decode(const char *buf, size_t len, struct kznode_state *out, char *eb, size_t el);
/* Version 1. ERR_INVAL if st->n_isr > KZNODE_MAX_REPLICAS. */
int kznode_state_encode(const struct kznode_state *st, char **out);

/* ---- /brokers/ids/<id> ---- */

#define KZNODE_MAX_LISTENER 31  /* bytes of a listener name */
#define KZNODE_MAX_ENDPOINTS 10 /* endpoints of a registration kept (later ones are ignored) */

/* One "NAME://host:port" endpoint of a registration. */
struct kznode_endpoint {
	char name[KZNODE_MAX_LISTENER + 1];
	char host[KZNODE_MAX_HOST + 1]; /* IPv6 brackets removed */
	int32_t port;			/* 1 .. 65535 */
};

/* What a broker registered, as the others need it. A value type. */
struct kznode_broker {
	char host[KZNODE_MAX_HOST + 1]; /* of the first endpoint (IPv6 brackets removed) */
	int32_t port;			/* 1 .. 65535 */
	int32_t control_port;		/* of a "CONTROL_PLANE://" endpoint, -1: none */
	bool has_rack;
	char rack[KZNODE_MAX_HOST + 1];
	int n_endpoints; /* every endpoint but CONTROL_PLANE, in order (0 for version 1) */
	struct kznode_endpoint endpoints[KZNODE_MAX_ENDPOINTS];
};

/* Host and port come from the first of "endpoints" ("NAME://host:port"), or, with no endpoints
 * (version 1), from the top-level "host" and "port". ERR_CORRUPT when neither gives a host that
 * fits and a port in 1 .. 65535, or an endpoint's name is empty or longer than
 * KZNODE_MAX_LISTENER. */
int kznode_broker_decode(const char *buf, size_t len, struct kznode_broker *out, char *eb, size_t el);
/* The endpoint of b named name, NULL when it has none. */
const struct kznode_endpoint *kznode_broker_endpoint(const struct kznode_broker *b, const char *name);

/* One listener of this broker's registration: its name, advertised host and port, and its
 * security protocol ("PLAINTEXT", "SSL", ...). */
struct kznode_reg_endpoint {
	const char *name;
	const char *host;
	int32_t port;
	const char *security;
};

/* This broker's registration: version 5, its listeners (and listener_security_protocol_map),
 * the control plane ("CONTROL_PLANE"), the top-level host and port of the first PLAINTEXT
 * listener (null and -1 without one, as Kafka writes them), jmx_port -1, no rack, empty
 * features. */
struct kznode_broker_reg {
	int n_endpoints; /* 1 .. KZNODE_MAX_ENDPOINTS - 1 */
	const struct kznode_reg_endpoint *endpoints;
	const char *control_host; /* advertised host of the control plane */
	int32_t control_port;	  /* the control-plane listener's port */
	int64_t timestamp_ms;
};
int kznode_broker_encode(const struct kznode_broker_reg *r, char **out);

/* ---- /controller, /controller_epoch ---- */

/* "brokerid" (required, >= 0) into *broker_id. */
int kznode_controller_decode(const char *buf, size_t len, int32_t *broker_id, char *eb, size_t el);
int kznode_controller_encode(int32_t broker_id, int64_t timestamp_ms, char **out);
/* The decimal epoch (digits only, 0 .. INT32_MAX - 1, so the next one fits), as Kafka's toInt. */
int kznode_epoch_decode(const char *buf, size_t len, int32_t *epoch, char *eb, size_t el);
int kznode_epoch_encode(int32_t epoch, char **out);

/* ---- /cluster/id ---- */

/* "id" (a string of 1 .. KZNODE_MAX_ID bytes, no NUL) into id (of size KZNODE_MAX_ID + 1). */
int kznode_cluster_id_decode(const char *buf, size_t len, char *id, char *eb, size_t el);
int kznode_cluster_id_encode(const char *id, char **out);

/* ---- /config/<type>/<entity> ---- */

/* One config pair; both strings are the owner's (malloc'd by the decoder). */
struct kznode_conf {
	char *name;
	char *value;
};

/* The "config" object's pairs in document order into *out (caller frees with
 * kznode_config_free; n == 0 still gives a non-NULL array). A pair whose value is not a string is
 * skipped (Kafka writes every value as a string); no "config" object gives no pairs. ERR_CORRUPT
 * (not JSON, more than KZNODE_MAX_CONFIGS pairs) or ERR_NOMEM with *out NULL. */
int kznode_config_decode(const char *buf, size_t len, struct kznode_conf **out, int32_t *n, char *eb, size_t el);
/* Version 1 with the n pairs in order. */
int kznode_config_encode(const struct kznode_conf *c, int32_t n, char **out);
void kznode_config_free(struct kznode_conf *c, int32_t n); /* NULL is fine */

/* ---- notifications ---- */

/* An ISR change of one partition (Kafka batches several; a leader here writes one each). The
 * controller only deletes these (every broker watches the state znodes), so there is no decoder. */
int kznode_isr_change_encode(const char *topic, int32_t partition, char **out);
/* "entity_path" (required string without NUL, e.g. "topics/t", "brokers/<default>"), copied into
 * path (of size n; ERR_TOOBIG if longer). */
int kznode_config_change_decode(const char *buf, size_t len, char *path, size_t n, char *eb, size_t el);
int kznode_config_change_encode(const char *entity_path, char **out);

/* /latest_producer_id_block: the last block of producer ids a broker claimed (Kafka's
 * ProducerIdManager, ZooKeeper mode), its ids start..end, both inclusive. */
#define KZNODE_PID_BLOCK_SIZE 1000 /* Kafka's PidBlockSize */
struct kznode_pid_block {
	int32_t broker;
	int64_t start;
	int64_t end;
};
/* Decodes the znode's data. Empty data (the znode Kafka creates empty at start-up) is ERR_NOTFOUND
 * (no block claimed yet). A block whose ends are negative or out of order is ERR_CORRUPT. */
int kznode_pid_block_decode(const char *buf, size_t len, struct kznode_pid_block *out, char *eb, size_t el);
int kznode_pid_block_encode(const struct kznode_pid_block *b, char **out);
/* The block broker claims after prev (NULL: none yet): prev->end + 1 .. + KZNODE_PID_BLOCK_SIZE - 1,
 * or 0..999 first. ERR_RANGE when the ids are exhausted (Kafka: "Have exhausted all producerIds"). */
int kznode_pid_block_next(const struct kznode_pid_block *prev, int32_t broker, struct kznode_pid_block *out);

#endif
