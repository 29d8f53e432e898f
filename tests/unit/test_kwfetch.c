/*
 * Unit tests of kwfetch (broker/wire): Fetch requests v4-11 round-trip through encode and
 * decode (the session fields from v7, log_start from v5, current_leader_epoch from v9, the
 * forgotten topics from v7, the rack from v11, their defaults before); a long or NUL-holding
 * topic name is kept cut and flagged; every truncation (the forgotten topics and the rack
 * included) and lying counts are refused; the response pieces are written field by field as
 * FetchResponse.json says per version, with the caller's records right after their length.
 */
#include "buf.h"
#include "err.h"
#include "kwfetch.h"

#include "check_main.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static struct kwfetch_part parts[3] = {
	{ 0, 4, 100, 10, 1048576 },
	{ 3, 4, 0, 0, 65536 },
	{ 1, 2, 7, 5, 1 },
};
static int32_t forgot_parts[2] = { 5, 6 };

static void kwfetch_sample(struct kwfetch_req *q, struct kwfetch_topic *t, struct kwfetch_forgot *f)
{
	memset(q, 0, sizeof(*q));
	memset(t, 0, 2 * sizeof(*t));
	memset(f, 0, sizeof(*f));
	strcpy(t[0].name, "cities");
	t[0].n = 2;
	t[0].parts = parts;
	strcpy(t[1].name, "t.x");
	t[1].n = 1;
	t[1].parts = parts + 2;
	strcpy(f->name, "old");
	f->n = 2;
	f->parts = forgot_parts;
	q->replica_id = 2;
	q->max_wait_ms = 500;
	q->min_bytes = 1;
	q->max_bytes = 52428800;
	q->isolation_level = 1;
	q->session_id = 9;
	q->session_epoch = 3;
	q->n = 2;
	q->topics = t;
	q->nforgot = 1;
	q->forgot = f;
	strcpy(q->rack, "rack-a");
}

START_TEST(test_request_round_trip)
{
	for (int16_t ver = KWFETCH_MIN_VERSION; ver <= KWFETCH_MAX_VERSION; ver++) {
		struct kwfetch_req q;
		struct kwfetch_topic t[2];
		struct kwfetch_forgot f;
		kwfetch_sample(&q, t, &f);
		struct wbuf w;
		wbuf_init(&w, 1 << 20);
		ck_assert_int_eq(kwfetch_req_encode(&w, ver, &q), 0);
		struct rbuf r = rbuf_make(w.p, w.len);
		struct kwfetch_req d;
		ck_assert_int_eq(kwfetch_req_decode(&r, ver, &d), 0);
		ck_assert_uint_eq(r.pos, w.len);
		ck_assert_int_eq(d.replica_id, 2);
		ck_assert_int_eq(d.max_wait_ms, 500);
		ck_assert_int_eq(d.min_bytes, 1);
		ck_assert_int_eq(d.max_bytes, 52428800);
		ck_assert_int_eq(d.isolation_level, 1);
		ck_assert_int_eq(d.session_id, ver >= 7 ? 9 : 0);
		ck_assert_int_eq(d.session_epoch, ver >= 7 ? 3 : -1);
		ck_assert_int_eq(d.n, 2);
		ck_assert_uint_eq(d.nparts, 3);
		ck_assert_str_eq(d.topics[0].name, "cities");
		ck_assert_str_eq(d.topics[1].name, "t.x");
		for (int i = 0; i < 3; i++) {
			const struct kwfetch_part *p = i < 2 ? &d.topics[0].parts[i] : &d.topics[1].parts[0];
			ck_assert_int_eq(p->partition, parts[i].partition);
			ck_assert_int_eq(p->current_leader_epoch, ver >= 9 ? parts[i].current_leader_epoch : -1);
			ck_assert_int_eq(p->fetch_offset, parts[i].fetch_offset);
			ck_assert_int_eq(p->log_start, ver >= 5 ? parts[i].log_start : -1);
			ck_assert_int_eq(p->max_bytes, parts[i].max_bytes);
		}
		if (ver >= 7) {
			ck_assert_int_eq(d.nforgot, 1);
			ck_assert_str_eq(d.forgot[0].name, "old");
			ck_assert_int_eq(d.forgot[0].n, 2);
			ck_assert_int_eq(d.forgot[0].parts[1], 6);
		} else {
			ck_assert_int_eq(d.nforgot, 0);
		}
		ck_assert_str_eq(d.rack, ver >= 11 ? "rack-a" : "");
		kwfetch_req_free(&d);
		ck_assert_ptr_null(d.topics);
		wbuf_free(&w);
	}
}
END_TEST

START_TEST(test_bad_names_and_null_forgotten)
{
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	wbuf_i32(&w, -1);
	wbuf_i32(&w, 100);
	wbuf_i32(&w, 1);
	wbuf_i32(&w, 1000);
	wbuf_u8(&w, 0);
	wbuf_i32(&w, 0);
	wbuf_i32(&w, -1);
	wbuf_i32(&w, 2);
	char longname[301];
	memset(longname, 'x', 300);
	longname[300] = '\0';
	wbuf_str_i16(&w, longname);
	wbuf_i32(&w, 0);
	wbuf_bytes_i16(&w, "a\0b", 3);
	wbuf_i32(&w, 0);
	wbuf_i32(&w, -1); /* forgotten_topics_data: null */
	struct rbuf r = rbuf_make(w.p, w.len);
	struct kwfetch_req d;
	ck_assert_int_eq(kwfetch_req_decode(&r, 7, &d), 0);
	ck_assert_int_eq(d.n, 2);
	ck_assert(d.topics[0].bad);
	ck_assert_uint_eq(strlen(d.topics[0].name), KWIRE_TOPIC_BUF - 1);
	ck_assert(d.topics[1].bad);
	ck_assert_int_eq(d.nforgot, 0);
	kwfetch_req_free(&d);
	wbuf_free(&w);
}
END_TEST

