/*
 * kwtxn — AddPartitionsToTxn, AddOffsetsToTxn and EndTxn v0-2 (see kwtxn.h).
 */
#include "kwtxn.h"

#include "buf.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

static bool kwtxn_api_ok(int16_t api, int16_t ver)
{
	return (api == KWTXN_API_ADD_PARTITIONS || api == KWTXN_API_ADD_OFFSETS || api == KWTXN_API_END ||
		api == KWTXN_API_TXN_OFFSET_COMMIT) &&
	       ver >= 0 && ver <= KWTXN_MAX_VERSION;
}

/* A non-null STRING copied into a new NUL-terminated one: 0, ERR_PROTO (null, a NUL inside,
 * too long, truncated), ERR_NOMEM. */
static int kwtxn_str(struct rbuf *r, char **out)
{
	const uint8_t *p;
	int32_t len;
	if (rbuf_bytes_i16(r, KWIRE_MAX_STR, &p, &len) || len < 0 || memchr(p, 0, (size_t)len))
		return ERR_PROTO;
	*out = kwire_strndup(p, (size_t)len);
	return *out ? 0 : ERR_NOMEM;
}

void kwtxn_req_free(struct kwtxn_req *q)
{
	if (!q)
		return;
	free(q->txn_id);
	free(q->group_id);
	for (int32_t i = 0; i < q->ntopics && q->topics; i++) {
		free(q->topics[i].parts);
		for (int32_t j = 0; j < q->topics[i].n && q->topics[i].offs; j++)
			free(q->topics[i].offs[j].meta);
		free(q->topics[i].offs);
	}
	free(q->topics);
	memset(q, 0, sizeof(*q));
}

int kwtxn_req_decode(struct rbuf *r, int16_t api, int16_t ver, struct kwtxn_req *out)
{
	memset(out, 0, sizeof(*out));
	if (!kwtxn_api_ok(api, ver))
		return ERR_PROTO;
	int rc = kwtxn_str(r, &out->txn_id);
	if (rc)
		return rc;
	bool toc = api == KWTXN_API_TXN_OFFSET_COMMIT;
	if (toc && (rc = kwtxn_str(r, &out->group_id)))
		return rc;
	rbuf_i64(r, &out->producer_id);
	rbuf_i16(r, &out->producer_epoch);
	if (r->err)
		return ERR_PROTO;
	if (api == KWTXN_API_ADD_OFFSETS)
		return kwtxn_str(r, &out->group_id);
	if (api == KWTXN_API_END) {
		bool c = false;
		rbuf_bool(r, &c);
		out->commit = c;
		return r->err ? ERR_PROTO : 0;
	}
	int32_t n;
	/* a topic is at least its name's length and its partitions' count */
	out->topics = kwire_array_read(r, 6, sizeof(*out->topics), false, &n, &rc);
	if (rc)
		return rc;
	out->ntopics = n;
	for (int32_t i = 0; i < n; i++) {
		struct kwtxn_topic *t = &out->topics[i];
		const uint8_t *p;
		int32_t len;
		if (rbuf_bytes_i16(r, KWIRE_MAX_STR, &p, &len) || len < 0)
			return ERR_PROTO;
		size_t k = (size_t)len < KWIRE_TOPIC_BUF - 1 ? (size_t)len : KWIRE_TOPIC_BUF - 1;
		memcpy(t->name, p, k);
		t->name[k] = '\0';
		t->bad = (size_t)len > KWIRE_TOPIC_BUF - 2 || memchr(p, 0, (size_t)len) != NULL;
		int32_t np;
		/* a TxnOffsetCommit partition: index, offset, (v2 epoch,) metadata's length */
		size_t pmin = toc ? (size_t)(4 + 8 + (ver >= 2 ? 4 : 0) + 2) : 4;
		t->parts = kwire_array_read(r, pmin, sizeof(*t->parts), false, &np, &rc);
		if (rc)
			return rc;
		t->n = np;
		if (toc && np && !(t->offs = calloc((size_t)np, sizeof(*t->offs))))
			return ERR_NOMEM;
		for (int32_t j = 0; j < np; j++) {
			rbuf_i32(r, &t->parts[j]);
			if (!toc)
				continue;
			struct kwtxn_poff *po = &t->offs[j];
			po->leader_epoch = -1;
			po->meta_len = -1;
			rbuf_i64(r, &po->offset);
			if (ver >= 2)
				rbuf_i32(r, &po->leader_epoch);
			const uint8_t *m;
			int32_t ml;
			if (rbuf_bytes_i16(r, KWIRE_MAX_STR, &m, &ml))
				return ERR_PROTO;
			if (m) {
				if (!(po->meta = malloc(ml > 0 ? (size_t)ml : 1)))
					return ERR_NOMEM;
				memcpy(po->meta, m, (size_t)ml);
				po->meta_len = ml;
			}
		}
		if (r->err)
			return ERR_PROTO;
	}
	return 0;
}

