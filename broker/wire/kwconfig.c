/*
 * kwconfig — DescribeConfigs, AlterConfigs, IncrementalAlterConfigs bodies (see kwconfig.h).
 */
#include "kwconfig.h"

#include "buf.h"
#include "err.h"
#include "kwire.h"

#include <stdlib.h>
#include <string.h>

/* Reads a nullable STRING into a new string (caller frees; NULL for null); *nul tells a NUL
 * inside (the copy is cut there). 0, ERR_PROTO or ERR_NOMEM. */
static int kwconfig_str(struct rbuf *r, char **out, bool *nul)
{
	const uint8_t *p;
	int32_t len;
	*out = NULL;
	if (nul)
		*nul = false;
	if (rbuf_bytes_i16(r, KWIRE_MAX_STR, &p, &len))
		return ERR_PROTO;
	if (len < 0)
		return 0;
	if (nul && memchr(p, '\0', (size_t)len))
		*nul = true;
	*out = kwire_strndup(p, (size_t)len);
	return *out ? 0 : ERR_NOMEM;
}

/* A resource's name: never NULL ("" for null). */
static int kwconfig_name(struct rbuf *r, char **out, bool *nul)
{
	int rc = kwconfig_str(r, out, nul);
	if (!rc && !*out && !(*out = calloc(1, 1)))
		rc = ERR_NOMEM;
	return rc;
}

/* ---- DescribeConfigs ---- */

void kwconfig_dc_req_free(struct kwconfig_dc_req *q)
{
	for (int32_t i = 0; q->res && i < q->n; i++) {
		struct kwconfig_dc_rreq *x = &q->res[i];
		free(x->name);
		for (int32_t k = 0; x->keys && k < x->nkeys; k++)
			free(x->keys[k]);
		free(x->keys);
	}
	free(q->res);
	memset(q, 0, sizeof(*q));
}

int kwconfig_dc_req_decode(struct rbuf *r, int16_t ver, struct kwconfig_dc_req *out)
{
	memset(out, 0, sizeof(*out));
	if (ver < 0 || ver > KWCONFIG_DESCRIBE_MAX_VERSION)
		return ERR_PROTO;
	int rc;
	/* a resource: type, name, keys count: 7 bytes at least */
	out->res = kwire_array_read(r, 7, sizeof(*out->res), false, &out->n, &rc);
	for (int32_t i = 0; i < out->n && !rc; i++) {
		struct kwconfig_dc_rreq *x = &out->res[i];
		x->nkeys = -1;
		if (rbuf_u8(r, &x->type)) {
			rc = ERR_PROTO;
			break;
		}
		if ((rc = kwconfig_name(r, &x->name, &x->bad_name)))
			break;
		int32_t nk = kwire_count_read(r, 2);
		if (nk == -2 || r->err) {
			rc = ERR_PROTO;
			break;
		}
		if (nk >= 0 && !(x->keys = calloc((size_t)(nk ? nk : 1), sizeof(*x->keys)))) {
			rc = ERR_NOMEM;
			break;
		}
		x->nkeys = nk >= 0 ? 0 : -1;
		for (int32_t k = 0; k < nk && !rc; k++) {
			rc = kwconfig_str(r, &x->keys[k], NULL);
			if (!rc && !x->keys[k] && !(x->keys[k] = calloc(1, 1)))
				rc = ERR_NOMEM;
			if (!rc)
				x->nkeys = k + 1;
		}
	}
	if (!rc && ver >= 1 && rbuf_bool(r, &out->synonyms))
		rc = ERR_PROTO;
	if (rc)
		kwconfig_dc_req_free(out);
	return rc;
}

int kwconfig_dc_req_encode(struct wbuf *w, int16_t ver, const struct kwconfig_dc_req *q)
{
	wbuf_i32(w, q->n);
	for (int32_t i = 0; i < q->n; i++) {
		const struct kwconfig_dc_rreq *x = &q->res[i];
		wbuf_u8(w, x->type);
		wbuf_str_i16(w, x->name ? x->name : "");
		wbuf_i32(w, x->nkeys < 0 ? -1 : x->nkeys);
		for (int32_t k = 0; k < x->nkeys; k++)
			wbuf_str_i16(w, x->keys[k]);
	}
	if (ver >= 1)
		wbuf_bool(w, q->synonyms);
	return w->err;
}

