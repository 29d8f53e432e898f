/*
 * kb_zkmeta — the broker's view of the cluster in the coordinator, in Kafka's ZooKeeper layout:
 * this broker's registration (/brokers/ids/<id>, ephemeral; its czxid is the KIP-380 broker
 * epoch), /cluster/id, and the metadata cache fed by watches: /brokers/ids into b->nodes (the
 * live brokers), /brokers/topics/<t> with .../partitions/<p>/state and /config/topics/<t> into
 * b->topics. Each partition's state is handed to the replica manager as it arrives (for now the
 * state znode is the LeaderAndIsr), and, on the controller, to kcontroller. A topic gone from
 * /brokers/topics is dropped from the cache and the replica manager deletes its logs.
 * Runs on the broker's loop thread.
 */
#ifndef SAMSA_KB_ZKMETA_H
#define SAMSA_KB_ZKMETA_H

#include "kb_broker.h"

/* The registration retry timer (b->register_retry): 0 or ERR_NOMEM. */
int kb_zkmeta_start(struct broker *b);
void kb_zkmeta_stop(struct broker *b);

/* Registers this broker (retried every second while another session holds the id). */
void kb_zkmeta_register(struct broker *b);
/* Creates /cluster/id if no broker has yet, then reads it into b->cluster_id. */
void kb_zkmeta_cluster_id(struct broker *b);
/* Reads (and watches) /brokers/ids, then each registration, into b->nodes. */
void kb_zkmeta_refresh_nodes(struct broker *b);
/* Reads (and watches) /brokers/topics: new topics are read, gone ones dropped with their logs. */
void kb_zkmeta_refresh_topics(struct broker *b);
/* Reads one topic (assignment, partition states, configs) into the cache. */
void kb_zkmeta_refresh_topic(struct broker *b, const char *name);

/* Live brokers (this one included). */
int32_t kb_zkmeta_live_count(struct broker *b);
bool kb_zkmeta_node_live(struct broker *b, int32_t id);

#endif
