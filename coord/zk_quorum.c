/*
 * zk_quorum — the ensemble glue (quorum mode only; srv->q is NULL standalone). Raft
 * (coord/raft.c) orders every txn; its log (zk_raftlog) replaces the txn log and a log index is
 * a zxid. The leader preps a request against its state, proposes the txn and applies it at
 * once; replies and watch events it causes stay held until the entry is committed
 * (durable_zxid = the commit index). Followers apply committed entries in order; they forward
 * writes, new sessions, closeSession and sync to the leader and answer their clients when the
 * txn is applied here (a placeholder keeps the client's replies in order). Any change of leader
 * or term closes every client connection (clients reconnect, their sessions are global); a
 * leader that lost office with applied but uncommitted txns reloads its state from the
 * snapshot and the committed log. Only the leader expires sessions; followers report session
 * activity to it (TOUCH). Peer messages other than Raft's are the Forward, Touch, Sync and Nack
 * messages of proto/quorum.proto, decoded by zk_peer. Also owns the Raft log's fdatasync
 * (run by a common/fsyncq worker, reported back on the loop), snapshot install/transfer and
 * Raft log compaction after a snapshot. Loop thread only.
 */
#include "zk_server_int.h"

#include "buf.h"
#include "err.h"
#include "jute.h"
#include "log.h"
#include "net.h"
#include "raft.h"
#include "zk_peer.h"
#include "tls.h"
#include "zk_raftlog.h"
#include "zk_db.h"
#include "zk_session.h"
#include "zk_txnrec.h"

#include "fsyncq.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void zk_quorum_sync_quiesce(struct zk_quorum *q);
static void zk_quorum_after(struct zk_server *srv);

bool zk_quorum_serving(const struct zk_server *srv)
{
	return !srv->q || srv->q->serving;
}

void zk_quorum_touch(struct zk_server *srv, int64_t session_id)
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

