/*
 * kb_cluster — the broker's side of the coordinator, in Kafka's own ZooKeeper layout and JSON:
 * registration (/brokers/ids/<id>), /cluster/id, the controller election (/controller,
 * /controller_epoch), the metadata cache fed by watches on /brokers/ids and /brokers/topics,
 * and, while this broker is the controller, partition leader election (the .../state znodes)
 * and topic deletion (/admin/delete_topics). Topic creation and growth are writes that any
 * broker makes, as Kafka 2.x's admin path does; so are dynamic config changes
 * (/config/topics/<t>, /config/brokers/<id|<default>>, each followed by a sequential
 * /config/changes/config_change_ notification that every broker watches and applies, deleting
 * notifications older than 15 minutes as Kafka does). The rules of the configs are kb_dynconf's.
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
/* Places rf distinct live brokers for each of the n partitions first .. first + n - 1 into
 * out[(p - first) * rf + r], as Kafka's AdminUtils does (meta/kassign): for a new topic
 * (leader0 < 0) from a random start index and shift; for a growing topic from the first replica
 * of its partition 0 (leader0), as AdminZkClient does. Returns a Kafka error
 * (INVALID_REPLICATION_FACTOR) with text. */
int16_t kb_cluster_assign(struct broker *b, int32_t first, int32_t n, int32_t rf, int32_t leader0, int32_t *out,
			  char *why, size_t wn);
bool kb_cluster_node_live(struct broker *b, int32_t id);
/* On the controller: carries out what its decisions (b->ctrl, kctrl) queued after an input
 * from a request (ControlledShutdown, ElectLeaders). */
void kb_cluster_ctrl_run(struct broker *b);
/* The replica manager's ISR_UPDATE: writes st (leader, leader epoch, ISR) with
 * controller_epoch into /brokers/topics/<t>/partitions/<p>/state if its version is still
 * st->zk_version, notifies /isr_change_notification, and reports to krm_isr_result (later,
 * from the coordinator's answer; at once when it cannot be sent). */
void kb_cluster_isr_write(struct broker *b, const char *topic, int32_t part, const struct krepl_state *st,
			  int32_t controller_epoch);
/* Live brokers (this one included). */
int32_t kb_cluster_live_count(struct broker *b);

#endif
