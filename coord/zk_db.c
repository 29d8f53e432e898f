/*
 * zk_db — applying txns to the tree and the session table, and recovery from snapshot + log.
 *
 * Invariant: db->last_zxid is the zxid of the last txn applied; txns are applied in zxid order
 * and each exactly once. A txn that does not fit the state means the prep step or the log is
 * wrong; the caller treats it as fatal.
 */
#include "zk_db.h"

#include "err.h"
#include "log.h"
#include "zk_session.h"
#include "zk_snap.h"
#include "zk_tree.h"
#include "zk_txnlog.h"
#include "zk_txnrec.h"

#include <stdlib.h>
#include <string.h>

static const char *const ZK_DB_MOD = "zk_db";

int zk_db_init(struct zk_db *db, int64_t server_id, int32_t tick_ms, int64_t now_ms)
{
	memset(db, 0, sizeof(*db));
	db->now_ms = now_ms;
	db->tree = zk_tree_new();
	db->sessions = zk_sessions_new(server_id, now_ms, tick_ms);
	if (!db->tree || !db->sessions) {
		zk_db_destroy(db);
		return ERR_NOMEM;
	}
	return 0;
}

void zk_db_destroy(struct zk_db *db)
{
	if (!db)
		return;
	zk_tree_free(db->tree);
	zk_sessions_free(db->sessions);
	db->tree = NULL;
	db->sessions = NULL;
}

static void zk_db_event(struct zk_db *db, const char *path, enum zk_event_type type)
{
	const struct zk_node *node = zk_tree_get(db->tree, path);
	int32_t n = 0;
	const struct zk_acl *acl = node ? zk_node_acl(node, &n) : NULL;
	if (db->on_event)
		db->on_event(path, type, acl, n, db->cb_arg);
}

/* The events of one op on path, the node's own with the ACL it has (node_acl: a deleted node's
 * last one), then CHILDCHANGED on the parent. */
static void zk_db_node_events(struct zk_db *db, const char *path, enum zk_event_type type,
			      const struct zk_acl *node_acl, int32_t n_node_acl)
{
	char small[512];
	if (type == ZK_EVENT_DELETED) {
		if (db->on_event)
			db->on_event(path, type, node_acl, n_node_acl, db->cb_arg);
	} else {
		zk_db_event(db, path, type);
	}
	if (type != ZK_EVENT_CREATED && type != ZK_EVENT_DELETED)
		return;
	size_t need = strlen(path) + 1;
	char *parent = need <= sizeof(small) ? small : malloc(need);
	if (parent && zk_path_parent(path, parent, need))
		zk_db_event(db, parent, ZK_EVENT_CHILDCHANGED);
	if (parent != small)
		free(parent);
}

/* Applies one tree op (not MULTI, not a session op). No events: the caller emits them. */
static int zk_db_apply_tree_op(struct zk_db *db, const struct zk_txn *op, int64_t zxid, int64_t time_ms)
{
	switch (op->type) {
	case ZK_TXN_CREATE:
		return zk_tree_create(db->tree, op->path, op->data, op->data_len, op->acl, op->n_acl,
				      op->ephemeral_owner, zxid, time_ms);
	case ZK_TXN_DELETE:
		return zk_tree_delete(db->tree, op->path, zxid);
	case ZK_TXN_SETDATA:
		return zk_tree_set_data(db->tree, op->path, op->data, op->data_len, zxid, time_ms);
	case ZK_TXN_SETACL:
		return zk_tree_set_acl(db->tree, op->path, op->acl, op->n_acl);
	case ZK_TXN_CHECK:
	case ZK_TXN_ERROR:
		return 0;
	default:
		return ERR_CORRUPT;
	}
}

static enum zk_event_type zk_db_op_event(const struct zk_txn *op)
{
	switch (op->type) {
	case ZK_TXN_CREATE:
		return ZK_EVENT_CREATED;
	case ZK_TXN_DELETE:
		return ZK_EVENT_DELETED;
	case ZK_TXN_SETDATA:
		return ZK_EVENT_DATACHANGED;
	default:
		return ZK_EVENT_NONE;
	}
}

/*
 * Applies one tree op and emits its events. Called inside a tree group (zk_tree_begin), so a
 * node deleted here, and the ACL list it held, stay allocated until the group's commit: its
 * DELETED event carries that ACL.
 */