static struct zk_held *zk_quorum_placeholder(struct zk_conn *conn, int32_t xid, const uint8_t *req, size_t len)
{
	struct zk_held *h = malloc(sizeof(*h) + len);
	if (!h)
		return NULL;
	memset(h, 0, sizeof(*h));
	h->zxid = ZK_HELD_WAIT;
	h->xid = xid;
	h->placeholder = true;
	h->t0_us = zk_mono_us(); /* forwarded now, as it arrived (or left the deferred queue) */
	h->len = len;
	if (len)
		memcpy(h->data, req, len);
	conn->placeholders++;
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

/* Sends a Nack for session to peer `to` (the leader cannot take its request now). */
static void zk_quorum_nack(struct zk_server *srv, uint64_t to, int64_t session)
{
	struct zk_peer_app nack = { .kind = ZK_PEER_FORWARD_NACK, .session = session };
	zk_peer_send_msg(srv->q->peer, to, &nack);
}

int zk_quorum_forward(struct zk_server *srv, struct zk_conn *conn, int kind, const uint8_t *req,
			     size_t len, int32_t xid)
{
	struct zk_quorum *q = srv->q;
	uint64_t leader = raft_leader(q->raft);
	if (!leader || leader == q->myid)
		return ERR_CLOSED;
	struct zk_peer_app m;
	memset(&m, 0, sizeof(m));
	if (kind == ZK_FWD_SYNC) {
		m.kind = ZK_PEER_SYNC;
		m.session = conn->session_id;
		m.xid = xid;
	} else {
		m.kind = ZK_PEER_FORWARD;
		m.fwd_kind = (enum zk_peer_fwd_kind)kind;
		m.session = kind == ZK_FWD_CREATE ? conn->pending_session : conn->session_id;
		m.timeout = conn->timeout;
		memcpy(m.passwd, conn->pending_passwd, ZK_PASSWD_LEN);
		m.passwd_len = ZK_PASSWD_LEN;
		for (int32_t i = 0; i < conn->n_ids && i < ZK_MAX_AUTH_IDS; i++) {
			m.ids[i].scheme = conn->ids[i].scheme;
			m.ids[i].id = conn->ids[i].id;
		}
		m.n_ids = (size_t)conn->n_ids;
		m.request = req;
		m.request_len = len;
	}
	int rc = zk_peer_send_msg(q->peer, leader, &m);
	if (rc)
		return rc;
	if (kind == ZK_FWD_CREATE)
		return 0;
	struct zk_held *h = zk_quorum_placeholder(conn, xid, req, len);
	if (!h)
		return ERR_NOMEM;
	h->update = kind != ZK_FWD_SYNC; /* a sync is a read in ZooKeeper's figures (no txn) */
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
static void zk_quorum_on_forward(struct zk_server *srv, uint64_t from, const struct zk_peer_app *m)
{
	if (raft_role(srv->q->raft) != RAFT_LEADER || !srv->q->serving) {
		zk_quorum_nack(srv, from, m->session);
		return;
	}
	struct zk_conn stand_in;
	memset(&stand_in, 0, sizeof(stand_in));
	stand_in.srv = srv;
	stand_in.forwarded = true;
	stand_in.state = ZK_CONN_ACTIVE;
	stand_in.session_id = m->session;
	for (size_t i = 0; i < m->n_ids; i++) { /* n_ids <= ZK_PEER_MAX_IDS == ZK_MAX_AUTH_IDS */
		stand_in.ids[i].scheme = m->ids[i].scheme;
		stand_in.ids[i].id = m->ids[i].id;
	}
	stand_in.n_ids = (int32_t)m->n_ids;
	snprintf(stand_in.ip, sizeof(stand_in.ip), "server.%" PRIu64, from);
	uint64_t t0 = zk_mono_us();
	if (m->fwd_kind == ZK_PEER_FWD_CREATE) {
		struct zk_txn txn;
		zk_prep_txn_init(srv, &txn, ZK_TXN_CREATESESSION, m->session, 0);
		txn.timeout_ms = m->timeout;
		txn.passwd = m->passwd;
		zk_prep_commit(srv, &txn);
		return;
	}
	zk_sessions_touch(srv->db.sessions, m->session, zk_mono_ms());
	struct jute_req jr;
	jute_arena_reset(&srv->arena);
	if (jute_decode_request(m->request, m->request_len, &srv->arena, &jr)) {
		log_warn(ZK_SRV_MOD, "undecodable request forwarded by server %" PRIu64, from);
	} else if (!zk_sessions_exists(srv->db.sessions, m->session) ||
		   zk_sessions_is_closing(srv->db.sessions, m->session)) {
		/* the session expired while the request travelled: an error txn answers it (through
		 * the follower that asked), and nothing is done under a dead session's name */
		struct zk_txn txn;
		zk_prep_txn_init(srv, &txn, ZK_TXN_ERROR, m->session, jr.xid);
		txn.err = ZK_ESESSIONEXPIRED;
		zk_prep_commit(srv, &txn);
	} else if (m->fwd_kind == ZK_PEER_FWD_CLOSE) {
		zk_prep_handle_close_session(srv, &stand_in, &jr, t0);
	} else if (jr.type == ZK_OP_RECONFIG) {
		zk_reconfig_handle(srv, &stand_in, &jr, t0);
	} else if (jr.type == ZK_OP_MULTI) {
		zk_prep_handle_multi(srv, &stand_in, &jr, t0);
	} else if (zk_prep_is_write(jr.type)) {
		zk_prep_handle_write(srv, &stand_in, &jr, t0);
	} else {
		log_warn(ZK_SRV_MOD, "server %" PRIu64 " forwarded a request of type %d, not a write", from, jr.type);
	}
}

/* A follower: builds the reply to a forwarded request from the txn it caused, into srv->out. */
static void zk_quorum_reply_from_txn(struct zk_server *srv, const struct zk_held *h, const struct zk_txn *txn)
{
	struct jute_req req;
	wbuf_reset(&srv->out);
	jute_arena_reset(&srv->arena);
	if (jute_decode_request(h->data, h->len, &srv->arena, &req)) {
		size_t off = zk_conn_reply_begin(srv, h->xid, txn->zxid, ZK_EMARSHALLINGERROR);
		(void)off;
		jute_frame_end(&srv->out, off);
		return;
	}
	if (req.type == ZK_OP_MULTI && txn->type == ZK_TXN_MULTI) {
		bool failed = false;
		for (int32_t i = 0; i < txn->n_ops; i++)
			failed |= txn->ops[i].type == ZK_TXN_ERROR;
		size_t off = zk_conn_reply_begin(srv, h->xid, txn->zxid, ZK_OK);
		for (int32_t i = 0; i < txn->n_ops && i < req.n_ops; i++) {
			if (failed) {
				jute_put_multi_header(&srv->out, ZK_OP_ERROR, false, txn->ops[i].err);
				wbuf_i32(&srv->out, txn->ops[i].err);
			} else {
				int32_t type = zk_prep_multi_result_type(req.ops[i].type);
				jute_put_multi_header(&srv->out, type, false, 0);
				zk_prep_put_result(srv, type, &txn->ops[i], NULL);
			}
		}
		jute_put_multi_header(&srv->out, -1, true, -1);
		jute_frame_end(&srv->out, off);
		return;
	}
	int32_t err = txn->type == ZK_TXN_ERROR ? txn->err : ZK_OK;
	size_t off = zk_conn_reply_begin(srv, h->xid, txn->zxid, err);
	if (!err && req.type == ZK_OP_RECONFIG)
		zk_reconfig_put_config(srv);
	else if (!err && req.type != ZK_OP_CLOSESESSION)
		zk_prep_put_result(srv, req.type, txn, NULL);
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
	if (--conn->placeholders == 0 && conn->defer_head)
		event_active(srv->drain, EV_TIMEOUT, 0); /* its next requests run now (not from inside the apply) */
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
void zk_quorum_apply(struct zk_server *srv, const struct raft_entry *e)
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
	zk_reconfig_applied(srv, &txn);
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
		if (txn.type == ZK_TXN_ERROR)
			owner->last_op = ZK_OP_ERROR;
		owner->last_zxid = txn.zxid;
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
		/* a connection without a session yet (its ConnectRequest, or a four-letter word such as
		 * a monitor's srvr, not read yet) has nothing to lose: it stays, and is answered by what
		 * the server is when its bytes are read (closing it dropped a srvr unanswered) */
		if (c->state == ZK_CONN_HANDSHAKE)
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
	srv->db.on_event = zk_conn_on_event;
	srv->db.on_session_closed = zk_conn_on_session_closed;
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
	zk_reconfig_load(srv);
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

/* ---- the log's fdatasync, on the fsync worker (common/fsyncq) ----
 *
 * The loop goes on replicating while raft.log is synced: each round that appended entries
 * queues a sync with its persist_seq, the worker groups what is queued into one fdatasync,
 * and raft_persisted() learns the seq on the loop. */

/* Loop thread (fsyncq callback): the Raft log is durable up to persist_seq seq. */
static void zk_quorum_synced(int err, uint64_t seq, void *arg)
{
	struct zk_server *srv = arg;
	if (err) {
		log_fatal(ZK_SRV_MOD, "cannot fdatasync the Raft log: %s", strerror(err));
		abort();
	}
	raft_persisted(srv->q->raft, seq);
	zk_quorum_ready(srv);
}

/* Everything appended up to persist_seq seq should become durable. */
static void zk_quorum_sync_ask(struct zk_server *srv, uint64_t seq)
{
	struct zk_quorum *q = srv->q;
	int rc = fsyncq_submit(q->fsq, zk_raftlog_fd(q->rlog), seq, zk_quorum_synced, srv);
	if (rc) {
		log_fatal(ZK_SRV_MOD, "cannot queue the fdatasync of the Raft log: %s", err_str(rc));
		abort();
	}
}

/* Waits until every queued fdatasync has run (before raft.log may be replaced). */
static void zk_quorum_sync_quiesce(struct zk_quorum *q)
{
	if (q->fsq)
		fsyncq_drain(q->fsq);
}

/* Carries out what the core asks, then looks at role changes. */
void zk_quorum_ready(struct zk_server *srv)
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
				zk_quorum_sync_ask(srv, rd.persist_seq);
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
	/* What clients may see: what is both applied here and committed. A leader applies at
	 * proposal, so that is its commit index; a follower applies only what is committed. Never
	 * the role alone: a leader that has just stepped down in this step (zk_quorum_after has not
	 * reloaded its state yet) still holds applied txns that may never commit, and releasing
	 * their held replies would acknowledge writes the new leader does not have. */
	int64_t commit = (int64_t)raft_commit_index(q->raft);
	int64_t visible = srv->db.last_zxid < commit ? srv->db.last_zxid : commit;
	if (visible > srv->durable_zxid)
		zk_conn_durable(visible, srv);
	zk_quorum_after(srv);
}

int zk_quorum_retouch(int64_t id, int32_t timeout_ms, const uint8_t *passwd, void *arg)
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
		if (was_leader != (role == RAFT_LEADER))
			zk_metrics_leading(srv, role == RAFT_LEADER);
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
		zk_metrics_serving(srv, serving);
		if (!serving)
			zk_quorum_close_clients(srv, "not serving");
	}
	if (role == RAFT_LEADER && serving) {
		if (!q->config_written) { /* the first leader records the ensemble in /zookeeper/config */
			q->config_written = true; /* once, even if what it writes turns out unreadable */
			zk_reconfig_write_config(srv, NULL, 0, q->members, q->n_members, true);
		}
		zk_reconfig_step(srv);
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

/* Application messages from peer `from`; their bytes are decoded by zk_peer (capped, fuzzed). */
static void zk_quorum_on_app(uint64_t from, enum zk_peer_kind kind, const uint8_t *p, size_t len, void *arg)
{
	struct zk_server *srv = arg;
	struct zk_quorum *q = srv->q;
	struct zk_peer_app m;
	int rc = zk_peer_decode_app(kind, p, len, &m);
	if (rc) {
		log_warn(ZK_SRV_MOD, "malformed message of kind %d (%zu bytes) from server %" PRIu64 ": %s", (int)kind,
			 len, from, err_str(rc));
		if (kind == ZK_PEER_FORWARD) /* the follower's client must not wait for it */
			zk_quorum_nack(srv, from, 0);
		return;
	}
	switch (kind) {
	case ZK_PEER_FORWARD:
		zk_quorum_on_forward(srv, from, &m);
		break;
	case ZK_PEER_TOUCH: {
		int64_t now = zk_mono_ms();
		for (size_t i = 0; i < m.n_sessions; i++)
			zk_sessions_touch(srv->db.sessions, m.sessions[i], now);
		break;
	}
	case ZK_PEER_SYNC: {
		struct zk_peer_app resp = { .kind = ZK_PEER_SYNC_RESP, .session = m.session, .xid = m.xid };
		resp.zxid = (int64_t)raft_last_index(q->raft);
		zk_peer_send_msg(q->peer, from, &resp);
		break;
	}
	case ZK_PEER_SYNC_RESP: {
		struct zk_conn *c = zk_quorum_conn_of(srv, m.session);
		struct zk_held *ph = c ? zk_quorum_find_placeholder(c, m.xid) : NULL;
		if (ph) {
			struct jute_req req;
			jute_arena_reset(&srv->arena);
			int bad = jute_decode_request(ph->data, ph->len, &srv->arena, &req);
			wbuf_reset(&srv->out);
			size_t off = zk_conn_reply_begin(srv, m.xid, m.zxid, 0);
			wbuf_str_i32(&srv->out, !bad && req.path ? req.path : "/");
			jute_frame_end(&srv->out, off);
			zk_quorum_fill(c, ph, m.zxid);
		}
		break;
	}
	case ZK_PEER_FORWARD_NACK:
		/* Session 0: the leader could not decode a Forward, so which one is unknown; only
		 * connections waiting on a forward of theirs can be concerned. */
		for (struct zk_conn *c = srv->conns; c; c = c->next) {
			bool mine = m.session ? c->session_id == m.session || c->pending_session == m.session
					      : c->placeholders > 0 || c->pending_session != 0;
			if (mine && c->nc)
				net_conn_close(c->nc, ERR_CLOSED);
		}
		break;
	default:
		break;
	}
	zk_peer_app_clear(&m);
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
		for (size_t i = 0; i < q->n_touched; i += ZK_PEER_MAX_TOUCH) {
			struct zk_peer_app m = { .kind = ZK_PEER_TOUCH, .sessions = q->touched + i };
			m.n_sessions = q->n_touched - i < ZK_PEER_MAX_TOUCH ? q->n_touched - i : ZK_PEER_MAX_TOUCH;
			zk_peer_send_msg(q->peer, raft_leader(q->raft), &m);
		}
		q->n_touched = 0;
		q->touch_ticks = 0;
	}
	zk_quorum_ready(srv);
}

static void zk_quorum_kick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	zk_quorum_ready(arg);
}

