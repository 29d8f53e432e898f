/*
 * Fuzz harness: the producer-state snapshot decoder (broker/log/kpstate, Kafka's
 * <offset>.snapshot files). Any input must decode or give ERR_CORRUPT with a reason and an
 * empty map, never crash or leak; what decodes must encode to a snapshot that decodes to the
 * same producers, whose encoding is then stable byte for byte; the sequence check must
 * answer every decoded producer's own last batch as a duplicate; and the first unstable
 * offset must be the smallest open transaction's first offset.
 */
#include "buf.h"
#include "err.h"
#include "kpstate.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NEED(c)                                                                          \
	do {                                                                                  \
		if (!(c)) {                                                                   \
			fprintf(stderr, "fuzz_kpstate: %s:%d: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                              \
		}                                                                             \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kpstate *s = kpstate_new(), *t = kpstate_new();
	FUZZ_NEED(s && t);
	char eb[256] = "";
	int rc = kpstate_snapshot_decode(s, data, size, 0, 0, eb, sizeof(eb));
	if (rc) {
		FUZZ_NEED(rc == ERR_CORRUPT && eb[0] != '\0' && kpstate_count(s) == 0);
		goto out;
	}
	FUZZ_NEED(size >= KPSTATE_SNAPSHOT_HDR);
	FUZZ_NEED(kpstate_count(s) == (size - KPSTATE_SNAPSHOT_HDR) / KPSTATE_SNAPSHOT_ENTRY);
	struct wbuf w1, w2;
	wbuf_init(&w1, KPSTATE_SNAPSHOT_MAX_BYTES);
	wbuf_init(&w2, KPSTATE_SNAPSHOT_MAX_BYTES);
	FUZZ_NEED(kpstate_snapshot_encode(s, &w1) == 0);
	FUZZ_NEED(w1.len == size);
	FUZZ_NEED(kpstate_snapshot_decode(t, w1.p, w1.len, 0, 0, eb, sizeof(eb)) == 0);
	FUZZ_NEED(kpstate_count(t) == kpstate_count(s));
	FUZZ_NEED(kpstate_snapshot_encode(t, &w2) == 0);
	FUZZ_NEED(w2.len == w1.len && memcmp(w1.p, w2.p, w1.len) == 0);
	/* the first unstable offset is the smallest open transaction's first offset (the LSO) */
	int64_t first = -1;
	for (size_t i = 0; i < kpstate_count(s); i++) {
		int64_t pid = 0;
		for (int k = 0; k < 8; k++)
			pid = (int64_t)((uint64_t)pid << 8 | data[10 + 46 * i + k]);
		struct kpstate_entry e;
		FUZZ_NEED(kpstate_get(s, pid, &e) == 0);
		if (e.txn_first_offset >= 0 && (first < 0 || e.txn_first_offset < first))
			first = e.txn_first_offset;
	}
	FUZZ_NEED(kpstate_first_unstable(s) == first);
	FUZZ_NEED(kpstate_first_unstable(t) == first);
	FUZZ_NEED(kpstate_lso(s, INT64_MAX) == (first >= 0 ? first : INT64_MAX));
	/* every producer's retained batch is its own duplicate */
	for (size_t i = 0; i < kpstate_count(s); i++) {
		int64_t pid = (int64_t)((uint64_t)data[10 + 46 * i] << 56 | (uint64_t)data[11 + 46 * i] << 48 |
					(uint64_t)data[12 + 46 * i] << 40 | (uint64_t)data[13 + 46 * i] << 32 |
					(uint64_t)data[14 + 46 * i] << 24 | (uint64_t)data[15 + 46 * i] << 16 |
					(uint64_t)data[16 + 46 * i] << 8 | (uint64_t)data[17 + 46 * i]);
		struct kpstate_entry e;
		FUZZ_NEED(kpstate_get(s, pid, &e) == 0);
		FUZZ_NEED(e.n_batches <= 1);
		if (e.n_batches == 1 && e.batches[0].last_offset - e.batches[0].first_offset < INT32_MAX) {
			const struct kpstate_batch *b = &e.batches[0];
			int64_t n = b->last_offset - b->first_offset + 1;
			struct kpstate_batch dup;
			FUZZ_NEED(kpstate_check(s, pid, e.epoch, b->first_seq, (int32_t)n, &dup) ==
				  KPSTATE_DUPLICATE);
			FUZZ_NEED(dup.first_offset == b->first_offset);
		}
	}
	wbuf_free(&w1);
	wbuf_free(&w2);
out:
	kpstate_free(s);
	kpstate_free(t);
	return 0;
}
