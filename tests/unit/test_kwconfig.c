/*
 * Unit tests for broker/wire/kwconfig: DescribeConfigs v0-2, AlterConfigs v0-1 and
 * IncrementalAlterConfigs v0, as the broker serves them. Requests byte for byte as written from
 * Kafka's message schemas, round trips of requests and responses in every version, the flagged
 * (not refused) bad names and entries, every truncation refused, and counts or lengths larger
 * than the bytes left refused before anything is allocated.
 */
#include "buf.h"
#include "err.h"
#include "kwconfig.h"

#include "check_main.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* A DescribeConfigs request: topic "t1" keys ["retention.ms"], broker "" keys null. */
static void dc_sample(struct kwconfig_dc_req *q, struct kwconfig_dc_rreq *res, char **keys)
{
	memset(q, 0, sizeof(*q));
	memset(res, 0, 2 * sizeof(*res));
	keys[0] = "retention.ms";
	res[0] = (struct kwconfig_dc_rreq){ .type = 2, .name = "t1", .nkeys = 1, .keys = keys };
	res[1] = (struct kwconfig_dc_rreq){ .type = 4, .name = "", .nkeys = -1 };
	q->n = 2;
	q->res = res;
	q->synonyms = true;
}

START_TEST(test_dc_request_bytes)
{
	/* v0: one topic resource "ab", keys null */
	static const uint8_t v0[] = { 0, 0, 0, 1, 2, 0, 2, 'a', 'b', 0xff, 0xff, 0xff, 0xff };
	struct kwconfig_dc_req q;
	struct rbuf r = rbuf_make(v0, sizeof(v0));
	ck_assert_int_eq(kwconfig_dc_req_decode(&r, 0, &q), 0);
	ck_assert_int_eq(rbuf_left(&r), 0);
	ck_assert_int_eq(q.n, 1);
	ck_assert_int_eq(q.res[0].type, 2);
	ck_assert_str_eq(q.res[0].name, "ab");
	ck_assert_int_eq(q.res[0].nkeys, -1);
	ck_assert(!q.synonyms);
	kwconfig_dc_req_free(&q);
	/* v1: broker "1", keys ["x"], include_synonyms true */
	static const uint8_t v1[] = { 0, 0, 0, 1, 4, 0, 1, '1', 0, 0, 0, 1, 0, 1, 'x', 1 };
	r = rbuf_make(v1, sizeof(v1));
	ck_assert_int_eq(kwconfig_dc_req_decode(&r, 1, &q), 0);
	ck_assert_int_eq(rbuf_left(&r), 0);
	ck_assert_str_eq(q.res[0].name, "1");
	ck_assert_int_eq(q.res[0].nkeys, 1);
	ck_assert_str_eq(q.res[0].keys[0], "x");
	ck_assert(q.synonyms);
	kwconfig_dc_req_free(&q);
	/* a name holding a NUL is flagged, not refused */
	static const uint8_t nul[] = { 0, 0, 0, 1, 2, 0, 2, 'a', 0, 0, 0, 0, 0 };
	r = rbuf_make(nul, sizeof(nul));
	ck_assert_int_eq(kwconfig_dc_req_decode(&r, 0, &q), 0);
	ck_assert(q.res[0].bad_name);
	ck_assert_int_eq(q.res[0].nkeys, 0);
	kwconfig_dc_req_free(&q);
}
END_TEST

