/*
 * Unit tests for ktxnrec, the __transaction_state record codec: the exact bytes of a key and of
 * a version-0 value (an Ongoing transaction over two topics; an Empty one with null
 * partitions) as Kafka's TransactionLog writes them, round trips, a version-1 (flexible)
 * value read, every truncation refused, lying counts refused before allocation, bad versions,
 * statuses and names refused.
 */
#include "ktxnrec.h"

#include "buf.h"
#include "check_main.h"
#include "err.h"
#include "ktxnstate.h"

#include <check.h>
#include <string.h>

START_TEST(test_key_bytes)
{
	struct wbuf w;
	wbuf_init(&w, 1024);
	ck_assert_int_eq(ktxnrec_key_encode(&w, (const uint8_t *)"tx-1", 4), 0);
	static const uint8_t want[] = { 0, 0, 0, 4, 't', 'x', '-', '1' };
	ck_assert_uint_eq(w.len, sizeof(want));
	ck_assert(!memcmp(w.p, want, sizeof(want)));
	const uint8_t *id;
	size_t len;
	ck_assert_int_eq(ktxnrec_key_decode(w.p, w.len, &id, &len), 0);
	ck_assert_uint_eq(len, 4);
	ck_assert(!memcmp(id, "tx-1", 4));
	for (size_t k = 0; k < w.len; k++)
		ck_assert_int_eq(ktxnrec_key_decode(w.p, k, &id, &len), ERR_PROTO);
	static const uint8_t v1[] = { 0, 1, 0, 1, 'x' }; /* not a transaction key */
	ck_assert_int_eq(ktxnrec_key_decode(v1, sizeof(v1), &id, &len), ERR_PROTO);
	static const uint8_t nul[] = { 0, 0, 0, 2, 'x', 0 };
	ck_assert_int_eq(ktxnrec_key_decode(nul, sizeof(nul), &id, &len), ERR_PROTO);
	static const uint8_t null[] = { 0, 0, 0xff, 0xff };
	ck_assert_int_eq(ktxnrec_key_decode(null, sizeof(null), &id, &len), ERR_PROTO);
	wbuf_free(&w);
}
END_TEST

/* an Ongoing transaction over t0 [2, 0] and u [5] */
static const uint8_t ongoing_bytes[] = {
	0, 0,			      /* version */
	0, 0, 0, 0, 0, 0, 0x03, 0xe8, /* producer id 1000 */
	0, 7,			      /* epoch */
	0, 0, 0xea, 0x60,	      /* timeout 60000 */
	1,			      /* Ongoing */
	0, 0, 0, 2,		      /* two topics */
	0, 2, 't', '0', 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0,
	0, 1, 'u', 0, 0, 0, 1, 0, 0, 0, 5,
	0, 0, 0, 0, 0, 0, 0x30, 0x39, /* last update 12345 */
	0, 0, 0, 0, 0, 0, 0x30, 0x38, /* start 12344 */
};

static void check_ongoing(const struct ktxnrec_value *v)
{
	ck_assert_int_eq(v->producer_id, 1000);
	ck_assert_int_eq(v->producer_epoch, 7);
	ck_assert_int_eq(v->timeout_ms, 60000);
	ck_assert_int_eq(v->status, KTXNSTATE_ONGOING);
	ck_assert_int_eq(v->ntopics, 2);
	ck_assert_str_eq(v->topics[0].name, "t0");
	ck_assert_int_eq(v->topics[0].n, 2);
	ck_assert_int_eq(v->topics[0].parts[0], 2);
	ck_assert_int_eq(v->topics[0].parts[1], 0);
	ck_assert_str_eq(v->topics[1].name, "u");
	ck_assert_int_eq(v->topics[1].n, 1);
	ck_assert_int_eq(v->topics[1].parts[0], 5);
	ck_assert_int_eq(v->last_update_ms, 12345);
	ck_assert_int_eq(v->start_ms, 12344);
}

START_TEST(test_value_bytes_and_round_trip)
{
	int32_t p0[] = { 2, 0 }, p1[] = { 5 };
	struct ktxnrec_topic t[] = { { "t0", 2, p0 }, { "u", 1, p1 } };
	struct ktxnrec_value v = { .producer_id = 1000, .producer_epoch = 7, .timeout_ms = 60000,
				   .status = KTXNSTATE_ONGOING, .ntopics = 2, .topics = t,
				   .last_update_ms = 12345, .start_ms = 12344 };
	struct wbuf w;
	wbuf_init(&w, 1024);
	ck_assert_int_eq(ktxnrec_value_encode(&w, &v), 0);
	ck_assert_uint_eq(w.len, sizeof(ongoing_bytes));
	ck_assert(!memcmp(w.p, ongoing_bytes, sizeof(ongoing_bytes)));
	struct ktxnrec_value d;
	ck_assert_int_eq(ktxnrec_value_decode(w.p, w.len, &d), 0);
	check_ongoing(&d);
	ktxnrec_value_free(&d);
	ktxnrec_value_free(&d); /* idempotent */
	/* every truncation is refused, and frees cleanly */
	for (size_t k = 0; k < w.len; k++) {
		ck_assert_int_eq(ktxnrec_value_decode(w.p, k, &d), ERR_PROTO);
		ktxnrec_value_free(&d);
	}
	wbuf_free(&w);
}
END_TEST

