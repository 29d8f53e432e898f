/*
 * kb_broker — the broker's shared state: the metadata cache (brokers, topics, partitions, read
 * from the coordinator), the replica manager (kreplica: every local partition log, its high
 * watermark and the purgatory of acks=all produces), and the lists of what broker/api/ keeps per
 * client (connections, waiting requests, held Produce responses; their layouts are api/'s). The
 * loop thread owns all of it. kb_cluster keeps the cache in step with the coordinator;
 * broker/api/ answers Kafka requests from it.
 */
#ifndef SAMSA_KB_BROKER_H
#define SAMSA_KB_BROKER_H

#include "kb_config.h"
#include "kerr.h"
#include "klog.h"
#include "kname.h"
#include "krec.h"
#include "kznode.h"
#include "kreplica.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

struct event_base;
struct evbuffer;
struct event;
struct kb_zk;
struct kfetcher;
struct kclean;
struct kb_groups;
struct kb_txns;
struct kb_acl;
struct kb_pid;
struct kcontroller;
struct kb_shutdown;
struct kctl_srv;
struct kb_events;
struct kb_page;
struct kconn;	  /* api/kconn */
struct kwait;	  /* api/kwait */
struct kflushwait; /* api/kapi_produce */
struct kfpurg;	  /* api/kfpurg */
struct kprodwait;  /* api/kapi_produce */
struct net_conn;
struct net_listener;
struct tls_ctx;
struct ksauth_conf;
struct wbuf;

#define KB_TOPIC_MAX KNAME_TOPIC_MAX
#define KB_MAX_PARTITIONS 100000 /* per topic, bounding what one admin request can allocate */


/* A topic config override (from /config/topics/<t>). */
struct kb_tconf {
	char *name;
	char *value;
};

struct kb_topic {
	LIST_ENTRY(kb_topic) link;
	char *name;
	int32_t nparts;
	struct kb_part *parts;
	int32_t nconf;
	struct kb_tconf *conf;
	struct klog_opts opts; /* the broker's defaults with the overrides applied */
	bool log_append_time;
	int32_t max_message_bytes;
	int32_t min_isr;
	bool deleting;
	/* kb_metrics' counters of this topic (BrokerTopicMetrics): records and bytes appended as
	 * leader, record bytes sent to consumers */
	uint64_t m_msgs_in, m_bytes_in, m_bytes_out;
};

/* One client listener of this broker (api/klisten): the config entry, where clients are told to
 * connect, and the socket. */
struct klisten_ep {
	struct broker *b;
	int index;		     /* into cfg->listener */
	const struct kb_listener *l; /* cfg->listener[index] */
	char adv_host[256];	     /* advertised */
	int32_t adv_port;
	struct net_listener *nl;
};

