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

int kwacl_describe_resp_head_decode(struct rbuf *r, int16_t ver, struct kwacl_describe_head *out)
{
	(void)ver; /* the head is the same in v0 and v1 */
	memset(out, 0, sizeof(*out));
	rbuf_i32(r, &out->throttle_ms);
	rbuf_i16(r, &out->error);
	rbuf_bytes_i16(r, KWIRE_MAX_STR, &out->message, &out->message_len);
	if (r->err) {
		out->message = NULL;
		out->message_len = -1;
		return ERR_PROTO;
	}
	return 0;
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
