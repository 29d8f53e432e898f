/*
 * zk_server — the coordinator's client port and request pipeline (see zk_server.h).
 *
 * Life of a request (ZooKeeper's Prep -> Sync -> Final processors, folded into one thread):
 *   frame -> jute_decode_request -> reads: answered from the tree at once;
 *   writes: checked against the tree ("prep", same order of checks as ZooKeeper's
 *   PrepRequestProcessor) -> a struct zk_txn (an ERROR txn if a check failed, so zxids stay
 *   dense as in ZooKeeper) -> appended to the log -> applied to the tree (firing watches) ->
 *   reply queued. Every queued frame carries the zxid of the state it reveals; frames leave
 *   a connection in order, each once the log is durable up to its zxid (zk_server_durable).
 *
 * Connection states: HANDSHAKE (first frame must be a ConnectRequest) -> ACTIVE -> CLOSING
 * (no more requests read; queued frames still flushed, then closed).
 */
#include "zk_server.h"

#include "buf.h"
#include "err.h"
#include "jute.h"
#include "log.h"
#include "net.h"
#include "quorum.pb-c.h"
#include "raft.h"
#include "zk_acl.h"
#include "zk_config.h"
#include "zk_peer.h"
#include "zk_raftlog.h"
#include "zk_db.h"
#include "zk_session.h"
#include "zk_snap.h"
#include "zk_tree.h"
#include "zk_txnlog.h"
#include "zk_txnrec.h"
#include "zk_types.h"
#include "zk_watch.h"

#include <arpa/inet.h>
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const ZK_SRV_MOD = "zk_server";

#define ZK_VERSION_STRING "3.8.0-samsa-0.1.0"
#define ZK_HELD_PAUSE_BYTES (4u << 20)
#define ZK_MAX_AUTH_IDS 16

enum zk_conn_state { ZK_CONN_HANDSHAKE, ZK_CONN_ACTIVE, ZK_CONN_CLOSING };

static const char *const zk_conn_state_names[] = { "HANDSHAKE", "ACTIVE", "CLOSING" };

/* A frame waiting for the log to be durable up to zxid. On a follower, a write forwarded to
 * the leader holds a placeholder (zxid ZK_HELD_WAIT, the request kept in data) that becomes its
 * reply when the write's txn is applied here, so later replies queue behind it. */
#define ZK_HELD_WAIT INT64_MAX
struct zk_held {
	struct zk_held *next;
	int64_t zxid;
	int32_t xid;	  /* placeholders: the request's xid */
	bool placeholder;
	uint64_t t0_us; /* when the request arrived (0 for events), for latency figures */
	size_t len;
	uint8_t data[];
};

struct zk_conn {
	struct zk_server *srv;
	struct net_conn *nc;
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
	struct zk_auth_id ids[ZK_MAX_AUTH_IDS]; /* [0] is ("ip", ip); strings owned */
	int32_t n_ids;
	struct zk_held *held_head, *held_tail;
	size_t held_bytes;
	/* figures for `cons` */
	uint64_t recv, sent;
	int64_t last_zxid;
	int32_t last_cxid;
	int32_t last_op;
	int64_t established_ms;
	int64_t last_resp_ms;
	uint64_t lat_min, lat_max, lat_sum, lat_n;
	bool forwarded;		/* the leader's stand-in for a follower's client: replies go nowhere */
	int64_t pending_session; /* follower: a new session forwarded, not yet committed */
	uint8_t pending_passwd[ZK_PASSWD_LEN];
};

enum { ZK_FWD_WRITE = 1, ZK_FWD_CREATE = 2, ZK_FWD_CLOSE = 3, ZK_FWD_SYNC = 4 };

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
	/* the log's fdatasync runs on a worker thread, so the loop goes on replicating meanwhile:
	 * appended[seq] is the last persist_seq written; the worker syncs and reports synced */
	pthread_t sync_thread;
	bool sync_started;
	pthread_mutex_t sync_mu;
	pthread_cond_t sync_cv;
	uint64_t sync_want;  /* a sync of everything appended up to this seq is asked for */
	uint64_t sync_done;  /* ... and this seq is durable */
	bool sync_busy, sync_stop;
	int sync_err;
	uint64_t appended;   /* the last persist_seq appended (page cache) */
	struct event *synced; /* worker -> loop: sync_done moved */
};

struct zk_server {
	struct event_base *base;
	const struct zk_config *cfg;
	struct zk_db db;
	struct zk_watch *watches;
	struct zk_txnlog *log;
	struct net_listener *listener;
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
	pid_t snap_pid;
	int64_t snap_zxid;
	int64_t txns_since_snap;
	int64_t snap_trigger; /* snapCount/2 + random, as ZooKeeper does */
	int64_t fire_zxid;    /* zxid of the txn whose watches are firing */
	uint64_t packets_received, packets_sent;
	uint64_t lat_min, lat_max, lat_sum, lat_n;
	int64_t start_ms;
	unsigned four_lw_mask;
	struct zk_quorum *q;
};

static bool zk_quorum_serving(const struct zk_server *srv);
static void zk_quorum_touch(struct zk_server *srv, int64_t session_id);
static int zk_quorum_forward(struct zk_server *srv, struct zk_conn *conn, int kind, const uint8_t *req,
			     size_t len, int32_t xid);
static void zk_quorum_after(struct zk_server *srv);
static void zk_quorum_config_applied(struct zk_server *srv, const struct zk_txn *txn);
static void zk_handle_reconfig(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req, uint64_t t0);
static void zk_put_config(struct zk_server *srv);
static void zk_quorum_load_config(struct zk_server *srv);
static void zk_quorum_sync_quiesce(struct zk_quorum *q);
static void zk_quorum_ready(struct zk_server *srv);

/* ---- clocks ---- */

static int64_t zk_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t zk_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int64_t zk_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- four-letter words ---- */

static const char *const zk_4lw_names[] = { "ruok", "srvr", "stat", "mntr", "conf", "cons",
					     "wchs", "isro", "envi", "dirs", "crst", "srst" };
#define ZK_4LW_N (sizeof(zk_4lw_names) / sizeof(zk_4lw_names[0]))

static unsigned zk_4lw_parse_whitelist(const char *list)
{
	unsigned mask = 0;
	const char *p = list ? list : "";
	while (*p) {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		const char *start = p;
		while (*p && *p != ',' && *p != ' ' && *p != '\t')
			p++;
		size_t n = (size_t)(p - start);
		if (n == 1 && *start == '*')
			return ~0u;
		for (unsigned i = 0; i < ZK_4LW_N; i++)
			if (n == 4 && !memcmp(start, zk_4lw_names[i], 4))
				mask |= 1u << i;
	}
	return mask;
}

/* ---- connections and output ---- */

static void zk_conn_flush_held(struct zk_conn *conn);

static void zk_record_latency(struct zk_server *srv, struct zk_conn *conn, uint64_t t0_us)
{
	if (!t0_us)
		return;
	uint64_t us = zk_mono_us() - t0_us;
	uint64_t ms = us / 1000;
	if (!srv->lat_n || ms < srv->lat_min)
		srv->lat_min = ms;
	if (ms > srv->lat_max)
		srv->lat_max = ms;
	srv->lat_sum += us;
	srv->lat_n++;
	if (!conn->lat_n || ms < conn->lat_min)
		conn->lat_min = ms;
	if (ms > conn->lat_max)
		conn->lat_max = ms;
	conn->lat_sum += us;
	conn->lat_n++;
}

static void zk_conn_write(struct zk_conn *conn, const uint8_t *p, size_t len, uint64_t t0_us)
{
	if (!conn->nc)
		return;
	net_conn_send(conn->nc, p, len);
	conn->sent++;
	conn->srv->packets_sent++;
	conn->last_resp_ms = zk_wall_ms();
	zk_record_latency(conn->srv, conn, t0_us);
}

/*
 * Queues the frame in srv->out (already length-prefixed) on conn; it leaves once the log is
 * durable up to zxid and every frame queued before it has left.
 */
static void zk_conn_send(struct zk_conn *conn, int64_t zxid, uint64_t t0_us)
{
	struct zk_server *srv = conn->srv;
	if (conn->forwarded)
		return;
	if (srv->out.err) {
		log_error(ZK_SRV_MOD, "reply to %s not encoded: %s", conn->ip, err_str(srv->out.err));
		net_conn_close(conn->nc, srv->out.err);
		return;
	}
	if (!conn->held_head && zxid <= srv->durable_zxid) {
		zk_conn_write(conn, srv->out.p, srv->out.len, t0_us);
		return;
	}
	struct zk_held *h = malloc(sizeof(*h) + srv->out.len);
	if (!h) {
		net_conn_close(conn->nc, ERR_NOMEM);
		return;
	}
	h->next = NULL;
	h->zxid = zxid;
	h->xid = 0;
	h->placeholder = false;
	h->t0_us = t0_us;
	h->len = srv->out.len;
	memcpy(h->data, srv->out.p, srv->out.len);
	if (conn->held_tail)
		conn->held_tail->next = h;
	else
		conn->held_head = h;
	conn->held_tail = h;
	conn->held_bytes += h->len;
	if (!conn->on_held_list) {
		conn->held_next = srv->held_list;
		srv->held_list = conn;
		conn->on_held_list = true;
	}
	if (conn->held_bytes > ZK_HELD_PAUSE_BYTES && !conn->paused && conn->nc) {
		net_conn_pause_read(conn->nc);
		conn->paused = true;
	}
}

static void zk_conn_maybe_close(struct zk_conn *conn)
{
	if (conn->close_when_flushed && !conn->held_head && conn->nc)
		net_conn_close_after_flush(conn->nc);
}

static void zk_conn_flush_held(struct zk_conn *conn)
{
	struct zk_server *srv = conn->srv;
	while (conn->held_head && !conn->held_head->placeholder && conn->held_head->zxid <= srv->durable_zxid) {
		struct zk_held *h = conn->held_head;
		conn->held_head = h->next;
		if (!conn->held_head)
			conn->held_tail = NULL;
		conn->held_bytes -= h->len;
		zk_conn_write(conn, h->data, h->len, h->t0_us);
		free(h);
	}
	if (conn->paused && conn->held_bytes < ZK_HELD_PAUSE_BYTES / 2 && conn->nc) {
		net_conn_resume_read(conn->nc);
		conn->paused = false;
	}
	zk_conn_maybe_close(conn);
}

/* The log is durable up to zxid: release every frame that waited for it. */
static void zk_server_durable(int64_t zxid, void *arg)
{
	struct zk_server *srv = arg;
	if (zxid > srv->durable_zxid)
		srv->durable_zxid = zxid;
	struct zk_conn **pp = &srv->held_list;
	while (*pp) {
		struct zk_conn *conn = *pp;
		zk_conn_flush_held(conn);
		if (!conn->held_head) {
			*pp = conn->held_next;
			conn->on_held_list = false;
			conn->held_next = NULL;
		} else {
			pp = &conn->held_next;
		}
	}
}

/*
 * HANDSHAKE -> ACTIVE   the ConnectRequest was accepted (a session is attached)
 * HANDSHAKE -> CLOSING  refused, or a four-letter word
 * ACTIVE    -> CLOSING  closeSession, expiry, a stale connection of a moved session, errors
 * CLOSING is final: no request is read, queued frames still leave, then the socket closes.
 */
static void zk_conn_set_state(struct zk_conn *conn, enum zk_conn_state st)
{
	if (conn->state == st)
		return;
	assert(conn->state != ZK_CONN_CLOSING && !(conn->state == ZK_CONN_ACTIVE && st == ZK_CONN_HANDSHAKE));
	log_debug(ZK_SRV_MOD, "connection %s session 0x%" PRIx64 ": %s -> %s", conn->ip,
		  (uint64_t)conn->session_id, zk_conn_state_names[conn->state], zk_conn_state_names[st]);
	conn->state = st;
}

/* Stop reading requests; close once every queued frame has left. */
static void zk_conn_finish(struct zk_conn *conn)
{
	zk_conn_set_state(conn, ZK_CONN_CLOSING);
	conn->close_when_flushed = true;
	zk_conn_maybe_close(conn);
}

static void zk_conn_free(struct zk_conn *conn)
{
	struct zk_server *srv = conn->srv;
	if (conn->on_held_list) {
		struct zk_conn **pp = &srv->held_list;
		while (*pp && *pp != conn)
			pp = &(*pp)->held_next;
		if (*pp)
			*pp = conn->held_next;
	}
	while (conn->held_head) {
		struct zk_held *h = conn->held_head;
		conn->held_head = h->next;
		free(h);
	}
	if (conn->prev)
		conn->prev->next = conn->next;
	else
		srv->conns = conn->next;
	if (conn->next)
		conn->next->prev = conn->prev;
	srv->n_conns--;
	zk_watch_remove_watcher(srv->watches, conn);
	if (conn->session_id && zk_sessions_exists(srv->db.sessions, conn->session_id) &&
	    zk_sessions_get_owner(srv->db.sessions, conn->session_id) == conn)
		zk_sessions_set_owner(srv->db.sessions, conn->session_id, NULL);
	for (int32_t i = 0; i < conn->n_ids; i++) {
		free((char *)conn->ids[i].scheme);
		free((char *)conn->ids[i].id);
	}
	free(conn);
}

static void zk_conn_closed(struct net_conn *nc, int err, void *arg)
{
	struct zk_conn *conn = arg;
	(void)nc;
	log_debug(ZK_SRV_MOD, "connection %s closed: %s", conn->ip, err_str(err));
	conn->nc = NULL;
	zk_conn_free(conn);
}

/* ---- reply encoding ---- */

static size_t zk_reply_begin(struct zk_server *srv, int32_t xid, int64_t zxid, int32_t err)
{
	wbuf_reset(&srv->out);
	size_t off = jute_frame_begin(&srv->out);
	jute_put_reply_header(&srv->out, xid, zxid, err);
	return off;
}

static void zk_reply_end(struct zk_conn *conn, size_t off, uint64_t t0_us)
{
	struct zk_server *srv = conn->srv;
	jute_frame_end(&srv->out, off);
	zk_conn_send(conn, srv->db.last_zxid, t0_us);
}

static void zk_reply_err(struct zk_conn *conn, int32_t xid, int64_t zxid, int32_t err, uint64_t t0_us)
{
	size_t off = zk_reply_begin(conn->srv, xid, zxid, err);
	zk_reply_end(conn, off, t0_us);
}

/* A notification for one watcher (a connection). Called by zk_watch_trigger. */
static void zk_server_notify(void *watcher, enum zk_event_type type, const char *path, void *arg)
{
	struct zk_server *srv = arg;
	struct zk_conn *conn = watcher;
	if (!conn->nc || conn->state != ZK_CONN_ACTIVE)
		return;
	wbuf_reset(&srv->out);
	size_t off = jute_frame_begin(&srv->out);
	jute_put_reply_header(&srv->out, ZK_XID_NOTIFICATION, -1, ZK_OK);
	jute_put_watcher_event(&srv->out, type, ZK_STATE_SYNCCONNECTED, path);
	jute_frame_end(&srv->out, off);
	zk_conn_send(conn, srv->fire_zxid, 0);
}

/* zk_db's event hook: route tree events to the watch manager. */
static void zk_server_on_event(const char *path, enum zk_event_type type, void *arg)
{
	struct zk_server *srv = arg;
	zk_watch_trigger(srv->watches, path, type, zk_server_notify, srv);
}

static void zk_server_on_session_closed(int64_t session_id, void *arg)
{
	struct zk_server *srv = arg;
	for (struct zk_conn *c = srv->conns; c; c = c->next)
		if (c->session_id == session_id && c->state != ZK_CONN_CLOSING)
			zk_conn_finish(c);
}

/* ---- paths ---- */

/*
 * ZooKeeper's PathUtils.validatePath on UTF-8 input: absolute, no trailing '/', no empty, "."
 * or ".." components, and none of the characters ZooKeeper refuses (U+0000, U+0001-U+001F,
 * U+007F-U+009F, U+D800-U+F8FF, U+FFF0-U+FFFF; code points above U+FFFF are surrogate pairs in
 * Java, so refused too; malformed UTF-8 decodes to U+FFFD, refused).
 */
static bool zk_path_valid(const char *path)
{
	size_t len = strlen(path);
	if (len == 0 || path[0] != '/')
		return false;
	if (len == 1)
		return true;
	if (path[len - 1] == '/')
		return false;
	for (size_t i = 1; i < len;) {
		unsigned char c = (unsigned char)path[i];
		if (c == '/' && path[i - 1] == '/')
			return false;
		if (c == '.' && path[i - 1] == '/') {
			size_t j = i + 1;
			if (j < len && path[j] == '.')
				j++;
			if (j == len || path[j] == '/')
				return false;
		}
		uint32_t cp;
		size_t n;
		if (c < 0x80) {
			cp = c;
			n = 1;
		} else if ((c & 0xe0) == 0xc0 && i + 1 < len) {
			cp = ((uint32_t)(c & 0x1f) << 6) | ((unsigned char)path[i + 1] & 0x3f);
			n = 2;
		} else if ((c & 0xf0) == 0xe0 && i + 2 < len) {
			cp = ((uint32_t)(c & 0x0f) << 12) | (((unsigned char)path[i + 1] & 0x3f) << 6) |
			     ((unsigned char)path[i + 2] & 0x3f);
			n = 3;
		} else {
			return false; /* 4-byte sequences (surrogates in Java) or malformed */
		}
		for (size_t k = 1; k < n; k++)
			if (((unsigned char)path[i + k] & 0xc0) != 0x80)
				return false;
		if (cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0xd800 && cp <= 0xf8ff) ||
		    cp >= 0xfff0)
			return false;
		i += n;
	}
	return true;
}

