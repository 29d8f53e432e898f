/*
 * Fuzz harness: kwprod, the broker's decoder of Produce request bodies. The first byte picks
 * the version (3..8), the rest is the body after the request header. Any outcome but a crash,
 * a read out of bounds or a hang is fine; a successful decode must have NUL-terminated names
 * within their buffers, records slices inside the input, a partition total that adds up, and
 * re-encode to a body the decoder reads back to the same request.
 * Seeds: tests/fuzz/make_corpus_kwire.py.
 */
#include "buf.h"
#include "err.h"
#include "kwprod.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int16_t ver = (int16_t)(KWPROD_MIN_VERSION + data[0] % (KWPROD_MAX_VERSION - KWPROD_MIN_VERSION + 1));
	struct rbuf r = rbuf_make(data + 1, size - 1);
	struct kwprod_req q;
	if (kwprod_req_decode(&r, ver, &q)) {
		kwprod_req_free(&q);
		return 0;
	}
	size_t total = 0;
	if (q.n < 0 || q.n > KWIRE_MAX_ITEMS || !memchr(q.txn, '\0', sizeof(q.txn)))
		abort();
	for (int32_t i = 0; i < q.n; i++) {
		const struct kwprod_topic *t = &q.topics[i];
		if (!memchr(t->name, '\0', sizeof(t->name)) || t->n < 0)
			abort();
		for (int32_t j = 0; j < t->n; j++) {
			const struct kwprod_part *p = &t->parts[j];
			if (p->len < 0 ? p->records != NULL
				       : p->records < data + 1 || p->records + p->len > data + size)
				abort();
		}
		total += (size_t)t->n;
	}
	if (total != q.nparts)
		abort();
	struct wbuf w;
	wbuf_init(&w, 1u << 26);
	if (kwprod_req_encode(&w, ver, &q) == 0) {
		struct rbuf r2 = rbuf_make(w.p, w.len);
		struct kwprod_req q2;
		if (kwprod_req_decode(&r2, ver, &q2) || q2.n != q.n || q2.nparts != q.nparts || q2.acks != q.acks ||
		    q2.timeout_ms != q.timeout_ms || q2.txn_null != q.txn_null)
			abort();
		for (int32_t i = 0; i < q.n; i++) {
			if (!q.topics[i].bad && strcmp(q.topics[i].name, q2.topics[i].name))
				abort();
			for (int32_t j = 0; j < q.topics[i].n; j++) {
				const struct kwprod_part *a = &q.topics[i].parts[j], *b = &q2.topics[i].parts[j];
				if (a->index != b->index || a->len != b->len ||
				    (a->len > 0 && memcmp(a->records, b->records, (size_t)a->len)))
					abort();
			}
		}
		kwprod_req_free(&q2);
	}
	wbuf_free(&w);
	kwprod_req_free(&q);
	return 0;
}
