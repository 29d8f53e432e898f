/*
 * kb_acl — the authorizer's coordinator side (see kb_acl.h). Reads: the two roots are listed
 * (types, then names) and each resource's znode read into the cache; a change notification
 * names one resource, which is read again (gone: removed). Writes: one struct kb_acl_op per
 * resource change, a small state machine READ -> WRITE -> NOTIFY -> done, back to READ when the
 * conditional write loses a race (bounded by KB_ACL_MAX_TRIES).
 */
#include "kb_acl.h"

#include "err.h"
#include "kacl.h"
#include "kb_broker.h"
#include "kb_zk.h"
#include "kerr.h"
#include "log.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const ACL_MOD = "acl";

#define ZP(rel, buf) kb_zk_path(b->zk, (rel), (buf), sizeof(buf))
#define KB_ACL_MAX_TRIES 50
/* Kafka deletes change notifications older than this (ZkNodeChangeNotificationListener). */
#define KB_ACL_CHANGE_EXPIRY_MS (15 * 60 * 1000)

struct kb_acl {
	struct kacl *acl;
	int loading;	      /* reads of the full load still out */
	bool loaded;	      /* a full load has completed */
	int64_t change_seq[2]; /* newest notification handled: [0] literal, [1] extended */
};

static struct kb_acl *kb_acl_of(const struct broker *b)
{
	return b->acl;
}

int kb_acl_start(struct broker *b, char *eb, size_t el)
{
	const struct kb_config *cfg = b->cfg;
	b->acl = NULL;
	if (!cfg->authorizer_class_name || !cfg->authorizer_class_name[0])
		return 0;
	struct kb_acl *a = calloc(1, sizeof(*a));
	if (!a || !(a->acl = kacl_new())) {
		free(a);
		return err_set(eb, el, ERR_NOMEM, "authorizer: out of memory");
	}
	a->change_seq[0] = a->change_seq[1] = -1;
	int rc = kacl_set_super_users(a->acl, cfg->super_users, eb, el);
	if (rc) {
		kacl_free(a->acl);
		free(a);
		return rc == ERR_INVAL ? ERR_CONFIG : rc;
	}
	kacl_set_allow_if_none(a->acl, cfg->allow_everyone_if_no_acl_found);
	b->acl = a;
	log_info(ACL_MOD, "authorizer %s on (super.users '%s', allow.everyone.if.no.acl.found %s)",
		 cfg->authorizer_class_name, cfg->super_users ? cfg->super_users : "",
		 cfg->allow_everyone_if_no_acl_found ? "true" : "false");
	return 0;
}

void kb_acl_stop(struct broker *b)
{
	struct kb_acl *a = kb_acl_of(b);
	if (!a)
		return;
	kacl_free(a->acl);
	free(a);
	b->acl = NULL;
}

bool kb_acl_on(const struct broker *b)
{
	return b->acl != NULL;
}

const struct kacl *kb_acl_store(const struct broker *b)
{
	const struct kb_acl *a = kb_acl_of(b);
	return a ? a->acl : NULL;
}

bool kb_acl_authorize(const struct broker *b, const char *principal, const char *host, int rtype, const char *name,
		      int op)
{
	const struct kb_acl *a = kb_acl_of(b);
	if (!a)
		return true;
	if (!a->loaded)
		return kacl_is_super(a->acl, principal);
	return kacl_authorize(a->acl, principal, host, rtype, name, op);
}

/* ---- loading ---- */

/* one resource's read: the znode's rel path and the resource it holds */
struct kb_acl_read {
	struct broker *b;
	bool full; /* part of a full load (counted in loading) */
	int8_t rtype, pattern;
	char name[KACL_MAX_NAME + 1];
};

static void kb_acl_load_done(struct broker *b, bool full)
{
	struct kb_acl *a = kb_acl_of(b);
	if (!full || !a)
		return;
	if (--a->loading == 0 && !a->loaded) {
		a->loaded = true;
		log_info(ACL_MOD, "ACLs loaded: %zu bindings", kacl_count(a->acl));
	}
}

static void kb_acl_resource_data(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct kb_acl_read *rd = (struct kb_acl_read *)(uintptr_t)data;
	struct broker *b = rd->b;
	struct kb_acl *a = kb_acl_of(b);
	(void)st;
	if (a && !b->stopping && (rc == ZOK || rc == ZNONODE)) {
		struct kacl_resource r = { rd->rtype, rd->pattern, rd->name };
		struct kacl_entry *e = NULL;
		size_t n = 0;
		char eb[200];
		if (rc == ZOK && kacl_zk_decode(v, (size_t)(vl > 0 ? vl : 0), &e, &n, eb, sizeof(eb)))
			log_warn(ACL_MOD, "ACLs of %s %s ignored: %s", kacl_rtype_name(r.rtype), r.name, eb);
		else if (kacl_set(a->acl, &r, e, n))
			log_error(ACL_MOD, "ACLs of %s %s: out of memory", kacl_rtype_name(r.rtype), r.name);
		free(e);
	}
	kb_acl_load_done(b, rd->full);
	free(rd);
}

