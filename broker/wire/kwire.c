/*
 * kwire — shared pieces of broker/wire's decoders (see kwire.h).
 */
#include "kwire.h"

#include "buf.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

int kwire_grow(void **v, size_t *cap, size_t need, size_t sz)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 8;
	while (n < need)
		n *= 2;
	void *p = realloc(*v, n * sz);
	if (!p)
		return ERR_NOMEM;
	*v = p;
	*cap = n;
	return 0;
}

/* What rbuf's errors mean in a response. */
static const char *kwire_why(int rc)
{
	switch (rc) {
	case ERR_TRUNC:
		return "truncated";
	case ERR_TOOBIG:
		return "a count or length over its cap";
	case ERR_CORRUPT:
		return "a negative count or length";
	case ERR_PROTO:
		return "a null where the schema has none";
	default:
		return err_str(rc);
	}
}

int kwire_fail(char *eb, size_t el, int rc, const char *what, size_t pos, size_t len)
{
	if (rc == ERR_NOMEM)
		return err_set(eb, el, rc, "%s: out of memory", what);
	return err_set(eb, el, rc, "%s: %s at byte %zu of %zu", what, kwire_why(rc), pos, len);
}

int kwire_str_read(struct rbuf *r, char *out, size_t n, bool *null)
{
	const uint8_t *p;
	int32_t len;
	out[0] = '\0';
	if (null)
		*null = false;
	if (rbuf_bytes_i16(r, KWIRE_MAX_STR, &p, &len))
		return r->err;
	if (null)
		*null = len < 0;
	if (len < 0)
		len = 0;
	if ((size_t)len >= n) {
		/* keep the decoding going; the caller sees the name as invalid */
		memcpy(out, p, n - 1);
		out[n - 1] = '\0';
		return 1;
	}
	if (len > 0)
		memcpy(out, p, (size_t)len);
	out[len] = '\0';
	if (memchr(out, '\0', (size_t)len))
		return 1;
	return 0;
}

int32_t kwire_count_read(struct rbuf *r, size_t min_elem)
{
	int32_t n = 0;
	if (rbuf_count_i32(r, KWIRE_MAX_ITEMS, min_elem, &n))
		return -2;
	return n;
}

void *kwire_array_read(struct rbuf *r, size_t min_elem, size_t sz, bool nullable, int32_t *n, int *rc)
{
	*n = 0;
	*rc = 0;
	int32_t c = kwire_count_read(r, min_elem);
	if (c == -2 || r->err || (c == -1 && !nullable)) {
		*rc = ERR_PROTO;
		return NULL;
	}
	if (c <= 0)
		return NULL;
	void *v = calloc((size_t)c, sz);
	if (!v) {
		*rc = ERR_NOMEM;
		return NULL;
	}
	*n = c;
	return v;
}

char *kwire_strndup(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		return NULL;
	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}
