/*
 * Fuzz harness: the record batch decoder. The input is taken as a Produce "records" field
 * (every batch walked, validated, its records and headers iterated) and as one batch; any
 * outcome but a crash, a read out of bounds or a hang is fine.
 */
#include "err.h"
#include "kbatch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_record(const struct kbatch_record *r, void *arg)
{
	size_t pos = 0;
	struct kbatch_kv kv;
	int n = 0;
	volatile uint8_t sink = 0;
	if (r->key_len > 0)
		sink ^= r->key[r->key_len - 1];
	if (r->value_len > 0)
		sink ^= r->value[r->value_len - 1];
	while (kbatch_header_next(r, &pos, &kv) == 1) {
		if (kv.key_len > 0)
			sink ^= ((const uint8_t *)kv.key)[kv.key_len - 1];
		if (kv.value_len > 0)
			sink ^= ((const uint8_t *)kv.value)[kv.value_len - 1];
		n++;
	}
	(void)sink; /* the reads above are what matters: ASan checks each */
	if (n != r->headers_count)
		abort(); /* a record kbatch_records gave must have exactly its headers */
	(*(int *)arg)++;
	return 0;
}

static int fuzz_batch(const uint8_t *b, size_t blen, void *arg)
{
	struct kbatch_hdr h;
	char eb[256];
	int n = 0;
	(void)arg;
	int v = kbatch_validate(b, blen, &h, eb, sizeof(eb));
	int r = kbatch_records(b, blen, fuzz_record, &n, eb, sizeof(eb));
	/* a valid uncompressed batch yields exactly recordsCount records */
	if (v == 0 && !(h.attributes & KBATCH_COMPRESSION_MASK) && (r != 0 || n != h.records_count))
		abort();
	if (v == 0) {
		/* the rewrites keep it valid */
		uint8_t *c = malloc(blen);
		if (!c)
			return 0;
		memcpy(c, b, blen);
		kbatch_set_base_offset(c, 42);
		kbatch_set_leader_epoch(c, 7);
		kbatch_set_log_append_time(c, blen, 1234);
		if (kbatch_validate(c, blen, &h, eb, sizeof(eb)) || h.base_offset != 42 || h.max_timestamp != 1234)
			abort();
		free(c);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kbatch_hdr h;
	char eb[256];
	size_t consumed;
	kbatch_parse_hdr(data, size, &h);
	kbatch_foreach_ex(data, size, KBATCH_ALLOW_PARTIAL, fuzz_batch, NULL, &consumed, eb, sizeof(eb));
	if (consumed > size)
		abort();
	kbatch_foreach(data, size, NULL, NULL, eb, sizeof(eb));
	kbatch_validate(data, size, &h, eb, sizeof(eb));
	int n = 0;
	kbatch_records(data, size, fuzz_record, &n, eb, sizeof(eb));
	return 0;
}
