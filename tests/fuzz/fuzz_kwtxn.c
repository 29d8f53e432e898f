/*
 * Fuzz harness: AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, TxnOffsetCommit (broker/wire/kwtxn).
 * Byte 0 picks the API (mod 4: 24, 25, 26, 28) and byte 1 the version (mod 4: TxnOffsetCommit's
 * v3 is flexible, the others' v3 is refused); the rest is a request body. Any input must
 * decode or be refused, never crash, leak or read past the bytes; what decodes must keep the
 * decoder's promises (ids without a NUL; v3's member id always there, v0-2's KIP-447 fields at
 * their defaults) and encode to a body that decodes to the same request. The same bytes are
 * also read as a response body.
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
	static const int16_t apis[] = { KWTXN_API_ADD_PARTITIONS, KWTXN_API_ADD_OFFSETS, KWTXN_API_END,
					KWTXN_API_TXN_OFFSET_COMMIT };
	int16_t api = apis[data[0] % 4];
	int16_t ver = (int16_t)(data[1] % (KWTXN_TOC_MAX_VERSION + 1));
	struct rbuf r = rbuf_make(data + 2, size - 2);
	struct kwtxn_req q, q2;
	int rc = kwtxn_req_decode(&r, api, ver, &q);
	FUZZ_NEED(rc == 0 || rc == ERR_PROTO || rc == ERR_NOMEM);
	if (rc == 0) {
		FUZZ_NEED(q.txn_id && ((api != KWTXN_API_ADD_OFFSETS && api != KWTXN_API_TXN_OFFSET_COMMIT) || q.group_id));
		FUZZ_NEED(ver <= KWTXN_MAX_VERSION || api == KWTXN_API_TXN_OFFSET_COMMIT);
		bool kip447 = api == KWTXN_API_TXN_OFFSET_COMMIT && ver >= 3;
		FUZZ_NEED(kip447 ? q.member_id != NULL
				 : q.generation_id == -1 && !q.member_id && !q.group_instance_id);
		struct wbuf w;
		wbuf_init(&w, 64u << 20);
		FUZZ_NEED(kwtxn_req_encode(&w, api, ver, &q) == 0);
		struct rbuf r2 = rbuf_make(w.p, w.len);
		FUZZ_NEED(kwtxn_req_decode(&r2, api, ver, &q2) == 0 && rbuf_left(&r2) == 0);
		FUZZ_NEED(!strcmp(q.txn_id, q2.txn_id) && q.producer_id == q2.producer_id &&
			  q.producer_epoch == q2.producer_epoch && q.commit == q2.commit);
		FUZZ_NEED(q.generation_id == q2.generation_id && (!q.member_id || !strcmp(q.member_id, q2.member_id)) &&
			  (q.group_instance_id ? q2.group_instance_id && !strcmp(q.group_instance_id, q2.group_instance_id)
					       : !q2.group_instance_id));
		FUZZ_NEED(q.ntopics == q2.ntopics);
		for (int32_t i = 0; i < q.ntopics; i++) {
			FUZZ_NEED(!strcmp(q.topics[i].name, q2.topics[i].name) && q.topics[i].n == q2.topics[i].n);
			FUZZ_NEED(!q.topics[i].n ||
				  !memcmp(q.topics[i].parts, q2.topics[i].parts, (size_t)q.topics[i].n * 4));
			FUZZ_NEED((q.topics[i].offs != NULL) == (api == KWTXN_API_TXN_OFFSET_COMMIT && q.topics[i].n > 0));
			for (int32_t j = 0; q.topics[i].offs && j < q.topics[i].n; j++) {
				const struct kwtxn_poff *a = &q.topics[i].offs[j], *b = &q2.topics[i].offs[j];
				FUZZ_NEED(a->offset == b->offset && a->leader_epoch == b->leader_epoch &&
					  a->meta_len == b->meta_len);
				FUZZ_NEED(a->meta_len <= 0 || !memcmp(a->meta, b->meta, (size_t)a->meta_len));
			}
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
