/*
 * zk_tree — the data tree (see zk_tree.h).
 *
 * Invariants:
 * - every node is in the path hash exactly once and in its parent's sibling list; "/" has no
 *   parent; num_children is the length of the sibling list;
 * - a node whose owner is a session id (zk_owner_is_session: not 0, not ZK_CONTAINER_OWNER,
 *   not a TTL) is in that owner's ephemeral list, and only then;
 * - an ACL list is shared by reference count; the intern list holds each distinct list once;
 * - while a group is open (begin .. commit/rollback), every mutation appends one undo record,
 *   and rollback undoes them in reverse order; nodes deleted inside a group stay allocated
 *   until commit so that rollback can relink the very same node.
 */
#include "zk_tree.h"

#include "err.h"

#include <stdlib.h>
#include <string.h>

struct zk_aclref {
	struct zk_aclref *next; /* intern list */
	uint32_t refs;
	uint32_t hash;
	int32_t n;
	struct zk_acl acl[];	/* strings follow the array */
};

/* Links of an ephemeral node in its owner's list: allocated only for ephemerals. */
struct zk_ephlink {
	struct zk_node *prev, *next;
};

/*
 * One allocation per node: the struct, the path (NUL-terminated), then the data it was created
 * with ("inline", inline_cap bytes). Data set later lives there too when it fits and no group
 * is open; otherwise in its own allocation (zk_data_free knows which).
 */
struct zk_node {
	struct zk_node *hnext; /* hash chain */
	struct zk_node *parent;
	struct zk_node *first_child, *prev_sib, *next_sib;
	struct zk_ephlink *eph;
	struct zk_aclref *acl;
	uint8_t *data;
	int64_t czxid, mzxid, ctime, mtime, owner, pzxid;
	int32_t data_len; /* -1 = null */
	int32_t version, cversion, aversion, num_children;
	uint32_t hash;
	uint32_t path_len;
	uint32_t inline_cap;
	char path[];
};

static uint8_t *zk_inline(struct zk_node *n)
{
	return (uint8_t *)n->path + n->path_len + 1;
}

static void zk_data_free(struct zk_node *n, uint8_t *p)
{
	if (p && p != zk_inline(n))
		free(p);
}

struct zk_eph {
	struct zk_eph *next;
	int64_t owner;
	struct zk_node *head;
};

enum zk_undo_kind { ZK_UNDO_CREATE, ZK_UNDO_DELETE, ZK_UNDO_SETDATA, ZK_UNDO_SETACL };

struct zk_undo {
	enum zk_undo_kind kind;
	struct zk_node *node;
	int64_t parent_pzxid;
	int32_t parent_cversion;
	struct zk_node *prev_sib, *next_sib; /* DELETE: where it was */
	uint8_t *data;			     /* SETDATA: old data */
	int32_t data_len;
	int32_t version;
	int64_t mzxid, mtime;
	struct zk_aclref *acl; /* SETACL: old list */
};

struct zk_tree {
	struct zk_node **buckets;
	size_t nbuckets; /* power of two */
	size_t count;
	int64_t data_size;
	struct zk_node *root;
	struct zk_aclref *acls;
	struct zk_eph **eph;
	size_t neph;
	size_t eph_count;
	bool in_group;
	struct zk_undo *undo;
	size_t nundo, capundo;
};

/* ---- hashing ---- */

static uint32_t zk_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)s[i];
		h *= 16777619u;
	}
	return h;
}

static struct zk_node *zk_tree_lookup(const struct zk_tree *t, const char *path, size_t len, uint32_t h)
{
	for (struct zk_node *n = t->buckets[h & (t->nbuckets - 1)]; n; n = n->hnext)
		if (n->hash == h && n->path_len == len && !memcmp(n->path, path, len))
			return n;
	return NULL;
}