static bool zk_path_special(const char *path)
{
	return !strcmp(path, "/") || !strcmp(path, "/zookeeper") || !strcmp(path, "/zookeeper/quota") ||
	       !strcmp(path, "/zookeeper/config");
}

/* ---- ACL helpers ---- */

static bool zk_conn_allowed(struct zk_conn *conn, const struct zk_node *node, int32_t perm)
{
	int32_t n;
	const struct zk_acl *acl = zk_node_acl(node, &n);
	return zk_acl_check(acl, n, perm, conn->ids, conn->n_ids) != 0;
}

/* ---- the write path ---- */

/* Logs and applies a txn; fatal if it does not apply (the prep step or the tree is wrong). */
static void zk_server_commit(struct zk_server *srv, const struct zk_txn *txn)
{
	wbuf_reset(&srv->rec);
	int rc = zk_txnrec_encode(txn, &srv->rec);
	if (!rc && srv->q) {
		/* the leader proposes, then applies at once (speculatively): replies and events stay
		 * held until the entry is committed (durable_zxid follows the commit index) */
		uint64_t index = 0;
		rc = raft_propose(srv->q->raft, srv->rec.p, srv->rec.len, &index);
		if (!rc && index != (uint64_t)txn->zxid) {
			log_fatal(ZK_SRV_MOD, "proposed txn 0x%" PRIx64 " got log index 0x%" PRIx64, (uint64_t)txn->zxid,
				  index);
			abort();
		}
		event_active(srv->q->kick, EV_TIMEOUT, 0);
	} else if (!rc) {
		rc = zk_txnlog_append(srv->log, txn->zxid, srv->rec.p, srv->rec.len);
	}
	if (rc) {
		log_fatal(ZK_SRV_MOD, "cannot log txn 0x%" PRIx64 ": %s", (uint64_t)txn->zxid, err_str(rc));
		abort();
	}
	srv->fire_zxid = txn->zxid;
	rc = zk_db_apply(&srv->db, txn);
	if (rc) {
		log_fatal(ZK_SRV_MOD, "txn 0x%" PRIx64 " logged but does not apply: %s",
			  (uint64_t)txn->zxid, err_str(rc));
		abort();
	}
	if (srv->q)
		zk_quorum_config_applied(srv, txn);
	if (srv->log)
		zk_txnlog_flush(srv->log);
	srv->txns_since_snap++;
}

static void zk_txn_init(struct zk_server *srv, struct zk_txn *txn, enum zk_txn_type type,
			int64_t session_id, int32_t cxid)
{
	memset(txn, 0, sizeof(*txn));
	txn->type = type;
	txn->zxid = srv->db.last_zxid + 1;
	txn->time_ms = zk_wall_ms();
	txn->session_id = session_id;
	txn->cxid = cxid;
	txn->data_len = -1;
}

/* Scratch for one prepped op: the resolved path (sequential suffix) and fixed-up ACL. */
struct zk_prep {
	char path[4096];
	struct zk_acl *acl;
	int32_t n_acl;
};

static void zk_prep_free(struct zk_prep *pp)
{
	if (pp->acl)
		zk_acl_list_free(pp->acl, pp->n_acl);
	pp->acl = NULL;
	pp->n_acl = 0;
}

static int32_t zk_check_version(int32_t expected, int32_t current)
{
	return (expected != -1 && expected != current) ? ZK_EBADVERSION : ZK_OK;
}

/*
 * Checks one write op against the current tree, in the order ZooKeeper's PrepRequestProcessor
 * checks, and fills *op (a txn of type CREATE/DELETE/SETDATA/SETACL/CHECK). Returns ZK_OK or
 * the ZooKeeper error code. Strings in *op point into req or pp.
 */
static int32_t zk_prep_op(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
			  struct zk_txn *op, struct zk_prep *pp)
{
	struct zk_tree *tree = srv->db.tree;
	char parent[4096];
	const struct zk_node *node, *pnode;
	struct zk_stat st;

	if (req->bad_string || !req->path)
		return ZK_EBADARGUMENTS;
	op->data_len = -1;
	switch (req->type) {
	case ZK_OP_CREATE:
	case ZK_OP_CREATE2:
	case ZK_OP_CREATECONTAINER:
	case ZK_OP_CREATETTL: {
		int32_t flags = req->type == ZK_OP_CREATECONTAINER ? ZK_CREATE_CONTAINER : req->flags;
		if (flags < 0 || flags > ZK_CREATE_SEQUENTIAL_TTL)
			return ZK_EBADARGUMENTS;
		if (req->type == ZK_OP_CREATETTL || flags == ZK_CREATE_TTL || flags == ZK_CREATE_SEQUENTIAL_TTL)
			return ZK_EUNIMPLEMENTED; /* TTL nodes: extendedTypesEnabled is off */
		bool container = flags == ZK_CREATE_CONTAINER;
		bool sequential = !container && (flags & ZK_CREATE_SEQUENTIAL);
		bool ephemeral = !container && (flags & ZK_CREATE_EPHEMERAL);
		if (container && req->type != ZK_OP_CREATECONTAINER && req->type != ZK_OP_CREATE2 &&
		    req->type != ZK_OP_CREATE)
			return ZK_EBADARGUMENTS;
		const char *slash = strrchr(req->path, '/');
		if (!slash)
			return ZK_EBADARGUMENTS;
		int32_t rc = zk_acl_fixup(req->acl, req->n_acl, conn->ids, conn->n_ids, &pp->acl, &pp->n_acl);
		if (rc)
			return rc;
		size_t plen = (size_t)(slash - req->path);
		if (plen == 0)
			plen = 1;
		if (plen >= sizeof(parent))
			return ZK_EBADARGUMENTS;
		memcpy(parent, req->path, plen);
		parent[plen] = '\0';
		pnode = zk_tree_get(tree, parent);
		if (!pnode)
			return ZK_ENONODE;
		if (!zk_conn_allowed(conn, pnode, ZK_PERM_CREATE))
			return ZK_ENOAUTH;
		zk_node_stat(pnode, &st);
		int n = sequential ? snprintf(pp->path, sizeof(pp->path), "%s%010d", req->path, zk_node_creates(pnode))
				   : snprintf(pp->path, sizeof(pp->path), "%s", req->path);
		if (n < 0 || (size_t)n >= sizeof(pp->path))
			return ZK_EBADARGUMENTS;
		if (!zk_path_valid(pp->path))
			return ZK_EBADARGUMENTS;
		if (zk_tree_get(tree, pp->path))
			return ZK_ENODEEXISTS;
		if (zk_node_owner(pnode) != 0 && zk_node_owner(pnode) != ZK_CONTAINER_OWNER)
			return ZK_ENOCHILDRENFOREPHEMERALS;
		op->type = ZK_TXN_CREATE;
		op->path = pp->path;
		op->data = req->data;
		op->data_len = req->data ? req->data_len : -1;
		op->acl = pp->acl;
		op->n_acl = pp->n_acl;
		op->ephemeral_owner = container ? ZK_CONTAINER_OWNER : ephemeral ? conn->session_id : 0;
		return ZK_OK;
	}
	case ZK_OP_DELETE:
	case ZK_OP_DELETECONTAINER: {
		if (!strchr(req->path, '/') || zk_path_special(req->path))
			return ZK_EBADARGUMENTS;
		if (!zk_path_parent(req->path, parent, sizeof(parent)))
			return ZK_EBADARGUMENTS;
		pnode = zk_tree_get(tree, parent);
		if (!pnode)
			return ZK_ENONODE;
		if (req->type == ZK_OP_DELETE && !zk_conn_allowed(conn, pnode, ZK_PERM_DELETE))
			return ZK_ENOAUTH;
		node = zk_tree_get(tree, req->path);
		if (!node)
			return ZK_ENONODE;
		zk_node_stat(node, &st);
		if (req->type == ZK_OP_DELETECONTAINER) {
			if (zk_node_owner(node) != ZK_CONTAINER_OWNER)
				return ZK_EBADARGUMENTS;
		} else if (zk_check_version(req->version, st.version)) {
			return ZK_EBADVERSION;
		}
		if (st.num_children > 0)
			return ZK_ENOTEMPTY;
		op->type = ZK_TXN_DELETE;
		op->path = req->path;
		return ZK_OK;
	}
	case ZK_OP_SETDATA:
		if (!zk_path_valid(req->path))
			return ZK_EBADARGUMENTS;
		node = zk_tree_get(tree, req->path);
		if (!node)
			return ZK_ENONODE;
		if (!zk_conn_allowed(conn, node, ZK_PERM_WRITE))
			return ZK_ENOAUTH;
		zk_node_stat(node, &st);
		if (zk_check_version(req->version, st.version))
			return ZK_EBADVERSION;
		op->type = ZK_TXN_SETDATA;
		op->path = req->path;
		op->data = req->data;
		op->data_len = req->data ? req->data_len : -1;
		op->version = st.version + 1;
		return ZK_OK;
	case ZK_OP_SETACL: {
		if (!zk_path_valid(req->path))
			return ZK_EBADARGUMENTS;
		int32_t rc = zk_acl_fixup(req->acl, req->n_acl, conn->ids, conn->n_ids, &pp->acl, &pp->n_acl);
		if (rc)
			return rc;
		node = zk_tree_get(tree, req->path);
		if (!node)
			return ZK_ENONODE;
		if (!zk_conn_allowed(conn, node, ZK_PERM_ADMIN))
			return ZK_ENOAUTH;
		zk_node_stat(node, &st);
		if (zk_check_version(req->version, st.aversion))
			return ZK_EBADVERSION;
		op->type = ZK_TXN_SETACL;
		op->path = req->path;
		op->acl = pp->acl;
		op->n_acl = pp->n_acl;
		op->version = st.aversion + 1;
		return ZK_OK;
	}
	case ZK_OP_CHECK:
		if (!zk_path_valid(req->path))
			return ZK_EBADARGUMENTS;
		node = zk_tree_get(tree, req->path);
		if (!node)
			return ZK_ENONODE;
		if (!zk_conn_allowed(conn, node, ZK_PERM_READ))
			return ZK_ENOAUTH;
		zk_node_stat(node, &st);
		if (zk_check_version(req->version, st.version))
			return ZK_EBADVERSION;
		op->type = ZK_TXN_CHECK;
		op->path = req->path;
		op->version = req->version;
		return ZK_OK;
	default:
		return ZK_EBADARGUMENTS;
	}
}

/* The reply body of one successful write op. st: the node's Stat right after the op (for a
 * multi, as each op left it, which is what ZooKeeper reports); NULL = read it now. */
static void zk_put_op_result(struct zk_server *srv, int32_t type, const struct zk_txn *op,
			     const struct zk_stat *st)
{
	struct zk_stat now;
	if (!st) {
		const struct zk_node *node = zk_tree_get(srv->db.tree, op->path ? op->path : "");
		memset(&now, 0, sizeof(now));
		if (node)
			zk_node_stat(node, &now);
		st = &now;
	}
	switch (type) {
	case ZK_OP_CREATE:
		wbuf_str_i32(&srv->out, op->path);
		break;
	case ZK_OP_CREATE2:
	case ZK_OP_CREATECONTAINER:
	case ZK_OP_CREATETTL:
		wbuf_str_i32(&srv->out, op->path);
		jute_put_stat(&srv->out, st);
		break;
	case ZK_OP_SETDATA:
	case ZK_OP_SETACL:
		jute_put_stat(&srv->out, st);
		break;
	default: /* delete, check, deleteContainer: no body */
		break;
	}
}

static void zk_handle_write(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
			    uint64_t t0)
{
	struct zk_txn txn;
	struct zk_prep pp = { .acl = NULL };
	zk_txn_init(srv, &txn, ZK_TXN_ERROR, conn->session_id, req->xid);
	int32_t err = zk_prep_op(srv, conn, req, &txn, &pp);
	if (err) {
		txn.type = ZK_TXN_ERROR;
		txn.err = err;
	}
	txn.zxid = srv->db.last_zxid + 1;
	zk_server_commit(srv, &txn);
	size_t off = zk_reply_begin(srv, req->xid, txn.zxid, err);
	if (!err)
		zk_put_op_result(srv, req->type, &txn, NULL);
	zk_reply_end(conn, off, t0);
	zk_prep_free(&pp);
}

static bool zk_is_write_op(int32_t type)
{
	switch (type) {
	case ZK_OP_CREATE:
	case ZK_OP_CREATE2:
	case ZK_OP_CREATECONTAINER:
	case ZK_OP_CREATETTL:
	case ZK_OP_DELETE:
	case ZK_OP_DELETECONTAINER:
	case ZK_OP_SETDATA:
	case ZK_OP_SETACL:
	case ZK_OP_CHECK:
		return true;
	default:
		return false;
	}
}

/*
 * multi: every op checked against the state the earlier ops leave (a trial application that
 * is rolled back), then logged and applied as one txn, atomically. On the first failing op:
 * ZooKeeper's results — ops before it report ZK_OK, it reports its error, later ops
 * ZK_ERUNTIMEINCONSISTENCY — and nothing changes.
 */
static void zk_handle_multi(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
			    uint64_t t0)
{
	int32_t n = req->n_ops;
	struct zk_txn txn;
	struct zk_txn *ops = calloc((size_t)(n ? n : 1), sizeof(*ops));
	struct zk_prep *pps = calloc((size_t)(n ? n : 1), sizeof(*pps));
	int32_t *errs = calloc((size_t)(n ? n : 1), sizeof(*errs));
	struct zk_stat *stats = calloc((size_t)(n ? n : 1), sizeof(*stats));
	int32_t failed_at = -1;

	if (!ops || !pps || !errs || !stats) {
		free(ops);
		free(pps);
		free(errs);
		free(stats);
		net_conn_close(conn->nc, ERR_NOMEM);
		return;
	}
	zk_txn_init(srv, &txn, ZK_TXN_MULTI, conn->session_id, req->xid);
	zk_db_trial_begin(&srv->db);
	for (int32_t i = 0; i < n; i++) {
		const struct jute_req *r = &req->ops[i];
		ops[i].data_len = -1;
		if (failed_at >= 0) {
			errs[i] = ZK_ERUNTIMEINCONSISTENCY;
			continue;
		}
		int32_t err = zk_is_write_op(r->type) ? zk_prep_op(srv, conn, r, &ops[i], &pps[i])
						      : ZK_EBADARGUMENTS;
		if (!err && zk_db_trial_op(&srv->db, &ops[i], txn.zxid, txn.time_ms))
			err = ZK_ERUNTIMEINCONSISTENCY;
		if (!err && ops[i].path) {
			const struct zk_node *node = zk_tree_get(srv->db.tree, ops[i].path);
			if (node)
				zk_node_stat(node, &stats[i]);
		}
		if (err) {
			errs[i] = err;
			failed_at = i;
		}
	}
	zk_db_trial_end(&srv->db);
	if (failed_at >= 0) {
		for (int32_t i = 0; i < n; i++) {
			memset(&ops[i], 0, sizeof(ops[i]));
			ops[i].type = ZK_TXN_ERROR;
			ops[i].data_len = -1;
			ops[i].err = i < failed_at ? ZK_OK : errs[i];
			errs[i] = ops[i].err;
		}
	}
	txn.ops = ops;
	txn.n_ops = n;
	zk_server_commit(srv, &txn);

	/* ZooKeeper reports a failed multi in its results, not in the reply header */
	size_t off = zk_reply_begin(srv, req->xid, txn.zxid, ZK_OK);
	for (int32_t i = 0; i < n; i++) {
		if (failed_at >= 0) {
			jute_put_multi_header(&srv->out, ZK_OP_ERROR, false, errs[i]);
			wbuf_i32(&srv->out, errs[i]);
		} else {
			int32_t type = req->ops[i].type;
			jute_put_multi_header(&srv->out, type, false, 0);
			zk_put_op_result(srv, type, &ops[i], &stats[i]);
		}
	}
	jute_put_multi_header(&srv->out, -1, true, -1);
	zk_reply_end(conn, off, t0);
	for (int32_t i = 0; i < n; i++)
		zk_prep_free(&pps[i]);
	free(ops);
	free(pps);
	free(errs);
	free(stats);
}

/* ---- reads ---- */

