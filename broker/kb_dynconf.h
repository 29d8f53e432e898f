/*
 * kb_dynconf — dynamic configs, as Kafka 2.x keeps them in the coordinator: topic overrides
 * (/config/topics/<t>) and the broker configs that are safe to change while running
 * (/config/brokers/<id> and /config/brokers/<default>), all in Kafka's JSON
 * {"version":1,"config":{"k":"v"}}. This module owns the rules: which broker keys are dynamic,
 * their validation, the topic <-> broker key synonyms, the JSON both ways, and applying a
 * new set to the broker's log defaults, every topic and every open log. The coordinator I/O
 * (writes, /config/changes notifications, watches) is kb_cluster's.
 */
#ifndef SAMSA_KB_DYNCONF_H
#define SAMSA_KB_DYNCONF_H

#include "kb_broker.h"

/* Kafka's ConfigSource, as DescribeConfigs v1+ sends it. */
enum {
	KB_SRC_TOPIC = 1,
	KB_SRC_DYNAMIC_BROKER = 2,
	KB_SRC_DYNAMIC_DEFAULT_BROKER = 3,
	KB_SRC_STATIC_BROKER = 4,
	KB_SRC_DEFAULT = 5,
};

/* Kafka's resource types in the config APIs. */
enum { KB_RES_TOPIC = 2, KB_RES_BROKER = 4 };

/* The broker keys that may change live, in DescribeConfigs order; NULL-terminated. */
extern const char *const kb_dynconf_broker_keys[];

/* The broker-level synonym of a topic config ("retention.ms" -> "log.retention.ms"), or NULL. */
const char *kb_dynconf_synonym(const char *topic_key);

/* Checks a broker config set (names dynamic, values in range). 0, or KE_INVALID_CONFIG with
 * the reason in why. */
int kb_dynconf_broker_validate(const struct kb_tconf *c, int32_t n, char *why, size_t wn);

/* The value of a broker key as now in effect (dynamic per-broker, dynamic default, then the
 * static config), and where it came from (KB_SRC_*). out gets "" for an unknown key. */
int kb_dynconf_broker_value(const struct broker *b, const char *key, char *out, size_t n);

/* {"version":1,"config":{...}} of n pairs (meta/kznode's ConfigEntityZNode, which kafka-topics
 * writes too); malloc'ed (caller frees), NULL on no memory. */
char *kb_dynconf_json(const struct kb_tconf *c, int32_t n);
/* Parses such a document (bounded: len bytes of outside data); pairs whose value is not a
 * string are skipped. 0 with *out (caller frees with kb_dynconf_free), or ERR_CORRUPT/ERR_NOMEM. */
int kb_dynconf_parse(const char *text, size_t len, struct kb_tconf **out, int32_t *n);
/* Deep copy of n pairs (NULL on no memory; n == 0 gives an empty, non-NULL array). */
struct kb_tconf *kb_dynconf_dup(const struct kb_tconf *c, int32_t n);
void kb_dynconf_free(struct kb_tconf *c, int32_t n);

/* Installs a topic's new overrides (ownership of c passes) and pushes the result to its open
 * logs. An invalid set keeps the broker's defaults for the topic (logged). */
void kb_dynconf_topic_set(struct broker *b, struct kb_topic *t, struct kb_tconf *c, int32_t n);
/* Installs the dynamic broker configs of this broker (is_default false) or of all brokers
 * (<default>), ownership of c passing, and re-derives every topic's and open log's options. */
void kb_dynconf_broker_set(struct broker *b, bool is_default, struct kb_tconf *c, int32_t n);
/* Releases what kb_dynconf_broker_set installed (at shutdown). */
void kb_dynconf_release(struct broker *b);

#endif
