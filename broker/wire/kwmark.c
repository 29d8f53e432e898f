/*
 * kwmark — WriteTxnMarkers request and response bodies (see kwmark.h).
 */
#include "kwmark.h"

#include "buf.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

/* Reads a non-nullable array count (int32, or compact in a flexible version) of elements at
 * least min_elem bytes each and allocates that many zeroed elements of sz bytes (NULL for
 * none). 0, ERR_PROTO or ERR_NOMEM. */
static int kwmark_array(struct rbuf *r, bool flex, size_t min_elem, size_t sz, int32_t *n, void **out)
{
	*out = NULL;
	*n = 0;
	int32_t c;
	int rc = flex ? rbuf_count_compact(r, KWIRE_MAX_ITEMS, min_elem, &c)
		      : rbuf_count_i32(r, KWIRE_MAX_ITEMS, min_elem, &c);
	if (rc || c < 0)
		return ERR_PROTO;
	if (c == 0)
		return 0;
	*out = calloc((size_t)c, sz);
	if (!*out)
		return ERR_NOMEM;
	*n = c;
	return 0;
}

/* Reads a non-nullable topic name into name[KWIRE_TOPIC_BUF]; *bad when cut or holding a NUL.
 * 0 or ERR_PROTO (short, null). */
static int kwmark_name(struct rbuf *r, bool flex, char *name, bool *bad)
{
	const uint8_t *p;
	int32_t len;
	int rc = flex ? rbuf_bytes_compact(r, KWIRE_MAX_STR, &p, &len) : rbuf_bytes_i16(r, KWIRE_MAX_STR, &p, &len);
	if (rc || len < 0)
		return ERR_PROTO;
	size_t n = (size_t)len < KWIRE_TOPIC_BUF - 1 ? (size_t)len : KWIRE_TOPIC_BUF - 1;
	memcpy(name, p, n);
	name[n] = 0;
	*bad = (size_t)len > KWIRE_TOPIC_BUF - 2 || memchr(p, 0, (size_t)len) != NULL;
	return 0;
}

static int kwmark_tags(struct rbuf *r, bool flex)
{
	uint32_t skipped = 0;
	return flex && rbuf_tags_skip(r, &skipped) ? ERR_PROTO : 0;
}

static void kwmark_name_write(struct wbuf *w, bool flex, const char *name)
{
	size_t len = strnlen(name, KWIRE_TOPIC_BUF - 1);
	if (flex)
		wbuf_bytes_compact(w, name, (int32_t)len);
	else
		wbuf_bytes_i16(w, name, (int32_t)len);
}

static void kwmark_count_write(struct wbuf *w, bool flex, int32_t n)
{
	if (flex)
		wbuf_uvarint(w, (uint32_t)n + 1);
	else
		wbuf_i32(w, n);
}

int kwmark_req_decode(struct rbuf *r, int16_t ver, struct kwmark_req *out)
{
	memset(out, 0, sizeof(*out));
	if (ver < 0 || ver > KWMARK_MAX_VERSION)
		return ERR_PROTO;
	bool flex = ver >= KWMARK_FIRST_FLEXIBLE;
	/* a marker is at least id, epoch, result, an empty topic array, the coordinator epoch
	 * (and its tags) */
	void *v;
	int rc = kwmark_array(r, flex, flex ? 17 : 19, sizeof(*out->markers), &out->n, &v);
	out->markers = v;
	if (rc)
		return rc;
	for (int32_t mi = 0; mi < out->n; mi++) {
		struct kwmark_marker *m = &out->markers[mi];
		rbuf_i64(r, &m->producer_id);
		rbuf_i16(r, &m->producer_epoch);
		rbuf_bool(r, &m->commit);
		if (r->err)
			return ERR_PROTO;
		rc = kwmark_array(r, flex, flex ? 3 : 6, sizeof(*m->topics), &m->n, &v);
		m->topics = v;
		if (rc)
			return rc;
		for (int32_t ti = 0; ti < m->n; ti++) {
			struct kwmark_topic *t = &m->topics[ti];
			if (kwmark_name(r, flex, t->name, &t->bad))
				return ERR_PROTO;
			rc = kwmark_array(r, flex, 4, sizeof(*t->parts), &t->n, &v);
			t->parts = v;
			if (rc)
				return rc;
			for (int32_t pi = 0; pi < t->n; pi++)
				rbuf_i32(r, &t->parts[pi]);
			if (r->err || kwmark_tags(r, flex))
				return ERR_PROTO;
		}
		if (rbuf_i32(r, &m->coordinator_epoch) || kwmark_tags(r, flex))
			return ERR_PROTO;
	}
	return kwmark_tags(r, flex);
}

void kwmark_req_free(struct kwmark_req *q)
{
	if (!q)
		return;
	for (int32_t mi = 0; q->markers && mi < q->n; mi++) {
		struct kwmark_marker *m = &q->markers[mi];
		for (int32_t ti = 0; m->topics && ti < m->n; ti++)
			free(m->topics[ti].parts);
		free(m->topics);
	}
	free(q->markers);
	memset(q, 0, sizeof(*q));
}

