/*
 * Unit tests of kwprod (broker/wire): Produce requests v3-8 round-trip through encode and
 * decode (transactional id null or set, acks, timeout, per partition a records slice pointing
 * into the request bytes, a null records field kept as null); a long or NUL-holding topic name
 * is kept cut and flagged; every truncation and lying counts are refused without allocating;
 * the response is encoded field by field as ProduceResponse.json says per version.
 */
#include "buf.h"
#include "err.h"
#include "kwprod.h"

#include "check_main.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t rec_a[] = { 1, 2, 3, 4, 5 }, rec_b[] = { 9 };

static void kwprod_sample(struct kwprod_req *q, struct kwprod_topic *t, struct kwprod_part *p)
{
	memset(q, 0, sizeof(*q));
	memset(t, 0, 2 * sizeof(*t));
	p[0] = (struct kwprod_part){ 0, rec_a, sizeof(rec_a) };
	p[1] = (struct kwprod_part){ 7, NULL, -1 };
	p[2] = (struct kwprod_part){ 2, rec_b, sizeof(rec_b) };
	strcpy(t[0].name, "cities");
	t[0].n = 2;
	t[0].parts = p;
	strcpy(t[1].name, "t.x");
	t[1].n = 1;
	t[1].parts = p + 2;
	strcpy(q->txn, "tx-1");
	q->acks = -1;
	q->timeout_ms = 30000;
	q->n = 2;
	q->topics = t;
}

START_TEST(test_request_round_trip)
{
	for (int16_t ver = KWPROD_MIN_VERSION; ver <= KWPROD_MAX_VERSION; ver++) {
		struct kwprod_req q;
		struct kwprod_topic t[2];
		struct kwprod_part p[3];
		kwprod_sample(&q, t, p);
		q.txn_null = ver % 2 == 0;
		struct wbuf w;
		wbuf_init(&w, 1 << 20);
		ck_assert_int_eq(kwprod_req_encode(&w, ver, &q), 0);
		struct rbuf r = rbuf_make(w.p, w.len);
		struct kwprod_req d;
		ck_assert_int_eq(kwprod_req_decode(&r, ver, &d), 0);
		ck_assert_uint_eq(r.pos, w.len);
		ck_assert(d.txn_null == q.txn_null);
		ck_assert_str_eq(d.txn, q.txn_null ? "" : "tx-1");
		ck_assert_int_eq(d.acks, -1);
		ck_assert_int_eq(d.timeout_ms, 30000);
		ck_assert_int_eq(d.n, 2);
		ck_assert_uint_eq(d.nparts, 3);
		ck_assert_str_eq(d.topics[0].name, "cities");
		ck_assert_str_eq(d.topics[1].name, "t.x");
		ck_assert(!d.topics[0].bad && !d.topics[1].bad);
		ck_assert_int_eq(d.topics[0].n, 2);
		ck_assert_int_eq(d.topics[0].parts[0].index, 0);
		ck_assert_int_eq(d.topics[0].parts[0].len, 5);
		/* a slice of the request bytes, not a copy */
		ck_assert(d.topics[0].parts[0].records > w.p && d.topics[0].parts[0].records < w.p + w.len);
		ck_assert_mem_eq(d.topics[0].parts[0].records, rec_a, 5);
		ck_assert_int_eq(d.topics[0].parts[1].index, 7);
		ck_assert_int_eq(d.topics[0].parts[1].len, -1);
		ck_assert_ptr_null(d.topics[0].parts[1].records);
		ck_assert_int_eq(d.topics[1].parts[0].index, 2);
		ck_assert_mem_eq(d.topics[1].parts[0].records, rec_b, 1);
		kwprod_req_free(&d);
		ck_assert_ptr_null(d.topics);
		wbuf_free(&w);
	}
}
END_TEST

START_TEST(test_empty_and_bad_names)
{
	struct kwprod_req q = { .txn_null = true, .acks = 1, .timeout_ms = 5 };
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	kwprod_req_encode(&w, 3, &q);
	struct rbuf r = rbuf_make(w.p, w.len);
	struct kwprod_req d;
	ck_assert_int_eq(kwprod_req_decode(&r, 3, &d), 0);
	ck_assert_int_eq(d.n, 0);
	ck_assert_uint_eq(d.nparts, 0);
	kwprod_req_free(&d);
	/* one topic of 300 'x' with no partitions, one "a\0b" with no partitions */
	wbuf_reset(&w);
	wbuf_i16(&w, -1);
	wbuf_i16(&w, 1);
	wbuf_i32(&w, 100);
	wbuf_i32(&w, 2);
	char longname[301];
	memset(longname, 'x', 300);
	longname[300] = '\0';
	wbuf_str_i16(&w, longname);
	wbuf_i32(&w, 0);
	wbuf_bytes_i16(&w, "a\0b", 3);
	wbuf_i32(&w, 0);
	r = rbuf_make(w.p, w.len);
	ck_assert_int_eq(kwprod_req_decode(&r, 8, &d), 0);
	ck_assert_int_eq(d.n, 2);
	ck_assert(d.topics[0].bad);
	ck_assert_uint_eq(strlen(d.topics[0].name), KWIRE_TOPIC_BUF - 1);
	ck_assert(d.topics[1].bad);
	kwprod_req_free(&d);
	wbuf_free(&w);
}
END_TEST