struct zk_children {
	const char **names;
	int32_t n, cap;
};

static int zk_collect_children(const struct zk_node *node, struct zk_children *ch)
{
	ch->n = 0;
	for (const struct zk_node *c = zk_node_first_child(node); c; c = zk_node_next_sibling(c)) {
		if (ch->n == ch->cap) {
			int32_t cap = ch->cap ? ch->cap * 2 : 64;
			const char **nv = realloc(ch->names, (size_t)cap * sizeof(*nv));
			if (!nv)
				return ERR_NOMEM;
			ch->names = nv;
			ch->cap = cap;
		}
		ch->names[ch->n++] = zk_node_name(c);
	}
	return 0;
}

/* The body of a getData / getChildren / getChildren2 reply; err on failure. */
static int32_t zk_read_op(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
			  bool register_watch)
{
	const struct zk_node *node = req->path ? zk_tree_get(srv->db.tree, req->path) : NULL;
	struct zk_stat st;
	if (req->bad_string)
		return ZK_EBADARGUMENTS;
	switch (req->type) {
	case ZK_OP_GETDATA: {
		if (!node)
			return ZK_ENONODE;
		if (!zk_conn_allowed(conn, node, ZK_PERM_READ))
			return ZK_ENOAUTH;
		if (register_watch && req->watch)
			zk_watch_add(srv->watches, req->path, ZK_WATCH_DATA, conn);
		int32_t len;
		const uint8_t *data = zk_node_data(node, &len);
		wbuf_bytes_i32(&srv->out, data, data ? len : -1);
		zk_node_stat(node, &st);
		jute_put_stat(&srv->out, &st);
		return ZK_OK;
	}
	case ZK_OP_GETCHILDREN:
	case ZK_OP_GETCHILDREN2: {
		if (!node)
			return ZK_ENONODE;
		if (!zk_conn_allowed(conn, node, ZK_PERM_READ))
			return ZK_ENOAUTH;
		if (register_watch && req->watch)
			zk_watch_add(srv->watches, req->path, ZK_WATCH_CHILD, conn);
		struct zk_children ch = { NULL, 0, 0 };
		if (zk_collect_children(node, &ch)) {
			free(ch.names);
			return ZK_ESYSTEMERROR;
		}
		jute_put_string_list(&srv->out, ch.names, ch.n);
		free(ch.names);
		if (req->type == ZK_OP_GETCHILDREN2) {
			zk_node_stat(node, &st);
			jute_put_stat(&srv->out, &st);
		}
		return ZK_OK;
	}
	default:
		return ZK_EBADARGUMENTS;
	}
}

static void zk_handle_read(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
			   uint64_t t0)
{
	int64_t zxid = srv->db.last_zxid;
	size_t off = zk_reply_begin(srv, req->xid, zxid, 0);
	size_t body = srv->out.len;
	int32_t err = zk_read_op(srv, conn, req, true);
	if (err) {
		srv->out.len = body;
		jute_frame_end(&srv->out, off);
		/* rewrite the header's err: xid(4) + zxid(8) then err */
		wbuf_put_i32_at(&srv->out, off + 4 + 4 + 8, err);
	}
	zk_reply_end(conn, off, t0);
}

/* multiRead (ZooKeeper 3.6+): getChildren and getData ops, each answered on its own. */
static void zk_handle_multi_read(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
				 uint64_t t0)
{
	size_t off = zk_reply_begin(srv, req->xid, srv->db.last_zxid, 0);
	for (int32_t i = 0; i < req->n_ops; i++) {
		const struct jute_req *r = &req->ops[i];
		size_t hdr = srv->out.len;
		jute_put_multi_header(&srv->out, r->type, false, 0);
		int32_t err = (r->type == ZK_OP_GETDATA || r->type == ZK_OP_GETCHILDREN)
				      ? zk_read_op(srv, conn, r, false)
				      : ZK_EBADARGUMENTS;
		if (err) {
			srv->out.len = hdr;
			jute_put_multi_header(&srv->out, ZK_OP_ERROR, false, err);
			wbuf_i32(&srv->out, err);
		}
	}
	jute_put_multi_header(&srv->out, -1, true, -1);
	zk_reply_end(conn, off, t0);
}

static void zk_handle_exists(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
			     uint64_t t0)
{
	if (req->bad_string) {
		zk_reply_err(conn, req->xid, srv->db.last_zxid, ZK_EBADARGUMENTS, t0);
		return;
	}
	const struct zk_node *node = zk_tree_get(srv->db.tree, req->path);
	if (req->watch)
		zk_watch_add(srv->watches, req->path, node ? ZK_WATCH_DATA : ZK_WATCH_EXIST, conn);
	if (!node) {
		zk_reply_err(conn, req->xid, srv->db.last_zxid, ZK_ENONODE, t0);
		return;
	}
	struct zk_stat st;
	zk_node_stat(node, &st);
	size_t off = zk_reply_begin(srv, req->xid, srv->db.last_zxid, 0);
	jute_put_stat(&srv->out, &st);
	zk_reply_end(conn, off, t0);
}

static void zk_handle_get_acl(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
			      uint64_t t0)
{
	const struct zk_node *node = req->bad_string ? NULL : zk_tree_get(srv->db.tree, req->path);
	if (!node) {
		zk_reply_err(conn, req->xid, srv->db.last_zxid, req->bad_string ? ZK_EBADARGUMENTS : ZK_ENONODE, t0);
		return;
	}
	if (!zk_conn_allowed(conn, node, ZK_PERM_READ | ZK_PERM_ADMIN)) {
		zk_reply_err(conn, req->xid, srv->db.last_zxid, ZK_ENOAUTH, t0);
		return;
	}
	int32_t n;
	const struct zk_acl *acl = zk_node_acl(node, &n);
	struct zk_stat st;
	zk_node_stat(node, &st);
	size_t off = zk_reply_begin(srv, req->xid, srv->db.last_zxid, 0);
	jute_put_acl_list(&srv->out, acl, n);
	jute_put_stat(&srv->out, &st);
	zk_reply_end(conn, off, t0);
}

static void zk_handle_all_children(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
				   uint64_t t0)
{
	const struct zk_node *node = req->bad_string ? NULL : zk_tree_get(srv->db.tree, req->path);
	if (!node) {
		zk_reply_err(conn, req->xid, srv->db.last_zxid, ZK_ENONODE, t0);
		return;
	}
	if (!zk_conn_allowed(conn, node, ZK_PERM_READ)) {
		zk_reply_err(conn, req->xid, srv->db.last_zxid, ZK_ENOAUTH, t0);
		return;
	}
	size_t off = zk_reply_begin(srv, req->xid, srv->db.last_zxid, 0);
	wbuf_i32(&srv->out, (int32_t)zk_tree_count_descendants(node));
	zk_reply_end(conn, off, t0);
}

struct zk_eph_ctx {
	struct zk_children list;
	const char *prefix;
	size_t prefix_len;
	char **owned;
	int32_t n_owned;
};

static int zk_eph_collect(const char *path, void *arg)
{
	struct zk_eph_ctx *ec = arg;
	if (strncmp(path, ec->prefix, ec->prefix_len))
		return 0;
	if (ec->list.n == ec->list.cap) {
		int32_t cap = ec->list.cap ? ec->list.cap * 2 : 16;
		const char **nv = realloc(ec->list.names, (size_t)cap * sizeof(*nv));
		if (!nv)
			return ERR_NOMEM;
		ec->list.names = nv;
		ec->list.cap = cap;
	}
	char *copy = strdup(path);
	if (!copy)
		return ERR_NOMEM;
	ec->list.names[ec->list.n++] = copy;
	return 0;
}

static void zk_handle_get_ephemerals(struct zk_server *srv, struct zk_conn *conn,
				     const struct jute_req *req, uint64_t t0)
{
	struct zk_eph_ctx ec = { { NULL, 0, 0 }, req->path ? req->path : "/", 0, NULL, 0 };
	ec.prefix_len = strlen(ec.prefix);
	if (!strcmp(ec.prefix, "/"))
		ec.prefix_len = 0;
	zk_tree_ephemerals(srv->db.tree, conn->session_id, zk_eph_collect, &ec);
	size_t off = zk_reply_begin(srv, req->xid, srv->db.last_zxid, 0);
	jute_put_string_list(&srv->out, ec.list.names, ec.list.n);
	zk_reply_end(conn, off, t0);
	for (int32_t i = 0; i < ec.list.n; i++)
		free((char *)ec.list.names[i]);
	free(ec.list.names);
}

/* setWatches / setWatches2 after a reconnect: fire what changed since relative_zxid, re-add the
 * rest (ZooKeeper's DataTree.setWatches). */
static void zk_handle_set_watches(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
				  uint64_t t0)
{
	int64_t rel = req->relative_zxid;
	srv->fire_zxid = srv->db.last_zxid;
	for (int32_t k = 0; k < 5; k++) {
		for (int32_t i = 0; i < req->n_watches[k]; i++) {
			const char *path = req->watches[k][i];
			const struct zk_node *node = zk_tree_get(srv->db.tree, path);
			struct zk_stat st;
			if (node)
				zk_node_stat(node, &st);
			switch (k) {
			case 0: /* data */
				if (!node)
					zk_server_notify(conn, ZK_EVENT_DELETED, path, srv);
				else if (st.mzxid > rel)
					zk_server_notify(conn, ZK_EVENT_DATACHANGED, path, srv);
				else
					zk_watch_add(srv->watches, path, ZK_WATCH_DATA, conn);
				break;
			case 1: /* exist */
				if (node)
					zk_server_notify(conn, ZK_EVENT_CREATED, path, srv);
				else
					zk_watch_add(srv->watches, path, ZK_WATCH_EXIST, conn);
				break;
			case 2: /* child */
				if (!node)
					zk_server_notify(conn, ZK_EVENT_DELETED, path, srv);
				else if (st.pzxid > rel)
					zk_server_notify(conn, ZK_EVENT_CHILDCHANGED, path, srv);
				else
					zk_watch_add(srv->watches, path, ZK_WATCH_CHILD, conn);
				break;
			case 3:
				zk_watch_add(srv->watches, path, ZK_WATCH_PERSISTENT, conn);
				break;
			default:
				zk_watch_add(srv->watches, path, ZK_WATCH_PERSISTENT_RECURSIVE, conn);
				break;
			}
		}
	}
	zk_reply_err(conn, req->xid, srv->db.last_zxid, ZK_OK, t0);
}

static void zk_handle_auth(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
			   uint64_t t0)
{
	char digest[512];
	char up[512];
	(void)srv;
	if (!req->scheme || strcmp(req->scheme, "digest") || !req->auth || req->auth_len <= 0 ||
	    (size_t)req->auth_len >= sizeof(up) || conn->n_ids >= ZK_MAX_AUTH_IDS) {
		log_warn(ZK_SRV_MOD, "authentication with scheme '%s' from %s failed",
			 req->scheme ? req->scheme : "(null)", conn->ip);
		zk_reply_err(conn, req->xid, 0, ZK_EAUTHFAILED, t0);
		zk_conn_finish(conn);
		return;
	}
	memcpy(up, req->auth, (size_t)req->auth_len);
	up[req->auth_len] = '\0';
	if (!strchr(up, ':') || zk_acl_digest(up, digest, sizeof(digest))) {
		zk_reply_err(conn, req->xid, 0, ZK_EAUTHFAILED, t0);
		zk_conn_finish(conn);
		return;
	}
	bool known = false;
	for (int32_t i = 0; i < conn->n_ids; i++)
		if (!strcmp(conn->ids[i].scheme, "digest") && !strcmp(conn->ids[i].id, digest))
			known = true;
	if (!known) {
		char *s = strdup("digest");
		char *d = strdup(digest);
		if (!s || !d) {
			free(s);
			free(d);
			net_conn_close(conn->nc, ERR_NOMEM);
			return;
		}
		conn->ids[conn->n_ids].scheme = s;
		conn->ids[conn->n_ids].id = d;
		conn->n_ids++;
	}
	zk_reply_err(conn, req->xid, 0, ZK_OK, t0);
}

static void zk_handle_whoami(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
			     uint64_t t0)
{
	size_t off = zk_reply_begin(srv, req->xid, srv->db.last_zxid, 0);
	wbuf_i32(&srv->out, conn->n_ids);
	for (int32_t i = 0; i < conn->n_ids; i++) {
		wbuf_str_i32(&srv->out, conn->ids[i].scheme);
		const char *id = conn->ids[i].id;
		char user[256];
		const char *colon = strchr(id, ':');
		if (!strcmp(conn->ids[i].scheme, "digest") && colon && (size_t)(colon - id) < sizeof(user)) {
			memcpy(user, id, (size_t)(colon - id));
			user[colon - id] = '\0';
			id = user;
		}
		wbuf_str_i32(&srv->out, id);
	}
	zk_reply_end(conn, off, t0);
}

static void zk_handle_watch_ops(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
				uint64_t t0)
{
	int32_t err = ZK_OK;
	if (req->bad_string || !req->path) {
		err = ZK_EBADARGUMENTS;
	} else if (req->type == ZK_OP_ADDWATCH) {
		if (req->mode != ZK_ADDWATCH_PERSISTENT && req->mode != ZK_ADDWATCH_PERSISTENT_RECURSIVE)
			err = ZK_EBADARGUMENTS;
		else
			zk_watch_add(srv->watches, req->path,
				     req->mode == ZK_ADDWATCH_PERSISTENT ? ZK_WATCH_PERSISTENT
									 : ZK_WATCH_PERSISTENT_RECURSIVE,
				     conn);
	} else {
		/* WatcherType: 1 children, 2 data, 3 any */
		int mask = 0;
		if (req->mode == 1 || req->mode == 3)
			mask |= 1 << ZK_WATCH_CHILD;
		if (req->mode == 2 || req->mode == 3)
			mask |= (1 << ZK_WATCH_DATA) | (1 << ZK_WATCH_EXIST);
		if (req->mode == 3)
			mask |= (1 << ZK_WATCH_PERSISTENT) | (1 << ZK_WATCH_PERSISTENT_RECURSIVE);
		bool found = req->type == ZK_OP_REMOVEWATCHES
				     ? zk_watch_remove(srv->watches, req->path, mask, conn)
				     : zk_watch_has(srv->watches, req->path, mask, conn);
		if (!found)
			err = ZK_ENOWATCHER;
	}
	zk_reply_err(conn, req->xid, srv->db.last_zxid, err, t0);
}

static void zk_handle_close_session(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
				    uint64_t t0)
{
	struct zk_txn txn;
	int64_t sid = conn->session_id;
	zk_txn_init(srv, &txn, ZK_TXN_CLOSESESSION, sid, req->xid);
	zk_sessions_set_closing(srv->db.sessions, sid);
	/* detach first, so that applying the txn does not close this connection before its reply */
	conn->session_id = 0;
	zk_server_commit(srv, &txn);
	zk_reply_err(conn, req->xid, txn.zxid, ZK_OK, t0);
	zk_conn_finish(conn);
}

/* ---- connect ---- */

