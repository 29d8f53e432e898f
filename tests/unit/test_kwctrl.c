/*
 * Unit tests for broker/wire/kwctrl: ControlledShutdown v1-2 and ElectLeaders v0-1, the
 * controller's side. Requests byte for byte as written from Kafka's message schemas, round trips
 * of requests and responses in every version, long or NUL-holding topic names flagged (not
 * refused), every truncation refused, and counts or lengths larger than the bytes left refused
 * before anything is allocated.
 */
#include "buf.h"
#include "err.h"
#include "kwctrl.h"

#include "check_main.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_cs_request)
{
	struct kwctrl_cs_req q;
	static const uint8_t v1[] = { 0, 0, 0, 3 };
	struct rbuf r = rbuf_make(v1, sizeof(v1));
	ck_assert_int_eq(kwctrl_cs_req_decode(&r, 1, &q), 0);
	ck_assert_int_eq(q.broker_id, 3);
	ck_assert_int_eq(q.broker_epoch, -1);
	static const uint8_t v2[] = { 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0x01, 0x10 };
	r = rbuf_make(v2, sizeof(v2));
	ck_assert_int_eq(kwctrl_cs_req_decode(&r, 2, &q), 0);
	ck_assert_int_eq(q.broker_id, 2);
	ck_assert_int_eq(q.broker_epoch, 0x110);
	ck_assert_int_eq(rbuf_left(&r), 0);
	for (int16_t ver = KWCTRL_SHUTDOWN_MIN_VERSION; ver <= KWCTRL_SHUTDOWN_MAX_VERSION; ver++) {
		struct kwctrl_cs_req a = { .broker_id = 7, .broker_epoch = ver >= 2 ? 99 : -1 }, d;
		struct wbuf w;
		wbuf_init(&w, 64);
		ck_assert_int_eq(kwctrl_cs_req_encode(&w, ver, &a), 0);
		r = rbuf_make(w.p, w.len);
		ck_assert_int_eq(kwctrl_cs_req_decode(&r, ver, &d), 0);
		ck_assert_int_eq(rbuf_left(&r), 0);
		ck_assert_int_eq(d.broker_id, 7);
		ck_assert_int_eq(d.broker_epoch, a.broker_epoch);
		for (size_t cut = 0; cut < w.len; cut++) {
			r = rbuf_make(w.p, cut);
			ck_assert_int_eq(kwctrl_cs_req_decode(&r, ver, &d), ERR_PROTO);
		}
		wbuf_free(&w);
	}
	/* v0 (another request header) and v3 are not served */
	r = rbuf_make(v2, sizeof(v2));
	ck_assert_int_eq(kwctrl_cs_req_decode(&r, 0, &q), ERR_PROTO);
	r = rbuf_make(v2, sizeof(v2));
	ck_assert_int_eq(kwctrl_cs_req_decode(&r, 3, &q), ERR_PROTO);
}
END_TEST

START_TEST(test_cs_response)
{
	struct kwctrl_tp rem[2] = { { "t1", 0 }, { "t2", 5 } };
	struct kwctrl_cs_resp p = { .error = 0, .n = 2, .remaining = rem }, d;
	struct wbuf w;
	wbuf_init(&w, 1024);
	ck_assert_int_eq(kwctrl_cs_resp_encode(&w, &p), 0);
	static const uint8_t want[] = { 0, 0, 0, 0, 0, 2, 0, 2, 't', '1', 0, 0, 0, 0, 0, 2, 't', '2', 0, 0, 0, 5 };
	ck_assert_uint_eq(w.len, sizeof(want));
	ck_assert_mem_eq(w.p, want, sizeof(want));
	struct rbuf r = rbuf_make(w.p, w.len);
	ck_assert_int_eq(kwctrl_cs_resp_decode(&r, &d), 0);
	ck_assert_int_eq(d.n, 2);
	ck_assert_str_eq(d.remaining[1].topic, "t2");
	ck_assert_int_eq(d.remaining[1].partition, 5);
	kwctrl_cs_resp_free(&d);
	for (size_t cut = 0; cut < w.len; cut++) {
		r = rbuf_make(w.p, cut);
		ck_assert_int_eq(kwctrl_cs_resp_decode(&r, &d), ERR_PROTO);
		ck_assert_ptr_null(d.remaining);
	}
	wbuf_free(&w);
	/* a count far over the bytes left */
	static const uint8_t huge[] = { 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 1, 'a', 0, 0, 0, 0 };
	r = rbuf_make(huge, sizeof(huge));
	ck_assert_int_eq(kwctrl_cs_resp_decode(&r, &d), ERR_PROTO);
}
END_TEST

