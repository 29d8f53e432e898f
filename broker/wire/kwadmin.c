/*
 * kwadmin — CreateTopics, DeleteTopics and CreatePartitions requests and responses on the
 * broker's side (see kwadmin.h).
 */
#include "kwadmin.h"

#include "buf.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

/* Smallest encodings, which bound every count by the bytes left. */
enum {
	KWADMIN_MIN_NAME = 2,	     /* an empty STRING */
	KWADMIN_MIN_CT_TOPIC = 16,   /* name, num_partitions, replication_factor, two array counts */
	KWADMIN_MIN_CT_ASSIGN = 8,   /* partition_index, broker_ids count */
	KWADMIN_MIN_ID = 4,	     /* a broker id */
	KWADMIN_MIN_CONF = 4,	     /* two empty STRINGs */
	KWADMIN_MIN_CP_TOPIC = 10,   /* name, count, assignments count */
	KWADMIN_MIN_CP_ASSIGN = 4,   /* broker_ids count */
};

static int kwadmin_name_read(struct rbuf *r, struct kwadmin_name *n)
{
	int rc = kwire_str_read(r, n->name, sizeof(n->name), NULL);
	n->bad = rc == 1;
	return r->err;
}

/* A nullable STRING into a new C string (NULL: null). 0, ERR_PROTO or ERR_NOMEM. */
static int kwadmin_cstr_read(struct rbuf *r, char **out)
{
	const uint8_t *p;
	int32_t len;
	*out = NULL;
	if (rbuf_bytes_i16(r, KWIRE_MAX_STR, &p, &len))
		return ERR_PROTO;
	if (len < 0)
		return 0;
	*out = kwire_strndup(p, (size_t)len);
	return *out ? 0 : ERR_NOMEM;
}

/* An array of broker ids (not nullable) into a->ids. */
static int kwadmin_ids_read(struct rbuf *r, struct kwadmin_assign *a)
{
	int rc;
	a->ids = kwire_array_read(r, KWADMIN_MIN_ID, sizeof(*a->ids), false, &a->n, &rc);
	if (rc)
		return rc;
	for (int32_t i = 0; i < a->n; i++)
		rbuf_i32(r, &a->ids[i]);
	return r->err ? ERR_PROTO : 0;
}

/* A nullable array count (-1 kept in *n, unlike kwire_array_read, so that a null assignment or
 * config array re-encodes as null) and its zeroed elements. */
static int kwadmin_array_read(struct rbuf *r, size_t min_elem, size_t sz, int32_t *n, void **v)
{
	*n = kwire_count_read(r, min_elem);
	if (r->err || *n < -1)
		return ERR_PROTO;
	if (*n > 0) {
		*v = calloc((size_t)*n, sz);
		if (!*v) {
			*n = 0;
			return ERR_NOMEM;
		}
	}
	return 0;
}

static void kwadmin_assign_free(struct kwadmin_assign *a, int32_t n)
{
	for (int32_t i = 0; a && i < n; i++)
		free(a[i].ids);
	free(a);
}

static void kwadmin_assign_write(struct wbuf *w, const struct kwadmin_assign *a, bool with_index)
{
	if (with_index)
		wbuf_i32(w, a->index);
	wbuf_i32(w, a->n);
	for (int32_t i = 0; i < a->n; i++)
		wbuf_i32(w, a->ids[i]);
}

/* ---- CreateTopics ---- */