static void zk_handle_connect(struct zk_server *srv, struct zk_conn *conn, const uint8_t *p, size_t len)
{
	struct jute_connect_req cr;
	uint8_t passwd[ZK_PASSWD_LEN];
	if (srv->q && !zk_quorum_serving(srv)) {
		log_info(ZK_SRV_MOD, "refusing client %s: this server is not currently serving requests (no quorum)",
			 conn->ip);
		net_conn_close(conn->nc, ERR_CLOSED);
		return;
	}
	int rc = jute_decode_connect(p, len, &cr);
	if (rc) {
		log_warn(ZK_SRV_MOD, "malformed ConnectRequest from %s (%zu bytes): %s; closing", conn->ip,
			 len, err_str(rc));
		net_conn_close(conn->nc, ERR_PROTO);
		return;
	}
	if (cr.last_zxid_seen > srv->db.last_zxid) {
		log_info(ZK_SRV_MOD,
			 "refusing session request from %s: it has seen zxid 0x%" PRIx64
			 ", our last zxid is 0x%" PRIx64 "; it must try another server",
			 conn->ip, (uint64_t)cr.last_zxid_seen, (uint64_t)srv->db.last_zxid);
		net_conn_close(conn->nc, ERR_PROTO);
		return;
	}
	int32_t timeout = zk_sessions_negotiate(cr.timeout, srv->cfg->min_session_timeout,
						srv->cfg->max_session_timeout);
	conn->has_read_only = cr.has_read_only;
	conn->timeout = timeout;
	zk_conn_set_state(conn, ZK_CONN_ACTIVE);

	wbuf_reset(&srv->out);
	if (cr.session_id == 0) {
		struct zk_txn txn;
		int64_t id = zk_sessions_next_id(srv->db.sessions);
		if (RAND_bytes(passwd, sizeof(passwd)) != 1) {
			net_conn_close(conn->nc, ERR_IO);
			return;
		}
		if (srv->q && raft_role(srv->q->raft) != RAFT_LEADER) {
			/* the session is created by the leader; the answer leaves when its txn is applied here */
			conn->pending_session = id;
			memcpy(conn->pending_passwd, passwd, sizeof(passwd));
			if (zk_quorum_forward(srv, conn, ZK_FWD_CREATE, NULL, 0, 0))
				net_conn_close(conn->nc, ERR_CLOSED);
			return;
		}
		zk_txn_init(srv, &txn, ZK_TXN_CREATESESSION, id, 0);
		txn.timeout_ms = timeout;
		txn.passwd = passwd;
		zk_server_commit(srv, &txn);
		zk_sessions_set_owner(srv->db.sessions, id, conn);
		conn->session_id = id;
		log_info(ZK_SRV_MOD, "established session 0x%" PRIx64 " with timeout %d ms for client %s",
			 (uint64_t)id, timeout, conn->ip);
	} else {
		const uint8_t *have = zk_sessions_exists(srv->db.sessions, cr.session_id) &&
						      !zk_sessions_is_closing(srv->db.sessions, cr.session_id)
					      ? zk_sessions_passwd(srv->db.sessions, cr.session_id)
					      : NULL;
		if (!have || cr.passwd_len != ZK_PASSWD_LEN || memcmp(have, cr.passwd, ZK_PASSWD_LEN)) {
			log_info(ZK_SRV_MOD, "invalid session 0x%" PRIx64 " for client %s, probably expired",
				 (uint64_t)cr.session_id, conn->ip);
			memset(passwd, 0, sizeof(passwd));
			size_t off = jute_frame_begin(&srv->out);
			jute_put_connect_resp(&srv->out, 0, 0, 0, passwd, false);
			if (!cr.has_read_only)
				srv->out.len--; /* old clients get no readOnly byte */
			jute_frame_end(&srv->out, off);
			zk_conn_send(conn, srv->db.last_zxid, 0);
			zk_conn_finish(conn);
			return;
		}
		memcpy(passwd, have, sizeof(passwd));
		/* the session moves here: a stale connection holding it is closed */
		struct zk_conn *old = zk_sessions_get_owner(srv->db.sessions, cr.session_id);
		if (old && old != conn) {
			log_info(ZK_SRV_MOD, "closing stale connection %s of session 0x%" PRIx64, old->ip,
				 (uint64_t)cr.session_id);
			old->session_id = 0;
			zk_conn_finish(old);
		}
		conn->session_id = cr.session_id;
		zk_sessions_set_owner(srv->db.sessions, cr.session_id, conn);
		zk_sessions_touch(srv->db.sessions, cr.session_id, zk_mono_ms());
		if (srv->q)
			zk_quorum_touch(srv, cr.session_id);
		timeout = zk_sessions_timeout(srv->db.sessions, cr.session_id);
		conn->timeout = timeout;
		log_info(ZK_SRV_MOD, "client %s reconnected session 0x%" PRIx64, conn->ip,
			 (uint64_t)cr.session_id);
	}
	wbuf_reset(&srv->out);
	size_t off = jute_frame_begin(&srv->out);
	jute_put_connect_resp(&srv->out, 0, timeout, conn->session_id, passwd, false);
	if (!cr.has_read_only)
		srv->out.len--;
	jute_frame_end(&srv->out, off);
	zk_conn_send(conn, srv->db.last_zxid, 0);
}

/* ---- request dispatch ---- */

static void zk_handle_request(struct zk_server *srv, struct zk_conn *conn, const uint8_t *p, size_t len)
{
	struct jute_req req;
	uint64_t t0 = zk_mono_us();
	jute_arena_reset(&srv->arena);
	int rc = jute_decode_request(p, len, &srv->arena, &req);
	if (rc == ERR_PROTO) {
		/* ZooKeeper's UnimplementedRequestProcessor: an error reply, then the connection closes */
		log_warn(ZK_SRV_MOD, "unknown request type %d from %s; closing", req.type, conn->ip);
		zk_reply_err(conn, req.xid, -1, ZK_EUNIMPLEMENTED, t0);
		zk_conn_finish(conn);
		return;
	}
	if (rc && len >= 8) {
		/* a known header with a body that does not decode: ZooKeeper answers
		 * MarshallingError and keeps the connection */
		struct rbuf r = rbuf_make(p, len);
		int32_t xid;
		rbuf_i32(&r, &xid);
		log_warn(ZK_SRV_MOD, "malformed request (%zu bytes) from %s: %s", len, conn->ip, err_str(rc));
		zk_reply_err(conn, xid, srv->db.last_zxid, ZK_EMARSHALLINGERROR, t0);
		return;
	}
	if (rc) {
		log_warn(ZK_SRV_MOD, "malformed request (%zu bytes) from %s: %s; closing", len, conn->ip,
			 err_str(rc));
		net_conn_close(conn->nc, ERR_PROTO);
		return;
	}
	conn->last_cxid = req.xid;
	conn->last_op = req.type;
	if (conn->session_id) {
		zk_sessions_touch(srv->db.sessions, conn->session_id, zk_mono_ms());
		if (srv->q)
			zk_quorum_touch(srv, conn->session_id);
	}
	if (srv->q && raft_role(srv->q->raft) != RAFT_LEADER) {
		/* a follower: writes, closeSession and sync go to the leader; reads are served here */
		int kind = 0;
		if (zk_is_write_op(req.type) || req.type == ZK_OP_MULTI || req.type == ZK_OP_RECONFIG)
			kind = ZK_FWD_WRITE;
		else if (req.type == ZK_OP_CLOSESESSION)
			kind = ZK_FWD_CLOSE;
		else if (req.type == ZK_OP_SYNC)
			kind = ZK_FWD_SYNC;
		if (kind) {
			if (zk_quorum_forward(srv, conn, kind, p, len, req.xid)) {
				log_warn(ZK_SRV_MOD, "cannot forward a request of %s to the leader; closing", conn->ip);
				net_conn_close(conn->nc, ERR_CLOSED);
			}
			return;
		}
	}

	switch (req.type) {
	case ZK_OP_PING:
		zk_reply_err(conn, ZK_XID_PING, srv->db.last_zxid, ZK_OK, t0);
		break;
	case ZK_OP_CREATE:
	case ZK_OP_CREATE2:
	case ZK_OP_CREATECONTAINER:
	case ZK_OP_CREATETTL:
	case ZK_OP_DELETE:
	case ZK_OP_DELETECONTAINER:
	case ZK_OP_SETDATA:
	case ZK_OP_SETACL:
	case ZK_OP_CHECK:
		zk_handle_write(srv, conn, &req, t0);
		break;
	case ZK_OP_MULTI:
		zk_handle_multi(srv, conn, &req, t0);
		break;
	case ZK_OP_MULTIREAD:
		zk_handle_multi_read(srv, conn, &req, t0);
		break;
	case ZK_OP_EXISTS:
		zk_handle_exists(srv, conn, &req, t0);
		break;
	case ZK_OP_GETDATA:
	case ZK_OP_GETCHILDREN:
	case ZK_OP_GETCHILDREN2:
		zk_handle_read(srv, conn, &req, t0);
		break;
	case ZK_OP_GETACL:
		zk_handle_get_acl(srv, conn, &req, t0);
		break;
	case ZK_OP_GETALLCHILDRENNUMBER:
		zk_handle_all_children(srv, conn, &req, t0);
		break;
	case ZK_OP_GETEPHEMERALS:
		zk_handle_get_ephemerals(srv, conn, &req, t0);
		break;
	case ZK_OP_SYNC: {
		size_t off = zk_reply_begin(srv, req.xid, srv->db.last_zxid, 0);
		wbuf_str_i32(&srv->out, req.path ? req.path : "/");
		zk_reply_end(conn, off, t0);
		break;
	}
	case ZK_OP_SETWATCHES:
	case ZK_OP_SETWATCHES2:
		zk_handle_set_watches(srv, conn, &req, t0);
		break;
	case ZK_OP_AUTH:
		zk_handle_auth(srv, conn, &req, t0);
		break;
	case ZK_OP_WHOAMI:
		zk_handle_whoami(srv, conn, &req, t0);
		break;
	case ZK_OP_ADDWATCH:
	case ZK_OP_REMOVEWATCHES:
	case ZK_OP_CHECKWATCHES:
		zk_handle_watch_ops(srv, conn, &req, t0);
		break;
	case ZK_OP_CLOSESESSION:
		zk_handle_close_session(srv, conn, &req, t0);
		break;
	case ZK_OP_RECONFIG:
		zk_handle_reconfig(srv, conn, &req, t0);
		break;
	default:
		zk_reply_err(conn, req.xid, srv->db.last_zxid, ZK_EUNIMPLEMENTED, t0);
		zk_conn_finish(conn);
		break;
	}
}

static int zk_conn_frame(struct net_conn *nc, uint8_t *p, size_t len, void *arg)
{
	struct zk_conn *conn = arg;
	struct zk_server *srv = conn->srv;
	(void)nc;
	conn->recv++;
	srv->packets_received++;
	switch (conn->state) {
	case ZK_CONN_HANDSHAKE:
		zk_handle_connect(srv, conn, p, len);
		break;
	case ZK_CONN_ACTIVE:
		zk_handle_request(srv, conn, p, len);
		break;
	case ZK_CONN_CLOSING:
		break;
	}
	return 0;
}

/* ---- the ensemble (quorum mode) ----
 *
 * Raft (coord/raft.c) orders every txn; its log (zk_raftlog) replaces the txn log, and a log
 * index is a zxid. The leader preps a request against its state, proposes the txn and applies
 * it at once; replies and watch events it causes stay held until the entry is committed
 * (durable_zxid = the commit index). Followers apply committed entries in order; they forward
 * writes, new sessions, closeSession and sync to the leader and answer their clients when the
 * txn is applied here (the placeholder keeps the client's replies in order). Any change of
 * leader or term closes every client connection (clients reconnect, their sessions are
 * global); a leader that lost office with applied but uncommitted txns reloads its state from
 * the snapshot and the committed log. Only the leader expires sessions; followers report
 * session activity to it (TOUCH). Peer messages other than Raft's are the Forward, Touch, Sync
 * and Nack messages of proto/quorum.proto.
 */

static bool zk_quorum_serving(const struct zk_server *srv)
{
	return !srv->q || srv->q->serving;
}

static void zk_quorum_touch(struct zk_server *srv, int64_t session_id)
{
	struct zk_quorum *q = srv->q;
	if (raft_role(q->raft) == RAFT_LEADER)
		return;
	for (size_t i = q->n_touched; i > 0 && i + 8 > q->n_touched; i--)
		if (q->touched[i - 1] == session_id)
			return;
	if (q->n_touched == q->cap_touched) {
		size_t cap = q->cap_touched ? q->cap_touched * 2 : 64;
		int64_t *t = realloc(q->touched, cap * sizeof(*t));
		if (!t)
			return;
		q->touched = t;
		q->cap_touched = cap;
	}
	q->touched[q->n_touched++] = session_id;
}

static struct zk_held *zk_held_placeholder(struct zk_conn *conn, int32_t xid, const uint8_t *req, size_t len)
{
	struct zk_held *h = malloc(sizeof(*h) + len);
	if (!h)
		return NULL;
	memset(h, 0, sizeof(*h));
	h->zxid = ZK_HELD_WAIT;
	h->xid = xid;
	h->placeholder = true;
	h->len = len;
	if (len)
		memcpy(h->data, req, len);
	if (conn->held_tail)
		conn->held_tail->next = h;
	else
		conn->held_head = h;
	conn->held_tail = h;
	conn->held_bytes += len;
	struct zk_server *srv = conn->srv;
	if (!conn->on_held_list) {
		conn->held_next = srv->held_list;
		srv->held_list = conn;
		conn->on_held_list = true;
	}
	return h;
}

/* Packs a protobuf message and sends it to peer `to` as kind. */
static int zk_quorum_send_pb(struct zk_server *srv, uint64_t to, enum zk_peer_kind kind, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t stackbuf[256];
	uint8_t *b = n <= sizeof(stackbuf) ? stackbuf : malloc(n);
	if (!b)
		return ERR_NOMEM;
	protobuf_c_message_pack(m, b);
	int rc = zk_peer_send_app(srv->q->peer, to, kind, b, n);
	if (b != stackbuf)
		free(b);
	return rc;
}

static int zk_quorum_forward(struct zk_server *srv, struct zk_conn *conn, int kind, const uint8_t *req,
			     size_t len, int32_t xid)
{
	struct zk_quorum *q = srv->q;
	uint64_t leader = raft_leader(q->raft);
	if (!leader || leader == q->myid)
		return ERR_CLOSED;
	int rc;
	if (kind == ZK_FWD_SYNC) {
		Samsa__Quorum__Sync m = SAMSA__QUORUM__SYNC__INIT;
		m.session = conn->session_id;
		m.xid = xid;
		rc = zk_quorum_send_pb(srv, leader, ZK_PEER_SYNC, &m.base);
	} else {
		Samsa__Quorum__Forward m = SAMSA__QUORUM__FORWARD__INIT;
		Samsa__Quorum__AuthId ids[ZK_MAX_AUTH_IDS], *idp[ZK_MAX_AUTH_IDS];
		m.kind = (uint32_t)kind;
		m.session = kind == ZK_FWD_CREATE ? conn->pending_session : conn->session_id;
		m.timeout = conn->timeout;
		m.passwd.data = conn->pending_passwd;
		m.passwd.len = ZK_PASSWD_LEN;
		for (int32_t i = 0; i < conn->n_ids && i < ZK_MAX_AUTH_IDS; i++) {
			samsa__quorum__auth_id__init(&ids[i]);
			ids[i].scheme = (char *)conn->ids[i].scheme;
			ids[i].id = (char *)conn->ids[i].id;
			idp[i] = &ids[i];
		}
		m.n_ids = (size_t)conn->n_ids;
		m.ids = idp;
		m.request.data = (uint8_t *)req;
		m.request.len = len;
		rc = zk_quorum_send_pb(srv, leader, ZK_PEER_FORWARD, &m.base);
	}
	if (rc)
		return rc;
	if (kind != ZK_FWD_CREATE && !zk_held_placeholder(conn, xid, req, len))
		return ERR_NOMEM;
	return 0;
}

static struct zk_conn *zk_quorum_conn_of(struct zk_server *srv, int64_t session_id)
{
	for (struct zk_conn *c = srv->conns; c; c = c->next)
		if (c->session_id == session_id && c->state == ZK_CONN_ACTIVE)
			return c;
	return NULL;
}

/* The leader: a follower's client request, run as if that client were connected here. */
static void zk_quorum_on_forward(struct zk_server *srv, uint64_t from, const uint8_t *p, size_t len)
{
	Samsa__Quorum__Forward *m = samsa__quorum__forward__unpack(NULL, len, p);
	bool established = raft_role(srv->q->raft) == RAFT_LEADER && srv->q->serving;
	if (!m || !established || m->n_ids > ZK_MAX_AUTH_IDS ||
	    (m->kind == ZK_FWD_CREATE && m->passwd.len != ZK_PASSWD_LEN)) {
		if (!m || established)
			log_warn(ZK_SRV_MOD, "malformed forward from server %" PRIu64, from);
		Samsa__Quorum__Nack nack = SAMSA__QUORUM__NACK__INIT;
		nack.session = m ? m->session : 0;
		zk_quorum_send_pb(srv, from, ZK_PEER_FORWARD_NACK, &nack.base);
		if (m)
			samsa__quorum__forward__free_unpacked(m, NULL);
		return;
	}
	struct zk_conn stand_in;
	memset(&stand_in, 0, sizeof(stand_in));
	stand_in.srv = srv;
	stand_in.forwarded = true;
	stand_in.state = ZK_CONN_ACTIVE;
	stand_in.session_id = m->session;
	for (size_t i = 0; i < m->n_ids; i++) {
		stand_in.ids[i].scheme = m->ids[i]->scheme;
		stand_in.ids[i].id = m->ids[i]->id;
	}
	stand_in.n_ids = (int32_t)m->n_ids;
	snprintf(stand_in.ip, sizeof(stand_in.ip), "server.%" PRIu64, from);
	uint64_t t0 = zk_mono_us();
	if (m->kind == ZK_FWD_CREATE) {
		struct zk_txn txn;
		zk_txn_init(srv, &txn, ZK_TXN_CREATESESSION, m->session, 0);
		txn.timeout_ms = m->timeout;
		txn.passwd = m->passwd.data;
		zk_server_commit(srv, &txn);
		samsa__quorum__forward__free_unpacked(m, NULL);
		return;
	}
	zk_sessions_touch(srv->db.sessions, m->session, zk_mono_ms());
	struct jute_req jr;
	jute_arena_reset(&srv->arena);
	if (jute_decode_request(m->request.data, m->request.len, &srv->arena, &jr)) {
		log_warn(ZK_SRV_MOD, "undecodable request forwarded by server %" PRIu64, from);
	} else if (!zk_sessions_exists(srv->db.sessions, m->session) ||
		   zk_sessions_is_closing(srv->db.sessions, m->session)) {
		/* the session expired while the request travelled: an error txn answers it (through
		 * the follower that asked), and nothing is done under a dead session's name */
		struct zk_txn txn;
		zk_txn_init(srv, &txn, ZK_TXN_ERROR, m->session, jr.xid);
		txn.err = ZK_ESESSIONEXPIRED;
		zk_server_commit(srv, &txn);
	} else if (m->kind == ZK_FWD_CLOSE) {
		zk_handle_close_session(srv, &stand_in, &jr, t0);
	} else if (jr.type == ZK_OP_RECONFIG) {
		zk_handle_reconfig(srv, &stand_in, &jr, t0);
	} else if (jr.type == ZK_OP_MULTI) {
		zk_handle_multi(srv, &stand_in, &jr, t0);
	} else if (zk_is_write_op(jr.type)) {
		zk_handle_write(srv, &stand_in, &jr, t0);
	} else {
		log_warn(ZK_SRV_MOD, "server %" PRIu64 " forwarded a request of type %d, not a write", from, jr.type);
	}
	samsa__quorum__forward__free_unpacked(m, NULL);
}