int kwconfig_dc_resp_encode(struct wbuf *w, int16_t ver, const struct kwconfig_dc_resp *p)
{
	wbuf_i32(w, p->throttle_ms);
	wbuf_i32(w, p->n);
	for (int32_t i = 0; i < p->n; i++) {
		const struct kwconfig_dc_rresp *x = &p->res[i];
		wbuf_i16(w, x->error);
		wbuf_str_i16(w, x->message);
		wbuf_u8(w, x->type);
		wbuf_str_i16(w, x->name ? x->name : "");
		wbuf_i32(w, x->n);
		for (int32_t k = 0; k < x->n; k++) {
			const struct kwconfig_entry_out *e = &x->entries[k];
			wbuf_str_i16(w, e->name ? e->name : "");
			wbuf_str_i16(w, e->value);
			wbuf_bool(w, e->read_only);
			if (ver == 0)
				wbuf_bool(w, e->source == KWCONFIG_SRC_DEFAULT);
			else
				wbuf_u8(w, (uint8_t)e->source);
			wbuf_bool(w, e->sensitive);
			if (ver >= 1) {
				int32_t ns = e->nsyn < 0 ? 0 : e->nsyn > KWCONFIG_MAX_SYN ? KWCONFIG_MAX_SYN : e->nsyn;
				wbuf_i32(w, ns);
				for (int32_t s = 0; s < ns; s++) {
					wbuf_str_i16(w, e->syn[s].name ? e->syn[s].name : "");
					wbuf_str_i16(w, e->syn[s].value);
					wbuf_u8(w, (uint8_t)e->syn[s].source);
				}
			}
		}
	}
	return w->err;
}

void kwconfig_dc_resp_free(struct kwconfig_dc_resp *p)
{
	for (int32_t i = 0; p->res && i < p->n; i++) {
		struct kwconfig_dc_rresp *x = &p->res[i];
		free(x->message);
		free(x->name);
		for (int32_t k = 0; x->entries && k < x->n; k++) {
			struct kwconfig_entry_out *e = &x->entries[k];
			free(e->name);
			free(e->value);
			for (int32_t s = 0; s < e->nsyn && s < KWCONFIG_MAX_SYN; s++) {
				free(e->syn[s].name);
				free(e->syn[s].value);
			}
		}
		free(x->entries);
	}
	free(p->res);
	memset(p, 0, sizeof(*p));
}

int kwconfig_dc_resp_decode(struct rbuf *r, int16_t ver, struct kwconfig_dc_resp *out)
{
	memset(out, 0, sizeof(*out));
	if (ver < 0 || ver > KWCONFIG_DESCRIBE_MAX_VERSION || rbuf_i32(r, &out->throttle_ms))
		return ERR_PROTO;
	int rc;
	/* a result: error, message, type, name, count: 11 bytes at least */
	out->res = kwire_array_read(r, 11, sizeof(*out->res), false, &out->n, &rc);
	for (int32_t i = 0; i < out->n && !rc; i++) {
		struct kwconfig_dc_rresp *x = &out->res[i];
		if (rbuf_i16(r, &x->error) || (rc = kwconfig_str(r, &x->message, NULL)) || rbuf_u8(r, &x->type) ||
		    (rc = kwconfig_name(r, &x->name, NULL))) {
			rc = rc ? rc : ERR_PROTO;
			break;
		}
		int32_t n;
		/* an entry: name, value, three flags (v1+: and a synonyms count): 7 bytes at least */
		x->entries = kwire_array_read(r, 7, sizeof(*x->entries), false, &n, &rc);
		for (int32_t k = 0; k < n && !rc; k++) {
			struct kwconfig_entry_out *e = &x->entries[k];
			x->n = k + 1;
			bool dflt = false;
			if ((rc = kwconfig_name(r, &e->name, NULL)) || (rc = kwconfig_str(r, &e->value, NULL)))
				break;
			if (rbuf_bool(r, &e->read_only) ||
			    (ver == 0 ? rbuf_bool(r, &dflt) : rbuf_u8(r, (uint8_t *)&e->source)) ||
			    rbuf_bool(r, &e->sensitive)) {
				rc = ERR_PROTO;
				break;
			}
			if (ver == 0)
				e->source = dflt ? KWCONFIG_SRC_DEFAULT : 0;
			if (ver >= 1) {
				int32_t ns = kwire_count_read(r, 5);
				if (ns < 0 || ns > KWCONFIG_MAX_SYN || r->err) {
					rc = ERR_PROTO;
					break;
				}
				for (int32_t s = 0; s < ns && !rc; s++) {
					e->nsyn = s + 1;
					if ((rc = kwconfig_name(r, &e->syn[s].name, NULL)) ||
					    (rc = kwconfig_str(r, &e->syn[s].value, NULL)))
						break;
					if (rbuf_u8(r, (uint8_t *)&e->syn[s].source))
						rc = ERR_PROTO;
				}
			}
		}
	}
	if (rc)
		kwconfig_dc_resp_free(out);
	return rc;
}

/* ---- AlterConfigs, IncrementalAlterConfigs ---- */

void kwconfig_ac_req_free(struct kwconfig_ac_req *q)
{
	for (int32_t i = 0; q->res && i < q->n; i++) {
		struct kwconfig_ac_rreq *x = &q->res[i];
		free(x->name);
		for (int32_t k = 0; x->entries && k < x->n; k++) {
			free(x->entries[k].name);
			free(x->entries[k].value);
		}
		free(x->entries);
	}
	free(q->res);
	memset(q, 0, sizeof(*q));
}