static void kb_acl_read_resource(struct broker *b, bool full, int rtype, int pattern, const char *name)
{
	struct kb_acl *a = kb_acl_of(b);
	struct kb_acl_read *rd = calloc(1, sizeof(*rd));
	char rel[KACL_MAX_NAME + 128], full_path[KACL_MAX_NAME + 1200];
	struct kacl_resource r = { (int8_t)rtype, (int8_t)pattern, name };
	if (!rd || strlen(name) > KACL_MAX_NAME || kacl_zk_path(&r, rel, sizeof(rel))) {
		free(rd);
		return;
	}
	rd->b = b;
	rd->full = full;
	rd->rtype = (int8_t)rtype;
	rd->pattern = (int8_t)pattern;
	strcpy(rd->name, name);
	if (full)
		a->loading++;
	if (zoo_aget(kb_zk_handle(b->zk), ZP(rel, full_path), 0, kb_acl_resource_data, rd) != ZOK) {
		if (full)
			a->loading--;
		free(rd);
	}
}

struct kb_acl_list {
	struct broker *b;
	int8_t rtype, pattern; /* rtype 0: the root's children are types */
};

static void kb_acl_children(int rc, const struct String_vector *sv, const void *data)
{
	struct kb_acl_list *l = (struct kb_acl_list *)(uintptr_t)data;
	struct broker *b = l->b;
	struct kb_acl *a = kb_acl_of(b);
	if (a && !b->stopping && rc == ZOK) {
		for (int32_t i = 0; i < sv->count; i++) {
			if (l->rtype) {
				kb_acl_read_resource(b, true, l->rtype, l->pattern, sv->data[i]);
				continue;
			}
			int t = kacl_zk_type(sv->data[i]);
			struct kb_acl_list *sub = t ? malloc(sizeof(*sub)) : NULL;
			char rel[256], full[1300];
			if (!sub)
				continue;
			*sub = (struct kb_acl_list){ b, (int8_t)t, l->pattern };
			snprintf(rel, sizeof(rel), "%s/%s", kacl_zk_root(l->pattern), kacl_zk_type_name(t));
			a->loading++;
			if (zoo_aget_children(kb_zk_handle(b->zk), ZP(rel, full), 0, kb_acl_children, sub) != ZOK) {
				a->loading--;
				free(sub);
			}
		}
		kb_zk_pump(b->zk);
	}
	kb_acl_load_done(b, true);
	free(l);
}

/* ---- change notifications ---- */

struct kb_acl_change {
	struct broker *b;
	int pattern;
	char node[64];
};

static void kb_acl_change_data(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct kb_acl_change *c = (struct kb_acl_change *)(uintptr_t)data;
	struct broker *b = c->b;
	if (rc == ZOK && kb_acl_of(b) && !b->stopping) {
		struct kacl_resource r;
		char name[KACL_MAX_NAME + 1], eb[160];
		if (kacl_zk_change_decode(c->pattern, v, (size_t)(vl > 0 ? vl : 0), &r, name, sizeof(name), eb,
					  sizeof(eb)) == 0) {
			log_debug(ACL_MOD, "ACL change %s: %s %s %s", c->node, kacl_rtype_name(r.rtype),
				  kacl_pattern_name(r.pattern), r.name);
			kb_acl_read_resource(b, false, r.rtype, r.pattern, r.name);
		} else {
			log_warn(ACL_MOD, "ACL change %s ignored: %s", c->node, eb);
		}
		if (st && kb_now_ms() - st->ctime > KB_ACL_CHANGE_EXPIRY_MS) {
			char rel[128], full[1200];
			snprintf(rel, sizeof(rel), "%s/%s", kacl_zk_changes(c->pattern), c->node);
			zoo_adelete(kb_zk_handle(b->zk), ZP(rel, full), -1, kb_zk_ignore_void, NULL);
		}
		kb_zk_pump(b->zk);
	}
	free(c);
}

struct kb_acl_chlist {
	struct broker *b;
	int pattern;
};

