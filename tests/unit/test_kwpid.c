/*
 * Unit tests for broker/wire/kwpid, InitProducerId (API 22) v0-4: requests and responses byte
 * for byte as written from Kafka's message schemas (the non-flexible v0-1, the flexible v2 with
 * compact strings and tagged fields, v3-4 with the producer id and epoch), round trips, tagged
 * fields skipped, and malformed bodies refused.
 */
#include "buf.h"
#include "err.h"
#include "kwpid.h"

#include "check_main.h"

#include <check.h>
#include <string.h>

static int decode(const uint8_t *p, size_t n, int16_t ver, struct kwpid_req *q)
{
	struct rbuf r = rbuf_make(p, n);
	return kwpid_req_decode(&r, ver, q);
}

START_TEST(test_request_bytes)
{
	struct kwpid_req q;
	/* v0/v1: null transactional id (int16 -1), timeout 60000 */
	static const uint8_t v1[] = { 0xff, 0xff, 0x00, 0x00, 0xea, 0x60 };
	for (int16_t ver = 0; ver <= 1; ver++) {
		ck_assert_int_eq(decode(v1, sizeof(v1), ver, &q), 0);
		ck_assert_ptr_null(q.txn_id);
		ck_assert_int_eq(q.txn_id_len, -1);
		ck_assert_int_eq(q.txn_timeout_ms, 60000);
		ck_assert_int_eq(q.producer_id, -1);
	}
	/* v1 with transactional id "tx" */
	static const uint8_t v1t[] = { 0x00, 0x02, 't', 'x', 0x00, 0x00, 0x03, 0xe8 };
	ck_assert_int_eq(decode(v1t, sizeof(v1t), 1, &q), 0);
	ck_assert_int_eq(q.txn_id_len, 2);
	ck_assert_mem_eq(q.txn_id, "tx", 2);
	ck_assert_int_eq(q.txn_timeout_ms, 1000);
	/* v2: compact null (0), timeout, no tagged fields */
	static const uint8_t v2[] = { 0x00, 0x00, 0x00, 0xea, 0x60, 0x00 };
	ck_assert_int_eq(decode(v2, sizeof(v2), 2, &q), 0);
	ck_assert_ptr_null(q.txn_id);
	/* v4 as librdkafka sends it for an epoch bump: null id, timeout, producer id 7, epoch 3,
	 * and one unknown tagged field (tag 5, 2 bytes) that is skipped */
	static const uint8_t v4[] = { 0x00, 0x00, 0x00, 0xea, 0x60, 0, 0, 0, 0, 0, 0, 0, 7, 0x00, 0x03,
				      0x01, 0x05, 0x02, 0xaa, 0xbb };
	ck_assert_int_eq(decode(v4, sizeof(v4), 4, &q), 0);
	ck_assert_int_eq(q.producer_id, 7);
	ck_assert_int_eq(q.producer_epoch, 3);
	/* v3 with a transactional id "ab" (compact length 3) */
	static const uint8_t v3[] = { 0x03, 'a', 'b', 0x00, 0x00, 0x00, 0x10, 0xff, 0xff, 0xff, 0xff,
				      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00 };
	ck_assert_int_eq(decode(v3, sizeof(v3), 3, &q), 0);
	ck_assert_int_eq(q.txn_id_len, 2);
	ck_assert_int_eq(q.producer_id, -1);
	ck_assert_int_eq(q.producer_epoch, -1);
}
END_TEST

