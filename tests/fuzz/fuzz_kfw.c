/*
 * Fuzz harness: kfw, the follower's decoders of Fetch v11 and OffsetForLeaderEpoch v3
 * responses. The first byte picks the decoder (even: Fetch, odd: OffsetForLeaderEpoch), the
 * rest is the response frame. Any outcome but a crash, a read out of bounds or a hang is fine,
 * but what a successful decode hands on must hold up: every partition's records lie inside the
 * frame, are exactly its batches back to back (each one's header and CRC valid by
 * kbatch_check_ex as a follower checks them, records not walked: the CRC covers what the leader
 * validated; its offsets and epoch as described) and are followed only by the dropped bytes.
 * Seeds: tests/unit/kfw_vectors.py --corpus tests/fuzz/corpus/kfw.
 */
#include "err.h"
#include "kbatch.h"
#include "kfw.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_kfw_fetch(const uint8_t *p, size_t len)
{
	struct kfw_fetch_resp fr;
	char eb[256];
	if (kfw_fetch_decode(p, len, &fr, eb, sizeof(eb)) != 0) {
		if (fr.parts || fr.batches || fr.n_parts)
			abort(); /* a failure leaves nothing to free */
		return;
	}
	size_t next_batch = 0;
	for (size_t i = 0; i < fr.n_parts; i++) {
		const struct kfw_fetch_presp *pr = &fr.parts[i];
		if (pr->topic < p || pr->topic + pr->topic_len > p + len)
			abort();
		if (pr->records_len + pr->dropped && (pr->records < p || pr->records + pr->records_len + pr->dropped > p + len))
			abort();
		if (pr->first_batch != next_batch || pr->first_batch + pr->n_batches > fr.n_batches)
			abort();
		size_t pos = 0;
		for (size_t b = 0; b < pr->n_batches; b++) {
			const struct kfw_batch *kb = &fr.batches[pr->first_batch + b];
			struct kbatch_hdr h;
			if (pr->records_len - pos < KBATCH_LOG_OVERHEAD)
				abort();
			size_t sz = kbatch_size_of(pr->records + pos);
			if (sz > pr->records_len - pos ||
			    kbatch_check_ex(pr->records + pos, sz, KBATCH_COMPACTED, &h, eb, sizeof(eb)) != 0 ||
			    h.base_offset != kb->base_offset || kb->last_offset != h.base_offset + h.last_offset_delta ||
			    kb->epoch != h.leader_epoch || kb->last_offset < kb->base_offset)
				abort();
			pos += sz;
		}
		if (pos != pr->records_len || (pr->bad && !pr->dropped))
			abort();
		next_batch += pr->n_batches;
	}
	if (next_batch != fr.n_batches)
		abort();
	kfw_fetch_resp_free(&fr);
}

static void fuzz_kfw_epoch(const uint8_t *p, size_t len)
{
	struct kfw_epoch_resp er;
	char eb[256];
	if (kfw_epoch_decode(p, len, &er, eb, sizeof(eb)) != 0) {
		if (er.parts || er.n_parts)
			abort();
		return;
	}
	for (size_t i = 0; i < er.n_parts; i++)
		if (er.parts[i].topic < p || er.parts[i].topic + er.parts[i].topic_len > p + len)
			abort();
	kfw_epoch_resp_free(&er);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* an exact copy, so that the sanitizers see a read past the frame */
	uint8_t *p = malloc(size - 1 ? size - 1 : 1);
	if (!p)
		return 0;
	for (size_t i = 1; i < size; i++)
		p[i - 1] = data[i];
	if (data[0] & 1)
		fuzz_kfw_epoch(p, size - 1);
	else
		fuzz_kfw_fetch(p, size - 1);
	free(p);
	return 0;
}
