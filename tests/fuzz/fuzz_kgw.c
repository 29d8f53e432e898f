/*
 * Fuzz harness: kgw, the consumer-group codecs. The first byte picks the message (modulo the
 * table below), the second the version, the rest is the body. Any outcome but a crash, a read
 * out of bounds or a hang is fine; a successful decode must encode again to the very same bytes
 * (the codec is one description walked both ways; but a subscription is read only up to its
 * topics, the bools of DescribeGroups and OffsetFetch v7+ read any non-zero byte as true, and
 * the unknown tagged fields of a flexible version are skipped), and a failure must leave only
 * the arena.
 * Seeds: tests/fuzz/make_corpus_kgw.py.
 */
#include "buf.h"
#include "err.h"
#include "kgw.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_KGW(M)                                                                                  \
	static void fuzz_kgw_##M(const uint8_t *p, size_t len, int16_t ver)                          \
	{                                                                                            \
		struct kgw_##M m;                                                                    \
		struct kgw_arena a = { 0 };                                                          \
		char eb[256];                                                                        \
		if (kgw_##M##_decode(p, len, ver, &m, &a, eb, sizeof(eb)) == 0) {                    \
			struct wbuf w;                                                               \
			wbuf_init(&w, len + 16);                                                     \
			bool loose = a.tags_skipped > 0 ||                                          \
				     strcmp(#M, "subscription") == 0 || /* reads only a prefix */     \
				     strcmp(#M, "describe_req") == 0 || /* a bool: any non-zero byte */ \
				     (strcmp(#M, "ofetch_req") == 0 && ver >= 7);                    \
			if (kgw_##M##_encode(&w, ver, &m) != 0 || w.len != len || memcmp(w.p, p, len) != 0) \
				if (!loose)                                                          \
					abort();                                                     \
			wbuf_free(&w);                                                               \
		}                                                                                    \
		kgw_arena_free(&a);                                                                  \
	}

FUZZ_KGW(find_req)
FUZZ_KGW(find_resp)
FUZZ_KGW(join_req)
FUZZ_KGW(join_resp)
FUZZ_KGW(sync_req)
FUZZ_KGW(sync_resp)
FUZZ_KGW(heartbeat_req)
FUZZ_KGW(heartbeat_resp)
FUZZ_KGW(leave_req)
FUZZ_KGW(leave_resp)
FUZZ_KGW(commit_req)
FUZZ_KGW(commit_resp)
FUZZ_KGW(ofetch_req)
FUZZ_KGW(ofetch_resp)
FUZZ_KGW(list_resp)
FUZZ_KGW(describe_req)
FUZZ_KGW(describe_resp)
FUZZ_KGW(delete_req)
FUZZ_KGW(delete_resp)
FUZZ_KGW(odelete_req)
FUZZ_KGW(odelete_resp)
FUZZ_KGW(key)
FUZZ_KGW(offset_value)
FUZZ_KGW(group_value)
FUZZ_KGW(subscription)

/* The order is the seed generator's (make_corpus_kgw.py MSGS). */
static void (*const fuzz_kgw_fns[])(const uint8_t *, size_t, int16_t) = {
	fuzz_kgw_find_req,	fuzz_kgw_find_resp,    fuzz_kgw_join_req,     fuzz_kgw_join_resp,
	fuzz_kgw_sync_req,	fuzz_kgw_sync_resp,    fuzz_kgw_heartbeat_req, fuzz_kgw_heartbeat_resp,
	fuzz_kgw_leave_req,	fuzz_kgw_leave_resp,   fuzz_kgw_commit_req,   fuzz_kgw_commit_resp,
	fuzz_kgw_ofetch_req,	fuzz_kgw_ofetch_resp,  fuzz_kgw_list_resp,    fuzz_kgw_describe_req,
	fuzz_kgw_describe_resp, fuzz_kgw_delete_req,   fuzz_kgw_delete_resp,  fuzz_kgw_odelete_req,
	fuzz_kgw_odelete_resp,	fuzz_kgw_key,	       fuzz_kgw_offset_value, fuzz_kgw_group_value,
	fuzz_kgw_subscription,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t n = sizeof(fuzz_kgw_fns) / sizeof(fuzz_kgw_fns[0]);
	/* an exact copy, so that the sanitizers see a read past the body */
	uint8_t *p = malloc(size - 2 ? size - 2 : 1);
	if (!p)
		return 0;
	memcpy(p, data + 2, size - 2);
	fuzz_kgw_fns[data[0] % n](p, size - 2, (int16_t)(data[1] % 9));
	free(p);
	return 0;
}
