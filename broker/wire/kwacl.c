/*
 * kwacl — DescribeAcls, CreateAcls and DeleteAcls on the broker's side (see kwacl.h).
 */
#include "kwacl.h"

#include "buf.h"
#include "err.h"
#include "kwire.h"

#include <stdlib.h>
#include <string.h>

/* A (nullable) STRING copied into a new NUL-terminated one in *out (NULL for null). */
static int kwacl_str(struct rbuf *r, bool nullable, const char **out)
{
	const uint8_t *p;
	int32_t len;
	*out = NULL;
	if (rbuf_bytes_i16(r, KWIRE_MAX_STR, &p, &len))
		return ERR_PROTO;
	if (len < 0)
		return nullable ? 0 : ERR_PROTO;
	if (memchr(p, '\0', (size_t)len))
		return ERR_PROTO;
	char *s = kwire_strndup(p, (size_t)len);
	if (!s)
		return ERR_NOMEM;
	*out = s;
	return 0;
}

static int kwacl_binding_read(struct rbuf *r, int16_t ver, bool nullable, struct kwacl_binding *b)
{
	int rc;
	b->pattern = 3; /* LITERAL */
	rbuf_u8(r, (uint8_t *)&b->rtype);
	if ((rc = kwacl_str(r, nullable, &b->name)))
		return rc;
	if (ver >= 1)
		rbuf_u8(r, (uint8_t *)&b->pattern);
	if ((rc = kwacl_str(r, nullable, &b->principal)) || (rc = kwacl_str(r, nullable, &b->host)))
		return rc;
	rbuf_u8(r, (uint8_t *)&b->op);
	rbuf_u8(r, (uint8_t *)&b->perm);
	return r->err ? ERR_PROTO : 0;
}

int kwacl_req_decode(struct rbuf *r, int16_t api, int16_t ver, struct kwacl_req *out)
{
	memset(out, 0, sizeof(*out));
	if (ver < 0 || ver > KWACL_MAX_VERSION ||
	    (api != KWACL_API_DESCRIBE && api != KWACL_API_CREATE && api != KWACL_API_DELETE))
		return ERR_PROTO;
	int32_t n = 1;
	if (api != KWACL_API_DESCRIBE) {
		/* a binding is at least 3 bytes of enums and three 2-byte lengths */
		n = kwire_count_read(r, 9);
		if (n < 0) /* null or over the caps */
			return ERR_PROTO;
	}
	if (n == 0)
		return 0;
	out->b = calloc((size_t)n, sizeof(*out->b));
	if (!out->b)
		return ERR_NOMEM;
	for (int32_t i = 0; i < n; i++) {
		out->n = i + 1;
		int rc = kwacl_binding_read(r, ver, api != KWACL_API_CREATE, &out->b[i]);
		if (rc)
			return rc;
	}
	return 0;
}

void kwacl_req_free(struct kwacl_req *q)
{
	if (!q)
		return;
	for (int32_t i = 0; i < q->n; i++) {
		free((char *)q->b[i].name);
		free((char *)q->b[i].principal);
		free((char *)q->b[i].host);
	}
	free(q->b);
	memset(q, 0, sizeof(*q));
}

static void kwacl_binding_write(struct wbuf *w, int16_t ver, const struct kwacl_binding *b)
{
	wbuf_u8(w, (uint8_t)b->rtype);
	wbuf_str_i16(w, b->name);
	if (ver >= 1)
		wbuf_u8(w, (uint8_t)b->pattern);
	wbuf_str_i16(w, b->principal);
	wbuf_str_i16(w, b->host);
	wbuf_u8(w, (uint8_t)b->op);
	wbuf_u8(w, (uint8_t)b->perm);
}

int kwacl_req_encode(struct wbuf *w, int16_t api, int16_t ver, const struct kwacl_req *q)
{
	if (api == KWACL_API_DESCRIBE) {
		kwacl_binding_write(w, ver, &q->b[0]);
		return w->err;
	}
	wbuf_i32(w, q->n);
	for (int32_t i = 0; i < q->n; i++)
		kwacl_binding_write(w, ver, &q->b[i]);
	return w->err;
}

