/*
 * kb_txns — the broker's side of the transaction coordinator: it owns the coordinator's core
 * (broker/txn's ktxn, which does no I/O) and gives it what it needs from the broker, as
 * kb_groups does for the group coordinator. It creates __transaction_state on the first
 * FindCoordinator for a transactional id, as Kafka does (partitions
 * transaction.state.log.num.partitions, replication transaction.state.log.replication.factor
 * once that many brokers are live, min.insync.replicas transaction.state.log.min.isr,
 * cleanup.policy compact, compression.type uncompressed, segment.bytes
 * transaction.state.log.segment.bytes); it loads a partition of it when this broker becomes its
 * leader and unloads it when the leadership goes (followed as kb_groups follows
 * __consumer_offsets); it carries out the core's appends (kb_clog: acks=all, answered once
 * replicated) and its marker rounds: WriteTxnMarkers v0 to the current leader of each
 * partition of the transaction, one request per leader (kb_kcall, over the inter-broker
 * listener, TLS when it is SSL), a partition done when its leader answers NONE for it or its
 * topic is gone, the others sent again every KB_TXNS_MARK_RETRY_MS (a leader down or changed, a
 * refused answer) until all are done; and it passes the clock (kb_txns_tick). New producer ids
 * come from kb_pid; the requests are broker/api's (kapi_txn), which gives the reply callback.
 *
 * The loop thread runs all of it. struct broker holds it (b->txns); every function is a no-op
 * when it is not started.
 */
#ifndef SAMSA_KB_TXNS_H
#define SAMSA_KB_TXNS_H

#include <stdbool.h>
#include <stdint.h>

struct broker;
struct klog;
struct ktxns;
struct ktxn_answer;

#define KB_TXN_STATE_TOPIC "__transaction_state"

/* The core's reply callback: answers request token with a. */
typedef void (*kb_txns_reply_fn)(struct broker *b, void *token, const struct ktxn_answer *a);

/* Starts the coordinator of b (b->txns). 0, or ERR_NOMEM. */
int kb_txns_start(struct broker *b, kb_txns_reply_fn reply);
/* Stops it (at shutdown, before the connections are freed): waiting requests answered
 * NOT_COORDINATOR, appends and marker rounds forgotten. NULL-safe, idempotent. */
void kb_txns_stop(struct broker *b);
/* The core (NULL when not started). */
struct ktxns *kb_txns_core(struct broker *b);

/* KE_NONE when __transaction_state exists (*nparts its partition count); otherwise
 * COORDINATOR_NOT_AVAILABLE, and its creation is started when enough brokers are live. */
int16_t kb_txns_state_topic(struct broker *b, int32_t *nparts);
/* The state of __transaction_state partition p changed here: load or unload it. */
void kb_txns_part_changed(struct broker *b, int32_t p);
/* A flush-policy fsync of log l is done up to offset: appends waiting for it complete. */
void kb_txns_flushed(struct broker *b, const struct klog *l, int64_t offset);
/* Time passes: the core's tick, leadership checked again, marker rounds retried. */
void kb_txns_tick(struct broker *b, int64_t now);

#endif
