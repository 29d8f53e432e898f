/*
 * zk_txnrec — TxnRecord encoding and decoding (see zk_txnrec.h).
 */
#include "zk_txnrec.h"

#include "buf.h"
#include "coordlog.pb-c.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

struct zk_txnrec {
	Samsa__Coordlog__TxnRecord *pb; /* owns the strings and bytes */
	struct zk_txn txn;
	struct zk_txn *ops;
	struct zk_acl *acls; /* every op's ACL entries, in one array */
};

/* ---- encoding ---- */

struct zk_txnrec_enc {
	Samsa__Coordlog__TxnOp *ops;
	Samsa__Coordlog__TxnOp **op_ptrs;
	Samsa__Coordlog__Acl *acls;
	Samsa__Coordlog__Acl **acl_ptrs;
	size_t nacl;
};

static void zk_txnrec_fill_op(struct zk_txnrec_enc *e, const struct zk_txn *t, Samsa__Coordlog__TxnOp *op)
{
	samsa__coordlog__txn_op__init(op);
	op->type = (int32_t)t->type;
	op->path = (char *)(t->path ? t->path : "");
	op->data_null = !t->data || t->data_len < 0;
	op->data.data = (uint8_t *)(op->data_null ? NULL : t->data);
	op->data.len = op->data_null ? 0 : (size_t)t->data_len;
	op->ephemeral_owner = t->ephemeral_owner;
	op->version = t->version;
	op->err = t->err;
	op->n_acl = t->n_acl > 0 ? (size_t)t->n_acl : 0;
	op->acl = e->acl_ptrs + e->nacl;
	for (size_t i = 0; i < op->n_acl; i++) {
		Samsa__Coordlog__Acl *a = &e->acls[e->nacl];
		samsa__coordlog__acl__init(a);
		a->perms = t->acl[i].perms;
		a->scheme = (char *)t->acl[i].scheme;
		a->id = (char *)t->acl[i].id;
		e->acl_ptrs[e->nacl++] = a;
	}
}

int zk_txnrec_encode(const struct zk_txn *txn, struct wbuf *w)
{
	Samsa__Coordlog__TxnRecord rec = SAMSA__COORDLOG__TXN_RECORD__INIT;
	Samsa__Coordlog__TxnOp single;
	struct zk_txnrec_enc e = { 0 };
	size_t total_acl = txn->n_acl > 0 ? (size_t)txn->n_acl : 0;
	int rc = 0;

	if (txn->type == ZK_TXN_MULTI) {
		if (txn->n_ops < 0 || txn->n_ops > ZK_TXNREC_MAX_OPS)
			return ERR_INVAL;
		for (int32_t i = 0; i < txn->n_ops; i++)
			total_acl += txn->ops[i].n_acl > 0 ? (size_t)txn->ops[i].n_acl : 0;
	}
	e.acls = calloc(total_acl ? total_acl : 1, sizeof(*e.acls));
	e.acl_ptrs = calloc(total_acl ? total_acl : 1, sizeof(*e.acl_ptrs));
	if (txn->type == ZK_TXN_MULTI && txn->n_ops > 0) {
		e.ops = calloc((size_t)txn->n_ops, sizeof(*e.ops));
		e.op_ptrs = calloc((size_t)txn->n_ops, sizeof(*e.op_ptrs));
	}
	if (!e.acls || !e.acl_ptrs || (txn->type == ZK_TXN_MULTI && txn->n_ops > 0 && (!e.ops || !e.op_ptrs))) {
		rc = ERR_NOMEM;
		goto out;
	}
	rec.version = ZK_TXNREC_VERSION;
	rec.zxid = txn->zxid;
	rec.time_ms = txn->time_ms;
	rec.session_id = txn->session_id;
	rec.cxid = txn->cxid;
	rec.timeout_ms = txn->timeout_ms;
	if (txn->passwd) {
		rec.passwd.data = (uint8_t *)txn->passwd;
		rec.passwd.len = ZK_PASSWD_LEN;
	}
	if (txn->type == ZK_TXN_MULTI) {
		/* the record's own op carries only the MULTI type */
		samsa__coordlog__txn_op__init(&single);
		single.type = ZK_TXN_MULTI;
		single.path = (char *)"";
		single.data_null = true;
		rec.op = &single;
		for (int32_t i = 0; i < txn->n_ops; i++) {
			zk_txnrec_fill_op(&e, &txn->ops[i], &e.ops[i]);
			e.op_ptrs[i] = &e.ops[i];
		}
		rec.n_ops = (size_t)txn->n_ops;
		rec.ops = e.op_ptrs;
	} else {
		zk_txnrec_fill_op(&e, txn, &single);
		rec.op = &single;
	}
	size_t need = samsa__coordlog__txn_record__get_packed_size(&rec);
	uint8_t *dst = wbuf_reserve(w, need);
	if (!dst) {
		rc = w->err;
		goto out;
	}
	samsa__coordlog__txn_record__pack(&rec, dst);
	w->len += need;
out:
	free(e.acls);
	free(e.acl_ptrs);
	free(e.ops);
	free(e.op_ptrs);
	return rc;
}

