/*
 * Fuzz harness: the aborted-transaction index decoder (broker/log/ktxnidx, Kafka's .txnindex
 * files) and the transaction-marker reader (kbatch_control_marker). Any input must decode or
 * give ERR_CORRUPT with a reason and no array, never crash or leak; what decodes must encode to
 * the same bytes, and its entries, added to a list, must come back in marker order from a
 * collection of the whole range. The input read as a batch must give the marker reader either
 * ERR_PROTO or a type.
 */
#include "buf.h"
#include "err.h"
#include "kbatch.h"
#include "ktxnidx.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NEED(c)                                                                          \
	do {                                                                                  \
		if (!(c)) {                                                                   \
			fprintf(stderr, "fuzz_ktxnidx: %s:%d: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                              \
		}                                                                             \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ktxnidx_entry *v = NULL;
	size_t n = 0;
	char eb[256] = "";
	int rc = ktxnidx_decode(data, size, &v, &n, eb, sizeof(eb));
	if (rc) {
		FUZZ_NEED(rc == ERR_CORRUPT && eb[0] != '\0' && v == NULL && n == 0);
	} else {
		FUZZ_NEED(n == size / KTXNIDX_ENTRY && size % KTXNIDX_ENTRY == 0);
		struct wbuf w;
		wbuf_init(&w, KTXNIDX_MAX_BYTES);
		struct ktxnidx *x = ktxnidx_new();
		FUZZ_NEED(x != NULL);
		for (size_t i = 0; i < n; i++) {
			FUZZ_NEED(ktxnidx_encode(&w, &v[i]) == 0);
			FUZZ_NEED(ktxnidx_add(x, &v[i]) == 0);
		}
		FUZZ_NEED(w.len == size && (size == 0 || memcmp(w.p, data, size) == 0));
		size_t all = ktxnidx_collect(x, 0, INT64_MAX, NULL, 0);
		FUZZ_NEED(all == ktxnidx_count(x) && all <= n);
		for (size_t i = 1; i < all; i++)
			FUZZ_NEED(ktxnidx_at(x, i - 1)->last_offset <= ktxnidx_at(x, i)->last_offset);
		ktxnidx_free(x);
		wbuf_free(&w);
		free(v);
	}
	int16_t type;
	int32_t coord;
	rc = kbatch_control_marker(data, size, &type, &coord);
	FUZZ_NEED(rc == 0 || (rc == ERR_PROTO && type == -1 && coord == -1));
	return 0;
}
