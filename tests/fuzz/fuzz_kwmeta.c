/*
 * Fuzz harness: kwmeta, the broker's decoder of Metadata request bodies. The first byte picks
 * the version (0..8), the rest is the body after the request header. Any outcome but a crash,
 * a read out of bounds or a hang is fine; a successful decode must have NUL-terminated names
 * within their buffers and re-encode to a body the decoder reads back to the same request.
 * Seeds: tests/fuzz/make_corpus_kwmeta.py.
 */
#include "buf.h"
#include "err.h"
#include "kwmeta.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int16_t ver = (int16_t)(data[0] % (KWMETA_MAX_VERSION + 1));
	struct rbuf r = rbuf_make(data + 1, size - 1);
	struct kwmeta_req q;
	if (kwmeta_req_decode(&r, ver, &q)) {
		kwmeta_req_free(&q);
		return 0;
	}
	if (q.n < 0 || q.n > KWIRE_MAX_ITEMS || (q.all && q.n))
		abort();
	for (int32_t i = 0; i < q.n; i++)
		if (memchr(q.topics[i].name, '\0', sizeof(q.topics[i].name)) == NULL)
			abort();
	/* names that decode clean come back the same */
	struct wbuf w;
	wbuf_init(&w, 1u << 26);
	if (kwmeta_req_encode(&w, ver, &q) == 0) {
		struct rbuf r2 = rbuf_make(w.p, w.len);
		struct kwmeta_req q2;
		if (kwmeta_req_decode(&r2, ver, &q2) || q2.all != q.all || q2.n != q.n ||
		    q2.allow_auto != (ver >= 4 ? q.allow_auto : true))
			abort();
		for (int32_t i = 0; i < q.n; i++)
			if (!q.topics[i].bad && strcmp(q.topics[i].name, q2.topics[i].name))
				abort();
		kwmeta_req_free(&q2);
	}
	wbuf_free(&w);
	kwmeta_req_free(&q);
	return 0;
}