struct broker {
	struct event_base *base;
	const struct kb_config *cfg;
	char *log_dir;	       /* the first of log.dirs */
	char adv_host[256];    /* advertised host and port of the inter-broker listener */
	int32_t adv_port;
	struct klisten_ep listen[KB_MAX_LISTENERS]; /* the client listeners (api/klisten) */
	int n_listen;
	struct tls_ctx *tls; /* the SSL listeners' TLS material, NULL without one */
	/* the client side of an SSL inter-broker listener (followers' fetchers, the controlled
	 * shutdown's request, the controller's control-plane connections), NULL for a PLAINTEXT
	 * one; made by samsa_broker's main, freed there after the fetchers and the controller */
	struct tls_ctx *ib_tls;
	bool ib_tls_check_host; /* ssl.endpoint.identification.algorithm=https */
	/* the SASL login of the same connections when the inter-broker listener is SASL_SSL
	 * (klisten_inter_broker_sasl) */
	bool ib_sasl;
	int ib_sasl_mech; /* enum ksasl_mech */
	char ib_sasl_user[256], ib_sasl_pass[256];
	struct ksauth_conf *sasl; /* the SASL listeners' mechanisms and users (api/ksauth), or NULL */
	struct kb_zk *zk;
	LIST_HEAD(, kb_topic) topics;
	int32_t ntopics;
	struct kb_node *nodes; /* live brokers (from /brokers/ids) */
	int32_t nnodes;
	char cluster_id[64];
	struct kcontroller *kc; /* the controller role (controller/kcontroller), made by kb_cluster_start */
	struct event *register_retry;	 /* kb_zkmeta: registering again in a second */
	struct kb_zkmeta_refresh *refreshing; /* kb_zkmeta: topics being read, one read of each at a time */
	struct kb_shutdown *shut;	 /* a controlled shutdown in progress */
	struct kctl_srv *ctl_srv;	 /* our control-plane listener (the controller's requests) */
	struct kctl_probe *ctl_probe;	 /* is the controller whose connection broke still there? */
	struct kb_metrics *metrics;	 /* request counters and the /metrics endpoint */
	struct kb_events *events;	 /* kb_events: the timeline of observed cluster events */
	struct kb_page *page;		 /* kb_page: the live cluster page (/ and /api/cluster) */
	int32_t ctl_probe_id;		 /* the controller it probes */
	int32_t ctl_silent_id;		 /* the controller whose silence it reports */
	int64_t ctl_probe_czxid;	 /* their /controller znodes' czxid then (0: unknown) */
	int64_t ctl_silent_czxid;
	bool registered;
	LIST_HEAD(, kconn) conns;
	LIST_HEAD(, kwait) waits;
	LIST_HEAD(, kflushwait) flush_waits;
	struct fsyncq *fsq; /* the fsync worker of every partition log's flush policy */
	struct kclean *cleaner; /* the log cleaner (log.cleaner.enable), NULL when disabled */
	struct event *clean;	/* every log.cleaner.backoff.ms: krm_clean */
	struct krm *rm;	    /* the replica manager: every local partition log and its HW */
	struct kb_groups *groups; /* the group coordinator (kb_groups), NULL when not started */
	struct kb_txns *txns;	  /* the transaction coordinator (kb_txns), NULL when not started */
	struct kfetcher *fetcher; /* the follower fetchers (one connection per leader), fed by rm */
	LIST_HEAD(, kprodwait) prod_waits; /* acks=all produces held in rm's purgatory */
	struct kfpurg *fpurg; /* fetches long-polling (api/kfpurg), made at the first one */
	struct event *wake;	 /* deferred: retry waiting requests after appends / metadata */
	struct event *tick;	 /* 100 ms: request deadlines */
	struct event *housekeep; /* retention, roll, time-based flush */
	uint64_t appends;
	bool stopping;
	int exit_code; /* non-zero: the loop was stopped by a fatal condition (kb_cluster_refused) */
	struct klog_opts default_opts; /* in effect: static_opts with the dynamic broker configs */
	struct klog_opts static_opts;  /* from server.properties */
	struct kb_tconf *dyn_default;  /* /config/brokers/<default> (kb_dynconf) */
	int32_t ndyn_default;
	struct kb_tconf *dyn_mine; /* /config/brokers/<broker.id> */
	int32_t ndyn_mine;
	int64_t config_change_seq; /* the newest /config/changes notification handled, -1 none */
	struct kb_acl *acl; /* the authorizer (kb_acl), NULL when authorizer.class.name is empty */
	struct kb_pid *pid; /* the producer id allocator (kb_pid), made at its first use */
};

int64_t kb_now_ms(void);

/* kb_broker.c: the metadata cache */
struct kb_topic *kb_topic_find(struct broker *b, const char *name);
struct kb_part *kb_part_find(struct broker *b, const char *topic, int32_t part, struct kb_topic **t_out);
/* Kafka's metric-name collision rule: the existing topics (deleting ones included) that differ
 * from name only by '.' against '_' ("a.b" and "a_b"), listed ", "-separated in out. Returns how
 * many there are; name itself (an exact match) is not counted. */
int kb_topic_collisions(struct broker *b, const char *name, char *out, size_t n);
/* unclean.leader.election.enable of a topic: 1, 0, or -1 (none set: the broker's default). */
int kb_topic_unclean(const struct kb_topic *t);
/* The replica manager's view of a topic's configuration. */
void kb_topic_krm_conf(const struct kb_topic *t, struct krm_conf *c);
/* Hands the partition state of p (read from its state znode: for now the LeaderAndIsr) to the
 * replica manager when this broker is a replica, or removes the local replica when it is not;
 * for __consumer_offsets, the group coordinator then follows the leadership (kb_groups). */
void kb_part_apply_state(struct broker *b, struct kb_topic *t, struct kb_part *p);
/* Derives a topic's log options from the broker's defaults and its overrides; INVALID_CONFIG
 * (a Kafka error code) names a bad one in why. */
int kb_topic_apply_conf(struct broker *b, struct kb_topic *t, char *why, size_t wn);
/* Frees the cache's entry t (NULL ok). Its replicas are the replica manager's: a deleted
 * topic's are removed with krm_remove first (kb_zkmeta), at shutdown krm_free closes them. */
void kb_topic_free(struct kb_topic *t);
void kb_wake(struct broker *b);

#endif
