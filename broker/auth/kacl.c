/*
 * kacl — Kafka's ACL bindings, AclAuthorizer's rules and their znode JSON (see kacl.h). The store
 * is a flat array of resources, each with its entries; a decision scans it once (a broker holds
 * few resources with ACLs; an index by type and name would come if that stops being true).
 */
#include "kacl.h"

#include "err.h"
#include "json.h"
#include "jsonw.h"

#include <ctype.h>
#include <event2/buffer.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names ---- */

static const char *const kacl_rtype_names[] = { "UNKNOWN", "ANY", "TOPIC", "GROUP", "CLUSTER", "TRANSACTIONAL_ID",
						 "DELEGATION_TOKEN" };
static const char *const kacl_pattern_names[] = { "UNKNOWN", "ANY", "MATCH", "LITERAL", "PREFIXED" };
static const char *const kacl_op_names[] = { "UNKNOWN", "ANY", "ALL", "READ", "WRITE", "CREATE", "DELETE", "ALTER",
					     "DESCRIBE", "CLUSTER_ACTION", "DESCRIBE_CONFIGS", "ALTER_CONFIGS",
					     "IDEMPOTENT_WRITE" };
static const char *const kacl_perm_names[] = { "UNKNOWN", "ANY", "DENY", "ALLOW" };
/* SecurityUtils.resourceTypeName / operationName / permissionTypeName: the camel-case forms of
 * the znode paths and JSON */
static const char *const kacl_rtype_camel[] = { NULL, NULL, "Topic", "Group", "Cluster", "TransactionalId",
						"DelegationToken" };
static const char *const kacl_op_camel[] = { NULL, NULL, "All", "Read", "Write", "Create", "Delete", "Alter",
					     "Describe", "ClusterAction", "DescribeConfigs", "AlterConfigs",
					     "IdempotentWrite" };
static const char *const kacl_perm_camel[] = { NULL, NULL, "Deny", "Allow" };

#define KACL_N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *kacl_name(const char *const *t, int n, int v)
{
	return v >= 0 && v < n ? t[v] : t[0];
}

const char *kacl_rtype_name(int v)
{
	return kacl_name(kacl_rtype_names, KACL_N(kacl_rtype_names), v);
}
const char *kacl_pattern_name(int v)
{
	return kacl_name(kacl_pattern_names, KACL_N(kacl_pattern_names), v);
}
const char *kacl_op_name(int v)
{
	return kacl_name(kacl_op_names, KACL_N(kacl_op_names), v);
}
const char *kacl_perm_name(int v)
{
	return kacl_name(kacl_perm_names, KACL_N(kacl_perm_names), v);
}

/* a equals b ignoring case and underscores ("DescribeConfigs" == "DESCRIBE_CONFIGS") */
static bool kacl_name_eq(const char *a, const char *b)
{
	for (;;) {
		while (*a == '_')
			a++;
		while (*b == '_')
			b++;
		if (!*a || !*b)
			return !*a && !*b;
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
		a++;
		b++;
	}
}

static int kacl_parse(const char *const *t, int n, const char *s)
{
	if (!s)
		return 0;
	for (int i = 1; i < n; i++)
		if (kacl_name_eq(s, t[i]))
			return i;
	return 0;
}

int kacl_rtype_parse(const char *s)
{
	return kacl_parse(kacl_rtype_names, KACL_N(kacl_rtype_names), s);
}
int kacl_pattern_parse(const char *s)
{
	return kacl_parse(kacl_pattern_names, KACL_N(kacl_pattern_names), s);
}
int kacl_op_parse(const char *s)
{
	return kacl_parse(kacl_op_names, KACL_N(kacl_op_names), s);
}
int kacl_perm_parse(const char *s)
{
	return kacl_parse(kacl_perm_names, KACL_N(kacl_perm_names), s);
}

static bool kacl_concrete_type(int t)
{
	return t >= KACL_RT_TOPIC && t <= KACL_RT_DELEGATION_TOKEN;
}

/* "Type:name", both non-empty (KafkaPrincipal's string form) */
static bool kacl_principal_ok(const char *p)
{
	const char *c = strchr(p, ':');
	return c && c != p && c[1];
}

