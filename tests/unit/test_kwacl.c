/*
 * Unit tests of kwacl (broker/wire): DescribeAcls, CreateAcls and DeleteAcls requests round-trip
 * in v0 and v1 (the pattern type from v1, LITERAL in v0; nulls kept in filters, refused in
 * creations); every truncation, a lying count and a NUL inside a string are refused; the three
 * responses are encoded byte for byte as the Describe/Create/DeleteAclsResponse schemas say
 * (Describe grouping consecutive bindings of a resource).
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

/* The head of a DescribeAcls response, as kafka-acls reads it back: the encoder's error and
 * message (or null), every prefix shorter than the head refused. */
START_TEST(test_describe_response_head)
{
	struct kwacl_binding b = { 2, "t", 3, "User:a", "*", 3, 3 };
	struct wbuf w;
	wbuf_init(&w, 4096);
	struct kwacl_result refused = { 31, "Cluster authorization failed." };
	ck_assert_int_eq(kwacl_describe_resp_encode(&w, 1, 7, refused, NULL, 0), 0);
	struct kwacl_describe_head h;
	struct rbuf r = rbuf_make(w.p, w.len);
	ck_assert_int_eq(kwacl_describe_resp_head_decode(&r, 1, &h), 0);
	ck_assert_int_eq(h.throttle_ms, 7);
	ck_assert_int_eq(h.error, 31);
	ck_assert_int_eq(h.message_len, (int)strlen(refused.message));
	ck_assert(memcmp(h.message, refused.message, strlen(refused.message)) == 0);
	for (size_t cut = 0; cut < 8 + strlen(refused.message); cut++) {
		r = rbuf_make(w.p, cut);
		ck_assert_int_eq(kwacl_describe_resp_head_decode(&r, 1, &h), ERR_PROTO);
	}
	wbuf_reset(&w);
	struct kwacl_result ok = { 0, NULL };
	ck_assert_int_eq(kwacl_describe_resp_encode(&w, 0, 0, ok, &b, 1), 0);
	r = rbuf_make(w.p, w.len);
	ck_assert_int_eq(kwacl_describe_resp_head_decode(&r, 0, &h), 0);
	ck_assert_int_eq(h.error, 0);
	ck_assert_int_eq(h.message_len, -1);
	ck_assert_ptr_null(h.message);
	wbuf_free(&w);
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

static Suite *kwacl_suite(void)
{
	Suite *s = suite_create("kwacl");
	TCase *tc = tcase_create("kwacl");
	tcase_add_test(tc, test_requests_round_trip);
	tcase_add_test(tc, test_requests_refused);
	tcase_add_test(tc, test_describe_response);
	tcase_add_test(tc, test_create_delete_responses);
	tcase_add_test(tc, test_describe_response_head);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kwacl_suite());
}
