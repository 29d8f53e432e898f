/*
 * zk_reconfig — the ensemble's membership. It lives in /zookeeper/config as ZooKeeper writes it
 * ("server.N=host:peerPort:electionPort:participant|observer;clientHost:clientPort" lines and
 * "version=" the reconfig's zxid, 0 for the static configuration). A reconfig request is a setData of that znode; once applied
 * (zk_reconfig_applied), every server knows the addresses, and the leader moves Raft's
 * configuration towards it one server at a time (zk_reconfig_step: a joining participant first
 * as a non-voter until it has caught up, then as a voter), so the majority is always that of the
 * configuration in force. Loop thread only.
 */
#include "zk_server_int.h"

#include "buf.h"
#include "err.h"
#include "jute.h"
#include "log.h"
#include "raft.h"
#include "zk_config.h"
#include "zk_peer.h"
#include "zk_tree.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void zk_reconfig_put_config(struct zk_server *srv)
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

size_t zk_reconfig_format(const struct zk_quorum_server *sv, int n, char *out, size_t cap)
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
static int zk_reconfig_parse(const char *text, size_t len, struct zk_quorum_server *sv, int *n, char *eb, size_t el)
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

void zk_reconfig_learn(struct zk_quorum *q, const struct zk_quorum_server *sv)
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
static void zk_reconfig_update_peers(struct zk_server *srv)
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
void zk_reconfig_applied(struct zk_server *srv, const struct zk_txn *txn)
{
	if (txn->type != ZK_TXN_SETDATA || !txn->path || strcmp(txn->path, "/zookeeper/config"))
		return;
	struct zk_quorum *q = srv->q;
	char eb[256];
	struct zk_quorum_server sv[ZK_MAX_SERVERS];
	int n = 0;
	if (zk_reconfig_parse((const char *)txn->data, txn->data_len > 0 ? (size_t)txn->data_len : 0, sv, &n, eb,
			    sizeof(eb)) || n == 0) {
		log_warn(ZK_SRV_MOD, "/zookeeper/config at 0x%" PRIx64 " names no ensemble: %s", (uint64_t)txn->zxid, eb);
		return;
	}
	memcpy(q->members, sv, sizeof(sv[0]) * (size_t)n);
	q->n_members = n;
	q->config_written = true;
	for (int i = 0; i < n; i++)
		zk_reconfig_learn(q, &sv[i]);
	zk_reconfig_update_peers(srv);
	log_info(ZK_SRV_MOD, "quorum: the ensemble is now %d server(s) (zxid 0x%" PRIx64 ")", n, (uint64_t)txn->zxid);
}

/* Writes /zookeeper/config = list (a txn through the log); returns its zxid. */
int64_t zk_reconfig_write_config(struct zk_server *srv, struct zk_conn *conn, int32_t xid,
				      const struct zk_quorum_server *sv, int n, bool initial)
{
	char text[ZK_MAX_SERVERS * 700 + 64];
	size_t len = zk_reconfig_format(sv, n, text, sizeof(text) - 40);
	struct zk_txn txn;
	zk_prep_txn_init(srv, &txn, ZK_TXN_SETDATA, conn ? conn->session_id : 0, xid);
	/* the static configuration is version 0, as in ZooKeeper; a reconfig's is its zxid */
	len += (size_t)snprintf(text + len, sizeof(text) - len, "version=%" PRIx64,
				initial ? (uint64_t)0 : (uint64_t)txn.zxid);
	const struct zk_node *node = zk_tree_get(srv->db.tree, "/zookeeper/config");
	struct zk_stat st;
	memset(&st, 0, sizeof(st));
	if (node)
		zk_node_stat(node, &st);
	txn.path = "/zookeeper/config";
	txn.data = (const uint8_t *)text;
	txn.data_len = (int32_t)len;
	txn.version = st.version + 1;
	zk_prep_commit(srv, &txn);
	return txn.zxid;
}

void zk_reconfig_handle(struct zk_server *srv, struct zk_conn *conn, const struct jute_req *req, uint64_t t0)
{
	char eb[256];
	struct zk_quorum *q = srv->q;
	if (!q || !srv->cfg->reconfig_enabled) {
		conn->last_op = ZK_OP_ERROR;
		zk_conn_reply_err(conn, req->xid, srv->db.last_zxid, ZK_ERECONFIGDISABLED, t0);
		return;
	}
	struct zk_quorum_server next[ZK_MAX_SERVERS];
	int n = 0, rc = 0;
	if (req->reconfig[2] && req->reconfig[2][0]) { /* non-incremental: the whole new list */
		rc = zk_reconfig_parse(req->reconfig[2], strlen(req->reconfig[2]), next, &n, eb, sizeof(eb));
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
			rc = zk_reconfig_parse(req->reconfig[0], strlen(req->reconfig[0]), add, &na, eb, sizeof(eb));
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
		zk_conn_reply_err(conn, req->xid, srv->db.last_zxid, ZK_EBADARGUMENTS, t0);
		return;
	}
	if (raft_role(q->raft) != RAFT_LEADER || !q->serving) {
		zk_conn_reply_err(conn, req->xid, srv->db.last_zxid, ZK_ERECONFIGINPROGRESS, t0);
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
	int64_t zxid = zk_reconfig_write_config(srv, conn, req->xid, next, n, false);
	size_t off = zk_conn_reply_begin(srv, req->xid, zxid, ZK_OK);
	zk_reconfig_put_config(srv);
	zk_conn_reply_end(conn, off, t0);
}

/* The leader moves Raft's configuration one step towards the membership. */
void zk_reconfig_step(struct zk_server *srv)
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
		zk_reconfig_update_peers(srv);
		event_active(q->kick, EV_TIMEOUT, 0);
		log_info(ZK_SRV_MOD, "quorum: proposed a configuration of %u server(s) at 0x%" PRIx64, next.n, index);
	} else if (rc != ERR_BUSY) {
		log_warn(ZK_SRV_MOD, "quorum: configuration change refused: %s", err_str(rc));
	}
}

/* The membership recorded in the tree (after start-up or a reload), if any. */
void zk_reconfig_load(struct zk_server *srv)
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
		zk_reconfig_applied(srv, &txn);
		return;
	}
	/* before the peer layer exists: only take the list */
	char eb[256];
	struct zk_quorum_server sv[ZK_MAX_SERVERS];
	int k = 0;
	if (!zk_reconfig_parse((const char *)d, (size_t)n, sv, &k, eb, sizeof(eb)) && k > 0) {
		memcpy(q->members, sv, sizeof(sv[0]) * (size_t)k);
		q->n_members = k;
		q->config_written = true;
		for (int i = 0; i < k; i++)
			zk_reconfig_learn(q, &sv[i]);
	}
}
