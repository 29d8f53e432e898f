/*
 * zk_server_int — the coordinator server's private layouts and the functions its modules
 * (zk_server, zk_conn, zk_prep, zk_read, zk_quorum, zk_reconfig, zk_4lw, zk_maint) call across
 * each other. Included by those modules only; everyone else sees zk_server.h. Every function
 * declared here runs on the loop thread.
 */
#ifndef SAMSA_ZK_SERVER_INT_H
#define SAMSA_ZK_SERVER_INT_H

#include "buf.h"
#include "jute.h"
#include "net.h"
#include "raft.h"
#include "zk_acl.h"
#include "zk_config.h"
#include "zk_db.h"
#include "zk_peer.h"
#include "zk_tree.h"
#include "zk_types.h"

#include <event2/event.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* the log module name of every part of the server */
#define ZK_SRV_MOD "zk_server"

#define ZK_MAX_AUTH_IDS 16 /* == ZK_PEER_MAX_IDS, so a connection's ids fit a Forward */

enum zk_conn_state { ZK_CONN_HANDSHAKE, ZK_CONN_ACTIVE, ZK_CONN_CLOSING };

/* A frame waiting for the log to be durable up to zxid. On a follower, a write forwarded to
 * the leader holds a placeholder (zxid ZK_HELD_WAIT, the request kept in data) that becomes its
 * reply when the write's txn is applied here, so later replies queue behind it. */
#define ZK_HELD_WAIT INT64_MAX
struct zk_held {
	struct zk_held *next;
	int64_t zxid;
	int32_t xid;	  /* placeholders: the request's xid */
	bool placeholder;
	bool update;	/* the reply to a write (updatelatency rather than readlatency) */
	uint64_t t0_us; /* when the request arrived (0 for events), for latency figures */
	size_t len;
	uint8_t data[];
};

struct zk_conn {
	struct zk_server *srv;
	struct net_conn *nc;
	struct zk_sasl_conv *sasl; /* its SASL exchange, NULL before the first SASL request */
	struct zk_conn *prev, *next; /* srv->conns */
	struct zk_conn *held_next;   /* srv->held_list, when held_head != NULL */
	bool on_held_list;
	enum zk_conn_state state;
	int64_t session_id;
	int32_t timeout;
	bool has_read_only;
	bool close_when_flushed;
	bool paused;
	char ip[INET6_ADDRSTRLEN];
	uint16_t port; /* the client's, for stat and cons */
	struct zk_auth_id ids[ZK_MAX_AUTH_IDS]; /* [0] is ("ip", ip); strings owned */
	int32_t n_ids;
	struct zk_held *held_head, *held_tail;
	size_t held_bytes;
	/* figures for `cons` */
	uint64_t recv, sent;
	int64_t last_zxid;	/* the zxid of the last answer to a request (or connect) */
	int32_t last_cxid;
	int32_t last_op;	/* the last request's type; ZK_OP_ERROR after a refused write */
	int64_t established_ms;
	int64_t last_resp_ms;	/* monotonic, as ZooKeeper's elapsed-time clock */
	uint64_t lat_min, lat_max, lat_sum, lat_n, lat_last;
	bool forwarded;		/* the leader's stand-in for a follower's client: replies go nowhere */
	int64_t pending_session; /* follower: a new session forwarded, not yet committed */
	uint8_t pending_passwd[ZK_PASSWD_LEN];
	/* follower: writes forwarded and not applied here yet (placeholders in held). While there is
	 * one, the connection's next requests wait in defer (raw frames, in order) and run once it is
	 * applied, so a read sees the session's own earlier writes (ZooKeeper's FIFO client order:
	 * its CommitProcessor holds a session's requests behind its pending write). */
	uint32_t placeholders;
	struct zk_held *defer_head, *defer_tail;
	size_t defer_bytes;
};

/* what a follower sends the leader for a client (zk_quorum_forward): a Forward of that kind, or
 * a Sync */
enum { ZK_FWD_WRITE = ZK_PEER_FWD_WRITE, ZK_FWD_CREATE = ZK_PEER_FWD_CREATE, ZK_FWD_CLOSE = ZK_PEER_FWD_CLOSE,
       ZK_FWD_SYNC = 4 };

