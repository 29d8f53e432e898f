/*
 * Unit tests for common/buf: big-endian ints, varints (Kafka's zig-zag test vectors),
 * length-prefixed strings, sticky errors and bounds.
 */
#include "buf.h"
#include "err.h"

#include "check_main.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_be_roundtrip)
{
	struct wbuf w;
	wbuf_init(&w, 1024);
	ck_assert_int_eq(wbuf_u8(&w, 0xab), 0);
	ck_assert_int_eq(wbuf_i16(&w, -2), 0);
	ck_assert_int_eq(wbuf_i32(&w, -123456789), 0);
	ck_assert_int_eq(wbuf_i64(&w, INT64_MIN + 7), 0);
	ck_assert_int_eq(wbuf_bool(&w, true), 0);
	ck_assert_uint_eq(w.len, 1 + 2 + 4 + 8 + 1);
	static const uint8_t want[] = { 0xab, 0xff, 0xfe, 0xf8, 0xa4, 0x32, 0xeb, 0x80, 0, 0, 0, 0, 0, 0, 7, 1 };
	ck_assert_mem_eq(w.p, want, sizeof(want));

	struct rbuf r = rbuf_make(w.p, w.len);
	uint8_t u8;
	int16_t i16;
	int32_t i32;
	int64_t i64;
	bool b;
	ck_assert_int_eq(rbuf_u8(&r, &u8), 0);
	ck_assert_int_eq(rbuf_i16(&r, &i16), 0);
	ck_assert_int_eq(rbuf_i32(&r, &i32), 0);
	ck_assert_int_eq(rbuf_i64(&r, &i64), 0);
	ck_assert_int_eq(rbuf_bool(&r, &b), 0);
	ck_assert_uint_eq(u8, 0xab);
	ck_assert_int_eq(i16, -2);
	ck_assert_int_eq(i32, -123456789);
	ck_assert(i64 == INT64_MIN + 7);
	ck_assert(b);
	ck_assert_uint_eq(rbuf_left(&r), 0);
	wbuf_free(&w);
}
END_TEST

START_TEST(test_read_past_end_is_error)
{
	static const uint8_t three[] = { 1, 2, 3 };
	struct rbuf r = rbuf_make(three, sizeof(three));
	int32_t v = 99;
	ck_assert_int_eq(rbuf_i32(&r, &v), ERR_TRUNC);
	ck_assert_int_eq(v, 0);
	/* sticky: a read that would fit still fails */
	uint8_t u;
	ck_assert_int_eq(rbuf_u8(&r, &u), ERR_TRUNC);
	ck_assert_int_eq(r.err, ERR_TRUNC);
	ck_assert_uint_eq(rbuf_left(&r), 0);
}
END_TEST

/* Zig-zag vectors from the Kafka protocol guide / protobuf encoding doc. */
START_TEST(test_varint_vectors)
{
	static const struct {
		int64_t v;
		uint8_t enc[10];
		size_t n;
	} vec[] = {
		{ 0, { 0x00 }, 1 },
		{ -1, { 0x01 }, 1 },
		{ 1, { 0x02 }, 1 },
		{ -2, { 0x03 }, 1 },
		{ 63, { 0x7e }, 1 },
		{ -64, { 0x7f }, 1 },
		{ 64, { 0x80, 0x01 }, 2 },
		{ 2147483647, { 0xfe, 0xff, 0xff, 0xff, 0x0f }, 5 },
		{ -2147483648LL, { 0xff, 0xff, 0xff, 0xff, 0x0f }, 5 },
	};
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		struct wbuf w;
		wbuf_init(&w, 64);
		ck_assert_int_eq(wbuf_varint(&w, (int32_t)vec[i].v), 0);
		ck_assert_uint_eq(w.len, vec[i].n);
		ck_assert_mem_eq(w.p, vec[i].enc, vec[i].n);
		struct rbuf r = rbuf_make(w.p, w.len);
		int32_t got;
		ck_assert_int_eq(rbuf_varint(&r, &got), 0);
		ck_assert_int_eq(got, (int32_t)vec[i].v);
		wbuf_reset(&w);
		ck_assert_int_eq(wbuf_varlong(&w, vec[i].v), 0);
		r = rbuf_make(w.p, w.len);
		int64_t got64;
		ck_assert_int_eq(rbuf_varlong(&r, &got64), 0);
		ck_assert(got64 == vec[i].v);
		wbuf_free(&w);
	}
	struct wbuf w;
	wbuf_init(&w, 64);
	wbuf_varlong(&w, INT64_MIN);
	ck_assert_uint_eq(w.len, 10);
	struct rbuf r = rbuf_make(w.p, w.len);
	int64_t got64;
	ck_assert_int_eq(rbuf_varlong(&r, &got64), 0);
	ck_assert(got64 == INT64_MIN);
	wbuf_free(&w);
}
END_TEST