static void kb_acl_changes_children(int rc, const struct String_vector *sv, const void *data)
{
	struct kb_acl_chlist *l = (struct kb_acl_chlist *)(uintptr_t)data;
	struct broker *b = l->b;
	struct kb_acl *a = kb_acl_of(b);
	int k = l->pattern == KACL_PT_PREFIXED;
	const size_t pl = strlen(KACL_ZK_CHANGE_PREFIX);
	if (a && !b->stopping && rc == ZOK) {
		/* in sequence order: the children come in no particular order */
		int64_t newest = a->change_seq[k];
		for (;;) {
			int64_t best = -1;
			int32_t bi = -1;
			for (int32_t i = 0; i < sv->count; i++) {
				char *end;
				if (strncmp(sv->data[i], KACL_ZK_CHANGE_PREFIX, pl))
					continue;
				long long seq = strtoll(sv->data[i] + pl, &end, 10);
				if (*end || seq <= newest || seq < 0)
					continue;
				if (bi < 0 || seq < best) {
					best = seq;
					bi = i;
				}
			}
			if (bi < 0)
				break;
			newest = best;
			/* before the first full load, the load reads everything anyway */
			struct kb_acl_change *c = calloc(1, sizeof(*c));
			if (!c)
				break;
			char rel[128], full[1200];
			c->b = b;
			c->pattern = l->pattern;
			snprintf(c->node, sizeof(c->node), "%s", sv->data[bi]);
			snprintf(rel, sizeof(rel), "%s/%s", kacl_zk_changes(l->pattern), c->node);
			if (zoo_aget(kb_zk_handle(b->zk), ZP(rel, full), 0, kb_acl_change_data, c) != ZOK)
				free(c);
		}
		a->change_seq[k] = newest;
		kb_zk_pump(b->zk);
	}
	free(l);
}

static void kb_acl_follow_changes(struct broker *b, int pattern)
{
	struct kb_acl_chlist *l = malloc(sizeof(*l));
	char full[1200];
	if (!l)
		return;
	*l = (struct kb_acl_chlist){ b, pattern };
	if (zoo_aget_children(kb_zk_handle(b->zk), ZP(kacl_zk_changes(pattern), full), 1, kb_acl_changes_children, l) !=
	    ZOK)
		free(l);
	kb_zk_pump(b->zk);
}

void kb_acl_session(struct broker *b)
{
	struct kb_acl *a = kb_acl_of(b);
	if (!a)
		return;
	static const char *const paths[] = { "/kafka-acl", "/kafka-acl-changes", "/kafka-acl-extended",
					     "/kafka-acl-extended/prefixed", "/kafka-acl-extended-changes" };
	char full[1200];
	zhandle_t *zh = kb_zk_handle(b->zk);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		zoo_acreate(zh, ZP(paths[i], full), NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, kb_zk_ignore_string, NULL);
	/* the folder of each type (Kafka makes them with a resource's first write; made here, in
	 * the session's order, before any write of this broker needs them) */
	for (int k = 0; k < 2; k++)
		for (int t = KACL_RT_TOPIC; t <= KACL_RT_DELEGATION_TOKEN; t++) {
			char rel[128];
			snprintf(rel, sizeof(rel), "%s/%s", kacl_zk_root(k ? KACL_PT_PREFIXED : KACL_PT_LITERAL),
				 kacl_zk_type_name(t));
			zoo_acreate(zh, ZP(rel, full), NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, kb_zk_ignore_string, NULL);
		}
	/* the notifications seen so far are covered by the full load that follows */
	for (int k = 0; k < 2; k++) {
		int pattern = k ? KACL_PT_PREFIXED : KACL_PT_LITERAL;
		kb_acl_follow_changes(b, pattern);
		struct kb_acl_list *l = malloc(sizeof(*l));
		if (!l)
			continue;
		*l = (struct kb_acl_list){ b, 0, (int8_t)pattern };
		a->loading++;
		if (zoo_aget_children(zh, ZP(kacl_zk_root(pattern), full), 0, kb_acl_children, l) != ZOK) {
			a->loading--;
			free(l);
		}
	}
	kb_zk_pump(b->zk);
}

bool kb_acl_watch(struct broker *b, const char *path)
{
	if (!strcmp(path, kacl_zk_changes(KACL_PT_LITERAL)))
		kb_acl_follow_changes(b, KACL_PT_LITERAL);
	else if (!strcmp(path, kacl_zk_changes(KACL_PT_PREFIXED)))
		kb_acl_follow_changes(b, KACL_PT_PREFIXED);
	else
		return false;
	return true;
}

/* ---- writes ---- */

/*
 * One resource change. READ: get the znode and its version (none: create). WRITE: set it at
 * that version, create it, or delete it when the new set is empty; a lost race (ZBADVERSION,
 * ZNODEEXISTS, ZNONODE) goes back to READ. NOTIFY: the change notification, then the cache and
 * the callback.
 */
