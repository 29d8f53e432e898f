/*
 * zk_maint — the coordinator's timers: session expiry (the leader or a standalone server only;
 * followers keep their deadlines moving), snapshots in a fork()ed child every snapCount txns
 * (snapCount/2 plus a random part, as ZooKeeper does) and the reaping of that child, the
 * autopurge task, and ZooKeeper's ContainerManager (deleting containers that had children and
 * have none left). Loop thread only; the snapshot child only serializes.
 */
#include "zk_server_int.h"

#include "err.h"
#include "log.h"
#include "raft.h"
#include "zk_db.h"
#include "zk_session.h"
#include "zk_snap.h"
#include "zk_tree.h"
#include "zk_txnlog.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void zk_maint_maybe_snapshot(struct zk_server *srv);

/* ---- timers: session expiry, snapshots, purge, containers ---- */

static void zk_maint_expire_one(int64_t id, void *arg)
{
	struct zk_server *srv = arg;
	struct zk_txn txn;
	log_info(ZK_SRV_MOD, "expiring session 0x%" PRIx64 ", timeout of %d ms exceeded", (uint64_t)id,
		 zk_sessions_timeout(srv->db.sessions, id));
	zk_prep_txn_init(srv, &txn, ZK_TXN_CLOSESESSION, id, 0);
	zk_prep_commit(srv, &txn);
}

void zk_maint_tick(void *arg)
{
	struct zk_server *srv = arg;
	srv->db.now_ms = zk_mono_ms();
	if (!srv->q || (raft_role(srv->q->raft) == RAFT_LEADER && srv->q->serving))
		zk_sessions_expire(srv->db.sessions, srv->db.now_ms, zk_maint_expire_one, srv);
	else if (srv->q) /* followers do not expire sessions: keep their deadlines moving */
		zk_sessions_walk(srv->db.sessions, zk_quorum_retouch, srv);
	zk_maint_maybe_snapshot(srv);
	if (srv->q)
		zk_quorum_ready(srv);
}

static void zk_maint_maybe_snapshot(struct zk_server *srv)
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

void zk_maint_sigchld(evutil_socket_t sig, short what, void *arg)
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

void zk_maint_purge(void *arg)
{
	struct zk_server *srv = arg;
	int rc = zk_snap_purge(srv->cfg->data_dir, srv->cfg->data_log_dir, srv->cfg->snap_retain_count);
	log_info(ZK_SRV_MOD, "purge task: %s", rc ? err_str(rc) : "done");
}

struct zk_maint_reap_ctx {
	char **paths;
	int32_t n, cap;
};

static int zk_maint_reap_collect(const char *path, void *arg)
{
	struct zk_maint_reap_ctx *rc = arg;
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

/* ZooKeeper's ContainerManager: delete containers that had children and have none left, and
 * (extendedTypesEnabled) TTL nodes without children not modified for longer than their TTL. */
void zk_maint_reap_containers(void *arg)
{
	struct zk_server *srv = arg;
	struct zk_maint_reap_ctx rc = { NULL, 0, 0 };
	/* deletions are txns: only a standalone server or the serving leader proposes them */
	if (srv->q && !(raft_role(srv->q->raft) == RAFT_LEADER && srv->q->serving))
		return;
	int64_t now = zk_wall_ms();
	bool ttl = srv->cfg->extended_types_enabled;
	zk_tree_reapable(srv->db.tree, now, ttl, zk_maint_reap_collect, &rc);
	for (int32_t i = 0; i < rc.n; i++) {
		const struct zk_node *node = zk_tree_get(srv->db.tree, rc.paths[i]);
		if (node && zk_node_reapable(node, now, ttl)) {
			const char *what = zk_owner_is_ttl(zk_node_owner(node)) ? "expired TTL node" : "empty container";
			struct zk_txn txn;
			zk_prep_txn_init(srv, &txn, ZK_TXN_DELETE, 0, 0);
			txn.path = rc.paths[i];
			zk_prep_commit(srv, &txn);
			log_info(ZK_SRV_MOD, "deleted %s %s", what, rc.paths[i]);
		}
		free(rc.paths[i]);
	}
	free(rc.paths);
}
