/*
 * Fuzz harness: kwacl, the broker's decoder of DescribeAcls, CreateAcls and DeleteAcls request
 * bodies. Byte 0 picks the API (mod 3: 29, 30, 31) and byte 1 the version (mod 2), the rest is
 * the body after the request header. Any outcome but a crash, a read out of bounds, a leak or a
 * hang is fine; a successful decode must give NUL-terminated strings (non-null in creations)
 * and re-encode to a body that decodes to the same request. The same bytes also go through the
 * response decoder of the same API (kafka-acls's): a success has non-null binding strings and
 * DeleteAcls' matches adding up, and re-encodes to a response that decodes to the same.
 * Seeds: tests/fuzz/make_corpus_kwacl.py.
 */
#include "buf.h"
#include "err.h"
#include "kwacl.h"
#include "kwire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool same_binding(const struct kwacl_binding *a, const struct kwacl_binding *b)
{
	return a->rtype == b->rtype && a->pattern == b->pattern && a->op == b->op && a->perm == b->perm &&
	       same(a->name, b->name) && same(a->principal, b->principal) && same(a->host, b->host);
}

static void resp_check(int16_t api, int16_t ver, const uint8_t *data, size_t size)
{
	struct rbuf r = rbuf_make(data, size);
	struct kwacl_resp p;
	if (kwacl_resp_decode(&r, api, ver, &p)) {
		kwacl_resp_free(&p);
		return;
	}
	int32_t matches = 0;
	if (p.n < 0 || p.nb < 0 || (api == KWACL_API_DESCRIBE && p.n != 0) || (api == KWACL_API_CREATE && p.nb != 0))
		abort();
	for (int32_t i = 0; api == KWACL_API_DELETE && i < p.n; i++)
		matches += p.nmatch[i];
	if (api == KWACL_API_DELETE && matches != p.nb)
		abort();
	for (int32_t i = 0; i < p.nb; i++)
		if (!p.b[i].name || !p.b[i].principal || !p.b[i].host || (ver == 0 && p.b[i].pattern != 3))
			abort();
	struct wbuf w;
	wbuf_init(&w, 1u << 26);
	struct kwacl_delete_result *dr = NULL;
	if (api == KWACL_API_DESCRIBE) {
		kwacl_describe_resp_encode(&w, ver, p.throttle_ms, (struct kwacl_result){ p.error, p.message }, p.b, p.nb);
	} else if (api == KWACL_API_CREATE) {
		kwacl_create_resp_encode(&w, ver, p.throttle_ms, p.res, p.n);
	} else {
		dr = calloc((size_t)p.n + 1, sizeof(*dr));
		if (!dr)
			abort();
		for (int32_t i = 0, k = 0; i < p.n; k += p.nmatch[i++])
			dr[i] = (struct kwacl_delete_result){ p.res[i], p.nmatch[i], p.b + k };
		kwacl_delete_resp_encode(&w, ver, p.throttle_ms, dr, p.n);
	}
	if (!w.err) {
		struct rbuf r2 = rbuf_make(w.p, w.len);
		struct kwacl_resp p2;
		if (kwacl_resp_decode(&r2, api, ver, &p2) || r2.pos != w.len || p2.throttle_ms != p.throttle_ms ||
		    p2.error != p.error || !same(p2.message, p.message) || p2.n != p.n || p2.nb != p.nb)
			abort();
		for (int32_t i = 0; i < p.n; i++)
			if (p2.res[i].error != p.res[i].error || !same(p2.res[i].message, p.res[i].message) ||
			    (api == KWACL_API_DELETE && p2.nmatch[i] != p.nmatch[i]))
				abort();
		for (int32_t i = 0; i < p.nb; i++)
			if (!same_binding(&p.b[i], &p2.b[i]))
				abort();
		kwacl_resp_free(&p2);
	}
	free(dr);
	wbuf_free(&w);
	kwacl_resp_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	int16_t api = (int16_t)(KWACL_API_DESCRIBE + data[0] % 3);
	int16_t ver = (int16_t)(data[1] % (KWACL_MAX_VERSION + 1));
	resp_check(api, ver, data + 2, size - 2);
	struct rbuf r = rbuf_make(data + 2, size - 2);
	struct kwacl_req q;
	if (kwacl_req_decode(&r, api, ver, &q)) {
		kwacl_req_free(&q);
		return 0;
	}
	if (q.n < 0 || q.n > KWIRE_MAX_ITEMS || (api == KWACL_API_DESCRIBE && q.n != 1))
		abort();
	for (int32_t i = 0; i < q.n; i++) {
		const struct kwacl_binding *b = &q.b[i];
		if (api == KWACL_API_CREATE && (!b->name || !b->principal || !b->host))
			abort();
		if ((b->name && strlen(b->name) > KWIRE_MAX_STR) || (ver == 0 && b->pattern != 3))
			abort();
	}
	struct wbuf w;
	wbuf_init(&w, 1u << 26);
	if (kwacl_req_encode(&w, api, ver, &q) == 0) {
		struct rbuf r2 = rbuf_make(w.p, w.len);
		struct kwacl_req q2;
		if (kwacl_req_decode(&r2, api, ver, &q2) || q2.n != q.n || r2.pos != w.len)
			abort();
		for (int32_t i = 0; i < q.n; i++) {
			const struct kwacl_binding *a = &q.b[i], *b = &q2.b[i];
			if (a->rtype != b->rtype || a->pattern != b->pattern || a->op != b->op || a->perm != b->perm ||
			    !same(a->name, b->name) || !same(a->principal, b->principal) || !same(a->host, b->host))
				abort();
		}
		kwacl_req_free(&q2);
	}
	wbuf_free(&w);
	kwacl_req_free(&q);
	return 0;
}
