/*
 * Unit tests for ktxnstate, the transaction state machine: every one of the 64 (from, to)
 * pairs is legal exactly when Kafka's TransactionState.validPreviousStates allows it; the
 * setter logs "old -> new (why)" (nothing for a stay, e.g. Ongoing adding partitions); an
 * illegal edge aborts (a forked test that must die); the codes are Kafka's on-disk ones.
 */
#include "ktxnstate.h"

#include "check_main.h"

#include <check.h>
#include <signal.h>
#include <string.h>

enum { E = KTXNSTATE_EMPTY, O = KTXNSTATE_ONGOING, PC = KTXNSTATE_PREPARE_COMMIT, PA = KTXNSTATE_PREPARE_ABORT,
       CC = KTXNSTATE_COMPLETE_COMMIT, CA = KTXNSTATE_COMPLETE_ABORT, D = KTXNSTATE_DEAD,
       PF = KTXNSTATE_PREPARE_EPOCH_FENCE };

/* Kafka's validPreviousStates, written as a table (row: from, column: to). */
static const bool legal[KTXNSTATE_COUNT][KTXNSTATE_COUNT] = {
	/*        E      O      PC     PA     CC     CA     D      PF */
	[E] = { true, true, false, false, false, false, true, false },
	[O] = { false, true, true, true, false, false, false, true },
	[PC] = { false, false, false, false, true, false, false, false },
	[PA] = { false, false, false, false, false, true, false, false },
	[CC] = { true, true, false, false, false, false, true, false },
	[CA] = { true, true, false, false, false, false, true, false },
	[D] = { false, false, false, false, false, false, false, false },
	[PF] = { false, false, false, true, false, false, false, false },
};

START_TEST(test_every_edge)
{
	for (int f = 0; f < KTXNSTATE_COUNT; f++)
		for (int t = 0; t < KTXNSTATE_COUNT; t++)
			ck_assert_msg(ktxnstate_edge_ok((enum ktxnstate)f, (enum ktxnstate)t) == legal[f][t], "%s -> %s",
				      ktxnstate_name((enum ktxnstate)f), ktxnstate_name((enum ktxnstate)t));
	ck_assert(!ktxnstate_edge_ok(KTXNSTATE_COUNT, KTXNSTATE_EMPTY));
	ck_assert(!ktxnstate_edge_ok(KTXNSTATE_EMPTY, KTXNSTATE_COUNT));
}
END_TEST

START_TEST(test_names_and_codes)
{
	/* the transaction_status codes Kafka writes (TransactionState.id) */
	ck_assert_int_eq(KTXNSTATE_EMPTY, 0);
	ck_assert_int_eq(KTXNSTATE_ONGOING, 1);
	ck_assert_int_eq(KTXNSTATE_PREPARE_COMMIT, 2);
	ck_assert_int_eq(KTXNSTATE_PREPARE_ABORT, 3);
	ck_assert_int_eq(KTXNSTATE_COMPLETE_COMMIT, 4);
	ck_assert_int_eq(KTXNSTATE_COMPLETE_ABORT, 5);
	ck_assert_int_eq(KTXNSTATE_DEAD, 6);
	ck_assert_int_eq(KTXNSTATE_PREPARE_EPOCH_FENCE, 7);
	ck_assert_str_eq(ktxnstate_name(KTXNSTATE_PREPARE_EPOCH_FENCE), "PrepareEpochFence");
	ck_assert_str_eq(ktxnstate_name(KTXNSTATE_COMPLETE_ABORT), "CompleteAbort");
	ck_assert_str_eq(ktxnstate_name(KTXNSTATE_COUNT), "?");
	ck_assert(ktxnstate_preparing(KTXNSTATE_PREPARE_COMMIT) && ktxnstate_preparing(KTXNSTATE_PREPARE_ABORT));
	ck_assert(!ktxnstate_preparing(KTXNSTATE_ONGOING) && !ktxnstate_preparing(KTXNSTATE_PREPARE_EPOCH_FENCE));
}
END_TEST

static char last[512];
static int lines;
static void keep_line(void *arg, const char *line)
{
	(void)arg;
	lines++;
	snprintf(last, sizeof(last), "%s", line);
}

START_TEST(test_set_logs_a_commit_and_a_fenced_abort)
{
	enum ktxnstate s = KTXNSTATE_EMPTY;
	ktxnstate_set(&s, KTXNSTATE_ONGOING, "t1", "partitions added", keep_line, NULL);
	ck_assert_str_eq(last, "transaction t1: Empty -> Ongoing (partitions added)");
	lines = 0;
	ktxnstate_set(&s, KTXNSTATE_ONGOING, "t1", "more partitions", keep_line, NULL);
	ck_assert_int_eq(lines, 0); /* a stay is not a change */
	ktxnstate_set(&s, KTXNSTATE_PREPARE_COMMIT, "t1", "EndTxn commit", keep_line, NULL);
	ktxnstate_set(&s, KTXNSTATE_COMPLETE_COMMIT, "t1", "markers written", keep_line, NULL);
	ck_assert_str_eq(last, "transaction t1: PrepareCommit -> CompleteCommit (markers written)");
	ktxnstate_set(&s, KTXNSTATE_ONGOING, "t1", "next transaction", NULL, NULL);
	ktxnstate_set(&s, KTXNSTATE_PREPARE_EPOCH_FENCE, "t1", "a new producer", keep_line, NULL);
	ktxnstate_set(&s, KTXNSTATE_PREPARE_ABORT, "t1", "epoch bumped", keep_line, NULL);
	ktxnstate_set(&s, KTXNSTATE_COMPLETE_ABORT, "t1", "markers written", keep_line, NULL);
	ktxnstate_set(&s, KTXNSTATE_EMPTY, "t1", "new producer's epoch", keep_line, NULL);
	ktxnstate_set(&s, KTXNSTATE_DEAD, "t1", "expired", keep_line, NULL);
	ck_assert_int_eq(s, KTXNSTATE_DEAD);
	ck_assert_str_eq(last, "transaction t1: Empty -> Dead (expired)");
}
END_TEST

START_TEST(test_illegal_edge_aborts)
{
	enum ktxnstate s = KTXNSTATE_EMPTY;
	ktxnstate_set(&s, KTXNSTATE_PREPARE_COMMIT, "t1", "a bug", NULL, NULL);
}
END_TEST

START_TEST(test_dead_is_final)
{
	enum ktxnstate s = KTXNSTATE_DEAD;
	ktxnstate_set(&s, KTXNSTATE_DEAD, "t1", "a bug", NULL, NULL);
}
END_TEST

static Suite *ktxnstate_suite(void)
{
	Suite *s = suite_create("ktxnstate");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_every_edge);
	tcase_add_test(tc, test_names_and_codes);
	tcase_add_test(tc, test_set_logs_a_commit_and_a_fenced_abort);
	tcase_add_test_raise_signal(tc, test_illegal_edge_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, test_dead_is_final, SIGABRT);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(ktxnstate_suite());
}
