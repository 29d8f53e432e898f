/*
 * check_main — the one way every unit suite runs: fork mode (Check's default), normal output,
 * exit status = whether any test failed.
 */
#ifndef SAMSA_CHECK_MAIN_H
#define SAMSA_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

static inline int check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
