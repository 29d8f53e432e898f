/*
 * Unit tests of kwacl (broker/wire): DescribeAcls, CreateAcls and DeleteAcls requests round-trip
 * in v0 and v1 (the pattern type from v1, LITERAL in v0; nulls kept in filters, refused in
 * creations); every truncation, a lying count and a NUL inside a string are refused; the three
 * responses are encoded byte for byte as the Describe/Create/DeleteAclsResponse schemas say
 * (Describe grouping consecutive bindings of a resource); the three responses decode back as
 * kafka-acls reads them (Describe's ACLs flattened with their resources, a DeleteAcls match's
 * error taken by its filter), every truncation refused.
 */
#include "buf.h"
#include "err.h"
#include "kwacl.h"

#include "check_main.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const struct kwacl_binding bind2[2] = {
	{ 2, "t", 4, "User:alice", "*", 3, 3 },
	{ 3, "g", 3, "User:bob", "10.0.0.1", 8, 2 },
};
static const struct kwacl_binding filt = { 1, NULL, 1, "User:alice", NULL, 1, 1 };

static void roundtrip(int16_t api, int16_t ver, const struct kwacl_binding *b, int32_t n)
{
	struct kwacl_req q = { n, (struct kwacl_binding *)b };
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	ck_assert_int_eq(kwacl_req_encode(&w, api, ver, &q), 0);
	struct rbuf r = rbuf_make(w.p, w.len);
	struct kwacl_req d;
	ck_assert_int_eq(kwacl_req_decode(&r, api, ver, &d), 0);
	ck_assert_uint_eq(r.pos, w.len);
	ck_assert_int_eq(d.n, n);
	for (int32_t i = 0; i < n; i++) {
		const struct kwacl_binding *x = &d.b[i], *y = &b[i];
		ck_assert_int_eq(x->rtype, y->rtype);
		ck_assert_int_eq(x->pattern, ver >= 1 ? y->pattern : 3);
		ck_assert_int_eq(x->op, y->op);
		ck_assert_int_eq(x->perm, y->perm);
		ck_assert(y->name ? !strcmp(x->name, y->name) : x->name == NULL);
		ck_assert(y->principal ? !strcmp(x->principal, y->principal) : x->principal == NULL);
		ck_assert(y->host ? !strcmp(x->host, y->host) : x->host == NULL);
	}
	kwacl_req_free(&d);
	/* every truncation refused, nothing leaked */
	for (size_t cut = 0; cut < w.len; cut++) {
		struct rbuf t = rbuf_make(w.p, cut);
		ck_assert_int_eq(kwacl_req_decode(&t, api, ver, &d), ERR_PROTO);
		kwacl_req_free(&d);
	}
	wbuf_free(&w);
}

START_TEST(test_requests_round_trip)
{
	for (int16_t ver = 0; ver <= KWACL_MAX_VERSION; ver++) {
		roundtrip(KWACL_API_DESCRIBE, ver, &filt, 1);
		roundtrip(KWACL_API_DESCRIBE, ver, &bind2[1], 1);
		roundtrip(KWACL_API_CREATE, ver, bind2, 2);
		roundtrip(KWACL_API_CREATE, ver, bind2, 0);
		roundtrip(KWACL_API_DELETE, ver, bind2, 2);
		struct kwacl_binding fs[2] = { filt, bind2[0] };
		roundtrip(KWACL_API_DELETE, ver, fs, 2);
	}
}
END_TEST