static int zk_db_apply_op_events(struct zk_db *db, const struct zk_txn *op, int64_t zxid, int64_t time_ms)
{
	const struct zk_acl *acl = NULL;
	int32_t n_acl = 0;
	if (op->type == ZK_TXN_DELETE) {
		const struct zk_node *node = zk_tree_get(db->tree, op->path);
		if (node)
			acl = zk_node_acl(node, &n_acl);
	}
	int rc = zk_db_apply_tree_op(db, op, zxid, time_ms);
	enum zk_event_type t = zk_db_op_event(op);
	if (!rc && t != ZK_EVENT_NONE)
		zk_db_node_events(db, op->path, t, acl, n_acl);
	return rc;
}

struct zk_db_paths {
	char **v;
	size_t n, cap;
	int err;
};

static int zk_db_collect(const char *path, void *arg)
{
	struct zk_db_paths *ps = arg;
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 8;
		char **nv = realloc(ps->v, cap * sizeof(*nv));
		if (!nv) {
			ps->err = ERR_NOMEM;
			return ERR_NOMEM;
		}
		ps->v = nv;
		ps->cap = cap;
	}
	ps->v[ps->n] = strdup(path);
	if (!ps->v[ps->n]) {
		ps->err = ERR_NOMEM;
		return ERR_NOMEM;
	}
	ps->n++;
	return 0;
}

static int zk_db_strcmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Deletes every ephemeral node of a session (DataTree.killSession) and forgets the session. */
static int zk_db_close_session(struct zk_db *db, int64_t session_id, int64_t zxid)
{
	struct zk_db_paths ps = { 0 };
	int rc = zk_tree_ephemerals(db->tree, session_id, zk_db_collect, &ps);
	if (!rc)
		rc = ps.err;
	/* Ephemerals have no children, so any order works; sort so that live and replay emit the
	 * same events in the same order. */
	if (!rc && ps.n > 1)
		qsort(ps.v, ps.n, sizeof(*ps.v), zk_db_strcmp);
	/* a group keeps each deleted node's ACL alive for its DELETED event */
	zk_tree_begin(db->tree);
	for (size_t i = 0; !rc && i < ps.n; i++) {
		struct zk_txn del = { .type = ZK_TXN_DELETE, .path = ps.v[i] };
		rc = zk_db_apply_op_events(db, &del, zxid, 0);
	}
	zk_tree_commit(db->tree);
	for (size_t i = 0; i < ps.n; i++)
		free(ps.v[i]);
	free(ps.v);
	zk_sessions_remove(db->sessions, session_id);
	if (db->on_session_closed)
		db->on_session_closed(session_id, db->cb_arg);
	return rc;
}

int zk_db_apply(struct zk_db *db, const struct zk_txn *txn)
{
	int rc = 0;

	if (txn->zxid <= db->last_zxid) {
		log_fatal(ZK_DB_MOD, "txn zxid 0x%llx not after last applied 0x%llx",
			  (unsigned long long)txn->zxid, (unsigned long long)db->last_zxid);
		return ERR_CORRUPT;
	}
	switch (txn->type) {
	case ZK_TXN_CREATESESSION:
		rc = zk_sessions_add(db->sessions, txn->session_id, txn->timeout_ms, txn->passwd,
				     db->now_ms);
		break;
	case ZK_TXN_CLOSESESSION:
		rc = zk_db_close_session(db, txn->session_id, txn->zxid);
		break;
	case ZK_TXN_MULTI: {
		bool failed = false;
		for (int32_t i = 0; i < txn->n_ops; i++)
			if (txn->ops[i].type == ZK_TXN_ERROR)
				failed = true;
		if (failed)
			break;
		/* Events go out op by op, each with the ACLs of its moment (as ZooKeeper's DataTree
		 * triggers them). An op that does not apply is fatal to the caller (see zk_db.h), so
		 * the events of the ops before it do not matter. */
		zk_tree_begin(db->tree);
		for (int32_t i = 0; !rc && i < txn->n_ops; i++)
			rc = zk_db_apply_op_events(db, &txn->ops[i], txn->zxid, txn->time_ms);
		if (rc) {
			zk_tree_rollback(db->tree);
			break;
		}
		zk_tree_commit(db->tree);
		break;
	}
	default:
		zk_tree_begin(db->tree);
		rc = zk_db_apply_op_events(db, txn, txn->zxid, txn->time_ms);
		if (rc)
			zk_tree_rollback(db->tree);
		else
			zk_tree_commit(db->tree);
		break;
	}
	if (rc) {
		log_error(ZK_DB_MOD, "txn 0x%llx (type %d) does not apply: %s",
			  (unsigned long long)txn->zxid, (int)txn->type, err_str(rc));
		return rc;
	}
	db->last_zxid = txn->zxid;
	return 0;
}

