/*
 * kname — Kafka's topic name rules (org.apache.kafka.common.internals.Topic), the one copy the
 * broker (CreateTopics, the topics it loads from the coordinator) and the tools share: 1 to 249
 * characters of ASCII alphanumerics, '.', '_' and '-', not "." or "..", and two names that are
 * equal once '.' and '_' are taken as the same character collide (their metric names would).
 */
#ifndef SAMSA_KNAME_H
#define SAMSA_KNAME_H

#include <stdbool.h>
#include <stddef.h>

#define KNAME_TOPIC_MAX 249

/* Whether name[0..len) is a legal topic name (it may hold NULs, which are illegal). When it is
 * not, why gets Kafka's message (the name in it cut at 64 characters). */
bool kname_topic_valid(const char *name, size_t len, char *why, size_t wn);

/* Whether the two names differ but are equal once '.' and '_' are taken as the same
 * character (Kafka's Topic.hasCollision, less the equal case). */
bool kname_topic_collide(const char *a, const char *b);

/* Whether a name has a '.' or a '_', the case where Kafka warns that it could collide. */
bool kname_topic_may_collide(const char *name);

#endif
