/*
 * Fuzz harness: AddPartitionsToTxn, AddOffsetsToTxn, EndTxn (broker/wire/kwtxn). Byte 0 picks
 * the API (mod 3) and byte 1 the version (mod 3); the rest is a request body. Any input must
 * decode or be refused, never crash, leak or read past the bytes; what decodes must keep the
 * decoder's promises (ids without a NUL) and encode to a body that decodes to the same request.
 * The same bytes are also read as a response body.
 */
#include "buf.h"
#include "err.h"
#include "kwtxn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NEED(c)                                                                        \
	do {                                                                                \
		if (!(c)) {                                                                 \
			fprintf(stderr, "fuzz_kwtxn: %s:%d: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                            \
		}                                                                           \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	int16_t api = (int16_t)(KWTXN_API_ADD_PARTITIONS + data[0] % 3);
	int16_t ver = (int16_t)(data[1] % (KWTXN_MAX_VERSION + 1));
	struct rbuf r = rbuf_make(data + 2, size - 2);
	struct kwtxn_req q, q2;
	int rc = kwtxn_req_decode(&r, api, ver, &q);
	FUZZ_NEED(rc == 0 || rc == ERR_PROTO || rc == ERR_NOMEM);
	if (rc == 0) {
		FUZZ_NEED(q.txn_id && (api != KWTXN_API_ADD_OFFSETS || q.group_id));
		struct wbuf w;
		wbuf_init(&w, 64u << 20);
		FUZZ_NEED(kwtxn_req_encode(&w, api, ver, &q) == 0);
		struct rbuf r2 = rbuf_make(w.p, w.len);
		FUZZ_NEED(kwtxn_req_decode(&r2, api, ver, &q2) == 0 && rbuf_left(&r2) == 0);
		FUZZ_NEED(!strcmp(q.txn_id, q2.txn_id) && q.producer_id == q2.producer_id &&
			  q.producer_epoch == q2.producer_epoch && q.commit == q2.commit);
		FUZZ_NEED(q.ntopics == q2.ntopics);
		for (int32_t i = 0; i < q.ntopics; i++) {
			FUZZ_NEED(!strcmp(q.topics[i].name, q2.topics[i].name) && q.topics[i].n == q2.topics[i].n);
			FUZZ_NEED(!q.topics[i].n ||
				  !memcmp(q.topics[i].parts, q2.topics[i].parts, (size_t)q.topics[i].n * 4));
		}
		kwtxn_req_free(&q2);
		wbuf_free(&w);
	}
	kwtxn_req_free(&q);
	struct rbuf rr = rbuf_make(data + 2, size - 2);
	struct kwtxn_resp p;
	rc = kwtxn_resp_decode(&rr, api, ver, &p);
	FUZZ_NEED(rc == 0 || rc == ERR_PROTO);
	return 0;
}