START_TEST(test_dc_request_round_trip)
{
	for (int16_t ver = 0; ver <= KWCONFIG_DESCRIBE_MAX_VERSION; ver++) {
		struct kwconfig_dc_req q, d;
		struct kwconfig_dc_rreq res[2];
		char *keys[1];
		dc_sample(&q, res, keys);
		struct wbuf w;
		wbuf_init(&w, 1 << 16);
		ck_assert_int_eq(kwconfig_dc_req_encode(&w, ver, &q), 0);
		struct rbuf r = rbuf_make(w.p, w.len);
		ck_assert_int_eq(kwconfig_dc_req_decode(&r, ver, &d), 0);
		ck_assert_int_eq(rbuf_left(&r), 0);
		ck_assert_int_eq(d.n, 2);
		ck_assert_str_eq(d.res[0].name, "t1");
		ck_assert_int_eq(d.res[0].nkeys, 1);
		ck_assert_str_eq(d.res[0].keys[0], "retention.ms");
		ck_assert_int_eq(d.res[1].type, 4);
		ck_assert_str_eq(d.res[1].name, "");
		ck_assert_int_eq(d.res[1].nkeys, -1);
		ck_assert(d.synonyms == (ver >= 1));
		kwconfig_dc_req_free(&d);
		/* every truncation is refused */
		for (size_t cut = 0; cut < w.len; cut++) {
			r = rbuf_make(w.p, cut);
			ck_assert_int_eq(kwconfig_dc_req_decode(&r, ver, &d), ERR_PROTO);
			ck_assert_int_eq(d.n, 0);
			ck_assert_ptr_null(d.res);
		}
		wbuf_free(&w);
	}
}
END_TEST

START_TEST(test_dc_request_refused)
{
	struct kwconfig_dc_req q;
	/* a resource count far over the bytes left */
	static const uint8_t huge[] = { 0x7f, 0xff, 0xff, 0xff, 2, 0, 1, 'a', 0, 0, 0, 0 };
	struct rbuf r = rbuf_make(huge, sizeof(huge));
	ck_assert_int_eq(kwconfig_dc_req_decode(&r, 0, &q), ERR_PROTO);
	/* a null resource array */
	static const uint8_t null[] = { 0xff, 0xff, 0xff, 0xff };
	r = rbuf_make(null, sizeof(null));
	ck_assert_int_eq(kwconfig_dc_req_decode(&r, 0, &q), ERR_PROTO);
	/* a keys count over the bytes left */
	static const uint8_t keys[] = { 0, 0, 0, 1, 2, 0, 1, 'a', 0x00, 0x10, 0x00, 0x00, 0, 1, 'k' };
	r = rbuf_make(keys, sizeof(keys));
	ck_assert_int_eq(kwconfig_dc_req_decode(&r, 0, &q), ERR_PROTO);
	/* a name length over the bytes left */
	static const uint8_t name[] = { 0, 0, 0, 1, 2, 0x7f, 0xff, 'a', 0xff, 0xff, 0xff, 0xff };
	r = rbuf_make(name, sizeof(name));
	ck_assert_int_eq(kwconfig_dc_req_decode(&r, 0, &q), ERR_PROTO);
	/* an unknown version */
	static const uint8_t ok[] = { 0, 0, 0, 0, 0 };
	r = rbuf_make(ok, sizeof(ok));
	ck_assert_int_eq(kwconfig_dc_req_decode(&r, 3, &q), ERR_PROTO);
}
END_TEST

static char *sdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* A DescribeConfigs response: one topic with two entries (one with synonyms), one error. */
static void dc_resp_sample(struct kwconfig_dc_resp *p)
{
	memset(p, 0, sizeof(*p));
	p->throttle_ms = 3;
	p->n = 2;
	p->res = calloc(2, sizeof(*p->res));
	struct kwconfig_dc_rresp *a = &p->res[0], *b = &p->res[1];
	a->type = 2;
	a->name = sdup("t1");
	a->n = 2;
	a->entries = calloc(2, sizeof(*a->entries));
	a->entries[0] = (struct kwconfig_entry_out){ .name = sdup("retention.ms"), .value = sdup("1000"),
						     .source = 1, .nsyn = 2 };
	a->entries[0].syn[0] = (struct kwconfig_syn){ sdup("retention.ms"), sdup("1000"), 1 };
	a->entries[0].syn[1] = (struct kwconfig_syn){ sdup("log.retention.ms"), NULL, 4 };
	a->entries[1] = (struct kwconfig_entry_out){ .name = sdup("segment.bytes"), .value = NULL, .read_only = true,
						     .source = KWCONFIG_SRC_DEFAULT };
	b->error = 29;
	b->message = sdup("Authorization failed.");
	b->type = 4;
	b->name = sdup("1");
}