static bool kwacl_same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool kwacl_same_resource(const struct kwacl_binding *a, const struct kwacl_binding *b)
{
	return a->rtype == b->rtype && a->pattern == b->pattern && kwacl_same_str(a->name, b->name);
}

int kwacl_describe_resp_encode(struct wbuf *w, int16_t ver, int32_t throttle_ms, struct kwacl_result res,
			       const struct kwacl_binding *b, int32_t n)
{
	wbuf_i32(w, throttle_ms);
	wbuf_i16(w, res.error);
	wbuf_str_i16(w, res.message);
	int32_t nres = 0;
	for (int32_t i = 0; i < n; i++)
		nres += i == 0 || !kwacl_same_resource(&b[i - 1], &b[i]);
	wbuf_i32(w, nres);
	for (int32_t i = 0; i < n;) {
		int32_t j = i + 1;
		while (j < n && kwacl_same_resource(&b[i], &b[j]))
			j++;
		wbuf_u8(w, (uint8_t)b[i].rtype);
		wbuf_str_i16(w, b[i].name);
		if (ver >= 1)
			wbuf_u8(w, (uint8_t)b[i].pattern);
		wbuf_i32(w, j - i);
		for (int32_t k = i; k < j; k++) {
			wbuf_str_i16(w, b[k].principal);
			wbuf_str_i16(w, b[k].host);
			wbuf_u8(w, (uint8_t)b[k].op);
			wbuf_u8(w, (uint8_t)b[k].perm);
		}
		i = j;
	}
	return w->err;
}

int kwacl_create_resp_encode(struct wbuf *w, int16_t ver, int32_t throttle_ms, const struct kwacl_result *r,
			     int32_t n)
{
	(void)ver; /* v1 only widens the request */
	wbuf_i32(w, throttle_ms);
	wbuf_i32(w, n);
	for (int32_t i = 0; i < n; i++) {
		wbuf_i16(w, r[i].error);
		wbuf_str_i16(w, r[i].message);
	}
	return w->err;
}

int kwacl_delete_resp_encode(struct wbuf *w, int16_t ver, int32_t throttle_ms, const struct kwacl_delete_result *r,
			     int32_t n)
{
	wbuf_i32(w, throttle_ms);
	wbuf_i32(w, n);
	for (int32_t i = 0; i < n; i++) {
		wbuf_i16(w, r[i].res.error);
		wbuf_str_i16(w, r[i].res.message);
		wbuf_i32(w, r[i].n);
		for (int32_t k = 0; k < r[i].n; k++) {
			wbuf_i16(w, 0);
			wbuf_str_i16(w, NULL);
			kwacl_binding_write(w, ver, &r[i].matches[k]);
		}
	}
	return w->err;
}

/* ---- responses, as kafka-acls reads them ---- */

/* Appends one zeroed binding to p->b (grown by doubling); NULL without memory. */
static struct kwacl_binding *kwacl_resp_push(struct kwacl_resp *p, size_t *cap)
{
	if (kwire_grow((void **)&p->b, cap, (size_t)p->nb + 1, sizeof(*p->b)))
		return NULL;
	struct kwacl_binding *b = &p->b[p->nb++];
	memset(b, 0, sizeof(*b));
	return b;
}

