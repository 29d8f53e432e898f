/*
 * Fuzz harness: ControlledShutdown and ElectLeaders, the controller's side (broker/wire/kwctrl).
 * Byte 0 picks the API and version (mod 4: ControlledShutdown v1-2, ElectLeaders v0-1), the rest
 * is a request body. Any input must decode or give ERR_PROTO, never crash or read past the
 * bytes; what decodes must keep the decoder's promises (counts as declared and within
 * KWIRE_MAX_ITEMS, names NUL-terminated in their buffer, an election type of 0 or 1) and
 * re-encode to a body whose decoding encodes to the same bytes. The same bytes are also read as
 * a response body.
 */
#include "buf.h"
#include "err.h"
#include "kwctrl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NEED(c)                                                                          \
	do {                                                                                  \
		if (!(c)) {                                                                   \
			fprintf(stderr, "fuzz_kwctrl: %s:%d: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                              \
		}                                                                             \
	} while (0)

static void fuzz_cs(const uint8_t *p, size_t n, int16_t ver)
{
	struct kwctrl_cs_req q, q2;
	struct rbuf r = rbuf_make(p, n);
	int rc = kwctrl_cs_req_decode(&r, ver, &q);
	FUZZ_NEED(rc == 0 || rc == ERR_PROTO);
	if (!rc) {
		FUZZ_NEED(ver >= 2 || q.broker_epoch == -1);
		struct wbuf w;
		wbuf_init(&w, 64);
		FUZZ_NEED(kwctrl_cs_req_encode(&w, ver, &q) == 0);
		struct rbuf r2 = rbuf_make(w.p, w.len);
		FUZZ_NEED(kwctrl_cs_req_decode(&r2, ver, &q2) == 0 && rbuf_left(&r2) == 0);
		FUZZ_NEED(q2.broker_id == q.broker_id && q2.broker_epoch == q.broker_epoch);
		wbuf_free(&w);
	}
	struct kwctrl_cs_resp d;
	r = rbuf_make(p, n);
	rc = kwctrl_cs_resp_decode(&r, &d);
	FUZZ_NEED(rc == 0 || rc == ERR_PROTO);
	if (!rc) {
		struct wbuf w;
		wbuf_init(&w, 1 << 24);
		FUZZ_NEED(kwctrl_cs_resp_encode(&w, &d) == 0);
		wbuf_free(&w);
		kwctrl_cs_resp_free(&d);
	}
}

static void fuzz_el(const uint8_t *p, size_t n, int16_t ver)
{
	struct kwctrl_el_req q, q2;
	struct rbuf r = rbuf_make(p, n);
	int rc = kwctrl_el_req_decode(&r, ver, &q);
	if (rc) {
		FUZZ_NEED(rc == ERR_PROTO && !q.topics && q.n == 0);
	} else {
		FUZZ_NEED(q.type == 0 || q.type == 1);
		FUZZ_NEED(ver >= 1 || q.type == 0);
		FUZZ_NEED(q.n >= -1);
		int64_t total = 0;
		for (int32_t i = 0; i < q.n; i++) {
			FUZZ_NEED(memchr(q.topics[i].name, '\0', sizeof(q.topics[i].name)));
			FUZZ_NEED(q.topics[i].n >= 0);
			total += q.topics[i].n;
		}
		FUZZ_NEED(total <= KWIRE_MAX_ITEMS);
		struct wbuf w1, w2;
		wbuf_init(&w1, 1 << 24);
		wbuf_init(&w2, 1 << 24);
		FUZZ_NEED(kwctrl_el_req_encode(&w1, ver, &q) == 0);
		struct rbuf r2 = rbuf_make(w1.p, w1.len);
		FUZZ_NEED(kwctrl_el_req_decode(&r2, ver, &q2) == 0 && rbuf_left(&r2) == 0);
		FUZZ_NEED(q2.n == q.n && q2.type == q.type && q2.timeout_ms == q.timeout_ms);
		FUZZ_NEED(kwctrl_el_req_encode(&w2, ver, &q2) == 0);
		FUZZ_NEED(w1.len == w2.len && !memcmp(w1.p, w2.p, w1.len));
		kwctrl_el_req_free(&q2);
		kwctrl_el_req_free(&q);
		wbuf_free(&w1);
		wbuf_free(&w2);
	}
	struct kwctrl_el_resp d;
	r = rbuf_make(p, n);
	rc = kwctrl_el_resp_decode(&r, ver, &d);
	FUZZ_NEED(rc == 0 || rc == ERR_PROTO);
	if (!rc) {
		struct wbuf w;
		wbuf_init(&w, 1 << 24);
		FUZZ_NEED(kwctrl_el_resp_encode(&w, ver, &d) == 0);
		wbuf_free(&w);
		kwctrl_el_resp_free(&d);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int sel = data[0] % 4;
	if (sel <= 1)
		fuzz_cs(data + 1, size - 1, (int16_t)(sel + 1));
	else
		fuzz_el(data + 1, size - 1, (int16_t)(sel - 2));
	return 0;
}