START_TEST(test_dc_response_round_trip)
{
	for (int16_t ver = 0; ver <= KWCONFIG_DESCRIBE_MAX_VERSION; ver++) {
		struct kwconfig_dc_resp p, d;
		dc_resp_sample(&p);
		struct wbuf w;
		wbuf_init(&w, 1 << 16);
		ck_assert_int_eq(kwconfig_dc_resp_encode(&w, ver, &p), 0);
		struct rbuf r = rbuf_make(w.p, w.len);
		ck_assert_int_eq(kwconfig_dc_resp_decode(&r, ver, &d), 0);
		ck_assert_int_eq(rbuf_left(&r), 0);
		ck_assert_int_eq(d.throttle_ms, 3);
		ck_assert_int_eq(d.n, 2);
		ck_assert_str_eq(d.res[0].name, "t1");
		ck_assert_ptr_null(d.res[0].message);
		ck_assert_int_eq(d.res[0].n, 2);
		const struct kwconfig_entry_out *e = &d.res[0].entries[0], *f = &d.res[0].entries[1];
		ck_assert_str_eq(e->name, "retention.ms");
		ck_assert_str_eq(e->value, "1000");
		ck_assert_ptr_null(f->value);
		ck_assert(f->read_only && !e->read_only);
		ck_assert_int_eq(f->source, KWCONFIG_SRC_DEFAULT);
		ck_assert_int_eq(e->source, ver == 0 ? 0 : 1); /* v0 only tells is_default */
		ck_assert_int_eq(e->nsyn, ver == 0 ? 0 : 2);
		if (ver >= 1) {
			ck_assert_str_eq(e->syn[1].name, "log.retention.ms");
			ck_assert_ptr_null(e->syn[1].value);
			ck_assert_int_eq(e->syn[1].source, 4);
		}
		ck_assert_int_eq(d.res[1].error, 29);
		ck_assert_str_eq(d.res[1].message, "Authorization failed.");
		ck_assert_int_eq(d.res[1].n, 0);
		kwconfig_dc_resp_free(&d);
		for (size_t cut = 0; cut < w.len; cut++) {
			r = rbuf_make(w.p, cut);
			ck_assert_int_eq(kwconfig_dc_resp_decode(&r, ver, &d), ERR_PROTO);
		}
		/* the bytes of the second result: error 29, message, type 4, name "1", no entries */
		static const uint8_t tail[] = { 0, 29, 0, 21, 'A', 'u', 't', 'h', 'o', 'r', 'i', 'z', 'a', 't', 'i',
						'o', 'n', ' ', 'f', 'a', 'i', 'l', 'e', 'd', '.', 4, 0, 1, '1', 0, 0, 0, 0 };
		ck_assert_uint_ge(w.len, sizeof(tail));
		ck_assert_mem_eq(w.p + w.len - sizeof(tail), tail, sizeof(tail));
		kwconfig_dc_resp_free(&p);
		wbuf_free(&w);
	}
}
END_TEST

static void ac_sample(struct kwconfig_ac_req *q, struct kwconfig_ac_rreq *res, struct kwconfig_entry_in *e,
		      bool incremental)
{
	memset(q, 0, sizeof(*q));
	e[0] = (struct kwconfig_entry_in){ .name = "retention.ms", .value = "1000", .op = KWCONFIG_OP_SET };
	e[1] = (struct kwconfig_entry_in){ .name = "segment.ms", .value = NULL,
					   .op = incremental ? KWCONFIG_OP_DELETE : KWCONFIG_OP_SET };
	res[0] = (struct kwconfig_ac_rreq){ .type = 2, .name = "t1", .n = 2, .entries = e };
	res[1] = (struct kwconfig_ac_rreq){ .type = 4, .name = "", .n = 0, .entries = NULL };
	q->n = 2;
	q->res = res;
	q->validate_only = true;
}

