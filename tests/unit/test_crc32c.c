/*
 * Unit tests for common/crc32c: the check value, the RFC 3720 appendix B.4 vectors on both the
 * hardware and the table path, incremental use, and hardware == table == a bit-at-a-time
 * reference over random lengths and alignments.
 */
#include "crc32c.h"

#include "check_main.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The slowest possible definition, written from the polynomial, to judge both fast paths. */
static uint32_t ref_crc32c(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
	}
	return ~crc;
}

static uint64_t rng_state = 0x243f6a8885a308d3ULL;

static uint64_t rng_next(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

START_TEST(test_check_value)
{
	ck_assert_uint_eq(crc32c(0, "123456789", 9), 0xE3069283u);
	ck_assert_uint_eq(crc32c_sw(0, "123456789", 9), 0xE3069283u);
	ck_assert_uint_eq(ref_crc32c(0, (const uint8_t *)"123456789", 9), 0xE3069283u);
	ck_assert_uint_eq(crc32c(0, "", 0), 0);
	ck_assert_uint_eq(crc32c_sw(0, NULL, 0), 0);
	ck_assert_uint_eq(crc32c(0x12345678u, NULL, 0), 0x12345678u);
}
END_TEST

/* RFC 3720 (iSCSI) appendix B.4; the RFC prints the CRC bytes in wire (little-endian) order. */
START_TEST(test_rfc3720_vectors)
{
	uint8_t buf[48];
	static const uint8_t pdu[48] = {
		0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
		0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	uint32_t (*const fns[])(uint32_t, const void *, size_t) = { crc32c, crc32c_sw };
	for (size_t f = 0; f < 2; f++) {
		memset(buf, 0, 32);
		ck_assert_uint_eq(fns[f](0, buf, 32), 0x8A9136AAu);
		memset(buf, 0xff, 32);
		ck_assert_uint_eq(fns[f](0, buf, 32), 0x62A8AB43u);
		for (int i = 0; i < 32; i++)
			buf[i] = (uint8_t)i;
		ck_assert_uint_eq(fns[f](0, buf, 32), 0x46DD794Eu);
		for (int i = 0; i < 32; i++)
			buf[i] = (uint8_t)(31 - i);
		ck_assert_uint_eq(fns[f](0, buf, 32), 0x113FDB5Cu);
		ck_assert_uint_eq(fns[f](0, pdu, sizeof(pdu)), 0xD9963A56u);
	}
}
END_TEST

START_TEST(test_incremental)
{
	uint8_t data[1000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)rng_next();
	uint32_t whole = crc32c(0, data, sizeof(data));
	ck_assert_uint_eq(whole, ref_crc32c(0, data, sizeof(data)));
	for (size_t cut = 0; cut <= sizeof(data); cut += 7) {
		ck_assert_uint_eq(crc32c(crc32c(0, data, cut), data + cut, sizeof(data) - cut), whole);
		ck_assert_uint_eq(crc32c_sw(crc32c_sw(0, data, cut), data + cut, sizeof(data) - cut), whole);
		/* the two paths may be mixed mid-stream */
		ck_assert_uint_eq(crc32c_sw(crc32c(0, data, cut), data + cut, sizeof(data) - cut), whole);
	}
	/* byte by byte */
	uint32_t c = 0;
	for (size_t i = 0; i < sizeof(data); i++)
		c = crc32c(c, data + i, 1);
	ck_assert_uint_eq(c, whole);
}
END_TEST

START_TEST(test_random_hw_equals_sw)
{
	enum { MAXLEN = 4096 };
	uint8_t *data = malloc(MAXLEN + 16);
	ck_assert_ptr_nonnull(data);
	for (size_t i = 0; i < MAXLEN + 16; i++)
		data[i] = (uint8_t)rng_next();
	for (int iter = 0; iter < 2000; iter++) {
		size_t off = (size_t)(rng_next() % 16);
		size_t len = iter < 64 ? (size_t)iter : (size_t)(rng_next() % MAXLEN);
		uint32_t seed = iter & 1 ? (uint32_t)rng_next() : 0;
		uint32_t hw = crc32c(seed, data + off, len);
		uint32_t sw = crc32c_sw(seed, data + off, len);
		ck_assert_msg(hw == sw, "len %zu off %zu: hw %08x sw %08x", len, off, hw, sw);
		if (iter % 50 == 0)
			ck_assert_uint_eq(sw, ref_crc32c(seed, data + off, len));
	}
	free(data);
}
END_TEST

START_TEST(test_hw_reported)
{
	/* On x86-64 with SSE4.2 the fast path must be the instruction (this CI host has it, but do
	 * not fail where it is absent: the table path is then the one tested above). */
#if defined(__x86_64__)
	ck_assert_int_eq(crc32c_hw_available(), __builtin_cpu_supports("sse4.2") ? 1 : 0);
#else
	ck_assert_int_eq(crc32c_hw_available(), 0);
#endif
}
END_TEST

static Suite *crc32c_suite(void)
{
	Suite *s = suite_create("crc32c");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_check_value);
	tcase_add_test(tc, test_rfc3720_vectors);
	tcase_add_test(tc, test_incremental);
	tcase_add_test(tc, test_random_hw_equals_sw);
	tcase_add_test(tc, test_hw_reported);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(crc32c_suite());
}