bool kacl_valid(const struct kacl_resource *r, const struct kacl_entry *e, char *eb, size_t el)
{
	if (!kacl_concrete_type(r->rtype))
		return err_set(eb, el, ERR_INVAL, "resource type %s is not a concrete type", kacl_rtype_name(r->rtype)), false;
	if (r->pattern != KACL_PT_LITERAL && r->pattern != KACL_PT_PREFIXED)
		return err_set(eb, el, ERR_INVAL, "pattern type %s is not LITERAL or PREFIXED", kacl_pattern_name(r->pattern)),
		       false;
	if (!r->name || !r->name[0] || strlen(r->name) > KACL_MAX_NAME)
		return err_set(eb, el, ERR_INVAL, "resource name must be 1 .. %d bytes", KACL_MAX_NAME), false;
	if (r->rtype == KACL_RT_CLUSTER && strcmp(r->name, KACL_CLUSTER_NAME))
		return err_set(eb, el, ERR_INVAL, "the cluster resource is named %s", KACL_CLUSTER_NAME), false;
	if (!kacl_principal_ok(e->principal))
		return err_set(eb, el, ERR_INVAL, "principal '%s' is not of the form Type:name", e->principal), false;
	if (!e->host[0])
		return err_set(eb, el, ERR_INVAL, "empty host"), false;
	if (e->op < KACL_OP_ALL || e->op > KACL_OP_IDEMPOTENT_WRITE)
		return err_set(eb, el, ERR_INVAL, "operation %s cannot be bound", kacl_op_name(e->op)), false;
	if (e->perm != KACL_PERM_ALLOW && e->perm != KACL_PERM_DENY)
		return err_set(eb, el, ERR_INVAL, "permission %s cannot be bound", kacl_perm_name(e->perm)), false;
	return true;
}

/* ---- the store ---- */

struct kacl_res {
	int8_t rtype, pattern;
	char *name;
	struct kacl_entry *e;
	size_t n;
};

struct kacl {
	struct kacl_res *res;
	size_t n_res, cap_res;
	char **supers;
	size_t n_supers;
	bool allow_if_none;
};

struct kacl *kacl_new(void)
{
	return calloc(1, sizeof(struct kacl));
}

static void kacl_supers_free(char **s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i]);
	free(s);
}

void kacl_clear(struct kacl *acl)
{
	for (size_t i = 0; i < acl->n_res; i++) {
		free(acl->res[i].name);
		free(acl->res[i].e);
	}
	acl->n_res = 0;
}

void kacl_free(struct kacl *acl)
{
	if (!acl)
		return;
	kacl_clear(acl);
	free(acl->res);
	kacl_supers_free(acl->supers, acl->n_supers);
	free(acl);
}

