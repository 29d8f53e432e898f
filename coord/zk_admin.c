/*
 * zk_admin — ZooKeeper's AdminServer (admin.enableServer, admin.serverAddress, admin.serverPort,
 * admin.commandURL): GET <commandURL> lists the commands, GET <commandURL>/<name> answers one
 * in JSON with the keys ZooKeeper 3.8's Commands.java gives it and "command" / "error" as its
 * CommandResponse adds them; an unknown name answers {"command": name, "error": "Unknown
 * command: name"} with status 200, as ZooKeeper's does. Commands: ruok, stats (stat),
 * server_stats (srvr), monitor (mntr; the same keys and values as the four-letter word),
 * configuration (conf, config), connections (cons), leader (lead), voting_view, is_read_only
 * (isro), watch_summary (wchs), dirs. Keys of ZooKeeper's answers that samsa cannot measure
 * (fsync_threshold_exceed_count, the non-mTLS connection counts) are left out, not faked.
 * Loop thread only; every answer is rendered from memory (dirs and the sizes in stats walk
 * dataDir/version-2, as ZooKeeper's do).
 */
#include "zk_server_int.h"

#include "err.h"
#include "http.h"
#include "jsonw.h"
#include "raft.h"
#include "zk_server.h"
#include "zk_session.h"
#include "zk_tree.h"
#include "zk_watch.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct zk_admin {
	struct zk_server *srv;
	struct http_server *http;
	char url[128]; /* admin.commandURL */
};

typedef void (*zk_admin_fn)(struct zk_server *srv, struct jsonw *w);

struct zk_admin_cmd {
	const char *name; /* ZooKeeper's primary name, what "command" says */
	const char *alias[3];
	zk_admin_fn fn;
};

/* ---- commands ---- */

static void zk_admin_ruok(struct zk_server *srv, struct jsonw *w)
{
	(void)srv;
	(void)w;
}

static void zk_admin_sizes(struct zk_server *srv, int64_t *data, int64_t *log)
{
	char path[4200];
	*data = *log = 0;
	if (snprintf(path, sizeof(path), "%s/version-2", srv->cfg->data_dir) < (int)sizeof(path))
		*data = zk_4lw_dir_size(path, 2);
	if (snprintf(path, sizeof(path), "%s/version-2", srv->cfg->data_log_dir) < (int)sizeof(path))
		*log = zk_4lw_dir_size(path, 2);
}

static void zk_admin_buffer_stats(struct zk_server *srv, struct jsonw *w)
{
	int64_t last, min, max;
	zk_metrics_response_sizes(srv, &last, &min, &max);
	jsonw_obj_begin(w);
	jsonw_key(w, "last_buffer_size");
	jsonw_int(w, last);
	jsonw_key(w, "min_buffer_size");
	jsonw_int(w, min);
	jsonw_key(w, "max_buffer_size");
	jsonw_int(w, max);
	jsonw_obj_end(w);
}

/* ZooKeeper's SrvrCommand: version, read_only, server_stats, client_response, node_count. */
static void zk_admin_srvr(struct zk_server *srv, struct jsonw *w)
{
	char version[128];
	int64_t dsize, lsize;
	zk_admin_sizes(srv, &dsize, &lsize);
	snprintf(version, sizeof(version), "%s, built on %s %s", ZK_VERSION_STRING, __DATE__, __TIME__);
	jsonw_key(w, "version");
	jsonw_str(w, version);
	jsonw_key(w, "read_only");
	jsonw_bool(w, false);
	jsonw_key(w, "server_stats");
	jsonw_obj_begin(w);
	jsonw_key(w, "packets_sent");
	jsonw_uint(w, srv->packets_sent);
	jsonw_key(w, "packets_received");
	jsonw_uint(w, srv->packets_received);
	jsonw_key(w, "client_response_stats");
	zk_admin_buffer_stats(srv, w);
	jsonw_key(w, "data_dir_size");
	jsonw_int(w, dsize);
	jsonw_key(w, "log_dir_size");
	jsonw_int(w, lsize);
	jsonw_key(w, "provider_null");
	jsonw_bool(w, false);
	jsonw_key(w, "server_state");
	jsonw_str(w, zk_4lw_mode(srv));
	jsonw_key(w, "last_processed_zxid");
	jsonw_int(w, srv->db.last_zxid);
	jsonw_key(w, "outstanding_requests");
	jsonw_uint(w, zk_metrics_outstanding(srv));
	jsonw_key(w, "avg_latency");
	jsonw_double(w, srv->lat_n ? (double)srv->lat_sum / (double)srv->lat_n / 1000.0 : 0.0);
	jsonw_key(w, "max_latency");
	jsonw_uint(w, srv->lat_max);
	jsonw_key(w, "min_latency");
	jsonw_uint(w, srv->lat_min);
	jsonw_key(w, "num_alive_client_connections");
	jsonw_uint(w, srv->n_conns);
	jsonw_key(w, "uptime");
	jsonw_int(w, zk_mono_ms() - srv->start_mono_ms);
	jsonw_key(w, "auth_failed_count");
	jsonw_uint(w, srv->auth_failed);
	jsonw_obj_end(w);
	jsonw_key(w, "client_response");
	zk_admin_buffer_stats(srv, w);
	jsonw_key(w, "node_count");
	jsonw_uint(w, zk_tree_count(srv->db.tree));
}