/* The ensemble side of a server (NULL when standalone). */
struct zk_quorum {
	uint64_t myid;
	struct raft *raft;
	struct zk_peer *peer;
	struct zk_raftlog *rlog;
	struct net_timer *timer;
	enum raft_role role;	/* as last seen, to log changes */
	uint64_t leader, term;
	bool serving;
	int64_t *touched;	/* follower: sessions with activity since the last TOUCH */
	size_t n_touched, cap_touched;
	uint32_t touch_ticks;
	int64_t snap_term;	/* the term of the snapshot being written */
	struct event *kick;	/* deferred: carry out the core's effects once per loop turn */
	/* membership: the dynamic configuration (/zookeeper/config) and every address known */
	struct zk_quorum_server members[ZK_MAX_SERVERS];
	int n_members;
	struct zk_quorum_server known[4 * ZK_MAX_SERVERS];
	int n_known;
	bool config_written; /* /zookeeper/config holds the ensemble (the first leader writes it) */
	struct fsyncq *fsq; /* runs the Raft log's fdatasync off the loop (zk_quorum_sync_ask) */
};

struct zk_server {
	struct event_base *base;
	const struct zk_config *cfg;
	struct zk_db db;
	struct zk_watch *watches;
	struct zk_txnlog *log;
	struct net_listener *listener;
	struct net_listener *secure_listener; /* secureClientPort, NULL when none */
	struct tls_ctx *tls;		       /* its TLS material */
	uint64_t tls_generation;	       /* the material's generation last logged */
	struct zk_conn *conns;
	size_t n_conns;
	struct zk_conn *held_list;
	int64_t durable_zxid;
	struct jute_arena arena;
	struct wbuf out; /* reply scratch */
	struct wbuf rec; /* txn record scratch */
	struct net_timer *tick_timer;
	struct net_timer *purge_timer;
	struct net_timer *container_timer;
	struct event *sigchld;
	struct event *drain; /* deferred: run the requests that waited for a forwarded write */
	pid_t snap_pid;
	int64_t snap_zxid;
	int64_t txns_since_snap;
	int64_t snap_trigger; /* snapCount/2 + random, as ZooKeeper does */
	int64_t fire_zxid;    /* zxid of the txn whose watches are firing */
	uint64_t packets_received, packets_sent;
	uint64_t lat_min, lat_max, lat_sum, lat_n;
	int64_t start_ms;
	int64_t start_mono_ms;	/* for uptime */
	unsigned four_lw_mask;
	bool reply_update;	/* the request being handled is a write (its reply counts as updatelatency) */
	uint64_t auth_failed;	/* addAuth refused (ZooKeeper's auth_failed_count) */
	struct zk_sasl_users *sasl_users; /* the JAAS Server section's users, NULL: SASL not configured */
	uint64_t connection_requests; /* ConnectRequests received (connection_request_count) */
	struct zk_quorum *q;
	struct zk_metrics *metrics; /* figures beyond the counters above, and /metrics */
	struct zk_admin *admin;	    /* the AdminServer, when admin.enableServer */
};

/* ---- clocks ---- */

static inline int64_t zk_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline uint64_t zk_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline int64_t zk_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- zk_conn.c ---- */

void zk_conn_send(struct zk_conn *conn, int64_t zxid, uint64_t t0_us);
void zk_conn_flush_held(struct zk_conn *conn);
void zk_conn_durable(int64_t zxid, void *arg);
void zk_conn_set_state(struct zk_conn *conn, enum zk_conn_state st);
void zk_conn_finish(struct zk_conn *conn);
void zk_conn_free(struct zk_conn *conn);
void zk_conn_closed(struct net_conn *nc, int err, void *arg);
size_t zk_conn_reply_begin(struct zk_server *srv, int32_t xid, int64_t zxid, int32_t err);
void zk_conn_reply_end(struct zk_conn *conn, size_t off, uint64_t t0_us);
void zk_conn_reply_err(struct zk_conn *conn, int32_t xid, int64_t zxid, int32_t err, uint64_t t0_us);
void zk_conn_notify(void *watcher, enum zk_event_type type, const char *path, void *arg);
void zk_conn_on_event(const char *path, enum zk_event_type type, const struct zk_acl *acl, int32_t n_acl,
		      void *arg);
