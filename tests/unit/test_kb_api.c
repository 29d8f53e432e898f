/*
 * Unit tests of the broker's dispatch table (kb_apis[] in broker/api/kapi.c): the ApiVersions
 * answer is the table, in every version and on UNSUPPORTED_VERSION; each key appears once with
 * a sane range; exactly the listed keys and versions are served (an unknown key, or a version
 * outside the range, is not, so it can only close the connection); and the ranges are pinned
 * to those of a Kafka 2.4 broker (the group APIs to what their codec implements: the last
 * non-flexible versions, OffsetCommit v8 and OffsetFetch v7), which is what kafka-python infers
 * the broker's version from; the request header of a flexible version (v2) has its tagged
 * fields skipped, that of another version none.
 */
#include "buf.h"
#include "kapi.h"
#include "kgw.h"
#include "kwhdr.h"

#include "check_main.h"

#include <check.h>
#include <string.h>

/* Kafka 2.4's ranges for the APIs this broker serves (IncrementalAlterConfigs only up to v0 and
 * ElectLeaders up to v1: their next versions are flexible; ControlledShutdown from v1: v0's
 * request header has no client_id). */
static const struct {
	int16_t key, min, max;
} served[] = {
	{ 0, 3, 8 }, { 1, 4, 11 }, { 2, 0, 5 }, { 3, 0, 8 }, { 18, 0, 2 }, { 19, 0, 4 },
	{ 20, 0, 3 }, { 23, 0, 3 }, { 32, 0, 2 }, { 33, 0, 1 }, { 37, 0, 1 }, { 44, 0, 0 }, { 7, 1, 2 }, { 43, 0, 1 },
	/* consumer groups, what kgw implements (kgw_max_version): the last non-flexible versions,
	 * and the flexible OffsetCommit v8 (Kafka 2.4's) and OffsetFetch v6-7 (Kafka 2.5's) */
	{ 8, 0, 8 }, { 9, 0, 7 }, { 10, 0, 2 }, { 11, 0, 5 }, { 12, 0, 3 }, { 13, 0, 3 }, { 14, 0, 3 },
	{ 15, 0, 4 }, { 16, 0, 2 }, { 42, 0, 1 }, { 47, 0, 0 },
	{ 17, 0, 1 }, { 36, 0, 1 }, /* SaslHandshake; SaslAuthenticate up to v1 (v2 is flexible) */
	/* the ACL APIs, up to their last non-flexible versions (kwacl) */
	{ 29, 0, 1 }, { 30, 0, 1 }, { 31, 0, 1 },
	/* InitProducerId, every version (kwpid; Kafka 2.7's range, v2+ flexible) */
	{ 22, 0, 4 },
	/* WriteTxnMarkers, the partition leader's side (kwmark; Kafka 2.8's range, v1 flexible) */
	{ 27, 0, 1 },
	/* the transaction coordinator: AddPartitionsToTxn, AddOffsetsToTxn, EndTxn up to their last
	 * non-flexible versions (kwtxn), and TxnOffsetCommit to its flexible v3 (KIP-447) */
	{ 24, 0, 2 }, { 25, 0, 2 }, { 26, 0, 2 }, { 28, 0, 3 },
};
#define NSERVED (sizeof(served) / sizeof(served[0]))

/* The group APIs are served in every version their codec implements, no more. */
START_TEST(test_group_apis_are_the_codec)
{
	static const int16_t keys[] = { 8, 9, 10, 11, 12, 13, 14, 15, 16, 42, 47 };
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		int16_t max = kgw_max_version(keys[k]);
		ck_assert_int_ge(max, 0);
		ck_assert(kapi_supported(keys[k], 0));
		ck_assert(kapi_supported(keys[k], max));
		ck_assert(!kapi_supported(keys[k], (int16_t)(max + 1)));
	}
}
END_TEST

static int served_at(int16_t key)
{
	for (size_t i = 0; i < NSERVED; i++)
		if (served[i].key == key)
			return (int)i;
	return -1;
}