/* ---- decoding ---- */

static bool zk_txnrec_op_needs_path(int32_t type)
{
	return type == ZK_TXN_CREATE || type == ZK_TXN_DELETE || type == ZK_TXN_SETDATA ||
	       type == ZK_TXN_SETACL || type == ZK_TXN_CHECK;
}

static int zk_txnrec_take_op(struct zk_txnrec *r, const Samsa__Coordlog__TxnOp *op, struct zk_txn *t,
			     size_t *acl_at, bool in_multi)
{
	if (!op)
		return ERR_CORRUPT;
	if (op->type < ZK_TXN_CREATE || op->type > ZK_TXN_MULTI)
		return ERR_CORRUPT;
	if (in_multi && op->type > ZK_TXN_ERROR)
		return ERR_CORRUPT;
	t->type = (enum zk_txn_type)op->type;
	if (zk_txnrec_op_needs_path(op->type) && (!op->path || op->path[0] != '/'))
		return ERR_CORRUPT;
	t->path = op->path;
	t->data = op->data_null ? NULL : (op->data.data ? op->data.data : (const uint8_t *)"");
	t->data_len = op->data_null ? -1 : (int32_t)op->data.len;
	if (op->data.len > INT32_MAX)
		return ERR_CORRUPT;
	t->ephemeral_owner = op->ephemeral_owner;
	t->version = op->version;
	t->err = op->err;
	t->n_acl = (int32_t)op->n_acl;
	t->acl = r->acls + *acl_at;
	for (size_t i = 0; i < op->n_acl; i++) {
		struct zk_acl *a = &r->acls[(*acl_at)++];
		if (!op->acl[i]->scheme || !op->acl[i]->id)
			return ERR_CORRUPT;
		a->perms = op->acl[i]->perms;
		a->scheme = op->acl[i]->scheme;
		a->id = op->acl[i]->id;
	}
	return 0;
}

int zk_txnrec_decode(const uint8_t *p, size_t len, struct zk_txnrec **out)
{
	struct zk_txnrec *r;
	int rc = 0;
	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return ERR_NOMEM;
	r->pb = samsa__coordlog__txn_record__unpack(NULL, len, p);
	if (!r->pb) {
		free(r);
		return ERR_CORRUPT;
	}
	Samsa__Coordlog__TxnRecord *pb = r->pb;
	if (pb->version != ZK_TXNREC_VERSION || !pb->op || pb->n_ops > ZK_TXNREC_MAX_OPS) {
		rc = ERR_CORRUPT;
		goto fail;
	}
	size_t total_acl = pb->op->n_acl;
	for (size_t i = 0; i < pb->n_ops; i++) {
		if (!pb->ops[i]) {
			rc = ERR_CORRUPT;
			goto fail;
		}
		total_acl += pb->ops[i]->n_acl;
	}
	r->acls = calloc(total_acl ? total_acl : 1, sizeof(*r->acls));
	r->ops = calloc(pb->n_ops ? pb->n_ops : 1, sizeof(*r->ops));
	if (!r->acls || !r->ops) {
		rc = ERR_NOMEM;
		goto fail;
	}
	size_t acl_at = 0;
	struct zk_txn *t = &r->txn;
	rc = zk_txnrec_take_op(r, pb->op, t, &acl_at, false);
	if (rc)
		goto fail;
	t->zxid = pb->zxid;
	t->time_ms = pb->time_ms;
	t->session_id = pb->session_id;
	t->cxid = pb->cxid;
	t->timeout_ms = pb->timeout_ms;
	if (t->type == ZK_TXN_CREATESESSION) {
		if (pb->passwd.len != ZK_PASSWD_LEN || pb->timeout_ms <= 0) {
			rc = ERR_CORRUPT;
			goto fail;
		}
		t->passwd = pb->passwd.data;
	}
	if (t->type == ZK_TXN_MULTI) {
		for (size_t i = 0; i < pb->n_ops; i++) {
			rc = zk_txnrec_take_op(r, pb->ops[i], &r->ops[i], &acl_at, true);
			if (rc)
				goto fail;
			r->ops[i].zxid = t->zxid;
			r->ops[i].time_ms = t->time_ms;
			r->ops[i].session_id = t->session_id;
		}
		t->ops = r->ops;
		t->n_ops = (int32_t)pb->n_ops;
	} else if (pb->n_ops) {
		rc = ERR_CORRUPT;
		goto fail;
	}
	*out = r;
	return 0;
fail:
	zk_txnrec_free(r);
	return rc;
}

const struct zk_txn *zk_txnrec_txn(const struct zk_txnrec *r)
{
	return &r->txn;
}

void zk_txnrec_free(struct zk_txnrec *r)
{
	if (!r)
		return;
	if (r->pb)
		samsa__coordlog__txn_record__free_unpacked(r->pb, NULL);
	free(r->acls);
	free(r->ops);
	free(r);
}