START_TEST(test_empty_has_null_partitions)
{
	struct ktxnrec_value v = { .producer_id = 4, .producer_epoch = 0, .timeout_ms = 10,
				   .status = KTXNSTATE_EMPTY, .ntopics = -1, .last_update_ms = 1, .start_ms = -1 };
	struct wbuf w;
	wbuf_init(&w, 1024);
	ck_assert_int_eq(ktxnrec_value_encode(&w, &v), 0);
	ck_assert_uint_eq(w.len, 2 + 8 + 2 + 4 + 1 + 4 + 8 + 8);
	ck_assert(!memcmp(w.p + 17, "\xff\xff\xff\xff", 4));
	struct ktxnrec_value d;
	ck_assert_int_eq(ktxnrec_value_decode(w.p, w.len, &d), 0);
	ck_assert_int_eq(d.ntopics, -1);
	ck_assert_int_eq(d.start_ms, -1);
	ck_assert_int_eq(d.status, KTXNSTATE_EMPTY);
	ktxnrec_value_free(&d);
	wbuf_free(&w);
}
END_TEST

START_TEST(test_value_v1_flexible)
{
	/* the same Ongoing transaction at version 1: compact strings and arrays, tags */
	static const uint8_t b[] = {
		0, 1, 0, 0, 0, 0, 0, 0, 0x03, 0xe8, 0, 7, 0, 0, 0xea, 0x60, 1,
		3,		     /* two topics */
		3, 't', '0', 3, 0, 0, 0, 2, 0, 0, 0, 0, 0, /* t0 [2, 0], no tags */
		2, 'u', 2, 0, 0, 0, 5, 1, 9, 1, 0xAA,	   /* u [5], one tag of 1 byte */
		0, 0, 0, 0, 0, 0, 0x30, 0x39, 0, 0, 0, 0, 0, 0, 0x30, 0x38,
		0, /* no tags */
	};
	struct ktxnrec_value d;
	ck_assert_int_eq(ktxnrec_value_decode(b, sizeof(b), &d), 0);
	check_ongoing(&d);
	ktxnrec_value_free(&d);
	for (size_t k = 0; k < sizeof(b); k++) {
		ck_assert_int_eq(ktxnrec_value_decode(b, k, &d), ERR_PROTO);
		ktxnrec_value_free(&d);
	}
}
END_TEST

START_TEST(test_value_refusals)
{
	uint8_t b[sizeof(ongoing_bytes)];
	struct ktxnrec_value d;
	memcpy(b, ongoing_bytes, sizeof(b));
	b[1] = 2; /* unknown version */
	ck_assert_int_eq(ktxnrec_value_decode(b, sizeof(b), &d), ERR_PROTO);
	ktxnrec_value_free(&d);
	memcpy(b, ongoing_bytes, sizeof(b));
	b[16] = 8; /* no such status */
	ck_assert_int_eq(ktxnrec_value_decode(b, sizeof(b), &d), ERR_PROTO);
	ktxnrec_value_free(&d);
	memcpy(b, ongoing_bytes, sizeof(b));
	b[17] = 0x7f; /* a count far past the bytes left: refused before allocating */
	ck_assert_int_eq(ktxnrec_value_decode(b, sizeof(b), &d), ERR_PROTO);
	ktxnrec_value_free(&d);
	memcpy(b, ongoing_bytes, sizeof(b));
	b[24] = 0; /* "t\0": a NUL in a topic name */
	ck_assert_int_eq(ktxnrec_value_decode(b, sizeof(b), &d), ERR_PROTO);
	ktxnrec_value_free(&d);
	memcpy(b, ongoing_bytes, sizeof(b));
	b[25] = 0x40; /* t0's partition count past the bytes left */
	ck_assert_int_eq(ktxnrec_value_decode(b, sizeof(b), &d), ERR_PROTO);
	ktxnrec_value_free(&d);
}
END_TEST

static Suite *ktxnrec_suite(void)
{
	Suite *s = suite_create("ktxnrec");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_key_bytes);
	tcase_add_test(tc, test_value_bytes_and_round_trip);
	tcase_add_test(tc, test_empty_has_null_partitions);
	tcase_add_test(tc, test_value_v1_flexible);
	tcase_add_test(tc, test_value_refusals);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(ktxnrec_suite());
}
