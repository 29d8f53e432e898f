/*
 * kwprod — Produce requests and responses on the broker's side (see kwprod.h).
 */
#include "kwprod.h"

#include "buf.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

int kwprod_req_decode(struct rbuf *r, int16_t ver, struct kwprod_req *out)
{
	(void)ver; /* v3-8 share one request layout */
	memset(out, 0, sizeof(*out));
	/* a cut or NUL-holding id is not a failure: transactions are refused per batch */
	kwire_str_read(r, out->txn, sizeof(out->txn), &out->txn_null);
	rbuf_i16(r, &out->acks);
	rbuf_i32(r, &out->timeout_ms);
	/* name length + partition count; kwprod_req_free walks them all (parts NULL until decoded) */
	int rc;
	out->topics = kwire_array_read(r, 6, sizeof(*out->topics), false, &out->n, &rc);
	if (rc)
		return rc;
	for (int32_t ti = 0; ti < out->n; ti++) {
		struct kwprod_topic *t = &out->topics[ti];
		t->bad = kwire_str_read(r, t->name, sizeof(t->name), NULL) != 0;
		t->parts = kwire_array_read(r, 8, sizeof(*t->parts), false, &t->n, &rc); /* index + length */
		if (rc)
			return rc;
		int32_t np = t->n;
		for (int32_t pi = 0; pi < np; pi++) {
			struct kwprod_part *p = &t->parts[pi];
			rbuf_i32(r, &p->index);
			rbuf_bytes_i32(r, r->len, &p->records, &p->len);
			if (r->err)
				return ERR_PROTO;
		}
		out->nparts += (size_t)np;
	}
	return 0;
}

void kwprod_req_free(struct kwprod_req *q)
{
	if (!q)
		return;
	for (int32_t i = 0; q->topics && i < q->n; i++)
		free(q->topics[i].parts);
	free(q->topics);
	memset(q, 0, sizeof(*q));
}

int kwprod_req_encode(struct wbuf *w, int16_t ver, const struct kwprod_req *q)
{
	(void)ver;
	wbuf_str_i16(w, q->txn_null ? NULL : q->txn);
	wbuf_i16(w, q->acks);
	wbuf_i32(w, q->timeout_ms);
	wbuf_i32(w, q->n);
	for (int32_t ti = 0; ti < q->n; ti++) {
		const struct kwprod_topic *t = &q->topics[ti];
		wbuf_str_i16(w, t->name);
		wbuf_i32(w, t->n);
		for (int32_t pi = 0; pi < t->n; pi++) {
			wbuf_i32(w, t->parts[pi].index);
			wbuf_bytes_i32(w, t->parts[pi].len < 0 ? NULL : t->parts[pi].records, t->parts[pi].len);
		}
	}
	return w->err;
}

int kwprod_resp_encode(struct wbuf *w, int16_t ver, const struct kwprod_resp *m)
{
	wbuf_i32(w, m->n);
	for (int32_t ti = 0; ti < m->n; ti++) {
		const struct kwprod_tresp *t = &m->topics[ti];
		wbuf_str_i16(w, t->name);
		wbuf_i32(w, t->n);
		for (int32_t pi = 0; pi < t->n; pi++) {
			const struct kwprod_presp *p = &t->parts[pi];
			wbuf_i32(w, p->index);
			wbuf_i16(w, p->error);
			wbuf_i64(w, p->base_offset);
			wbuf_i64(w, p->log_append_time);
			if (ver >= 5)
				wbuf_i64(w, p->log_start);
			if (ver >= 8) {
				wbuf_i32(w, 0); /* record_errors */
				wbuf_str_i16(w, p->msg);
			}
		}
	}
	wbuf_i32(w, m->throttle_ms);
	return w->err;
}