START_TEST(test_table_is_kafka_24)
{
	ck_assert_uint_eq(kapi_count(), NSERVED);
	int seen[NSERVED] = { 0 };
	for (size_t i = 0; i < kapi_count(); i++) {
		int16_t key, min, max;
		kapi_range_at(i, &key, &min, &max);
		int j = served_at(key);
		ck_assert_msg(j >= 0, "key %d is not one the broker should serve", key);
		ck_assert_msg(!seen[j]++, "key %d appears twice", key);
		ck_assert_int_eq(min, served[j].min);
		ck_assert_int_eq(max, served[j].max);
	}
}
END_TEST

START_TEST(test_supported_exactly_the_table)
{
	for (int key = -2; key <= 80; key++)
		for (int ver = -2; ver <= 20; ver++) {
			int j = served_at((int16_t)key);
			bool want = j >= 0 && ver >= served[j].min && ver <= served[j].max;
			ck_assert_msg(kapi_supported((int16_t)key, (int16_t)ver) == want, "key %d v%d: %s", key, ver,
				      want ? "should be served" : "should be refused");
		}
	ck_assert(!kapi_supported(32767, 0));
	ck_assert(!kapi_supported(-32768, 0));
}
END_TEST

/* Request header v2 (a flexible version: OffsetFetch v6+, OffsetCommit v8, TxnOffsetCommit v3)
 * ends in tagged fields, which are skipped; v1 (OffsetFetch v5) has none, the body follows the
 * client id. */
START_TEST(test_header_tags)
{
	static const uint8_t v7[] = { 0, 9, 0, 7, 0, 0, 0, 42, 0, 1, 'c', /* key, ver, corr, client id */
				      2, 0, 2, 'x', 'y', 0x81, 0x01, 0, /* tags: 0 "xy", 129 "" */
				      0xab };
	struct kreq q;
	uint8_t buf[sizeof(v7)];
	memcpy(buf, v7, sizeof(v7));
	ck_assert_int_eq(kapi_header_read(buf, sizeof(buf), &q), 0);
	ck_assert_int_eq(q.key, 9);
	ck_assert_int_eq(q.ver, 7);
	ck_assert_int_eq(q.corr, 42);
	ck_assert_int_eq(q.client_id_len, 1);
	ck_assert_uint_eq(q.r.pos, sizeof(v7) - 1);
	/* the same bytes as v5: the body starts right after the client id */
	buf[3] = 5;
	ck_assert_int_eq(kapi_header_read(buf, sizeof(buf), &q), 0);
	ck_assert_uint_eq(q.r.pos, 11);
	/* OffsetCommit v8 is flexible, v7 is not */
	static const uint8_t c8[] = { 0, 8, 0, 8, 0, 0, 0, 1, 0xff, 0xff, 0, 0xcd };
	memcpy(buf, c8, sizeof(c8));
	ck_assert_int_eq(kapi_header_read(buf, sizeof(c8), &q), 0);
	ck_assert_uint_eq(q.r.pos, sizeof(c8) - 1);
	buf[3] = 7;
	ck_assert_int_eq(kapi_header_read(buf, sizeof(c8), &q), 0);
	ck_assert_uint_eq(q.r.pos, sizeof(c8) - 2);
	/* and so is TxnOffsetCommit v3 (KIP-447), not v2 */
	memcpy(buf, c8, sizeof(c8));
	buf[1] = 28;
	buf[3] = 3;
	ck_assert_int_eq(kapi_header_read(buf, sizeof(c8), &q), 0);
	ck_assert_uint_eq(q.r.pos, sizeof(c8) - 1);
	buf[3] = 2;
	ck_assert_int_eq(kapi_header_read(buf, sizeof(c8), &q), 0);
	ck_assert_uint_eq(q.r.pos, sizeof(c8) - 2);
	/* a tagged field running past the frame */
	memcpy(buf, v7, sizeof(v7));
	buf[13] = 40;
	ck_assert(kapi_header_read(buf, sizeof(v7), &q) != 0);
}
END_TEST