/* A follower: builds the reply to a forwarded request from the txn it caused, into srv->out. */
static void zk_quorum_reply_from_txn(struct zk_server *srv, const struct zk_held *h, const struct zk_txn *txn)
{
	struct jute_req req;
	wbuf_reset(&srv->out);
	jute_arena_reset(&srv->arena);
	if (jute_decode_request(h->data, h->len, &srv->arena, &req)) {
		size_t off = zk_reply_begin(srv, h->xid, txn->zxid, ZK_EMARSHALLINGERROR);
		(void)off;
		jute_frame_end(&srv->out, off);
		return;
	}
	if (req.type == ZK_OP_MULTI && txn->type == ZK_TXN_MULTI) {
		bool failed = false;
		for (int32_t i = 0; i < txn->n_ops; i++)
			failed |= txn->ops[i].type == ZK_TXN_ERROR;
		size_t off = zk_reply_begin(srv, h->xid, txn->zxid, ZK_OK);
		for (int32_t i = 0; i < txn->n_ops && i < req.n_ops; i++) {
			if (failed) {
				jute_put_multi_header(&srv->out, ZK_OP_ERROR, false, txn->ops[i].err);
				wbuf_i32(&srv->out, txn->ops[i].err);
			} else {
				jute_put_multi_header(&srv->out, req.ops[i].type, false, 0);
				zk_put_op_result(srv, req.ops[i].type, &txn->ops[i], NULL);
			}
		}
		jute_put_multi_header(&srv->out, -1, true, -1);
		jute_frame_end(&srv->out, off);
		return;
	}
	int32_t err = txn->type == ZK_TXN_ERROR ? txn->err : ZK_OK;
	size_t off = zk_reply_begin(srv, h->xid, txn->zxid, err);
	if (!err && req.type == ZK_OP_RECONFIG)
		zk_put_config(srv);
	else if (!err && req.type != ZK_OP_CLOSESESSION)
		zk_put_op_result(srv, req.type, txn, NULL);
	jute_frame_end(&srv->out, off);
}

/* Turns the first placeholder of conn with this xid into the frame in srv->out. */
static void zk_quorum_fill(struct zk_conn *conn, struct zk_held *ph, int64_t zxid)
{
	struct zk_server *srv = conn->srv;
	struct zk_held *h = malloc(sizeof(*h) + srv->out.len);
	if (!h) {
		net_conn_close(conn->nc, ERR_NOMEM);
		return;
	}
	*h = *ph;
	h->placeholder = false;
	h->zxid = zxid;
	h->len = srv->out.len;
	memcpy(h->data, srv->out.p, srv->out.len);
	conn->held_bytes = conn->held_bytes - ph->len + h->len;
	/* relink in place of ph */
	struct zk_held **pp = &conn->held_head, *prev = NULL;
	while (*pp && *pp != ph) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	*pp = h;
	if (conn->held_tail == ph)
		conn->held_tail = h;
	(void)prev;
	free(ph);
	zk_conn_flush_held(conn);
}

static struct zk_held *zk_quorum_find_placeholder(struct zk_conn *conn, int32_t xid)
{
	for (struct zk_held *h = conn->held_head; h; h = h->next)
		if (h->placeholder && h->xid == xid)
			return h;
	return NULL;
}

/* Applies one committed entry that this server has not applied yet. */
static void zk_quorum_apply(struct zk_server *srv, const struct raft_entry *e)
{
	if (e->type != RAFT_ENTRY_NORMAL) {
		/* a no-op or a configuration: the zxid moves on, nothing else changes */
		struct zk_txn txn;
		memset(&txn, 0, sizeof(txn));
		txn.type = ZK_TXN_ERROR;
		txn.zxid = (int64_t)e->index;
		txn.time_ms = zk_wall_ms();
		txn.data_len = -1;
		txn.err = ZK_OK;
		if (zk_db_apply(&srv->db, &txn)) {
			log_fatal(ZK_SRV_MOD, "cannot apply no-op 0x%" PRIx64, e->index);
			abort();
		}
		return;
	}
	struct zk_txnrec *rec = NULL;
	if (zk_txnrec_decode(e->data, e->len, &rec)) {
		log_fatal(ZK_SRV_MOD, "committed entry 0x%" PRIx64 " does not decode", e->index);
		abort();
	}
	struct zk_txn txn = *zk_txnrec_txn(rec);
	txn.zxid = (int64_t)e->index;
	struct zk_conn *owner = txn.session_id ? zk_quorum_conn_of(srv, txn.session_id) : NULL;
	struct zk_held *ph = owner ? zk_quorum_find_placeholder(owner, txn.cxid) : NULL;
	if (txn.type == ZK_TXN_CREATESESSION)
		ph = NULL;
	if (txn.type == ZK_TXN_CLOSESESSION && ph)
		owner->session_id = 0; /* so that applying it does not close the connection before its reply */
	srv->fire_zxid = txn.zxid;
	if (zk_db_apply(&srv->db, &txn)) {
		log_fatal(ZK_SRV_MOD, "committed txn 0x%" PRIx64 " does not apply", e->index);
		abort();
	}
	srv->txns_since_snap++;
	zk_quorum_config_applied(srv, &txn);
	if (txn.type == ZK_TXN_CREATESESSION) {
		for (struct zk_conn *c = srv->conns; c; c = c->next) {
			if (c->pending_session != txn.session_id || c->state != ZK_CONN_ACTIVE)
				continue;
			c->pending_session = 0;
			c->session_id = txn.session_id;
			zk_sessions_set_owner(srv->db.sessions, txn.session_id, c);
			wbuf_reset(&srv->out);
			size_t off = jute_frame_begin(&srv->out);
			jute_put_connect_resp(&srv->out, 0, txn.timeout_ms, txn.session_id, c->pending_passwd, false);
			jute_frame_end(&srv->out, off);
			zk_conn_send(c, txn.zxid, 0);
			log_info(ZK_SRV_MOD, "established session 0x%" PRIx64 " with timeout %d ms for client %s",
				 (uint64_t)txn.session_id, txn.timeout_ms, c->ip);
		}
	}
	if (ph) {
		zk_quorum_reply_from_txn(srv, ph, &txn);
		zk_quorum_fill(owner, ph, txn.zxid);
		if (txn.type == ZK_TXN_CLOSESESSION)
			zk_conn_finish(owner);
	}
	zk_txnrec_free(rec);
}

static void zk_quorum_close_clients(struct zk_server *srv, const char *why)
{
	size_t n = 0;
	for (struct zk_conn *c = srv->conns; c; c = c->next) {
		if (!c->nc || net_conn_closing(c->nc))
			continue;
		/* replies already written (committed) still leave; held ones (not committed, or
		 * waiting for the leader) are dropped: the client reconnects and asks again */
		while (c->held_head) {
			struct zk_held *h = c->held_head;
			c->held_head = h->next;
			free(h);
		}
		c->held_tail = NULL;
		c->held_bytes = 0;
		if (c->state != ZK_CONN_CLOSING)
			zk_conn_set_state(c, ZK_CONN_CLOSING);
		net_conn_close_after_flush(c->nc);
		n++;
	}
	if (n)
		log_info(ZK_SRV_MOD, "closed %zu client connection(s): %s", n, why);
}

/* Rebuilds the state: the newest snapshot, then the committed entries of the Raft log. */
static void zk_quorum_reload(struct zk_server *srv, uint64_t upto)
{
	char eb[512];
	zk_db_destroy(&srv->db);
	if (zk_db_init(&srv->db, (int64_t)srv->q->myid, srv->cfg->tick_time, zk_mono_ms())) {
		log_fatal(ZK_SRV_MOD, "out of memory reloading the state");
		abort();
	}
	srv->db.on_event = zk_server_on_event;
	srv->db.on_session_closed = zk_server_on_session_closed;
	srv->db.cb_arg = srv;
	if (zk_db_recover(&srv->db, srv->cfg->data_dir, srv->cfg->data_log_dir, eb, sizeof(eb))) {
		log_fatal(ZK_SRV_MOD, "cannot reload the state: %s", eb);
		abort();
	}
	for (uint64_t i = (uint64_t)srv->db.last_zxid + 1; i <= upto; i++) {
		const struct raft_entry *e = zk_raftlog_get(srv->q->rlog, i);
		if (!e) {
			log_fatal(ZK_SRV_MOD, "committed entry 0x%" PRIx64 " is missing from the Raft log", i);
			abort();
		}
		zk_quorum_apply(srv, e);
	}
	log_info(ZK_SRV_MOD, "state reloaded up to zxid 0x%" PRIx64, (uint64_t)srv->db.last_zxid);
	zk_quorum_load_config(srv);
}

/* Writes a snapshot received from the leader and loads it. */
static void zk_quorum_install(struct zk_server *srv, const struct raft_ready *rd)
{
	char dir[4200], path[4300], tmp[4320], eb[512];
	snprintf(dir, sizeof(dir), "%s/version-2", srv->cfg->data_dir);
	snprintf(path, sizeof(path), "%s/snapshot.%" PRIx64, dir, rd->snapshot.index);
	snprintf(tmp, sizeof(tmp), "%s.recv", path);
	FILE *f = fopen(tmp, "wb");
	if (!f || fwrite(rd->snap_data, 1, rd->snap_len, f) != rd->snap_len || fflush(f) || fsync(fileno(f))) {
		log_fatal(ZK_SRV_MOD, "cannot write the received snapshot %s: %s", tmp, strerror(errno));
		abort();
	}
	fclose(f);
	if (rename(tmp, path)) {
		log_fatal(ZK_SRV_MOD, "cannot rename %s: %s", tmp, strerror(errno));
		abort();
	}
	zk_quorum_sync_quiesce(srv->q);
	if (zk_raftlog_install_snapshot(srv->q->rlog, &rd->snapshot, eb, sizeof(eb))) {
		log_fatal(ZK_SRV_MOD, "cannot install the snapshot: %s", eb);
		abort();
	}
	zk_quorum_close_clients(srv, "state replaced by the leader's snapshot");
	zk_quorum_reload(srv, rd->snapshot.index);
	log_info(ZK_SRV_MOD, "installed the leader's snapshot at zxid 0x%" PRIx64, rd->snapshot.index);
}

/* Fills a SNAPSHOT_REQ with the bytes of our snapshot file at its index. */
static int zk_quorum_snapshot_bytes(struct zk_server *srv, struct raft_msg *m)
{
	char path[4300];
	snprintf(path, sizeof(path), "%s/version-2/snapshot.%" PRIx64, srv->cfg->data_dir, m->snap.index);
	FILE *f = fopen(path, "rb");
	if (!f)
		return ERR_IO;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = n > 0 ? malloc((size_t)n) : NULL;
	if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		fclose(f);
		return ERR_IO;
	}
	fclose(f);
	free(m->snap_data);
	m->snap_data = b;
	m->snap_len = (size_t)n;
	return 0;
}

/* ---- the log's fdatasync on a worker thread ---- */

static void *zk_quorum_sync_main(void *arg)
{
	struct zk_quorum *q = arg;
	pthread_mutex_lock(&q->sync_mu);
	for (;;) {
		while (!q->sync_stop && q->sync_want <= q->sync_done)
			pthread_cond_wait(&q->sync_cv, &q->sync_mu);
		if (q->sync_stop)
			break;
		uint64_t want = q->sync_want;
		int fd = zk_raftlog_fd(q->rlog);
		q->sync_busy = true;
		pthread_mutex_unlock(&q->sync_mu);
		int rc = fd < 0 ? -1 : fdatasync(fd);
		int err = rc ? (fd < 0 ? EIO : errno) : 0;
		pthread_mutex_lock(&q->sync_mu);
		q->sync_busy = false;
		if (err)
			q->sync_err = err;
		else
			q->sync_done = want;
		pthread_cond_broadcast(&q->sync_cv);
		event_active(q->synced, EV_TIMEOUT, 0);
	}
	pthread_mutex_unlock(&q->sync_mu);
	return NULL;
}

/* Everything appended so far should become durable: one fdatasync covers it all. */
static void zk_quorum_sync_ask(struct zk_quorum *q)
{
	pthread_mutex_lock(&q->sync_mu);
	if (q->appended > q->sync_want) {
		q->sync_want = q->appended;
		pthread_cond_signal(&q->sync_cv);
	}
	pthread_mutex_unlock(&q->sync_mu);
}

/* Waits until no fdatasync is running (before raft.log may be replaced). */
static void zk_quorum_sync_quiesce(struct zk_quorum *q)
{
	if (!q->sync_started)
		return;
	pthread_mutex_lock(&q->sync_mu);
	while (q->sync_busy || (q->sync_want > q->sync_done && !q->sync_err))
		pthread_cond_wait(&q->sync_cv, &q->sync_mu);
	pthread_mutex_unlock(&q->sync_mu);
}

static void zk_quorum_synced(evutil_socket_t fd, short what, void *arg)
{
	struct zk_server *srv = arg;
	struct zk_quorum *q = srv->q;
	(void)fd;
	(void)what;
	pthread_mutex_lock(&q->sync_mu);
	uint64_t done = q->sync_done;
	int err = q->sync_err;
	pthread_mutex_unlock(&q->sync_mu);
	if (err) {
		log_fatal(ZK_SRV_MOD, "cannot fdatasync the Raft log: %s", strerror(err));
		abort();
	}
	raft_persisted(q->raft, done);
	zk_quorum_ready(srv);
}

/* Carries out what the core asks, then looks at role changes. */
static void zk_quorum_ready(struct zk_server *srv)
{
	struct zk_quorum *q = srv->q;
	char eb[512];
	for (int round = 0; round < 64; round++) {
		struct raft_ready rd;
		memset(&rd, 0, sizeof(rd));
		if (!raft_ready_take(q->raft, &rd))
			break;
		if (rd.has_snapshot)
			zk_quorum_install(srv, &rd);
		if (rd.hs_changed && zk_raftlog_set_hard_state(q->rlog, rd.term, rd.vote, eb, sizeof(eb))) {
			log_fatal(ZK_SRV_MOD, "cannot write the Raft state: %s", eb);
			abort();
		}
		if (rd.truncate_from || rd.n_entries) {
			if (zk_raftlog_append(q->rlog, rd.truncate_from, rd.entries, rd.n_entries, eb, sizeof(eb))) {
				log_fatal(ZK_SRV_MOD, "cannot write the Raft log: %s", eb);
				abort();
			}
		}
		if (rd.persist_seq) {
			if (!srv->cfg->force_sync) {
				raft_persisted(q->raft, rd.persist_seq);
			} else {
				q->appended = rd.persist_seq;
				zk_quorum_sync_ask(q);
			}
		}
		log_debug(ZK_SRV_MOD, "raft ready: %zu entries (truncate %" PRIu64 ") seq %" PRIu64 ", %zu msgs, %zu committed; commit %" PRIu64
				      ", durable %" PRIu64 ", last %" PRIu64,
			  rd.n_entries, rd.truncate_from, rd.persist_seq, rd.n_msgs, rd.n_committed, raft_commit_index(q->raft),
			  raft_durable_index(q->raft), raft_last_index(q->raft));
		for (size_t i = 0; i < rd.n_msgs; i++) {
			struct raft_msg *m = &rd.msgs[i];
			if (m->type == RAFT_MSG_SNAPSHOT_REQ && !m->snap_data && zk_quorum_snapshot_bytes(srv, m)) {
				log_warn(ZK_SRV_MOD, "cannot read snapshot 0x%" PRIx64 " for server %" PRIu64, m->snap.index,
					 m->to);
				continue;
			}
			log_debug(ZK_SRV_MOD, "raft send %s to %" PRIu64 " n=%zu index=%" PRIu64 " durable=%" PRIu64 " commit=%" PRIu64,
				  raft_msg_type_name(m->type), m->to, m->n_entries, m->index, m->durable, m->commit);
			zk_peer_send_raft(q->peer, m);
		}
		for (size_t i = 0; i < rd.n_committed; i++) {
			const struct raft_entry *e = &rd.committed[i];
			if ((int64_t)e->index <= srv->db.last_zxid)
				continue; /* the leader applied it when it proposed it */
			zk_quorum_apply(srv, e);
		}
		raft_ready_clear(&rd);
	}
	/* what clients may see: the leader up to its commit index, a follower what it applied */
	int64_t visible = raft_role(q->raft) == RAFT_LEADER ? (int64_t)raft_commit_index(q->raft) : srv->db.last_zxid;
	if (visible > srv->durable_zxid)
		zk_server_durable(visible, srv);
	zk_quorum_after(srv);
}

