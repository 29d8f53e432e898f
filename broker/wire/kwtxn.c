/*
 * kwtxn — AddPartitionsToTxn, AddOffsetsToTxn and EndTxn v0-2, TxnOffsetCommit v0-3 (see
 * kwtxn.h).
 */
#include "kwtxn.h"

#include "buf.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

static bool kwtxn_api_ok(int16_t api, int16_t ver)
{
	if (api == KWTXN_API_TXN_OFFSET_COMMIT)
		return ver >= 0 && ver <= KWTXN_TOC_MAX_VERSION;
	return (api == KWTXN_API_ADD_PARTITIONS || api == KWTXN_API_ADD_OFFSETS || api == KWTXN_API_END) && ver >= 0 &&
	       ver <= KWTXN_MAX_VERSION;
}

static bool kwtxn_flex(int16_t api, int16_t ver)
{
	return api == KWTXN_API_TXN_OFFSET_COMMIT && ver >= KWTXN_TOC_FIRST_FLEXIBLE;
}

/* A string (STRING, or COMPACT_STRING in a flexible version) read as a pointer into r: 0 or
 * ERR_PROTO (short, over KWIRE_MAX_STR, or null where !nullable). */
static int kwtxn_bytes(struct rbuf *r, bool flex, bool nullable, const uint8_t **p, int32_t *len)
{
	int rc = flex ? rbuf_bytes_compact(r, KWIRE_MAX_STR, p, len) : rbuf_bytes_i16(r, KWIRE_MAX_STR, p, len);
	return rc || (*len < 0 && !nullable) ? ERR_PROTO : 0;
}

/* An id copied into a new NUL-terminated string (*out NULL for a null one where nullable): 0,
 * ERR_PROTO (null where !nullable, a NUL inside, too long, truncated), ERR_NOMEM. */
static int kwtxn_str(struct rbuf *r, bool flex, bool nullable, char **out)
{
	const uint8_t *p;
	int32_t len;
	if (kwtxn_bytes(r, flex, nullable, &p, &len))
		return ERR_PROTO;
	if (len < 0)
		return 0;
	if (memchr(p, 0, (size_t)len))
		return ERR_PROTO;
	*out = kwire_strndup(p, (size_t)len);
	return *out ? 0 : ERR_NOMEM;
}

/* A non-nullable array's count (INT32, or compact) of elements at least min bytes each,
 * checked against the bytes left, and that many zeroed elements of sz bytes (NULL for none). */
static void *kwtxn_array(struct rbuf *r, bool flex, size_t min, size_t sz, int32_t *n, int *rc)
{
	if (!flex)
		return kwire_array_read(r, min, sz, false, n, rc);
	*n = 0;
	int32_t c;
	if (rbuf_count_compact(r, KWIRE_MAX_ITEMS, min, &c) || c < 0) {
		*rc = ERR_PROTO;
		return NULL;
	}
	*rc = 0;
	if (c == 0)
		return NULL;
	void *v = calloc((size_t)c, sz);
	if (!v) {
		*rc = ERR_NOMEM;
		return NULL;
	}
	*n = c;
	return v;
}

/* The tagged fields that end every structure of a flexible version (none known: skipped). */
static int kwtxn_tags(struct rbuf *r, bool flex)
{
	uint32_t skipped = 0;
	return flex && rbuf_tags_skip(r, &skipped) ? ERR_PROTO : 0;
}

static void kwtxn_bytes_write(struct wbuf *w, bool flex, const void *p, int32_t len)
{
	if (flex)
		wbuf_bytes_compact(w, p, len);
	else
		wbuf_bytes_i16(w, p, len);
}

static void kwtxn_str_write(struct wbuf *w, bool flex, const char *s)
{
	kwtxn_bytes_write(w, flex, s, s ? (int32_t)strlen(s) : -1);
}

static void kwtxn_count_write(struct wbuf *w, bool flex, int32_t n)
{
	if (flex)
		wbuf_uvarint(w, (uint32_t)n + 1);
	else
		wbuf_i32(w, n);
}

/* an empty tagged-field section, in a flexible version */
static void kwtxn_tags_write(struct wbuf *w, bool flex)
{
	if (flex)
		wbuf_uvarint(w, 0);
}

