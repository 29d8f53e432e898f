/*
 * Fuzz harness: kelect, the leader-election tool's decoders of Metadata v1 and ElectLeaders v1
 * responses, and its frame-length check. The first byte picks the decoder (even: ElectLeaders,
 * odd: Metadata), the rest is the response frame. Any outcome but a crash, a read out of bounds
 * or a hang is fine, but a successful decode must only point inside the frame, and a failed
 * one must leave nothing to free.
 * Seeds: tests/fuzz/make_corpus_kelect.py.
 */
#include "err.h"
#include "kelect.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int kelect_inside(const uint8_t *p, size_t len, const uint8_t *s, size_t sl)
{
	return sl == 0 || (s >= p && s + sl <= p + len);
}

static void fuzz_kelect_elect(const uint8_t *p, size_t len)
{
	struct kelect_resp er;
	char eb[256];
	if (kelect_decode(p, len, &er, eb, sizeof(eb)) != 0) {
		if (er.parts || er.n_parts)
			abort();
		return;
	}
	if (er.n_parts > KELECT_MAX_PARTS)
		abort();
	for (size_t i = 0; i < er.n_parts; i++) {
		const struct kelect_result *r = &er.parts[i];
		if (!kelect_inside(p, len, r->topic, r->topic_len) || r->topic_len > KELECT_MAX_STR ||
		    (r->message && !kelect_inside(p, len, r->message, r->message_len)) ||
		    (!r->message && r->message_len) || r->message_len > KELECT_MAX_STR)
			abort();
	}
	kelect_resp_free(&er);
}

static void fuzz_kelect_metadata(const uint8_t *p, size_t len)
{
	struct kelect_metadata md;
	char eb[256];
	if (kelect_metadata_decode(p, len, &md, eb, sizeof(eb)) != 0) {
		if (md.brokers || md.n_brokers)
			abort();
		return;
	}
	for (size_t i = 0; i < md.n_brokers; i++)
		if (!kelect_inside(p, len, md.brokers[i].host, md.brokers[i].host_len) ||
		    md.brokers[i].host_len > KELECT_MAX_STR)
			abort();
	kelect_metadata_free(&md);
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
	if (size - 1 >= 4) { /* the first 4 bytes as a length prefix */
		size_t flen;
		char eb[128];
		int rc = kelect_frame_len(p, &flen, eb, sizeof(eb));
		if ((rc == 0) != (flen >= 4 && flen <= KELECT_MAX_FRAME))
			abort();
	}
	if (data[0] & 1)
		fuzz_kelect_metadata(p, size - 1);
	else
		fuzz_kelect_elect(p, size - 1);
	free(p);
	return 0;
}
