/*
 * kb_cluster — the broker's coordinator session, in Kafka's own ZooKeeper layout: it opens the
 * session (kb_zk), makes Kafka's top-level paths at each new one, and routes what the session
 * brings to the module that owns it — the registration and metadata cache (kb_zkmeta), the
 * controller role (controller/kcontroller), the dynamic configs (here) — and it is the broker's
 * end of the control plane (kctl_srv: LeaderAndIsr, UpdateMetadata, StopReplica make the cache
 * read the coordinator again; when the controller's connection breaks, its port is probed and
 * the /controller of a dead one deleted, so a new one is elected at once). It also makes the writes that any broker makes, as Kafka 2.x's
 * admin path does: topic creation and growth, the deletion mark (/admin/delete_topics/<t>),
 * dynamic config changes (/config/topics/<t>, /config/brokers/<id|<default>>, each followed by
 * a sequential /config/changes/config_change_ notification that every broker watches and
 * applies, deleting notifications older than 15 minutes as Kafka does; the rules of the configs
 * are kb_dynconf's), and a partition leader's ISR changes. The znodes' JSON is meta/kznode's.
 */
#ifndef SAMSA_KB_CLUSTER_H
#define SAMSA_KB_CLUSTER_H

#include "kb_broker.h"

/* Completion of an admin write: kafka_err is a Kafka error code (0 ok), msg may be NULL. */
typedef void (*kb_admin_cb)(struct broker *b, void *ctx, int16_t kafka_err, const char *msg);

int kb_cluster_start(struct broker *b, char *eb, size_t el);
void kb_cluster_stop(struct broker *b);

/* Writes /config/topics/<t> and /brokers/topics/<t>. replicas: nparts*rf broker ids, or NULL to
 * spread them over the live brokers. confs: n name/value pairs (already validated). */
void kb_cluster_create_topic(struct broker *b, const char *name, int32_t nparts, int32_t rf,
			     const int32_t *replicas, const struct kb_tconf *confs, int32_t nconf,
			     kb_admin_cb cb, void *ctx);
/* Asks the controller to delete a topic (/admin/delete_topics/<t>). */
void kb_cluster_delete_topic(struct broker *b, const char *name, kb_admin_cb cb, void *ctx);
/* Grows a topic to count partitions (new replicas spread, or given as (count-old)*rf ids). */
void kb_cluster_add_partitions(struct broker *b, struct kb_topic *t, int32_t count, const int32_t *replicas,
			       kb_admin_cb cb, void *ctx);
/* Replaces the dynamic configs of a topic (type KB_RES_TOPIC) or of a broker (KB_RES_BROKER;
 * entity "" = <default>, else this broker's id) with confs (already validated; copied), in
 * /config/topics/<t> or /config/brokers/<id|<default>>, then creates the sequential
 * /config/changes/config_change_ notification every broker watches, and applies the set here. */
void kb_cluster_alter_configs(struct broker *b, int type, const char *entity, const struct kb_tconf *confs,
			      int32_t nconf, kb_admin_cb cb, void *ctx);
/* The new config set of an entity made from its current one (cur: ncur pairs as its znode
 * holds them, none when it has no znode), validated: KE_NONE with *out (n pairs in *nout,
 * kb_dynconf_free'd by kb_cluster), or a Kafka error with the reason in why. */
typedef int16_t (*kb_config_edit)(struct broker *b, void *arg, const struct kb_tconf *cur, int32_t ncur,
				  struct kb_tconf **out, int32_t *nout, char *why, size_t wn);
/* IncrementalAlterConfigs' read-modify-write, as Kafka's AdminZkClient fetches the entity's
 * config before changing it: reads /config/topics/<t> or /config/brokers/<id|<default>>
 * (type and entity as for kb_cluster_alter_configs), asks edit for the new set and, unless
 * validate_only, writes it conditionally on the version read (created when there was none) and
 * then notifies and applies as kb_cluster_alter_configs does. An edit made by anyone in between
 * (BADVERSION, NODEEXISTS, NONODE) makes the read and the edit happen again, a few times. cb
 * runs once, with edit's error and reason, the coordinator's, or KE_NONE; arg must stay valid
 * until then (edit is not called once the broker is stopping). */
void kb_cluster_edit_configs(struct broker *b, int type, const char *entity, kb_config_edit edit, void *arg,
			     bool validate_only, kb_admin_cb cb, void *ctx);
/* Places rf distinct live brokers for each of the n partitions first .. first + n - 1 into
 * out[(p - first) * rf + r], as Kafka's AdminUtils does (meta/kassign): for a new topic
 * (leader0 < 0) from a random start index and shift; for a growing topic from the first replica
 * of its partition 0 (leader0), as AdminZkClient does. Returns a Kafka error
 * (INVALID_REPLICATION_FACTOR) with text. */
int16_t kb_cluster_assign(struct broker *b, int32_t first, int32_t n, int32_t rf, int32_t leader0, int32_t *out,
			  char *why, size_t wn);
/* The replica manager's ISR_UPDATE: writes st (leader, leader epoch, ISR) with
 * controller_epoch into /brokers/topics/<t>/partitions/<p>/state if its version is still
 * st->zk_version, notifies /isr_change_notification, and reports to krm_isr_result (later,
 * from the coordinator's answer; at once when it cannot be sent). */
void kb_cluster_isr_write(struct broker *b, const char *topic, int32_t part, const struct krepl_state *st,
			  int32_t controller_epoch);

#endif