int kwmark_req_encode(struct wbuf *w, int16_t ver, const struct kwmark_req *q)
{
	if (ver < 0 || ver > KWMARK_MAX_VERSION)
		return ERR_PROTO;
	bool flex = ver >= KWMARK_FIRST_FLEXIBLE;
	kwmark_count_write(w, flex, q->n);
	for (int32_t mi = 0; mi < q->n; mi++) {
		const struct kwmark_marker *m = &q->markers[mi];
		wbuf_i64(w, m->producer_id);
		wbuf_i16(w, m->producer_epoch);
		wbuf_bool(w, m->commit);
		kwmark_count_write(w, flex, m->n);
		for (int32_t ti = 0; ti < m->n; ti++) {
			const struct kwmark_topic *t = &m->topics[ti];
			kwmark_name_write(w, flex, t->name);
			kwmark_count_write(w, flex, t->n);
			for (int32_t pi = 0; pi < t->n; pi++)
				wbuf_i32(w, t->parts[pi]);
			if (flex)
				wbuf_uvarint(w, 0);
		}
		wbuf_i32(w, m->coordinator_epoch);
		if (flex)
			wbuf_uvarint(w, 0);
	}
	if (flex)
		wbuf_uvarint(w, 0);
	return w->err;
}

int kwmark_resp_decode(struct rbuf *r, int16_t ver, struct kwmark_resp *out)
{
	memset(out, 0, sizeof(*out));
	if (ver < 0 || ver > KWMARK_MAX_VERSION)
		return ERR_PROTO;
	bool flex = ver >= KWMARK_FIRST_FLEXIBLE;
	void *v;
	int rc = kwmark_array(r, flex, flex ? 10 : 12, sizeof(*out->markers), &out->n, &v);
	out->markers = v;
	if (rc)
		return rc;
	for (int32_t mi = 0; mi < out->n; mi++) {
		struct kwmark_mresult *m = &out->markers[mi];
		if (rbuf_i64(r, &m->producer_id))
			return ERR_PROTO;
		rc = kwmark_array(r, flex, flex ? 3 : 6, sizeof(*m->topics), &m->n, &v);
		m->topics = v;
		if (rc)
			return rc;
		for (int32_t ti = 0; ti < m->n; ti++) {
			struct kwmark_tresult *t = &m->topics[ti];
			if (kwmark_name(r, flex, t->name, &t->bad))
				return ERR_PROTO;
			rc = kwmark_array(r, flex, flex ? 7 : 6, sizeof(*t->parts), &t->n, &v);
			t->parts = v;
			if (rc)
				return rc;
			for (int32_t pi = 0; pi < t->n; pi++) {
				rbuf_i32(r, &t->parts[pi].index);
				rbuf_i16(r, &t->parts[pi].error);
				if (r->err || kwmark_tags(r, flex))
					return ERR_PROTO;
			}
			if (kwmark_tags(r, flex))
				return ERR_PROTO;
		}
		if (kwmark_tags(r, flex))
			return ERR_PROTO;
	}
	return kwmark_tags(r, flex);
}

void kwmark_resp_free(struct kwmark_resp *p)
{
	if (!p)
		return;
	for (int32_t mi = 0; p->markers && mi < p->n; mi++) {
		struct kwmark_mresult *m = &p->markers[mi];
		for (int32_t ti = 0; m->topics && ti < m->n; ti++)
			free(m->topics[ti].parts);
		free(m->topics);
	}
	free(p->markers);
	memset(p, 0, sizeof(*p));
}

int kwmark_resp_encode(struct wbuf *w, int16_t ver, const struct kwmark_resp *p)
{
	if (ver < 0 || ver > KWMARK_MAX_VERSION)
		return ERR_PROTO;
	bool flex = ver >= KWMARK_FIRST_FLEXIBLE;
	kwmark_count_write(w, flex, p->n);
	for (int32_t mi = 0; mi < p->n; mi++) {
		const struct kwmark_mresult *m = &p->markers[mi];
		wbuf_i64(w, m->producer_id);
		kwmark_count_write(w, flex, m->n);
		for (int32_t ti = 0; ti < m->n; ti++) {
			const struct kwmark_tresult *t = &m->topics[ti];
			kwmark_name_write(w, flex, t->name);
			kwmark_count_write(w, flex, t->n);
			for (int32_t pi = 0; pi < t->n; pi++) {
				wbuf_i32(w, t->parts[pi].index);
				wbuf_i16(w, t->parts[pi].error);
				if (flex)
					wbuf_uvarint(w, 0);
			}
			if (flex)
				wbuf_uvarint(w, 0);
		}
		if (flex)
			wbuf_uvarint(w, 0);
	}
	if (flex)
		wbuf_uvarint(w, 0);
	return w->err;
}