/* One connection as ZooKeeper's ServerCnxn.getConnectionInfo(brief). */
static void zk_admin_conn(struct zk_conn *c, bool brief, struct jsonw *w)
{
	char addr[INET6_ADDRSTRLEN + 8];
	snprintf(addr, sizeof(addr), "%s:%u", c->ip, (unsigned)c->port);
	jsonw_obj_begin(w);
	jsonw_key(w, "remote_socket_address");
	jsonw_str(w, addr);
	jsonw_key(w, "interest_ops");
	jsonw_int(w, c->state == ZK_CONN_ACTIVE ? 1 : 0);
	jsonw_key(w, "outstanding_requests");
	jsonw_int(w, c->held_head ? 1 : 0);
	jsonw_key(w, "packets_received");
	jsonw_uint(w, c->recv);
	jsonw_key(w, "packets_sent");
	jsonw_uint(w, c->sent);
	if (!brief) {
		jsonw_key(w, "session_id");
		jsonw_int(w, c->session_id);
		jsonw_key(w, "last_operation");
		jsonw_str(w, zk_4lw_op_name(c->last_op));
		jsonw_key(w, "established");
		jsonw_int(w, c->established_ms);
		jsonw_key(w, "session_timeout");
		jsonw_int(w, c->timeout);
		jsonw_key(w, "last_cxid");
		jsonw_int(w, c->last_cxid);
		jsonw_key(w, "last_zxid");
		jsonw_int(w, c->last_zxid);
		jsonw_key(w, "last_response_time");
		jsonw_int(w, c->last_resp_ms);
		jsonw_key(w, "last_latency");
		jsonw_uint(w, c->lat_last);
		jsonw_key(w, "min_latency");
		jsonw_uint(w, c->lat_min);
		jsonw_key(w, "avg_latency");
		jsonw_uint(w, c->lat_n ? c->lat_sum / c->lat_n / 1000 : 0);
		jsonw_key(w, "max_latency");
		jsonw_uint(w, c->lat_max);
	}
	jsonw_obj_end(w);
}

static void zk_admin_conns(struct zk_server *srv, bool brief, struct jsonw *w)
{
	jsonw_key(w, "connections");
	jsonw_arr_begin(w);
	for (struct zk_conn *c = srv->conns; c; c = c->next)
		zk_admin_conn(c, brief, w);
	jsonw_arr_end(w);
	jsonw_key(w, "secure_connections");
	jsonw_arr_begin(w);
	jsonw_arr_end(w);
}

static void zk_admin_stat(struct zk_server *srv, struct jsonw *w)
{
	zk_admin_srvr(srv, w);
	zk_admin_conns(srv, true, w);
}

static void zk_admin_cons(struct zk_server *srv, struct jsonw *w)
{
	zk_admin_conns(srv, false, w);
}

static void zk_admin_mntr_item(const struct zk_mntr_item *it, void *arg)
{
	struct jsonw *w = arg;
	jsonw_key(w, it->key);
	switch (it->kind) {
	case ZK_MNTR_INT: jsonw_int(w, it->i); break;
	case ZK_MNTR_DOUBLE: jsonw_double(w, it->d); break;
	case ZK_MNTR_STR: jsonw_str(w, it->s); break;
	}
}

static void zk_admin_monitor(struct zk_server *srv, struct jsonw *w)
{
	zk_metrics_mntr(srv, zk_admin_mntr_item, w);
}

/* ZooKeeperServerConf.toMap */
static void zk_admin_conf(struct zk_server *srv, struct jsonw *w)
{
	const struct zk_config *cfg = srv->cfg;
	char path[4200];
	jsonw_key(w, "client_port");
	jsonw_int(w, zk_server_port(srv));
	snprintf(path, sizeof(path), "%s/version-2", cfg->data_dir);
	jsonw_key(w, "data_dir");
	jsonw_str(w, path);
	snprintf(path, sizeof(path), "%s/version-2", cfg->data_log_dir);
	jsonw_key(w, "data_log_dir");
	jsonw_str(w, path);
	jsonw_key(w, "tick_time");
	jsonw_int(w, cfg->tick_time);
	jsonw_key(w, "max_client_cnxns");
	jsonw_int(w, cfg->max_client_cnxns);
	jsonw_key(w, "min_session_timeout");
	jsonw_int(w, cfg->min_session_timeout);
	jsonw_key(w, "max_session_timeout");
	jsonw_int(w, cfg->max_session_timeout);
	jsonw_key(w, "server_id");
	jsonw_uint(w, srv->q ? srv->q->myid : 0);
	jsonw_key(w, "client_port_listen_backlog");
	jsonw_int(w, -1);
}

