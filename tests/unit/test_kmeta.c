/*
 * Unit tests for broker/meta: Kafka's replica placement (kassign) pinned to the assignments
 * Kafka's AdminUtils gives for a fixed start index and shift (the 5-broker table of Kafka's own
 * AdminTest, and 3 brokers RF=3 where partitions 3-5 are (0,2,1), (1,0,2), (2,1,0)), a topic
 * growing from its partition 0's leader (AdminZkClient), the spread over many shapes, refused
 * arguments; and the topic name rules (kname): length 249, legal characters, "." and "..",
 * the '.'/'_' collision.
 */
#include "err.h"
#include "kassign.h"
#include "kname.h"

#include "check_main.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

static void expect_rows(const int32_t *got, const int32_t (*want)[3], int32_t nparts, int32_t rf)
{
	for (int32_t p = 0; p < nparts; p++)
		for (int32_t r = 0; r < rf; r++)
			ck_assert_msg(got[p * rf + r] == want[p][r], "partition %d replica %d: got %d, Kafka has %d", p, r,
				      got[p * rf + r], want[p][r]);
}

START_TEST(test_assign_kafka_admin_test_table)
{
	/* Kafka's AdminTest.testReplicaAssignment: brokers 0-4, 10 partitions, RF 3, fixed start 0 */
	static const int32_t want[10][3] = { { 0, 1, 2 }, { 1, 2, 3 }, { 2, 3, 4 }, { 3, 4, 0 }, { 4, 0, 1 },
					     { 0, 2, 3 }, { 1, 3, 4 }, { 2, 4, 0 }, { 3, 0, 1 }, { 4, 1, 2 } };
	const int32_t brokers[] = { 0, 1, 2, 3, 4 };
	int32_t out[30];
	ck_assert_int_eq(kassign_replicas(brokers, 5, 10, 3, 0, 0, 0, out), 0);
	expect_rows(out, want, 10, 3);
}
END_TEST

START_TEST(test_assign_three_brokers_rf3)
{
	/* the case the broker used to get wrong: partitions 3-5 follow with the shift grown by one */
	static const int32_t want[6][3] = { { 0, 1, 2 }, { 1, 2, 0 }, { 2, 0, 1 },
					    { 0, 2, 1 }, { 1, 0, 2 }, { 2, 1, 0 } };
	const int32_t brokers[] = { 0, 1, 2 };
	int32_t out[18];
	ck_assert_int_eq(kassign_replicas(brokers, 3, 6, 3, 0, 0, 0, out), 0);
	expect_rows(out, want, 6, 3);
}
END_TEST

START_TEST(test_assign_start_and_shift_ids)
{
	/* ids that are not 0..n-1, start 1, shift 2: partition p leads on sorted[(p + 1) % 3];
	 * the follower is 1 + (2 % 2) = 1 step on, then 1 + (3 % 2) = 2 steps from partition 3 */
	static const int32_t want[4][2] = { { 20, 30 }, { 30, 10 }, { 10, 20 }, { 20, 10 } };
	int32_t brokers[] = { 30, 10, 20 };
	kassign_sort(brokers, 3);
	ck_assert_int_eq(brokers[0], 10);
	ck_assert_int_eq(brokers[2], 30);
	int32_t out[8];
	ck_assert_int_eq(kassign_replicas(brokers, 3, 4, 2, 1, 2, 0, out), 0);
	for (int32_t p = 0; p < 4; p++)
		for (int32_t r = 0; r < 2; r++)
			ck_assert_int_eq(out[p * 2 + r], want[p][r]);
}
END_TEST

START_TEST(test_assign_growth)
{
	/* AdminZkClient.createNewPartitionsAssignment: start index and shift are the position of
	 * the first broker whose id >= partition 0's first replica; the partition ids go on from
	 * the existing count and the shift starts afresh at that index */
	const int32_t brokers[] = { 0, 1, 2, 3 };
	ck_assert_int_eq(kassign_growth_start(brokers, 4, 2), 2);
	int32_t out[4];
	ck_assert_int_eq(kassign_replicas(brokers, 4, 2, 2, 2, 2, 3, out), 0);
	/* p3: first (3+2)%4 = 1, follower 1 + (2 % 3) = 3 steps on = 0; p4 (a multiple of 4: shift
	 * 3): first 2, follower 1 + (3 % 3) = 1 step on = 3 */
	ck_assert_int_eq(out[0], 1);
	ck_assert_int_eq(out[1], 0);
	ck_assert_int_eq(out[2], 2);
	ck_assert_int_eq(out[3], 3);
	/* the same partitions placed as part of the whole topic from that start agree on leaders */
	int32_t all[10];
	ck_assert_int_eq(kassign_replicas(brokers, 4, 5, 2, 2, 2, 0, all), 0);
	ck_assert_int_eq(all[6], out[0]);
	ck_assert_int_eq(all[8], out[2]);

	const int32_t gaps[] = { 1, 5, 9 };
	ck_assert_int_eq(kassign_growth_start(gaps, 3, 1), 0);
	ck_assert_int_eq(kassign_growth_start(gaps, 3, 6), 2);
	ck_assert_int_eq(kassign_growth_start(gaps, 3, 9), 2);
	ck_assert_int_eq(kassign_growth_start(gaps, 3, 10), 0); /* a broker gone: Kafka's max(0, -1) */
}
END_TEST

