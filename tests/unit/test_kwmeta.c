/*
 * Unit tests of kwmeta (broker/wire): Metadata requests round-trip through encode and decode in
 * every version (a null or v0-empty list meaning all topics, allow_auto from v4, the v8 flags);
 * a long or NUL-holding name is kept cut and flagged; lying counts and every truncation are
 * refused; the response is encoded field by field as MetadataResponse.json says per version.
 */
#include "buf.h"
#include "err.h"
#include "kwmeta.h"

#include "check_main.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static struct kwmeta_req_topic tps[2] = { { "cities", false }, { "t.x", false } };

START_TEST(test_request_round_trip)
{
	for (int16_t ver = 0; ver <= KWMETA_MAX_VERSION; ver++) {
		struct kwmeta_req q = { .all = false, .n = 2, .topics = tps, .allow_auto = false, .cluster_ops = true };
		struct wbuf w;
		wbuf_init(&w, 1 << 20);
		ck_assert_int_eq(kwmeta_req_encode(&w, ver, &q), 0);
		struct rbuf r = rbuf_make(w.p, w.len);
		struct kwmeta_req d;
		ck_assert_int_eq(kwmeta_req_decode(&r, ver, &d), 0);
		ck_assert_uint_eq(r.pos, w.len);
		ck_assert(!d.all);
		ck_assert_int_eq(d.n, 2);
		ck_assert_str_eq(d.topics[0].name, "cities");
		ck_assert_str_eq(d.topics[1].name, "t.x");
		ck_assert(!d.topics[0].bad && !d.topics[1].bad);
		ck_assert(d.allow_auto == (ver < 4)); /* true before v4 */
		ck_assert(d.cluster_ops == (ver >= 8));
		kwmeta_req_free(&d);
		/* all topics: null (v1+) or empty (v0) */
		struct kwmeta_req all = { .all = true, .allow_auto = true };
		wbuf_reset(&w);
		kwmeta_req_encode(&w, ver, &all);
		r = rbuf_make(w.p, w.len);
		ck_assert_int_eq(kwmeta_req_decode(&r, ver, &d), 0);
		ck_assert(d.all);
		ck_assert_int_eq(d.n, 0);
		kwmeta_req_free(&d);
		wbuf_free(&w);
	}
}
END_TEST

START_TEST(test_bad_names_flagged)
{
	uint8_t body[4 + 2 + 300 + 2 + 3];
	size_t n = 0;
	be32_put(body, 2);
	n = 4;
	body[n++] = 300 >> 8;
	body[n++] = 300 & 0xff;
	memset(body + n, 'x', 300);
	n += 300;
	body[n++] = 0;
	body[n++] = 3;
	memcpy(body + n, "a\0b", 3);
	n += 3;
	struct rbuf r = rbuf_make(body, n);
	struct kwmeta_req d;
	ck_assert_int_eq(kwmeta_req_decode(&r, 1, &d), 0);
	ck_assert_int_eq(d.n, 2);
	ck_assert(d.topics[0].bad);
	ck_assert_uint_eq(strlen(d.topics[0].name), KWIRE_TOPIC_BUF - 1);
	ck_assert(d.topics[1].bad);
	kwmeta_req_free(&d);
}
END_TEST

START_TEST(test_truncations_and_lying_counts)
{
	struct kwmeta_req q = { .n = 2, .topics = tps, .allow_auto = true };
	struct wbuf w;
	wbuf_init(&w, 1 << 20);
	kwmeta_req_encode(&w, 8, &q);
	for (size_t cut = 0; cut < w.len; cut++) {
		struct rbuf r = rbuf_make(w.p, cut);
		struct kwmeta_req d;
		ck_assert_int_eq(kwmeta_req_decode(&r, 8, &d), ERR_PROTO);
		kwmeta_req_free(&d);
	}
	be32_put(w.p, 100000); /* more topics than bytes */
	struct rbuf r = rbuf_make(w.p, w.len);
	struct kwmeta_req d;
	ck_assert_int_eq(kwmeta_req_decode(&r, 8, &d), ERR_PROTO);
	ck_assert_ptr_null(d.topics);
	be32_put(w.p, (uint32_t)-5);
	r = rbuf_make(w.p, w.len);
	ck_assert_int_eq(kwmeta_req_decode(&r, 8, &d), ERR_PROTO);
	kwmeta_req_free(&d);
	wbuf_free(&w);
}
END_TEST

