/*
 * kapi_meta — Metadata (API 3, v0-8): the live brokers, the controller, the cluster id and each
 * asked topic's partitions with their leader, replicas, ISR and offline replicas, from the
 * broker's metadata cache; a missing topic is auto-created when the broker and the request
 * allow it (auto.create.topics.enable). Loop thread.
 */
#ifndef SAMSA_KAPI_META_H
#define SAMSA_KAPI_META_H

#include <stdint.h>

struct broker;
struct kb_part;
struct kout;
struct kreq;

/* Answers q into o. 0, or ERR_PROTO (malformed: the connection closes) / ERR_NOMEM. */
int kapi_meta_metadata(struct broker *b, struct kreq *q, struct kout *o);
/* The error a partition is reported with: LEADER_NOT_AVAILABLE without a live leader. */
int16_t kapi_meta_part_error(struct broker *b, const struct kb_part *p);

#endif
