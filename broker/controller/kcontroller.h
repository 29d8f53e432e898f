/*
 * kcontroller — this broker's controller role on the coordinator (Kafka 2.x's KafkaController
 * over ZooKeeper): the election (/controller, ephemeral, and /controller_epoch, bumped by each
 * new controller), and while this broker holds it, the executor of kctrl's decisions: the
 * partition state znodes written conditionally on their version, LeaderAndIsr sent on the
 * control-plane channel (kctl_chan), topic deletion (/admin/delete_topics), the clean-up of
 * /isr_change_notification, auto.leader.rebalance.enable and the registration grace. It owns
 * the role's state: who holds /controller as last read, the controller epoch, and while this
 * broker is the controller its kctrl, its channel and its timers.
 *
 * Its own static library (samsa_broker_kcontroller): it knows nothing of struct broker. What it
 * needs of the broker comes through struct kcontroller_host (the live brokers, the cache's
 * topics, re-reads of the coordinator); the broker feeds it the metadata cache's changes
 * (kcontroller_nodes, _brokers, _topic, _topic_gone) and its coordinator events (_elect,
 * _watch, the work-list watches). Loop thread only.
 */
#ifndef SAMSA_KCONTROLLER_H
#define SAMSA_KCONTROLLER_H

#include "krec.h"

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct kb_zk;
struct kctrl;
struct tls_ctx;

/* The broker's settings the role uses (copied at kcontroller_new). */
struct kcontroller_conf {
	int32_t broker_id;
	bool unclean_default;	     /* unclean.leader.election.enable */
	bool auto_rebalance;	     /* auto.leader.rebalance.enable */
	int64_t rebalance_interval_s; /* leader.imbalance.check.interval.seconds */
	int32_t imbalance_pct;	     /* leader.imbalance.per.broker.percentage */
	/* the control-plane channel's client TLS (the inter-broker listener's; borrowed, it must
	 * outlive the kcontroller), NULL: plaintext */
	struct tls_ctx *tls;
	bool tls_check_host;
};

/* What the role asks of the broker; every callback gets kcontroller_new's arg and runs on the
 * loop thread. */
struct kcontroller_host {
	/* The broker is stopping: coordinator answers that arrive now are dropped. */
	bool (*stopping)(void *arg);
	/* The live brokers as the metadata cache holds them (borrowed until the cache changes). */
	const struct kb_node *(*nodes)(void *arg, int32_t *n);
	/* Hands every topic of the cache to kcontroller_topic (at the start of a term). */
	void (*topics)(void *arg);
	/* The controller marks a topic as being deleted (/admin/delete_topics). */
	void (*topic_deleting)(void *arg, const char *topic);
	/* Reads a topic (its assignment and states), or the topic list, from the coordinator again;
	 * the cache then calls kcontroller_topic / kcontroller_topic_gone. */
	void (*refresh_topic)(void *arg, const char *topic);
	void (*refresh_topics)(void *arg);
};

/* A controller role for a broker whose coordinator session is zk (borrowed: free the role only
 * after zk, whose closing answers pending calls). NULL only when out of memory. */
struct kcontroller *kcontroller_new(struct event_base *base, struct kb_zk *zk, const struct kcontroller_conf *conf,
				    const struct kcontroller_host *host, void *arg);
/* Ends the term, if any, and frees the role. NULL ok. */
void kcontroller_free(struct kcontroller *kc);

/* What the rest of the broker reads. Each accepts NULL (no role: none known). */
bool kcontroller_active(const struct kcontroller *kc);	/* this broker is the controller */
int32_t kcontroller_id(const struct kcontroller *kc);	/* who holds /controller, -1: unknown */
int32_t kcontroller_epoch(const struct kcontroller *kc); /* the newest controller epoch known */
/* While this broker is the controller: its requests (LeaderAndIsr, ...) not yet answered by
 * the other live brokers; else 0. */
size_t kcontroller_undelivered(const struct kcontroller *kc);
/* The czxid of /controller as last read (one controller's term: a broker that restarts and wins
 * again holds a new one), 0: unknown or this broker's own. */
int64_t kcontroller_czxid(const struct kcontroller *kc);
/* The decisions of the current term (NULL when this broker is not the controller): requests
 * (ControlledShutdown, ElectLeaders) give their inputs to it, then call kcontroller_run. */
struct kctrl *kcontroller_kctrl(const struct kcontroller *kc);
/* A controller's request (LeaderAndIsr) carried epoch: remembered when newer and this broker is
 * not the controller. */
void kcontroller_epoch_seen(struct kcontroller *kc, int32_t epoch);

/* Stands for controller: creates the ephemeral /controller (or, when another broker holds it,
 * reads and watches it). Called at each new session and when /controller is deleted. */
void kcontroller_elect(struct kcontroller *kc);
/* A watch event (type: ZOO_*_EVENT) on /controller: deleted, re-elect; else read who holds it
 * (a term of ours that another broker took over ends). */
void kcontroller_watch(struct kcontroller *kc, int type);
/* Ends this broker's term, if any: kctrl, the channel and the timers are freed, and answers
 * still in flight for the term are dropped. why is logged. NULL ok. */
void kcontroller_resign(struct kcontroller *kc, const char *why);

/* Carries out, in order, what kctrl queued (nothing when this broker is not the controller);
 * called after every input to kctrl, including a request's (ControlledShutdown, ElectLeaders). */
void kcontroller_run(struct kcontroller *kc);

/* Inputs from the metadata cache (kb_zkmeta), each a no-op off the controller (and on NULL):
 * kcontroller_nodes before the cache's node list (host->nodes) is replaced by the n registered
 * nodes (the channel's brokers follow the registrations: new ones added, gone ones removed);
 * kcontroller_brokers after, telling kctrl the live set; kcontroller_topic with a topic's
 * assignment and states as read (unclean: its unclean.leader.election.enable, 1, 0, or -1 for
 * the broker's default); kcontroller_topic_gone when its znode is gone. */
void kcontroller_nodes(struct kcontroller *kc, const struct kb_node *nodes, int32_t n);
void kcontroller_brokers(struct kcontroller *kc);
void kcontroller_topic(struct kcontroller *kc, const char *name, const struct kb_part *parts, int32_t nparts,
		       int unclean);
void kcontroller_topic_gone(struct kcontroller *kc, const char *topic);

/* Watches of the controller's work lists (no-ops off the controller): the topics marked under
 * /admin/delete_topics are deleted (state, assignment, config, then the mark), and
 * /isr_change_notification's notifications are deleted. */
void kcontroller_process_deletes(struct kcontroller *kc);
void kcontroller_process_isr_changes(struct kcontroller *kc);

#endif
