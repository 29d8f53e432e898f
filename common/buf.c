/*
 * buf — bounded byte readers and writers (see buf.h). Owns no state beyond the buffers it is
 * handed; the sticky error makes a half-read record fail as a whole.
 */
#include "buf.h"

#include "err.h"

#include <stdlib.h>
#include <string.h>

static int rbuf_fail(struct rbuf *r, int err)
{
	if (!r->err)
		r->err = err;
	return r->err;
}

static int rbuf_need(struct rbuf *r, size_t n)
{
	if (r->err)
		return r->err;
	if (r->len - r->pos < n)
		return rbuf_fail(r, ERR_TRUNC);
	return 0;
}

int rbuf_raw(struct rbuf *r, size_t n, const uint8_t **out)
{
	int rc = rbuf_need(r, n);
	if (rc) {
		*out = NULL;
		return rc;
	}
	*out = r->p + r->pos;
	r->pos += n;
	return 0;
}

int rbuf_skip(struct rbuf *r, size_t n)
{
	const uint8_t *p;
	return rbuf_raw(r, n, &p);
}

int rbuf_u8(struct rbuf *r, uint8_t *out)
{
	const uint8_t *p;
	int rc = rbuf_raw(r, 1, &p);
	*out = rc ? 0 : p[0];
	return rc;
}

int rbuf_bool(struct rbuf *r, bool *out)
{
	uint8_t v;
	int rc = rbuf_u8(r, &v);
	*out = v != 0;
	return rc;
}

int rbuf_i16(struct rbuf *r, int16_t *out)
{
	const uint8_t *p;
	int rc = rbuf_raw(r, 2, &p);
	*out = rc ? 0 : (int16_t)(uint16_t)(((uint16_t)p[0] << 8) | p[1]);
	return rc;
}

int rbuf_u32(struct rbuf *r, uint32_t *out)
{
	const uint8_t *p;
	int rc = rbuf_raw(r, 4, &p);
	*out = rc ? 0 : be32_get(p);
	return rc;
}

int rbuf_i32(struct rbuf *r, int32_t *out)
{
	uint32_t v;
	int rc = rbuf_u32(r, &v);
	*out = (int32_t)v;
	return rc;
}

int rbuf_i64(struct rbuf *r, int64_t *out)
{
	const uint8_t *p;
	int rc = rbuf_raw(r, 8, &p);
	*out = rc ? 0 : (int64_t)(((uint64_t)be32_get(p) << 32) | be32_get(p + 4));
	return rc;
}