static int zk_quorum_retouch(int64_t id, int32_t timeout_ms, const uint8_t *passwd, void *arg)
{
	struct zk_server *srv = arg;
	(void)timeout_ms;
	(void)passwd;
	zk_sessions_touch(srv->db.sessions, id, zk_mono_ms());
	return 0;
}

static void zk_quorum_log_line(void *arg, uint64_t id, const char *line)
{
	(void)arg;
	log_info(ZK_SRV_MOD, "raft %" PRIu64 ": %s", id, line);
}


/* ---- membership: reconfig ----
 *
 * The ensemble's membership lives in /zookeeper/config as ZooKeeper writes it
 * ("server.N=host:peerPort:electionPort:participant|observer;clientHost:clientPort" lines and
 * "version=<zxid>"). A reconfig is a setData of that znode; once applied, every server knows
 * the addresses, and the leader moves Raft's configuration towards it one server at a time
 * (a joining participant first as a non-voter until it has caught up, then as a voter), so the
 * majority is always that of the configuration in force.
 */

static void zk_put_config(struct zk_server *srv)
{
	const struct zk_node *node = zk_tree_get(srv->db.tree, "/zookeeper/config");
	struct zk_stat st;
	memset(&st, 0, sizeof(st));
	if (node) {
		int32_t n = 0;
		const uint8_t *d = zk_node_data(node, &n);
		wbuf_bytes_i32(&srv->out, d, n);
		zk_node_stat(node, &st);
	} else {
		wbuf_bytes_i32(&srv->out, NULL, -1);
	}
	jute_put_stat(&srv->out, &st);
}

static size_t zk_quorum_format(const struct zk_quorum_server *sv, int n, char *out, size_t cap)
{
	size_t w = 0;
	for (int i = 0; i < n && w < cap; i++) {
		char client[300] = "";
		if (sv[i].client_port > 0)
			snprintf(client, sizeof(client), ";%s:%d", sv[i].client_host[0] ? sv[i].client_host : "0.0.0.0",
				 sv[i].client_port);
		int k = snprintf(out + w, cap - w, "server.%" PRIu64 "=%s:%d:%d:%s%s\n", sv[i].id, sv[i].host,
				 sv[i].peer_port, sv[i].election_port, sv[i].observer ? "observer" : "participant",
				 client);
		if (k < 0)
			break;
		w += (size_t)k;
	}
	return w < cap ? w : cap;
}

/* "server.N=..." lines of text into sv (other lines ignored). */
static int zk_quorum_parse(const char *text, size_t len, struct zk_quorum_server *sv, int *n, char *eb, size_t el)
{
	*n = 0;
	size_t pos = 0;
	while (pos < len) {
		size_t end = pos;
		while (end < len && text[end] != '\n' && text[end] != ',')
			end++;
		char line[1024];
		size_t ln = end - pos < sizeof(line) - 1 ? end - pos : sizeof(line) - 1;
		memcpy(line, text + pos, ln);
		line[ln] = '\0';
		pos = end + 1;
		char *eq = strchr(line, '=');
		if (!eq || strncmp(line, "server.", 7))
			continue;
		*eq = '\0';
		if (*n == ZK_MAX_SERVERS)
			return err_set(eb, el, ERR_RANGE, "more than %d servers", ZK_MAX_SERVERS);
		int rc = zk_config_server("reconfig", 0, line, eq + 1, &sv[*n], eb, el);
		if (rc)
			return rc;
		for (int k = 0; k < *n; k++)
			if (sv[k].id == sv[*n].id)
				return err_set(eb, el, ERR_INVAL, "server.%" PRIu64 " is given twice", sv[k].id);
		(*n)++;
	}
	return 0;
}

static void zk_quorum_learn(struct zk_quorum *q, const struct zk_quorum_server *sv)
{
	for (int i = 0; i < q->n_known; i++)
		if (q->known[i].id == sv->id) {
			q->known[i] = *sv;
			return;
		}
	if (q->n_known < (int)(sizeof(q->known) / sizeof(q->known[0])))
		q->known[q->n_known++] = *sv;
}

/* Peers: every server of the dynamic configuration or of Raft's, whose address we know. */
static void zk_quorum_update_peers(struct zk_server *srv)
{
	struct zk_quorum *q = srv->q;
	struct zk_peer_addr addrs[2 * ZK_MAX_SERVERS];
	size_t n = 0;
	const struct raft_config *rc = raft_config(q->raft, NULL);
	for (int i = 0; i < q->n_known && n < sizeof(addrs) / sizeof(addrs[0]); i++) {
		const struct zk_quorum_server *sv = &q->known[i];
		bool wanted = raft_config_has(rc, sv->id);
		for (int k = 0; k < q->n_members && !wanted; k++)
			wanted = q->members[k].id == sv->id;
		if (!wanted || sv->id == q->myid)
			continue;
		addrs[n].id = sv->id;
		snprintf(addrs[n].host, sizeof(addrs[n].host), "%s", sv->host);
		addrs[n].port = sv->peer_port;
		n++;
	}
	zk_peer_set_peers(q->peer, addrs, n);
}

/* After a txn is applied: a new /zookeeper/config becomes the membership to reach. */
static void zk_quorum_config_applied(struct zk_server *srv, const struct zk_txn *txn)
{
	if (txn->type != ZK_TXN_SETDATA || !txn->path || strcmp(txn->path, "/zookeeper/config"))
		return;
	struct zk_quorum *q = srv->q;
	char eb[256];
	struct zk_quorum_server sv[ZK_MAX_SERVERS];
	int n = 0;
	if (zk_quorum_parse((const char *)txn->data, txn->data_len > 0 ? (size_t)txn->data_len : 0, sv, &n, eb,
			    sizeof(eb)) || n == 0) {
		log_warn(ZK_SRV_MOD, "/zookeeper/config at 0x%" PRIx64 " names no ensemble: %s", (uint64_t)txn->zxid, eb);
		return;
	}
	memcpy(q->members, sv, sizeof(sv[0]) * (size_t)n);
	q->n_members = n;
	q->config_written = true;
	for (int i = 0; i < n; i++)
		zk_quorum_learn(q, &sv[i]);
	zk_quorum_update_peers(srv);
	log_info(ZK_SRV_MOD, "quorum: the ensemble is now %d server(s) (zxid 0x%" PRIx64 ")", n, (uint64_t)txn->zxid);
}

/* Writes /zookeeper/config = list (a txn through the log); returns its zxid. */
static int64_t zk_quorum_write_config(struct zk_server *srv, struct zk_conn *conn, int32_t xid,
				      const struct zk_quorum_server *sv, int n)
{
	char text[ZK_MAX_SERVERS * 700 + 64];
	size_t len = zk_quorum_format(sv, n, text, sizeof(text) - 40);
	struct zk_txn txn;
	zk_txn_init(srv, &txn, ZK_TXN_SETDATA, conn ? conn->session_id : 0, xid);
	len += (size_t)snprintf(text + len, sizeof(text) - len, "version=%" PRIx64, (uint64_t)txn.zxid);
	const struct zk_node *node = zk_tree_get(srv->db.tree, "/zookeeper/config");
	struct zk_stat st;
	memset(&st, 0, sizeof(st));
	if (node)
		zk_node_stat(node, &st);
	txn.path = "/zookeeper/config";
	txn.data = (const uint8_t *)text;
	txn.data_len = (int32_t)len;
	txn.version = st.version + 1;
	zk_server_commit(srv, &txn);
	return txn.zxid;
}

static void zk_handle_reconfig(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req, uint64_t t0)
{
	char eb[256];
	struct zk_quorum *q = srv->q;
	if (!q || !srv->cfg->reconfig_enabled) {
		zk_reply_err(conn, req->xid, srv->db.last_zxid, ZK_ERECONFIGDISABLED, t0);
		return;
	}
	struct zk_quorum_server next[ZK_MAX_SERVERS];
	int n = 0, rc = 0;
	if (req->reconfig[2] && req->reconfig[2][0]) { /* non-incremental: the whole new list */
		rc = zk_quorum_parse(req->reconfig[2], strlen(req->reconfig[2]), next, &n, eb, sizeof(eb));
	} else {
		memcpy(next, q->members, sizeof(next[0]) * (size_t)q->n_members);
		n = q->n_members;
		if (req->reconfig[1] && req->reconfig[1][0]) { /* leaving: "4,5" */
			const char *p = req->reconfig[1];
			while (*p && !rc) {
				char *end;
				long id = strtol(p, &end, 10);
				if (end == p || id <= 0) {
					rc = err_set(eb, sizeof(eb), ERR_INVAL, "bad leaving list '%s'", req->reconfig[1]);
					break;
				}
				int k = 0;
				while (k < n && next[k].id != (uint64_t)id)
					k++;
				if (k < n) {
					next[k] = next[n - 1];
					n--;
				}
				p = *end == ',' ? end + 1 : end;
				if (*end && *end != ',')
					rc = err_set(eb, sizeof(eb), ERR_INVAL, "bad leaving list '%s'", req->reconfig[1]);
			}
		}
		if (!rc && req->reconfig[0] && req->reconfig[0][0]) { /* joining: server lines */
			struct zk_quorum_server add[ZK_MAX_SERVERS];
			int na = 0;
			rc = zk_quorum_parse(req->reconfig[0], strlen(req->reconfig[0]), add, &na, eb, sizeof(eb));
			for (int i = 0; i < na && !rc; i++) {
				int k = 0;
				while (k < n && next[k].id != add[i].id)
					k++;
				if (k == n && n == ZK_MAX_SERVERS)
					rc = err_set(eb, sizeof(eb), ERR_RANGE, "more than %d servers", ZK_MAX_SERVERS);
				else
					next[k == n ? n++ : k] = add[i];
			}
		}
	}
	int voters = 0;
	for (int i = 0; i < n; i++)
		voters += !next[i].observer;
	if (rc || voters == 0) {
		log_warn(ZK_SRV_MOD, "reconfig from %s refused: %s", conn->ip, rc ? eb : "no participant left");
		zk_reply_err(conn, req->xid, srv->db.last_zxid, ZK_EBADARGUMENTS, t0);
		return;
	}
	if (raft_role(q->raft) != RAFT_LEADER || !q->serving) {
		zk_reply_err(conn, req->xid, srv->db.last_zxid, ZK_ERECONFIGINPROGRESS, t0);
		return;
	}
	/* sort by id, as the static configuration is */
	for (int i = 1; i < n; i++)
		for (int k = i; k > 0 && next[k - 1].id > next[k].id; k--) {
			struct zk_quorum_server x = next[k];
			next[k] = next[k - 1];
			next[k - 1] = x;
		}
	log_info(ZK_SRV_MOD, "reconfig from %s: %d server(s), %d participant(s)", conn->ip, n, voters);
	int64_t zxid = zk_quorum_write_config(srv, conn, req->xid, next, n);
	size_t off = zk_reply_begin(srv, req->xid, zxid, ZK_OK);
	zk_put_config(srv);
	zk_reply_end(conn, off, t0);
}

/* The leader moves Raft's configuration one step towards the membership. */
static void zk_quorum_reconfig_step(struct zk_server *srv)
{
	struct zk_quorum *q = srv->q;
	if (!q->config_written || !q->n_members)
		return;
	uint64_t cfg_index = 0;
	const struct raft_config *cur = raft_config(q->raft, &cfg_index);
	if (cfg_index > raft_commit_index(q->raft))
		return; /* one change at a time */
	struct raft_config next = *cur;
	bool change = false;
	/* 1. a member not in Raft's configuration joins as a non-voter */
	for (int i = 0; i < q->n_members && !change; i++) {
		if (raft_config_has(cur, q->members[i].id) || next.n == RAFT_MAX_SERVERS)
			continue;
		next.servers[next.n].id = q->members[i].id;
		next.servers[next.n].voter = false;
		next.n++;
		change = true;
	}
	/* 2. a caught-up non-voter that is a participant becomes a voter */
	for (int i = 0; i < q->n_members && !change; i++) {
		const struct zk_quorum_server *m = &q->members[i];
		if (m->observer || raft_config_is_voter(cur, m->id) || !raft_config_has(cur, m->id))
			continue;
		if (raft_peer_match(q->raft, m->id) + 64 < raft_commit_index(q->raft))
			continue; /* still catching up */
		for (uint32_t k = 0; k < next.n; k++)
			if (next.servers[k].id == m->id)
				next.servers[k].voter = true;
		change = true;
	}
	/* 3. a voter that became an observer steps back; 4. a server not in the membership goes */
	for (uint32_t k = 0; k < next.n && !change; k++) {
		int i = 0;
		while (i < q->n_members && q->members[i].id != next.servers[k].id)
			i++;
		if (i < q->n_members && !(q->members[i].observer && next.servers[k].voter))
			continue;
		if (i < q->n_members) {
			next.servers[k].voter = false;
		} else {
			next.servers[k] = next.servers[next.n - 1];
			next.n--;
		}
		change = true;
	}
	if (!change)
		return;
	uint64_t index;
	int rc = raft_propose_config(q->raft, &next, &index);
	if (rc == 0) {
		/* the config entry takes a zxid: keep the tree's zxid in step with the log */
		struct raft_entry e = { .index = index, .term = raft_term(q->raft), .type = RAFT_ENTRY_CONFIG };
		zk_quorum_apply(srv, &e);
		zk_quorum_update_peers(srv);
		event_active(q->kick, EV_TIMEOUT, 0);
		log_info(ZK_SRV_MOD, "quorum: proposed a configuration of %u server(s) at 0x%" PRIx64, next.n, index);
	} else if (rc != ERR_BUSY) {
		log_warn(ZK_SRV_MOD, "quorum: configuration change refused: %s", err_str(rc));
	}
}

/* Role and leader changes: logged with the reason; clients are closed; serving recomputed. */
static void zk_quorum_after(struct zk_server *srv)
{
	struct zk_quorum *q = srv->q;
	enum raft_role role = raft_role(q->raft);
	uint64_t leader = raft_leader(q->raft), term = raft_term(q->raft);
	if (role != q->role || leader != q->leader || term != q->term) {
		bool was_leader = q->role == RAFT_LEADER;
		log_info(ZK_SRV_MOD, "quorum: term %" PRIu64 ", %s -> %s, leader %" PRIu64 " (%s)", term,
			 raft_role_name(q->role), raft_role_name(role), leader, raft_reason(q->raft));
		if (role != q->role || leader != q->leader)
			zk_quorum_close_clients(srv, "the leader changed");
		q->role = role;
		q->leader = leader;
		q->term = term;
		if (was_leader && role != RAFT_LEADER) {
			uint64_t commit = raft_commit_index(q->raft);
			if ((uint64_t)srv->db.last_zxid > commit) {
				log_info(ZK_SRV_MOD, "stepping down with txns up to 0x%" PRIx64 " applied, 0x%" PRIx64
						     " committed: reloading",
					 (uint64_t)srv->db.last_zxid, commit);
				zk_quorum_reload(srv, commit);
				srv->durable_zxid = srv->db.last_zxid;
			}
		}
		if (role == RAFT_LEADER) /* every session gets its full timeout from now */
			zk_sessions_walk(srv->db.sessions, zk_quorum_retouch, srv);
	}
	bool serving;
	if (role == RAFT_LEADER)
		serving = raft_term_at(q->raft, raft_commit_index(q->raft)) == term &&
			  (uint64_t)srv->db.last_zxid == raft_last_index(q->raft);
	else
		serving = leader != 0 && zk_peer_connected(q->peer, leader);
	if (serving != q->serving) {
		log_info(ZK_SRV_MOD, "quorum: %s", serving ? "serving requests" : "not currently serving requests");
		q->serving = serving;
		if (!serving)
			zk_quorum_close_clients(srv, "not serving");
	}
	if (role == RAFT_LEADER && serving) {
		if (!q->config_written) { /* the first leader records the ensemble in /zookeeper/config */
			q->config_written = true; /* once, even if what it writes turns out unreadable */
			zk_quorum_write_config(srv, NULL, 0, q->members, q->n_members);
		}
		zk_quorum_reconfig_step(srv);
	}
}