int kwadmin_ct_req_decode(struct rbuf *r, int16_t ver, struct kwadmin_ct_req *out)
{
	memset(out, 0, sizeof(*out));
	int rc;
	out->topics = kwire_array_read(r, KWADMIN_MIN_CT_TOPIC, sizeof(*out->topics), false, &out->n, &rc);
	if (rc)
		return rc;
	int32_t nt = out->n;
	for (int32_t ti = 0; ti < nt; ti++) {
		struct kwadmin_ct_topic *t = &out->topics[ti];
		kwadmin_name_read(r, &t->name);
		rbuf_i32(r, &t->nparts);
		rbuf_i16(r, &t->rf);
		if (r->err)
			return ERR_PROTO;
		rc = kwadmin_array_read(r, KWADMIN_MIN_CT_ASSIGN, sizeof(*t->assign), &t->nassign,
					    (void **)&t->assign);
		if (rc)
			return rc;
		for (int32_t k = 0; k < t->nassign; k++) {
			rbuf_i32(r, &t->assign[k].index);
			if ((rc = kwadmin_ids_read(r, &t->assign[k])))
				return rc;
		}
		rc = kwadmin_array_read(r, KWADMIN_MIN_CONF, sizeof(*t->confs), &t->nconf, (void **)&t->confs);
		if (rc)
			return rc;
		for (int32_t k = 0; k < t->nconf; k++) {
			if ((rc = kwadmin_cstr_read(r, &t->confs[k].name)) ||
			    (rc = kwadmin_cstr_read(r, &t->confs[k].value)))
				return rc;
		}
	}
	rbuf_i32(r, &out->timeout_ms);
	if (ver >= 1)
		rbuf_bool(r, &out->validate_only);
	return r->err ? ERR_PROTO : 0;
}

void kwadmin_ct_req_free(struct kwadmin_ct_req *q)
{
	if (!q)
		return;
	for (int32_t i = 0; q->topics && i < q->n; i++) {
		struct kwadmin_ct_topic *t = &q->topics[i];
		kwadmin_assign_free(t->assign, t->nassign);
		for (int32_t k = 0; t->confs && k < t->nconf; k++) {
			free(t->confs[k].name);
			free(t->confs[k].value);
		}
		free(t->confs);
	}
	free(q->topics);
	memset(q, 0, sizeof(*q));
}

int kwadmin_ct_req_encode(struct wbuf *w, int16_t ver, const struct kwadmin_ct_req *q)
{
	wbuf_i32(w, q->n);
	for (int32_t ti = 0; ti < q->n; ti++) {
		const struct kwadmin_ct_topic *t = &q->topics[ti];
		wbuf_str_i16(w, t->name.name);
		wbuf_i32(w, t->nparts);
		wbuf_i16(w, t->rf);
		wbuf_i32(w, t->nassign);
		for (int32_t k = 0; k < t->nassign; k++)
			kwadmin_assign_write(w, &t->assign[k], true);
		wbuf_i32(w, t->nconf);
		for (int32_t k = 0; k < t->nconf; k++) {
			wbuf_str_i16(w, t->confs[k].name);
			wbuf_str_i16(w, t->confs[k].value);
		}
	}
	wbuf_i32(w, q->timeout_ms);
	if (ver >= 1)
		wbuf_bool(w, q->validate_only);
	return w->err;
}

int kwadmin_ct_resp_encode(struct wbuf *w, int16_t ver, const struct kwadmin_resp *m)
{
	if (ver >= 2)
		wbuf_i32(w, m->throttle_ms);
	wbuf_i32(w, m->n);
	for (int32_t i = 0; i < m->n; i++) {
		wbuf_str_i16(w, m->topics[i].name);
		wbuf_i16(w, m->topics[i].error);
		if (ver >= 1)
			wbuf_str_i16(w, m->topics[i].message);
	}
	return w->err;
}

/* ---- DeleteTopics ---- */

int kwadmin_dt_req_decode(struct rbuf *r, int16_t ver, struct kwadmin_dt_req *out)
{
	(void)ver; /* v0-3 share one request schema */
	memset(out, 0, sizeof(*out));
	int rc;
	out->topics = kwire_array_read(r, KWADMIN_MIN_NAME, sizeof(*out->topics), false, &out->n, &rc);
	if (rc)
		return rc;
	int32_t nt = out->n;
	for (int32_t ti = 0; ti < nt && !r->err; ti++)
		kwadmin_name_read(r, &out->topics[ti]);
	rbuf_i32(r, &out->timeout_ms);
	return r->err ? ERR_PROTO : 0;
}

