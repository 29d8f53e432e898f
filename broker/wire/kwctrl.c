/*
 * kwctrl — ControlledShutdown and ElectLeaders bodies, the controller's side (see kwctrl.h).
 */
#include "kwctrl.h"

#include "buf.h"
#include "err.h"
#include "kwire.h"

#include <stdlib.h>
#include <string.h>

/* Reads a nullable STRING into a new string (caller frees; NULL for null). 0, ERR_PROTO or
 * ERR_NOMEM. */
static int kwctrl_str(struct rbuf *r, char **out)
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

/* ---- ControlledShutdown ---- */

int kwctrl_cs_req_decode(struct rbuf *r, int16_t ver, struct kwctrl_cs_req *out)
{
	memset(out, 0, sizeof(*out));
	out->broker_id = -1;
	out->broker_epoch = -1;
	if (ver < KWCTRL_SHUTDOWN_MIN_VERSION || ver > KWCTRL_SHUTDOWN_MAX_VERSION || rbuf_i32(r, &out->broker_id))
		return ERR_PROTO;
	if (ver >= 2 && rbuf_i64(r, &out->broker_epoch))
		return ERR_PROTO;
	return 0;
}

int kwctrl_cs_req_encode(struct wbuf *w, int16_t ver, const struct kwctrl_cs_req *q)
{
	wbuf_i32(w, q->broker_id);
	if (ver >= 2)
		wbuf_i64(w, q->broker_epoch);
	return w->err;
}

int kwctrl_cs_resp_encode(struct wbuf *w, const struct kwctrl_cs_resp *p)
{
	wbuf_i16(w, p->error);
	wbuf_i32(w, p->n);
	for (int32_t i = 0; i < p->n; i++) {
		wbuf_str_i16(w, p->remaining[i].topic ? p->remaining[i].topic : "");
		wbuf_i32(w, p->remaining[i].partition);
	}
	return w->err;
}

void kwctrl_cs_resp_free(struct kwctrl_cs_resp *p)
{
	for (int32_t i = 0; p->remaining && i < p->n; i++)
		free((char *)p->remaining[i].topic);
	free(p->remaining);
	memset(p, 0, sizeof(*p));
}

int kwctrl_cs_resp_decode(struct rbuf *r, struct kwctrl_cs_resp *out)
{
	memset(out, 0, sizeof(*out));
	int rc;
	if (rbuf_i16(r, &out->error))
		return ERR_PROTO;
	int32_t n;
	/* a partition: topic, index: 6 bytes at least */
	out->remaining = kwire_array_read(r, 6, sizeof(*out->remaining), false, &n, &rc);
	for (int32_t i = 0; i < n && !rc; i++) {
		char *t = NULL;
		out->n = i + 1;
		if ((rc = kwctrl_str(r, &t)) == 0 && (!t || rbuf_i32(r, &out->remaining[i].partition)))
			rc = ERR_PROTO;
		out->remaining[i].topic = t;
	}
	if (rc)
		kwctrl_cs_resp_free(out);
	return rc;
}

/* ---- ElectLeaders ---- */

void kwctrl_el_req_free(struct kwctrl_el_req *q)
{
	for (int32_t i = 0; q->topics && i < q->n; i++)
		free(q->topics[i].parts);
	free(q->topics);
	memset(q, 0, sizeof(*q));
}

int kwctrl_el_req_decode(struct rbuf *r, int16_t ver, struct kwctrl_el_req *out)
{
	memset(out, 0, sizeof(*out));
	if (ver < 0 || ver > KWCTRL_ELECT_MAX_VERSION)
		return ERR_PROTO;
	if (ver >= 1 && rbuf_u8(r, (uint8_t *)&out->type))
		return ERR_PROTO;
	if (out->type != 0 && out->type != 1)
		return ERR_PROTO;
	int rc = 0;
	int32_t n;
	/* a topic: name, partitions count: 6 bytes at least */
	int32_t c = kwire_count_read(r, 6);
	if (c == -2 || r->err)
		return ERR_PROTO;
	if (c == -1) {
		out->n = -1;
	} else if (c > 0) {
		if (!(out->topics = calloc((size_t)c, sizeof(*out->topics))))
			return ERR_NOMEM;
	}
	n = c > 0 ? c : 0;
	int64_t total = 0;
	for (int32_t i = 0; i < n && !rc; i++) {
		struct kwctrl_el_topic *t = &out->topics[i];
		out->n = i + 1;
		t->bad = kwire_str_read(r, t->name, sizeof(t->name), NULL) != 0;
		if (r->err) {
			rc = ERR_PROTO;
			break;
		}
		t->parts = kwire_array_read(r, 4, sizeof(*t->parts), false, &t->n, &rc);
		if (!rc && (total += t->n) > KWIRE_MAX_ITEMS)
			rc = ERR_PROTO;
		for (int32_t k = 0; k < t->n && !rc; k++)
			if (rbuf_i32(r, &t->parts[k]))
				rc = ERR_PROTO;
	}
	if (!rc && rbuf_i32(r, &out->timeout_ms))
		rc = ERR_PROTO;
	if (rc)
		kwctrl_el_req_free(out);
	return rc;
}