START_TEST(test_ac_request_round_trip)
{
	for (int inc = 0; inc <= 1; inc++) {
		int16_t maxv = inc ? KWCONFIG_INCREMENTAL_MAX_VERSION : KWCONFIG_ALTER_MAX_VERSION;
		for (int16_t ver = 0; ver <= maxv; ver++) {
			struct kwconfig_ac_req q, d;
			struct kwconfig_ac_rreq res[2];
			struct kwconfig_entry_in e[2];
			ac_sample(&q, res, e, inc);
			struct wbuf w;
			wbuf_init(&w, 1 << 16);
			ck_assert_int_eq(kwconfig_ac_req_encode(&w, inc, ver, &q), 0);
			struct rbuf r = rbuf_make(w.p, w.len);
			ck_assert_int_eq(kwconfig_ac_req_decode(&r, inc, ver, &d), 0);
			ck_assert_int_eq(rbuf_left(&r), 0);
			ck_assert_int_eq(d.n, 2);
			ck_assert(d.validate_only);
			ck_assert_str_eq(d.res[0].name, "t1");
			ck_assert(!d.res[0].bad_name && !d.res[0].bad_entry);
			ck_assert_int_eq(d.res[0].n, 2);
			ck_assert_str_eq(d.res[0].entries[0].name, "retention.ms");
			ck_assert_str_eq(d.res[0].entries[0].value, "1000");
			ck_assert_str_eq(d.res[0].entries[1].name, "segment.ms");
			ck_assert_ptr_null(d.res[0].entries[1].value);
			ck_assert_int_eq(d.res[0].entries[1].op, inc ? KWCONFIG_OP_DELETE : KWCONFIG_OP_SET);
			ck_assert_int_eq(d.res[1].type, 4);
			ck_assert_int_eq(d.res[1].n, 0);
			kwconfig_ac_req_free(&d);
			for (size_t cut = 0; cut < w.len; cut++) {
				r = rbuf_make(w.p, cut);
				ck_assert_int_eq(kwconfig_ac_req_decode(&r, inc, ver, &d), ERR_PROTO);
				ck_assert_ptr_null(d.res);
			}
			wbuf_free(&w);
		}
	}
}
END_TEST

START_TEST(test_ac_request_bytes_and_refused)
{
	struct kwconfig_ac_req q;
	/* IncrementalAlterConfigs v0: topic "a", entry "k" APPEND "v", validate_only false */
	static const uint8_t inc[] = { 0, 0, 0, 1, 2, 0, 1, 'a', 0, 0, 0, 1, 0, 1, 'k', 2, 0, 1, 'v', 0 };
	struct rbuf r = rbuf_make(inc, sizeof(inc));
	ck_assert_int_eq(kwconfig_ac_req_decode(&r, true, 0, &q), 0);
	ck_assert_int_eq(rbuf_left(&r), 0);
	ck_assert_int_eq(q.res[0].entries[0].op, KWCONFIG_OP_APPEND);
	ck_assert_str_eq(q.res[0].entries[0].value, "v");
	kwconfig_ac_req_free(&q);
	/* an unknown operation (9), an empty name, a NUL in a value: flagged, not refused */
	static const uint8_t badop[] = { 0, 0, 0, 1, 2, 0, 1, 'a', 0, 0, 0, 1, 0, 1, 'k', 9, 0, 1, 'v', 0 };
	r = rbuf_make(badop, sizeof(badop));
	ck_assert_int_eq(kwconfig_ac_req_decode(&r, true, 0, &q), 0);
	ck_assert(q.res[0].bad_entry);
	ck_assert_ptr_null(q.res[0].entries[0].name);
	kwconfig_ac_req_free(&q);
	static const uint8_t empty[] = { 0, 0, 0, 1, 2, 0, 1, 'a', 0, 0, 0, 1, 0, 0, 0, 1, 'v', 0 };
	r = rbuf_make(empty, sizeof(empty));
	ck_assert_int_eq(kwconfig_ac_req_decode(&r, false, 1, &q), 0);
	ck_assert(q.res[0].bad_entry);
	kwconfig_ac_req_free(&q);
	static const uint8_t nulv[] = { 0, 0, 0, 1, 2, 0, 1, 'a', 0, 0, 0, 1, 0, 1, 'k', 0, 2, 'v', 0, 1 };
	r = rbuf_make(nulv, sizeof(nulv));
	ck_assert_int_eq(kwconfig_ac_req_decode(&r, false, 0, &q), 0);
	ck_assert(q.res[0].bad_entry);
	ck_assert(q.validate_only);
	kwconfig_ac_req_free(&q);
	/* an entries count and a resource count far over the bytes left; a null entries array */
	static const uint8_t hugen[] = { 0, 0, 0, 1, 2, 0, 1, 'a', 0x7f, 0xff, 0xff, 0xff, 0, 1, 'k', 0, 1, 'v', 0 };
	r = rbuf_make(hugen, sizeof(hugen));
	ck_assert_int_eq(kwconfig_ac_req_decode(&r, false, 0, &q), ERR_PROTO);
	static const uint8_t huger[] = { 0x00, 0x01, 0x00, 0x00, 2, 0, 1, 'a', 0, 0, 0, 0, 0 };
	r = rbuf_make(huger, sizeof(huger));
	ck_assert_int_eq(kwconfig_ac_req_decode(&r, false, 0, &q), ERR_PROTO);
	static const uint8_t nulln[] = { 0, 0, 0, 1, 2, 0, 1, 'a', 0xff, 0xff, 0xff, 0xff, 0 };
	r = rbuf_make(nulln, sizeof(nulln));
	ck_assert_int_eq(kwconfig_ac_req_decode(&r, false, 0, &q), ERR_PROTO);
	/* a value length over the bytes left */
	static const uint8_t hugev[] = { 0, 0, 0, 1, 2, 0, 1, 'a', 0, 0, 0, 1, 0, 1, 'k', 0x7f, 0xff, 'v', 0 };
	r = rbuf_make(hugev, sizeof(hugev));
	ck_assert_int_eq(kwconfig_ac_req_decode(&r, false, 0, &q), ERR_PROTO);
	/* versions the broker does not serve */
	r = rbuf_make(inc, sizeof(inc));
	ck_assert_int_eq(kwconfig_ac_req_decode(&r, true, 1, &q), ERR_PROTO);
	r = rbuf_make(inc, sizeof(inc));
	ck_assert_int_eq(kwconfig_ac_req_decode(&r, false, 2, &q), ERR_PROTO);
}
END_TEST

