/*
 * ktxnrec — the __transaction_state record codec (see ktxnrec.h).
 */
#include "ktxnrec.h"

#include "buf.h"
#include "err.h"
#include "ktxnstate.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int ktxnrec_key_encode(struct wbuf *w, const uint8_t *id, size_t len)
{
	wbuf_i16(w, KTXNREC_KEY_VERSION);
	return wbuf_bytes_i16(w, id, (int32_t)len);
}

int ktxnrec_key_decode(const uint8_t *p, size_t plen, const uint8_t **id, size_t *len)
{
	struct rbuf r = rbuf_make(p, plen);
	int16_t ver = -1;
	const uint8_t *s = NULL;
	int32_t slen = -1;
	rbuf_i16(&r, &ver);
	if (r.err || ver != KTXNREC_KEY_VERSION)
		return ERR_PROTO;
	rbuf_bytes_i16(&r, KTXNREC_MAX_ID, &s, &slen);
	if (r.err || !s || slen < 0 || memchr(s, 0, (size_t)slen))
		return ERR_PROTO;
	*id = s;
	*len = (size_t)slen;
	return 0;
}

int ktxnrec_value_encode(struct wbuf *w, const struct ktxnrec_value *v)
{
	wbuf_i16(w, KTXNREC_VALUE_VERSION);
	wbuf_i64(w, v->producer_id);
	wbuf_i16(w, v->producer_epoch);
	wbuf_i32(w, v->timeout_ms);
	wbuf_u8(w, (uint8_t)v->status);
	if (v->ntopics < 0) {
		wbuf_i32(w, -1);
	} else {
		wbuf_i32(w, v->ntopics);
		for (int32_t i = 0; i < v->ntopics; i++) {
			wbuf_str_i16(w, v->topics[i].name);
			wbuf_i32(w, v->topics[i].n);
			for (int32_t j = 0; j < v->topics[i].n; j++)
				wbuf_i32(w, v->topics[i].parts[j]);
		}
	}
	wbuf_i64(w, v->last_update_ms);
	return wbuf_i64(w, v->start_ms);
}

void ktxnrec_value_free(struct ktxnrec_value *v)
{
	if (!v)
		return;
	for (int32_t i = 0; i < v->ntopics && v->topics; i++) {
		free(v->topics[i].name);
		free(v->topics[i].parts);
	}
	free(v->topics);
	v->topics = NULL;
	v->ntopics = -1;
}

/* An array count at version ver: int32 (v0) or compact (v1); -1 null. */
static int ktxnrec_count(struct rbuf *r, int16_t ver, size_t min_elem, int32_t *n)
{
	if (ver >= 1)
		return rbuf_count_compact(r, KTXNREC_MAX_ITEMS, min_elem, n);
	return rbuf_count_i32(r, KTXNREC_MAX_ITEMS, min_elem, n);
}

static int ktxnrec_topic_read(struct rbuf *r, int16_t ver, struct ktxnrec_topic *t)
{
	const uint8_t *s = NULL;
	int32_t slen = -1, n = -1;
	uint32_t skipped = 0;
	if (ver >= 1)
		rbuf_bytes_compact(r, KTXNREC_MAX_TOPIC, &s, &slen);
	else
		rbuf_bytes_i16(r, KTXNREC_MAX_TOPIC, &s, &slen);
	if (r->err || !s || slen <= 0 || memchr(s, 0, (size_t)slen))
		return ERR_PROTO;
	ktxnrec_count(r, ver, 4, &n);
	if (r->err || n < 0)
		return ERR_PROTO;
	t->name = malloc((size_t)slen + 1);
	t->parts = n ? malloc((size_t)n * sizeof(*t->parts)) : NULL;
	if (!t->name || (n && !t->parts))
		return ERR_NOMEM;
	memcpy(t->name, s, (size_t)slen);
	t->name[slen] = '\0';
	t->n = n;
	for (int32_t j = 0; j < n; j++)
		rbuf_i32(r, &t->parts[j]);
	if (ver >= 1)
		rbuf_tags_skip(r, &skipped);
	return r->err ? ERR_PROTO : 0;
}

int ktxnrec_value_decode(const uint8_t *p, size_t plen, struct ktxnrec_value *v)
{
	struct rbuf r = rbuf_make(p, plen);
	int16_t ver = -1;
	uint8_t status = 0;
	uint32_t skipped = 0;
	memset(v, 0, sizeof(*v));
	v->ntopics = -1;
	rbuf_i16(&r, &ver);
	if (r.err || ver < 0 || ver > 1)
		return ERR_PROTO;
	rbuf_i64(&r, &v->producer_id);
	rbuf_i16(&r, &v->producer_epoch);
	rbuf_i32(&r, &v->timeout_ms);
	rbuf_u8(&r, &status);
	v->status = (int8_t)status;
	if (r.err || status >= KTXNSTATE_COUNT)
		return ERR_PROTO;
	int32_t n = -1;
	/* a topic is at least its name's length, one byte of name and its partitions' count */
	ktxnrec_count(&r, ver, ver >= 1 ? 3 : 7, &n);
	if (r.err)
		return ERR_PROTO;
	if (n > 0) {
		v->topics = calloc((size_t)n, sizeof(*v->topics));
		if (!v->topics)
			return ERR_NOMEM;
	}
	v->ntopics = n;
	for (int32_t i = 0; i < n; i++) {
		int rc = ktxnrec_topic_read(&r, ver, &v->topics[i]);
		if (rc)
			return rc;
	}
	rbuf_i64(&r, &v->last_update_ms);
	rbuf_i64(&r, &v->start_ms);
	if (ver >= 1)
		rbuf_tags_skip(&r, &skipped);
	return r.err ? ERR_PROTO : 0;
}