struct kb_acl_op {
	struct broker *b;
	int8_t rtype, pattern;
	char name[KACL_MAX_NAME + 1];
	struct kacl_entry *add, *del, *now; /* now: the set written */
	size_t nadd, ndel, nnow;
	int tries;
	kb_admin_cb cb;
	void *ctx;
};

static void kb_acl_op_read(struct kb_acl_op *op);

static void kb_acl_op_finish(struct kb_acl_op *op, int16_t err, const char *msg)
{
	struct broker *b = op->b;
	if (!err && kb_acl_of(b)) {
		struct kacl_resource r = { op->rtype, op->pattern, op->name };
		if (kacl_set(kb_acl_of(b)->acl, &r, op->now, op->nnow))
			log_error(ACL_MOD, "ACL cache of %s %s: out of memory", kacl_rtype_name(r.rtype), r.name);
	}
	if (op->cb)
		op->cb(b, op->ctx, err, msg);
	free(op->add);
	free(op->del);
	free(op->now);
	free(op);
}

static int16_t kb_acl_zerr(int rc)
{
	return rc == ZOK ? KE_NONE : KE_UNKNOWN_SERVER_ERROR;
}

static void kb_acl_op_notified(int rc, const char *v, const void *data)
{
	struct kb_acl_op *op = (struct kb_acl_op *)(uintptr_t)data;
	(void)v;
	kb_acl_op_finish(op, kb_acl_zerr(rc), rc == ZOK ? NULL : zerror(rc));
}

static void kb_acl_op_notify(struct kb_acl_op *op)
{
	struct broker *b = op->b;
	struct kacl_resource r = { op->rtype, op->pattern, op->name };
	char *js = NULL, rel[128], full[1200];
	snprintf(rel, sizeof(rel), "%s/%s", kacl_zk_changes(op->pattern), KACL_ZK_CHANGE_PREFIX);
	int rc = kacl_zk_change_encode(&r, &js) ? ZSYSTEMERROR
		 : zoo_acreate(kb_zk_handle(b->zk), ZP(rel, full), js, (int)strlen(js), &ZOO_OPEN_ACL_UNSAFE,
			       ZOO_SEQUENCE, kb_acl_op_notified, op);
	free(js);
	if (rc != ZOK)
		kb_acl_op_finish(op, KE_UNKNOWN_SERVER_ERROR, zerror(rc));
	kb_zk_pump(b->zk);
}

/* a lost race: read again (bounded); anything else ends the op */
static void kb_acl_op_written(struct kb_acl_op *op, int rc)
{
	if (rc == ZOK) {
		kb_acl_op_notify(op);
	} else if ((rc == ZBADVERSION || rc == ZNODEEXISTS || rc == ZNONODE) && ++op->tries < KB_ACL_MAX_TRIES) {
		kb_acl_op_read(op);
	} else {
		log_warn(ACL_MOD, "writing the ACLs of %s %s failed: %s", kacl_rtype_name(op->rtype), op->name,
			 zerror(rc));
		kb_acl_op_finish(op, KE_UNKNOWN_SERVER_ERROR, zerror(rc));
	}
}

static void kb_acl_op_set_done(int rc, const struct Stat *st, const void *data)
{
	(void)st;
	kb_acl_op_written((struct kb_acl_op *)(uintptr_t)data, rc);
}

static void kb_acl_op_create_done(int rc, const char *v, const void *data)
{
	(void)v;
	kb_acl_op_written((struct kb_acl_op *)(uintptr_t)data, rc);
}

static void kb_acl_op_delete_done(int rc, const void *data)
{
	kb_acl_op_written((struct kb_acl_op *)(uintptr_t)data, rc);
}

static bool kb_acl_entry_in(const struct kacl_entry *e, const struct kacl_entry *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (e->op == set[i].op && e->perm == set[i].perm && !strcmp(e->principal, set[i].principal) &&
		    !strcmp(e->host, set[i].host))
			return true;
	return false;
}