START_TEST(test_ac_response)
{
	struct kwconfig_ac_rresp rr[2] = { { 0, NULL, 2, "t1" }, { 42, "Invalid config", 4, "" } };
	struct kwconfig_ac_resp p = { .throttle_ms = 0, .n = 2, .res = rr }, d;
	struct wbuf w;
	wbuf_init(&w, 1 << 16);
	ck_assert_int_eq(kwconfig_ac_resp_encode(&w, &p), 0);
	static const uint8_t want[] = { 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0xff, 0xff, 2, 0, 2, 't', '1', 0, 42, 0, 14,
					'I', 'n', 'v', 'a', 'l', 'i', 'd', ' ', 'c', 'o', 'n', 'f', 'i', 'g', 4, 0, 0 };
	ck_assert_uint_eq(w.len, sizeof(want));
	ck_assert_mem_eq(w.p, want, sizeof(want));
	struct rbuf r = rbuf_make(w.p, w.len);
	ck_assert_int_eq(kwconfig_ac_resp_decode(&r, &d), 0);
	ck_assert_int_eq(d.n, 2);
	ck_assert_ptr_null(d.res[0].message);
	ck_assert_str_eq(d.res[0].name, "t1");
	ck_assert_str_eq(d.res[1].message, "Invalid config");
	kwconfig_ac_resp_free(&d);
	for (size_t cut = 0; cut < w.len; cut++) {
		r = rbuf_make(w.p, cut);
		ck_assert_int_eq(kwconfig_ac_resp_decode(&r, &d), ERR_PROTO);
	}
	wbuf_free(&w);
}
END_TEST

static Suite *kwconfig_suite(void)
{
	Suite *s = suite_create("kwconfig");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_dc_request_bytes);
	tcase_add_test(tc, test_dc_request_round_trip);
	tcase_add_test(tc, test_dc_request_refused);
	tcase_add_test(tc, test_dc_response_round_trip);
	tcase_add_test(tc, test_ac_request_round_trip);
	tcase_add_test(tc, test_ac_request_bytes_and_refused);
	tcase_add_test(tc, test_ac_response);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kwconfig_suite());
}
