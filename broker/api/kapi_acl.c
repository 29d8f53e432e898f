/*
 * kapi_acl — principals, the authorization check and the ACL APIs (see kapi_acl.h).
 *
 * The ACL requests are decoded by kwacl and their responses encoded by it. CreateAcls and
 * DeleteAcls are decoded once, on arrival, into a struct their kwait keeps (w->priv) until they
 * are answered; the later passes read only it and the results the writes filled in.
 */
#include "kapi_acl.h"

#include "err.h"
#include "kacl.h"
#include "kapi.h"
#include "kb_acl.h"
#include "kb_broker.h"
#include "kconn.h"
#include "kerr.h"
#include "kout.h"
#include "kwacl.h"
#include "kwait.h"
#include "log.h"
#include "net.h"
#include "tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ACL_MOD = "kafka-api";

void kapi_acl_principal(const struct kreq *q, char *buf, size_t n)
{
	char subj[512];
	struct ssl_st *ssl = q->conn && q->conn->nc ? net_conn_ssl(q->conn->nc) : NULL;
	if (q->conn && q->conn->principal[0] && strcmp(q->conn->principal, "User:ANONYMOUS"))
		snprintf(buf, n, "%s", q->conn->principal); /* authenticated by SASL (ksauth) */
	else if (ssl && tls_peer_subject(ssl, subj, sizeof(subj)) && subj[0])
		snprintf(buf, n, "User:%s", subj);
	else
		snprintf(buf, n, "User:ANONYMOUS");
}

/* the peer's address without its port ("127.0.0.1", "::1") */
static void kapi_acl_host(const struct kreq *q, char *buf, size_t n)
{
	const char *p = q->conn && q->conn->nc ? net_conn_peer(q->conn->nc) : "";
	const char *c = strrchr(p, ':');
	size_t len = c ? (size_t)(c - p) : strlen(p);
	if (p[0] == '[' && len >= 2 && p[len - 1] == ']') {
		p++;
		len -= 2;
	}
	snprintf(buf, n, "%.*s", (int)len, p);
}

/* the brokers' own listener when it is PLAINTEXT (brokers come as User:ANONYMOUS there), and a
 * connection with none (a test's bufferevent pair). On an SSL inter-broker listener a broker
 * has its certificate's principal and is checked as Kafka checks it (a follower's Fetch needs
 * CLUSTER_ACTION: super.users usually lists the brokers). */
static bool kapi_acl_inter_broker(const struct broker *b, const struct kreq *q)
{
	return q->listener < 0 || (q->listener == b->cfg->inter_broker_listener &&
				   b->cfg->listener[q->listener].security == KB_SEC_PLAINTEXT);
}

bool kapi_acl_ok(struct broker *b, const struct kreq *q, int rtype, const char *name, int op)
{
	if (!kb_acl_on(b) || kapi_acl_inter_broker(b, q))
		return true;
	char principal[600], host[64];
	kapi_acl_principal(q, principal, sizeof(principal));
	kapi_acl_host(q, host, sizeof(host));
	bool ok = kb_acl_authorize(b, principal, host, rtype, name ? name : KACL_CLUSTER_NAME, op);
	if (!ok)
		log_info(ACL_MOD, "principal %s from %s denied %s on %s %s", principal, host, kacl_op_name(op),
			 kacl_rtype_name(rtype), name ? name : KACL_CLUSTER_NAME);
	return ok;
}

/* ---- DescribeAcls ---- */

struct kapi_acl_list {
	struct kwacl_binding *b;
	int32_t n, cap;
	int err;
};

static int kapi_acl_collect(void *arg, const struct kacl_resource *r, const struct kacl_entry *e)
{
	struct kapi_acl_list *l = arg;
	if (l->n == l->cap) {
		int32_t ncap = l->cap ? l->cap * 2 : 16;
		struct kwacl_binding *nb = realloc(l->b, (size_t)ncap * sizeof(*nb));
		if (!nb)
			return l->err = ERR_NOMEM;
		l->b = nb;
		l->cap = ncap;
	}
	l->b[l->n++] = (struct kwacl_binding){ r->rtype, r->name, r->pattern, e->principal, e->host, e->op, e->perm };
	return 0;
}

/* resources together: by type, pattern, name */
static int kapi_acl_cmp(const void *x, const void *y)
{
	const struct kwacl_binding *a = x, *b = y;
	if (a->rtype != b->rtype)
		return a->rtype - b->rtype;
	if (a->pattern != b->pattern)
		return a->pattern - b->pattern;
	return strcmp(a->name, b->name);
}

static struct kacl_filter kapi_acl_filter(const struct kwacl_binding *f)
{
	return (struct kacl_filter){ f->rtype, f->pattern, f->name, f->principal, f->host, f->op, f->perm };
}

/* a filter Kafka can read: no UNKNOWN value */
static bool kapi_acl_filter_ok(const struct kwacl_binding *f)
{
	return f->rtype > 0 && f->rtype <= KACL_RT_DELEGATION_TOKEN && f->pattern > 0 &&
	       f->pattern <= KACL_PT_PREFIXED && f->op > 0 && f->op <= KACL_OP_IDEMPOTENT_WRITE && f->perm > 0 &&
	       f->perm <= KACL_PERM_ALLOW;
}

