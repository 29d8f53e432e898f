/*
 * kapi_admin — the topic admin requests, answered on the controller (NOT_CONTROLLER elsewhere,
 * as Kafka 2.x does): CreateTopics (API 19, v0-4), DeleteTopics (API 20, v0-3) and
 * CreatePartitions (API 37, v0-1). Each validates every topic as Kafka's AdminManager does,
 * starts the coordinator writes (kb_cluster) with a kwait result slot per topic, and answers
 * once the writes are done and, with a timeout, the topics are ready (every partition has a
 * live leader) or gone, or REQUEST_TIMED_OUT at the deadline. Loop thread.
 *
 * An admin handler runs twice or more on the same request: first (on arrival: decode the
 * request whole with kwadmin into w->priv, validate and start the writes; returns 1) and then
 * from kapi_retry until it answers, from the decoded request in w->priv (q then carries only
 * the header: no request bytes are kept or read again). Each returns 0 (answered in o), 1 (not
 * yet), or < 0 (malformed: the connection closes).
 */
#ifndef SAMSA_KAPI_ADMIN_H
#define SAMSA_KAPI_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct broker;
struct kout;
struct kreq;
struct kwait;

int kapi_admin_create_topics(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first, bool final);
int kapi_admin_delete_topics(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first, bool final);
int kapi_admin_create_partitions(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first, bool final);

#endif