/* kwhdr_read: a null client id reads as NULL with length -1, and every cut of a header v1 is
 * an error (never a header read from bytes past the frame). */
START_TEST(test_header_null_client_and_cuts)
{
	static const uint8_t h[] = { 0, 3, 0, 8, 0, 0, 1, 0, 0xff, 0xff, 0x77 };
	struct kwhdr kh;
	struct rbuf r = rbuf_make(h, sizeof(h));
	ck_assert_int_eq(kwhdr_read(&r, &kh), 0);
	ck_assert_int_eq(kh.key, 3);
	ck_assert_int_eq(kh.ver, 8);
	ck_assert_int_eq(kh.corr, 256);
	ck_assert_ptr_null(kh.client_id);
	ck_assert_int_eq(kh.client_id_len, -1);
	ck_assert_uint_eq(r.pos, sizeof(h) - 1);
	static const uint8_t named[] = { 0, 3, 0, 8, 0, 0, 1, 0, 0, 3, 'c', 'l', 'i' };
	for (size_t cut = 0; cut < sizeof(named); cut++) {
		r = rbuf_make(named, cut);
		ck_assert_msg(kwhdr_read(&r, &kh) != 0, "a header cut at %zu read", cut);
		ck_assert_ptr_null(kh.client_id);
	}
	r = rbuf_make(named, sizeof(named));
	ck_assert_int_eq(kwhdr_read(&r, &kh), 0);
	ck_assert_int_eq(kh.client_id_len, 3);
	ck_assert_mem_eq(kh.client_id, "cli", 3);
}
END_TEST

/* Decodes an ApiVersions body of version ver and checks it against the table. */
static void check_body(int16_t ver, int16_t err)
{
	struct wbuf w;
	wbuf_init(&w, 1 << 16);
	kapi_versions_body(&w, ver, err);
	ck_assert_int_eq(w.err, 0);
	struct rbuf r = rbuf_make(w.p, w.len);
	int16_t e;
	int32_t n;
	rbuf_i16(&r, &e);
	rbuf_i32(&r, &n);
	ck_assert_int_eq(e, err);
	ck_assert_int_eq(n, (int32_t)kapi_count());
	for (int32_t i = 0; i < n; i++) {
		int16_t key, min, max, tk, tmin, tmax;
		rbuf_i16(&r, &key);
		rbuf_i16(&r, &min);
		rbuf_i16(&r, &max);
		kapi_range_at((size_t)i, &tk, &tmin, &tmax);
		ck_assert_int_eq(key, tk);
		ck_assert_int_eq(min, tmin);
		ck_assert_int_eq(max, tmax);
	}
	if (ver >= 1) {
		int32_t throttle = -1;
		rbuf_i32(&r, &throttle);
		ck_assert_int_eq(throttle, 0);
	}
	ck_assert_int_eq(r.err, 0);
	ck_assert_uint_eq(rbuf_left(&r), 0);
	wbuf_free(&w);
}

START_TEST(test_api_versions_body_is_the_table)
{
	check_body(0, 0);
	check_body(1, 0);
	check_body(2, 0);
	check_body(0, 35); /* UNSUPPORTED_VERSION: the ranges in a v0 body */
}
END_TEST

static Suite *kb_api_suite(void)
{
	Suite *s = suite_create("kb_api");
	TCase *tc = tcase_create("table");
	tcase_add_test(tc, test_table_is_kafka_24);
	tcase_add_test(tc, test_supported_exactly_the_table);
	tcase_add_test(tc, test_api_versions_body_is_the_table);
	tcase_add_test(tc, test_group_apis_are_the_codec);
	tcase_add_test(tc, test_header_tags);
	tcase_add_test(tc, test_header_null_client_and_cuts);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kb_api_suite());
}