int kapi_acl_describe(struct broker *b, struct kreq *q, struct kout *o)
{
	struct kwacl_req rq;
	int rc = kwacl_req_decode(&q->r, KWACL_API_DESCRIBE, q->ver, &rq);
	if (rc) {
		kwacl_req_free(&rq);
		return rc;
	}
	struct kwacl_result res = { KE_NONE, NULL };
	struct kapi_acl_list l = { 0 };
	if (!kb_acl_on(b)) {
		res = (struct kwacl_result){ KE_SECURITY_DISABLED, "No Authorizer is configured on the broker" };
	} else if (!kapi_acl_ok(b, q, KACL_RT_CLUSTER, NULL, KACL_OP_DESCRIBE)) {
		res = (struct kwacl_result){ KE_CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed." };
	} else if (!kapi_acl_filter_ok(&rq.b[0])) {
		res = (struct kwacl_result){ KE_INVALID_REQUEST, "The filter has an unknown value" };
	} else {
		struct kacl_filter f = kapi_acl_filter(&rq.b[0]);
		kacl_each(kb_acl_store(b), &f, kapi_acl_collect, &l);
		if (l.err)
			res = (struct kwacl_result){ KE_UNKNOWN_SERVER_ERROR, "out of memory" };
	}
	if (res.error)
		l.n = 0;
	/* v0 cannot tell a PREFIXED binding from a LITERAL one: only LITERAL ones go out */
	int32_t k = 0;
	for (int32_t i = 0; i < l.n; i++)
		if (q->ver >= 1 || l.b[i].pattern == KACL_PT_LITERAL)
			l.b[k++] = l.b[i];
	if (k > 1)
		qsort(l.b, (size_t)k, sizeof(*l.b), kapi_acl_cmp);
	kwacl_describe_resp_encode(&o->w, q->ver, 0, res, l.b, k);
	free(l.b);
	kwacl_req_free(&rq);
	return 0;
}

/* ---- CreateAcls, DeleteAcls ---- */

static void kapi_acl_entry(const struct kwacl_binding *x, struct kacl_entry *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->principal, sizeof(e->principal), "%s", x->principal ? x->principal : "");
	snprintf(e->host, sizeof(e->host), "%s", x->host ? x->host : "");
	e->op = x->op;
	e->perm = x->perm;
}

/* The shared start: on the first pass the request decoded into *rq (kept in w->priv), its
 * results allocated and the refusals of the whole request (no authorizer, no ALTER on the
 * cluster); later passes read nothing. 0 to go on, 1 to wait, 2 when every result is set and
 * nothing is to be written, < 0 malformed. */
static int kapi_acl_begin(struct broker *b, struct kreq *q, struct kwait *w, bool first, int16_t api,
			  struct kwacl_req *rq)
{
	if (!first)
		return w->pending ? 1 : 0;
	int rc = kwacl_req_decode(&q->r, api, q->ver, rq);
	if (rc)
		return rc;
	if (kwait_results(w, rq->n))
		return ERR_NOMEM;
	int16_t err = KE_NONE;
	const char *msg = NULL;
	if (!kb_acl_on(b)) {
		err = KE_SECURITY_DISABLED;
		msg = "No Authorizer is configured on the broker";
	} else if (!kapi_acl_ok(b, q, KACL_RT_CLUSTER, NULL, KACL_OP_ALTER)) {
		err = KE_CLUSTER_AUTHORIZATION_FAILED;
		msg = "Cluster authorization failed.";
	}
	if (!err)
		return 0;
	for (int32_t i = 0; i < rq->n; i++)
		kwait_set(w, i, err, "%s", msg);
	return 2;
}

static void kapi_acl_req_free(void *p)
{
	kwacl_req_free(p);
	free(p);
}

int kapi_acl_create(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first, bool final)
{
	(void)final;
	struct kwacl_req *rq = w->priv;
	if (first) {
		if (!(rq = calloc(1, sizeof(*rq))))
			return ERR_NOMEM;
		w->priv = rq;
		w->priv_free = kapi_acl_req_free;
	}
	int rc = kapi_acl_begin(b, q, w, first, KWACL_API_CREATE, rq);
	if (rc == 0 && first) {
		for (int32_t i = 0; i < rq->n; i++) {
			const struct kwacl_binding *x = &rq->b[i];
			struct kacl_resource r = { x->rtype, x->pattern, x->name };
			struct kacl_entry e;
			char why[200];
			kapi_acl_entry(x, &e);
			if (!kacl_valid(&r, &e, why, sizeof(why)) || strlen(x->principal) > KACL_MAX_PRINCIPAL ||
			    strlen(x->host) > KACL_MAX_HOST) {
				kwait_set(w, i, KE_INVALID_REQUEST, "Invalid ACL creation: %s", why);
				continue;
			}
			void *ctx;
			kb_admin_cb cb = kwait_slot(w, i, &ctx);
			if (!cb) {
				kwait_set(w, i, KE_UNKNOWN_SERVER_ERROR, "out of memory");
				continue;
			}
			kb_acl_update(b, &r, &e, 1, NULL, 0, cb, ctx);
		}
		rc = 1;
	}
	if (rc == 2)
		rc = 1; /* answered on the next pass */
	if (rc == 0) {
		struct kwacl_result *res = calloc((size_t)(rq->n ? rq->n : 1), sizeof(*res));
		if (!res) {
			rc = ERR_NOMEM;
		} else {
			for (int32_t i = 0; i < rq->n; i++)
				res[i] = (struct kwacl_result){ w->errs[i], w->msgs[i] };
			kwacl_create_resp_encode(&o->w, q->ver, 0, res, rq->n);
			free(res);
		}
	}
	return rc;
}