/* One entry: name, (incremental: operation), value. */
static int kwconfig_ac_entry(struct rbuf *r, bool incremental, struct kwconfig_ac_rreq *x,
			     struct kwconfig_entry_in *e)
{
	bool knul = false, vnul = false;
	uint8_t op = KWCONFIG_OP_SET;
	int rc = kwconfig_str(r, &e->name, &knul);
	if (!rc && incremental && rbuf_u8(r, &op))
		rc = ERR_PROTO;
	if (!rc)
		rc = kwconfig_str(r, &e->value, &vnul);
	if (rc)
		return rc;
	e->op = (int8_t)op;
	if (!e->name || !e->name[0] || knul || vnul || e->op < KWCONFIG_OP_SET || e->op > KWCONFIG_OP_SUBTRACT) {
		x->bad_entry = true;
		free(e->name);
		e->name = NULL;
	}
	return 0;
}

int kwconfig_ac_req_decode(struct rbuf *r, bool incremental, int16_t ver, struct kwconfig_ac_req *out)
{
	memset(out, 0, sizeof(*out));
	if (ver < 0 || ver > (incremental ? KWCONFIG_INCREMENTAL_MAX_VERSION : KWCONFIG_ALTER_MAX_VERSION))
		return ERR_PROTO;
	int rc;
	/* a resource: type, name, entries count: 7 bytes at least */
	out->res = kwire_array_read(r, 7, sizeof(*out->res), false, &out->n, &rc);
	for (int32_t i = 0; i < out->n && !rc; i++) {
		struct kwconfig_ac_rreq *x = &out->res[i];
		if (rbuf_u8(r, &x->type)) {
			rc = ERR_PROTO;
			break;
		}
		if ((rc = kwconfig_name(r, &x->name, &x->bad_name)))
			break;
		int32_t n;
		x->entries = kwire_array_read(r, incremental ? 5 : 4, sizeof(*x->entries), false, &n, &rc);
		for (int32_t k = 0; k < n && !rc; k++) {
			x->n = k + 1;
			rc = kwconfig_ac_entry(r, incremental, x, &x->entries[k]);
		}
	}
	if (!rc && rbuf_bool(r, &out->validate_only))
		rc = ERR_PROTO;
	if (rc)
		kwconfig_ac_req_free(out);
	return rc;
}

int kwconfig_ac_req_encode(struct wbuf *w, bool incremental, int16_t ver, const struct kwconfig_ac_req *q)
{
	(void)ver;
	wbuf_i32(w, q->n);
	for (int32_t i = 0; i < q->n; i++) {
		const struct kwconfig_ac_rreq *x = &q->res[i];
		wbuf_u8(w, x->type);
		wbuf_str_i16(w, x->name ? x->name : "");
		wbuf_i32(w, x->n);
		for (int32_t k = 0; k < x->n; k++) {
			wbuf_str_i16(w, x->entries[k].name);
			if (incremental)
				wbuf_u8(w, (uint8_t)x->entries[k].op);
			wbuf_str_i16(w, x->entries[k].value);
		}
	}
	wbuf_bool(w, q->validate_only);
	return w->err;
}

int kwconfig_ac_resp_encode(struct wbuf *w, const struct kwconfig_ac_resp *p)
{
	wbuf_i32(w, p->throttle_ms);
	wbuf_i32(w, p->n);
	for (int32_t i = 0; i < p->n; i++) {
		wbuf_i16(w, p->res[i].error);
		wbuf_str_i16(w, p->res[i].message);
		wbuf_u8(w, p->res[i].type);
		wbuf_str_i16(w, p->res[i].name ? p->res[i].name : "");
	}
	return w->err;
}

void kwconfig_ac_resp_free(struct kwconfig_ac_resp *p)
{
	for (int32_t i = 0; p->res && i < p->n; i++) {
		free((char *)p->res[i].message);
		free((char *)p->res[i].name);
	}
	free(p->res);
	memset(p, 0, sizeof(*p));
}

int kwconfig_ac_resp_decode(struct rbuf *r, struct kwconfig_ac_resp *out)
{
	memset(out, 0, sizeof(*out));
	int rc;
	if (rbuf_i32(r, &out->throttle_ms))
		return ERR_PROTO;
	/* a result: error, message, type, name: 7 bytes at least */
	int32_t n;
	struct kwconfig_ac_rresp *v = kwire_array_read(r, 7, sizeof(*v), false, &n, &rc);
	out->res = v;
	for (int32_t i = 0; i < n && !rc; i++) {
		char *msg = NULL, *name = NULL;
		out->n = i + 1;
		if (rbuf_i16(r, &v[i].error) || (rc = kwconfig_str(r, &msg, NULL)) || rbuf_u8(r, &v[i].type) ||
		    (rc = kwconfig_name(r, &name, NULL)))
			rc = rc ? rc : ERR_PROTO;
		v[i].message = msg;
		v[i].name = name;
	}
	if (rc)
		kwconfig_ac_resp_free(out);
	return rc;
}