int kwtxn_req_encode(struct wbuf *w, int16_t api, int16_t ver, const struct kwtxn_req *q)
{
	if (!kwtxn_api_ok(api, ver))
		return ERR_PROTO;
	wbuf_str_i16(w, q->txn_id);
	bool toc = api == KWTXN_API_TXN_OFFSET_COMMIT;
	if (toc)
		wbuf_str_i16(w, q->group_id);
	wbuf_i64(w, q->producer_id);
	wbuf_i16(w, q->producer_epoch);
	if (api == KWTXN_API_ADD_OFFSETS)
		return wbuf_str_i16(w, q->group_id);
	if (api == KWTXN_API_END)
		return wbuf_bool(w, q->commit);
	wbuf_i32(w, q->ntopics);
	for (int32_t i = 0; i < q->ntopics; i++) {
		wbuf_bytes_i16(w, q->topics[i].name, (int32_t)strnlen(q->topics[i].name, KWIRE_TOPIC_BUF - 1));
		wbuf_i32(w, q->topics[i].n);
		for (int32_t j = 0; j < q->topics[i].n; j++) {
			wbuf_i32(w, q->topics[i].parts[j]);
			if (!toc)
				continue;
			const struct kwtxn_poff *po = &q->topics[i].offs[j];
			wbuf_i64(w, po->offset);
			if (ver >= 2)
				wbuf_i32(w, po->leader_epoch);
			wbuf_bytes_i16(w, po->meta, po->meta ? po->meta_len : -1);
		}
	}
	return w->err;
}

int kwtxn_resp_encode(struct wbuf *w, int16_t api, int16_t ver, const struct kwtxn_resp *p)
{
	if (!kwtxn_api_ok(api, ver))
		return ERR_PROTO;
	wbuf_i32(w, p->throttle_ms);
	if (api == KWTXN_API_ADD_OFFSETS || api == KWTXN_API_END)
		return wbuf_i16(w, p->error);
	wbuf_i32(w, p->ntopics);
	for (int32_t i = 0; i < p->ntopics; i++) {
		wbuf_str_i16(w, p->topics[i].name);
		wbuf_i32(w, p->topics[i].n);
		for (int32_t j = 0; j < p->topics[i].n; j++) {
			wbuf_i32(w, p->topics[i].parts[j].index);
			wbuf_i16(w, p->topics[i].parts[j].error);
		}
	}
	return w->err;
}

int kwtxn_resp_decode(struct rbuf *r, int16_t api, int16_t ver, struct kwtxn_resp *p)
{
	memset(p, 0, sizeof(*p));
	if (!kwtxn_api_ok(api, ver))
		return ERR_PROTO;
	rbuf_i32(r, &p->throttle_ms);
	if (api == KWTXN_API_ADD_OFFSETS || api == KWTXN_API_END) {
		rbuf_i16(r, &p->error);
		return r->err ? ERR_PROTO : 0;
	}
	int32_t n = 0;
	if (rbuf_count_i32(r, KWIRE_MAX_ITEMS, 6, &n) || n < 0)
		return ERR_PROTO;
	p->ntopics = n;
	for (int32_t i = 0; i < n; i++) {
		const uint8_t *s;
		int32_t len, np = 0;
		if (rbuf_bytes_i16(r, KWIRE_MAX_STR, &s, &len) || len < 0 ||
		    rbuf_count_i32(r, KWIRE_MAX_ITEMS, 6, &np) || np < 0)
			return ERR_PROTO;
		for (int32_t j = 0; j < np; j++) {
			int32_t idx;
			int16_t e;
			rbuf_i32(r, &idx);
			rbuf_i16(r, &e);
			if (i == 0 && j == 0)
				p->error = e;
		}
	}
	return r->err ? ERR_PROTO : 0;
}
