/*
 * zk_server — the coordinator's wiring (see zk_server.h): start-up and shut-down, accepting
 * client connections, the handshake (ConnectRequest: new, reconnected or refused sessions) and
 * the dispatch of each decoded request to its module:
 *   zk_conn     connections, output held until durable         zk_prep   the write path, multi
 *   zk_read     requests answered at once from the tree         zk_4lw    four-letter words
 *   zk_quorum   the ensemble (Raft, forwarding, the log's fsync) zk_reconfig membership
 *   zk_maint    timers: expiry, snapshots, purge, containers
 * They share the layouts of zk_server_int.h and nothing else sees them.
 *
 * Life of a request (ZooKeeper's Prep -> Sync -> Final processors, folded into one thread):
 *   frame -> jute_decode_request -> reads: answered from the tree at once;
 *   writes: checked against the tree ("prep", same order of checks as ZooKeeper's
 *   PrepRequestProcessor) -> a struct zk_txn (an ERROR txn if a check failed, so zxids stay
 *   dense as in ZooKeeper) -> appended to the log -> applied to the tree (firing watches) ->
 *   reply queued. Every queued frame carries the zxid of the state it reveals; frames leave
 *   a connection in order, each once the log is durable up to its zxid (zk_conn_durable).
 *   In an ensemble, a follower forwards writes to the leader (zk_quorum).
 * Loop thread only.
 */
#include "zk_server.h"

#include "zk_server_int.h"

#include "buf.h"
#include "err.h"
#include "jute.h"
#include "log.h"
#include "net.h"
#include "raft.h"
#include "tls.h"
#include "zk_sasl.h"
#include "zk_db.h"
#include "zk_session.h"
#include "zk_txnlog.h"
#include "zk_watch.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>

/* ---- connect ---- */

static void zk_server_handle_connect(struct zk_server *srv, struct zk_conn *conn, const uint8_t *p, size_t len)
{
	struct jute_connect_req cr;
	uint8_t passwd[ZK_PASSWD_LEN];
	srv->connection_requests++;
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
		zk_prep_txn_init(srv, &txn, ZK_TXN_CREATESESSION, id, 0);
		txn.timeout_ms = timeout;
		txn.passwd = passwd;
		zk_prep_commit(srv, &txn);
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
	conn->last_op = ZK_OP_CREATESESSION;
	conn->last_zxid = srv->db.last_zxid;
	zk_conn_send(conn, srv->db.last_zxid, 0);
}

/* ---- request dispatch ---- */

