/*
 * Fuzz harness: kwadmin, the broker's decoders of CreateTopics, DeleteTopics and
 * CreatePartitions request bodies. The first byte picks the API (byte % 3: CreateTopics,
 * DeleteTopics, CreatePartitions) and the version ((byte / 3) modulo the API's versions), the
 * rest is the body after the request header. Any outcome but a crash, a read out of bounds, a
 * leak or a hang is fine; a successful decode must have NUL-terminated names within their
 * buffers and counts within their caps, and re-encode to a body the decoder reads back to the
 * same request. Seeds: tests/fuzz/make_corpus_kwadmin.py.
 */
#include "buf.h"
#include "err.h"
#include "kwadmin.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_name(const struct kwadmin_name *n)
{
	if (!memchr(n->name, '\0', sizeof(n->name)))
		abort();
}

static void fuzz_count(int32_t n, bool nullable)
{
	if (n < (nullable ? -1 : 0) || n > KWIRE_MAX_ITEMS)
		abort();
}

static bool fuzz_assign_eq(const struct kwadmin_assign *a, const struct kwadmin_assign *b, int32_t n)
{
	for (int32_t k = 0; k < n; k++)
		if (a[k].index != b[k].index || a[k].n != b[k].n ||
		    (a[k].n && memcmp(a[k].ids, b[k].ids, (size_t)a[k].n * sizeof(int32_t))))
			return false;
	return true;
}

static bool fuzz_str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static void fuzz_ct(struct rbuf *r, int16_t ver)
{
	struct kwadmin_ct_req q, q2;
	if (kwadmin_ct_req_decode(r, ver, &q)) {
		kwadmin_ct_req_free(&q);
		return;
	}
	fuzz_count(q.n, false);
	for (int32_t i = 0; i < q.n; i++) {
		fuzz_name(&q.topics[i].name);
		fuzz_count(q.topics[i].nassign, true);
		fuzz_count(q.topics[i].nconf, true);
	}
	struct wbuf w;
	wbuf_init(&w, 1u << 26);
	if (kwadmin_ct_req_encode(&w, ver, &q) == 0) {
		struct rbuf r2 = rbuf_make(w.p, w.len);
		if (kwadmin_ct_req_decode(&r2, ver, &q2) || q2.n != q.n || q2.timeout_ms != q.timeout_ms ||
		    q2.validate_only != q.validate_only)
			abort();
		for (int32_t i = 0; i < q.n; i++) {
			const struct kwadmin_ct_topic *a = &q.topics[i], *b = &q2.topics[i];
			if ((!a->name.bad && strcmp(a->name.name, b->name.name)) || a->nparts != b->nparts ||
			    a->rf != b->rf || a->nassign != b->nassign || a->nconf != b->nconf ||
			    !fuzz_assign_eq(a->assign, b->assign, a->nassign))
				abort();
			/* a config string holding a NUL comes back cut at it */
			for (int32_t k = 0; k < a->nconf; k++)
				if (!fuzz_str_eq(a->confs[k].name, b->confs[k].name) ||
				    !fuzz_str_eq(a->confs[k].value, b->confs[k].value))
					abort();
		}
		kwadmin_ct_req_free(&q2);
	}
	wbuf_free(&w);
	kwadmin_ct_req_free(&q);
}

static void fuzz_dt(struct rbuf *r, int16_t ver)
{
	struct kwadmin_dt_req q, q2;
	if (kwadmin_dt_req_decode(r, ver, &q)) {
		kwadmin_dt_req_free(&q);
		return;
	}
	fuzz_count(q.n, false);
	for (int32_t i = 0; i < q.n; i++)
		fuzz_name(&q.topics[i]);
	struct wbuf w;
	wbuf_init(&w, 1u << 26);
	if (kwadmin_dt_req_encode(&w, ver, &q) == 0) {
		struct rbuf r2 = rbuf_make(w.p, w.len);
		if (kwadmin_dt_req_decode(&r2, ver, &q2) || q2.n != q.n || q2.timeout_ms != q.timeout_ms)
			abort();
		for (int32_t i = 0; i < q.n; i++)
			if (!q.topics[i].bad && strcmp(q.topics[i].name, q2.topics[i].name))
				abort();
		kwadmin_dt_req_free(&q2);
	}
	wbuf_free(&w);
	kwadmin_dt_req_free(&q);
}

static void fuzz_cp(struct rbuf *r, int16_t ver)
{
	struct kwadmin_cp_req q, q2;
	if (kwadmin_cp_req_decode(r, ver, &q)) {
		kwadmin_cp_req_free(&q);
		return;
	}
	fuzz_count(q.n, false);
	for (int32_t i = 0; i < q.n; i++) {
		fuzz_name(&q.topics[i].name);
		fuzz_count(q.topics[i].nassign, true);
	}
	struct wbuf w;
	wbuf_init(&w, 1u << 26);
	if (kwadmin_cp_req_encode(&w, ver, &q) == 0) {
		struct rbuf r2 = rbuf_make(w.p, w.len);
		if (kwadmin_cp_req_decode(&r2, ver, &q2) || q2.n != q.n || q2.timeout_ms != q.timeout_ms ||
		    q2.validate_only != q.validate_only)
			abort();
		for (int32_t i = 0; i < q.n; i++) {
			const struct kwadmin_cp_topic *a = &q.topics[i], *b = &q2.topics[i];
			if ((!a->name.bad && strcmp(a->name.name, b->name.name)) || a->count != b->count ||
			    a->nassign != b->nassign || !fuzz_assign_eq(a->assign, b->assign, a->nassign))
				abort();
		}
		kwadmin_cp_req_free(&q2);
	}
	wbuf_free(&w);
	kwadmin_cp_req_free(&q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int api = data[0] % 3, sel = data[0] / 3;
	struct rbuf r = rbuf_make(data + 1, size - 1);
	if (api == 0)
		fuzz_ct(&r, (int16_t)(sel % (KWADMIN_CT_MAX_VERSION + 1)));
	else if (api == 1)
		fuzz_dt(&r, (int16_t)(sel % (KWADMIN_DT_MAX_VERSION + 1)));
	else
		fuzz_cp(&r, (int16_t)(sel % (KWADMIN_CP_MAX_VERSION + 1)));
	return 0;
}
