/*
 * zk_tree — the coordinator's in-memory data tree (ZooKeeper's DataTree): znodes by full path,
 * their data, Stat and ACL, children, the ephemeral index per session, and undo for atomic
 * groups (multi). Pure data structure: no I/O, no clock — callers pass zxids and times.
 *
 * The server checks a request (existence, versions, ACLs) before calling a mutator, so a
 * mutator that finds its precondition broken returns a negative ERR_* and changes nothing.
 * Memory: one allocation per node holding its path; data in its own allocation; children as an
 * intrusive sibling list; ACL lists interned and reference-counted.
 */
#ifndef SAMSA_ZK_TREE_H
#define SAMSA_ZK_TREE_H

#include "zk_types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct zk_tree;
struct zk_node;

/* The parent of an absolute path into buf ("/a" -> "/", "/a/b" -> "/a"). false for "/", for a
 * path without '/', or when buf is too small. */
bool zk_path_parent(const char *path, char *buf, size_t len);

/* A tree holding "/", "/zookeeper", "/zookeeper/quota" and "/zookeeper/config". NULL on OOM. */
struct zk_tree *zk_tree_new(void);
void zk_tree_free(struct zk_tree *t); /* NULL ok */

const struct zk_node *zk_tree_get(const struct zk_tree *t, const char *path);
void zk_node_stat(const struct zk_node *n, struct zk_stat *out);
/* Data, or NULL with *len = -1 for null data (distinct from empty data, len 0). */
const uint8_t *zk_node_data(const struct zk_node *n, int32_t *len);
const struct zk_acl *zk_node_acl(const struct zk_node *n, int32_t *count);
const char *zk_node_path(const struct zk_node *n);
const char *zk_node_name(const struct zk_node *n); /* "" for "/" */
int64_t zk_node_owner(const struct zk_node *n);
/* Children ever created under n: the sequential-node counter (ZooKeeper's stored cversion;
 * the Stat reports creates * 2 - numChildren). Snapshots store this raw value in cversion. */
int32_t zk_node_creates(const struct zk_node *n);
const struct zk_node *zk_node_first_child(const struct zk_node *n);
const struct zk_node *zk_node_next_sibling(const struct zk_node *n);
/* Nodes below n, at any depth (getAllChildrenNumber). */
int64_t zk_tree_count_descendants(const struct zk_node *n);

/*
 * Mutators. create: czxid = mzxid = pzxid = zxid, ctime = mtime = time_ms, versions 0; the
 * parent's create counter + 1 and pzxid = zxid. owner: 0, a session id, ZK_CONTAINER_OWNER or a
 * TTL (zk_ttl_owner).
 * ERR_NOTFOUND (no parent), ERR_EXISTS, ERR_INVAL (bad path), ERR_NOMEM.
 */
int zk_tree_create(struct zk_tree *t, const char *path, const uint8_t *data, int32_t data_len,
		   const struct zk_acl *acl, int32_t n_acl, int64_t owner, int64_t zxid, int64_t time_ms);
/* delete: ERR_NOTFOUND, ERR_BUSY (has children), ERR_INVAL ("/"); parent pzxid = zxid. */
int zk_tree_delete(struct zk_tree *t, const char *path, int64_t zxid);
/* setData: version + 1, mzxid = zxid, mtime = time_ms. */
int zk_tree_set_data(struct zk_tree *t, const char *path, const uint8_t *data, int32_t data_len,
		     int64_t zxid, int64_t time_ms);
/* setACL: aversion + 1. */
int zk_tree_set_acl(struct zk_tree *t, const char *path, const struct zk_acl *acl, int32_t n_acl);

/* Atomic groups: mutations between begin and commit can be undone exactly by rollback. */
void zk_tree_begin(struct zk_tree *t);
void zk_tree_commit(struct zk_tree *t);
void zk_tree_rollback(struct zk_tree *t);

/* Every node owned by a session (from an index, not a scan); cb returning non-zero stops. */
int zk_tree_ephemerals(const struct zk_tree *t, int64_t owner, int (*cb)(const char *path, void *arg),
		       void *arg);
size_t zk_tree_ephemeral_count(const struct zk_tree *t);
/* Whether ZooKeeper's ContainerManager deletes n at now_ms (wall clock, as mtime): a container
 * with no children that has had some, or (ttl_enabled: extendedTypesEnabled) a TTL node with no
 * children whose mtime is more than its TTL ago. */
bool zk_node_reapable(const struct zk_node *n, int64_t now_ms, bool ttl_enabled);
/* Every node zk_node_reapable at now_ms; cb non-zero stops with that value. */
int zk_tree_reapable(const struct zk_tree *t, int64_t now_ms, bool ttl_enabled,
		     int (*cb)(const char *path, void *arg), void *arg);

/* Pre-order walk (parents first), every node including "/"; cb non-zero stops with that value. */
int zk_tree_walk(const struct zk_tree *t, int (*cb)(const struct zk_node *n, void *arg), void *arg);
/* Inserts a node with exactly this stat (snapshot loading; dataLength/numChildren derived;
 * st->cversion is the raw create counter, see zk_node_creates).
 * "/" and existing built-ins are overwritten. The parent must exist. */
int zk_tree_load_node(struct zk_tree *t, const char *path, const uint8_t *data, int32_t data_len,
		      const struct zk_acl *acl, int32_t n_acl, const struct zk_stat *st);

size_t zk_tree_count(const struct zk_tree *t);	   /* znode_count */
int64_t zk_tree_data_size(const struct zk_tree *t); /* approximate_data_size: paths + data */

#endif
