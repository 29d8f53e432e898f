/*
 * zk_read — the requests this server answers at once from its own state, without a txn:
 * getData, getChildren(2), exists, getACL, getAllChildrenNumber, getEphemerals, multiRead,
 * setWatches after a reconnect, the watch operations (addWatch, removeWatches, checkWatches),
 * and the session-local addAuth and whoAmI. Replies still queue behind earlier frames of the
 * connection (zk_conn). Loop thread only.
 */
#include "zk_server_int.h"
#include "zk_sasl.h"

#include "buf.h"
#include "err.h"
#include "jute.h"
#include "log.h"
#include "net.h"
#include "zk_acl.h"
#include "zk_tree.h"
#include "zk_watch.h"

#include <stdlib.h>
#include <openssl/rand.h>
#include <string.h>

/* ---- reads ---- */

struct zk_read_children {
	const char **names;
	int32_t n, cap;
};

static int zk_read_collect_children(const struct zk_node *node, struct zk_read_children *ch)
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

/*
 * The node a read names. ZooKeeper does not validate the path of reads: it looks the path up
 * as sent (so one holding a NUL byte names nothing), and its tree holds the root under "" as
 * well as "/". NULL for a null path too (the caller answers that first).
 */
static const struct zk_node *zk_read_lookup(struct zk_server *srv, const struct jute_req *req)
{
	if (!req->path || req->path_nul)
		return NULL;
	return zk_tree_get(srv->db.tree, req->path[0] ? req->path : "/");
}

