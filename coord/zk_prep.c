/*
 * zk_prep — the write path: each write request is checked against the tree in the order of
 * ZooKeeper's PrepRequestProcessor (path, ACL, version, existence), turned into a txn (an ERROR
 * txn when a check fails, so zxids stay dense), logged (the txn log standalone, a Raft proposal
 * in an ensemble), applied to the tree and answered (zk_prep_commit). Owns multi (checked
 * against a rolled-back trial application, then one atomic txn), closeSession, and the path
 * rules of ZooKeeper's PathUtils. Loop thread only.
 */
#include "zk_server_int.h"

#include "buf.h"
#include "err.h"
#include "jute.h"
#include "log.h"
#include "net.h"
#include "raft.h"
#include "zk_acl.h"
#include "zk_db.h"
#include "zk_session.h"
#include "zk_tree.h"
#include "zk_txnlog.h"
#include "zk_txnrec.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- paths ---- */

/*
 * ZooKeeper's PathUtils.validatePath on UTF-8 input: absolute, no trailing '/', no empty, "."
 * or ".." components, and none of the characters ZooKeeper refuses (U+0000, U+0001-U+001F,
 * U+007F-U+009F, U+D800-U+F8FF, U+FFF0-U+FFFF; code points above U+FFFF are surrogate pairs in
 * Java, so refused too; malformed UTF-8 decodes to U+FFFD, refused).
 */
static bool zk_prep_path_valid(const char *path)
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

static bool zk_prep_path_special(const char *path)
{
	return !strcmp(path, "/") || !strcmp(path, "/zookeeper") || !strcmp(path, "/zookeeper/quota") ||
	       !strcmp(path, "/zookeeper/config");
}

/* ---- the write path ---- */

/* Logs and applies a txn; fatal if it does not apply (the prep step or the tree is wrong). */
void zk_prep_commit(struct zk_server *srv, const struct zk_txn *txn)
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
		zk_reconfig_applied(srv, txn);
	if (srv->log)
		zk_txnlog_flush(srv->log);
	srv->txns_since_snap++;
}

