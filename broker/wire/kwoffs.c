/*
 * kwoffs — ListOffsets requests and responses on the broker's side (see kwoffs.h).
 */
#include "kwoffs.h"

#include "buf.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

int kwoffs_req_decode(struct rbuf *r, int16_t ver, struct kwoffs_req *out)
{
	memset(out, 0, sizeof(*out));
	rbuf_i32(r, &out->replica_id);
	if (ver >= 2)
		rbuf_u8(r, (uint8_t *)&out->isolation_level);
	int rc;
	out->topics = kwire_array_read(r, 6, sizeof(*out->topics), false, &out->n, &rc);
	if (rc)
		return rc;
	/* a partition entry is at least index and timestamp (v0 and v4+ add 4 bytes) */
	for (int32_t ti = 0; ti < out->n; ti++) {
		struct kwoffs_topic *t = &out->topics[ti];
		t->bad = kwire_str_read(r, t->name, sizeof(t->name), NULL) != 0;
		t->parts = kwire_array_read(r, 12, sizeof(*t->parts), false, &t->n, &rc);
		if (rc)
			return rc;
		int32_t np = t->n;
		for (int32_t pi = 0; pi < np; pi++) {
			struct kwoffs_part *p = &t->parts[pi];
			p->current_leader_epoch = -1;
			p->max_num_offsets = 1;
			rbuf_i32(r, &p->index);
			if (ver >= 4)
				rbuf_i32(r, &p->current_leader_epoch);
			rbuf_i64(r, &p->timestamp);
			if (ver == 0)
				rbuf_i32(r, &p->max_num_offsets);
		}
		if (r->err)
			return ERR_PROTO;
	}
	return 0;
}

void kwoffs_req_free(struct kwoffs_req *q)
{
	if (!q)
		return;
	for (int32_t i = 0; q->topics && i < q->n; i++)
		free(q->topics[i].parts);
	free(q->topics);
	memset(q, 0, sizeof(*q));
}

int kwoffs_req_encode(struct wbuf *w, int16_t ver, const struct kwoffs_req *q)
{
	wbuf_i32(w, q->replica_id);
	if (ver >= 2)
		wbuf_u8(w, (uint8_t)q->isolation_level);
	wbuf_i32(w, q->n);
	for (int32_t ti = 0; ti < q->n; ti++) {
		const struct kwoffs_topic *t = &q->topics[ti];
		wbuf_str_i16(w, t->name);
		wbuf_i32(w, t->n);
		for (int32_t pi = 0; pi < t->n; pi++) {
			const struct kwoffs_part *p = &t->parts[pi];
			wbuf_i32(w, p->index);
			if (ver >= 4)
				wbuf_i32(w, p->current_leader_epoch);
			wbuf_i64(w, p->timestamp);
			if (ver == 0)
				wbuf_i32(w, p->max_num_offsets);
		}
	}
	return w->err;
}

int kwoffs_resp_encode(struct wbuf *w, int16_t ver, const struct kwoffs_resp *m)
{
	if (ver >= 2)
		wbuf_i32(w, m->throttle_ms);
	wbuf_i32(w, m->n);
	for (int32_t ti = 0; ti < m->n; ti++) {
		const struct kwoffs_tresp *t = &m->topics[ti];
		wbuf_str_i16(w, t->name);
		wbuf_i32(w, t->n);
		for (int32_t pi = 0; pi < t->n; pi++) {
			const struct kwoffs_presp *p = &t->parts[pi];
			wbuf_i32(w, p->index);
			wbuf_i16(w, p->error);
			if (ver == 0) {
				if (p->error || p->offset < 0 || p->v0_none) {
					wbuf_i32(w, 0);
				} else {
					wbuf_i32(w, 1);
					wbuf_i64(w, p->offset);
				}
			} else {
				wbuf_i64(w, p->timestamp);
				wbuf_i64(w, p->offset);
				if (ver >= 4)
					wbuf_i32(w, p->leader_epoch);
			}
		}
	}
	return w->err;
}
