/*
 * kwire — shared pieces of broker/wire's decoders (see kwire.h).
 */
#include "kwire.h"

#include "err.h"

#include <stdlib.h>

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