START_TEST(test_truncations_and_lying_counts)
{
	struct kwprod_req q;
	struct kwprod_topic t[2];
	struct kwprod_part p[3];
	kwprod_sample(&q, t, p);
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	kwprod_req_encode(&w, 8, &q);
	for (size_t cut = 0; cut < w.len; cut++) {
		struct rbuf r = rbuf_make(w.p, cut);
		struct kwprod_req d;
		ck_assert_int_eq(kwprod_req_decode(&r, 8, &d), ERR_PROTO);
		kwprod_req_free(&d);
	}
	size_t at = 2 + 4 + 2 + 4; /* the topic count, after "tx-1", acks and timeout */
	struct kwprod_req d;
	be32_put(w.p + at, 100000); /* more topics than bytes */
	struct rbuf r = rbuf_make(w.p, w.len);
	ck_assert_int_eq(kwprod_req_decode(&r, 8, &d), ERR_PROTO);
	ck_assert_ptr_null(d.topics);
	be32_put(w.p + at, (uint32_t)-1); /* a null topic list */
	r = rbuf_make(w.p, w.len);
	ck_assert_int_eq(kwprod_req_decode(&r, 8, &d), ERR_PROTO);
	kwprod_req_free(&d);
	be32_put(w.p + at, 2);
	at += 4 + 2 + 6; /* the first topic's partition count */
	be32_put(w.p + at, 0x7fffffff);
	r = rbuf_make(w.p, w.len);
	ck_assert_int_eq(kwprod_req_decode(&r, 8, &d), ERR_PROTO);
	ck_assert_ptr_null(d.topics[0].parts);
	kwprod_req_free(&d);
	be32_put(w.p + at, 2);
	at += 4 + 4; /* the first records length: past the frame */
	be32_put(w.p + at, 1000);
	r = rbuf_make(w.p, w.len);
	ck_assert_int_eq(kwprod_req_decode(&r, 8, &d), ERR_PROTO);
	kwprod_req_free(&d);
	wbuf_free(&w);
}
END_TEST

START_TEST(test_response_bytes)
{
	struct kwprod_presp p[2] = { { 0, 0, 42, -1, 3, NULL }, { 1, 87, -1, -1, 0, "bad batch" } };
	struct kwprod_tresp t = { "cities", 2, p };
	struct kwprod_resp m = { 1, &t, 5 };
	for (int16_t ver = KWPROD_MIN_VERSION; ver <= KWPROD_MAX_VERSION; ver++) {
		struct wbuf w;
		wbuf_init(&w, 1 << 20);
		ck_assert_int_eq(kwprod_resp_encode(&w, ver, &m), 0);
		struct rbuf r = rbuf_make(w.p, w.len);
		int32_t x;
		int16_t e;
		int64_t v;
		const uint8_t *s;
		int32_t sl;
		rbuf_i32(&r, &x);
		ck_assert_int_eq(x, 1);
		rbuf_bytes_i16(&r, 100, &s, &sl);
		ck_assert_int_eq(sl, 6);
		rbuf_i32(&r, &x);
		ck_assert_int_eq(x, 2);
		for (int i = 0; i < 2; i++) {
			rbuf_i32(&r, &x);
			ck_assert_int_eq(x, i);
			rbuf_i16(&r, &e);
			ck_assert_int_eq(e, i ? 87 : 0);
			rbuf_i64(&r, &v);
			ck_assert_int_eq(v, i ? -1 : 42);
			rbuf_i64(&r, &v);
			ck_assert_int_eq(v, -1);
			if (ver >= 5) {
				rbuf_i64(&r, &v);
				ck_assert_int_eq(v, i ? 0 : 3);
			}
			if (ver >= 8) {
				rbuf_i32(&r, &x);
				ck_assert_int_eq(x, 0); /* no record_errors */
				rbuf_bytes_i16(&r, 100, &s, &sl);
				ck_assert_int_eq(sl, i ? 9 : -1);
			}
		}
		rbuf_i32(&r, &x);
		ck_assert_int_eq(x, 5); /* throttle_time_ms, last */
		ck_assert_int_eq(r.err, 0);
		ck_assert_uint_eq(r.pos, w.len);
		wbuf_free(&w);
	}
}
END_TEST

static Suite *kwprod_suite(void)
{
	Suite *s = suite_create("kwprod");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_request_round_trip);
	tcase_add_test(tc, test_empty_and_bad_names);
	tcase_add_test(tc, test_truncations_and_lying_counts);
	tcase_add_test(tc, test_response_bytes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kwprod_suite());
}
