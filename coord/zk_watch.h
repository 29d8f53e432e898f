/*
 * zk_watch — ZooKeeper's WatchManager: which watcher (an opaque pointer: the server's
 * connection) watches which path, and with which kind of watch; triggering an event returns
 * the watchers to notify, removing one-shot watches. Persistent and persistent-recursive
 * watches (addWatch, ZooKeeper 3.6) stay until removed. Loop thread only.
 */
#ifndef SAMSA_ZK_WATCH_H
#define SAMSA_ZK_WATCH_H

#include "zk_types.h"

#include <stdbool.h>
#include <stddef.h>

enum zk_watch_kind {
	ZK_WATCH_DATA,			/* getData, or exists on an existing node */
	ZK_WATCH_EXIST,			/* exists on a missing node */
	ZK_WATCH_CHILD,			/* getChildren */
	ZK_WATCH_PERSISTENT,		/* addWatch PERSISTENT */
	ZK_WATCH_PERSISTENT_RECURSIVE,	/* addWatch PERSISTENT_RECURSIVE */
};

struct zk_watch;

struct zk_watch *zk_watch_new(void);
void zk_watch_free(struct zk_watch *w); /* NULL ok */
/* Adds a watch (the same one twice is kept once). 0 or ERR_NOMEM. */
int zk_watch_add(struct zk_watch *w, const char *path, enum zk_watch_kind kind, void *watcher);
/*
 * An event on path (ZooKeeper's DataTree triggers):
 *   CREATED, DATACHANGED: DATA and EXIST watches on path fire;
 *   DELETED: DATA, EXIST and CHILD watches on path fire;
 *   CHILDCHANGED (called for the parent of a created/deleted node): CHILD watches on path;
 *   one-shot watches are removed as they fire; PERSISTENT on path fire for all four types;
 *   PERSISTENT_RECURSIVE on path or any ancestor fire for all but CHILDCHANGED.
 * Each watcher is called at most once per trigger. cb must not call back into zk_watch.
 */
int zk_watch_trigger(struct zk_watch *w, const char *path, enum zk_event_type type,
		     void (*cb)(void *watcher, enum zk_event_type type, const char *path, void *arg), void *arg);
/* Removes the watcher's watches on path whose kind is in kind_mask (1 << kind). */
bool zk_watch_remove(struct zk_watch *w, const char *path, int kind_mask, void *watcher);
bool zk_watch_has(const struct zk_watch *w, const char *path, int kind_mask, void *watcher);
/* Drops every watch of a watcher (its connection closed), through a per-watcher index. */
void zk_watch_remove_watcher(struct zk_watch *w, void *watcher);
size_t zk_watch_count(const struct zk_watch *w);	 /* watches */
size_t zk_watch_path_count(const struct zk_watch *w);	 /* paths with a watch */
size_t zk_watch_watcher_count(const struct zk_watch *w); /* watchers with a watch */

#endif