/* What each filter of a DeleteAcls matched when it arrived (kept in the kwait between passes):
 * the bindings, their strings owned here. */
struct kapi_acl_del {
	struct kwacl_req rq; /* the request, decoded on arrival */
	int32_t nf;
	struct kapi_acl_list *m; /* per filter */
	char **strs;
	size_t nstrs;
};

static void kapi_acl_del_free(void *p)
{
	struct kapi_acl_del *d = p;
	if (!d)
		return;
	kwacl_req_free(&d->rq);
	for (int32_t i = 0; i < d->nf; i++)
		free(d->m[i].b);
	for (size_t i = 0; i < d->nstrs; i++)
		free(d->strs[i]);
	free(d->strs);
	free(d->m);
	free(d);
}

static const char *kapi_acl_keep(struct kapi_acl_del *d, const char *s)
{
	char **ns = realloc(d->strs, (d->nstrs + 1) * sizeof(*ns));
	if (!ns)
		return NULL;
	d->strs = ns;
	return d->strs[d->nstrs++] = strdup(s);
}

int kapi_acl_delete(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first, bool final)
{
	(void)final;
	struct kapi_acl_del *d = w->priv;
	if (first) {
		if (!(d = calloc(1, sizeof(*d))))
			return ERR_NOMEM;
		w->priv = d;
		w->priv_free = kapi_acl_del_free;
	}
	int rc = kapi_acl_begin(b, q, w, first, KWACL_API_DELETE, &d->rq);
	if (rc < 0)
		return rc;
	const struct kwacl_req *rq = &d->rq;
	if (first) {
		if (!(d->m = calloc((size_t)(rq->n ? rq->n : 1), sizeof(*d->m))))
			return ERR_NOMEM;
		d->nf = rq->n;
	}
	if (rc == 0 && first) {
		for (int32_t i = 0; i < rq->n; i++) {
			if (!kapi_acl_filter_ok(&rq->b[i])) {
				kwait_set(w, i, KE_INVALID_REQUEST, "The filter has an unknown value");
				continue;
			}
			struct kacl_filter f = kapi_acl_filter(&rq->b[i]);
			struct kapi_acl_list *l = &d->m[i];
			kacl_each(kb_acl_store(b), &f, kapi_acl_collect, l);
			/* own the strings: the store changes before the answer */
			for (int32_t k = 0; k < l->n && !l->err; k++) {
				struct kwacl_binding *x = &l->b[k];
				if (!(x->name = kapi_acl_keep(d, x->name)) || !(x->principal = kapi_acl_keep(d, x->principal)) ||
				    !(x->host = kapi_acl_keep(d, x->host)))
					l->err = ERR_NOMEM;
			}
			if (l->err) {
				l->n = 0;
				kwait_set(w, i, KE_UNKNOWN_SERVER_ERROR, "out of memory");
				continue;
			}
			/* one write per matched binding: each removes its own entry, on its version */
			for (int32_t k = 0; k < l->n; k++) {
				struct kacl_resource r = { l->b[k].rtype, l->b[k].pattern, l->b[k].name };
				struct kacl_entry e;
				kapi_acl_entry(&l->b[k], &e);
				void *ctx;
				kb_admin_cb cb = kwait_slot(w, i, &ctx);
				if (!cb) {
					kwait_set(w, i, KE_UNKNOWN_SERVER_ERROR, "out of memory");
					break;
				}
				kb_acl_update(b, &r, NULL, 0, &e, 1, cb, ctx);
			}
		}
		rc = 1;
	}
	if (rc == 2)
		rc = 1;
	if (rc == 0) {
		struct kwacl_delete_result *res = calloc((size_t)(rq->n ? rq->n : 1), sizeof(*res));
		if (!res) {
			rc = ERR_NOMEM;
		} else {
			for (int32_t i = 0; i < rq->n; i++) {
				bool ok = w->errs[i] == KE_NONE && i < d->nf;
				res[i] = (struct kwacl_delete_result){ { w->errs[i], w->msgs[i] }, ok ? d->m[i].n : 0,
								       ok ? d->m[i].b : NULL };
			}
			kwacl_delete_resp_encode(&o->w, q->ver, 0, res, rq->n);
			free(res);
		}
	}
	return rc;
}
