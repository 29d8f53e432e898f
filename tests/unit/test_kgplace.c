/*
 * Unit tests for kgplace, a group's partition of __consumer_offsets. The expected hashes and
 * partitions (of 50) were computed by OpenJDK 17 as Kafka computes them:
 *   int h = new String(bytes, StandardCharsets.UTF_8).hashCode();
 *   int p = (h == Integer.MIN_VALUE ? 0 : Math.abs(h)) % 50;     // Kafka's Utils.abs
 * (and the implementation was checked against that program over 20,000 random byte strings
 * rich in malformed UTF-8). They cover ASCII, 2-, 3- and 4-byte UTF-8 (a surrogate pair),
 * Integer.MIN_VALUE ("polygenelubricants"), and the JDK's replacement of malformed input.
 */
#include "kgplace.h"

#include "check_main.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

struct kgplace_vec {
	const char *hex;
	int32_t hash;
	int32_t part50;
};

static const struct kgplace_vec vecs[] = {
	{ "", 0, 0 },
	{ "61", 97, 47 },
	{ "68656c6c6f", 99162322, 22 },				   /* hello */
	{ "746573742d67726f7570", 627841412, 12 },		   /* test-group */
	{ "6d792d67726f7570", -1906497762, 12 },		   /* my-group: negative hash */
	{ "636f6e736f6c652d636f6e73756d65722d3132333435", 158455506, 6 }, /* console-consumer-12345 */
	{ "706f6c7967656e656c7562726963616e7473", INT32_MIN, 0 }, /* polygenelubricants */
	{ "6772c3bc707065", -1233264812, 12 },			   /* grüppe */
	{ "e7bb84", 32452, 2 },					   /* 组 */
	{ "f09f988067", 54959972, 22 },				   /* U+1F600 'g': a surrogate pair */
	/* malformed input, each as the JDK replaces it */
	{ "ff", 65533, 33 },
	{ "c0", 65533, 33 },
	{ "c2", 65533, 33 },
	{ "c241", 2031588, 38 },
	{ "e2", 65533, 33 },
	{ "e282", 65533, 33 },
	{ "e2829f41", 258946, 46 },
	{ "e0a080", 2048, 48 },
	{ "e08080", 65074269, 19 },
	{ "eda080", 65533, 33 }, /* an encoded surrogate: one replacement */
	{ "eda0", 65533, 33 },
	{ "edb080", 65533, 33 },
	{ "ed1b9f", 63043583, 33 },
	{ "f09f98", 65533, 33 },
	{ "f09f", 65533, 33 },
	{ "f09f41", 2031588, 38 },
	{ "f09f9841", 2031588, 38 },
	{ "f4908080", 2017367872, 22 },
	{ "f08f8080", 2017367872, 22 },
	{ "f4907f", 65008863, 13 },
	{ "c0f0", 2097056, 6 },
	{ "f4f0", 2097056, 6 },
	{ "edf5", 2097056, 6 },
	{ "ededed3d", 2017302400, 0 },
	{ "fff17f7f", 2015274880, 30 },
	{ "f4e10bf1", 2015336690, 40 },
};

static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = strlen(s) / 2;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(s + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	return n;
}

START_TEST(test_java_hash_and_partition)
{
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		uint8_t b[64];
		size_t n = unhex(vecs[i].hex, b);
		ck_assert_msg(kgplace_java_hash(b, n) == vecs[i].hash, "%s: hash %d, want %d", vecs[i].hex,
			      kgplace_java_hash(b, n), vecs[i].hash);
		ck_assert_msg(kgplace_partition(b, n, 50) == vecs[i].part50, "%s: partition %d, want %d", vecs[i].hex,
			      kgplace_partition(b, n, 50), vecs[i].part50);
	}
}
END_TEST

START_TEST(test_partition_counts)
{
	const uint8_t *g = (const uint8_t *)"my-group"; /* hash -1906497762 */
	ck_assert_int_eq(kgplace_partition(g, 8, 1), 0);
	ck_assert_int_eq(kgplace_partition(g, 8, 7), 1906497762 % 7);
	ck_assert_int_eq(kgplace_partition(g, 8, 3), 1906497762 % 3);
	/* Integer.MIN_VALUE maps to partition 0 whatever the count (Math.abs would give -2147483648) */
	const uint8_t *m = (const uint8_t *)"polygenelubricants";
	ck_assert_int_eq(kgplace_partition(m, 18, 7), 0);
	ck_assert_int_eq(kgplace_partition(m, 18, 3), 0);
	/* every result lies in [0, n) */
	for (int32_t n = 1; n <= 64; n++)
		for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
			uint8_t b[64];
			size_t len = unhex(vecs[i].hex, b);
			int32_t p = kgplace_partition(b, len, n);
			ck_assert(p >= 0 && p < n);
		}
}
END_TEST

static Suite *kgplace_suite(void)
{
	Suite *s = suite_create("kgplace");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_java_hash_and_partition);
	tcase_add_test(tc, test_partition_counts);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kgplace_suite());
}
