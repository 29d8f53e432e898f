/*
 * Fuzz harness: InitProducerId (broker/wire/kwpid). Byte 0 picks the version (mod 5), the rest
 * is a request body. Any input must decode or give ERR_PROTO, never crash or read past the
 * bytes; what decodes must keep the decoder's promises (an id within the bytes, without a NUL)
 * and encode to a body that decodes to the same request. The same bytes are also read as a
 * response body.
 */
#include "buf.h"
#include "err.h"
#include "kwpid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NEED(c)                                                                        \
	do {                                                                                \
		if (!(c)) {                                                                 \
			fprintf(stderr, "fuzz_kwpid: %s:%d: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                            \
		}                                                                           \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int16_t ver = (int16_t)(data[0] % (KWPID_MAX_VERSION + 1));
	struct rbuf r = rbuf_make(data + 1, size - 1);
	struct kwpid_req q, q2;
	int rc = kwpid_req_decode(&r, ver, &q);
	if (rc == 0) {
		if (q.txn_id) {
			FUZZ_NEED(q.txn_id_len >= 0 && q.txn_id >= data + 1 &&
				  q.txn_id + q.txn_id_len <= data + size);
			FUZZ_NEED(!memchr(q.txn_id, 0, (size_t)q.txn_id_len));
		} else {
			FUZZ_NEED(q.txn_id_len == -1);
		}
		if (ver < 3)
			FUZZ_NEED(q.producer_id == -1 && q.producer_epoch == -1);
		struct wbuf w;
		wbuf_init(&w, 1 << 20);
		FUZZ_NEED(kwpid_req_encode(&w, ver, &q) == 0);
		struct rbuf r2 = rbuf_make(w.p, w.len);
		FUZZ_NEED(kwpid_req_decode(&r2, ver, &q2) == 0 && rbuf_left(&r2) == 0);
		FUZZ_NEED(q2.txn_id_len == q.txn_id_len && q2.txn_timeout_ms == q.txn_timeout_ms);
		FUZZ_NEED(q2.producer_id == q.producer_id && q2.producer_epoch == q.producer_epoch);
		FUZZ_NEED(!q.txn_id || !memcmp(q2.txn_id, q.txn_id, (size_t)q.txn_id_len));
		wbuf_free(&w);
	} else {
		FUZZ_NEED(rc == ERR_PROTO);
	}
	struct rbuf rr = rbuf_make(data + 1, size - 1);
	struct kwpid_resp p;
	rc = kwpid_resp_decode(&rr, ver, &p);
	FUZZ_NEED(rc == 0 || rc == ERR_PROTO);
	return 0;
}
