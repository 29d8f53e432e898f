/*
 * Fuzz harness: DescribeConfigs, AlterConfigs, IncrementalAlterConfigs (broker/wire/kwconfig).
 * Byte 0 picks the API and version (mod 6: DescribeConfigs v0-2, AlterConfigs v0-1,
 * IncrementalAlterConfigs v0), the rest is a request body. Any input must decode or give
 * ERR_PROTO, never crash or read past the bytes; what decodes must keep the decoder's promises
 * (counts as declared, names never NULL, a bad entry without a name) and re-encode to a body
 * whose decoding encodes to the same bytes. The same bytes are also read as a response body.
 */
#include "buf.h"
#include "err.h"
#include "kwconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NEED(c)                                                                            \
	do {                                                                                    \
		if (!(c)) {                                                                     \
			fprintf(stderr, "fuzz_kwconfig: %s:%d: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                                \
		}                                                                               \
	} while (0)

static void fuzz_dc(const uint8_t *p, size_t n, int16_t ver)
{
	struct kwconfig_dc_req q, q2;
	struct rbuf r = rbuf_make(p, n);
	int rc = kwconfig_dc_req_decode(&r, ver, &q);
	if (rc) {
		FUZZ_NEED(rc == ERR_PROTO && !q.res && q.n == 0);
	} else {
		for (int32_t i = 0; i < q.n; i++) {
			FUZZ_NEED(q.res[i].name);
			FUZZ_NEED(q.res[i].nkeys >= -1);
			for (int32_t k = 0; k < q.res[i].nkeys; k++)
				FUZZ_NEED(q.res[i].keys[k]);
		}
		struct wbuf w1, w2;
		wbuf_init(&w1, 1 << 24);
		wbuf_init(&w2, 1 << 24);
		FUZZ_NEED(kwconfig_dc_req_encode(&w1, ver, &q) == 0);
		struct rbuf r2 = rbuf_make(w1.p, w1.len);
		FUZZ_NEED(kwconfig_dc_req_decode(&r2, ver, &q2) == 0 && rbuf_left(&r2) == 0);
		FUZZ_NEED(q2.n == q.n && q2.synonyms == q.synonyms);
		FUZZ_NEED(kwconfig_dc_req_encode(&w2, ver, &q2) == 0);
		FUZZ_NEED(w1.len == w2.len && !memcmp(w1.p, w2.p, w1.len));
		kwconfig_dc_req_free(&q2);
		kwconfig_dc_req_free(&q);
		wbuf_free(&w1);
		wbuf_free(&w2);
	}
	struct kwconfig_dc_resp d;
	r = rbuf_make(p, n);
	rc = kwconfig_dc_resp_decode(&r, ver, &d);
	FUZZ_NEED(rc == 0 || rc == ERR_PROTO);
	if (!rc) {
		struct wbuf w;
		wbuf_init(&w, 1 << 24);
		FUZZ_NEED(kwconfig_dc_resp_encode(&w, ver, &d) == 0);
		wbuf_free(&w);
		kwconfig_dc_resp_free(&d);
	}
}

static void fuzz_ac(const uint8_t *p, size_t n, bool inc, int16_t ver)
{
	struct kwconfig_ac_req q, q2;
	struct rbuf r = rbuf_make(p, n);
	int rc = kwconfig_ac_req_decode(&r, inc, ver, &q);
	if (rc) {
		FUZZ_NEED(rc == ERR_PROTO && !q.res && q.n == 0);
	} else {
		for (int32_t i = 0; i < q.n; i++) {
			FUZZ_NEED(q.res[i].name);
			for (int32_t k = 0; k < q.res[i].n; k++) {
				const struct kwconfig_entry_in *e = &q.res[i].entries[k];
				FUZZ_NEED(e->name || q.res[i].bad_entry);
				FUZZ_NEED(!e->name || (e->name[0] && e->op >= KWCONFIG_OP_SET && e->op <= KWCONFIG_OP_SUBTRACT));
				FUZZ_NEED(inc || e->op == KWCONFIG_OP_SET);
			}
		}
		struct wbuf w1, w2;
		wbuf_init(&w1, 1 << 24);
		wbuf_init(&w2, 1 << 24);
		FUZZ_NEED(kwconfig_ac_req_encode(&w1, inc, ver, &q) == 0);
		struct rbuf r2 = rbuf_make(w1.p, w1.len);
		FUZZ_NEED(kwconfig_ac_req_decode(&r2, inc, ver, &q2) == 0 && rbuf_left(&r2) == 0);
		FUZZ_NEED(q2.n == q.n && q2.validate_only == q.validate_only);
		FUZZ_NEED(kwconfig_ac_req_encode(&w2, inc, ver, &q2) == 0);
		FUZZ_NEED(w1.len == w2.len && !memcmp(w1.p, w2.p, w1.len));
		kwconfig_ac_req_free(&q2);
		kwconfig_ac_req_free(&q);
		wbuf_free(&w1);
		wbuf_free(&w2);
	}
	struct kwconfig_ac_resp d;
	r = rbuf_make(p, n);
	rc = kwconfig_ac_resp_decode(&r, &d);
	FUZZ_NEED(rc == 0 || rc == ERR_PROTO);
	if (!rc) {
		struct wbuf w;
		wbuf_init(&w, 1 << 24);
		FUZZ_NEED(kwconfig_ac_resp_encode(&w, &d) == 0);
		wbuf_free(&w);
		kwconfig_ac_resp_free(&d);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int sel = data[0] % 6;
	if (sel <= 2)
		fuzz_dc(data + 1, size - 1, (int16_t)sel);
	else if (sel <= 4)
		fuzz_ac(data + 1, size - 1, false, (int16_t)(sel - 3));
	else
		fuzz_ac(data + 1, size - 1, true, 0);
	return 0;
}
