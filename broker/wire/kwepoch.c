/*
 * kwepoch — OffsetForLeaderEpoch requests and responses on the broker's side (see kwepoch.h).
 */
#include "kwepoch.h"

#include "buf.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

int kwepoch_req_decode(struct rbuf *r, int16_t ver, struct kwepoch_req *out)
{
	memset(out, 0, sizeof(*out));
	out->replica_id = -1;
	if (ver >= 3)
		rbuf_i32(r, &out->replica_id);
	/* a topic is at least an empty name and a count */
	int rc;
	out->topics = kwire_array_read(r, 6, sizeof(*out->topics), false, &out->n, &rc);
	if (rc)
		return rc;
	for (int32_t ti = 0; ti < out->n; ti++) {
		struct kwepoch_topic *t = &out->topics[ti];
		t->bad = kwire_str_read(r, t->name, sizeof(t->name), NULL) != 0;
		t->parts = kwire_array_read(r, ver >= 2 ? 12 : 8, sizeof(*t->parts), false, &t->n, &rc);
		if (rc)
			return rc;
		for (int32_t pi = 0; pi < t->n; pi++) {
			struct kwepoch_part *p = &t->parts[pi];
			p->current_leader_epoch = -1;
			rbuf_i32(r, &p->index);
			if (ver >= 2)
				rbuf_i32(r, &p->current_leader_epoch);
			rbuf_i32(r, &p->leader_epoch);
		}
		if (r->err)
			return ERR_PROTO;
	}
	return 0;
}

void kwepoch_req_free(struct kwepoch_req *q)
{
	if (!q)
		return;
	for (int32_t i = 0; q->topics && i < q->n; i++)
		free(q->topics[i].parts);
	free(q->topics);
	memset(q, 0, sizeof(*q));
}

int kwepoch_req_encode(struct wbuf *w, int16_t ver, const struct kwepoch_req *q)
{
	if (ver >= 3)
		wbuf_i32(w, q->replica_id);
	wbuf_i32(w, q->n);
	for (int32_t ti = 0; ti < q->n; ti++) {
		const struct kwepoch_topic *t = &q->topics[ti];
		wbuf_str_i16(w, t->name);
		wbuf_i32(w, t->n);
		for (int32_t pi = 0; pi < t->n; pi++) {
			const struct kwepoch_part *p = &t->parts[pi];
			wbuf_i32(w, p->index);
			if (ver >= 2)
				wbuf_i32(w, p->current_leader_epoch);
			wbuf_i32(w, p->leader_epoch);
		}
	}
	return w->err;
}

int kwepoch_resp_encode(struct wbuf *w, int16_t ver, const struct kwepoch_resp *m)
{
	if (ver >= 2)
		wbuf_i32(w, m->throttle_ms);
	wbuf_i32(w, m->n);
	for (int32_t ti = 0; ti < m->n; ti++) {
		const struct kwepoch_tresp *t = &m->topics[ti];
		wbuf_str_i16(w, t->name);
		wbuf_i32(w, t->n);
		for (int32_t pi = 0; pi < t->n; pi++) {
			const struct kwepoch_presp *p = &t->parts[pi];
			wbuf_i16(w, p->error);
			wbuf_i32(w, p->index);
			if (ver >= 1)
				wbuf_i32(w, p->leader_epoch);
			wbuf_i64(w, p->end_offset);
		}
	}
	return w->err;
}