START_TEST(test_requests_refused)
{
	struct wbuf w;
	struct kwacl_req d;
	wbuf_init(&w, 1 << 20);
	/* a null in a creation */
	struct kwacl_req q = { 1, (struct kwacl_binding *)&filt };
	ck_assert_int_eq(kwacl_req_encode(&w, KWACL_API_CREATE, 1, &q), 0);
	struct rbuf r = rbuf_make(w.p, w.len);
	ck_assert_int_eq(kwacl_req_decode(&r, KWACL_API_CREATE, 1, &d), ERR_PROTO);
	kwacl_req_free(&d);
	/* a lying count: a million creations in a few bytes */
	wbuf_reset(&w);
	wbuf_i32(&w, 1000000);
	wbuf_raw(&w, "0123456789", 10);
	r = rbuf_make(w.p, w.len);
	ck_assert_int_eq(kwacl_req_decode(&r, KWACL_API_DELETE, 0, &d), ERR_PROTO);
	ck_assert_ptr_null(d.b);
	kwacl_req_free(&d);
	/* a null array */
	wbuf_reset(&w);
	wbuf_i32(&w, -1);
	r = rbuf_make(w.p, w.len);
	ck_assert_int_eq(kwacl_req_decode(&r, KWACL_API_CREATE, 0, &d), ERR_PROTO);
	kwacl_req_free(&d);
	/* a NUL inside a name */
	wbuf_reset(&w);
	wbuf_u8(&w, 2);
	wbuf_bytes_i16(&w, "a\0b", 3);
	wbuf_str_i16(&w, "User:a");
	wbuf_str_i16(&w, "*");
	wbuf_u8(&w, 3);
	wbuf_u8(&w, 3);
	r = rbuf_make(w.p, w.len);
	ck_assert_int_eq(kwacl_req_decode(&r, KWACL_API_DESCRIBE, 0, &d), ERR_PROTO);
	kwacl_req_free(&d);
	/* an unknown API or version */
	r = rbuf_make(w.p, w.len);
	ck_assert_int_eq(kwacl_req_decode(&r, 28, 0, &d), ERR_PROTO);
	ck_assert_int_eq(kwacl_req_decode(&r, KWACL_API_DESCRIBE, 2, &d), ERR_PROTO);
	kwacl_req_free(NULL);
	wbuf_free(&w);
}
END_TEST

static void expect(const struct wbuf *w, const struct wbuf *want)
{
	ck_assert_uint_eq(w->len, want->len);
	ck_assert(!memcmp(w->p, want->p, w->len));
}

START_TEST(test_describe_response)
{
	const struct kwacl_binding b[3] = {
		{ 2, "t", 3, "User:alice", "*", 3, 3 },
		{ 2, "t", 3, "User:bob", "*", 4, 2 },
		{ 3, "g", 3, "User:alice", "*", 3, 3 },
	};
	for (int16_t ver = 0; ver <= 1; ver++) {
		struct wbuf w, want;
		wbuf_init(&w, 1 << 20);
		wbuf_init(&want, 1 << 20);
		struct kwacl_result ok = { 0, NULL };
		ck_assert_int_eq(kwacl_describe_resp_encode(&w, ver, 7, ok, b, 3), 0);
		wbuf_i32(&want, 7);
		wbuf_i16(&want, 0);
		wbuf_i16(&want, -1);
		wbuf_i32(&want, 2); /* two resources */
		wbuf_u8(&want, 2);
		wbuf_str_i16(&want, "t");
		if (ver)
			wbuf_u8(&want, 3);
		wbuf_i32(&want, 2);
		wbuf_str_i16(&want, "User:alice");
		wbuf_str_i16(&want, "*");
		wbuf_u8(&want, 3);
		wbuf_u8(&want, 3);
		wbuf_str_i16(&want, "User:bob");
		wbuf_str_i16(&want, "*");
		wbuf_u8(&want, 4);
		wbuf_u8(&want, 2);
		wbuf_u8(&want, 3);
		wbuf_str_i16(&want, "g");
		if (ver)
			wbuf_u8(&want, 3);
		wbuf_i32(&want, 1);
		wbuf_str_i16(&want, "User:alice");
		wbuf_str_i16(&want, "*");
		wbuf_u8(&want, 3);
		wbuf_u8(&want, 3);
		expect(&w, &want);
		/* an error with its message and no resources */
		wbuf_reset(&w);
		wbuf_reset(&want);
		struct kwacl_result err = { 31, "Cluster authorization failed." };
		ck_assert_int_eq(kwacl_describe_resp_encode(&w, ver, 0, err, NULL, 0), 0);
		wbuf_i32(&want, 0);
		wbuf_i16(&want, 31);
		wbuf_str_i16(&want, "Cluster authorization failed.");
		wbuf_i32(&want, 0);
		expect(&w, &want);
		wbuf_free(&w);
		wbuf_free(&want);
	}
}
END_TEST