int kacl_set_super_users(struct kacl *acl, const char *list, char *eb, size_t el)
{
	char **s = NULL;
	size_t n = 0;
	int rc = 0;
	for (const char *p = list ? list : ""; *p;) {
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *a = p, *b = p + len;
		while (a < b && isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		p = end ? end + 1 : p + len;
		if (a == b)
			continue;
		char *one = strndup(a, (size_t)(b - a));
		char **ns = one ? realloc(s, (n + 1) * sizeof(*s)) : NULL;
		if (!ns) {
			free(one);
			rc = err_set(eb, el, ERR_NOMEM, "super.users: out of memory");
			goto fail;
		}
		s = ns;
		s[n++] = one;
		if (!kacl_principal_ok(one)) {
			rc = err_set(eb, el, ERR_INVAL, "super.users: '%s' is not a principal of the form User:name", one);
			goto fail;
		}
	}
	kacl_supers_free(acl->supers, acl->n_supers);
	acl->supers = s;
	acl->n_supers = n;
	return 0;
fail:
	kacl_supers_free(s, n);
	return rc;
}

void kacl_set_allow_if_none(struct kacl *acl, bool allow)
{
	acl->allow_if_none = allow;
}

static struct kacl_res *kacl_find(const struct kacl *acl, const struct kacl_resource *r)
{
	for (size_t i = 0; i < acl->n_res; i++) {
		struct kacl_res *x = &acl->res[i];
		if (x->rtype == r->rtype && x->pattern == r->pattern && !strcmp(x->name, r->name))
			return x;
	}
	return NULL;
}

int kacl_set(struct kacl *acl, const struct kacl_resource *r, const struct kacl_entry *e, size_t n)
{
	if ((r->pattern != KACL_PT_LITERAL && r->pattern != KACL_PT_PREFIXED) || !r->name)
		return ERR_INVAL;
	struct kacl_res *x = kacl_find(acl, r);
	if (n == 0) {
		if (x) {
			free(x->name);
			free(x->e);
			*x = acl->res[--acl->n_res];
		}
		return 0;
	}
	struct kacl_entry *copy = malloc(n * sizeof(*copy));
	if (!copy)
		return ERR_NOMEM;
	memcpy(copy, e, n * sizeof(*copy));
	if (x) {
		free(x->e);
		x->e = copy;
		x->n = n;
		return 0;
	}
	if (acl->n_res == acl->cap_res) {
		size_t ncap = acl->cap_res ? acl->cap_res * 2 : 16;
		struct kacl_res *nr = realloc(acl->res, ncap * sizeof(*nr));
		if (!nr) {
			free(copy);
			return ERR_NOMEM;
		}
		acl->res = nr;
		acl->cap_res = ncap;
	}
	char *name = strdup(r->name);
	if (!name) {
		free(copy);
		return ERR_NOMEM;
	}
	acl->res[acl->n_res++] = (struct kacl_res){ r->rtype, r->pattern, name, copy, n };
	return 0;
}

const struct kacl_entry *kacl_get(const struct kacl *acl, const struct kacl_resource *r, size_t *n)
{
	const struct kacl_res *x = kacl_find(acl, r);
	*n = x ? x->n : 0;
	return x ? x->e : NULL;
}

size_t kacl_count(const struct kacl *acl)
{
	size_t n = 0;
	for (size_t i = 0; i < acl->n_res; i++)
		n += acl->res[i].n;
	return n;
}

bool kacl_is_super(const struct kacl *acl, const char *principal)
{
	for (size_t i = 0; i < acl->n_supers; i++)
		if (!strcmp(acl->supers[i], principal))
			return true;
	return false;
}

/* resource x applies to (rtype, name): its own LITERAL, the wildcard LITERAL, a PREFIXED prefix */
static bool kacl_applies(const struct kacl_res *x, int rtype, const char *name)
{
	if (x->rtype != rtype)
		return false;
	if (x->pattern == KACL_PT_LITERAL)
		return !strcmp(x->name, name) || !strcmp(x->name, KACL_WILDCARD);
	return x->pattern == KACL_PT_PREFIXED && !strncmp(x->name, name, strlen(x->name));
}

static bool kacl_entry_hits(const struct kacl_entry *e, const char *principal, const char *host, int perm)
{
	return e->perm == perm && (!strcmp(e->principal, principal) || !strcmp(e->principal, "User:*")) &&
	       (!strcmp(e->host, host) || !strcmp(e->host, KACL_WILDCARD));
}

/* the operations whose ALLOW also allows op (AclAuthorizer's implied operations) */
static bool kacl_allows_op(int bound, int op)
{
	if (bound == op || bound == KACL_OP_ALL)
		return true;
	if (op == KACL_OP_DESCRIBE)
		return bound == KACL_OP_READ || bound == KACL_OP_WRITE || bound == KACL_OP_DELETE ||
		       bound == KACL_OP_ALTER;
	if (op == KACL_OP_DESCRIBE_CONFIGS)
		return bound == KACL_OP_ALTER_CONFIGS;
	return false;
}

bool kacl_authorize(const struct kacl *acl, const char *principal, const char *host, int rtype, const char *name,
		    int op)
{
	if (kacl_is_super(acl, principal))
		return true;
	bool any = false, allowed = false;
	for (size_t i = 0; i < acl->n_res; i++) {
		const struct kacl_res *x = &acl->res[i];
		if (!kacl_applies(x, rtype, name))
			continue;
		any |= x->n > 0;
		for (size_t j = 0; j < x->n; j++) {
			const struct kacl_entry *e = &x->e[j];
			if (kacl_entry_hits(e, principal, host, KACL_PERM_DENY) &&
			    (e->op == op || e->op == KACL_OP_ALL))
				return false; /* DENY wins */
			if (kacl_entry_hits(e, principal, host, KACL_PERM_ALLOW) && kacl_allows_op(e->op, op))
				allowed = true;
		}
	}
	return any ? allowed : acl->allow_if_none;
}

/* ---- filters ---- */

bool kacl_filter_match(const struct kacl_filter *f, const struct kacl_resource *r, const struct kacl_entry *e)
{
	if (f->rtype != KACL_RT_ANY && f->rtype != r->rtype)
		return false;
	switch (f->pattern) {
	case KACL_PT_ANY:
		if (f->name && strcmp(f->name, r->name))
			return false;
		break;
	case KACL_PT_MATCH:
		if (f->name) {
			struct kacl_res x = { r->rtype, r->pattern, (char *)r->name, NULL, 0 };
			if (!kacl_applies(&x, r->rtype, f->name))
				return false;
		}
		break;
	default:
		if (f->pattern != r->pattern || (f->name && strcmp(f->name, r->name)))
			return false;
	}
	if (f->principal && strcmp(f->principal, e->principal))
		return false;
	if (f->host && strcmp(f->host, e->host))
		return false;
	if (f->op != KACL_OP_ANY && f->op != e->op)
		return false;
	return f->perm == KACL_PERM_ANY || f->perm == e->perm;
}

int kacl_each(const struct kacl *acl, const struct kacl_filter *f, kacl_visit_fn fn, void *arg)
{
	for (size_t i = 0; i < acl->n_res; i++) {
		const struct kacl_res *x = &acl->res[i];
		struct kacl_resource r = { x->rtype, x->pattern, x->name };
		for (size_t j = 0; j < x->n; j++) {
			if (f && !kacl_filter_match(f, &r, &x->e[j]))
				continue;
			int rc = fn(arg, &r, &x->e[j]);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* ---- the ZooKeeper form ---- */

const char *kacl_zk_type_name(int rtype)
{
	return kacl_concrete_type(rtype) ? kacl_rtype_camel[rtype] : NULL;
}

int kacl_zk_type(const char *folder)
{
	int t = kacl_rtype_parse(folder);
	return kacl_concrete_type(t) ? t : KACL_RT_UNKNOWN;
}

const char *kacl_zk_root(int pattern)
{
	return pattern == KACL_PT_PREFIXED ? "/kafka-acl-extended/prefixed" : "/kafka-acl";
}

const char *kacl_zk_changes(int pattern)
{
	return pattern == KACL_PT_PREFIXED ? "/kafka-acl-extended-changes" : "/kafka-acl-changes";
}

int kacl_zk_path(const struct kacl_resource *r, char *buf, size_t n)
{
	const char *t = kacl_zk_type_name(r->rtype);
	if (!t || !r->name || (r->pattern != KACL_PT_LITERAL && r->pattern != KACL_PT_PREFIXED))
		return ERR_INVAL;
	int w = snprintf(buf, n, "%s/%s/%s", kacl_zk_root(r->pattern), t, r->name);
	return w < 0 || (size_t)w >= n ? ERR_TOOBIG : 0;
}

/* the evbuffer's text as a malloc'd string */
static int kacl_take(struct evbuffer *b, int rc, char **out)
{
	*out = NULL;
	size_t len = evbuffer_get_length(b);
	char *s = rc ? NULL : malloc(len + 1);
	if (!rc && !s)
		rc = ERR_NOMEM;
	if (!rc) {
		evbuffer_remove(b, s, len);
		s[len] = '\0';
		*out = s;
	}
	evbuffer_free(b);
	return rc;
}

int kacl_zk_encode(const struct kacl_entry *e, size_t n, char **out)
{
	*out = NULL;
	for (size_t i = 0; i < n; i++)
		if (e[i].op < KACL_OP_ALL || e[i].op > KACL_OP_IDEMPOTENT_WRITE ||
		    (e[i].perm != KACL_PERM_ALLOW && e[i].perm != KACL_PERM_DENY))
			return ERR_INVAL;
	struct evbuffer *b = evbuffer_new();
	if (!b)
		return ERR_NOMEM;
	struct jsonw w;
	jsonw_init(&w, b);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "version");
	jsonw_int(&w, 1);
	jsonw_key(&w, "acls");
	jsonw_arr_begin(&w);
	for (size_t i = 0; i < n; i++) {
		jsonw_obj_begin(&w);
		jsonw_key(&w, "principal");
		jsonw_str(&w, e[i].principal);
		jsonw_key(&w, "permissionType");
		jsonw_str(&w, kacl_perm_camel[e[i].perm]);
		jsonw_key(&w, "operation");
		jsonw_str(&w, kacl_op_camel[e[i].op]);
		jsonw_key(&w, "host");
		jsonw_str(&w, e[i].host);
		jsonw_obj_end(&w);
	}
	jsonw_arr_end(&w);
	jsonw_obj_end(&w);
	return kacl_take(b, jsonw_finish(&w), out);
}

/* a string member without NUL of at most max bytes, copied into dst */
static int kacl_zk_str(const struct json_value *obj, const char *key, char *dst, size_t max, size_t i, char *eb,
		       size_t el)
{
	size_t len = 0;
	const char *s = json_string(json_get(obj, key), &len);
	if (!s || strlen(s) != len || len > max)
		return err_set(eb, el, ERR_CORRUPT, "acl znode: entry %zu: \"%s\" is not a string of at most %zu bytes", i,
			       key, max);
	memcpy(dst, s, len + 1);
	return 0;
}

int kacl_zk_decode(const char *buf, size_t len, struct kacl_entry **out, size_t *n, char *eb, size_t el)
{
	struct json_doc *doc = NULL;
	struct kacl_entry *e = NULL;
	char jeb[160], tmp[64];
	*out = NULL;
	*n = 0;
	int rc = json_parse(buf ? buf : "", buf ? len : 0, &doc, jeb, sizeof(jeb));
	if (rc)
		return err_set(eb, el, rc == ERR_NOMEM ? ERR_NOMEM : ERR_CORRUPT, "acl znode: %s", jeb);
	const struct json_value *root = json_root(doc), *acls = json_get(root, "acls");
	int64_t version;
	if (json_type(root) != JSON_OBJECT || !json_int64(json_get(root, "version"), &version) || version != 1) {
		rc = err_set(eb, el, ERR_CORRUPT, "acl znode: not an object of version 1");
		goto out;
	}
	if (json_type(acls) != JSON_ARRAY || json_len(acls) > KACL_MAX_ENTRIES) {
		rc = err_set(eb, el, ERR_CORRUPT, "acl znode: \"acls\" is not an array of at most %d entries",
			     KACL_MAX_ENTRIES);
		goto out;
	}
	size_t cnt = json_len(acls);
	e = calloc(cnt ? cnt : 1, sizeof(*e));
	if (!e) {
		rc = err_set(eb, el, ERR_NOMEM, "acl znode: out of memory");
		goto out;
	}
	for (size_t i = 0; i < cnt; i++) {
		const struct json_value *a = json_at(acls, i);
		struct kacl_entry *x = &e[i];
		if ((rc = kacl_zk_str(a, "principal", x->principal, KACL_MAX_PRINCIPAL, i, eb, el)) ||
		    (rc = kacl_zk_str(a, "host", x->host, KACL_MAX_HOST, i, eb, el)))
			goto out;
		if (!kacl_principal_ok(x->principal)) {
			rc = err_set(eb, el, ERR_CORRUPT, "acl znode: entry %zu: principal is not Type:name", i);
			goto out;
		}
		if (!x->host[0]) {
			rc = err_set(eb, el, ERR_CORRUPT, "acl znode: entry %zu: empty host", i);
			goto out;
		}
		if ((rc = kacl_zk_str(a, "operation", tmp, sizeof(tmp) - 1, i, eb, el)))
			goto out;
		x->op = (int8_t)kacl_op_parse(tmp);
		if ((rc = kacl_zk_str(a, "permissionType", tmp, sizeof(tmp) - 1, i, eb, el)))
			goto out;
		x->perm = (int8_t)kacl_perm_parse(tmp);
		if (x->op < KACL_OP_ALL || (x->perm != KACL_PERM_ALLOW && x->perm != KACL_PERM_DENY)) {
			rc = err_set(eb, el, ERR_CORRUPT, "acl znode: entry %zu: no such operation or permission type", i);
			goto out;
		}
	}
	*out = e;
	*n = cnt;
	e = NULL;
out:
	free(e);
	json_free(doc);
	return rc;
}

int kacl_zk_change_decode(int pattern, const char *buf, size_t len, struct kacl_resource *r, char *name, size_t n,
			  char *eb, size_t el)
{
	char tmp[32];
	memset(r, 0, sizeof(*r));
	if (n)
		name[0] = '\0';
	if (pattern != KACL_PT_PREFIXED) {
		/* LiteralAclChangeStore: "<Type>:<name>", split at the first ':' */
		const char *c = buf ? memchr(buf, ':', len) : NULL;
		if (!c || (size_t)(c - buf) >= sizeof(tmp) || memchr(buf, '\0', len))
			return err_set(eb, el, ERR_CORRUPT, "acl change: not Type:name");
		size_t tl = (size_t)(c - buf), nl = len - tl - 1;
		memcpy(tmp, buf, tl);
		tmp[tl] = '\0';
		r->rtype = (int8_t)kacl_zk_type(tmp);
		if (!r->rtype || nl == 0 || nl > KACL_MAX_NAME || nl >= n)
			return err_set(eb, el, ERR_CORRUPT, "acl change: no such resource type or a bad name");
		memcpy(name, c + 1, nl);
		name[nl] = '\0';
		r->pattern = KACL_PT_LITERAL;
		r->name = name;
		return 0;
	}
	struct json_doc *doc = NULL;
	char jeb[160];
	int rc = json_parse(buf ? buf : "", buf ? len : 0, &doc, jeb, sizeof(jeb));
	if (rc)
		return err_set(eb, el, rc == ERR_NOMEM ? ERR_NOMEM : ERR_CORRUPT, "acl change: %s", jeb);
	const struct json_value *root = json_root(doc);
	size_t tl = 0, nl = 0, pl = 0;
	const char *t = json_string(json_get(root, "resourceType"), &tl);
	const char *nm = json_string(json_get(root, "name"), &nl);
	const char *pt = json_string(json_get(root, "patternType"), &pl);
	int rt = t && strlen(t) == tl ? kacl_zk_type(t) : 0;
	int pp = pt && strlen(pt) == pl ? kacl_pattern_parse(pt) : 0;
	if (!rt || (pp != KACL_PT_LITERAL && pp != KACL_PT_PREFIXED) || !nm || strlen(nm) != nl || nl == 0 ||
	    nl > KACL_MAX_NAME || nl >= n) {
		rc = err_set(eb, el, ERR_CORRUPT, "acl change: needs resourceType, name and patternType");
	} else {
		memcpy(name, nm, nl + 1);
		r->rtype = (int8_t)rt;
		r->pattern = (int8_t)pp;
		r->name = name;
	}
	json_free(doc);
	return rc;
}

int kacl_zk_change_encode(const struct kacl_resource *r, char **out)
{
	*out = NULL;
	const char *t = kacl_zk_type_name(r->rtype);
	if (!t || !r->name || (r->pattern != KACL_PT_LITERAL && r->pattern != KACL_PT_PREFIXED))
		return ERR_INVAL;
	struct evbuffer *b = evbuffer_new();
	if (!b)
		return ERR_NOMEM;
	if (r->pattern == KACL_PT_LITERAL) {
		/* the Java enum's toString, as LiteralAclChangeStore writes it */
		int rc = evbuffer_add_printf(b, "%s:%s", kacl_rtype_name(r->rtype), r->name) < 0 ? ERR_NOMEM : 0;
		return kacl_take(b, rc, out);
	}
	struct jsonw w;
	jsonw_init(&w, b);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "version");
	jsonw_int(&w, 1);
	jsonw_key(&w, "resourceType");
	jsonw_str(&w, kacl_rtype_name(r->rtype));
	jsonw_key(&w, "name");
	jsonw_str(&w, r->name);
	jsonw_key(&w, "patternType");
	jsonw_str(&w, kacl_pattern_name(r->pattern));
	jsonw_obj_end(&w);
	return kacl_take(b, jsonw_finish(&w), out);
}