static int rbuf_uvarint64(struct rbuf *r, unsigned maxbytes, uint64_t *out)
{
	uint64_t v = 0;
	*out = 0;
	for (unsigned i = 0; i < maxbytes; i++) {
		uint8_t b;
		int rc = rbuf_u8(r, &b);
		if (rc)
			return rc;
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return rbuf_fail(r, ERR_CORRUPT);
}

int rbuf_uvarint(struct rbuf *r, uint32_t *out)
{
	uint64_t v;
	int rc = rbuf_uvarint64(r, 5, &v);
	if (!rc && v > UINT32_MAX)
		rc = rbuf_fail(r, ERR_CORRUPT);
	*out = rc ? 0 : (uint32_t)v;
	return rc;
}

int rbuf_varint(struct rbuf *r, int32_t *out)
{
	uint32_t u;
	int rc = rbuf_uvarint(r, &u);
	*out = rc ? 0 : (int32_t)((u >> 1) ^ (~(u & 1) + 1));
	return rc;
}

int rbuf_varlong(struct rbuf *r, int64_t *out)
{
	uint64_t u;
	int rc = rbuf_uvarint64(r, 10, &u);
	*out = rc ? 0 : (int64_t)((u >> 1) ^ (~(u & 1) + 1));
	return rc;
}

/* Common tail of the length-prefixed readers: len already decoded (-1 = null). */
static int rbuf_bytes_body(struct rbuf *r, int64_t len, size_t max, const uint8_t **out, int32_t *olen)
{
	*out = NULL;
	*olen = 0;
	if (r->err)
		return r->err;
	if (len == -1) {
		*olen = -1;
		return 0;
	}
	if (len < 0)
		return rbuf_fail(r, ERR_CORRUPT);
	if ((uint64_t)len > max || len > INT32_MAX)
		return rbuf_fail(r, ERR_TOOBIG);
	int rc = rbuf_raw(r, (size_t)len, out);
	if (!rc)
		*olen = (int32_t)len;
	return rc;
}

int rbuf_bytes_i16(struct rbuf *r, size_t max, const uint8_t **out, int32_t *len)
{
	int16_t n;
	rbuf_i16(r, &n);
	return rbuf_bytes_body(r, n, max, out, len);
}

int rbuf_bytes_i32(struct rbuf *r, size_t max, const uint8_t **out, int32_t *len)
{
	int32_t n;
	rbuf_i32(r, &n);
	return rbuf_bytes_body(r, n, max, out, len);
}

int rbuf_bytes_compact(struct rbuf *r, size_t max, const uint8_t **out, int32_t *len)
{
	uint32_t n;
	rbuf_uvarint(r, &n);
	return rbuf_bytes_body(r, (int64_t)n - 1, max, out, len);
}

int rbuf_bytes_varint(struct rbuf *r, size_t max, const uint8_t **out, int32_t *len)
{
	int32_t n;
	rbuf_varint(r, &n);
	return rbuf_bytes_body(r, n, max, out, len);
}

int rbuf_count_i32(struct rbuf *r, int32_t max, size_t min_elem_size, int32_t *count)
{
	int32_t n;
	*count = 0;
	if (rbuf_i32(r, &n))
		return r->err;
	if (n == -1) {
		*count = -1;
		return 0;
	}
	if (n < 0)
		return rbuf_fail(r, ERR_CORRUPT);
	if (n > max)
		return rbuf_fail(r, ERR_TOOBIG);
	if (min_elem_size && (size_t)n > rbuf_left(r) / min_elem_size)
		return rbuf_fail(r, ERR_TRUNC);
	*count = n;
	return 0;
}

int rbuf_count_compact(struct rbuf *r, int32_t max, size_t min_elem_size, int32_t *count)
{
	uint32_t u;
	*count = 0;
	if (rbuf_uvarint(r, &u))
		return r->err;
	if (u == 0) {
		*count = -1;
		return 0;
	}
	if (u - 1 > (uint32_t)max)
		return rbuf_fail(r, ERR_TOOBIG);
	if (min_elem_size && (size_t)(u - 1) > rbuf_left(r) / min_elem_size)
		return rbuf_fail(r, ERR_TRUNC);
	*count = (int32_t)(u - 1);
	return 0;
}

int rbuf_tags_skip(struct rbuf *r, uint32_t *skipped)
{
	uint32_t n;
	if (rbuf_uvarint(r, &n))
		return r->err;
	/* each field takes at least two bytes (its tag and its size): a count over the bytes left
	 * is refused before the walk */
	if (n > rbuf_left(r) / 2)
		return rbuf_fail(r, ERR_TRUNC);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t tag, size;
		rbuf_uvarint(r, &tag);
		rbuf_uvarint(r, &size);
		if (rbuf_skip(r, size))
			return r->err;
	}
	*skipped += n;
	return 0;
}

/* ---- writer ---- */

void wbuf_init(struct wbuf *w, size_t max)
{
	w->p = NULL;
	w->len = 0;
	w->cap = 0;
	w->max = max;
	w->err = 0;
}

void wbuf_free(struct wbuf *w)
{
	if (!w)
		return;
	free(w->p);
	w->p = NULL;
	w->len = 0;
	w->cap = 0;
	w->err = 0;
}

void wbuf_reset(struct wbuf *w)
{
	w->len = 0;
	w->err = 0;
}

