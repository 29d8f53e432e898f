/*
 * Unit tests of kwoffs (broker/wire): ListOffsets requests v0-5 round-trip through encode and
 * decode (isolation_level from v2, current_leader_epoch from v4, max_num_offsets in v0 only,
 * their defaults elsewhere); a long or NUL-holding topic name is kept cut and flagged; every
 * truncation and lying counts are refused; the response is encoded field by field as
 * ListOffsetsResponse.json says per version (v0's old_style_offsets, empty for an error, no
 * offset, or max_num_offsets <= 0).
 */
#include "buf.h"
#include "err.h"
#include "kwoffs.h"

#include "check_main.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static struct kwoffs_part parts[3] = { { 0, 5, -1, 1 }, { 1, 5, -2, 3 }, { 2, 6, 1700000000000, 1 } };

static void kwoffs_sample(struct kwoffs_req *q, struct kwoffs_topic *t)
{
	memset(q, 0, sizeof(*q));
	memset(t, 0, 2 * sizeof(*t));
	strcpy(t[0].name, "cities");
	t[0].n = 2;
	t[0].parts = parts;
	strcpy(t[1].name, "t.x");
	t[1].n = 1;
	t[1].parts = parts + 2;
	q->replica_id = -1;
	q->isolation_level = 1;
	q->n = 2;
	q->topics = t;
}

START_TEST(test_request_round_trip)
{
	for (int16_t ver = 0; ver <= KWOFFS_MAX_VERSION; ver++) {
		struct kwoffs_req q;
		struct kwoffs_topic t[2];
		kwoffs_sample(&q, t);
		struct wbuf w;
		wbuf_init(&w, 1 << 20);
		ck_assert_int_eq(kwoffs_req_encode(&w, ver, &q), 0);
		struct rbuf r = rbuf_make(w.p, w.len);
		struct kwoffs_req d;
		ck_assert_int_eq(kwoffs_req_decode(&r, ver, &d), 0);
		ck_assert_uint_eq(r.pos, w.len);
		ck_assert_int_eq(d.replica_id, -1);
		ck_assert_int_eq(d.isolation_level, ver >= 2 ? 1 : 0);
		ck_assert_int_eq(d.n, 2);
		ck_assert_str_eq(d.topics[0].name, "cities");
		ck_assert_str_eq(d.topics[1].name, "t.x");
		for (int i = 0; i < 3; i++) {
			const struct kwoffs_part *p = i < 2 ? &d.topics[0].parts[i] : &d.topics[1].parts[0];
			ck_assert_int_eq(p->index, parts[i].index);
			ck_assert_int_eq(p->current_leader_epoch, ver >= 4 ? parts[i].current_leader_epoch : -1);
			ck_assert_int_eq(p->timestamp, parts[i].timestamp);
			ck_assert_int_eq(p->max_num_offsets, ver == 0 ? parts[i].max_num_offsets : 1);
		}
		kwoffs_req_free(&d);
		ck_assert_ptr_null(d.topics);
		wbuf_free(&w);
	}
}
END_TEST

START_TEST(test_bad_names)
{
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	wbuf_i32(&w, -1);
	wbuf_i32(&w, 2);
	char longname[301];
	memset(longname, 'x', 300);
	longname[300] = '\0';
	wbuf_str_i16(&w, longname);
	wbuf_i32(&w, 0);
	wbuf_bytes_i16(&w, "a\0b", 3);
	wbuf_i32(&w, 0);
	struct rbuf r = rbuf_make(w.p, w.len);
	struct kwoffs_req d;
	ck_assert_int_eq(kwoffs_req_decode(&r, 1, &d), 0);
	ck_assert_int_eq(d.n, 2);
	ck_assert(d.topics[0].bad);
	ck_assert_uint_eq(strlen(d.topics[0].name), KWIRE_TOPIC_BUF - 1);
	ck_assert(d.topics[1].bad);
	kwoffs_req_free(&d);
	wbuf_free(&w);
}
END_TEST

