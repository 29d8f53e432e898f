/*
 * Fuzz harness: the __transaction_state records (broker/txn/ktxnrec). Byte 0 picks what the
 * rest is read as: even a key, odd a value. Any input must decode or be refused, never crash,
 * leak or read past the bytes; what decodes must keep the decoder's promises (a status in
 * range, names without a NUL) and a decoded value must encode (as version 0) to bytes that
 * decode to the same value.
 */
#include "buf.h"
#include "err.h"
#include "ktxnrec.h"
#include "ktxnstate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NEED(c)                                                                          \
	do {                                                                                  \
		if (!(c)) {                                                                   \
			fprintf(stderr, "fuzz_ktxnrec: %s:%d: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                              \
		}                                                                             \
	} while (0)

static void same(const struct ktxnrec_value *a, const struct ktxnrec_value *b)
{
	FUZZ_NEED(a->producer_id == b->producer_id && a->producer_epoch == b->producer_epoch);
	FUZZ_NEED(a->timeout_ms == b->timeout_ms && a->status == b->status);
	FUZZ_NEED(a->last_update_ms == b->last_update_ms && a->start_ms == b->start_ms);
	FUZZ_NEED(a->ntopics == b->ntopics);
	for (int32_t i = 0; i < a->ntopics; i++) {
		FUZZ_NEED(!strcmp(a->topics[i].name, b->topics[i].name) && a->topics[i].n == b->topics[i].n);
		for (int32_t j = 0; j < a->topics[i].n; j++)
			FUZZ_NEED(a->topics[i].parts[j] == b->topics[i].parts[j]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	if (data[0] % 2 == 0) {
		const uint8_t *id = NULL;
		size_t len = 0;
		int rc = ktxnrec_key_decode(p, n, &id, &len);
		FUZZ_NEED(rc == 0 || rc == ERR_PROTO);
		if (rc == 0)
			FUZZ_NEED(id >= p && id + len <= p + n && !memchr(id, 0, len));
		return 0;
	}
	struct ktxnrec_value v, v2;
	int rc = ktxnrec_value_decode(p, n, &v);
	FUZZ_NEED(rc == 0 || rc == ERR_PROTO || rc == ERR_NOMEM);
	if (rc == 0) {
		FUZZ_NEED(v.status >= 0 && v.status < KTXNSTATE_COUNT && v.ntopics >= -1);
		for (int32_t i = 0; i < v.ntopics; i++)
			FUZZ_NEED(v.topics[i].name[0] && strlen(v.topics[i].name) <= KTXNREC_MAX_TOPIC);
		struct wbuf w;
		wbuf_init(&w, 64u << 20);
		FUZZ_NEED(ktxnrec_value_encode(&w, &v) == 0);
		FUZZ_NEED(ktxnrec_value_decode(w.p, w.len, &v2) == 0);
		same(&v, &v2);
		ktxnrec_value_free(&v2);
		wbuf_free(&w);
	}
	ktxnrec_value_free(&v);
	return 0;
}