START_TEST(test_assign_spread_and_distinct)
{
	/* every shape up to 8 brokers: replicas of a partition distinct and among the brokers,
	 * each broker leading the same number of partitions */
	int32_t brokers[8], out[32 * 8];
	for (int32_t n = 1; n <= 8; n++) {
		for (int32_t i = 0; i < n; i++)
			brokers[i] = 100 + 3 * i;
		for (int32_t rf = 1; rf <= n; rf++)
			for (int32_t start = 0; start < n; start++)
				for (int32_t shift = 0; shift < n; shift++) {
					int32_t nparts = 4 * n, leads[8] = { 0 };
					const char *bad = NULL;
					ck_assert_int_eq(kassign_replicas(brokers, n, nparts, rf, start, shift, 0, out), 0);
					for (int32_t p = 0; p < nparts && !bad; p++) {
						for (int32_t r = 0; r < rf && !bad; r++) {
							int32_t id = out[p * rf + r];
							if (id < 100 || id >= 100 + 3 * n || (id - 100) % 3)
								bad = "not a broker";
							for (int32_t k = 0; k < r && !bad; k++)
								if (out[p * rf + k] == id)
									bad = "a repeated replica";
						}
						if (!bad)
							leads[(out[p * rf] - 100) / 3]++;
					}
					for (int32_t i = 0; i < n && !bad; i++)
						if (leads[i] != 4) /* each broker leads nparts / n */
							bad = "uneven leaders";
					ck_assert_msg(!bad, "n=%d rf=%d start=%d shift=%d: %s", n, rf, start, shift, bad);
				}
	}
}
END_TEST

START_TEST(test_assign_refused)
{
	const int32_t brokers[] = { 0, 1, 2 };
	int32_t out[16] = { 0 };
	ck_assert_int_eq(kassign_replicas(brokers, 3, 2, 4, 0, 0, 0, out), ERR_INVAL); /* rf > brokers */
	ck_assert_int_eq(kassign_replicas(brokers, 0, 2, 1, 0, 0, 0, out), ERR_INVAL);
	ck_assert_int_eq(kassign_replicas(brokers, 3, 2, 0, 0, 0, 0, out), ERR_INVAL);
	ck_assert_int_eq(kassign_replicas(brokers, 3, -1, 1, 0, 0, 0, out), ERR_INVAL);
	ck_assert_int_eq(kassign_replicas(brokers, 3, 2, 1, 3, 0, 0, out), ERR_INVAL);
	ck_assert_int_eq(kassign_replicas(brokers, 3, 2, 1, 0, -1, 0, out), ERR_INVAL);
	ck_assert_int_eq(kassign_replicas(brokers, 3, 2, 1, 0, 0, -1, out), ERR_INVAL);
	for (int i = 0; i < 16; i++)
		ck_assert_int_eq(out[i], 0);
	/* one broker, RF 1: no follower arithmetic (no division by n - 1 = 0) */
	ck_assert_int_eq(kassign_replicas(brokers, 1, 3, 1, 0, 0, 0, out), 0);
	ck_assert_int_eq(out[2], 0);
}
END_TEST

START_TEST(test_name_rules)
{
	char why[512], name[300];
	ck_assert(kname_topic_valid("orders", 6, why, sizeof(why)));
	ck_assert(kname_topic_valid("a.b_c-D9", 8, why, sizeof(why)));
	ck_assert(kname_topic_valid("...", 3, why, sizeof(why)));
	ck_assert(!kname_topic_valid("", 0, why, sizeof(why)));
	ck_assert_str_eq(why, "Topic name is illegal, it can't be empty");
	ck_assert(!kname_topic_valid(".", 1, why, sizeof(why)));
	ck_assert_str_eq(why, "Topic name cannot be \".\" or \"..\"");
	ck_assert(!kname_topic_valid("..", 2, why, sizeof(why)));
	memset(name, 'x', 249);
	name[249] = '\0';
	ck_assert(kname_topic_valid(name, 249, why, sizeof(why)));
	name[249] = 'x';
	name[250] = '\0';
	ck_assert(!kname_topic_valid(name, 250, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "can't be longer than 249 characters"));
	ck_assert(!kname_topic_valid("a b", 3, why, sizeof(why)));
	ck_assert_str_eq(why, "Topic name \"a b\" is illegal, it contains a character other than ASCII alphanumerics, "
			      "'.', '_' and '-'");
	ck_assert(!kname_topic_valid("ab\0c", 4, why, sizeof(why))); /* a NUL inside the length */
	ck_assert(!kname_topic_valid("caf\xc3\xa9", 5, why, sizeof(why)));
	ck_assert(!kname_topic_valid("a/b", 3, why, sizeof(why)));
}
END_TEST

START_TEST(test_name_collisions)
{
	ck_assert(kname_topic_collide("metric.name", "metric_name"));
	ck_assert(kname_topic_collide("a_b.c", "a.b_c"));
	ck_assert(!kname_topic_collide("metric.name", "metric.name")); /* the same topic */
	ck_assert(!kname_topic_collide("a.b", "a.c"));
	ck_assert(!kname_topic_collide("a.b", "a_bc"));
	ck_assert(!kname_topic_collide("ab", "a_b"));
	ck_assert(kname_topic_may_collide("a.b"));
	ck_assert(kname_topic_may_collide("a_b"));
	ck_assert(!kname_topic_may_collide("a-b"));
}
END_TEST

static Suite *kmeta_suite(void)
{
	Suite *s = suite_create("kmeta");
	TCase *tc = tcase_create("assign");
	tcase_add_test(tc, test_assign_kafka_admin_test_table);
	tcase_add_test(tc, test_assign_three_brokers_rf3);
	tcase_add_test(tc, test_assign_start_and_shift_ids);
	tcase_add_test(tc, test_assign_growth);
	tcase_add_test(tc, test_assign_spread_and_distinct);
	tcase_add_test(tc, test_assign_refused);
	suite_add_tcase(s, tc);
	tc = tcase_create("names");
	tcase_add_test(tc, test_name_rules);
	tcase_add_test(tc, test_name_collisions);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kmeta_suite());
}