static void zk_quorum_on_raft(const struct raft_msg *m, void *arg)
{
	struct zk_server *srv = arg;
	log_debug(ZK_SRV_MOD, "raft recv %s from %" PRIu64 " n=%zu index=%" PRIu64 " durable=%" PRIu64 " commit=%" PRIu64,
		  raft_msg_type_name(m->type), m->from, m->n_entries, m->index, m->durable, m->commit);
	if (raft_step(srv->q->raft, m))
		log_debug(ZK_SRV_MOD, "dropped a malformed %s from %" PRIu64, raft_msg_type_name(m->type), m->from);
	zk_quorum_ready(srv);
}

static void zk_quorum_on_app(uint64_t from, enum zk_peer_kind kind, const uint8_t *p, size_t len, void *arg)
{
	struct zk_server *srv = arg;
	struct zk_quorum *q = srv->q;
	switch (kind) {
	case ZK_PEER_FORWARD:
		zk_quorum_on_forward(srv, from, p, len);
		break;
	case ZK_PEER_TOUCH: {
		Samsa__Quorum__Touch *m = samsa__quorum__touch__unpack(NULL, len, p);
		int64_t now = zk_mono_ms();
		for (size_t i = 0; m && i < m->n_sessions; i++)
			zk_sessions_touch(srv->db.sessions, m->sessions[i], now);
		if (m)
			samsa__quorum__touch__free_unpacked(m, NULL);
		break;
	}
	case ZK_PEER_SYNC: {
		Samsa__Quorum__Sync *m = samsa__quorum__sync__unpack(NULL, len, p);
		if (m) {
			Samsa__Quorum__Sync resp = SAMSA__QUORUM__SYNC__INIT;
			resp.session = m->session;
			resp.xid = m->xid;
			resp.zxid = (int64_t)raft_last_index(q->raft);
			zk_quorum_send_pb(srv, from, ZK_PEER_SYNC_RESP, &resp.base);
			samsa__quorum__sync__free_unpacked(m, NULL);
		}
		break;
	}
	case ZK_PEER_SYNC_RESP: {
		Samsa__Quorum__Sync *m = samsa__quorum__sync__unpack(NULL, len, p);
		struct zk_conn *c = m ? zk_quorum_conn_of(srv, m->session) : NULL;
		struct zk_held *ph = c ? zk_quorum_find_placeholder(c, m->xid) : NULL;
		if (ph) {
			struct jute_req req;
			jute_arena_reset(&srv->arena);
			int bad = jute_decode_request(ph->data, ph->len, &srv->arena, &req);
			wbuf_reset(&srv->out);
			size_t off = zk_reply_begin(srv, m->xid, m->zxid, 0);
			wbuf_str_i32(&srv->out, !bad && req.path ? req.path : "/");
			jute_frame_end(&srv->out, off);
			zk_quorum_fill(c, ph, m->zxid);
		}
		if (m)
			samsa__quorum__sync__free_unpacked(m, NULL);
		break;
	}
	case ZK_PEER_FORWARD_NACK: {
		Samsa__Quorum__Nack *m = samsa__quorum__nack__unpack(NULL, len, p);
		for (struct zk_conn *c = srv->conns; c && m; c = c->next)
			if ((c->session_id == m->session || c->pending_session == m->session) && c->nc)
				net_conn_close(c->nc, ERR_CLOSED);
		if (m)
			samsa__quorum__nack__free_unpacked(m, NULL);
		break;
	}
	default:
		break;
	}
}

static void zk_quorum_on_up(uint64_t id, bool connected, void *arg)
{
	struct zk_server *srv = arg;
	if (!connected && id == raft_leader(srv->q->raft)) {
		raft_leader_unreachable(srv->q->raft);
		zk_quorum_ready(srv);
		return;
	}
	zk_quorum_after(srv);
}

static void zk_quorum_tick(void *arg)
{
	struct zk_server *srv = arg;
	struct zk_quorum *q = srv->q;
	raft_tick(q->raft);
	if (q->n_touched && raft_leader(q->raft) && raft_leader(q->raft) != q->myid && ++q->touch_ticks >= 2) {
		Samsa__Quorum__Touch m = SAMSA__QUORUM__TOUCH__INIT;
		m.sessions = q->touched;
		m.n_sessions = q->n_touched;
		zk_quorum_send_pb(srv, raft_leader(q->raft), ZK_PEER_TOUCH, &m.base);
		q->n_touched = 0;
		q->touch_ticks = 0;
	}
	zk_quorum_ready(srv);
}

/* The membership recorded in the tree (after start-up or a reload), if any. */
static void zk_quorum_load_config(struct zk_server *srv)
{
	const struct zk_node *node = zk_tree_get(srv->db.tree, "/zookeeper/config");
	int32_t n = 0;
	const uint8_t *d = node ? zk_node_data(node, &n) : NULL;
	if (n <= 0)
		return;
	struct zk_txn txn;
	memset(&txn, 0, sizeof(txn));
	txn.type = ZK_TXN_SETDATA;
	txn.path = "/zookeeper/config";
	txn.data = d;
	txn.data_len = n;
	txn.zxid = srv->db.last_zxid;
	struct zk_quorum *q = srv->q;
	if (q->peer) {
		zk_quorum_config_applied(srv, &txn);
		return;
	}
	/* before the peer layer exists: only take the list */
	char eb[256];
	struct zk_quorum_server sv[ZK_MAX_SERVERS];
	int k = 0;
	if (!zk_quorum_parse((const char *)d, (size_t)n, sv, &k, eb, sizeof(eb)) && k > 0) {
		memcpy(q->members, sv, sizeof(sv[0]) * (size_t)k);
		q->n_members = k;
		q->config_written = true;
		for (int i = 0; i < k; i++)
			zk_quorum_learn(q, &sv[i]);
	}
}

static void zk_quorum_kick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	zk_quorum_ready(arg);
}

static int zk_quorum_new(struct zk_server *srv, char *errbuf, size_t errlen)
{
	const struct zk_config *cfg = srv->cfg;
	struct zk_quorum *q = calloc(1, sizeof(*q));
	if (!q)
		return ERR_NOMEM;
	srv->q = q;
	q->myid = cfg->myid;
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s/version-2", cfg->data_log_dir);
	int rc = zk_raftlog_open(dir, &q->rlog, errbuf, errlen);
	if (rc)
		return rc;
	struct raft_opts o;
	memset(&o, 0, sizeof(o));
	o.id = q->myid;
	for (int i = 0; i < cfg->n_servers; i++) {
		o.config.servers[o.config.n].id = cfg->servers[i].id;
		o.config.servers[o.config.n].voter = !cfg->servers[i].observer;
		o.config.n++;
	}
	/* Raft ticks every tick_ms; the election timeout is samsa.electionTimeoutMs */
	uint32_t tick_ms = (uint32_t)(cfg->election_timeout_ms / 10 > 10 ? cfg->election_timeout_ms / 10 : 10);
	o.election_ticks = 10;
	o.heartbeat_ticks = 2;
	uint64_t seed;
	RAND_bytes((unsigned char *)&seed, sizeof(seed));
	o.seed = seed ^ q->myid;
	o.term = zk_raftlog_term(q->rlog);
	o.vote = zk_raftlog_vote(q->rlog);
	o.snapshot = zk_raftlog_snapshot(q->rlog);
	o.entries = zk_raftlog_entries(q->rlog, &o.n_entries);
	o.log = zk_quorum_log_line;
	o.log_arg = srv;
	q->raft = raft_new(&o, errbuf, errlen);
	if (!q->raft)
		return ERR_CONFIG;
	q->role = raft_role(q->raft);
	q->term = raft_term(q->raft);
	struct zk_peer_addr addrs[ZK_MAX_SERVERS];
	size_t n = 0;
	const char *listen_host = "";
	int listen_port = 0;
	for (int i = 0; i < cfg->n_servers; i++) {
		const struct zk_quorum_server *sv = &cfg->servers[i];
		if (sv->id == q->myid) {
			listen_host = sv->host;
			listen_port = sv->peer_port;
			continue;
		}
		addrs[n].id = sv->id;
		snprintf(addrs[n].host, sizeof(addrs[n].host), "%s", sv->host);
		addrs[n].port = sv->peer_port;
		n++;
	}
	for (int i = 0; i < cfg->n_servers; i++) {
		q->members[q->n_members++] = cfg->servers[i];
		zk_quorum_learn(q, &cfg->servers[i]);
	}
	zk_quorum_load_config(srv);
	static const struct zk_peer_cbs cbs = { zk_quorum_on_raft, zk_quorum_on_app, zk_quorum_on_up };
	rc = zk_peer_new(srv->base, q->myid, listen_host, listen_port, addrs, n, &cbs, srv, &q->peer, errbuf, errlen);
	if (rc)
		return rc;
	q->timer = net_timer_new(srv->base, tick_ms, true, zk_quorum_tick, srv);
	q->kick = event_new(srv->base, -1, 0, zk_quorum_kick, srv);
	q->synced = event_new(srv->base, -1, 0, zk_quorum_synced, srv);
	if (!q->timer || !q->kick || !q->synced)
		return ERR_NOMEM;
	pthread_mutex_init(&q->sync_mu, NULL);
	pthread_cond_init(&q->sync_cv, NULL);
	if (pthread_create(&q->sync_thread, NULL, zk_quorum_sync_main, q))
		return err_set(errbuf, errlen, ERR_NOMEM, "cannot start the log sync thread");
	q->sync_started = true;
	log_info(ZK_SRV_MOD, "quorum: server %" PRIu64 " of %d, peer port %s:%d, election timeout %d ms, Raft term %" PRIu64
			     ", log up to 0x%" PRIx64,
		 q->myid, cfg->n_servers, listen_host, listen_port, cfg->election_timeout_ms, raft_term(q->raft),
		 raft_last_index(q->raft));
	return 0;
}

static void zk_quorum_free(struct zk_quorum *q)
{
	if (!q)
		return;
	if (q->sync_started) {
		pthread_mutex_lock(&q->sync_mu);
		q->sync_stop = true;
		pthread_cond_broadcast(&q->sync_cv);
		pthread_mutex_unlock(&q->sync_mu);
		pthread_join(q->sync_thread, NULL);
		pthread_mutex_destroy(&q->sync_mu);
		pthread_cond_destroy(&q->sync_cv);
	}
	net_timer_free(q->timer);
	if (q->kick)
		event_free(q->kick);
	if (q->synced)
		event_free(q->synced);
	zk_peer_free(q->peer);
	raft_free(q->raft);
	zk_raftlog_close(q->rlog);
	free(q->touched);
	free(q);
}

/* ---- four-letter words ---- */

static void zk_4lw_line(struct wbuf *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void zk_4lw_line(struct wbuf *w, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		wbuf_raw(w, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static void zk_4lw_conn_line(struct zk_server *srv, struct wbuf *w, struct zk_conn *c, bool full)
{
	(void)srv;
	if (!full) {
		zk_4lw_line(w, " /%s[%d](queued=%zu,recved=%" PRIu64 ",sent=%" PRIu64 ")\n", c->ip,
			    c->state == ZK_CONN_ACTIVE ? 1 : 0, c->held_bytes ? (size_t)1 : 0, c->recv, c->sent);
		return;
	}
	zk_4lw_line(w,
		    " /%s[%d](queued=%d,recved=%" PRIu64 ",sent=%" PRIu64 ",sid=0x%" PRIx64
		    ",lop=%d,est=%" PRId64 ",to=%d,lcxid=0x%x,lzxid=0x%" PRIx64 ",lresp=%" PRId64
		    ",llat=0,minlat=%" PRIu64 ",avglat=%" PRIu64 ",maxlat=%" PRIu64 ")\n",
		    c->ip, c->state == ZK_CONN_ACTIVE ? 1 : 0, c->held_head ? 1 : 0, c->recv, c->sent,
		    (uint64_t)c->session_id, c->last_op, c->established_ms, c->timeout,
		    (unsigned)c->last_cxid, (uint64_t)srv->db.last_zxid, c->last_resp_ms, c->lat_min,
		    c->lat_n ? c->lat_sum / c->lat_n / 1000 : 0, c->lat_max);
}

static const char *zk_4lw_mode(const struct zk_server *srv)
{
	if (!srv->q)
		return "standalone";
	if (raft_role(srv->q->raft) == RAFT_LEADER)
		return "leader";
	return raft_config_is_voter(raft_config(srv->q->raft, NULL), srv->q->myid) ? "follower" : "observer";
}

static void zk_4lw_srvr(struct zk_server *srv, struct wbuf *w, bool with_clients)
{
	if (!zk_quorum_serving(srv)) {
		zk_4lw_line(w, "This ZooKeeper instance is not currently serving requests\n");
		return;
	}
	zk_4lw_line(w, "Zookeeper version: %s, built on %s %s\n", ZK_VERSION_STRING, __DATE__, __TIME__);
	if (with_clients) {
		zk_4lw_line(w, "Clients:\n");
		for (struct zk_conn *c = srv->conns; c; c = c->next)
			zk_4lw_conn_line(srv, w, c, false);
		zk_4lw_line(w, "\n");
	}
	zk_4lw_line(w, "Latency min/avg/max: %" PRIu64 "/%.4f/%" PRIu64 "\n", srv->lat_min,
		    srv->lat_n ? (double)srv->lat_sum / (double)srv->lat_n / 1000.0 : 0.0, srv->lat_max);
	zk_4lw_line(w, "Received: %" PRIu64 "\n", srv->packets_received);
	zk_4lw_line(w, "Sent: %" PRIu64 "\n", srv->packets_sent);
	zk_4lw_line(w, "Connections: %zu\n", srv->n_conns);
	zk_4lw_line(w, "Outstanding: 0\n");
	zk_4lw_line(w, "Zxid: 0x%" PRIx64 "\n", (uint64_t)srv->db.last_zxid);
	zk_4lw_line(w, "Mode: %s\n", zk_4lw_mode(srv));
	zk_4lw_line(w, "Node count: %zu\n", zk_tree_count(srv->db.tree));
}

static int zk_count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3; /* ".", ".." and the directory's own fd */
}

static void zk_4lw_mntr(struct zk_server *srv, struct wbuf *w)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	zk_4lw_line(w, "zk_version\t%s, built on %s %s\n", ZK_VERSION_STRING, __DATE__, __TIME__);
	zk_4lw_line(w, "zk_server_state\t%s\n", zk_4lw_mode(srv));
	zk_4lw_line(w, "zk_avg_latency\t%.4f\n",
		    srv->lat_n ? (double)srv->lat_sum / (double)srv->lat_n / 1000.0 : 0.0);
	zk_4lw_line(w, "zk_max_latency\t%" PRIu64 "\n", srv->lat_max);
	zk_4lw_line(w, "zk_min_latency\t%" PRIu64 "\n", srv->lat_min);
	zk_4lw_line(w, "zk_packets_received\t%" PRIu64 "\n", srv->packets_received);
	zk_4lw_line(w, "zk_packets_sent\t%" PRIu64 "\n", srv->packets_sent);
	zk_4lw_line(w, "zk_num_alive_connections\t%zu\n", srv->n_conns);
	zk_4lw_line(w, "zk_outstanding_requests\t0\n");
	zk_4lw_line(w, "zk_znode_count\t%zu\n", zk_tree_count(srv->db.tree));
	zk_4lw_line(w, "zk_watch_count\t%zu\n", zk_watch_count(srv->watches));
	zk_4lw_line(w, "zk_ephemerals_count\t%zu\n", zk_tree_ephemeral_count(srv->db.tree));
	zk_4lw_line(w, "zk_approximate_data_size\t%" PRId64 "\n", zk_tree_data_size(srv->db.tree));
	zk_4lw_line(w, "zk_open_file_descriptor_count\t%d\n", zk_count_fds());
	zk_4lw_line(w, "zk_max_file_descriptor_count\t%llu\n", (unsigned long long)rl.rlim_cur);
	zk_4lw_line(w, "zk_global_sessions\t%zu\n", zk_sessions_count(srv->db.sessions));
	zk_4lw_line(w, "zk_last_zxid\t0x%" PRIx64 "\n", (uint64_t)srv->db.last_zxid);
	zk_4lw_line(w, "zk_durable_zxid\t0x%" PRIx64 "\n", (uint64_t)srv->durable_zxid);
	if (srv->q) {
		const struct raft_config *rc = raft_config(srv->q->raft, NULL);
		zk_4lw_line(w, "zk_raft_term\t%" PRIu64 "\n", raft_term(srv->q->raft));
		zk_4lw_line(w, "zk_raft_commit_index\t0x%" PRIx64 "\n", raft_commit_index(srv->q->raft));
		zk_4lw_line(w, "zk_leader_id\t%" PRIu64 "\n", raft_leader(srv->q->raft));
		if (raft_role(srv->q->raft) == RAFT_LEADER) {
			uint32_t voters = 0, synced = raft_synced_voters(srv->q->raft);
			for (uint32_t i = 0; i < rc->n; i++)
				voters += rc->servers[i].voter;
			zk_4lw_line(w, "zk_followers\t%u\n", rc->n - 1);
			zk_4lw_line(w, "zk_synced_followers\t%u\n", synced ? synced - 1 : 0);
			zk_4lw_line(w, "zk_pending_syncs\t0\n");
			(void)voters;
		}
	}
	uint64_t appends = 0, syncs = 0;
	if (srv->log)
		zk_txnlog_stats(srv->log, &appends, &syncs);
	zk_4lw_line(w, "zk_txnlog_appends\t%" PRIu64 "\n", appends);
	zk_4lw_line(w, "zk_txnlog_syncs\t%" PRIu64 "\n", syncs);
}

static int zk_conn_preface(struct net_conn *nc, const uint8_t first4[4], void *arg)
{
	struct zk_conn *conn = arg;
	struct zk_server *srv = conn->srv;
	int which = -1;
	for (unsigned i = 0; i < ZK_4LW_N; i++)
		if (!memcmp(first4, zk_4lw_names[i], 4))
			which = (int)i;
	if (which < 0)
		return 0;
	struct wbuf *w = &srv->out;
	wbuf_reset(w);
	const char *cmd = zk_4lw_names[which];
	if (!(srv->four_lw_mask & (1u << which))) {
		zk_4lw_line(w, "%s is not executed because it is not in the whitelist.\n", cmd);
	} else if (!strcmp(cmd, "ruok")) {
		zk_4lw_line(w, "imok");
	} else if (!strcmp(cmd, "isro")) {
		zk_4lw_line(w, "rw");
	} else if (!strcmp(cmd, "srvr")) {
		zk_4lw_srvr(srv, w, false);
	} else if (!strcmp(cmd, "stat")) {
		zk_4lw_srvr(srv, w, true);
	} else if (!strcmp(cmd, "mntr")) {
		zk_4lw_mntr(srv, w);
	} else if (!strcmp(cmd, "conf")) {
		zk_config_format(srv->cfg, w);
	} else if (!strcmp(cmd, "cons")) {
		for (struct zk_conn *c = srv->conns; c; c = c->next)
			zk_4lw_conn_line(srv, w, c, true);
		zk_4lw_line(w, "\n");
	} else if (!strcmp(cmd, "wchs")) {
		zk_4lw_line(w, "%zu connections watching %zu paths\nTotal watches:%zu\n",
			    zk_watch_watcher_count(srv->watches), zk_watch_path_count(srv->watches),
			    zk_watch_count(srv->watches));
	} else if (!strcmp(cmd, "envi")) {
		zk_4lw_line(w, "Environment:\nzookeeper.version=%s\nos.name=Linux\n", ZK_VERSION_STRING);
	} else if (!strcmp(cmd, "dirs")) {
		zk_4lw_line(w, "datadir_size: 0\nlogdir_size: 0\n");
	} else if (!strcmp(cmd, "srst")) {
		srv->packets_received = srv->packets_sent = 0;
		srv->lat_min = srv->lat_max = srv->lat_sum = srv->lat_n = 0;
		zk_4lw_line(w, "Server stats reset.\n");
	} else if (!strcmp(cmd, "crst")) {
		for (struct zk_conn *c = srv->conns; c; c = c->next)
			c->recv = c->sent = c->lat_min = c->lat_max = c->lat_sum = c->lat_n = 0;
		zk_4lw_line(w, "Connection stats reset.\n");
	}
	net_conn_send(nc, w->p, w->len);
	zk_conn_set_state(conn, ZK_CONN_CLOSING);
	net_conn_close_after_flush(nc);
	return 1;
}

/* ---- accepting ---- */

static void zk_server_accept(evutil_socket_t fd, const struct sockaddr *sa, int salen, void *arg)
{
	struct zk_server *srv = arg;
	struct zk_conn *conn = calloc(1, sizeof(*conn));
	(void)salen;
	if (!conn) {
		evutil_closesocket(fd);
		return;
	}
	conn->srv = srv;
	if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, conn->ip,
			  sizeof(conn->ip));
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, conn->ip,
			  sizeof(conn->ip));
	if (srv->cfg->max_client_cnxns > 0) {
		int same = 0;
		for (struct zk_conn *c = srv->conns; c; c = c->next)
			if (!strcmp(c->ip, conn->ip))
				same++;
		if (same >= srv->cfg->max_client_cnxns) {
			log_warn(ZK_SRV_MOD, "too many connections from %s - max is %d", conn->ip,
				 srv->cfg->max_client_cnxns);
			evutil_closesocket(fd);
			free(conn);
			return;
		}
	}
	conn->ids[0].scheme = strdup("ip");
	conn->ids[0].id = strdup(conn->ip);
	conn->n_ids = 1;
	conn->established_ms = zk_wall_ms();
	struct net_conn_opts opts = {
		.max_frame = (size_t)srv->cfg->jute_maxbuffer,
		.out_high = 1u << 20,
		.out_hard = 256u << 20,
	};
	static const struct net_conn_cbs cbs = {
		.preface = zk_conn_preface,
		.frame = zk_conn_frame,
		.closed = zk_conn_closed,
	};
	conn->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = conn;
	srv->conns = conn;
	srv->n_conns++;
	conn->nc = net_conn_new(srv->base, fd, &opts, &cbs, conn);
	if (!conn->nc || !conn->ids[0].scheme || !conn->ids[0].id) {
		if (conn->nc)
			net_conn_close(conn->nc, ERR_NOMEM);
		else
			zk_conn_free(conn);
	}
}

