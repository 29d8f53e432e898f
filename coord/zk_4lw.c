/*
 * zk_4lw — ZooKeeper's four-letter words on the client port (ruok, srvr, stat, mntr, conf, cons,
 * wchs, isro, envi, dirs, crst, srst): recognised from a connection's first four bytes
 * (zk_4lw_preface, the net layer's preface hook), answered as plain text, then the connection
 * closes. The whitelist (4lw.commands.whitelist) is parsed once at start. Loop thread only.
 */
#include "zk_server_int.h"

#include "buf.h"
#include "net.h"
#include "raft.h"
#include "zk_config.h"
#include "zk_session.h"
#include "zk_tree.h"
#include "zk_txnlog.h"
#include "zk_watch.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

/* ---- four-letter words ---- */

static const char *const zk_4lw_names[] = { "ruok", "srvr", "stat", "mntr", "conf", "cons",
					     "wchs", "isro", "envi", "dirs", "crst", "srst" };
#define ZK_4LW_N (sizeof(zk_4lw_names) / sizeof(zk_4lw_names[0]))

unsigned zk_4lw_parse_whitelist(const char *list)
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

/* The name ZooKeeper's cons gives a connection's last operation (FinalRequestProcessor's
 * lastOp); "NA" for what it names nothing: an error txn, deleteContainer, check. */
const char *zk_4lw_op_name(int32_t op)
{
	switch (op) {
	case ZK_OP_CREATESESSION: return "SESS";
	case ZK_OP_CLOSESESSION: return "CLOS";
	case ZK_OP_CREATE:
	case ZK_OP_CREATE2:
	case ZK_OP_CREATECONTAINER:
	case ZK_OP_CREATETTL: return "CREA";
	case ZK_OP_DELETE: return "DELE";
	case ZK_OP_SETDATA: return "SETD";
	case ZK_OP_SETACL: return "SETA";
	case ZK_OP_RECONFIG: return "RECO";
	case ZK_OP_MULTI: return "MULT";
	case ZK_OP_MULTIREAD: return "MLTR";
	case ZK_OP_EXISTS: return "EXIS";
	case ZK_OP_GETDATA: return "GETD";
	case ZK_OP_GETCHILDREN:
	case ZK_OP_GETCHILDREN2: return "GETC";
	case ZK_OP_GETACL: return "GETA";
	case ZK_OP_SYNC: return "SYNC";
	case ZK_OP_PING: return "PING";
	case ZK_OP_SETWATCHES: return "SETW";
	case ZK_OP_SETWATCHES2: return "STW2";
	case ZK_OP_ADDWATCH: return "ADDW";
	case ZK_OP_CHECKWATCHES: return "CHKW";
	case ZK_OP_REMOVEWATCHES: return "REMW";
	case ZK_OP_GETEPHEMERALS: return "GETE";
	case ZK_OP_GETALLCHILDRENNUMBER: return "GETACN";
	case ZK_OP_WHOAMI: return "HOMI";
	default: return "NA";
	}
}

/*
 * One client line of stat (brief) and cons, as ZooKeeper's ServerCnxn.dumpConnectionInfo:
 * " /IP:PORT[interest](queued=..,recved=..,sent=..)", and for cons, on a connection with a
 * session, the session's figures before the ')'.
 */
static void zk_4lw_conn_line(struct wbuf *w, struct zk_conn *c, bool full)
{
	if (!full || !c->session_id) {
		zk_4lw_line(w, " /%s:%u[%d](queued=%zu,recved=%" PRIu64 ",sent=%" PRIu64 ")\n", c->ip,
			    (unsigned)c->port, c->state == ZK_CONN_ACTIVE ? 1 : 0, c->held_bytes ? (size_t)1 : 0,
			    c->recv, c->sent);
		return;
	}
	zk_4lw_line(w,
		    " /%s:%u[%d](queued=%d,recved=%" PRIu64 ",sent=%" PRIu64 ",sid=0x%" PRIx64
		    ",lop=%s,est=%" PRId64 ",to=%d,lcxid=0x%x,lzxid=0x%" PRIx64 ",lresp=%" PRId64
		    ",llat=%" PRIu64 ",minlat=%" PRIu64 ",avglat=%" PRIu64 ",maxlat=%" PRIu64 ")\n",
		    c->ip, (unsigned)c->port, c->state == ZK_CONN_ACTIVE ? 1 : 0, c->held_head ? 1 : 0, c->recv, c->sent,
		    (uint64_t)c->session_id, zk_4lw_op_name(c->last_op), c->established_ms, c->timeout,
		    (unsigned)c->last_cxid, (uint64_t)c->last_zxid, c->last_resp_ms, c->lat_last, c->lat_min,
		    c->lat_n ? c->lat_sum / c->lat_n / 1000 : 0, c->lat_max);
}

