/*
 * Fuzz harness: kwacl, the broker's decoder of DescribeAcls, CreateAcls and DeleteAcls request
 * bodies. Byte 0 picks the API (mod 3: 29, 30, 31) and byte 1 the version (mod 2), the rest is
 * the body after the request header. Any outcome but a crash, a read out of bounds, a leak or a
 * hang is fine; a successful decode must give NUL-terminated strings (non-null in creations)
 * and re-encode to a body that decodes to the same request. The same bytes also go through the
 * head decoder of a DescribeAcls response (kafka-acls's), whose message must lie in them.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	int16_t api = (int16_t)(KWACL_API_DESCRIBE + data[0] % 3);
	int16_t ver = (int16_t)(data[1] % (KWACL_MAX_VERSION + 1));
	struct rbuf rh = rbuf_make(data + 2, size - 2);
	struct kwacl_describe_head h;
	if (kwacl_describe_resp_head_decode(&rh, ver, &h) == 0 &&
	    (h.message_len < -1 || (h.message_len >= 0 && (h.message < data + 2 || h.message + h.message_len > data + size))))
		abort();
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