/* ---- timers: session expiry, snapshots, purge, containers ---- */

static void zk_server_expire_one(int64_t id, void *arg)
{
	struct zk_server *srv = arg;
	struct zk_txn txn;
	log_info(ZK_SRV_MOD, "expiring session 0x%" PRIx64 ", timeout of %d ms exceeded", (uint64_t)id,
		 zk_sessions_timeout(srv->db.sessions, id));
	zk_txn_init(srv, &txn, ZK_TXN_CLOSESESSION, id, 0);
	zk_server_commit(srv, &txn);
}

static void zk_server_maybe_snapshot(struct zk_server *srv);

static void zk_server_tick(void *arg)
{
	struct zk_server *srv = arg;
	srv->db.now_ms = zk_mono_ms();
	if (!srv->q || (raft_role(srv->q->raft) == RAFT_LEADER && srv->q->serving))
		zk_sessions_expire(srv->db.sessions, srv->db.now_ms, zk_server_expire_one, srv);
	else if (srv->q) /* followers do not expire sessions: keep their deadlines moving */
		zk_sessions_walk(srv->db.sessions, zk_quorum_retouch, srv);
	zk_server_maybe_snapshot(srv);
	if (srv->q)
		zk_quorum_ready(srv);
}

static void zk_server_maybe_snapshot(struct zk_server *srv)
{
	if (srv->snap_pid > 0 || srv->txns_since_snap < srv->snap_trigger)
		return;
	/* an ensemble snapshots committed state only (a leader's state runs ahead of its commits) */
	if (srv->q && (uint64_t)srv->db.last_zxid > raft_commit_index(srv->q->raft))
		return;
	srv->txns_since_snap = 0;
	srv->snap_zxid = srv->db.last_zxid;
	if (srv->q)
		srv->q->snap_term = (int64_t)raft_term_at(srv->q->raft, (uint64_t)srv->snap_zxid);
	pid_t pid = fork();
	if (pid < 0) {
		log_error(ZK_SRV_MOD, "cannot fork for a snapshot: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		/* the child only serializes: let it have what CPU the server leaves over */
		struct sched_param sp = { 0 };
		sched_setscheduler(0, SCHED_IDLE, &sp);
		char eb[512] = "";
		int rc = zk_db_snapshot(&srv->db, srv->cfg->data_dir, eb, sizeof(eb));
		if (rc)
			log_error(ZK_SRV_MOD, "snapshot failed: %s", eb);
		_exit(rc ? 1 : 0);
	}
	srv->snap_pid = pid;
	/* the log rolls so that whole files older than the snapshot can be purged */
	if (srv->log)
		zk_txnlog_roll(srv->log);
	log_info(ZK_SRV_MOD, "writing snapshot 0x%" PRIx64 " in child %d", (uint64_t)srv->snap_zxid, (int)pid);
}

/* A snapshot through snap_zxid is on disk: the Raft log below it can go. */
static void zk_quorum_snapshot_done(struct zk_server *srv)
{
	struct zk_quorum *q = srv->q;
	char eb[512];
	struct raft_snapshot_meta meta;
	memset(&meta, 0, sizeof(meta));
	meta.index = (uint64_t)srv->snap_zxid;
	meta.term = (uint64_t)q->snap_term;
	meta.config = *raft_config(q->raft, NULL);
	if (raft_snapshot_done(q->raft, meta.index)) {
		log_warn(ZK_SRV_MOD, "snapshot 0x%" PRIx64 " not usable by Raft", meta.index);
		return;
	}
	meta = *raft_snapshot(q->raft);
	zk_quorum_sync_quiesce(q);
	if (zk_raftlog_compact(q->rlog, &meta, eb, sizeof(eb)))
		log_warn(ZK_SRV_MOD, "cannot compact the Raft log: %s", eb);
	else
		raft_compact(q->raft, meta.index);
}

static void zk_server_sigchld(evutil_socket_t sig, short what, void *arg)
{
	struct zk_server *srv = arg;
	int status;
	pid_t pid;
	(void)sig;
	(void)what;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid != srv->snap_pid)
			continue;
		srv->snap_pid = 0;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			log_info(ZK_SRV_MOD, "snapshot 0x%" PRIx64 " written", (uint64_t)srv->snap_zxid);
			if (srv->q && srv->q->snap_term > 0)
				zk_quorum_snapshot_done(srv);
		} else
			log_error(ZK_SRV_MOD, "snapshot 0x%" PRIx64 " failed (status %d)",
				  (uint64_t)srv->snap_zxid, status);
	}
}

static void zk_server_purge(void *arg)
{
	struct zk_server *srv = arg;
	int rc = zk_snap_purge(srv->cfg->data_dir, srv->cfg->data_log_dir, srv->cfg->snap_retain_count);
	log_info(ZK_SRV_MOD, "purge task: %s", rc ? err_str(rc) : "done");
}

struct zk_reap_ctx {
	char **paths;
	int32_t n, cap;
};

static int zk_reap_collect(const char *path, void *arg)
{
	struct zk_reap_ctx *rc = arg;
	if (rc->n == rc->cap) {
		int32_t cap = rc->cap ? rc->cap * 2 : 16;
		char **nv = realloc(rc->paths, (size_t)cap * sizeof(*nv));
		if (!nv)
			return ERR_NOMEM;
		rc->paths = nv;
		rc->cap = cap;
	}
	rc->paths[rc->n] = strdup(path);
	if (!rc->paths[rc->n])
		return ERR_NOMEM;
	rc->n++;
	return 0;
}

/* ZooKeeper's ContainerManager: delete containers that had children and have none left. */
static void zk_server_reap_containers(void *arg)
{
	struct zk_server *srv = arg;
	struct zk_reap_ctx rc = { NULL, 0, 0 };
	zk_tree_empty_containers(srv->db.tree, zk_reap_collect, &rc);
	for (int32_t i = 0; i < rc.n; i++) {
		const struct zk_node *node = zk_tree_get(srv->db.tree, rc.paths[i]);
		struct zk_stat st;
		if (node) {
			zk_node_stat(node, &st);
			if (st.num_children == 0 && zk_node_owner(node) == ZK_CONTAINER_OWNER) {
				struct zk_txn txn;
				zk_txn_init(srv, &txn, ZK_TXN_DELETE, 0, 0);
				txn.path = rc.paths[i];
				zk_server_commit(srv, &txn);
				log_info(ZK_SRV_MOD, "deleted empty container %s", rc.paths[i]);
			}
		}
		free(rc.paths[i]);
	}
	free(rc.paths);
}

/* ---- life cycle ---- */

int zk_server_new(struct event_base *base, const struct zk_config *cfg, struct zk_server **out,
		  char *errbuf, size_t errlen)
{
	struct zk_server *srv = calloc(1, sizeof(*srv));
	int rc;
	if (!srv)
		return ERR_NOMEM;
	srv->base = base;
	srv->cfg = cfg;
	srv->start_ms = zk_wall_ms();
	srv->four_lw_mask = zk_4lw_parse_whitelist(cfg->four_letter_words);
	wbuf_init(&srv->out, (size_t)cfg->jute_maxbuffer * 4 + (64u << 20));
	wbuf_init(&srv->rec, (size_t)cfg->jute_maxbuffer * 2 + (1u << 20));
	jute_arena_init(&srv->arena, (size_t)cfg->jute_maxbuffer * 2 + 65536);
	uint32_t r;
	RAND_bytes((unsigned char *)&r, sizeof(r));
	srv->snap_trigger = cfg->snap_count / 2 + (int64_t)(r % (uint32_t)(cfg->snap_count / 2 + 1));

	bool quorum = cfg->n_servers >= 2 || (cfg->n_servers == 1 && !cfg->standalone_enabled);
	rc = zk_db_init(&srv->db, quorum ? (int64_t)cfg->myid : 0, cfg->tick_time, zk_mono_ms());
	if (rc)
		goto fail;
	srv->db.on_event = zk_server_on_event;
	srv->db.on_session_closed = zk_server_on_session_closed;
	srv->db.cb_arg = srv;
	srv->watches = zk_watch_new();
	if (!srv->watches) {
		rc = ERR_NOMEM;
		goto fail;
	}
	rc = zk_db_recover(&srv->db, cfg->data_dir, cfg->data_log_dir, errbuf, errlen);
	if (rc)
		goto fail;
	srv->durable_zxid = srv->db.last_zxid;
	if (quorum) {
		rc = zk_quorum_new(srv, errbuf, errlen);
		if (rc)
			goto fail;
	} else {
		struct zk_txnlog_opts lopts = {
			.prealloc_bytes = (size_t)cfg->prealloc_kb * 1024,
			.roll_bytes = 0,
			.force_sync = cfg->force_sync,
		};
		rc = zk_txnlog_open(cfg->data_log_dir, srv->db.last_zxid, &lopts, base, zk_server_durable, srv,
				    &srv->log, errbuf, errlen);
		if (rc)
			goto fail;
	}
	rc = net_listen(base, cfg->client_port_address, cfg->client_port, 128, zk_server_accept, srv,
			&srv->listener, errbuf, errlen);
	if (rc)
		goto fail;
	srv->tick_timer = net_timer_new(base, (uint64_t)(cfg->tick_time < 500 ? cfg->tick_time : 500),
					true, zk_server_tick, srv);
	srv->container_timer = net_timer_new(base, (uint64_t)cfg->container_check_ms, true,
					     zk_server_reap_containers, srv);
	if (cfg->purge_interval > 0)
		srv->purge_timer = net_timer_new(base, (uint64_t)cfg->purge_interval * 3600 * 1000, true,
						 zk_server_purge, srv);
	srv->sigchld = evsignal_new(base, SIGCHLD, zk_server_sigchld, srv);
	if (!srv->tick_timer || !srv->container_timer || !srv->sigchld || evsignal_add(srv->sigchld, NULL)) {
		rc = err_set(errbuf, errlen, ERR_NOMEM, "cannot set up timers");
		goto fail;
	}
	log_info(ZK_SRV_MOD, "serving on %s:%d, dataDir %s, dataLogDir %s, last zxid 0x%" PRIx64,
		 cfg->client_port_address, net_listener_port(srv->listener), cfg->data_dir,
		 cfg->data_log_dir, (uint64_t)srv->db.last_zxid);
	*out = srv;
	return 0;
fail:
	zk_server_free(srv);
	return rc;
}

int zk_server_port(const struct zk_server *srv)
{
	return net_listener_port(srv->listener);
}

void zk_server_free(struct zk_server *srv)
{
	if (!srv)
		return;
	net_listener_free(srv->listener);
	srv->listener = NULL;
	/* close every connection and let the loop reap them (their closed callbacks free them) */
	for (struct zk_conn *c = srv->conns; c; c = c->next)
		if (c->nc)
			net_conn_close(c->nc, ERR_CLOSED);
	for (int i = 0; srv->conns && i < 1000; i++)
		event_base_loop(srv->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	while (srv->conns) /* only if the loop could not reap them */
		zk_conn_free(srv->conns);
	if (srv->snap_pid > 0) {
		int status;
		waitpid(srv->snap_pid, &status, 0);
	}
	zk_quorum_free(srv->q);
	srv->q = NULL;
	for (int i = 0; i < 4; i++) /* the peer layer's closed connections are reaped by the loop */
		event_base_loop(srv->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	if (srv->log)
		zk_txnlog_close(srv->log);
	net_timer_free(srv->tick_timer);
	net_timer_free(srv->container_timer);
	net_timer_free(srv->purge_timer);
	if (srv->sigchld)
		event_free(srv->sigchld);
	zk_watch_free(srv->watches);
	zk_db_destroy(&srv->db);
	jute_arena_free(&srv->arena);
	wbuf_free(&srv->out);
	wbuf_free(&srv->rec);
	free(srv);
}
