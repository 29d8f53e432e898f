/*
 * kwmeta — Metadata requests and responses on the broker's side (see kwmeta.h).
 */
#include "kwmeta.h"

#include "buf.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

int kwmeta_req_decode(struct rbuf *r, int16_t ver, struct kwmeta_req *out)
{
	memset(out, 0, sizeof(*out));
	out->allow_auto = true;
	int32_t n = kwire_count_read(r, 2);
	if (n == -2)
		return ERR_PROTO;
	/* topics: v0 empty = all; v1+ null = all */
	out->all = n < 0 || (ver == 0 && n == 0);
	if (n > 0) {
		out->topics = calloc((size_t)n, sizeof(*out->topics));
		if (!out->topics)
			return ERR_NOMEM;
		out->n = n;
		for (int32_t i = 0; i < n; i++)
			out->topics[i].bad =
				kwire_str_read(r, out->topics[i].name, sizeof(out->topics[i].name), NULL) != 0;
	}
	if (ver >= 4)
		rbuf_bool(r, &out->allow_auto);
	if (ver >= 8) {
		rbuf_bool(r, &out->cluster_ops);
		rbuf_bool(r, &out->topic_ops);
	}
	return r->err ? ERR_PROTO : 0;
}

void kwmeta_req_free(struct kwmeta_req *q)
{
	if (!q)
		return;
	free(q->topics);
	memset(q, 0, sizeof(*q));
}

int kwmeta_req_encode(struct wbuf *w, int16_t ver, const struct kwmeta_req *q)
{
	if (q->all) {
		wbuf_i32(w, ver == 0 ? 0 : -1);
	} else {
		wbuf_i32(w, q->n);
		for (int32_t i = 0; i < q->n; i++)
			wbuf_str_i16(w, q->topics[i].name);
	}
	if (ver >= 4)
		wbuf_bool(w, q->allow_auto);
	if (ver >= 8) {
		wbuf_bool(w, q->cluster_ops);
		wbuf_bool(w, q->topic_ops);
	}
	return w->err;
}

static void kwmeta_ids(struct wbuf *w, const int32_t *v, int32_t n)
{
	wbuf_i32(w, n);
	for (int32_t i = 0; i < n; i++)
		wbuf_i32(w, v[i]);
}

static void kwmeta_topic_encode(struct wbuf *w, int16_t ver, const struct kwmeta_topic *t)
{
	wbuf_i16(w, t->error);
	wbuf_str_i16(w, t->name);
	if (ver >= 1)
		wbuf_bool(w, t->internal);
	wbuf_i32(w, t->nparts);
	for (int32_t i = 0; i < t->nparts; i++) {
		const struct kwmeta_part *p = &t->parts[i];
		wbuf_i16(w, p->error);
		wbuf_i32(w, p->id);
		wbuf_i32(w, p->leader);
		if (ver >= 7)
			wbuf_i32(w, p->leader_epoch);
		kwmeta_ids(w, p->replicas, p->nrep);
		kwmeta_ids(w, p->isr, p->nisr);
		if (ver >= 5)
			kwmeta_ids(w, p->offline, p->noff);
	}
	if (ver >= 8)
		wbuf_i32(w, INT32_MIN); /* topic_authorized_operations: not asked */
}

int kwmeta_resp_encode(struct wbuf *w, int16_t ver, const struct kwmeta_resp *m)
{
	if (ver >= 3)
		wbuf_i32(w, m->throttle_ms);
	wbuf_i32(w, m->nbrokers);
	for (int32_t i = 0; i < m->nbrokers; i++) {
		wbuf_i32(w, m->brokers[i].id);
		wbuf_str_i16(w, m->brokers[i].host);
		wbuf_i32(w, m->brokers[i].port);
		if (ver >= 1)
			wbuf_str_i16(w, m->brokers[i].rack);
	}
	if (ver >= 2)
		wbuf_str_i16(w, m->cluster_id);
	if (ver >= 1)
		wbuf_i32(w, m->controller_id);
	wbuf_i32(w, m->ntopics);
	for (int32_t i = 0; i < m->ntopics; i++)
		kwmeta_topic_encode(w, ver, &m->topics[i]);
	if (ver >= 8)
		wbuf_i32(w, INT32_MIN); /* cluster_authorized_operations: not asked */
	return w->err;
}