int zk_quorum_new(struct zk_server *srv, char *errbuf, size_t errlen)
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
		zk_reconfig_learn(q, &cfg->servers[i]);
	}
	zk_reconfig_load(srv);
	static const struct zk_peer_cbs cbs = { zk_quorum_on_raft, zk_quorum_on_app, zk_quorum_on_up };
	rc = zk_peer_new(srv->base, q->myid, listen_host, listen_port, addrs, n, &cbs, srv, &q->peer, errbuf, errlen);
	if (rc)
		return rc;
	if (cfg->ssl_quorum) {
		/* both ends show a certificate and verify the other's (ZooKeeper's quorum TLS) */
		struct tls_conf tc = {
			.key_location = cfg->ssl_quorum_keystore_location,
			.key_password = cfg->ssl_quorum_keystore_password,
			.trust_location = cfg->ssl_quorum_truststore_location,
			.client_auth = TLS_AUTH_NEED,
			.protocols = cfg->ssl_quorum_enabled_protocols,
			.ciphers = cfg->ssl_quorum_ciphersuites,
		};
		struct tls_ctx *server = NULL, *client = NULL;
		char why[512];
		rc = tls_ctx_new(&tc, true, &server, why, sizeof(why));
		if (!rc)
			rc = tls_ctx_new(&tc, false, &client, why, sizeof(why));
		if (rc) {
			tls_ctx_free(server);
			return err_set(errbuf, errlen, rc, "sslQuorum: %s", why);
		}
		zk_peer_set_tls(q->peer, server, client, cfg->ssl_quorum_hostname_verification);
		log_info(ZK_SRV_MOD, "quorum: TLS between servers (ssl.quorum.hostnameVerification=%s)",
			 cfg->ssl_quorum_hostname_verification ? "true" : "false");
	}
	q->timer = net_timer_new(srv->base, tick_ms, true, zk_quorum_tick, srv);
	q->kick = event_new(srv->base, -1, 0, zk_quorum_kick, srv);
	if (!q->timer || !q->kick)
		return ERR_NOMEM;
	if (fsyncq_new(srv->base, &q->fsq))
		return err_set(errbuf, errlen, ERR_NOMEM, "cannot start the log sync thread");
	log_info(ZK_SRV_MOD, "quorum: server %" PRIu64 " of %d, peer port %s:%d, election timeout %d ms, Raft term %" PRIu64
			     ", log up to 0x%" PRIx64,
		 q->myid, cfg->n_servers, listen_host, listen_port, cfg->election_timeout_ms, raft_term(q->raft),
		 raft_last_index(q->raft));
	return 0;
}

void zk_quorum_free(struct zk_quorum *q)
{
	if (!q)
		return;
	fsyncq_free(q->fsq);
	net_timer_free(q->timer);
	if (q->kick)
		event_free(q->kick);
	zk_peer_free(q->peer);
	raft_free(q->raft);
	zk_raftlog_close(q->rlog);
	free(q->touched);
	free(q);
}

/* A snapshot through snap_zxid is on disk: the Raft log below it can go. */
void zk_quorum_snapshot_done(struct zk_server *srv)
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
