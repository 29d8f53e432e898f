/*
 * kapi_pid — the InitProducerId handler (API 22) for idempotent producers: a null
 * transactional id gets a new producer id (from the broker's block, kb_pid) with epoch 0. A
 * transactional id is answered COORDINATOR_NOT_AVAILABLE: there is no transaction coordinator
 * yet, and that is what a Kafka broker answers while the transaction coordinator is not
 * available (a retriable error; the client keeps asking until its own timeout).
 */
#ifndef SAMSA_KAPI_PID_H
#define SAMSA_KAPI_PID_H

#include <stdbool.h>

struct broker;
struct kout;
struct kreq;
struct kwait;

/* An admin-kind handler (kapi.c): a first pass on arrival, then retried until it answers. */
int kapi_pid_init(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first, bool final);

#endif