static void zk_server_handle_request(struct zk_server *srv, struct zk_conn *conn, const uint8_t *p, size_t len)
{
	struct jute_req req;
	uint64_t t0 = zk_mono_us();
	jute_arena_reset(&srv->arena);
	int rc = jute_decode_request(p, len, &srv->arena, &req);
	if (rc == ERR_PROTO) {
		/* ZooKeeper's UnimplementedRequestProcessor: an error reply, then the connection closes */
		log_warn(ZK_SRV_MOD, "unknown request type %d from %s; closing", req.type, conn->ip);
		zk_conn_reply_err(conn, req.xid, -1, ZK_EUNIMPLEMENTED, t0);
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
		zk_conn_reply_err(conn, xid, srv->db.last_zxid, ZK_EMARSHALLINGERROR, t0);
		return;
	}
	if (rc) {
		log_warn(ZK_SRV_MOD, "malformed request (%zu bytes) from %s: %s; closing", len, conn->ip,
			 err_str(rc));
		net_conn_close(conn->nc, ERR_PROTO);
		return;
	}
	/* which latency figure its reply feeds: ZooKeeper's updatelatency for a request that makes a
	 * txn, readlatency otherwise (cleared by the caller after this returns) */
	srv->reply_update = zk_prep_is_write(req.type) || req.type == ZK_OP_MULTI || req.type == ZK_OP_CLOSESESSION ||
			    req.type == ZK_OP_RECONFIG;
	if (req.type != ZK_OP_AUTH && req.type != ZK_OP_SASL) { /* not counted by ZooKeeper's cons */
		conn->last_cxid = req.xid;
		conn->last_op = req.type;
	}
	if (conn->session_id) {
		zk_sessions_touch(srv->db.sessions, conn->session_id, zk_mono_ms());
		if (srv->q)
			zk_quorum_touch(srv, conn->session_id);
	}
	/* checked here, so that a follower answers a malformed multi itself */
	if (req.type == ZK_OP_MULTI || req.type == ZK_OP_MULTIREAD) {
		enum zk_multi_shape shape = zk_prep_multi_shape(&req);
		if (shape != ZK_MULTI_OK) {
			size_t off = zk_conn_reply_begin(srv, req.xid, srv->db.last_zxid, ZK_EMARSHALLINGERROR);
			if (shape == ZK_MULTI_DONE_ONLY)
				jute_put_multi_header(&srv->out, -1, true, -1);
			zk_conn_reply_end(conn, off, t0);
			return;
		}
	}
	if (srv->q && raft_role(srv->q->raft) != RAFT_LEADER) {
		/* a follower: writes, closeSession and sync go to the leader; reads are served here */
		int kind = 0;
		if (zk_prep_is_write(req.type) || req.type == ZK_OP_MULTI || req.type == ZK_OP_RECONFIG)
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

	if (zk_prep_is_write(req.type)) {
		zk_prep_handle_write(srv, conn, &req, t0);
		return;
	}
	switch (req.type) {
	case ZK_OP_PING:
		zk_conn_reply_err(conn, ZK_XID_PING, srv->db.last_zxid, ZK_OK, t0);
		break;
	case ZK_OP_MULTI:
		zk_prep_handle_multi(srv, conn, &req, t0);
		break;
	case ZK_OP_MULTIREAD:
		zk_read_handle_multi(srv, conn, &req, t0);
		break;
	case ZK_OP_EXISTS:
		zk_read_handle_exists(srv, conn, &req, t0);
		break;
	case ZK_OP_GETDATA:
	case ZK_OP_GETCHILDREN:
	case ZK_OP_GETCHILDREN2:
		zk_read_handle(srv, conn, &req, t0);
		break;
	case ZK_OP_GETACL:
		zk_read_handle_get_acl(srv, conn, &req, t0);
		break;
	case ZK_OP_GETALLCHILDRENNUMBER:
		zk_read_handle_all_children(srv, conn, &req, t0);
		break;
	case ZK_OP_GETEPHEMERALS:
		zk_read_handle_get_ephemerals(srv, conn, &req, t0);
		break;
	case ZK_OP_SYNC: {
		size_t off = zk_conn_reply_begin(srv, req.xid, srv->db.last_zxid, 0);
		/* the path as sent, null included (ZooKeeper echoes it unchecked) */
		wbuf_bytes_i32(&srv->out, req.path, req.path_len);
		zk_conn_reply_end(conn, off, t0);
		break;
	}
	case ZK_OP_SETWATCHES:
	case ZK_OP_SETWATCHES2:
		zk_read_handle_set_watches(srv, conn, &req, t0);
		break;
	case ZK_OP_AUTH:
		zk_read_handle_auth(srv, conn, &req, t0);
		break;
	case ZK_OP_SASL:
		zk_read_handle_sasl(srv, conn, &req, t0);
		break;
	case ZK_OP_WHOAMI:
		zk_read_handle_whoami(srv, conn, &req, t0);
		break;
	case ZK_OP_ADDWATCH:
	case ZK_OP_REMOVEWATCHES:
	case ZK_OP_CHECKWATCHES:
		zk_read_handle_watch_ops(srv, conn, &req, t0);
		break;
	case ZK_OP_CLOSESESSION:
		zk_prep_handle_close_session(srv, conn, &req, t0);
		break;
	case ZK_OP_RECONFIG:
		zk_reconfig_handle(srv, conn, &req, t0);
		break;
	default:
		zk_conn_reply_err(conn, req.xid, srv->db.last_zxid, ZK_EUNIMPLEMENTED, t0);
		zk_conn_finish(conn);
		break;
	}
}

#define ZK_DEFER_PAUSE_BYTES (4u << 20) /* deferred requests of one connection before it stops reading */

/* A request that arrived while the connection's forwarded write is pending: kept (its session
 * touched now, as on arrival) to run after it. */
static void zk_server_defer(struct zk_server *srv, struct zk_conn *conn, const uint8_t *p, size_t len)
{
	struct zk_held *h = malloc(sizeof(*h) + len);
	if (!h) {
		net_conn_close(conn->nc, ERR_NOMEM);
		return;
	}
	memset(h, 0, sizeof(*h));
	h->len = len;
	h->t0_us = zk_mono_us();
	memcpy(h->data, p, len);
	if (conn->defer_tail)
		conn->defer_tail->next = h;
	else
		conn->defer_head = h;
	conn->defer_tail = h;
	conn->defer_bytes += len;
	if (conn->session_id) {
		zk_sessions_touch(srv->db.sessions, conn->session_id, zk_mono_ms());
		if (srv->q)
			zk_quorum_touch(srv, conn->session_id);
	}
	if (conn->defer_bytes > ZK_DEFER_PAUSE_BYTES && !conn->paused && conn->nc) {
		net_conn_pause_read(conn->nc);
		conn->paused = true;
	}
}

/* Runs, in order, the requests that waited for a connection's forwarded writes, on every
 * connection that has none pending any more; stops at one that forwards again. */
static void zk_server_drain(evutil_socket_t fd, short what, void *arg)
{
	struct zk_server *srv = arg;
	(void)fd;
	(void)what;
	for (struct zk_conn *conn = srv->conns; conn; conn = conn->next) {
		while (conn->defer_head && !conn->placeholders && conn->state == ZK_CONN_ACTIVE && conn->nc) {
			struct zk_held *h = conn->defer_head;
			conn->defer_head = h->next;
			if (!conn->defer_head)
				conn->defer_tail = NULL;
			conn->defer_bytes -= h->len;
			zk_server_handle_request(srv, conn, h->data, h->len);
			srv->reply_update = false;
			free(h);
		}
		if (conn->paused && conn->defer_bytes < ZK_DEFER_PAUSE_BYTES / 2 && conn->nc) {
			net_conn_resume_read(conn->nc);
			conn->paused = false;
		}
	}
}

/* ZooKeeper's X509AuthenticationProvider: a client that showed a verified certificate on the
 * secure port is authenticated as ("x509", its subject in RFC 2253 form), before its first
 * request, as ZooKeeper does once the handshake completes. */
static void zk_server_x509(struct zk_conn *conn)
{
	struct ssl_st *ssl = conn->nc ? net_conn_ssl(conn->nc) : NULL;
	char subject[1024];
	if (!ssl || !tls_peer_subject(ssl, subject, sizeof(subject)) || conn->n_ids >= ZK_MAX_AUTH_IDS)
		return;
	char *sc = strdup("x509"), *id = strdup(subject);
	if (!sc || !id) {
		free(sc);
		free(id);
		return;
	}
	conn->ids[conn->n_ids].scheme = sc;
	conn->ids[conn->n_ids].id = id;
	conn->n_ids++;
	log_info(ZK_SRV_MOD, "x509 authenticated %s:%d as %s", conn->ip, conn->port, subject);
}

static int zk_server_frame(struct net_conn *nc, uint8_t *p, size_t len, void *arg)
{
	struct zk_conn *conn = arg;
	struct zk_server *srv = conn->srv;
	(void)nc;
	conn->recv++;
	srv->packets_received++;
	switch (conn->state) {
	case ZK_CONN_HANDSHAKE:
		if (conn->recv == 1)
			zk_server_x509(conn);
		zk_server_handle_connect(srv, conn, p, len);
		break;
	case ZK_CONN_ACTIVE:
		if (conn->placeholders || conn->defer_head)
			zk_server_defer(srv, conn, p, len);
		else
			zk_server_handle_request(srv, conn, p, len);
		srv->reply_update = false;
		break;
	case ZK_CONN_CLOSING:
		break;
	}
	return 0;
}

/* ---- accepting ---- */

/* A client connection on the client port (tls false) or the secure client port. */
static void zk_server_accept_conn(struct zk_server *srv, evutil_socket_t fd, const struct sockaddr *sa, bool tls)
{
	struct zk_conn *conn = calloc(1, sizeof(*conn));
	if (!conn) {
		evutil_closesocket(fd);
		return;
	}
	conn->srv = srv;
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)(const void *)sa;
		inet_ntop(AF_INET6, &a6->sin6_addr, conn->ip, sizeof(conn->ip));
		conn->port = ntohs(a6->sin6_port);
	} else {
		const struct sockaddr_in *a4 = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &a4->sin_addr, conn->ip, sizeof(conn->ip));
		conn->port = ntohs(a4->sin_port);
	}
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
		.preface = zk_4lw_preface,
		.frame = zk_server_frame,
		.closed = zk_conn_closed,
	};
	conn->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = conn;
	srv->conns = conn;
	srv->n_conns++;
	if (tls) {
		char why[512];
		if (tls_ctx_maybe_reload(srv->tls, zk_wall_ms(), why, sizeof(why)))
			log_error(ZK_SRV_MOD, "reloading the TLS material failed, keeping the old: %s", why);
		else if (tls_ctx_generation(srv->tls) != srv->tls_generation) {
			srv->tls_generation = tls_ctx_generation(srv->tls);
			log_info(ZK_SRV_MOD, "TLS material reloaded (%s)", srv->cfg->ssl_keystore_location);
		}
		struct ssl_st *ssl = tls_ctx_ssl(srv->tls, NULL);
		conn->nc = ssl ? net_conn_new_tls(srv->base, fd, ssl, true, &opts, &cbs, conn) : NULL;
		if (!ssl)
			evutil_closesocket(fd);
	} else {
		conn->nc = net_conn_new(srv->base, fd, &opts, &cbs, conn);
	}
	if (!conn->nc || !conn->ids[0].scheme || !conn->ids[0].id) {
		if (conn->nc)
			net_conn_close(conn->nc, ERR_NOMEM);
		else
			zk_conn_free(conn);
	}
}