static const struct zk_quorum_server *zk_admin_member(const struct zk_server *srv, uint64_t id)
{
	const struct zk_quorum *q = srv->q;
	for (int i = 0; i < q->n_members; i++)
		if (q->members[i].id == id)
			return &q->members[i];
	for (int i = 0; i < srv->cfg->n_servers; i++)
		if (srv->cfg->servers[i].id == id)
			return &srv->cfg->servers[i];
	return NULL;
}

/* ZooKeeper's LeaderCommand: is_leader, leader_id, leader_ip ("" while none is known). */
static void zk_admin_leader(struct zk_server *srv, struct jsonw *w)
{
	uint64_t leader = raft_leader(srv->q->raft);
	const struct zk_quorum_server *sv = leader ? zk_admin_member(srv, leader) : NULL;
	jsonw_key(w, "is_leader");
	jsonw_bool(w, raft_role(srv->q->raft) == RAFT_LEADER);
	jsonw_key(w, "leader_id");
	jsonw_int(w, leader ? (int64_t)leader : -1);
	jsonw_key(w, "leader_ip");
	jsonw_str(w, sv ? sv->host : "");
}

/* ZooKeeper's VotingViewCommand: the voting members, each as its QuorumServerView. */
static void zk_admin_voting_view(struct zk_server *srv, struct jsonw *w)
{
	char id[24], addr[300];
	jsonw_key(w, "current_config");
	jsonw_obj_begin(w);
	if (srv->q) {
		const struct raft_config *rc = raft_config(srv->q->raft, NULL);
		for (uint32_t i = 0; i < rc->n; i++) {
			if (!rc->servers[i].voter)
				continue;
			const struct zk_quorum_server *sv = zk_admin_member(srv, rc->servers[i].id);
			if (!sv)
				continue;
			snprintf(id, sizeof(id), "%" PRIu64, sv->id);
			jsonw_key(w, id);
			jsonw_obj_begin(w);
			/* QuorumServerView's fields, named as Jackson writes them */
			jsonw_key(w, "serverAddresses");
			jsonw_arr_begin(w);
			snprintf(addr, sizeof(addr), "%s:%d", sv->host, sv->peer_port);
			jsonw_str(w, addr);
			jsonw_arr_end(w);
			jsonw_key(w, "electionAddresses");
			jsonw_arr_begin(w);
			snprintf(addr, sizeof(addr), "%s:%d", sv->host, sv->election_port);
			jsonw_str(w, addr);
			jsonw_arr_end(w);
			jsonw_key(w, "clientAddress");
			if (sv->client_port) {
				snprintf(addr, sizeof(addr), "%s:%d", sv->client_host[0] ? sv->client_host : sv->host,
					 sv->client_port);
				jsonw_str(w, addr);
			} else if (sv->id == srv->q->myid) {
				snprintf(addr, sizeof(addr), "%s:%d", srv->cfg->client_port_address, zk_server_port(srv));
				jsonw_str(w, addr);
			} else {
				jsonw_null(w); /* not in its server.N line */
			}
			jsonw_key(w, "learnerType");
			jsonw_str(w, sv->observer ? "observer" : "participant");
			jsonw_obj_end(w);
		}
	}
	jsonw_obj_end(w);
}

static void zk_admin_isro(struct zk_server *srv, struct jsonw *w)
{
	(void)srv;
	jsonw_key(w, "read_only");
	jsonw_bool(w, false);
}

static void zk_admin_wchs(struct zk_server *srv, struct jsonw *w)
{
	jsonw_key(w, "num_connections");
	jsonw_uint(w, zk_watch_watcher_count(srv->watches));
	jsonw_key(w, "num_paths");
	jsonw_uint(w, zk_watch_path_count(srv->watches));
	jsonw_key(w, "num_total_watches");
	jsonw_uint(w, zk_watch_count(srv->watches));
}

static void zk_admin_dirs(struct zk_server *srv, struct jsonw *w)
{
	int64_t dsize, lsize;
	zk_admin_sizes(srv, &dsize, &lsize);
	jsonw_key(w, "datadir_size");
	jsonw_int(w, dsize);
	jsonw_key(w, "logdir_size");
	jsonw_int(w, lsize);
}