void zk_prep_txn_init(struct zk_server *srv, struct zk_txn *txn, enum zk_txn_type type,
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
struct zk_prep_scratch {
	char path[4096];
	struct zk_acl *acl;
	int32_t n_acl;
};

static void zk_prep_scratch_free(struct zk_prep_scratch *pp)
{
	if (pp->acl)
		zk_acl_list_free(pp->acl, pp->n_acl);
	pp->acl = NULL;
	pp->n_acl = 0;
}

static int32_t zk_prep_check_version(int32_t expected, int32_t current)
{
	return (expected != -1 && expected != current) ? ZK_EBADVERSION : ZK_OK;
}

/*
 * The checks setData, setACL and check share, in PrepRequestProcessor's order: a valid path, an
 * existing node, the permission perm. On ZK_OK *st is the node's stat; otherwise the error code.
 */
static int32_t zk_prep_target(struct zk_tree *tree, struct zk_conn *conn, const char *path, int32_t perm,
			      struct zk_stat *st)
{
	if (!zk_prep_path_valid(path))
		return ZK_EBADARGUMENTS;
	const struct zk_node *node = zk_tree_get(tree, path);
	if (!node)
		return ZK_ENONODE;
	if (!zk_conn_allowed(conn, node, perm))
		return ZK_ENOAUTH;
	zk_node_stat(node, st);
	return ZK_OK;
}

static bool zk_prep_is_create(int32_t type)
{
	return type == ZK_OP_CREATE || type == ZK_OP_CREATE2 || type == ZK_OP_CREATECONTAINER ||
	       type == ZK_OP_CREATETTL;
}

/*
 * The create mode and TTL checks of ZooKeeper's PrepRequestProcessor, in its order
 * (CreateMode.fromFlag, then validateCreateRequest): flags outside 0..6 are BADARGUMENTS; a TTL
 * mode without extendedTypesEnabled is UNIMPLEMENTED; a TTL mode needs a TTL in 1..ZK_TTL_MAX
 * (create/create2/createContainer carry none: -1), and a TTL >= 0 with any other mode is
 * BADARGUMENTS. Deliberately stricter than ZooKeeper 3.8.0: createTTL with a non-TTL mode and a
 * negative TTL is BADARGUMENTS too (ZooKeeper accepts it and then exits applying the txn).
 * *ttl: the request's TTL (-1 for the ops without one).
 */
static int32_t zk_prep_create_mode(struct zk_server *srv, const struct jute_req *req, int64_t *ttl)
{
	int32_t flags = req->flags;
	*ttl = req->type == ZK_OP_CREATETTL ? req->ttl : -1;
	if (flags < ZK_CREATE_PERSISTENT || flags > ZK_CREATE_SEQUENTIAL_TTL)
		return ZK_EBADARGUMENTS;
	bool ttl_mode = flags == ZK_CREATE_TTL || flags == ZK_CREATE_SEQUENTIAL_TTL;
	if (ttl_mode && !srv->cfg->extended_types_enabled)
		return ZK_EUNIMPLEMENTED;
	if (ttl_mode && (*ttl <= 0 || *ttl > ZK_TTL_MAX))
		return ZK_EBADARGUMENTS;
	if (!ttl_mode && (*ttl >= 0 || req->type == ZK_OP_CREATETTL))
		return ZK_EBADARGUMENTS;
	return ZK_OK;
}

/*
 * Checks one write op against the current tree, in the order ZooKeeper's PrepRequestProcessor
 * checks, and fills *op (a txn of type CREATE/DELETE/SETDATA/SETACL/CHECK). Returns ZK_OK or
 * the ZooKeeper error code. Strings in *op point into req or pp.
 */
static int32_t zk_prep_op(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
			  struct zk_txn *op, struct zk_prep_scratch *pp)
{
	struct zk_tree *tree = srv->db.tree;
	char parent[4096];
	const struct zk_node *node, *pnode;
	struct zk_stat st;

	int64_t ttl = -1;
	if (zk_prep_is_create(req->type)) {
		/* the mode and TTL are checked before the path, as ZooKeeper does */
		int32_t rc = zk_prep_create_mode(srv, req, &ttl);
		if (rc)
			return rc;
	}
	if (!req->path) /* a NullPointerException in ZooKeeper for these, a check for the others */
		return req->type == ZK_OP_SETDATA || req->type == ZK_OP_SETACL || req->type == ZK_OP_CHECK
			       ? ZK_EBADARGUMENTS
			       : ZK_EMARSHALLINGERROR;
	if (req->bad_string || req->path_nul)
		return ZK_EBADARGUMENTS;
	op->data_len = -1;
	switch (req->type) {
	case ZK_OP_CREATE:
	case ZK_OP_CREATE2:
	case ZK_OP_CREATECONTAINER:
	case ZK_OP_CREATETTL: {
		int32_t flags = req->type == ZK_OP_CREATECONTAINER ? ZK_CREATE_CONTAINER : req->flags;
		bool container = flags == ZK_CREATE_CONTAINER;
		bool with_ttl = flags == ZK_CREATE_TTL || flags == ZK_CREATE_SEQUENTIAL_TTL;
		bool sequential = flags == ZK_CREATE_SEQUENTIAL || flags == (ZK_CREATE_SEQUENTIAL | ZK_CREATE_EPHEMERAL) ||
				  flags == ZK_CREATE_SEQUENTIAL_TTL;
		bool ephemeral = flags == ZK_CREATE_EPHEMERAL || flags == (ZK_CREATE_SEQUENTIAL | ZK_CREATE_EPHEMERAL);
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
		if (!zk_prep_path_valid(pp->path))
			return ZK_EBADARGUMENTS;
		if (zk_tree_get(tree, pp->path))
			return ZK_ENODEEXISTS;
		if (zk_owner_is_session(zk_node_owner(pnode)))
			return ZK_ENOCHILDRENFOREPHEMERALS;
		op->type = ZK_TXN_CREATE;
		op->path = pp->path;
		op->data = req->data;
		op->data_len = req->data ? req->data_len : -1;
		op->acl = pp->acl;
		op->n_acl = pp->n_acl;
		op->ephemeral_owner = container ? ZK_CONTAINER_OWNER
				      : with_ttl  ? zk_ttl_owner(ttl)
				      : ephemeral ? conn->session_id
						  : 0;
		return ZK_OK;
	}
	case ZK_OP_DELETE:
	case ZK_OP_DELETECONTAINER: {
		if (!strchr(req->path, '/') || zk_prep_path_special(req->path))
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
			if (zk_node_owner(node) != ZK_CONTAINER_OWNER && !zk_owner_is_ttl(zk_node_owner(node)))
				return ZK_EBADARGUMENTS;
		} else if (zk_prep_check_version(req->version, st.version)) {
			return ZK_EBADVERSION;
		}
		if (st.num_children > 0)
			return ZK_ENOTEMPTY;
		op->type = ZK_TXN_DELETE;
		op->path = req->path;
		return ZK_OK;
	}
	case ZK_OP_SETDATA: {
		int32_t rc = zk_prep_target(tree, conn, req->path, ZK_PERM_WRITE, &st);
		if (rc)
			return rc;
		if (zk_prep_check_version(req->version, st.version))
			return ZK_EBADVERSION;
		op->type = ZK_TXN_SETDATA;
		op->path = req->path;
		op->data = req->data;
		op->data_len = req->data ? req->data_len : -1;
		op->version = st.version + 1;
		return ZK_OK;
	}
	case ZK_OP_SETACL: {
		if (!zk_prep_path_valid(req->path))
			return ZK_EBADARGUMENTS;
		int32_t rc = zk_acl_fixup(req->acl, req->n_acl, conn->ids, conn->n_ids, &pp->acl, &pp->n_acl);
		if (rc)
			return rc;
		rc = zk_prep_target(tree, conn, req->path, ZK_PERM_ADMIN, &st);
		if (rc)
			return rc;
		if (zk_prep_check_version(req->version, st.aversion))
			return ZK_EBADVERSION;
		op->type = ZK_TXN_SETACL;
		op->path = req->path;
		op->acl = pp->acl;
		op->n_acl = pp->n_acl;
		op->version = st.aversion + 1;
		return ZK_OK;
	}
	case ZK_OP_CHECK: {
		int32_t rc = zk_prep_target(tree, conn, req->path, ZK_PERM_READ, &st);
		if (rc)
			return rc;
		if (zk_prep_check_version(req->version, st.version))
			return ZK_EBADVERSION;
		op->type = ZK_TXN_CHECK;
		op->path = req->path;
		op->version = req->version;
		return ZK_OK;
	}
	default:
		return ZK_EBADARGUMENTS;
	}
}

