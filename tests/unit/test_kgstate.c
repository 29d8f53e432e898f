/*
 * Unit tests for kgstate, the group state machine: every one of the 25 (from, to) pairs is
 * legal exactly when Kafka's GroupState.validPreviousStates allows it; the setter logs
 * "old -> new (why)" and an illegal edge aborts (run in a forked test that must die).
 */
#include "kgstate.h"

#include "check_main.h"

#include <check.h>
#include <signal.h>
#include <string.h>

/* Kafka's validPreviousStates, written as a table (row: from, column: to). */
static const bool legal[KGSTATE_COUNT][KGSTATE_COUNT] = {
	/*                          Empty  Prep   Compl  Stable Dead */
	[KGSTATE_EMPTY] = { false, true, false, false, true },
	[KGSTATE_PREPARING_REBALANCE] = { true, false, true, false, true },
	[KGSTATE_COMPLETING_REBALANCE] = { false, true, false, true, true },
	[KGSTATE_STABLE] = { false, true, false, false, true },
	[KGSTATE_DEAD] = { false, false, false, false, true },
};

START_TEST(test_every_edge)
{
	for (int f = 0; f < KGSTATE_COUNT; f++)
		for (int t = 0; t < KGSTATE_COUNT; t++)
			ck_assert_msg(kgstate_edge_ok((enum kgstate)f, (enum kgstate)t) == legal[f][t], "%s -> %s",
				      kgstate_name((enum kgstate)f), kgstate_name((enum kgstate)t));
	ck_assert(!kgstate_edge_ok(KGSTATE_COUNT, KGSTATE_DEAD));
	ck_assert_str_eq(kgstate_name(KGSTATE_COMPLETING_REBALANCE), "CompletingRebalance");
	ck_assert_str_eq(kgstate_name(KGSTATE_PREPARING_REBALANCE), "PreparingRebalance");
	ck_assert_str_eq(kgstate_name(KGSTATE_COUNT), "?");
}
END_TEST

static char last[512];
static void keep_line(void *arg, const char *line)
{
	(void)arg;
	snprintf(last, sizeof(last), "%s", line);
}

START_TEST(test_set_logs_a_rebalance_cycle)
{
	enum kgstate s = KGSTATE_EMPTY;
	kgstate_set(&s, KGSTATE_PREPARING_REBALANCE, "g", "member m-1 joined", keep_line, NULL);
	ck_assert_str_eq(last, "group g: Empty -> PreparingRebalance (member m-1 joined)");
	kgstate_set(&s, KGSTATE_COMPLETING_REBALANCE, "g", "every member joined", keep_line, NULL);
	kgstate_set(&s, KGSTATE_STABLE, "g", "leader's assignment stored", keep_line, NULL);
	ck_assert_str_eq(last, "group g: CompletingRebalance -> Stable (leader's assignment stored)");
	kgstate_set(&s, KGSTATE_PREPARING_REBALANCE, "g", "member m-1 left", NULL, NULL);
	kgstate_set(&s, KGSTATE_EMPTY, "g", "no member rejoined", keep_line, NULL);
	kgstate_set(&s, KGSTATE_DEAD, "g", "deleted", keep_line, NULL);
	ck_assert_int_eq(s, KGSTATE_DEAD);
	ck_assert_str_eq(last, "group g: Empty -> Dead (deleted)");
}
END_TEST

START_TEST(test_illegal_edge_aborts)
{
	enum kgstate s = KGSTATE_EMPTY;
	kgstate_set(&s, KGSTATE_STABLE, "g", "a bug", NULL, NULL);
}
END_TEST

static Suite *kgstate_suite(void)
{
	Suite *s = suite_create("kgstate");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_every_edge);
	tcase_add_test(tc, test_set_logs_a_rebalance_cycle);
	tcase_add_test_raise_signal(tc, test_illegal_edge_aborts, SIGABRT);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kgstate_suite());
}