static int zk_tree_grow(struct zk_tree *t)
{
	size_t nb = t->nbuckets * 2;
	struct zk_node **b = calloc(nb, sizeof(*b));
	if (!b)
		return ERR_NOMEM;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct zk_node *n = t->buckets[i];
		while (n) {
			struct zk_node *next = n->hnext;
			size_t k = n->hash & (nb - 1);
			n->hnext = b[k];
			b[k] = n;
			n = next;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = nb;
	return 0;
}

static void zk_hash_insert(struct zk_tree *t, struct zk_node *n)
{
	size_t k = n->hash & (t->nbuckets - 1);
	n->hnext = t->buckets[k];
	t->buckets[k] = n;
	t->count++;
	t->data_size += n->path_len + (n->data_len > 0 ? n->data_len : 0);
}

static void zk_hash_remove(struct zk_tree *t, struct zk_node *n)
{
	struct zk_node **pp = &t->buckets[n->hash & (t->nbuckets - 1)];
	while (*pp && *pp != n)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = n->hnext;
	n->hnext = NULL;
	t->count--;
	t->data_size -= n->path_len + (n->data_len > 0 ? n->data_len : 0);
}

/* ---- ACL interning ---- */

static uint32_t zk_acl_hash(const struct zk_acl *acl, int32_t n)
{
	uint32_t h = (uint32_t)n * 2654435761u;
	for (int32_t i = 0; i < n; i++) {
		h ^= (uint32_t)acl[i].perms + 0x9e3779b9u + (h << 6) + (h >> 2);
		h ^= zk_hash(acl[i].scheme, strlen(acl[i].scheme));
		h ^= zk_hash(acl[i].id, strlen(acl[i].id)) * 31u;
	}
	return h;
}

static bool zk_acl_same(const struct zk_aclref *r, const struct zk_acl *acl, int32_t n)
{
	if (r->n != n)
		return false;
	for (int32_t i = 0; i < n; i++)
		if (r->acl[i].perms != acl[i].perms || strcmp(r->acl[i].scheme, acl[i].scheme) ||
		    strcmp(r->acl[i].id, acl[i].id))
			return false;
	return true;
}

/* A counted reference to the interned copy of acl[0..n). NULL on OOM. */
static struct zk_aclref *zk_acl_intern(struct zk_tree *t, const struct zk_acl *acl, int32_t n)
{
	if (n < 0)
		n = 0;
	for (int32_t i = 0; i < n; i++)
		if (!acl[i].scheme || !acl[i].id)
			return NULL;
	uint32_t h = zk_acl_hash(acl, n);
	for (struct zk_aclref *r = t->acls; r; r = r->next) {
		if (r->hash == h && zk_acl_same(r, acl, n)) {
			r->refs++;
			return r;
		}
	}
	size_t strs = 0;
	for (int32_t i = 0; i < n; i++)
		strs += strlen(acl[i].scheme) + strlen(acl[i].id) + 2;
	struct zk_aclref *r = malloc(sizeof(*r) + (size_t)n * sizeof(struct zk_acl) + strs);
	if (!r)
		return NULL;
	char *s = (char *)(r->acl + n);
	for (int32_t i = 0; i < n; i++) {
		size_t a = strlen(acl[i].scheme) + 1, b = strlen(acl[i].id) + 1;
		memcpy(s, acl[i].scheme, a);
		r->acl[i].scheme = s;
		s += a;
		memcpy(s, acl[i].id, b);
		r->acl[i].id = s;
		s += b;
		r->acl[i].perms = acl[i].perms;
	}
	r->n = n;
	r->hash = h;
	r->refs = 1;
	r->next = t->acls;
	t->acls = r;
	return r;
}

static void zk_acl_release(struct zk_tree *t, struct zk_aclref *r)
{
	if (!r || --r->refs)
		return;
	struct zk_aclref **pp = &t->acls;
	while (*pp && *pp != r)
		pp = &(*pp)->next;
	if (*pp)
		*pp = r->next;
	free(r);
}

/* ---- ephemeral index ---- */

static bool zk_is_session_owner(int64_t owner)
{
	return zk_owner_is_session(owner);
}

static struct zk_eph **zk_eph_slot(const struct zk_tree *t, int64_t owner)
{
	uint64_t h = (uint64_t)owner * 0x9e3779b97f4a7c15ULL;
	struct zk_eph **pp = &t->eph[(h >> 32) & (t->neph - 1)];
	while (*pp && (*pp)->owner != owner)
		pp = &(*pp)->next;
	return pp;
}

static int zk_eph_link(struct zk_tree *t, struct zk_node *n)
{
	if (!zk_is_session_owner(n->owner))
		return 0;
	struct zk_eph **pp = zk_eph_slot(t, n->owner);
	if (!*pp) {
		struct zk_eph *e = calloc(1, sizeof(*e));
		if (!e)
			return ERR_NOMEM;
		e->owner = n->owner;
		*pp = e;
	}
	if (!n->eph) {
		n->eph = calloc(1, sizeof(*n->eph));
		if (!n->eph)
			return ERR_NOMEM;
	}
	n->eph->prev = NULL;
	n->eph->next = (*pp)->head;
	if (n->eph->next)
		n->eph->next->eph->prev = n;
	(*pp)->head = n;
	t->eph_count++;
	return 0;
}

static void zk_eph_unlink(struct zk_tree *t, struct zk_node *n)
{
	if (!zk_is_session_owner(n->owner) || !n->eph)
		return;
	struct zk_eph **pp = zk_eph_slot(t, n->owner);
	if (!*pp)
		return;
	if (n->eph->prev)
		n->eph->prev->eph->next = n->eph->next;
	else
		(*pp)->head = n->eph->next;
	if (n->eph->next)
		n->eph->next->eph->prev = n->eph->prev;
	free(n->eph);
	n->eph = NULL;
	t->eph_count--;
	if (!(*pp)->head) {
		struct zk_eph *e = *pp;
		*pp = e->next;
		free(e);
	}
}

/* ---- nodes ---- */

/* A node with its path and data (data_len -1 = null, 0 = empty) in one allocation. */
static struct zk_node *zk_node_alloc(const char *path, size_t len, const uint8_t *data, int32_t data_len)
{
	size_t cap = data && data_len > 0 ? (size_t)data_len : 0;
	struct zk_node *n = malloc(offsetof(struct zk_node, path) + len + 1 + cap);
	if (!n)
		return NULL;
	memset(n, 0, offsetof(struct zk_node, path));
	memcpy(n->path, path, len);
	n->path[len] = '\0';
	n->path_len = (uint32_t)len;
	n->hash = zk_hash(path, len);
	n->inline_cap = (uint32_t)cap;
	n->data_len = data ? (data_len > 0 ? data_len : 0) : -1;
	if (cap) {
		memcpy(zk_inline(n), data, cap);
		n->data = zk_inline(n);
	}
	return n;
}

/*
 * Replaces a node's data. *old is the previous data pointer for the caller to release with
 * zk_data_free (or to keep for undo), NULL if nothing is to be released. The inline area is
 * reused only outside a group (inside one, the old bytes must survive for rollback).
 */
static int zk_node_set_data(struct zk_tree *t, struct zk_node *n, const uint8_t *data, int32_t len,
			    uint8_t **old)
{
	uint8_t *copy = NULL;
	if (!t->in_group && data && len > 0 && (uint32_t)len <= n->inline_cap) {
		*old = n->data == zk_inline(n) ? NULL : n->data;
		memmove(zk_inline(n), data, (size_t)len);
		n->data = zk_inline(n);
		n->data_len = len;
		return 0;
	}
	if (data && len > 0) {
		copy = malloc((size_t)len);
		if (!copy)
			return ERR_NOMEM;
		memcpy(copy, data, (size_t)len);
	} else if (data) {
		len = 0;
	} else {
		len = -1;
	}
	*old = n->data;
	n->data = copy;
	n->data_len = len;
	return 0;
}

static void zk_link_child(struct zk_node *parent, struct zk_node *n, struct zk_node *prev, struct zk_node *next)
{
	n->parent = parent;
	n->prev_sib = prev;
	n->next_sib = next;
	if (prev)
		prev->next_sib = n;
	else
		parent->first_child = n;
	if (next)
		next->prev_sib = n;
	parent->num_children++;
}

static void zk_unlink_child(struct zk_node *n)
{
	struct zk_node *p = n->parent;
	if (n->prev_sib)
		n->prev_sib->next_sib = n->next_sib;
	else
		p->first_child = n->next_sib;
	if (n->next_sib)
		n->next_sib->prev_sib = n->prev_sib;
	p->num_children--;
}

static void zk_node_free(struct zk_tree *t, struct zk_node *n)
{
	zk_acl_release(t, n->acl);
	zk_data_free(n, n->data);
	free(n->eph);
	free(n);
}

/* Parent node of a path, via its own lookup; NULL if the path has no parent or it is missing. */
static struct zk_node *zk_parent_of(const struct zk_tree *t, const char *path, size_t len)
{
	const char *slash = NULL;
	for (size_t i = len; i > 0; i--)
		if (path[i - 1] == '/') {
			slash = path + i - 1;
			break;
		}
	if (!slash || len < 2)
		return NULL;
	size_t plen = (size_t)(slash - path);
	if (plen == 0)
		return t->root;
	return zk_tree_lookup(t, path, plen, zk_hash(path, plen));
}

/* Room for one more undo record, so that a mutation can reserve before it changes anything. */
static int zk_undo_reserve(struct zk_tree *t)
{
	if (!t->in_group)
		return 0;
	if (t->nundo == t->capundo) {
		size_t cap = t->capundo ? t->capundo * 2 : 16;
		struct zk_undo *nu = realloc(t->undo, cap * sizeof(*nu));
		if (!nu)
			return ERR_NOMEM;
		t->undo = nu;
		t->capundo = cap;
	}
	return 0;
}

static int zk_undo_push(struct zk_tree *t, const struct zk_undo *u)
{
	if (!t->in_group)
		return 0;
	if (zk_undo_reserve(t))
		return ERR_NOMEM;
	t->undo[t->nundo++] = *u;
	return 0;
}

/* ---- public ---- */

bool zk_path_parent(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');
	if (!slash || !path[1])
		return false;
	size_t n = (size_t)(slash - path);
	if (n == 0)
		n = 1;
	if (n >= len)
		return false;
	memcpy(buf, path, n);
	buf[n] = '\0';
	return true;
}

static const struct zk_acl zk_open_acl[] = { { ZK_PERM_ALL, "world", "anyone" } };
static const struct zk_acl zk_read_acl[] = { { ZK_PERM_READ, "world", "anyone" } };

struct zk_tree *zk_tree_new(void)
{
	struct zk_tree *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->nbuckets = 1024;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	t->neph = 256;
	t->eph = calloc(t->neph, sizeof(*t->eph));
	t->root = zk_node_alloc("/", 1, (const uint8_t *)"", 0);
	if (!t->buckets || !t->eph || !t->root)
		goto fail;
	t->root->acl = zk_acl_intern(t, zk_open_acl, 1);
	if (!t->root->acl)
		goto fail;
	/* ZooKeeper's root holds empty, not null, data */
	zk_hash_insert(t, t->root);
	if (zk_tree_create(t, "/zookeeper", (const uint8_t *)"", 0, zk_open_acl, 1, 0, 0, 0) ||
	    zk_tree_create(t, "/zookeeper/quota", (const uint8_t *)"", 0, zk_open_acl, 1, 0, 0, 0) ||
	    zk_tree_create(t, "/zookeeper/config", (const uint8_t *)"", 0, zk_read_acl, 1, 0, 0, 0))
		goto fail;
	/* the built-ins were never created by a txn: as in ZooKeeper, their parents count no
	 * creates (so they report cversion -1 and -2) and /zookeeper/config reports aversion -1 */
	t->root->cversion = 0;
	struct zk_node *zk = zk_tree_lookup(t, "/zookeeper", 10, zk_hash("/zookeeper", 10));
	zk->cversion = 0;
	struct zk_node *cfg = zk_tree_lookup(t, "/zookeeper/config", 17, zk_hash("/zookeeper/config", 17));
	cfg->aversion = -1;
	return t;
fail:
	zk_tree_free(t);
	return NULL;
}

void zk_tree_free(struct zk_tree *t)
{
	if (!t)
		return;
	if (t->in_group)
		zk_tree_commit(t);
	for (size_t i = 0; t->buckets && i < t->nbuckets; i++) {
		struct zk_node *n = t->buckets[i];
		while (n) {
			struct zk_node *next = n->hnext;
			zk_node_free(t, n);
			n = next;
		}
	}
	if (t->root && !t->buckets)
		zk_node_free(t, t->root);
	for (size_t i = 0; t->eph && i < t->neph; i++) {
		struct zk_eph *e = t->eph[i];
		while (e) {
			struct zk_eph *next = e->next;
			free(e);
			e = next;
		}
	}
	while (t->acls) {
		struct zk_aclref *r = t->acls->next;
		free(t->acls);
		t->acls = r;
	}
	free(t->undo);
	free(t->eph);
	free(t->buckets);
	free(t);
}

const struct zk_node *zk_tree_get(const struct zk_tree *t, const char *path)
{
	size_t len = strlen(path);
	return zk_tree_lookup(t, path, len, zk_hash(path, len));
}

void zk_node_stat(const struct zk_node *n, struct zk_stat *st)
{
	st->czxid = n->czxid;
	st->mzxid = n->mzxid;
	st->ctime = n->ctime;
	st->mtime = n->mtime;
	st->version = n->version;
	/* ZooKeeper keeps the number of child creates and reports creates + deletes, which is
	 * creates * 2 - children (DataNode.copyStat); so built-ins start at -1 and -2 as there */
	st->cversion = n->cversion * 2 - n->num_children;
	st->aversion = n->aversion;
	/* containers and TTL nodes are marked internally; clients see 0 (getClientEphemeralOwner) */
	st->ephemeral_owner = zk_owner_is_session(n->owner) ? n->owner : 0;
	st->data_length = n->data_len > 0 ? n->data_len : 0;
	st->num_children = n->num_children;
	st->pzxid = n->pzxid;
}

const uint8_t *zk_node_data(const struct zk_node *n, int32_t *len)
{
	*len = n->data_len;
	if (n->data_len < 0)
		return NULL;
	return n->data ? n->data : (const uint8_t *)"";
}

const struct zk_acl *zk_node_acl(const struct zk_node *n, int32_t *count)
{
	*count = n->acl ? n->acl->n : 0;
	return n->acl ? n->acl->acl : NULL;
}

const char *zk_node_path(const struct zk_node *n)
{
	return n->path;
}

const char *zk_node_name(const struct zk_node *n)
{
	return n->path_len == 1 ? n->path + 1 : strrchr(n->path, '/') + 1;
}

int32_t zk_node_creates(const struct zk_node *n)
{
	return n->cversion;
}

int64_t zk_node_owner(const struct zk_node *n)
{
	return n->owner;
}

const struct zk_node *zk_node_first_child(const struct zk_node *n)
{
	return n->first_child;
}

const struct zk_node *zk_node_next_sibling(const struct zk_node *n)
{
	return n->next_sib;
}

/* The next node of a pre-order walk that stays inside the subtree of top. */
static const struct zk_node *zk_walk_next(const struct zk_node *n, const struct zk_node *top)
{
	if (n->first_child)
		return n->first_child;
	while (n && n != top) {
		if (n->next_sib)
			return n->next_sib;
		n = n->parent;
	}
	return NULL;
}

int64_t zk_tree_count_descendants(const struct zk_node *n)
{
	int64_t c = 0;
	for (const struct zk_node *x = zk_walk_next(n, n); x; x = zk_walk_next(x, n))
		c++;
	return c;
}

int zk_tree_create(struct zk_tree *t, const char *path, const uint8_t *data, int32_t data_len,
		   const struct zk_acl *acl, int32_t n_acl, int64_t owner, int64_t zxid, int64_t time_ms)
{
	size_t len = strlen(path);
	if (len < 2 || path[0] != '/' || len > UINT32_MAX / 2)
		return ERR_INVAL;
	uint32_t h = zk_hash(path, len);
	if (zk_tree_lookup(t, path, len, h))
		return ERR_EXISTS;
	struct zk_node *parent = zk_parent_of(t, path, len);
	if (!parent)
		return ERR_NOTFOUND;
	if (t->count >= t->nbuckets && zk_tree_grow(t))
		return ERR_NOMEM;
	struct zk_node *n = zk_node_alloc(path, len, data, data ? data_len : -1);
	if (!n)
		return ERR_NOMEM;
	n->acl = zk_acl_intern(t, acl, n_acl);
	if (!n->acl) {
		zk_node_free(t, n);
		return ERR_NOMEM;
	}
	n->czxid = n->mzxid = n->pzxid = zxid;
	n->ctime = n->mtime = time_ms;
	n->owner = owner;
	struct zk_undo u = { .kind = ZK_UNDO_CREATE, .node = n, .parent_pzxid = parent->pzxid,
			     .parent_cversion = parent->cversion };
	if (zk_undo_push(t, &u) || zk_eph_link(t, n)) {
		if (t->in_group && t->nundo && t->undo[t->nundo - 1].node == n)
			t->nundo--;
		zk_node_free(t, n);
		return ERR_NOMEM;
	}
	zk_hash_insert(t, n);
	zk_link_child(parent, n, NULL, parent->first_child);
	parent->cversion++;
	parent->pzxid = zxid;
	return 0;
}

int zk_tree_delete(struct zk_tree *t, const char *path, int64_t zxid)
{
	size_t len = strlen(path);
	struct zk_node *n = zk_tree_lookup(t, path, len, zk_hash(path, len));
	if (!n)
		return ERR_NOTFOUND;
	if (n == t->root)
		return ERR_INVAL;
	if (n->num_children)
		return ERR_BUSY;
	struct zk_node *parent = n->parent;
	struct zk_undo u = { .kind = ZK_UNDO_DELETE, .node = n, .parent_pzxid = parent->pzxid,
			     .parent_cversion = parent->cversion, .prev_sib = n->prev_sib,
			     .next_sib = n->next_sib };
	if (zk_undo_push(t, &u))
		return ERR_NOMEM;
	zk_hash_remove(t, n);
	zk_unlink_child(n);
	zk_eph_unlink(t, n);
	/* DataTree.deleteNode: the create counter stays, pzxid only moves forward */
	if (zxid > parent->pzxid)
		parent->pzxid = zxid;
	if (!t->in_group)
		zk_node_free(t, n);
	return 0;
}

int zk_tree_set_data(struct zk_tree *t, const char *path, const uint8_t *data, int32_t data_len,
		     int64_t zxid, int64_t time_ms)
{
	size_t len = strlen(path);
	struct zk_node *n = zk_tree_lookup(t, path, len, zk_hash(path, len));
	if (!n)
		return ERR_NOTFOUND;
	struct zk_undo u = { .kind = ZK_UNDO_SETDATA, .node = n, .data = n->data, .data_len = n->data_len,
			     .version = n->version, .mzxid = n->mzxid, .mtime = n->mtime };
	uint8_t *old;
	int32_t old_len = n->data_len;
	if (zk_undo_reserve(t) || zk_node_set_data(t, n, data, data ? data_len : -1, &old))
		return ERR_NOMEM;
	zk_undo_push(t, &u); /* cannot fail: reserved */
	t->data_size += (n->data_len > 0 ? n->data_len : 0) - (old_len > 0 ? old_len : 0);
	if (!t->in_group)
		zk_data_free(n, old);
	n->version++;
	n->mzxid = zxid;
	n->mtime = time_ms;
	return 0;
}

int zk_tree_set_acl(struct zk_tree *t, const char *path, const struct zk_acl *acl, int32_t n_acl)
{
	size_t len = strlen(path);
	struct zk_node *n = zk_tree_lookup(t, path, len, zk_hash(path, len));
	if (!n)
		return ERR_NOTFOUND;
	struct zk_aclref *r = zk_acl_intern(t, acl, n_acl);
	if (!r)
		return ERR_NOMEM;
	struct zk_undo u = { .kind = ZK_UNDO_SETACL, .node = n, .acl = n->acl, .version = n->aversion };
	if (zk_undo_push(t, &u)) {
		zk_acl_release(t, r);
		return ERR_NOMEM;
	}
	if (!t->in_group)
		zk_acl_release(t, n->acl);
	n->acl = r;
	n->aversion++;
	return 0;
}

void zk_tree_begin(struct zk_tree *t)
{
	t->in_group = true;
	t->nundo = 0;
}

void zk_tree_commit(struct zk_tree *t)
{
	for (size_t i = 0; i < t->nundo; i++) {
		struct zk_undo *u = &t->undo[i];
		switch (u->kind) {
		case ZK_UNDO_DELETE:
			zk_node_free(t, u->node);
			break;
		case ZK_UNDO_SETDATA:
			zk_data_free(u->node, u->data);
			break;
		case ZK_UNDO_SETACL:
			zk_acl_release(t, u->acl);
			break;
		case ZK_UNDO_CREATE:
			break;
		}
	}
	t->nundo = 0;
	t->in_group = false;
}

void zk_tree_rollback(struct zk_tree *t)
{
	while (t->nundo) {
		struct zk_undo *u = &t->undo[--t->nundo];
		struct zk_node *n = u->node;
		switch (u->kind) {
		case ZK_UNDO_CREATE:
			zk_hash_remove(t, n);
			zk_unlink_child(n);
			zk_eph_unlink(t, n);
			n->parent->cversion = u->parent_cversion;
			n->parent->pzxid = u->parent_pzxid;
			zk_node_free(t, n);
			break;
		case ZK_UNDO_DELETE:
			zk_hash_insert(t, n);
			zk_link_child(n->parent, n, u->prev_sib, u->next_sib);
			if (zk_eph_link(t, n))
				abort(); /* out of memory while undoing: the tree can no longer be trusted */
			n->parent->cversion = u->parent_cversion;
			n->parent->pzxid = u->parent_pzxid;
			break;
		case ZK_UNDO_SETDATA:
			t->data_size += (u->data_len > 0 ? u->data_len : 0) - (n->data_len > 0 ? n->data_len : 0);
			zk_data_free(n, n->data);
			n->data = u->data;
			n->data_len = u->data_len;
			n->version = u->version;
			n->mzxid = u->mzxid;
			n->mtime = u->mtime;
			break;
		case ZK_UNDO_SETACL:
			zk_acl_release(t, n->acl);
			n->acl = u->acl;
			n->aversion = u->version;
			break;
		}
	}
	t->in_group = false;
}

int zk_tree_ephemerals(const struct zk_tree *t, int64_t owner, int (*cb)(const char *path, void *arg),
		       void *arg)
{
	if (!zk_is_session_owner(owner))
		return 0;
	struct zk_eph **pp = zk_eph_slot(t, owner);
	if (!*pp)
		return 0;
	for (struct zk_node *n = (*pp)->head; n; n = n->eph->next) {
		int rc = cb(n->path, arg);
		if (rc)
			return rc;
	}
	return 0;
}

size_t zk_tree_ephemeral_count(const struct zk_tree *t)
{
	return t->eph_count;
}

bool zk_node_reapable(const struct zk_node *n, int64_t now_ms, bool ttl_enabled)
{
	if (n->num_children != 0)
		return false;
	if (n->owner == ZK_CONTAINER_OWNER)
		return n->cversion > 0;
	/* ContainerManager.getCandidates: elapsed = now - mtime, deleted once elapsed > ttl */
	if (ttl_enabled && zk_owner_is_ttl(n->owner)) {
		int64_t ttl = zk_owner_ttl(n->owner);
		return ttl != 0 && now_ms - n->mtime > ttl;
	}
	return false;
}

int zk_tree_reapable(const struct zk_tree *t, int64_t now_ms, bool ttl_enabled,
		     int (*cb)(const char *path, void *arg), void *arg)
{
	for (const struct zk_node *n = t->root; n; n = zk_walk_next(n, NULL)) {
		if (zk_node_reapable(n, now_ms, ttl_enabled)) {
			int rc = cb(n->path, arg);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int zk_tree_walk(const struct zk_tree *t, int (*cb)(const struct zk_node *n, void *arg), void *arg)
{
	for (const struct zk_node *n = t->root; n; n = zk_walk_next(n, NULL)) {
		int rc = cb(n, arg);
		if (rc)
			return rc;
	}
	return 0;
}

int zk_tree_load_node(struct zk_tree *t, const char *path, const uint8_t *data, int32_t data_len,
		      const struct zk_acl *acl, int32_t n_acl, const struct zk_stat *st)
{
	size_t len = strlen(path);
	struct zk_node *n = zk_tree_lookup(t, path, len, zk_hash(path, len));
	if (!n) {
		/* the parent was loaded first with its final cversion and pzxid: keep them */
		struct zk_node *parent = zk_parent_of(t, path, len);
		if (!parent)
			return ERR_NOTFOUND;
		int32_t cversion = parent->cversion;
		int64_t pzxid = parent->pzxid;
		int rc = zk_tree_create(t, path, data, data_len, acl, n_acl, 0, 0, 0);
		if (rc)
			return rc;
		parent->cversion = cversion;
		parent->pzxid = pzxid;
		n = zk_tree_lookup(t, path, len, zk_hash(path, len));
	} else {
		struct zk_aclref *r = zk_acl_intern(t, acl, n_acl);
		uint8_t *old;
		int32_t old_len = n->data_len;
		if (!r)
			return ERR_NOMEM;
		if (zk_node_set_data(t, n, data, data ? data_len : -1, &old)) {
			zk_acl_release(t, r);
			return ERR_NOMEM;
		}
		zk_data_free(n, old);
		t->data_size += (n->data_len > 0 ? n->data_len : 0) - (old_len > 0 ? old_len : 0);
		zk_acl_release(t, n->acl);
		n->acl = r;
		zk_eph_unlink(t, n);
	}
	n->czxid = st->czxid;
	n->mzxid = st->mzxid;
	n->ctime = st->ctime;
	n->mtime = st->mtime;
	n->version = st->version;
	n->cversion = st->cversion;
	n->aversion = st->aversion;
	n->pzxid = st->pzxid;
	n->owner = st->ephemeral_owner;
	return zk_eph_link(t, n);
}

size_t zk_tree_count(const struct zk_tree *t)
{
	return t->count;
}

int64_t zk_tree_data_size(const struct zk_tree *t)
{
	return t->data_size;
}