const char *zk_4lw_mode(const struct zk_server *srv)
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
			zk_4lw_conn_line(w, c, false);
		zk_4lw_line(w, "\n");
	}
	zk_4lw_line(w, "Latency min/avg/max: %" PRIu64 "/%.4f/%" PRIu64 "\n", srv->lat_min,
		    srv->lat_n ? (double)srv->lat_sum / (double)srv->lat_n / 1000.0 : 0.0, srv->lat_max);
	zk_4lw_line(w, "Received: %" PRIu64 "\n", srv->packets_received);
	zk_4lw_line(w, "Sent: %" PRIu64 "\n", srv->packets_sent);
	zk_4lw_line(w, "Connections: %zu\n", srv->n_conns);
	zk_4lw_line(w, "Outstanding: %" PRIu64 "\n", zk_metrics_outstanding(srv));
	zk_4lw_line(w, "Zxid: 0x%" PRIx64 "\n", (uint64_t)srv->db.last_zxid);
	zk_4lw_line(w, "Mode: %s\n", zk_4lw_mode(srv));
	zk_4lw_line(w, "Node count: %zu\n", zk_tree_count(srv->db.tree));
}

int zk_4lw_count_fds(void)
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

static void zk_4lw_mntr_line(const struct zk_mntr_item *it, void *arg)
{
	struct wbuf *w = arg;
	switch (it->kind) {
	case ZK_MNTR_INT:
		zk_4lw_line(w, "zk_%s\t%" PRId64 "\n", it->key, it->i);
		break;
	case ZK_MNTR_DOUBLE:
		zk_4lw_line(w, "zk_%s\t%.4f\n", it->key, it->d);
		break;
	case ZK_MNTR_STR:
		zk_4lw_line(w, "zk_%s\t%s\n", it->key, it->s);
		break;
	}
}

/* Bytes in the files under path (ZooKeeper's getDirSize), a few levels deep. */
int64_t zk_4lw_dir_size(const char *path, int depth)
{
	int64_t total = 0;
	DIR *d = opendir(path);
	if (!d)
		return 0;
	for (struct dirent *e; (e = readdir(d));) {
		struct stat st;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		if (S_ISREG(st.st_mode)) {
			total += (int64_t)st.st_size;
		} else if (S_ISDIR(st.st_mode) && depth > 0) {
			char sub[4352];
			int n = snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			if (n > 0 && (size_t)n < sizeof(sub))
				total += zk_4lw_dir_size(sub, depth - 1);
		}
	}
	closedir(d);
	return total;
}

/*
 * conf, as ZooKeeper 3.8 prints it: the settings every server has; in an ensemble then the
 * quorum's (QuorumZooKeeperServer.dumpConf) and "membership: " followed by the configuration
 * as /zookeeper/config holds it (server.N lines and version=, no newline after it).
 */
static void zk_4lw_conf(struct zk_server *srv, struct wbuf *w)
{
	const struct zk_config *cfg = srv->cfg;
	char path[4200];
	int64_t dsize = 0, lsize = 0;
	if (snprintf(path, sizeof(path), "%s/version-2", cfg->data_dir) < (int)sizeof(path))
		dsize = zk_4lw_dir_size(path, 2);
	if (snprintf(path, sizeof(path), "%s/version-2", cfg->data_log_dir) < (int)sizeof(path))
		lsize = zk_4lw_dir_size(path, 2);
	struct zk_quorum *q = srv->q;
	zk_config_format(cfg, q ? q->myid : 0, dsize, lsize, w);
	if (!q)
		return;
	const struct zk_quorum_server *me = NULL;
	for (int i = 0; i < q->n_members && !me; i++)
		if (q->members[i].id == q->myid)
			me = &q->members[i];
	for (int i = 0; i < cfg->n_servers && !me; i++)
		if (cfg->servers[i].id == q->myid)
			me = &cfg->servers[i];
	zk_4lw_line(w, "initLimit=%d\nsyncLimit=%d\nelectionAlg=3\nelectionPort=%d\nquorumPort=%d\npeerType=%d\n",
		    cfg->init_limit, cfg->sync_limit, me ? me->election_port : 0, me ? me->peer_port : 0,
		    me && me->observer ? 1 : 0);
	zk_4lw_line(w, "membership: \n");
	const struct zk_node *node = zk_tree_get(srv->db.tree, "/zookeeper/config");
	int32_t len = 0;
	const uint8_t *data = node ? zk_node_data(node, &len) : NULL;
	if (data && len > 0) {
		wbuf_raw(w, data, (size_t)len);
		return;
	}
	char text[ZK_MAX_SERVERS * 700 + 64];
	size_t n = zk_reconfig_format(q->members, q->n_members, text, sizeof(text) - 16);
	wbuf_raw(w, text, n);
	zk_4lw_line(w, "version=0");
}

int zk_4lw_preface(struct net_conn *nc, const uint8_t first4[4], void *arg)
{
	struct zk_conn *conn = arg;
	struct zk_server *srv = conn->srv;
	int which = -1;
	for (unsigned i = 0; i < ZK_4LW_N; i++)
		if (!memcmp(first4, zk_4lw_names[i], 4))
			which = (int)i;
	if (which < 0)
		return 0;
	conn->recv++; /* ZooKeeper counts the word as a packet received */
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
		zk_metrics_mntr(srv, zk_4lw_mntr_line, w);
	} else if (!strcmp(cmd, "conf")) {
		zk_4lw_conf(srv, w);
	} else if (!strcmp(cmd, "cons")) {
		for (struct zk_conn *c = srv->conns; c; c = c->next)
			zk_4lw_conn_line(w, c, true);
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