/* The reply body of one successful write op. st: the node's Stat right after the op (for a
 * multi, as each op left it, which is what ZooKeeper reports); NULL = read it now. */
void zk_prep_put_result(struct zk_server *srv, int32_t type, const struct zk_txn *op,
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

void zk_prep_handle_write(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
			    uint64_t t0)
{
	struct zk_txn txn;
	struct zk_prep_scratch pp = { .acl = NULL };
	zk_prep_txn_init(srv, &txn, ZK_TXN_ERROR, conn->session_id, req->xid);
	int32_t err = zk_prep_op(srv, conn, req, &txn, &pp);
	if (err) {
		txn.type = ZK_TXN_ERROR;
		txn.err = err;
	}
	txn.zxid = srv->db.last_zxid + 1;
	zk_prep_commit(srv, &txn);
	if (err)
		conn->last_op = ZK_OP_ERROR; /* ZooKeeper's cons: an error txn has no op name */
	size_t off = zk_conn_reply_begin(srv, req->xid, txn.zxid, err);
	if (!err)
		zk_prep_put_result(srv, req->type, &txn, NULL);
	zk_conn_reply_end(conn, off, t0);
	zk_prep_scratch_free(&pp);
}

bool zk_prep_is_write(int32_t type)
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

/* ZooKeeper's MultiOperationRecord holds these ops only, each a write (1) or a read (2). */
static int zk_prep_multi_op_kind(int32_t type)
{
	switch (type) {
	case ZK_OP_CREATE:
	case ZK_OP_CREATE2:
	case ZK_OP_CREATECONTAINER:
	case ZK_OP_CREATETTL:
	case ZK_OP_DELETE:
	case ZK_OP_SETDATA:
	case ZK_OP_CHECK:
		return 1;
	case ZK_OP_GETDATA:
	case ZK_OP_GETCHILDREN:
		return 2;
	default:
		return 0;
	}
}

enum zk_multi_shape zk_prep_multi_shape(const struct jute_req *req)
{
	int kinds = 0;
	for (int32_t i = 0; i < req->n_ops; i++) {
		int k = zk_prep_multi_op_kind(req->ops[i].type);
		if (!k)
			return ZK_MULTI_EMPTY;
		kinds |= k;
	}
	if (kinds == 3)
		return ZK_MULTI_EMPTY;
	if (req->type == ZK_OP_MULTI) {
		if (kinds == 2)
			return ZK_MULTI_EMPTY;
		for (int32_t i = 0; i < req->n_ops; i++)
			if (!req->ops[i].path)
				return ZK_MULTI_DONE_ONLY;
		return ZK_MULTI_OK;
	}
	return kinds == 1 ? ZK_MULTI_DONE_ONLY : ZK_MULTI_OK;
}

int32_t zk_prep_multi_result_type(int32_t type)
{
	switch (type) {
	case ZK_OP_CREATE2:
		return ZK_OP_CREATE;
	case ZK_OP_CREATECONTAINER:
	case ZK_OP_CREATETTL:
		return ZK_OP_CREATE2;
	default:
		return type;
	}
}

/*
 * multi: every op checked against the state the earlier ops leave (a trial application that
 * is rolled back), then logged and applied as one txn, atomically. On the first failing op:
 * ZooKeeper's results — ops before it report ZK_OK, it reports its error, later ops
 * ZK_ERUNTIMEINCONSISTENCY — and nothing changes.
 */
void zk_prep_handle_multi(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
			    uint64_t t0)
{
	int32_t n = req->n_ops;
	struct zk_txn txn;
	struct zk_txn *ops = calloc((size_t)(n ? n : 1), sizeof(*ops));
	struct zk_prep_scratch *pps = calloc((size_t)(n ? n : 1), sizeof(*pps));
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
	zk_prep_txn_init(srv, &txn, ZK_TXN_MULTI, conn->session_id, req->xid);
	zk_db_trial_begin(&srv->db);
	for (int32_t i = 0; i < n; i++) {
		const struct jute_req *r = &req->ops[i];
		ops[i].data_len = -1;
		if (failed_at >= 0) {
			errs[i] = ZK_ERUNTIMEINCONSISTENCY;
			continue;
		}
		int32_t err = zk_prep_is_write(r->type) ? zk_prep_op(srv, conn, r, &ops[i], &pps[i])
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
	zk_prep_commit(srv, &txn);

	/* ZooKeeper reports a failed multi in its results, not in the reply header */
	size_t off = zk_conn_reply_begin(srv, req->xid, txn.zxid, ZK_OK);
	for (int32_t i = 0; i < n; i++) {
		if (failed_at >= 0) {
			jute_put_multi_header(&srv->out, ZK_OP_ERROR, false, errs[i]);
			wbuf_i32(&srv->out, errs[i]);
		} else {
			int32_t type = zk_prep_multi_result_type(req->ops[i].type);
			jute_put_multi_header(&srv->out, type, false, 0);
			zk_prep_put_result(srv, type, &ops[i], &stats[i]);
		}
	}
	jute_put_multi_header(&srv->out, -1, true, -1);
	zk_conn_reply_end(conn, off, t0);
	for (int32_t i = 0; i < n; i++)
		zk_prep_scratch_free(&pps[i]);
	free(ops);
	free(pps);
	free(errs);
	free(stats);
}

void zk_prep_handle_close_session(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
				    uint64_t t0)
{
	struct zk_txn txn;
	int64_t sid = conn->session_id;
	zk_prep_txn_init(srv, &txn, ZK_TXN_CLOSESESSION, sid, req->xid);
	zk_sessions_set_closing(srv->db.sessions, sid);
	/* detach first, so that applying the txn does not close this connection before its reply */
	conn->session_id = 0;
	zk_prep_commit(srv, &txn);
	zk_conn_reply_err(conn, req->xid, txn.zxid, ZK_OK, t0);
	zk_conn_finish(conn);
}