int kwctrl_el_req_encode(struct wbuf *w, int16_t ver, const struct kwctrl_el_req *q)
{
	if (ver >= 1)
		wbuf_u8(w, (uint8_t)q->type);
	wbuf_i32(w, q->n < 0 ? -1 : q->n);
	for (int32_t i = 0; i < q->n; i++) {
		wbuf_str_i16(w, q->topics[i].name);
		wbuf_i32(w, q->topics[i].n);
		for (int32_t k = 0; k < q->topics[i].n; k++)
			wbuf_i32(w, q->topics[i].parts[k]);
	}
	wbuf_i32(w, q->timeout_ms);
	return w->err;
}

int kwctrl_el_resp_encode(struct wbuf *w, int16_t ver, const struct kwctrl_el_resp *p)
{
	wbuf_i32(w, p->throttle_ms);
	if (ver >= 1)
		wbuf_i16(w, p->error);
	wbuf_i32(w, p->n);
	for (int32_t i = 0; i < p->n; i++) {
		const struct kwctrl_el_tresp *t = &p->topics[i];
		wbuf_str_i16(w, t->topic ? t->topic : "");
		wbuf_i32(w, t->n);
		for (int32_t k = 0; k < t->n; k++) {
			wbuf_i32(w, t->parts[k].partition);
			wbuf_i16(w, t->parts[k].error);
			wbuf_str_i16(w, t->parts[k].message);
		}
	}
	return w->err;
}

void kwctrl_el_resp_free(struct kwctrl_el_resp *p)
{
	for (int32_t i = 0; p->topics && i < p->n; i++) {
		struct kwctrl_el_tresp *t = &p->topics[i];
		free((char *)t->topic);
		for (int32_t k = 0; t->parts && k < t->n; k++)
			free((char *)t->parts[k].message);
		free(t->parts);
	}
	free(p->topics);
	memset(p, 0, sizeof(*p));
}

int kwctrl_el_resp_decode(struct rbuf *r, int16_t ver, struct kwctrl_el_resp *out)
{
	memset(out, 0, sizeof(*out));
	int rc;
	if (ver < 0 || ver > KWCTRL_ELECT_MAX_VERSION || rbuf_i32(r, &out->throttle_ms) ||
	    (ver >= 1 && rbuf_i16(r, &out->error)))
		return ERR_PROTO;
	int32_t n;
	/* a topic: name, partitions count: 6 bytes at least */
	out->topics = kwire_array_read(r, 6, sizeof(*out->topics), false, &n, &rc);
	for (int32_t i = 0; i < n && !rc; i++) {
		struct kwctrl_el_tresp *t = &out->topics[i];
		char *name = NULL;
		out->n = i + 1;
		if ((rc = kwctrl_str(r, &name)) == 0 && !name)
			rc = ERR_PROTO;
		t->topic = name;
		if (rc)
			break;
		int32_t np;
		/* a partition: index, error, message: 8 bytes at least */
		t->parts = kwire_array_read(r, 8, sizeof(*t->parts), false, &np, &rc);
		for (int32_t k = 0; k < np && !rc; k++) {
			char *msg = NULL;
			t->n = k + 1;
			if (rbuf_i32(r, &t->parts[k].partition) || rbuf_i16(r, &t->parts[k].error) ||
			    (rc = kwctrl_str(r, &msg)))
				rc = rc ? rc : ERR_PROTO;
			t->parts[k].message = msg;
		}
	}
	if (rc)
		kwctrl_el_resp_free(out);
	return rc;
}
