/*
 * kb_shutdown — the broker's controlled shutdown (Kafka's controlled.shutdown.enable): on the
 * first SIGTERM or SIGINT the broker goes on serving while it asks the controller, with
 * ControlledShutdown (API 7 v2) on the controller's Kafka listener, to move the leadership of
 * every partition it leads to another in-sync replica and to take it out of the ISRs. The
 * controller answers once those writes are done, listing what it still leads (partitions no
 * other live ISR member can take); the broker asks again after
 * controlled.shutdown.retry.backoff.ms while any remain, at most
 * controlled.shutdown.max.retries more times, and then stops anyway (an "unclean shutdown", as
 * Kafka says). The controller itself asks itself the same way. Producers with retries see
 * NOT_LEADER_OR_FOLLOWER at worst, refresh their metadata and go on at the new leader.
 */
#ifndef SAMSA_KB_SHUTDOWN_H
#define SAMSA_KB_SHUTDOWN_H

#include "kb_broker.h"

/* Called once, on the loop thread: clean = no leadership that could move is left here. */
typedef void (*kb_shutdown_done_fn)(struct broker *b, bool clean);

struct kb_shutdown;

/* Starts the sequence; NULL when out of memory (then stop at once). done is called later, never
 * from inside this call. */
struct kb_shutdown *kb_shutdown_start(struct broker *b, kb_shutdown_done_fn done);
void kb_shutdown_free(struct kb_shutdown *s); /* NULL ok; an attempt in flight is dropped */

#endif