/* DescribeAcls: resources, each with its ACLs (a principal, host, op and perm: 6 bytes at least) */
static int kwacl_describe_resp_read(struct rbuf *r, int16_t ver, struct kwacl_resp *out)
{
	size_t cap = 0;
	int rc;
	rbuf_i16(r, &out->error);
	if ((rc = kwacl_str(r, true, &out->message)))
		return rc;
	int32_t nres = kwire_count_read(r, ver >= 1 ? 8 : 7);
	if (nres < 0)
		return ERR_PROTO;
	for (int32_t i = 0; i < nres; i++) {
		struct kwacl_binding res = { .pattern = 3 };
		const char *name = NULL;
		rbuf_u8(r, (uint8_t *)&res.rtype);
		if ((rc = kwacl_str(r, false, &name)))
			return rc;
		if (ver >= 1)
			rbuf_u8(r, (uint8_t *)&res.pattern);
		int32_t nacl = kwire_count_read(r, 6);
		if (nacl < 0) {
			free((char *)name);
			return ERR_PROTO;
		}
		for (int32_t k = 0; k < nacl; k++) {
			struct kwacl_binding *b = kwacl_resp_push(out, &cap);
			if (!b || !(b->name = kwire_strndup((const uint8_t *)name, strlen(name)))) {
				free((char *)name);
				return ERR_NOMEM;
			}
			b->rtype = res.rtype;
			b->pattern = res.pattern;
			if ((rc = kwacl_str(r, false, &b->principal)) || (rc = kwacl_str(r, false, &b->host))) {
				free((char *)name);
				return rc;
			}
			rbuf_u8(r, (uint8_t *)&b->op);
			rbuf_u8(r, (uint8_t *)&b->perm);
		}
		free((char *)name);
		if (r->err)
			return ERR_PROTO;
	}
	return r->err ? ERR_PROTO : 0;
}

int kwacl_resp_decode(struct rbuf *r, int16_t api, int16_t ver, struct kwacl_resp *out)
{
	memset(out, 0, sizeof(*out));
	if (ver < 0 || ver > KWACL_MAX_VERSION ||
	    (api != KWACL_API_DESCRIBE && api != KWACL_API_CREATE && api != KWACL_API_DELETE))
		return ERR_PROTO;
	if (rbuf_i32(r, &out->throttle_ms))
		return ERR_PROTO;
	if (api == KWACL_API_DESCRIBE)
		return kwacl_describe_resp_read(r, ver, out);
	/* a result is an error code and a message's length at least */
	int32_t n = kwire_count_read(r, 4);
	if (n < 0)
		return ERR_PROTO;
	if (n == 0)
		return 0;
	out->res = calloc((size_t)n, sizeof(*out->res));
	if (!out->res || (api == KWACL_API_DELETE && !(out->nmatch = calloc((size_t)n, sizeof(*out->nmatch)))))
		return ERR_NOMEM;
	size_t cap = 0;
	for (int32_t i = 0; i < n; i++) {
		int rc;
		out->n = i + 1;
		rbuf_i16(r, &out->res[i].error);
		if ((rc = kwacl_str(r, true, &out->res[i].message)))
			return rc;
		if (api == KWACL_API_CREATE)
			continue;
		/* a match: error, message, then a binding (3 enums and three lengths) */
		int32_t nm = kwire_count_read(r, 4 + 9);
		if (nm < 0)
			return ERR_PROTO;
		for (int32_t k = 0; k < nm; k++) {
			int16_t err = 0;
			const char *msg = NULL;
			rbuf_i16(r, &err);
			if ((rc = kwacl_str(r, true, &msg)))
				return rc;
			if (err && !out->res[i].error) {
				free((char *)out->res[i].message);
				out->res[i].error = err;
				out->res[i].message = msg;
				msg = NULL;
			}
			free((char *)msg);
			struct kwacl_binding *b = kwacl_resp_push(out, &cap);
			if (!b)
				return ERR_NOMEM;
			out->nmatch[i]++;
			if ((rc = kwacl_binding_read(r, ver, false, b)))
				return rc;
		}
	}
	return r->err ? ERR_PROTO : 0;
}

void kwacl_resp_free(struct kwacl_resp *p)
{
	if (!p)
		return;
	free((char *)p->message);
	for (int32_t i = 0; i < p->n; i++)
		free((char *)p->res[i].message);
	for (int32_t i = 0; i < p->nb; i++) {
		free((char *)p->b[i].name);
		free((char *)p->b[i].principal);
		free((char *)p->b[i].host);
	}
	free(p->res);
	free(p->nmatch);
	free(p->b);
	memset(p, 0, sizeof(*p));
}
