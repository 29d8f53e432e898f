/*
 * kwfetch — Fetch requests and responses on the broker's side (see kwfetch.h).
 */
#include "kwfetch.h"

#include "buf.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

/* The smallest partition entry of version ver, for the count check. */
static size_t kwfetch_part_size(int16_t ver)
{
	return 4 + (ver >= 9 ? 4 : 0) + 8 + (ver >= 5 ? 8 : 0) + 4;
}

static int kwfetch_topics_decode(struct rbuf *r, int16_t ver, struct kwfetch_req *out)
{
	int rc;
	out->topics = kwire_array_read(r, 6, sizeof(*out->topics), false, &out->n, &rc);
	if (rc)
		return rc;
	for (int32_t ti = 0; ti < out->n; ti++) {
		struct kwfetch_topic *t = &out->topics[ti];
		t->bad = kwire_str_read(r, t->name, sizeof(t->name), NULL) != 0;
		t->parts = kwire_array_read(r, kwfetch_part_size(ver), sizeof(*t->parts), false, &t->n, &rc);
		if (rc)
			return rc;
		int32_t np = t->n;
		for (int32_t pi = 0; pi < np; pi++) {
			struct kwfetch_part *p = &t->parts[pi];
			p->current_leader_epoch = -1;
			p->log_start = -1;
			rbuf_i32(r, &p->partition);
			if (ver >= 9)
				rbuf_i32(r, &p->current_leader_epoch);
			rbuf_i64(r, &p->fetch_offset);
			if (ver >= 5)
				rbuf_i64(r, &p->log_start);
			rbuf_i32(r, &p->max_bytes);
		}
		if (r->err)
			return ERR_PROTO;
		out->nparts += (size_t)np;
	}
	return 0;
}

static int kwfetch_forgot_decode(struct rbuf *r, struct kwfetch_req *out)
{
	int rc;
	out->forgot = kwire_array_read(r, 6, sizeof(*out->forgot), true, &out->nforgot, &rc);
	if (rc)
		return rc;
	for (int32_t i = 0; i < out->nforgot; i++) {
		struct kwfetch_forgot *f = &out->forgot[i];
		f->bad = kwire_str_read(r, f->name, sizeof(f->name), NULL) != 0;
		f->parts = kwire_array_read(r, 4, sizeof(*f->parts), false, &f->n, &rc);
		if (rc)
			return rc;
		for (int32_t j = 0; j < f->n; j++)
			rbuf_i32(r, &f->parts[j]);
		if (r->err)
			return ERR_PROTO;
	}
	return 0;
}

int kwfetch_req_decode(struct rbuf *r, int16_t ver, struct kwfetch_req *out)
{
	memset(out, 0, sizeof(*out));
	out->max_bytes = INT32_MAX;
	out->session_epoch = -1;
	rbuf_i32(r, &out->replica_id);
	rbuf_i32(r, &out->max_wait_ms);
	rbuf_i32(r, &out->min_bytes);
	rbuf_i32(r, &out->max_bytes);
	rbuf_u8(r, (uint8_t *)&out->isolation_level);
	if (ver >= 7) {
		rbuf_i32(r, &out->session_id);
		rbuf_i32(r, &out->session_epoch);
	}
	if (r->err)
		return ERR_PROTO;
	int rc = kwfetch_topics_decode(r, ver, out);
	if (rc)
		return rc;
	if (ver >= 7 && (rc = kwfetch_forgot_decode(r, out)))
		return rc;
	if (ver >= 11)
		kwire_str_read(r, out->rack, sizeof(out->rack), NULL); /* a cut rack is not used anyway */
	return r->err ? ERR_PROTO : 0;
}

void kwfetch_req_free(struct kwfetch_req *q)
{
	if (!q)
		return;
	for (int32_t i = 0; q->topics && i < q->n; i++)
		free(q->topics[i].parts);
	for (int32_t i = 0; q->forgot && i < q->nforgot; i++)
		free(q->forgot[i].parts);
	free(q->topics);
	free(q->forgot);
	memset(q, 0, sizeof(*q));
}

int kwfetch_req_encode(struct wbuf *w, int16_t ver, const struct kwfetch_req *q)
{
	wbuf_i32(w, q->replica_id);
	wbuf_i32(w, q->max_wait_ms);
	wbuf_i32(w, q->min_bytes);
	wbuf_i32(w, q->max_bytes);
	wbuf_u8(w, (uint8_t)q->isolation_level);
	if (ver >= 7) {
		wbuf_i32(w, q->session_id);
		wbuf_i32(w, q->session_epoch);
	}
	wbuf_i32(w, q->n);
	for (int32_t ti = 0; ti < q->n; ti++) {
		const struct kwfetch_topic *t = &q->topics[ti];
		wbuf_str_i16(w, t->name);
		wbuf_i32(w, t->n);
		for (int32_t pi = 0; pi < t->n; pi++) {
			const struct kwfetch_part *p = &t->parts[pi];
			wbuf_i32(w, p->partition);
			if (ver >= 9)
				wbuf_i32(w, p->current_leader_epoch);
			wbuf_i64(w, p->fetch_offset);
			if (ver >= 5)
				wbuf_i64(w, p->log_start);
			wbuf_i32(w, p->max_bytes);
		}
	}
	if (ver >= 7) {
		wbuf_i32(w, q->nforgot);
		for (int32_t i = 0; i < q->nforgot; i++) {
			wbuf_str_i16(w, q->forgot[i].name);
			wbuf_i32(w, q->forgot[i].n);
			for (int32_t j = 0; j < q->forgot[i].n; j++)
				wbuf_i32(w, q->forgot[i].parts[j]);
		}
	}
	if (ver >= 11)
		wbuf_str_i16(w, q->rack);
	return w->err;
}

int kwfetch_resp_head(struct wbuf *w, int16_t ver, int32_t throttle_ms, int16_t error, int32_t session_id,
		      int32_t ntopics)
{
	wbuf_i32(w, throttle_ms);
	if (ver >= 7) {
		wbuf_i16(w, error);
		wbuf_i32(w, session_id);
	}
	wbuf_i32(w, ntopics);
	return w->err;
}

int kwfetch_resp_topic(struct wbuf *w, int16_t ver, const char *name, int32_t nparts)
{
	(void)ver;
	wbuf_str_i16(w, name);
	wbuf_i32(w, nparts);
	return w->err;
}

int kwfetch_resp_part(struct wbuf *w, int16_t ver, const struct kwfetch_presp *p)
{
	wbuf_i32(w, p->partition);
	wbuf_i16(w, p->error);
	wbuf_i64(w, p->high_watermark);
	wbuf_i64(w, p->last_stable_offset);
	if (ver >= 5)
		wbuf_i64(w, p->log_start);
	if (p->has_aborted) {
		wbuf_i32(w, p->n_aborted);
		for (int32_t i = 0; i < p->n_aborted; i++) {
			wbuf_i64(w, p->aborted[i].producer_id);
			wbuf_i64(w, p->aborted[i].first_offset);
		}
	} else {
		wbuf_i32(w, -1); /* aborted_transactions: null */
	}
	if (ver >= 11)
		wbuf_i32(w, -1); /* preferred_read_replica */
	wbuf_i32(w, p->records_len);
	return w->err;
}