static void zk_server_accept(evutil_socket_t fd, const struct sockaddr *sa, int salen, void *arg)
{
	(void)salen;
	zk_server_accept_conn(arg, fd, sa, false);
}

static void zk_server_accept_tls(evutil_socket_t fd, const struct sockaddr *sa, int salen, void *arg)
{
	(void)salen;
	zk_server_accept_conn(arg, fd, sa, true);
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
	srv->start_mono_ms = zk_mono_ms();
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
	srv->db.on_event = zk_conn_on_event;
	srv->db.on_session_closed = zk_conn_on_session_closed;
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
	rc = zk_metrics_new(srv, errbuf, errlen); /* before the quorum, whose first election it times */
	if (rc)
		goto fail;
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
		rc = zk_txnlog_open(cfg->data_log_dir, srv->db.last_zxid, &lopts, base, zk_conn_durable, srv,
				    &srv->log, errbuf, errlen);
		if (rc)
			goto fail;
	}
	rc = net_listen(base, cfg->client_port_address, cfg->client_port, 128, zk_server_accept, srv,
			&srv->listener, errbuf, errlen);
	if (rc)
		goto fail;
	if (cfg->jaas_config && *cfg->jaas_config) {
		rc = zk_sasl_users_load(cfg->jaas_config, &srv->sasl_users, errbuf, errlen);
		if (rc)
			goto fail;
		log_info(ZK_SRV_MOD, "SASL (DIGEST-MD5) for %d user(s) of %s", srv->sasl_users->n, cfg->jaas_config);
	}
	if (cfg->secure_client_port >= 0) {
		enum tls_client_auth auth = TLS_AUTH_NEED;
		tls_client_auth_parse(cfg->ssl_client_auth, TLS_AUTH_NEED, &auth); /* checked at load */
		struct tls_conf tc = {
			.key_location = cfg->ssl_keystore_location,
			.key_password = cfg->ssl_keystore_password,
			.trust_location = cfg->ssl_truststore_location,
			.client_auth = auth,
			.protocols = cfg->ssl_enabled_protocols,
			.ciphers = cfg->ssl_ciphersuites,
		};
		char why[512];
		rc = tls_ctx_new(&tc, true, &srv->tls, why, sizeof(why));
		if (rc) {
			err_set(errbuf, errlen, rc, "secureClientPort: %s", why);
			goto fail;
		}
		srv->tls_generation = tls_ctx_generation(srv->tls);
		rc = net_listen(base, cfg->secure_client_port_address, cfg->secure_client_port, 128, zk_server_accept_tls,
				srv, &srv->secure_listener, errbuf, errlen);
		if (rc)
			goto fail;
		log_info(ZK_SRV_MOD, "serving TLS on %s:%d (ssl.clientAuth=%s)", cfg->secure_client_port_address,
			 net_listener_port(srv->secure_listener), cfg->ssl_client_auth);
	}
	rc = zk_admin_new(srv, errbuf, errlen);
	if (rc)
		goto fail;
	srv->tick_timer = net_timer_new(base, (uint64_t)(cfg->tick_time < 500 ? cfg->tick_time : 500),
					true, zk_maint_tick, srv);
	srv->container_timer = net_timer_new(base, (uint64_t)cfg->container_check_ms, true,
					     zk_maint_reap_containers, srv);
	if (cfg->purge_interval > 0)
		srv->purge_timer = net_timer_new(base, (uint64_t)cfg->purge_interval * 3600 * 1000, true,
						 zk_maint_purge, srv);
	srv->sigchld = evsignal_new(base, SIGCHLD, zk_maint_sigchld, srv);
	srv->drain = event_new(base, -1, 0, zk_server_drain, srv);
	if (!srv->tick_timer || !srv->container_timer || !srv->sigchld || !srv->drain ||
	    evsignal_add(srv->sigchld, NULL)) {
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
	net_listener_free(srv->secure_listener);
	srv->secure_listener = NULL;
	zk_admin_free(srv->admin);
	srv->admin = NULL;
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
	if (srv->drain)
		event_free(srv->drain);
	zk_metrics_free(srv->metrics);
	srv->metrics = NULL;
	zk_watch_free(srv->watches);
	zk_db_destroy(&srv->db);
	jute_arena_free(&srv->arena);
	wbuf_free(&srv->out);
	wbuf_free(&srv->rec);
	tls_ctx_free(srv->tls); /* after the connections: their SSL objects hold the context */
	zk_sasl_users_free(srv->sasl_users);
	free(srv);
}
