/*
 * kapi_config — dynamic configs over the Kafka protocol: DescribeConfigs (API 32, v0-2: each
 * value's source and, when asked, its synonyms down to the broker's static value), and
 * AlterConfigs (API 33, v0-1) and IncrementalAlterConfigs (API 44, v0: SET, DELETE, APPEND,
 * SUBTRACT) of topics and brokers, validated before anything is written (kb_dynconf,
 * kb_topic_apply_conf) and written through kb_cluster to /config/... with a change
 * notification. IncrementalAlterConfigs edits the set the entity's znode holds, read first
 * (not this broker's view of it, which may lag another broker's write), and writes it
 * conditionally on the version read, as kb_cluster_edit_configs does. Loop thread.
 */
#ifndef SAMSA_KAPI_CONFIG_H
#define SAMSA_KAPI_CONFIG_H

#include <stdbool.h>

struct broker;
struct kout;
struct kreq;
struct kwait;

/* Answers q into o: 0, or ERR_PROTO (malformed: the connection closes) / ERR_NOMEM. */
int kapi_config_describe(struct broker *b, struct kreq *q, struct kout *o);
/* AlterConfigs and IncrementalAlterConfigs (by q->key): an admin handler (see kapi_admin.h). */
int kapi_config_alter(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first, bool final);

#endif