void kwadmin_dt_req_free(struct kwadmin_dt_req *q)
{
	if (!q)
		return;
	free(q->topics);
	memset(q, 0, sizeof(*q));
}

int kwadmin_dt_req_encode(struct wbuf *w, int16_t ver, const struct kwadmin_dt_req *q)
{
	(void)ver;
	wbuf_i32(w, q->n);
	for (int32_t i = 0; i < q->n; i++)
		wbuf_str_i16(w, q->topics[i].name);
	wbuf_i32(w, q->timeout_ms);
	return w->err;
}

int kwadmin_dt_resp_encode(struct wbuf *w, int16_t ver, const struct kwadmin_resp *m)
{
	if (ver >= 1)
		wbuf_i32(w, m->throttle_ms);
	wbuf_i32(w, m->n);
	for (int32_t i = 0; i < m->n; i++) {
		wbuf_str_i16(w, m->topics[i].name);
		wbuf_i16(w, m->topics[i].error);
	}
	return w->err;
}

/* ---- CreatePartitions ---- */

int kwadmin_cp_req_decode(struct rbuf *r, int16_t ver, struct kwadmin_cp_req *out)
{
	(void)ver; /* v0 and v1 share one request schema */
	memset(out, 0, sizeof(*out));
	int rc;
	out->topics = kwire_array_read(r, KWADMIN_MIN_CP_TOPIC, sizeof(*out->topics), false, &out->n, &rc);
	if (rc)
		return rc;
	int32_t nt = out->n;
	for (int32_t ti = 0; ti < nt; ti++) {
		struct kwadmin_cp_topic *t = &out->topics[ti];
		kwadmin_name_read(r, &t->name);
		rbuf_i32(r, &t->count);
		if (r->err)
			return ERR_PROTO;
		rc = kwadmin_array_read(r, KWADMIN_MIN_CP_ASSIGN, sizeof(*t->assign), &t->nassign,
					    (void **)&t->assign);
		if (rc)
			return rc;
		for (int32_t k = 0; k < t->nassign; k++) {
			t->assign[k].index = k;
			if ((rc = kwadmin_ids_read(r, &t->assign[k])))
				return rc;
		}
	}
	rbuf_i32(r, &out->timeout_ms);
	rbuf_bool(r, &out->validate_only);
	return r->err ? ERR_PROTO : 0;
}

void kwadmin_cp_req_free(struct kwadmin_cp_req *q)
{
	if (!q)
		return;
	for (int32_t i = 0; q->topics && i < q->n; i++)
		kwadmin_assign_free(q->topics[i].assign, q->topics[i].nassign);
	free(q->topics);
	memset(q, 0, sizeof(*q));
}

int kwadmin_cp_req_encode(struct wbuf *w, int16_t ver, const struct kwadmin_cp_req *q)
{
	(void)ver;
	wbuf_i32(w, q->n);
	for (int32_t ti = 0; ti < q->n; ti++) {
		const struct kwadmin_cp_topic *t = &q->topics[ti];
		wbuf_str_i16(w, t->name.name);
		wbuf_i32(w, t->count);
		wbuf_i32(w, t->nassign);
		for (int32_t k = 0; k < t->nassign; k++)
			kwadmin_assign_write(w, &t->assign[k], false);
	}
	wbuf_i32(w, q->timeout_ms);
	wbuf_bool(w, q->validate_only);
	return w->err;
}

int kwadmin_cp_resp_encode(struct wbuf *w, int16_t ver, const struct kwadmin_resp *m)
{
	(void)ver; /* v0 and v1 share one response schema */
	wbuf_i32(w, m->throttle_ms);
	wbuf_i32(w, m->n);
	for (int32_t i = 0; i < m->n; i++) {
		wbuf_str_i16(w, m->topics[i].name);
		wbuf_i16(w, m->topics[i].error);
		wbuf_str_i16(w, m->topics[i].message);
	}
	return w->err;
}