void zk_db_trial_begin(struct zk_db *db)
{
	zk_tree_begin(db->tree);
}

int zk_db_trial_op(struct zk_db *db, const struct zk_txn *op, int64_t zxid, int64_t time_ms)
{
	return zk_db_apply_tree_op(db, op, zxid, time_ms);
}

void zk_db_trial_end(struct zk_db *db)
{
	zk_tree_rollback(db->tree);
}

/* ---- recovery ---- */

static int zk_db_load_node(const char *path, const uint8_t *data, int32_t len,
			   const struct zk_stat *st, const struct zk_acl *acl, int32_t n, void *arg)
{
	struct zk_db *db = arg;
	return zk_tree_load_node(db->tree, path, data, len, acl, n, st);
}

static int zk_db_load_session(int64_t id, int32_t timeout, const uint8_t *passwd, void *arg)
{
	struct zk_db *db = arg;
	return zk_sessions_add(db->sessions, id, timeout, passwd, db->now_ms);
}

static int zk_db_replay_one(int64_t zxid, const uint8_t *rec, size_t len, void *arg)
{
	struct zk_db *db = arg;
	struct zk_txnrec *tr = NULL;
	int rc = zk_txnrec_decode(rec, len, &tr);
	if (rc) {
		log_error(ZK_DB_MOD, "log record 0x%llx does not decode: %s", (unsigned long long)zxid,
			  err_str(rc));
		return rc;
	}
	const struct zk_txn *txn = zk_txnrec_txn(tr);
	if (txn->zxid != zxid)
		rc = ERR_CORRUPT;
	else
		rc = zk_db_apply(db, txn);
	zk_txnrec_free(tr);
	return rc;
}

int zk_db_recover(struct zk_db *db, const char *snap_dir, const char *log_dir, char *errbuf,
		  size_t errlen)
{
	int64_t snap_zxid = 0;
	int64_t last = 0;
	int rc = zk_snap_load_latest(snap_dir, zk_db_load_node, zk_db_load_session, db, &snap_zxid,
				     errbuf, errlen);
	if (rc)
		return rc;
	db->last_zxid = snap_zxid;
	rc = zk_txnlog_replay(log_dir, snap_zxid, zk_db_replay_one, db, &last, errbuf, errlen);
	if (rc)
		return rc;
	if (last > db->last_zxid)
		db->last_zxid = last;
	log_info(ZK_DB_MOD, "recovered: snapshot at 0x%llx, last zxid 0x%llx, %zu znodes, %zu sessions",
		 (unsigned long long)snap_zxid, (unsigned long long)db->last_zxid,
		 zk_tree_count(db->tree), zk_sessions_count(db->sessions));
	return 0;
}

/* ---- snapshot ---- */

struct zk_db_snapctx {
	struct zk_snap_writer *w;
	int rc;
};

static int zk_db_snap_node(const struct zk_node *node, void *arg)
{
	struct zk_db_snapctx *sc = arg;
	struct zk_stat st;
	int32_t len, n;
	zk_node_stat(node, &st);
	st.cversion = zk_node_creates(node); /* the raw counter, see zk_tree_load_node */
	st.ephemeral_owner = zk_node_owner(node); /* incl. the container mark */
	const uint8_t *data = zk_node_data(node, &len);
	const struct zk_acl *acl = zk_node_acl(node, &n);
	sc->rc = zk_snap_add_node(sc->w, zk_node_path(node), data, len, &st, acl, n);
	return sc->rc;
}

static int zk_db_snap_session(int64_t id, int32_t timeout, const uint8_t *passwd, void *arg)
{
	struct zk_db_snapctx *sc = arg;
	sc->rc = zk_snap_add_session(sc->w, id, timeout, passwd);
	return sc->rc;
}

int zk_db_snapshot(const struct zk_db *db, const char *snap_dir, char *errbuf, size_t errlen)
{
	struct zk_db_snapctx sc = { NULL, 0 };
	int rc = zk_snap_begin(snap_dir, db->last_zxid, &sc.w, errbuf, errlen);
	if (rc)
		return rc;
	rc = zk_tree_walk(db->tree, zk_db_snap_node, &sc);
	if (!rc)
		rc = zk_sessions_walk(db->sessions, zk_db_snap_session, &sc);
	if (rc) {
		zk_snap_abort(sc.w);
		return err_set(errbuf, errlen, rc, "snapshot 0x%llx failed: %s",
			       (unsigned long long)db->last_zxid, err_str(rc));
	}
	return zk_snap_finish(sc.w);
}