START_TEST(test_request_round_trip)
{
	for (int16_t ver = 0; ver <= KWPID_MAX_VERSION; ver++) {
		for (int t = 0; t < 2; t++) {
			struct kwpid_req in = { .txn_id = t ? (const uint8_t *)"my-txn" : NULL,
						.txn_id_len = t ? 6 : -1,
						.txn_timeout_ms = 12345,
						.producer_id = ver >= 3 ? 99 : -1,
						.producer_epoch = ver >= 3 ? 4 : -1 },
					 out;
			struct wbuf w;
			wbuf_init(&w, 1024);
			ck_assert_int_eq(kwpid_req_encode(&w, ver, &in), 0);
			ck_assert_int_eq(decode(w.p, w.len, ver, &out), 0);
			ck_assert_int_eq(out.txn_id_len, in.txn_id_len);
			if (t)
				ck_assert_mem_eq(out.txn_id, "my-txn", 6);
			ck_assert_int_eq(out.txn_timeout_ms, 12345);
			ck_assert_int_eq(out.producer_id, in.producer_id);
			ck_assert_int_eq(out.producer_epoch, in.producer_epoch);
			/* every truncation is refused */
			for (size_t n = 0; n < w.len; n++)
				ck_assert_int_eq(decode(w.p, n, ver, &out), ERR_PROTO);
			wbuf_free(&w);
		}
	}
}
END_TEST

START_TEST(test_request_refused)
{
	struct kwpid_req q;
	static const uint8_t nul[] = { 0x00, 0x02, 't', 0x00, 0x00, 0x00, 0x03, 0xe8 };
	ck_assert_int_eq(decode(nul, sizeof(nul), 1, &q), ERR_PROTO); /* a NUL in the id */
	static const uint8_t len[] = { 0x7f, 0xff, 't' };
	ck_assert_int_eq(decode(len, sizeof(len), 0, &q), ERR_PROTO); /* longer than the bytes */
	static const uint8_t tags[] = { 0x00, 0x00, 0x00, 0xea, 0x60, 0x01, 0x05, 0x09, 0xaa };
	ck_assert_int_eq(decode(tags, sizeof(tags), 2, &q), ERR_PROTO); /* a tag past the end */
	static const uint8_t many[] = { 0x00, 0x00, 0x00, 0xea, 0x60, 0x7f };
	ck_assert_int_eq(decode(many, sizeof(many), 2, &q), ERR_PROTO); /* more tags than bytes */
	static const uint8_t v1[] = { 0xff, 0xff, 0x00, 0x00, 0xea, 0x60 };
	ck_assert_int_eq(decode(v1, sizeof(v1), 5, &q), ERR_PROTO);	  /* unknown version */
	ck_assert_int_eq(decode(v1, sizeof(v1), -1, &q), ERR_PROTO);
}
END_TEST

START_TEST(test_response_bytes)
{
	struct kwpid_resp p = { .throttle_ms = 0, .error = 0, .producer_id = 1000, .producer_epoch = 0 };
	struct wbuf w;
	wbuf_init(&w, 1024);
	ck_assert_int_eq(kwpid_resp_encode(&w, 1, &p), 0);
	static const uint8_t v1[] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x03, 0xe8, 0, 0 };
	ck_assert_uint_eq(w.len, sizeof(v1));
	ck_assert_mem_eq(w.p, v1, sizeof(v1));
	wbuf_reset(&w);
	p.error = 15;
	p.producer_id = -1;
	p.producer_epoch = -1;
	ck_assert_int_eq(kwpid_resp_encode(&w, 4, &p), 0);
	static const uint8_t v4[] = { 0, 0, 0, 0, 0, 15, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0 };
	ck_assert_uint_eq(w.len, sizeof(v4));
	ck_assert_mem_eq(w.p, v4, sizeof(v4));
	struct rbuf r = rbuf_make(w.p, w.len);
	struct kwpid_resp back;
	ck_assert_int_eq(kwpid_resp_decode(&r, 4, &back), 0);
	ck_assert_int_eq(back.error, 15);
	ck_assert_int_eq(back.producer_id, -1);
	wbuf_free(&w);
}
END_TEST

static Suite *kwpid_suite(void)
{
	Suite *s = suite_create("kwpid");
	TCase *tc = tcase_create("codec");
	tcase_add_test(tc, test_request_bytes);
	tcase_add_test(tc, test_request_round_trip);
	tcase_add_test(tc, test_request_refused);
	tcase_add_test(tc, test_response_bytes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kwpid_suite());
}