START_TEST(test_truncations_and_lying_counts)
{
	for (int16_t ver = KWFETCH_MIN_VERSION; ver <= KWFETCH_MAX_VERSION; ver++) {
		struct kwfetch_req q;
		struct kwfetch_topic t[2];
		struct kwfetch_forgot f;
		kwfetch_sample(&q, t, &f);
		struct wbuf w;
		wbuf_init(&w, 1 << 20);
		kwfetch_req_encode(&w, ver, &q);
		for (size_t cut = 0; cut < w.len; cut++) {
			struct rbuf r = rbuf_make(w.p, cut);
			struct kwfetch_req d;
			ck_assert_int_eq(kwfetch_req_decode(&r, ver, &d), ERR_PROTO);
			kwfetch_req_free(&d);
		}
		size_t at = 4 * 4 + 1 + (ver >= 7 ? 8 : 0); /* the topic count */
		struct kwfetch_req d;
		be32_put(w.p + at, 100000);
		struct rbuf r = rbuf_make(w.p, w.len);
		ck_assert_int_eq(kwfetch_req_decode(&r, ver, &d), ERR_PROTO);
		ck_assert_ptr_null(d.topics);
		be32_put(w.p + at, (uint32_t)-1); /* a null topic list */
		r = rbuf_make(w.p, w.len);
		ck_assert_int_eq(kwfetch_req_decode(&r, ver, &d), ERR_PROTO);
		kwfetch_req_free(&d);
		be32_put(w.p + at, 2);
		/* the first topic's partition count: more than the bytes left */
		at += 4 + 2 + 6;
		be32_put(w.p + at, 20000);
		r = rbuf_make(w.p, w.len);
		ck_assert_int_eq(kwfetch_req_decode(&r, ver, &d), ERR_PROTO);
		ck_assert_ptr_null(d.topics[0].parts);
		kwfetch_req_free(&d);
		wbuf_free(&w);
	}
}
END_TEST

START_TEST(test_response_bytes)
{
	for (int16_t ver = KWFETCH_MIN_VERSION; ver <= KWFETCH_MAX_VERSION; ver++) {
		struct wbuf w;
		wbuf_init(&w, 1 << 20);
		kwfetch_resp_head(&w, ver, 7, 0, 0, 1);
		kwfetch_resp_topic(&w, ver, "cities", 1);
		struct kwfetch_presp p = { .partition = 3, .error = 0, .high_watermark = 40, .last_stable_offset = 40,
					   .log_start = 2, .records_len = 3 };
		ck_assert_int_eq(kwfetch_resp_part(&w, ver, &p), 0);
		wbuf_raw(&w, "abc", 3);
		struct rbuf r = rbuf_make(w.p, w.len);
		int32_t x;
		int16_t e;
		int64_t v;
		const uint8_t *s;
		int32_t sl;
		rbuf_i32(&r, &x);
		ck_assert_int_eq(x, 7);
		if (ver >= 7) {
			rbuf_i16(&r, &e);
			ck_assert_int_eq(e, 0);
			rbuf_i32(&r, &x);
			ck_assert_int_eq(x, 0);
		}
		rbuf_i32(&r, &x);
		ck_assert_int_eq(x, 1);
		rbuf_bytes_i16(&r, 100, &s, &sl);
		ck_assert_int_eq(sl, 6);
		rbuf_i32(&r, &x);
		ck_assert_int_eq(x, 1);
		rbuf_i32(&r, &x);
		ck_assert_int_eq(x, 3);
		rbuf_i16(&r, &e);
		rbuf_i64(&r, &v);
		ck_assert_int_eq(v, 40);
		rbuf_i64(&r, &v);
		ck_assert_int_eq(v, 40);
		if (ver >= 5) {
			rbuf_i64(&r, &v);
			ck_assert_int_eq(v, 2);
		}
		rbuf_i32(&r, &x);
		ck_assert_int_eq(x, -1); /* aborted_transactions: null */
		if (ver >= 11) {
			rbuf_i32(&r, &x);
			ck_assert_int_eq(x, -1);
		}
		rbuf_bytes_i32(&r, 100, &s, &sl);
		ck_assert_int_eq(sl, 3);
		ck_assert_mem_eq(s, "abc", 3);
		ck_assert_int_eq(r.err, 0);
		ck_assert_uint_eq(r.pos, w.len);
		wbuf_free(&w);
	}
}
END_TEST

static Suite *kwfetch_suite(void)
{
	Suite *s = suite_create("kwfetch");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_request_round_trip);
	tcase_add_test(tc, test_bad_names_and_null_forgotten);
	tcase_add_test(tc, test_truncations_and_lying_counts);
	tcase_add_test(tc, test_response_bytes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kwfetch_suite());
}
