/*
 * zk_db — the coordinator's replicated state: the data tree and the session table, and the one
 * function that changes them, zk_db_apply(). Every write becomes a struct zk_txn that is applied
 * here — live after the request was checked, at start-up when the log is replayed, and (later)
 * on followers — so that the same txns always give the same state.
 *
 * zk_db also owns recovery: load the newest valid snapshot, replay the log after it.
 * Loop thread only.
 */
#ifndef SAMSA_ZK_DB_H
#define SAMSA_ZK_DB_H

#include "zk_types.h"

#include <stdint.h>

struct zk_tree;
struct zk_sessions;

/* Called for every watch event a txn causes (ZooKeeper's DataTree triggers): the node's own
 * event (CREATED, DELETED, DATACHANGED) and CHILDCHANGED on its parent. acl/n_acl: the ACL of
 * the node the event is about at that op (a deleted node's last one; the parent's for
 * CHILDCHANGED), which a watcher needs READ in to be told (ZooKeeper 3.8.4, CVE-2024-23944);
 * valid during the call only. A multi's events come op by op, each with the ACL of its time. */
typedef void (*zk_db_event_cb)(const char *path, enum zk_event_type type, const struct zk_acl *acl,
			       int32_t n_acl, void *arg);
/* Called when a session ends (closeSession txn applied). */
typedef void (*zk_db_session_cb)(int64_t session_id, void *arg);

struct zk_db {
	struct zk_tree *tree;
	struct zk_sessions *sessions;
	int64_t last_zxid; /* zxid of the last txn applied */
	int64_t now_ms;	   /* clock used for session expiry bookkeeping while applying */
	zk_db_event_cb on_event;
	zk_db_session_cb on_session_closed;
	void *cb_arg;
};

/* Creates an empty database (built-in nodes only). Returns 0 or ERR_NOMEM. */
int zk_db_init(struct zk_db *db, int64_t server_id, int32_t tick_ms, int64_t now_ms);
void zk_db_destroy(struct zk_db *db);

/*
 * Applies one txn (any type, incl. MULTI and ERROR). Returns 0, or a negative ERR_* if the txn
 * does not fit the state (a precondition the prep step should have checked): on the live path
 * that is a bug, on replay a corrupt log — callers stop loudly either way. last_zxid = txn->zxid.
 * For MULTI the ops are applied atomically: all or none.
 */
int zk_db_apply(struct zk_db *db, const struct zk_txn *txn);

/*
 * Trial application, for checking a multi op by op against the state its earlier ops leave
 * (the server's prep step): begin, then trial_op for each op (no events, last_zxid unchanged),
 * then trial_end, which always rolls everything back. The real change is zk_db_apply(multi).
 */
void zk_db_trial_begin(struct zk_db *db);
int zk_db_trial_op(struct zk_db *db, const struct zk_txn *op, int64_t zxid, int64_t time_ms);
void zk_db_trial_end(struct zk_db *db);

/*
 * Rebuilds the state from <snap_dir>/version-2 and <log_dir>/version-2: newest valid snapshot,
 * then every logged txn after it (a torn log tail is truncated with a log line by zk_txnlog).
 * Sessions found are given their full timeout again from now_ms. Returns 0 or an error
 * with text in errbuf.
 */
int zk_db_recover(struct zk_db *db, const char *snap_dir, const char *log_dir, char *errbuf,
		  size_t errlen);

/* Writes a snapshot of the current state at last_zxid (tree pre-order, then sessions).
 * Runs in a forked child, so it uses no threads and no event loop. */
int zk_db_snapshot(const struct zk_db *db, const char *snap_dir, char *errbuf, size_t errlen);

#endif