START_TEST(test_el_request_bytes)
{
	struct kwctrl_el_req q;
	/* v0: topic "ab" partitions [0, 2], timeout 1000 */
	static const uint8_t v0[] = { 0, 0, 0, 1, 0, 2, 'a', 'b', 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0x03, 0xe8 };
	struct rbuf r = rbuf_make(v0, sizeof(v0));
	ck_assert_int_eq(kwctrl_el_req_decode(&r, 0, &q), 0);
	ck_assert_int_eq(rbuf_left(&r), 0);
	ck_assert_int_eq(q.type, 0);
	ck_assert_int_eq(q.n, 1);
	ck_assert_str_eq(q.topics[0].name, "ab");
	ck_assert(!q.topics[0].bad);
	ck_assert_int_eq(q.topics[0].n, 2);
	ck_assert_int_eq(q.topics[0].parts[1], 2);
	ck_assert_int_eq(q.timeout_ms, 1000);
	kwctrl_el_req_free(&q);
	/* v1: unclean, null topics (every partition), timeout 0 */
	static const uint8_t v1[] = { 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0 };
	r = rbuf_make(v1, sizeof(v1));
	ck_assert_int_eq(kwctrl_el_req_decode(&r, 1, &q), 0);
	ck_assert_int_eq(q.type, 1);
	ck_assert_int_eq(q.n, -1);
	ck_assert_ptr_null(q.topics);
	kwctrl_el_req_free(&q);
	/* an election type other than 0 and 1 */
	static const uint8_t bad[] = { 2, 0, 0, 0, 0, 0, 0, 0, 0 };
	r = rbuf_make(bad, sizeof(bad));
	ck_assert_int_eq(kwctrl_el_req_decode(&r, 1, &q), ERR_PROTO);
	/* a NUL in a name is flagged */
	static const uint8_t nul[] = { 0, 0, 0, 1, 0, 2, 'a', 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0 };
	r = rbuf_make(nul, sizeof(nul));
	ck_assert_int_eq(kwctrl_el_req_decode(&r, 0, &q), 0);
	ck_assert(q.topics[0].bad);
	kwctrl_el_req_free(&q);
	/* a topics count, a partitions count, a name length far over the bytes left */
	static const uint8_t h1[] = { 0x7f, 0xff, 0xff, 0xff, 0, 1, 'a', 0, 0, 0, 0, 0, 0, 0, 0 };
	r = rbuf_make(h1, sizeof(h1));
	ck_assert_int_eq(kwctrl_el_req_decode(&r, 0, &q), ERR_PROTO);
	static const uint8_t h2[] = { 0, 0, 0, 1, 0, 1, 'a', 0x00, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	r = rbuf_make(h2, sizeof(h2));
	ck_assert_int_eq(kwctrl_el_req_decode(&r, 0, &q), ERR_PROTO);
	static const uint8_t h3[] = { 0, 0, 0, 1, 0x7f, 0xff, 'a', 0, 0, 0, 0, 0, 0, 0, 0 };
	r = rbuf_make(h3, sizeof(h3));
	ck_assert_int_eq(kwctrl_el_req_decode(&r, 0, &q), ERR_PROTO);
	/* a null partitions array */
	static const uint8_t np[] = { 0, 0, 0, 1, 0, 1, 'a', 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0 };
	r = rbuf_make(np, sizeof(np));
	ck_assert_int_eq(kwctrl_el_req_decode(&r, 0, &q), ERR_PROTO);
	r = rbuf_make(v1, sizeof(v1));
	ck_assert_int_eq(kwctrl_el_req_decode(&r, 2, &q), ERR_PROTO);
}
END_TEST

START_TEST(test_el_request_round_trip)
{
	/* a name of 300 characters: over the name buffer, kept cut and flagged */
	char longname[301];
	memset(longname, 'x', 300);
	longname[300] = '\0';
	for (int16_t ver = 0; ver <= KWCTRL_ELECT_MAX_VERSION; ver++) {
		int32_t p1[] = { 0, 1, 2 }, p2[] = { 7 };
		struct kwctrl_el_topic t[2];
		memset(t, 0, sizeof(t));
		strcpy(t[0].name, "t1");
		t[0].n = 3;
		t[0].parts = p1;
		strcpy(t[1].name, "t2");
		t[1].n = 1;
		t[1].parts = p2;
		struct kwctrl_el_req q = { .type = ver >= 1 ? 1 : 0, .n = 2, .topics = t, .timeout_ms = 30000 }, d;
		struct wbuf w;
		wbuf_init(&w, 4096);
		ck_assert_int_eq(kwctrl_el_req_encode(&w, ver, &q), 0);
		struct rbuf r = rbuf_make(w.p, w.len);
		ck_assert_int_eq(kwctrl_el_req_decode(&r, ver, &d), 0);
		ck_assert_int_eq(rbuf_left(&r), 0);
		ck_assert_int_eq(d.type, q.type);
		ck_assert_int_eq(d.n, 2);
		ck_assert_str_eq(d.topics[1].name, "t2");
		ck_assert_int_eq(d.topics[0].n, 3);
		ck_assert_int_eq(d.topics[0].parts[2], 2);
		ck_assert_int_eq(d.topics[1].parts[0], 7);
		ck_assert_int_eq(d.timeout_ms, 30000);
		kwctrl_el_req_free(&d);
		for (size_t cut = 0; cut < w.len; cut++) {
			r = rbuf_make(w.p, cut);
			ck_assert_int_eq(kwctrl_el_req_decode(&r, ver, &d), ERR_PROTO);
			ck_assert_ptr_null(d.topics);
		}
		wbuf_free(&w);
		/* the long name, written by hand */
		wbuf_init(&w, 4096);
		if (ver >= 1)
			wbuf_u8(&w, 0);
		wbuf_i32(&w, 1);
		wbuf_str_i16(&w, longname);
		wbuf_i32(&w, 1);
		wbuf_i32(&w, 0);
		wbuf_i32(&w, 0);
		r = rbuf_make(w.p, w.len);
		ck_assert_int_eq(kwctrl_el_req_decode(&r, ver, &d), 0);
		ck_assert(d.topics[0].bad);
		ck_assert_uint_eq(strlen(d.topics[0].name), sizeof(d.topics[0].name) - 1);
		kwctrl_el_req_free(&d);
		wbuf_free(&w);
	}
}
END_TEST

START_TEST(test_el_response)
{
	for (int16_t ver = 0; ver <= KWCTRL_ELECT_MAX_VERSION; ver++) {
		struct kwctrl_el_presp pr[3] = { { 0, 0, NULL }, { 1, 84, "not needed" }, { 4, 3, "no such partition" } };
		struct kwctrl_el_tresp tr[2] = { { "t1", 2, pr }, { "t2", 1, pr + 2 } };
		struct kwctrl_el_resp p = { .throttle_ms = 0, .error = 0, .n = 2, .topics = tr }, d;
		struct wbuf w;
		wbuf_init(&w, 4096);
		ck_assert_int_eq(kwctrl_el_resp_encode(&w, ver, &p), 0);
		/* the head: throttle, (v1) error, 2 topics, "t1", 2 partitions, partition 0, error 0, null */
		static const uint8_t head1[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2, 't', '1', 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		size_t skip = ver >= 1 ? 0 : 2;
		ck_assert_mem_eq(w.p, head1, 4);
		ck_assert_mem_eq(w.p + 4, head1 + 4 + skip, sizeof(head1) - 4 - skip);
		struct rbuf r = rbuf_make(w.p, w.len);
		ck_assert_int_eq(kwctrl_el_resp_decode(&r, ver, &d), 0);
		ck_assert_int_eq(rbuf_left(&r), 0);
		ck_assert_int_eq(d.n, 2);
		ck_assert_str_eq(d.topics[0].topic, "t1");
		ck_assert_int_eq(d.topics[0].n, 2);
		ck_assert_ptr_null(d.topics[0].parts[0].message);
		ck_assert_int_eq(d.topics[0].parts[1].error, 84);
		ck_assert_str_eq(d.topics[0].parts[1].message, "not needed");
		ck_assert_str_eq(d.topics[1].parts[0].message, "no such partition");
		kwctrl_el_resp_free(&d);
		for (size_t cut = 0; cut < w.len; cut++) {
			r = rbuf_make(w.p, cut);
			ck_assert_int_eq(kwctrl_el_resp_decode(&r, ver, &d), ERR_PROTO);
			ck_assert_ptr_null(d.topics);
		}
		wbuf_free(&w);
	}
}
END_TEST

static Suite *kwctrl_suite(void)
{
	Suite *s = suite_create("kwctrl");
	TCase *tc = tcase_create("codec");
	tcase_add_test(tc, test_cs_request);
	tcase_add_test(tc, test_cs_response);
	tcase_add_test(tc, test_el_request_bytes);
	tcase_add_test(tc, test_el_request_round_trip);
	tcase_add_test(tc, test_el_response);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kwctrl_suite());
}