static const struct zk_admin_cmd zk_admin_cmds[] = {
	{ "configuration", { "conf", "config" }, zk_admin_conf },
	{ "connections", { "cons" }, zk_admin_cons },
	{ "dirs", { NULL }, zk_admin_dirs },
	{ "is_read_only", { "isro" }, zk_admin_isro },
	{ "leader", { "lead" }, zk_admin_leader },
	{ "monitor", { "mntr" }, zk_admin_monitor },
	{ "ruok", { NULL }, zk_admin_ruok },
	{ "server_stats", { "srvr" }, zk_admin_srvr },
	{ "stats", { "stat" }, zk_admin_stat },
	{ "voting_view", { NULL }, zk_admin_voting_view },
	{ "watch_summary", { "wchs" }, zk_admin_wchs },
};
#define ZK_ADMIN_NCMDS (sizeof(zk_admin_cmds) / sizeof(zk_admin_cmds[0]))

static const struct zk_admin_cmd *zk_admin_find(const char *name)
{
	for (size_t i = 0; i < ZK_ADMIN_NCMDS; i++) {
		const struct zk_admin_cmd *c = &zk_admin_cmds[i];
		if (!strcmp(c->name, name))
			return c;
		for (size_t j = 0; j < 3 && c->alias[j]; j++)
			if (!strcmp(c->alias[j], name))
				return c;
	}
	return NULL;
}

/* ---- HTTP ---- */

static void zk_admin_page(const char *path, struct http_reply *reply, void *arg)
{
	struct zk_admin *a = arg;
	struct zk_server *srv = a->srv;
	size_t n = strlen(a->url);
	if (!path[n] || !strcmp(path + n, "/")) { /* the list, as ZooKeeper's links */
		reply->content_type = "text/html; charset=utf-8";
		for (size_t i = 0; i < ZK_ADMIN_NCMDS; i++)
			evbuffer_add_printf(reply->body, "<a href=\"%s/%s\">%s</a>\n<br/>\n", a->url, zk_admin_cmds[i].name,
					    zk_admin_cmds[i].name);
		return;
	}
	const char *name = path + n + 1;
	const struct zk_admin_cmd *cmd = zk_admin_find(name);
	struct jsonw w;
	reply->content_type = "application/json";
	jsonw_init(&w, reply->body);
	jsonw_obj_begin(&w);
	const char *error = NULL;
	if (!cmd)
		error = "Unknown command";
	else if (!strcmp(cmd->name, "leader") && !srv->q)
		error = "server is not initialized"; /* ZooKeeper's answer when it is not in an ensemble */
	else if (strcmp(cmd->name, "ruok") && srv->q && !zk_quorum_serving(srv) && strcmp(cmd->name, "leader") &&
		 strcmp(cmd->name, "voting_view") && strcmp(cmd->name, "configuration"))
		error = "This ZooKeeper instance is not currently serving requests";
	if (!error)
		cmd->fn(srv, &w);
	jsonw_key(&w, "command");
	jsonw_str(&w, cmd ? cmd->name : name);
	jsonw_key(&w, "error");
	if (!cmd) {
		char text[200];
		snprintf(text, sizeof(text), "Unknown command: %.150s", name);
		jsonw_str(&w, text);
	} else {
		jsonw_str(&w, error);
	}
	jsonw_obj_end(&w);
	if (jsonw_finish(&w)) {
		reply->status = 500;
		evbuffer_drain(reply->body, evbuffer_get_length(reply->body));
	}
}

int zk_admin_new(struct zk_server *srv, char *errbuf, size_t errlen)
{
	const struct zk_config *cfg = srv->cfg;
	if (!cfg->admin_enable_server)
		return 0;
	struct zk_admin *a = calloc(1, sizeof(*a));
	if (!a)
		return err_set(errbuf, errlen, ERR_NOMEM, "admin server: out of memory");
	a->srv = srv;
	snprintf(a->url, sizeof(a->url), "%s", cfg->admin_command_url);
	size_t n = strlen(a->url);
	while (n > 1 && a->url[n - 1] == '/')
		a->url[--n] = '\0';
	srv->admin = a;
	int rc = http_server_new(srv->base, "admin.serverPort", cfg->admin_server_address, cfg->admin_server_port,
				 &a->http, errbuf, errlen);
	if (!rc) {
		http_server_set_idle_timeout(a->http, (cfg->admin_idle_timeout_ms + 999) / 1000);
		rc = http_server_route(a->http, a->url, true, zk_admin_page, a);
	}
	return rc;
}

int zk_admin_port(const struct zk_server *srv)
{
	return srv->admin && srv->admin->http ? http_server_port(srv->admin->http) : -1;
}

void zk_admin_free(struct zk_admin *a)
{
	if (!a)
		return;
	http_server_free(a->http);
	free(a);
}