START_TEST(test_response_bytes)
{
	static const int32_t reps[] = { 0, 1 }, isr[] = { 0 }, off[] = { 1 };
	struct kwmeta_part p = { .error = 0, .id = 0, .leader = 0, .leader_epoch = 7, .nrep = 2, .nisr = 1, .noff = 1,
				 .replicas = reps, .isr = isr, .offline = off };
	struct kwmeta_topic t = { .error = 0, .name = "cities", .internal = false, .nparts = 1, .parts = &p };
	struct kwmeta_broker br = { 0, "h", 9092, NULL };
	struct kwmeta_resp m = { .throttle_ms = 0, .nbrokers = 1, .brokers = &br, .cluster_id = "cid",
				 .controller_id = 0, .ntopics = 1, .topics = &t };
	for (int16_t ver = 0; ver <= KWMETA_MAX_VERSION; ver++) {
		struct wbuf w;
		wbuf_init(&w, 1 << 20);
		ck_assert_int_eq(kwmeta_resp_encode(&w, ver, &m), 0);
		struct rbuf r = rbuf_make(w.p, w.len);
		int32_t x;
		int16_t e;
		const uint8_t *s;
		int32_t sl;
		bool bo;
		if (ver >= 3) {
			rbuf_i32(&r, &x);
			ck_assert_int_eq(x, 0);
		}
		rbuf_i32(&r, &x);
		ck_assert_int_eq(x, 1);
		rbuf_i32(&r, &x);
		ck_assert_int_eq(x, 0);
		rbuf_bytes_i16(&r, 100, &s, &sl);
		ck_assert_int_eq(sl, 1);
		rbuf_i32(&r, &x);
		ck_assert_int_eq(x, 9092);
		if (ver >= 1) {
			rbuf_bytes_i16(&r, 100, &s, &sl);
			ck_assert_int_eq(sl, -1); /* no rack */
		}
		if (ver >= 2) {
			rbuf_bytes_i16(&r, 100, &s, &sl);
			ck_assert_int_eq(sl, 3);
		}
		if (ver >= 1) {
			rbuf_i32(&r, &x);
			ck_assert_int_eq(x, 0);
		}
		rbuf_i32(&r, &x);
		ck_assert_int_eq(x, 1);
		rbuf_i16(&r, &e);
		rbuf_bytes_i16(&r, 100, &s, &sl);
		ck_assert_int_eq(sl, 6);
		if (ver >= 1)
			rbuf_bool(&r, &bo);
		rbuf_i32(&r, &x);
		ck_assert_int_eq(x, 1);
		rbuf_i16(&r, &e);
		rbuf_i32(&r, &x);
		rbuf_i32(&r, &x); /* leader */
		if (ver >= 7) {
			rbuf_i32(&r, &x);
			ck_assert_int_eq(x, 7);
		}
		rbuf_i32(&r, &x);
		ck_assert_int_eq(x, 2);
		rbuf_skip(&r, 8);
		rbuf_i32(&r, &x);
		ck_assert_int_eq(x, 1);
		rbuf_skip(&r, 4);
		if (ver >= 5) {
			rbuf_i32(&r, &x);
			ck_assert_int_eq(x, 1);
			rbuf_i32(&r, &x);
			ck_assert_int_eq(x, 1);
		}
		if (ver >= 8) {
			rbuf_i32(&r, &x);
			ck_assert_int_eq(x, INT32_MIN);
			rbuf_i32(&r, &x);
			ck_assert_int_eq(x, INT32_MIN);
		}
		ck_assert_int_eq(r.err, 0);
		ck_assert_uint_eq(r.pos, w.len);
		wbuf_free(&w);
	}
}
END_TEST

static Suite *kwmeta_suite(void)
{
	Suite *s = suite_create("kwmeta");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_request_round_trip);
	tcase_add_test(tc, test_bad_names_flagged);
	tcase_add_test(tc, test_truncations_and_lying_counts);
	tcase_add_test(tc, test_response_bytes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kwmeta_suite());
}
