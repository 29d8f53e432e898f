/*
 * Fuzz harness: WriteTxnMarkers (broker/wire/kwmark). Byte 0 picks the version (mod 2), the
 * rest is a body read both as a request and as a response. Any input must decode or give
 * ERR_PROTO, never crash, leak or read past the bytes; what decodes must keep the decoder's
 * promises (names NUL-terminated within their buffer, unflagged ones without a NUL) and encode
 * to a body that decodes to the same thing.
 */
#include "buf.h"
#include "err.h"
#include "kwmark.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NEED(c)                                                                         \
	do {                                                                                 \
		if (!(c)) {                                                                  \
			fprintf(stderr, "fuzz_kwmark: %s:%d: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                             \
		}                                                                            \
	} while (0)

static void fuzz_req(const uint8_t *p, size_t n, int16_t ver)
{
	struct rbuf r = rbuf_make(p, n);
	struct kwmark_req q, q2;
	int rc = kwmark_req_decode(&r, ver, &q);
	if (rc) {
		FUZZ_NEED(rc == ERR_PROTO);
		kwmark_req_free(&q);
		return;
	}
	struct wbuf w;
	wbuf_init(&w, 1 << 24);
	FUZZ_NEED(kwmark_req_encode(&w, ver, &q) == 0);
	struct rbuf r2 = rbuf_make(w.p, w.len);
	FUZZ_NEED(kwmark_req_decode(&r2, ver, &q2) == 0 && rbuf_left(&r2) == 0);
	FUZZ_NEED(q2.n == q.n);
	for (int32_t i = 0; i < q.n; i++) {
		const struct kwmark_marker *a = &q.markers[i], *b = &q2.markers[i];
		FUZZ_NEED(a->producer_id == b->producer_id && a->producer_epoch == b->producer_epoch);
		FUZZ_NEED(a->commit == b->commit && a->coordinator_epoch == b->coordinator_epoch);
		FUZZ_NEED(a->n == b->n);
		for (int32_t j = 0; j < a->n; j++) {
			const struct kwmark_topic *ta = &a->topics[j], *tb = &b->topics[j];
			FUZZ_NEED(memchr(ta->name, 0, sizeof(ta->name)) != NULL);
			/* a name cut at a NUL re-encodes shorter: only unflagged ones must match */
			FUZZ_NEED(ta->bad || (!tb->bad && !strcmp(ta->name, tb->name)));
			FUZZ_NEED(ta->n == tb->n);
			for (int32_t k = 0; k < ta->n; k++)
				FUZZ_NEED(ta->parts[k] == tb->parts[k]);
		}
	}
	kwmark_req_free(&q2);
	kwmark_req_free(&q);
	wbuf_free(&w);
}

static void fuzz_resp(const uint8_t *p, size_t n, int16_t ver)
{
	struct rbuf r = rbuf_make(p, n);
	struct kwmark_resp m, m2;
	int rc = kwmark_resp_decode(&r, ver, &m);
	if (rc) {
		FUZZ_NEED(rc == ERR_PROTO);
		kwmark_resp_free(&m);
		return;
	}
	struct wbuf w;
	wbuf_init(&w, 1 << 24);
	FUZZ_NEED(kwmark_resp_encode(&w, ver, &m) == 0);
	struct rbuf r2 = rbuf_make(w.p, w.len);
	FUZZ_NEED(kwmark_resp_decode(&r2, ver, &m2) == 0 && rbuf_left(&r2) == 0);
	FUZZ_NEED(m2.n == m.n);
	for (int32_t i = 0; i < m.n; i++) {
		const struct kwmark_mresult *a = &m.markers[i], *b = &m2.markers[i];
		FUZZ_NEED(a->producer_id == b->producer_id && a->n == b->n);
		for (int32_t j = 0; j < a->n; j++) {
			const struct kwmark_tresult *ta = &a->topics[j], *tb = &b->topics[j];
			FUZZ_NEED(memchr(ta->name, 0, sizeof(ta->name)) != NULL);
			FUZZ_NEED(ta->bad || (!tb->bad && !strcmp(ta->name, tb->name)));
			FUZZ_NEED(ta->n == tb->n);
			for (int32_t k = 0; k < ta->n; k++)
				FUZZ_NEED(ta->parts[k].index == tb->parts[k].index &&
					  ta->parts[k].error == tb->parts[k].error);
		}
	}
	kwmark_resp_free(&m2);
	kwmark_resp_free(&m);
	wbuf_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int16_t ver = (int16_t)(data[0] % (KWMARK_MAX_VERSION + 1));
	fuzz_req(data + 1, size - 1, ver);
	fuzz_resp(data + 1, size - 1, ver);
	return 0;
}