/* The body of a getData / getChildren / getChildren2 reply; err on failure. */
static int32_t zk_read_op(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
			  bool register_watch)
{
	const struct zk_node *node = zk_read_lookup(srv, req);
	struct zk_stat st;
	if (!req->path)
		return ZK_EMARSHALLINGERROR; /* a NullPointerException in ZooKeeper */
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
		struct zk_read_children ch = { NULL, 0, 0 };
		if (zk_read_collect_children(node, &ch)) {
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

void zk_read_handle(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
			   uint64_t t0)
{
	int64_t zxid = srv->db.last_zxid;
	size_t off = zk_conn_reply_begin(srv, req->xid, zxid, 0);
	size_t body = srv->out.len;
	int32_t err = zk_read_op(srv, conn, req, true);
	if (err) {
		srv->out.len = body;
		jute_frame_end(&srv->out, off);
		/* rewrite the header's err: xid(4) + zxid(8) then err */
		wbuf_put_i32_at(&srv->out, off + 4 + 4 + 8, err);
	}
	zk_conn_reply_end(conn, off, t0);
}

/* multiRead (ZooKeeper 3.6+): getChildren and getData ops, each answered on its own (the
 * caller has checked zk_prep_multi_shape). A null path stops it as in ZooKeeper:
 * MARSHALLINGERROR after the results so far. */
void zk_read_handle_multi(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
				 uint64_t t0)
{
	size_t off = zk_conn_reply_begin(srv, req->xid, srv->db.last_zxid, 0);
	for (int32_t i = 0; i < req->n_ops; i++) {
		const struct jute_req *r = &req->ops[i];
		if (!r->path) {
			wbuf_put_i32_at(&srv->out, off + 4 + 4 + 8, ZK_EMARSHALLINGERROR);
			break;
		}
		size_t hdr = srv->out.len;
		jute_put_multi_header(&srv->out, r->type, false, 0);
		int32_t err = zk_read_op(srv, conn, r, false);
		if (err) {
			srv->out.len = hdr;
			jute_put_multi_header(&srv->out, ZK_OP_ERROR, false, err);
			wbuf_i32(&srv->out, err);
		}
	}
	jute_put_multi_header(&srv->out, -1, true, -1);
	zk_conn_reply_end(conn, off, t0);
}

void zk_read_handle_exists(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
			     uint64_t t0)
{
	/* exists is the one read whose path ZooKeeper checks, for a NUL byte only */
	if (!req->path || req->path_nul) {
		zk_conn_reply_err(conn, req->xid, srv->db.last_zxid, req->path ? ZK_EBADARGUMENTS : ZK_EMARSHALLINGERROR, t0);
		return;
	}
	const struct zk_node *node = zk_read_lookup(srv, req);
	if (req->watch)
		zk_watch_add(srv->watches, req->path, node ? ZK_WATCH_DATA : ZK_WATCH_EXIST, conn);
	if (!node) {
		zk_conn_reply_err(conn, req->xid, srv->db.last_zxid, ZK_ENONODE, t0);
		return;
	}
	struct zk_stat st;
	zk_node_stat(node, &st);
	size_t off = zk_conn_reply_begin(srv, req->xid, srv->db.last_zxid, 0);
	jute_put_stat(&srv->out, &st);
	zk_conn_reply_end(conn, off, t0);
}

void zk_read_handle_get_acl(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
			      uint64_t t0)
{
	const struct zk_node *node = zk_read_lookup(srv, req);
	if (!node) {
		zk_conn_reply_err(conn, req->xid, srv->db.last_zxid, req->path ? ZK_ENONODE : ZK_EMARSHALLINGERROR, t0);
		return;
	}
	if (!zk_conn_allowed(conn, node, ZK_PERM_READ | ZK_PERM_ADMIN)) {
		zk_conn_reply_err(conn, req->xid, srv->db.last_zxid, ZK_ENOAUTH, t0);
		return;
	}
	int32_t n;
	const struct zk_acl *acl = zk_node_acl(node, &n);
	struct zk_stat st;
	zk_node_stat(node, &st);
	size_t off = zk_conn_reply_begin(srv, req->xid, srv->db.last_zxid, 0);
	/* without ADMIN, digest ids are shown as "user:x" (ZooKeeper's fix of CVE-2019-0201) */
	if (zk_conn_allowed(conn, node, ZK_PERM_ADMIN))
		jute_put_acl_list(&srv->out, acl, n);
	else
		jute_put_acl_list_masked(&srv->out, acl, n);
	jute_put_stat(&srv->out, &st);
	zk_conn_reply_end(conn, off, t0);
}

void zk_read_handle_all_children(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
				   uint64_t t0)
{
	const struct zk_node *node = zk_read_lookup(srv, req);
	if (!node) {
		zk_conn_reply_err(conn, req->xid, srv->db.last_zxid, req->path ? ZK_ENONODE : ZK_EMARSHALLINGERROR, t0);
		return;
	}
	if (!zk_conn_allowed(conn, node, ZK_PERM_READ)) {
		zk_conn_reply_err(conn, req->xid, srv->db.last_zxid, ZK_ENOAUTH, t0);
		return;
	}
	size_t off = zk_conn_reply_begin(srv, req->xid, srv->db.last_zxid, 0);
	/* ZooKeeper counts the keys below path + "/": for "" that is every node, "/" included */
	wbuf_i32(&srv->out, (int32_t)zk_tree_count_descendants(node) + (req->path[0] ? 0 : 1));
	zk_conn_reply_end(conn, off, t0);
}

struct zk_read_eph_ctx {
	struct zk_read_children list;
	const char *prefix;
	size_t prefix_len;
	char **owned;
	int32_t n_owned;
};

static int zk_read_eph_collect(const char *path, void *arg)
{
	struct zk_read_eph_ctx *ec = arg;
	if (strlen(path) < ec->prefix_len || memcmp(path, ec->prefix, ec->prefix_len))
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

void zk_read_handle_get_ephemerals(struct zk_server *srv, struct zk_conn *conn,
				     const struct jute_req *req, uint64_t t0)
{
	/* ZooKeeper: every ephemeral when the prefix is null or, trimmed (Java's String.trim drops
	 * bytes <= ' ' at both ends), empty or "/"; else those whose path starts with it as sent */
	struct zk_read_eph_ctx ec = { { NULL, 0, 0 }, req->path ? req->path : "", 0, NULL, 0 };
	size_t b = 0, e = req->path ? (size_t)req->path_len : 0;
	while (b < e && (unsigned char)ec.prefix[b] <= ' ')
		b++;
	while (e > b && (unsigned char)ec.prefix[e - 1] <= ' ')
		e--;
	if (e - b > 1 || (e - b == 1 && ec.prefix[b] != '/'))
		ec.prefix_len = (size_t)req->path_len;
	zk_tree_ephemerals(srv->db.tree, conn->session_id, zk_read_eph_collect, &ec);
	size_t off = zk_conn_reply_begin(srv, req->xid, srv->db.last_zxid, 0);
	jute_put_string_list(&srv->out, ec.list.names, ec.list.n);
	zk_conn_reply_end(conn, off, t0);
	for (int32_t i = 0; i < ec.list.n; i++)
		free((char *)ec.list.names[i]);
	free(ec.list.names);
}

/* setWatches / setWatches2 after a reconnect: fire what changed since relative_zxid, re-add the
 * rest (ZooKeeper's DataTree.setWatches). */
void zk_read_handle_set_watches(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
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
					zk_conn_notify(conn, ZK_EVENT_DELETED, path, srv);
				else if (st.mzxid > rel)
					zk_conn_notify(conn, ZK_EVENT_DATACHANGED, path, srv);
				else
					zk_watch_add(srv->watches, path, ZK_WATCH_DATA, conn);
				break;
			case 1: /* exist */
				if (node)
					zk_conn_notify(conn, ZK_EVENT_CREATED, path, srv);
				else
					zk_watch_add(srv->watches, path, ZK_WATCH_EXIST, conn);
				break;
			case 2: /* child */
				if (!node)
					zk_conn_notify(conn, ZK_EVENT_DELETED, path, srv);
				else if (st.pzxid > rel)
					zk_conn_notify(conn, ZK_EVENT_CHILDCHANGED, path, srv);
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
	zk_conn_reply_err(conn, req->xid, srv->db.last_zxid, ZK_OK, t0);
}

/*
 * addAuth as ZooKeeper 3.8 answers it: "digest" with any credential adds the digest id (a
 * credential without ':' is all user, see zk_acl_digest); "ip" succeeds and adds nothing (the
 * connection has its ip id from the start); a null credential, or any other scheme, is
 * AUTHFAILED and the connection is closed after the answer.
 */
void zk_read_handle_auth(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
			   uint64_t t0)
{
	char *digest = NULL;
	bool ip = req->scheme && !strcmp(req->scheme, "ip");
	bool dig = req->scheme && !strcmp(req->scheme, "digest");
	if ((!ip && !dig) || !req->auth || req->auth_len < 0 || (dig && conn->n_ids >= ZK_MAX_AUTH_IDS)) {
		log_warn(ZK_SRV_MOD, "authentication with scheme '%s' from %s failed",
			 req->scheme ? req->scheme : "(null)", conn->ip);
		srv->auth_failed++;
		zk_conn_reply_err(conn, req->xid, 0, ZK_EAUTHFAILED, t0);
		zk_conn_finish(conn);
		return;
	}
	if (ip) {
		zk_conn_reply_err(conn, req->xid, 0, ZK_OK, t0);
		return;
	}
	if (zk_acl_digest(req->auth, (size_t)req->auth_len, &digest)) {
		net_conn_close(conn->nc, ERR_NOMEM);
		return;
	}
	if (strlen(digest) > ZK_PEER_MAX_ID_LEN) { /* it could not travel with a forwarded write */
		log_warn(ZK_SRV_MOD, "digest identity of %zu bytes from %s refused (at most %u)", strlen(digest),
			 conn->ip, ZK_PEER_MAX_ID_LEN);
		free(digest);
		srv->auth_failed++;
		zk_conn_reply_err(conn, req->xid, 0, ZK_EAUTHFAILED, t0);
		zk_conn_finish(conn);
		return;
	}
	bool known = false;
	for (int32_t i = 0; i < conn->n_ids; i++)
		if (!strcmp(conn->ids[i].scheme, "digest") && !strcmp(conn->ids[i].id, digest))
			known = true;
	if (!known) {
		char *s = strdup("digest");
		if (!s) {
			free(digest);
			net_conn_close(conn->nc, ERR_NOMEM);
			return;
		}
		conn->ids[conn->n_ids].scheme = s;
		conn->ids[conn->n_ids].id = digest;
		conn->n_ids++;
		digest = NULL;
	}
	free(digest);
	zk_conn_reply_err(conn, req->xid, 0, ZK_OK, t0);
}

void zk_read_handle_sasl(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req, uint64_t t0)
{
	if (!conn->sasl) {
		conn->sasl = calloc(1, sizeof(*conn->sasl));
		if (!conn->sasl) {
			net_conn_close(conn->nc, ERR_NOMEM);
			return;
		}
	}
	uint8_t nonce[16];
	if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
		net_conn_close(conn->nc, ERR_IO);
		return;
	}
	struct wbuf tok;
	char why[320];
	wbuf_init(&tok, ZK_SASL_MAX_TOKEN);
	enum zk_sasl_state st = zk_sasl_step(srv->sasl_users, conn->sasl, req->auth, req->auth_len, nonce, &tok, why,
					     sizeof(why));
	if (st == ZK_SASL_FAILED || tok.err) {
		log_warn(ZK_SRV_MOD, "Client %s:%d failed to SASL authenticate: %s; closing the connection", conn->ip,
			 conn->port, why);
		srv->auth_failed++;
		wbuf_free(&tok);
		zk_conn_reply_err(conn, req->xid, 0, ZK_EAUTHFAILED, t0);
		zk_conn_finish(conn);
		return;
	}
	if (st == ZK_SASL_DONE) {
		bool known = false;
		for (int32_t i = 0; i < conn->n_ids; i++)
			known |= !strcmp(conn->ids[i].scheme, "sasl") && !strcmp(conn->ids[i].id, conn->sasl->user);
		if (!known && conn->n_ids < ZK_MAX_AUTH_IDS) {
			char *sc = strdup("sasl"), *id = strdup(conn->sasl->user);
			if (!sc || !id) {
				free(sc);
				free(id);
				wbuf_free(&tok);
				net_conn_close(conn->nc, ERR_NOMEM);
				return;
			}
			conn->ids[conn->n_ids].scheme = sc;
			conn->ids[conn->n_ids].id = id;
			conn->n_ids++;
		}
		log_info(ZK_SRV_MOD, "Successfully authenticated client %s:%d as %s (SASL DIGEST-MD5)", conn->ip, conn->port,
			 conn->sasl->user);
	}
	size_t off = zk_conn_reply_begin(srv, req->xid, srv->db.last_zxid, 0);
	wbuf_bytes_i32(&srv->out, tok.p, (int32_t)tok.len);
	zk_conn_reply_end(conn, off, t0);
	wbuf_free(&tok);
}

void zk_read_handle_whoami(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
			     uint64_t t0)
{
	size_t off = zk_conn_reply_begin(srv, req->xid, srv->db.last_zxid, 0);
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
	zk_conn_reply_end(conn, off, t0);
}

void zk_read_handle_watch_ops(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req,
				uint64_t t0)
{
	int32_t err = ZK_OK;
	/* ZooKeeper does not check these paths. A watch on a null path or one with a NUL byte
	 * could never fire, so it is answered but not kept (README, deviations). */
	bool never = !req->path || req->path_nul;
	if (req->type == ZK_OP_ADDWATCH) {
		/* ZooKeeper answers an unknown mode with MARSHALLINGERROR (its AddWatchMode lookup
		 * throws inside FinalRequestProcessor), and success with an ErrorResponse body: the
		 * header and an int32 0, 20 bytes, which its Java client reads before going on */
		if (req->mode != ZK_ADDWATCH_PERSISTENT && req->mode != ZK_ADDWATCH_PERSISTENT_RECURSIVE) {
			err = ZK_EMARSHALLINGERROR;
		} else {
			if (!never)
				zk_watch_add(srv->watches, req->path,
					     req->mode == ZK_ADDWATCH_PERSISTENT ? ZK_WATCH_PERSISTENT
										 : ZK_WATCH_PERSISTENT_RECURSIVE,
					     conn);
			size_t off = zk_conn_reply_begin(srv, req->xid, srv->db.last_zxid, ZK_OK);
			wbuf_i32(&srv->out, 0);
			zk_conn_reply_end(conn, off, t0);
			return;
		}
	} else {
		/* WatcherType: 1 children, 2 data, 3 any */
		int mask = 0;
		if (req->mode == 1 || req->mode == 3)
			mask |= 1 << ZK_WATCH_CHILD;
		if (req->mode == 2 || req->mode == 3)
			mask |= (1 << ZK_WATCH_DATA) | (1 << ZK_WATCH_EXIST);
		if (req->mode == 3)
			mask |= (1 << ZK_WATCH_PERSISTENT) | (1 << ZK_WATCH_PERSISTENT_RECURSIVE);
		bool found = !never && (req->type == ZK_OP_REMOVEWATCHES
							? zk_watch_remove(srv->watches, req->path, mask, conn)
							: zk_watch_has(srv->watches, req->path, mask, conn));
		if (!found)
			err = ZK_ENOWATCHER;
	}
	zk_conn_reply_err(conn, req->xid, srv->db.last_zxid, err, t0);
}