uint8_t *wbuf_reserve(struct wbuf *w, size_t n)
{
	if (w->err)
		return NULL;
	if (n > w->max || w->len > w->max - n) {
		w->err = ERR_TOOBIG;
		return NULL;
	}
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 64;
		while (cap < w->len + n)
			cap *= 2;
		if (cap > w->max)
			cap = w->max;
		uint8_t *np = realloc(w->p, cap);
		if (!np) {
			w->err = ERR_NOMEM;
			return NULL;
		}
		w->p = np;
		w->cap = cap;
	}
	return w->p + w->len;
}

int wbuf_raw(struct wbuf *w, const void *p, size_t n)
{
	uint8_t *d = wbuf_reserve(w, n);
	if (!d)
		return w->err;
	if (n)
		memcpy(d, p, n);
	w->len += n;
	return 0;
}

int wbuf_u8(struct wbuf *w, uint8_t v)
{
	return wbuf_raw(w, &v, 1);
}

int wbuf_bool(struct wbuf *w, bool v)
{
	return wbuf_u8(w, v ? 1 : 0);
}

int wbuf_i16(struct wbuf *w, int16_t v)
{
	uint8_t b[2] = { (uint8_t)((uint16_t)v >> 8), (uint8_t)v };
	return wbuf_raw(w, b, 2);
}

int wbuf_u32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4];
	be32_put(b, v);
	return wbuf_raw(w, b, 4);
}

int wbuf_i32(struct wbuf *w, int32_t v)
{
	return wbuf_u32(w, (uint32_t)v);
}

int wbuf_i64(struct wbuf *w, int64_t v)
{
	uint8_t b[8];
	be32_put(b, (uint32_t)((uint64_t)v >> 32));
	be32_put(b + 4, (uint32_t)v);
	return wbuf_raw(w, b, 8);
}

static int wbuf_uvarint64(struct wbuf *w, uint64_t v)
{
	uint8_t b[10];
	size_t n = 0;
	while (v >= 0x80) {
		b[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b[n++] = (uint8_t)v;
	return wbuf_raw(w, b, n);
}

int wbuf_uvarint(struct wbuf *w, uint32_t v)
{
	return wbuf_uvarint64(w, v);
}

int wbuf_varint(struct wbuf *w, int32_t v)
{
	return wbuf_uvarint64(w, ((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

int wbuf_varlong(struct wbuf *w, int64_t v)
{
	return wbuf_uvarint64(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

int wbuf_bytes_i16(struct wbuf *w, const void *p, int32_t len)
{
	if (!p)
		return wbuf_i16(w, -1);
	if (len < 0 || len > INT16_MAX) {
		w->err = w->err ? w->err : ERR_TOOBIG;
		return w->err;
	}
	wbuf_i16(w, (int16_t)len);
	return wbuf_raw(w, p, (size_t)len);
}

int wbuf_bytes_i32(struct wbuf *w, const void *p, int32_t len)
{
	if (!p)
		return wbuf_i32(w, -1);
	wbuf_i32(w, len);
	return wbuf_raw(w, p, (size_t)len);
}

int wbuf_bytes_compact(struct wbuf *w, const void *p, int32_t len)
{
	if (!p)
		return wbuf_uvarint(w, 0);
	wbuf_uvarint(w, (uint32_t)len + 1);
	return wbuf_raw(w, p, (size_t)len);
}

int wbuf_bytes_varint(struct wbuf *w, const void *p, int32_t len)
{
	if (!p)
		return wbuf_varint(w, -1);
	wbuf_varint(w, len);
	return wbuf_raw(w, p, (size_t)len);
}

int wbuf_str_i32(struct wbuf *w, const char *s)
{
	return wbuf_bytes_i32(w, s, s ? (int32_t)strlen(s) : -1);
}

int wbuf_str_i16(struct wbuf *w, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n > INT16_MAX) {
		w->err = w->err ? w->err : ERR_TOOBIG;
		return w->err;
	}
	return wbuf_bytes_i16(w, s, (int32_t)n);
}

void wbuf_put_i32_at(struct wbuf *w, size_t off, int32_t v)
{
	if (!w->err && off + 4 <= w->len)
		be32_put(w->p + off, (uint32_t)v);
}

size_t utf8_put(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

int hex4_get(const char *s, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}
