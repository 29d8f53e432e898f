/*
 * Unit tests of kwepoch (broker/wire): OffsetForLeaderEpoch requests v0-3 round-trip through
 * encode and decode (replica_id from v3, current_leader_epoch from v2, their defaults -1
 * before); a long or NUL-holding topic name is kept cut and flagged; every truncation and lying
 * counts are refused; the response is encoded field by field as
 * OffsetForLeaderEpochResponse.json says per version (leader_epoch from v1, throttle_time_ms
 * from v2).
 */
#include "buf.h"
#include "err.h"
#include "kwepoch.h"

#include "check_main.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static struct kwepoch_part parts[3] = { { 0, 5, 4 }, { 1, 5, 2 }, { 2, 6, 6 } };

static void kwepoch_sample(struct kwepoch_req *q, struct kwepoch_topic *t)
{
	memset(q, 0, sizeof(*q));
	memset(t, 0, 2 * sizeof(*t));
	strcpy(t[0].name, "cities");
	t[0].n = 2;
	t[0].parts = parts;
	strcpy(t[1].name, "t.x");
	t[1].n = 1;
	t[1].parts = parts + 2;
	q->replica_id = 2;
	q->n = 2;
	q->topics = t;
}

START_TEST(test_request_round_trip)
{
	for (int16_t ver = 0; ver <= KWEPOCH_MAX_VERSION; ver++) {
		struct kwepoch_req q, d;
		struct kwepoch_topic t[2];
		kwepoch_sample(&q, t);
		struct wbuf w;
		wbuf_init(&w, 1 << 20);
		ck_assert_int_eq(kwepoch_req_encode(&w, ver, &q), 0);
		struct rbuf r = rbuf_make(w.p, w.len);
		ck_assert_int_eq(kwepoch_req_decode(&r, ver, &d), 0);
		ck_assert_uint_eq(r.pos, w.len);
		ck_assert_int_eq(d.replica_id, ver >= 3 ? 2 : -1);
		ck_assert_int_eq(d.n, 2);
		ck_assert_str_eq(d.topics[0].name, "cities");
		ck_assert_str_eq(d.topics[1].name, "t.x");
		for (int i = 0; i < 3; i++) {
			const struct kwepoch_part *p = i < 2 ? &d.topics[0].parts[i] : &d.topics[1].parts[0];
			ck_assert_int_eq(p->index, parts[i].index);
			ck_assert_int_eq(p->current_leader_epoch, ver >= 2 ? parts[i].current_leader_epoch : -1);
			ck_assert_int_eq(p->leader_epoch, parts[i].leader_epoch);
		}
		kwepoch_req_free(&d);
		ck_assert_ptr_null(d.topics);
		wbuf_free(&w);
	}
}
END_TEST

START_TEST(test_bad_names)
{
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	wbuf_i32(&w, 2);
	char longname[301];
	memset(longname, 'x', 300);
	longname[300] = '\0';
	wbuf_str_i16(&w, longname);
	wbuf_i32(&w, 0);
	wbuf_bytes_i16(&w, "a\0b", 3);
	wbuf_i32(&w, 0);
	struct rbuf r = rbuf_make(w.p, w.len);
	struct kwepoch_req d;
	ck_assert_int_eq(kwepoch_req_decode(&r, 1, &d), 0);
	ck_assert_int_eq(d.n, 2);
	ck_assert(d.topics[0].bad);
	ck_assert_uint_eq(strlen(d.topics[0].name), KWIRE_TOPIC_BUF - 1);
	ck_assert(d.topics[1].bad);
	kwepoch_req_free(&d);
	wbuf_free(&w);
}
END_TEST

START_TEST(test_truncations_and_lying_counts)
{
	for (int16_t ver = 0; ver <= KWEPOCH_MAX_VERSION; ver++) {
		struct kwepoch_req q, d;
		struct kwepoch_topic t[2];
		kwepoch_sample(&q, t);
		struct wbuf w;
		wbuf_init(&w, 1 << 20);
		kwepoch_req_encode(&w, ver, &q);
		for (size_t cut = 0; cut < w.len; cut++) {
			struct rbuf r = rbuf_make(w.p, cut);
			ck_assert_int_eq(kwepoch_req_decode(&r, ver, &d), ERR_PROTO);
			kwepoch_req_free(&d);
		}
		size_t at = ver >= 3 ? 4 : 0;
		be32_put(w.p + at, KWIRE_MAX_ITEMS + 1);
		struct rbuf r = rbuf_make(w.p, w.len);
		ck_assert_int_eq(kwepoch_req_decode(&r, ver, &d), ERR_PROTO);
		ck_assert_ptr_null(d.topics);
		be32_put(w.p + at, 1000);
		r = rbuf_make(w.p, w.len);
		ck_assert_int_eq(kwepoch_req_decode(&r, ver, &d), ERR_PROTO);
		ck_assert_ptr_null(d.topics);
		be32_put(w.p + at, (uint32_t)-1);
		r = rbuf_make(w.p, w.len);
		ck_assert_int_eq(kwepoch_req_decode(&r, ver, &d), ERR_PROTO);
		kwepoch_req_free(&d);
		be32_put(w.p + at, 2);
		at += 4 + 2 + 6; /* topic 0's partitions count */
		ck_assert_int_eq((int)be32_get(w.p + at), 2);
		be32_put(w.p + at, 20000);
		r = rbuf_make(w.p, w.len);
		ck_assert_int_eq(kwepoch_req_decode(&r, ver, &d), ERR_PROTO);
		ck_assert_ptr_null(d.topics[0].parts);
		kwepoch_req_free(&d);
		be32_put(w.p + at, (uint32_t)-1);
		r = rbuf_make(w.p, w.len);
		ck_assert_int_eq(kwepoch_req_decode(&r, ver, &d), ERR_PROTO);
		kwepoch_req_free(&d);
		wbuf_free(&w);
	}
}
END_TEST

START_TEST(test_response_bytes)
{
	struct kwepoch_presp p[2] = { { 0, 0, 5, 40 }, { 74, 1, -1, -1 } };
	struct kwepoch_tresp t = { "ab", 2, p };
	struct kwepoch_resp m = { 7, 1, &t };
	static const uint8_t v0[] = { 0, 0, 0, 1, 0, 2, 'a', 'b', 0, 0, 0, 2,
				      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 40,
				      0, 74, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t v1[] = { 0, 0, 0, 1, 0, 2, 'a', 'b', 0, 0, 0, 2,
				      0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 40,
				      0, 74, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff,
				      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t v2[4 + sizeof(v1)] = { 0, 0, 0, 7 };
	memcpy(v2 + 4, v1, sizeof(v1));
	for (int16_t ver = 0; ver <= KWEPOCH_MAX_VERSION; ver++) {
		struct wbuf w;
		wbuf_init(&w, 1 << 16);
		ck_assert_int_eq(kwepoch_resp_encode(&w, ver, &m), 0);
		const uint8_t *want = ver == 0 ? v0 : ver == 1 ? v1 : v2;
		size_t n = ver == 0 ? sizeof(v0) : ver == 1 ? sizeof(v1) : sizeof(v2);
		ck_assert_uint_eq(w.len, n);
		ck_assert_mem_eq(w.p, want, n);
		wbuf_free(&w);
	}
}
END_TEST

static Suite *kwepoch_suite(void)
{
	Suite *s = suite_create("kwepoch");
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
	return check_run(kwepoch_suite());
}