START_TEST(test_create_delete_responses)
{
	struct wbuf w, want;
	wbuf_init(&w, 1 << 20);
	wbuf_init(&want, 1 << 20);
	const struct kwacl_result rs[2] = { { 0, NULL }, { 42, "bad" } };
	ck_assert_int_eq(kwacl_create_resp_encode(&w, 1, 0, rs, 2), 0);
	wbuf_i32(&want, 0);
	wbuf_i32(&want, 2);
	wbuf_i16(&want, 0);
	wbuf_i16(&want, -1);
	wbuf_i16(&want, 42);
	wbuf_str_i16(&want, "bad");
	expect(&w, &want);
	for (int16_t ver = 0; ver <= 1; ver++) {
		wbuf_reset(&w);
		wbuf_reset(&want);
		const struct kwacl_delete_result dr[2] = { { { 0, NULL }, 1, &bind2[0] }, { { 31, "no" }, 0, NULL } };
		ck_assert_int_eq(kwacl_delete_resp_encode(&w, ver, 5, dr, 2), 0);
		wbuf_i32(&want, 5);
		wbuf_i32(&want, 2);
		wbuf_i16(&want, 0);
		wbuf_i16(&want, -1);
		wbuf_i32(&want, 1);
		wbuf_i16(&want, 0); /* the match's error and message */
		wbuf_i16(&want, -1);
		wbuf_u8(&want, 2);
		wbuf_str_i16(&want, "t");
		if (ver)
			wbuf_u8(&want, 4);
		wbuf_str_i16(&want, "User:alice");
		wbuf_str_i16(&want, "*");
		wbuf_u8(&want, 3);
		wbuf_u8(&want, 3);
		wbuf_i16(&want, 31);
		wbuf_str_i16(&want, "no");
		wbuf_i32(&want, 0);
		expect(&w, &want);
	}
	wbuf_free(&w);
	wbuf_free(&want);
}
END_TEST

static bool same_b(const struct kwacl_binding *x, const struct kwacl_binding *y)
{
	return x->rtype == y->rtype && x->pattern == y->pattern && x->op == y->op && x->perm == y->perm &&
	       !strcmp(x->name, y->name) && !strcmp(x->principal, y->principal) && !strcmp(x->host, y->host);
}

/* Decodes w as response api v1 into *p (the caller frees it); every shorter prefix refused. */
static void resp_decode(struct wbuf *w, int16_t api, struct kwacl_resp *p)
{
	for (size_t cut = 0; cut < w->len; cut++) {
		struct rbuf t = rbuf_make(w->p, cut);
		ck_assert_int_eq(kwacl_resp_decode(&t, api, 1, p), ERR_PROTO);
		kwacl_resp_free(p);
	}
	struct rbuf r = rbuf_make(w->p, w->len);
	ck_assert_int_eq(kwacl_resp_decode(&r, api, 1, p), 0);
	ck_assert_uint_eq(r.pos, w->len);
}