START_TEST(test_truncated_varint)
{
	/* continuation bit set on the last byte available */
	static const uint8_t t[] = { 0x80, 0x80 };
	struct rbuf r = rbuf_make(t, sizeof(t));
	int32_t v;
	ck_assert_int_eq(rbuf_varint(&r, &v), ERR_TRUNC);
	/* six continuation bytes: too long for a 32-bit varint */
	static const uint8_t longv[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 };
	r = rbuf_make(longv, sizeof(longv));
	ck_assert_int_eq(rbuf_varint(&r, &v), ERR_CORRUPT);
	/* five bytes but over 32 bits */
	static const uint8_t big[] = { 0xff, 0xff, 0xff, 0xff, 0x7f };
	r = rbuf_make(big, sizeof(big));
	ck_assert_int_eq(rbuf_varint(&r, &v), ERR_CORRUPT);
}
END_TEST

START_TEST(test_strings)
{
	struct wbuf w;
	wbuf_init(&w, 256);
	wbuf_str_i16(&w, "kafka");
	wbuf_str_i16(&w, NULL);
	wbuf_str_i32(&w, "/zk");
	wbuf_bytes_i32(&w, NULL, 0);
	wbuf_bytes_compact(&w, "ab", 2);
	wbuf_bytes_compact(&w, NULL, 0);
	wbuf_bytes_varint(&w, "xyz", 3);
	ck_assert_int_eq(w.err, 0);

	struct rbuf r = rbuf_make(w.p, w.len);
	const uint8_t *p;
	int32_t n;
	ck_assert_int_eq(rbuf_bytes_i16(&r, 100, &p, &n), 0);
	ck_assert_int_eq(n, 5);
	ck_assert_mem_eq(p, "kafka", 5);
	ck_assert_int_eq(rbuf_bytes_i16(&r, 100, &p, &n), 0);
	ck_assert_int_eq(n, -1);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(rbuf_bytes_i32(&r, 100, &p, &n), 0);
	ck_assert_int_eq(n, 3);
	ck_assert_mem_eq(p, "/zk", 3);
	ck_assert_int_eq(rbuf_bytes_i32(&r, 100, &p, &n), 0);
	ck_assert_int_eq(n, -1);
	ck_assert_int_eq(rbuf_bytes_compact(&r, 100, &p, &n), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_mem_eq(p, "ab", 2);
	ck_assert_int_eq(rbuf_bytes_compact(&r, 100, &p, &n), 0);
	ck_assert_int_eq(n, -1);
	ck_assert_int_eq(rbuf_bytes_varint(&r, 100, &p, &n), 0);
	ck_assert_int_eq(n, 3);
	ck_assert_uint_eq(rbuf_left(&r), 0);
	wbuf_free(&w);
}
END_TEST

START_TEST(test_huge_length_rejected_before_read)
{
	/* a 2 GiB length followed by nothing: must be TOOBIG, not TRUNC after an allocation */
	static const uint8_t huge[] = { 0x7f, 0xff, 0xff, 0xff, 'a' };
	struct rbuf r = rbuf_make(huge, sizeof(huge));
	const uint8_t *p;
	int32_t n;
	ck_assert_int_eq(rbuf_bytes_i32(&r, 1 << 20, &p, &n), ERR_TOOBIG);
	static const uint8_t neg[] = { 0xff, 0xff, 0xff, 0xfe };
	r = rbuf_make(neg, sizeof(neg));
	ck_assert_int_eq(rbuf_bytes_i32(&r, 1 << 20, &p, &n), ERR_CORRUPT);
	/* an array count larger than the bytes left could hold */
	static const uint8_t cnt[] = { 0x00, 0x10, 0x00, 0x00, 0, 0, 0, 0 };
	r = rbuf_make(cnt, sizeof(cnt));
	int32_t c;
	ck_assert_int_eq(rbuf_count_i32(&r, 1 << 30, 4, &c), ERR_TRUNC);
	r = rbuf_make(cnt, sizeof(cnt));
	ck_assert_int_eq(rbuf_count_i32(&r, 1000, 4, &c), ERR_TOOBIG);
}
END_TEST

START_TEST(test_writer_bound)
{
	struct wbuf w;
	wbuf_init(&w, 8);
	ck_assert_int_eq(wbuf_i64(&w, 1), 0);
	ck_assert_int_eq(wbuf_u8(&w, 1), ERR_TOOBIG);
	ck_assert_int_eq(wbuf_u8(&w, 1), ERR_TOOBIG); /* sticky */
	ck_assert_uint_eq(w.len, 8);
	wbuf_reset(&w);
	ck_assert_int_eq(wbuf_i32(&w, 5), 0);
	wbuf_put_i32_at(&w, 0, 0x01020304);
	ck_assert_uint_eq(w.p[0], 1);
	ck_assert_uint_eq(w.p[3], 4);
	wbuf_free(&w);
	wbuf_free(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_be_roundtrip);
	tcase_add_test(tc, test_read_past_end_is_error);
	tcase_add_test(tc, test_varint_vectors);
	tcase_add_test(tc, test_truncated_varint);
	tcase_add_test(tc, test_strings);
	tcase_add_test(tc, test_huge_length_rejected_before_read);
	tcase_add_test(tc, test_writer_bound);
	suite_add_tcase(s, tc);
	return check_run(s);
}