void zk_conn_on_session_closed(int64_t session_id, void *arg);
bool zk_conn_allowed(struct zk_conn *conn, const struct zk_node *node, int32_t perm);

/* ---- zk_prep.c ---- */

void zk_prep_commit(struct zk_server *srv, const struct zk_txn *txn);
void zk_prep_txn_init(struct zk_server *srv, struct zk_txn *txn, enum zk_txn_type type,
	int64_t session_id, int32_t cxid);
void zk_prep_put_result(struct zk_server *srv, int32_t type, const struct zk_txn *op,
	const struct zk_stat *st);
void zk_prep_handle_write(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
	uint64_t t0);
bool zk_prep_is_write(int32_t type);
enum zk_multi_shape {
	ZK_MULTI_OK,
	ZK_MULTI_EMPTY,	    /* MARSHALLINGERROR, no body */
	ZK_MULTI_DONE_ONLY, /* MARSHALLINGERROR, a body of the closing multi header only */
};
/*
 * What ZooKeeper 3.8 makes of a multi or multiRead before doing any op: an op it cannot hold,
 * or reads mixed with writes, fail the record's decoding (no body); a multi of reads fails too;
 * a multiRead of writes fails on its first op, and a multi with a null path in its prep step,
 * each with an empty list of results.
 */
enum zk_multi_shape zk_prep_multi_shape(const struct jute_req *req);
/* The type of a multi op's result: ZooKeeper answers create2 in a multi as create (the path
 * only) and createContainer / createTTL as create2 (path and Stat). */
int32_t zk_prep_multi_result_type(int32_t type);
void zk_prep_handle_multi(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
	uint64_t t0);
void zk_prep_handle_close_session(struct zk_server *srv, struct zk_conn *conn,
	const struct jute_req *req, uint64_t t0);

/* ---- zk_read.c ---- */

void zk_read_handle(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req, uint64_t t0);
void zk_read_handle_multi(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
	uint64_t t0);
void zk_read_handle_exists(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
	uint64_t t0);
void zk_read_handle_get_acl(struct zk_server *srv, struct zk_conn *conn,
	const struct jute_req *req, uint64_t t0);
void zk_read_handle_all_children(struct zk_server *srv, struct zk_conn *conn,
	const struct jute_req *req, uint64_t t0);
void zk_read_handle_get_ephemerals(struct zk_server *srv, struct zk_conn *conn,
	const struct jute_req *req, uint64_t t0);
void zk_read_handle_set_watches(struct zk_server *srv, struct zk_conn *conn,
	const struct jute_req *req, uint64_t t0);
/* A SASL request (opcode 102): one step of the DIGEST-MD5 exchange (zk_sasl); a failure is
 * answered AUTHFAILED and the connection closed, as ZooKeeper does. */
void zk_read_handle_sasl(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req, uint64_t t0);
void zk_read_handle_auth(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
	uint64_t t0);
void zk_read_handle_whoami(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
	uint64_t t0);
void zk_read_handle_watch_ops(struct zk_server *srv, struct zk_conn *conn,
	const struct jute_req *req, uint64_t t0);

/* ---- zk_quorum.c ---- */

bool zk_quorum_serving(const struct zk_server *srv);
void zk_quorum_touch(struct zk_server *srv, int64_t session_id);
int zk_quorum_forward(struct zk_server *srv, struct zk_conn *conn, int kind, const uint8_t *req,
	size_t len, int32_t xid);
void zk_quorum_apply(struct zk_server *srv, const struct raft_entry *e);
void zk_quorum_ready(struct zk_server *srv);
int zk_quorum_retouch(int64_t id, int32_t timeout_ms, const uint8_t *passwd, void *arg);
int zk_quorum_new(struct zk_server *srv, char *errbuf, size_t errlen);
void zk_quorum_free(struct zk_quorum *q);
void zk_quorum_snapshot_done(struct zk_server *srv);

/* ---- zk_reconfig.c ---- */

