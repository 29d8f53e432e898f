/*
 * kb_pid — the broker's producer id allocator for InitProducerId (KIP-98), as Kafka's
 * ProducerIdManager does it in ZooKeeper mode: ids are handed out from a block of
 * KZNODE_PID_BLOCK_SIZE (1000) consecutive ids this broker claimed in the coordinator's
 * /latest_producer_id_block (under the chroot). A claim reads the znode, writes the block after
 * the one it holds with a setData conditional on the version read (a create when the znode does
 * not exist), and on a lost race (BadVersion, NodeExists) reads again, so that two brokers
 * never get the same block. One claim at a time: requests that need ids while it runs wait for
 * it. The block is kept in memory only: a restarted broker claims a new one, as Kafka's does.
 * The loop thread runs all of it; its state hangs off struct broker (b->pid).
 */
#ifndef SAMSA_KB_PID_H
#define SAMSA_KB_PID_H

#include "kb_cluster.h"

#include <stdbool.h>
#include <stdint.h>

struct broker;
struct kb_pid;

/* The next unused id of the broker's current block into *id: 0, or ERR_AGAIN when there is
 * none left (claim a block with kb_pid_claim), ERR_NOMEM. */
int kb_pid_take(struct broker *b, int64_t *id);
/* Whether kb_pid_take would give an id now (without taking it). */
bool kb_pid_available(struct broker *b);
/* Claims a new block (or joins the claim already running); cb(b, ctx, err, msg) runs once it is
 * done: KE_NONE (ids may be taken now), or COORDINATOR_NOT_AVAILABLE (no session, the broker
 * stopping, a coordinator error, the znode unreadable) with a message. cb may run before this
 * returns. */
void kb_pid_claim(struct broker *b, kb_admin_cb cb, void *ctx);
/* Frees b->pid (at shutdown, after the coordinator session is closed: claims still waiting were
 * answered by then). */
void kb_pid_free(struct broker *b);

#endif
