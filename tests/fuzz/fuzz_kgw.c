/*
 * Fuzz harness: kgw, the consumer-group codecs. The first byte picks the message (modulo the
 * table below), the second the version, the rest is the body. Any outcome but a crash, a read
 * out of bounds or a hang is fine; a successful decode must encode again to the very same bytes
 * (the codec is one description walked both ways; but a subscription is read only up to its
 * topics, the bools of DescribeGroups and OffsetFetch v7+ read any non-zero byte as true, and
 * the unknown tagged fields of a flexible version are skipped); in a flexible version, whose
 * varints may come in a longer form than needed (Kafka reads those too), the bytes it encodes to
 * must decode and encode again to themselves. A failure must leave only the arena.
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

/* A flexible version's encoding decodes and encodes again to itself. */
#define FUZZ_KGW_STABLE(M, w, ver)                                                                   \
	do {                                                                                         \
		struct kgw_##M m2_;                                                                  \
		struct kgw_arena a2_ = { 0 };                                                        \
		struct wbuf w2_;                                                                     \
		char eb2_[256];                                                                      \
		wbuf_init(&w2_, (w).len + 16);                                                       \
		if (kgw_##M##_decode((w).p, (w).len, (ver), &m2_, &a2_, eb2_, sizeof(eb2_)) != 0 ||  \
		    kgw_##M##_encode(&w2_, (ver), &m2_) != 0 || w2_.len != (w).len ||                \
		    memcmp(w2_.p, (w).p, (w).len) != 0)                                              \
			abort();                                                                     \
		wbuf_free(&w2_);                                                                     \
		kgw_arena_free(&a2_);                                                                \
	} while (0)

/* api: the message's API key, for kgw_flexible; -1 for records */
#define FUZZ_KGW(M, api)                                                                             \
	static void fuzz_kgw_##M(const uint8_t *p, size_t len, int16_t ver)                          \
	{                                                                                            \
		struct kgw_##M m;                                                                    \
		struct kgw_arena a = { 0 };                                                          \
		char eb[256];                                                                        \
		if (kgw_##M##_decode(p, len, ver, &m, &a, eb, sizeof(eb)) == 0) {                    \
			struct wbuf w;                                                               \
			wbuf_init(&w, len + 16);                                                     \
			bool flex = (api) >= 0 && kgw_flexible((api), ver);                          \
			bool loose = a.tags_skipped > 0 ||                                          \
				     strcmp(#M, "subscription") == 0 || /* reads only a prefix */     \
				     strcmp(#M, "describe_req") == 0 || /* a bool: any non-zero byte */ \
				     (strcmp(#M, "ofetch_req") == 0 && ver >= 7);                    \
			int erc = kgw_##M##_encode(&w, ver, &m);                                     \
			if (erc != 0 || w.len != len || memcmp(w.p, p, len) != 0) {                  \
				if (!loose && !flex)                                                 \
					abort();                                                     \
				if (flex && (erc != 0 || w.err))                                     \
					abort();                                                     \
				if (flex)                                                            \
					FUZZ_KGW_STABLE(M, w, ver);                                  \
			}                                                                            \
			wbuf_free(&w);                                                               \
		}                                                                                    \
		kgw_arena_free(&a);                                                                  \
	}

FUZZ_KGW(find_req, KGW_API_FIND_COORDINATOR)
FUZZ_KGW(find_resp, KGW_API_FIND_COORDINATOR)
FUZZ_KGW(join_req, KGW_API_JOIN_GROUP)
FUZZ_KGW(join_resp, KGW_API_JOIN_GROUP)
FUZZ_KGW(sync_req, KGW_API_SYNC_GROUP)
FUZZ_KGW(sync_resp, KGW_API_SYNC_GROUP)
FUZZ_KGW(heartbeat_req, KGW_API_HEARTBEAT)
FUZZ_KGW(heartbeat_resp, KGW_API_HEARTBEAT)
FUZZ_KGW(leave_req, KGW_API_LEAVE_GROUP)
FUZZ_KGW(leave_resp, KGW_API_LEAVE_GROUP)
FUZZ_KGW(commit_req, KGW_API_OFFSET_COMMIT)
FUZZ_KGW(commit_resp, KGW_API_OFFSET_COMMIT)
FUZZ_KGW(ofetch_req, KGW_API_OFFSET_FETCH)
FUZZ_KGW(ofetch_resp, KGW_API_OFFSET_FETCH)
FUZZ_KGW(list_resp, KGW_API_LIST_GROUPS)
FUZZ_KGW(describe_req, KGW_API_DESCRIBE_GROUPS)
FUZZ_KGW(describe_resp, KGW_API_DESCRIBE_GROUPS)
FUZZ_KGW(delete_req, KGW_API_DELETE_GROUPS)
FUZZ_KGW(delete_resp, KGW_API_DELETE_GROUPS)
FUZZ_KGW(odelete_req, KGW_API_OFFSET_DELETE)
FUZZ_KGW(odelete_resp, KGW_API_OFFSET_DELETE)
FUZZ_KGW(key, -1)
FUZZ_KGW(offset_value, -1)
FUZZ_KGW(group_value, -1)
FUZZ_KGW(subscription, -1)

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