void kwtxn_req_free(struct kwtxn_req *q)
{
	if (!q)
		return;
	free(q->txn_id);
	free(q->group_id);
	free(q->member_id);
	free(q->group_instance_id);
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
	out->generation_id = -1;
	if (!kwtxn_api_ok(api, ver))
		return ERR_PROTO;
	bool flex = kwtxn_flex(api, ver);
	int rc = kwtxn_str(r, flex, false, &out->txn_id);
	if (rc)
		return rc;
	bool toc = api == KWTXN_API_TXN_OFFSET_COMMIT;
	if (toc && (rc = kwtxn_str(r, flex, false, &out->group_id)))
		return rc;
	rbuf_i64(r, &out->producer_id);
	rbuf_i16(r, &out->producer_epoch);
	if (r->err)
		return ERR_PROTO;
	if (api == KWTXN_API_ADD_OFFSETS)
		return kwtxn_str(r, false, false, &out->group_id);
	if (api == KWTXN_API_END) {
		bool c = false;
		rbuf_bool(r, &c);
		out->commit = c;
		return r->err ? ERR_PROTO : 0;
	}
	if (toc && ver >= 3) { /* KIP-447: the consumer's generation, member id, instance id */
		if (rbuf_i32(r, &out->generation_id))
			return ERR_PROTO;
		if ((rc = kwtxn_str(r, flex, false, &out->member_id)) ||
		    (rc = kwtxn_str(r, flex, true, &out->group_instance_id)))
			return rc;
	}
	int32_t n;
	/* a topic is at least its name's length and its partitions' count (and its tags) */
	out->topics = kwtxn_array(r, flex, flex ? 3 : 6, sizeof(*out->topics), &n, &rc);
	if (rc)
		return rc;
	out->ntopics = n;
	for (int32_t i = 0; i < n; i++) {
		struct kwtxn_topic *t = &out->topics[i];
		const uint8_t *p;
		int32_t len;
		if (kwtxn_bytes(r, flex, false, &p, &len))
			return ERR_PROTO;
		size_t k = (size_t)len < KWIRE_TOPIC_BUF - 1 ? (size_t)len : KWIRE_TOPIC_BUF - 1;
		memcpy(t->name, p, k);
		t->name[k] = '\0';
		t->bad = (size_t)len > KWIRE_TOPIC_BUF - 2 || memchr(p, 0, (size_t)len) != NULL;
		int32_t np;
		/* a TxnOffsetCommit partition: index, offset, (v2 epoch,) metadata's length (2 bytes;
		 * flexible: 1, and 1 of tags) */
		size_t pmin = toc ? (size_t)(4 + 8 + (ver >= 2 ? 4 : 0) + 2) : 4;
		t->parts = kwtxn_array(r, flex, pmin, sizeof(*t->parts), &np, &rc);
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
			if (kwtxn_bytes(r, flex, true, &m, &ml))
				return ERR_PROTO;
			if (m) {
				if (!(po->meta = malloc(ml > 0 ? (size_t)ml : 1)))
					return ERR_NOMEM;
				memcpy(po->meta, m, (size_t)ml);
				po->meta_len = ml;
			}
			if (kwtxn_tags(r, flex))
				return ERR_PROTO;
		}
		if (r->err || kwtxn_tags(r, flex))
			return ERR_PROTO;
	}
	return kwtxn_tags(r, flex);
}