void zk_reconfig_put_config(struct zk_server *srv);
void zk_reconfig_learn(struct zk_quorum *q, const struct zk_quorum_server *sv);
void zk_reconfig_applied(struct zk_server *srv, const struct zk_txn *txn);
/* initial: the first leader's record of the static configuration (version=0, as ZooKeeper's) */
int64_t zk_reconfig_write_config(struct zk_server *srv, struct zk_conn *conn, int32_t xid,
	const struct zk_quorum_server *sv, int n, bool initial);
/* "server.N=host:peer:election:role[;client]\n" lines of sv into out; the length written. */
size_t zk_reconfig_format(const struct zk_quorum_server *sv, int n, char *out, size_t cap);
void zk_reconfig_handle(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req, uint64_t t0);
void zk_reconfig_step(struct zk_server *srv);
void zk_reconfig_load(struct zk_server *srv);

/* ---- zk_4lw.c ---- */

unsigned zk_4lw_parse_whitelist(const char *list);
int zk_4lw_preface(struct net_conn *nc, const uint8_t first4[4], void *arg);

/* The version every answer names (srvr, mntr, the AdminServer). */
#define ZK_VERSION_STRING "3.8.0-samsa-0.1.0"
/* leader / follower / observer / standalone */
const char *zk_4lw_mode(const struct zk_server *srv);
/* the process's open descriptors, -1 if /proc cannot tell */
int zk_4lw_count_fds(void);
/* bytes in the files under path, depth directories deep (ZooKeeper's getDirSize) */
int64_t zk_4lw_dir_size(const char *path, int depth);
/* the name ZooKeeper's cons gives an operation ("GETD", "NA", ...) */
const char *zk_4lw_op_name(int32_t op);

/* ---- zk_metrics.c ---- */

/* One of mntr's keys (without "zk_") and its value, as the 4lw and the AdminServer's monitor
 * show it. */
enum zk_mntr_kind { ZK_MNTR_INT, ZK_MNTR_DOUBLE, ZK_MNTR_STR };
struct zk_mntr_item {
	const char *key;
	enum zk_mntr_kind kind;
	int64_t i;
	double d;
	char s[128];
};
typedef void (*zk_mntr_cb)(const struct zk_mntr_item *it, void *arg);
/* Creates srv->metrics and, with ZooKeeper's Prometheus provider configured, serves /metrics on
 * metricsProvider.httpHost:httpPort. 0, or ERR_IO (the port taken, ...) / ERR_NOMEM with text. */
int zk_metrics_new(struct zk_server *srv, char *errbuf, size_t errlen);
void zk_metrics_free(struct zk_metrics *m); /* NULL ok */
/* The bound /metrics port, -1 when not serving. */
int zk_metrics_port(const struct zk_server *srv);
/* A reply to a request left: its latency (us since arrival), its size (bytes, no length prefix). */
void zk_metrics_reply(struct zk_server *srv, bool update, uint64_t us, size_t size);
/* The ensemble started (true) or stopped serving; the server became leader or stopped being it. */
void zk_metrics_serving(struct zk_server *srv, bool serving);
void zk_metrics_leading(struct zk_server *srv, bool leading);
/* Client requests received and not answered yet: replies held for durability, writes forwarded
 * to the leader, requests waiting behind them. */
uint64_t zk_metrics_outstanding(const struct zk_server *srv);
/* last / min / max reply size (ZooKeeper's client_response_stats; -1 before any reply) */
void zk_metrics_response_sizes(const struct zk_server *srv, int64_t *last, int64_t *min, int64_t *max);
/* Calls cb for each of mntr's keys, in mntr's order. */
void zk_metrics_mntr(struct zk_server *srv, zk_mntr_cb cb, void *arg);

/* ---- zk_admin.c ---- */

/* With admin.enableServer, serves ZooKeeper's AdminServer commands on admin.serverAddress:
 * serverPort (srv->admin). 0, or ERR_IO / ERR_NOMEM with text. */
int zk_admin_new(struct zk_server *srv, char *errbuf, size_t errlen);
void zk_admin_free(struct zk_admin *a); /* NULL ok */
int zk_admin_port(const struct zk_server *srv); /* -1 when not serving */

/* ---- zk_maint.c ---- */

void zk_maint_tick(void *arg);
void zk_maint_sigchld(evutil_socket_t sig, short what, void *arg);
void zk_maint_purge(void *arg);
void zk_maint_reap_containers(void *arg);

#endif