START_TEST(test_responses_decode)
{
	const struct kwacl_binding b[3] = {
		{ 5, "tx1", 3, "User:alice", "*", 4, 3 },
		{ 5, "tx1", 3, "User:alice", "*", 8, 3 },
		{ 2, "t", 4, "User:bob", "10.0.0.1", 3, 2 },
	};
	struct wbuf w;
	struct kwacl_resp p;
	wbuf_init(&w, 1 << 20);
	ck_assert_int_eq(kwacl_describe_resp_encode(&w, 1, 7, (struct kwacl_result){ 0, NULL }, b, 3), 0);
	resp_decode(&w, KWACL_API_DESCRIBE, &p);
	ck_assert_int_eq(p.throttle_ms, 7);
	ck_assert_int_eq(p.error, 0);
	ck_assert_ptr_null(p.message);
	ck_assert_int_eq(p.n, 0);
	ck_assert_int_eq(p.nb, 3);
	for (int i = 0; i < 3; i++)
		ck_assert(same_b(&p.b[i], &b[i]));
	kwacl_resp_free(&p);

	wbuf_reset(&w);
	ck_assert_int_eq(kwacl_describe_resp_encode(&w, 1, 0, (struct kwacl_result){ 31, "refused" }, NULL, 0), 0);
	resp_decode(&w, KWACL_API_DESCRIBE, &p);
	ck_assert_int_eq(p.error, 31);
	ck_assert_str_eq(p.message, "refused");
	ck_assert_int_eq(p.nb, 0);
	kwacl_resp_free(&p);

	wbuf_reset(&w);
	const struct kwacl_result rs[2] = { { 0, NULL }, { 42, "bad" } };
	ck_assert_int_eq(kwacl_create_resp_encode(&w, 1, 0, rs, 2), 0);
	resp_decode(&w, KWACL_API_CREATE, &p);
	ck_assert_int_eq(p.n, 2);
	ck_assert_int_eq(p.res[0].error, 0);
	ck_assert_ptr_null(p.res[0].message);
	ck_assert_int_eq(p.res[1].error, 42);
	ck_assert_str_eq(p.res[1].message, "bad");
	ck_assert_int_eq(p.nb, 0);
	kwacl_resp_free(&p);

	/* DeleteAcls: two matches of the first filter, none of the refused second */
	wbuf_reset(&w);
	const struct kwacl_delete_result dr[2] = { { { 0, NULL }, 2, b }, { { 31, "no" }, 0, NULL } };
	ck_assert_int_eq(kwacl_delete_resp_encode(&w, 1, 5, dr, 2), 0);
	resp_decode(&w, KWACL_API_DELETE, &p);
	ck_assert_int_eq(p.n, 2);
	ck_assert_int_eq(p.nmatch[0], 2);
	ck_assert_int_eq(p.nmatch[1], 0);
	ck_assert_int_eq(p.res[0].error, 0);
	ck_assert_int_eq(p.res[1].error, 31);
	ck_assert_str_eq(p.res[1].message, "no");
	ck_assert_int_eq(p.nb, 2);
	ck_assert(same_b(&p.b[0], &b[0]) && same_b(&p.b[1], &b[1]));
	kwacl_resp_free(&p);

	/* a match that could not be deleted: its error becomes its filter's */
	wbuf_reset(&w);
	wbuf_i32(&w, 0);
	wbuf_i32(&w, 1);
	wbuf_i16(&w, 0);
	wbuf_i16(&w, -1);
	wbuf_i32(&w, 1);
	wbuf_i16(&w, 87);
	wbuf_str_i16(&w, "not deleted");
	struct kwacl_req q = { 1, (struct kwacl_binding *)b };
	struct wbuf m;
	wbuf_init(&m, 4096);
	kwacl_req_encode(&m, KWACL_API_CREATE, 1, &q); /* count + one binding */
	wbuf_raw(&w, m.p + 4, m.len - 4);
	wbuf_free(&m);
	resp_decode(&w, KWACL_API_DELETE, &p);
	ck_assert_int_eq(p.res[0].error, 87);
	ck_assert_str_eq(p.res[0].message, "not deleted");
	ck_assert_int_eq(p.nb, 1);
	kwacl_resp_free(&p);
	wbuf_free(&w);
}
END_TEST

static Suite *kwacl_suite(void)
{
	Suite *s = suite_create("kwacl");
	TCase *tc = tcase_create("kwacl");
	tcase_add_test(tc, test_requests_round_trip);
	tcase_add_test(tc, test_requests_refused);
	tcase_add_test(tc, test_describe_response);
	tcase_add_test(tc, test_create_delete_responses);
	tcase_add_test(tc, test_responses_decode);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kwacl_suite());
}