int kwtxn_req_encode(struct wbuf *w, int16_t api, int16_t ver, const struct kwtxn_req *q)
{
	if (!kwtxn_api_ok(api, ver))
		return ERR_PROTO;
	bool flex = kwtxn_flex(api, ver);
	kwtxn_str_write(w, flex, q->txn_id);
	bool toc = api == KWTXN_API_TXN_OFFSET_COMMIT;
	if (toc)
		kwtxn_str_write(w, flex, q->group_id);
	wbuf_i64(w, q->producer_id);
	wbuf_i16(w, q->producer_epoch);
	if (api == KWTXN_API_ADD_OFFSETS)
		return wbuf_str_i16(w, q->group_id);
	if (api == KWTXN_API_END)
		return wbuf_bool(w, q->commit);
	if (toc && ver >= 3) {
		wbuf_i32(w, q->generation_id);
		kwtxn_str_write(w, flex, q->member_id ? q->member_id : "");
		kwtxn_str_write(w, flex, q->group_instance_id);
	}
	kwtxn_count_write(w, flex, q->ntopics);
	for (int32_t i = 0; i < q->ntopics; i++) {
		kwtxn_bytes_write(w, flex, q->topics[i].name, (int32_t)strnlen(q->topics[i].name, KWIRE_TOPIC_BUF - 1));
		kwtxn_count_write(w, flex, q->topics[i].n);
		for (int32_t j = 0; j < q->topics[i].n; j++) {
			wbuf_i32(w, q->topics[i].parts[j]);
			if (!toc)
				continue;
			const struct kwtxn_poff *po = &q->topics[i].offs[j];
			wbuf_i64(w, po->offset);
			if (ver >= 2)
				wbuf_i32(w, po->leader_epoch);
			kwtxn_bytes_write(w, flex, po->meta, po->meta ? po->meta_len : -1);
			kwtxn_tags_write(w, flex);
		}
		kwtxn_tags_write(w, flex);
	}
	kwtxn_tags_write(w, flex);
	return w->err;
}

int kwtxn_resp_encode(struct wbuf *w, int16_t api, int16_t ver, const struct kwtxn_resp *p)
{
	if (!kwtxn_api_ok(api, ver))
		return ERR_PROTO;
	bool flex = kwtxn_flex(api, ver);
	wbuf_i32(w, p->throttle_ms);
	if (api == KWTXN_API_ADD_OFFSETS || api == KWTXN_API_END)
		return wbuf_i16(w, p->error);
	kwtxn_count_write(w, flex, p->ntopics);
	for (int32_t i = 0; i < p->ntopics; i++) {
		kwtxn_str_write(w, flex, p->topics[i].name);
		kwtxn_count_write(w, flex, p->topics[i].n);
		for (int32_t j = 0; j < p->topics[i].n; j++) {
			wbuf_i32(w, p->topics[i].parts[j].index);
			wbuf_i16(w, p->topics[i].parts[j].error);
			kwtxn_tags_write(w, flex);
		}
		kwtxn_tags_write(w, flex);
	}
	kwtxn_tags_write(w, flex);
	return w->err;
}

int kwtxn_resp_decode(struct rbuf *r, int16_t api, int16_t ver, struct kwtxn_resp *p)
{
	memset(p, 0, sizeof(*p));
	if (!kwtxn_api_ok(api, ver))
		return ERR_PROTO;
	bool flex = kwtxn_flex(api, ver);
	rbuf_i32(r, &p->throttle_ms);
	if (api == KWTXN_API_ADD_OFFSETS || api == KWTXN_API_END) {
		rbuf_i16(r, &p->error);
		return r->err ? ERR_PROTO : 0;
	}
	int32_t n = 0;
	int rc = flex ? rbuf_count_compact(r, KWIRE_MAX_ITEMS, 3, &n) : rbuf_count_i32(r, KWIRE_MAX_ITEMS, 6, &n);
	if (rc || n < 0)
		return ERR_PROTO;
	p->ntopics = n;
	for (int32_t i = 0; i < n; i++) {
		const uint8_t *s;
		int32_t len, np = 0;
		if (kwtxn_bytes(r, flex, false, &s, &len))
			return ERR_PROTO;
		rc = flex ? rbuf_count_compact(r, KWIRE_MAX_ITEMS, 7, &np) : rbuf_count_i32(r, KWIRE_MAX_ITEMS, 6, &np);
		if (rc || np < 0)
			return ERR_PROTO;
		for (int32_t j = 0; j < np; j++) {
			int32_t idx;
			int16_t e;
			rbuf_i32(r, &idx);
			rbuf_i16(r, &e);
			if (kwtxn_tags(r, flex))
				return ERR_PROTO;
			if (i == 0 && j == 0)
				p->error = e;
		}
		if (kwtxn_tags(r, flex))
			return ERR_PROTO;
	}
	if (r->err || kwtxn_tags(r, flex))
		return ERR_PROTO;
	return 0;
}
