/*
 * kcontroller — this broker's controller role on the coordinator (Kafka 2.x's KafkaController
 * over ZooKeeper): the election (/controller, ephemeral, and /controller_epoch, bumped by each
 * new controller), and while this broker holds it, the executor of kctrl's decisions: the
 * partition state znodes written conditionally on their version, LeaderAndIsr sent on the
 * control-plane channel (kctl_chan), topic deletion (/admin/delete_topics), the clean-up of
 * /isr_change_notification and auto.leader.rebalance.enable. b->ctrl (kctrl), b->ctl (the
 * channel) and b->rebalance exist only while b->is_controller. Loop thread only.
 */
#ifndef SAMSA_KCONTROLLER_H
#define SAMSA_KCONTROLLER_H

#include "kb_broker.h"

/* Stands for controller: creates the ephemeral /controller (or, when another broker holds it,
 * reads and watches it). Called at each new session and when /controller is deleted. */
void kcontroller_elect(struct broker *b);
/* A watch event (type: ZOO_*_EVENT) on /controller: deleted, re-elect; else read who holds it
 * (a term of ours that another broker took over ends). */
void kcontroller_watch(struct broker *b, int type);
/* Ends this broker's term, if any: kctrl, the channel and the rebalance timer are freed, and
 * answers still in flight for the term are dropped. why is logged. */
void kcontroller_resign(struct broker *b, const char *why);

/* Carries out, in order, what kctrl queued (nothing when this broker is not the controller);
 * called after every input to kctrl, including a request's (ControlledShutdown, ElectLeaders). */
void kcontroller_run(struct broker *b);

/* Inputs from the metadata cache (kb_zkmeta), each a no-op off the controller:
 * kcontroller_nodes before b->nodes is replaced by the n registered nodes (the channel's
 * brokers follow the registrations: new ones added, gone ones removed); kcontroller_brokers
 * after, telling kctrl the live set; kcontroller_topic with a topic's assignment and states as
 * read; kcontroller_topic_gone when its znode is gone. */
void kcontroller_nodes(struct broker *b, const struct kb_node *nodes, int32_t n);
void kcontroller_brokers(struct broker *b);
void kcontroller_topic(struct broker *b, struct kb_topic *t);
void kcontroller_topic_gone(struct broker *b, const char *topic);

/* Watches of the controller's work lists (call only while b->is_controller): the topics marked
 * under /admin/delete_topics are deleted (state, assignment, config, then the mark), and
 * /isr_change_notification's notifications are deleted. */
void kcontroller_process_deletes(struct broker *b);
void kcontroller_process_isr_changes(struct broker *b);

#endif