START_TEST(test_truncations_and_lying_counts)
{
	for (int16_t ver = 0; ver <= KWOFFS_MAX_VERSION; ver++) {
		struct kwoffs_req q;
		struct kwoffs_topic t[2];
		kwoffs_sample(&q, t);
		struct wbuf w;
		wbuf_init(&w, 1 << 20);
		kwoffs_req_encode(&w, ver, &q);
		for (size_t cut = 0; cut < w.len; cut++) {
			struct rbuf r = rbuf_make(w.p, cut);
			struct kwoffs_req d;
			ck_assert_int_eq(kwoffs_req_decode(&r, ver, &d), ERR_PROTO);
			kwoffs_req_free(&d);
		}
		size_t at = 4 + (ver >= 2 ? 1 : 0);
		struct kwoffs_req d;
		be32_put(w.p + at, 100000);
		struct rbuf r = rbuf_make(w.p, w.len);
		ck_assert_int_eq(kwoffs_req_decode(&r, ver, &d), ERR_PROTO);
		ck_assert_ptr_null(d.topics);
		be32_put(w.p + at, (uint32_t)-1);
		r = rbuf_make(w.p, w.len);
		ck_assert_int_eq(kwoffs_req_decode(&r, ver, &d), ERR_PROTO);
		kwoffs_req_free(&d);
		be32_put(w.p + at, 2);
		at += 4 + 2 + 6;
		be32_put(w.p + at, 20000);
		r = rbuf_make(w.p, w.len);
		ck_assert_int_eq(kwoffs_req_decode(&r, ver, &d), ERR_PROTO);
		ck_assert_ptr_null(d.topics[0].parts);
		kwoffs_req_free(&d);
		wbuf_free(&w);
	}
}
END_TEST

START_TEST(test_response_bytes)
{
	struct kwoffs_presp p[3] = {
		{ 0, 0, -1, 40, 5, false },
		{ 1, 6, -1, -1, -1, false },
		{ 2, 0, 1700000000001, 12, 5, true },
	};
	struct kwoffs_tresp t = { "cities", 3, p };
	struct kwoffs_resp m = { 0, 1, &t };
	for (int16_t ver = 0; ver <= KWOFFS_MAX_VERSION; ver++) {
		struct wbuf w;
		wbuf_init(&w, 1 << 20);
		ck_assert_int_eq(kwoffs_resp_encode(&w, ver, &m), 0);
		struct rbuf r = rbuf_make(w.p, w.len);
		int32_t x;
		int16_t e;
		int64_t v;
		const uint8_t *s;
		int32_t sl;
		if (ver >= 2) {
			rbuf_i32(&r, &x);
			ck_assert_int_eq(x, 0);
		}
		rbuf_i32(&r, &x);
		ck_assert_int_eq(x, 1);
		rbuf_bytes_i16(&r, 100, &s, &sl);
		ck_assert_int_eq(sl, 6);
		rbuf_i32(&r, &x);
		ck_assert_int_eq(x, 3);
		for (int i = 0; i < 3; i++) {
			rbuf_i32(&r, &x);
			ck_assert_int_eq(x, i);
			rbuf_i16(&r, &e);
			ck_assert_int_eq(e, p[i].error);
			if (ver == 0) {
				rbuf_i32(&r, &x);
				ck_assert_int_eq(x, i == 0 ? 1 : 0); /* an error or v0_none: empty */
				if (x) {
					rbuf_i64(&r, &v);
					ck_assert_int_eq(v, 40);
				}
				continue;
			}
			rbuf_i64(&r, &v);
			ck_assert_int_eq(v, p[i].timestamp);
			rbuf_i64(&r, &v);
			ck_assert_int_eq(v, p[i].offset);
			if (ver >= 4) {
				rbuf_i32(&r, &x);
				ck_assert_int_eq(x, p[i].leader_epoch);
			}
		}
		ck_assert_int_eq(r.err, 0);
		ck_assert_uint_eq(r.pos, w.len);
		wbuf_free(&w);
	}
}
END_TEST

static Suite *kwoffs_suite(void)
{
	Suite *s = suite_create("kwoffs");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_request_round_trip);
	tcase_add_test(tc, test_bad_names);
	tcase_add_test(tc, test_truncations_and_lying_counts);
	tcase_add_test(tc, test_response_bytes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kwoffs_suite());
}