static void kb_acl_op_data(int rc, const char *v, int vl, const struct Stat *st, const void *data)
{
	struct kb_acl_op *op = (struct kb_acl_op *)(uintptr_t)data;
	struct broker *b = op->b;
	struct kacl_entry *cur = NULL;
	size_t ncur = 0;
	char eb[200], rel[KACL_MAX_NAME + 128], full[KACL_MAX_NAME + 1200];
	if (b->stopping || (rc != ZOK && rc != ZNONODE)) {
		kb_acl_op_finish(op, KE_UNKNOWN_SERVER_ERROR, zerror(rc));
		return;
	}
	if (rc == ZOK && kacl_zk_decode(v, (size_t)(vl > 0 ? vl : 0), &cur, &ncur, eb, sizeof(eb))) {
		/* Kafka would fail the same way: a znode it cannot read is not overwritten */
		log_warn(ACL_MOD, "ACLs of %s %s not changed: %s", kacl_rtype_name(op->rtype), op->name, eb);
		kb_acl_op_finish(op, KE_UNKNOWN_SERVER_ERROR, eb);
		return;
	}
	free(op->now);
	op->now = malloc((ncur + op->nadd + 1) * sizeof(*op->now));
	if (!op->now) {
		free(cur);
		kb_acl_op_finish(op, KE_UNKNOWN_SERVER_ERROR, "out of memory");
		return;
	}
	op->nnow = 0;
	for (size_t i = 0; i < ncur; i++)
		if (!kb_acl_entry_in(&cur[i], op->del, op->ndel) && !kb_acl_entry_in(&cur[i], op->now, op->nnow))
			op->now[op->nnow++] = cur[i];
	for (size_t i = 0; i < op->nadd; i++)
		if (!kb_acl_entry_in(&op->add[i], op->now, op->nnow))
			op->now[op->nnow++] = op->add[i];
	free(cur);
	struct kacl_resource r = { op->rtype, op->pattern, op->name };
	if (kacl_zk_path(&r, rel, sizeof(rel))) {
		kb_acl_op_finish(op, KE_INVALID_REQUEST, "resource name too long");
		return;
	}
	zhandle_t *zh = kb_zk_handle(b->zk);
	int zrc;
	if (op->nnow == 0) {
		if (rc == ZNONODE) {
			kb_acl_op_notify(op);
			return;
		}
		zrc = zoo_adelete(zh, ZP(rel, full), st->version, kb_acl_op_delete_done, op);
	} else {
		char *js = NULL;
		if (kacl_zk_encode(op->now, op->nnow, &js)) {
			kb_acl_op_finish(op, KE_UNKNOWN_SERVER_ERROR, "out of memory");
			return;
		}
		if (rc == ZOK)
			zrc = zoo_aset(zh, ZP(rel, full), js, (int)strlen(js), st->version, kb_acl_op_set_done, op);
		else
			zrc = zoo_acreate(zh, ZP(rel, full), js, (int)strlen(js), &ZOO_OPEN_ACL_UNSAFE, 0,
					  kb_acl_op_create_done, op);
		free(js);
	}
	if (zrc != ZOK)
		kb_acl_op_finish(op, KE_UNKNOWN_SERVER_ERROR, zerror(zrc));
	kb_zk_pump(b->zk);
}

static void kb_acl_op_read(struct kb_acl_op *op)
{
	struct broker *b = op->b;
	struct kacl_resource r = { op->rtype, op->pattern, op->name };
	char rel[KACL_MAX_NAME + 128], full[KACL_MAX_NAME + 1200];
	int zrc = kacl_zk_path(&r, rel, sizeof(rel)) ? ZBADARGUMENTS
		  : zoo_aget(kb_zk_handle(b->zk), ZP(rel, full), 0, kb_acl_op_data, op);
	if (zrc != ZOK)
		kb_acl_op_finish(op, KE_UNKNOWN_SERVER_ERROR, zerror(zrc));
	kb_zk_pump(b->zk);
}

void kb_acl_update(struct broker *b, const struct kacl_resource *r, const struct kacl_entry *add, size_t nadd,
		   const struct kacl_entry *del, size_t ndel, kb_admin_cb cb, void *ctx)
{
	struct kb_acl_op *op = calloc(1, sizeof(*op));
	if (op) {
		op->add = malloc((nadd ? nadd : 1) * sizeof(*add));
		op->del = malloc((ndel ? ndel : 1) * sizeof(*del));
	}
	if (!op || !op->add || !op->del || strlen(r->name) > KACL_MAX_NAME) {
		if (op) {
			free(op->add);
			free(op->del);
		}
		free(op);
		if (cb)
			cb(b, ctx, KE_UNKNOWN_SERVER_ERROR, "out of memory");
		return;
	}
	op->b = b;
	op->rtype = r->rtype;
	op->pattern = r->pattern;
	strcpy(op->name, r->name);
	if (nadd)
		memcpy(op->add, add, nadd * sizeof(*add));
	if (ndel)
		memcpy(op->del, del, ndel * sizeof(*del));
	op->nadd = nadd;
	op->ndel = ndel;
	op->cb = cb;
	op->ctx = ctx;
	kb_acl_op_read(op);
}
