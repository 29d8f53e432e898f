/*
 * zk_conn — a client connection of the coordinator: its state machine (HANDSHAKE -> ACTIVE ->
 * CLOSING), the authenticated ids it carries, and its output. Every reply and watch event is
 * queued on the connection tagged with the zxid of the state it reveals and leaves, in request
 * order, only once the log is durable up to that zxid (zk_conn_durable, the log's durable
 * callback); the held bytes pause reading past a high mark. Also the reply-frame helpers
 * (zk_conn_reply_*), watch notifications and the ACL check of a connection's ids.
 * Loop thread only.
 */
#include "zk_server_int.h"

#include "buf.h"
#include "err.h"
#include "jute.h"
#include "log.h"
#include "net.h"
#include "zk_acl.h"
#include "zk_session.h"
#include "zk_tree.h"
#include "zk_watch.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* past this many bytes held for durability, stop reading the connection's requests */
#define ZK_HELD_PAUSE_BYTES (4u << 20)

static const char *const zk_conn_state_names[] = { "HANDSHAKE", "ACTIVE", "CLOSING" };

/* ---- connections and output ---- */

static void zk_conn_record_latency(struct zk_server *srv, struct zk_conn *conn, uint64_t t0_us, bool update,
				   size_t len)
{
	if (!t0_us)
		return;
	uint64_t us = zk_mono_us() - t0_us;
	zk_metrics_reply(srv, update, us, len >= 4 ? len - 4 : 0); /* the size without the length prefix */
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
	conn->lat_last = ms;
}

static void zk_conn_write(struct zk_conn *conn, const uint8_t *p, size_t len, uint64_t t0_us, bool update)
{
	if (!conn->nc)
		return;
	net_conn_send(conn->nc, p, len);
	conn->sent++;
	conn->srv->packets_sent++;
	conn->last_resp_ms = zk_mono_ms();
	zk_conn_record_latency(conn->srv, conn, t0_us, update, len);
}

/*
 * Queues the frame in srv->out (already length-prefixed) on conn; it leaves once the log is
 * durable up to zxid and every frame queued before it has left.
 */
void zk_conn_send(struct zk_conn *conn, int64_t zxid, uint64_t t0_us)
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
		zk_conn_write(conn, srv->out.p, srv->out.len, t0_us, srv->reply_update);
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
	h->update = srv->reply_update;
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

void zk_conn_flush_held(struct zk_conn *conn)
{
	struct zk_server *srv = conn->srv;
	while (conn->held_head && !conn->held_head->placeholder && conn->held_head->zxid <= srv->durable_zxid) {
		struct zk_held *h = conn->held_head;
		conn->held_head = h->next;
		if (!conn->held_head)
			conn->held_tail = NULL;
		conn->held_bytes -= h->len;
		zk_conn_write(conn, h->data, h->len, h->t0_us, h->update);
		free(h);
	}
	if (conn->paused && conn->held_bytes < ZK_HELD_PAUSE_BYTES / 2 && conn->nc) {
		net_conn_resume_read(conn->nc);
		conn->paused = false;
	}
	zk_conn_maybe_close(conn);
}

/* The log is durable up to zxid: release every frame that waited for it. */
void zk_conn_durable(int64_t zxid, void *arg)
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
void zk_conn_set_state(struct zk_conn *conn, enum zk_conn_state st)
{
	if (conn->state == st)
		return;
	assert(conn->state != ZK_CONN_CLOSING && !(conn->state == ZK_CONN_ACTIVE && st == ZK_CONN_HANDSHAKE));
	log_debug(ZK_SRV_MOD, "connection %s session 0x%" PRIx64 ": %s -> %s", conn->ip,
		  (uint64_t)conn->session_id, zk_conn_state_names[conn->state], zk_conn_state_names[st]);
	conn->state = st;
}

/* Stop reading requests; close once every queued frame has left. */
void zk_conn_finish(struct zk_conn *conn)
{
	zk_conn_set_state(conn, ZK_CONN_CLOSING);
	conn->close_when_flushed = true;
	zk_conn_maybe_close(conn);
}

void zk_conn_free(struct zk_conn *conn)
{
	struct zk_server *srv = conn->srv;
	free(conn->sasl);
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
	while (conn->defer_head) {
		struct zk_held *h = conn->defer_head;
		conn->defer_head = h->next;
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

void zk_conn_closed(struct net_conn *nc, int err, void *arg)
{
	struct zk_conn *conn = arg;
	(void)nc;
	log_debug(ZK_SRV_MOD, "connection %s closed: %s", conn->ip, err_str(err));
	conn->nc = NULL;
	zk_conn_free(conn);
}

/* ---- reply encoding ---- */

size_t zk_conn_reply_begin(struct zk_server *srv, int32_t xid, int64_t zxid, int32_t err)
{
	wbuf_reset(&srv->out);
	size_t off = jute_frame_begin(&srv->out);
	jute_put_reply_header(&srv->out, xid, zxid, err);
	return off;
}

void zk_conn_reply_end(struct zk_conn *conn, size_t off, uint64_t t0_us)
{
	struct zk_server *srv = conn->srv;
	jute_frame_end(&srv->out, off);
	conn->last_zxid = srv->db.last_zxid;
	zk_conn_send(conn, srv->db.last_zxid, t0_us);
}

void zk_conn_reply_err(struct zk_conn *conn, int32_t xid, int64_t zxid, int32_t err, uint64_t t0_us)
{
	size_t off = zk_conn_reply_begin(conn->srv, xid, zxid, err);
	zk_conn_reply_end(conn, off, t0_us);
}

/* A notification for one watcher (a connection). Called by zk_watch_trigger. */
void zk_conn_notify(void *watcher, enum zk_event_type type, const char *path, void *arg)
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

/* One event being fired: the ACL a watcher needs READ in to be told of it. */
struct zk_conn_fire {
	struct zk_server *srv;
	const struct zk_acl *acl;
	int32_t n_acl;
};

/* Tells a watcher of an event only if it may READ the node (ZooKeeper 3.8.4's fix of
 * CVE-2024-23944); a one-shot watch fires, and is gone, either way, as in ZooKeeper. */
static void zk_conn_notify_if_allowed(void *watcher, enum zk_event_type type, const char *path, void *arg)
{
	struct zk_conn_fire *f = arg;
	struct zk_conn *conn = watcher;
	if (!zk_acl_check(f->acl, f->n_acl, ZK_PERM_READ, conn->ids, conn->n_ids))
		return;
	zk_conn_notify(watcher, type, path, f->srv);
}

/* zk_db's event hook: route tree events to the watch manager. */
void zk_conn_on_event(const char *path, enum zk_event_type type, const struct zk_acl *acl, int32_t n_acl,
		      void *arg)
{
	struct zk_conn_fire f = { arg, acl, n_acl };
	zk_watch_trigger(f.srv->watches, path, type, zk_conn_notify_if_allowed, &f);
}

void zk_conn_on_session_closed(int64_t session_id, void *arg)
{
	struct zk_server *srv = arg;
	for (struct zk_conn *c = srv->conns; c; c = c->next)
		if (c->session_id == session_id && c->state != ZK_CONN_CLOSING)
			zk_conn_finish(c);
}

/* ---- ACL helpers ---- */

bool zk_conn_allowed(struct zk_conn *conn, const struct zk_node *node, int32_t perm)
{
	int32_t n;
	const struct zk_acl *acl = zk_node_acl(node, &n);
	return zk_acl_check(acl, n, perm, conn->ids, conn->n_ids) != 0;
}
