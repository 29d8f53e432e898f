/*
 * check_main — the one way every unit suite runs: fork mode (Check's default), normal output,
 * exit status = whether any test failed; and the suite's temporary directories: every test makes
 * its own with check_mkdtemp() under one root per run ($TMPDIR/samsa-unit-XXXXXX, TMPDIR
 * defaulting to /tmp), which the run
 * removes when every test passed and keeps (naming it) when one failed, so that a test that
 * fails or dies half-way leaves nothing behind but what shows why.
 */
#ifndef SAMSA_CHECK_MAIN_H
#define SAMSA_CHECK_MAIN_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

/* the run's root, set by check_run before the tests fork */
static char check_tmp_root[256];

/* Makes a new directory <root>/<prefix>-XXXXXX, its path in buf (len bytes); NULL on error. */
static inline char *check_mkdtemp(char *buf, size_t len, const char *prefix)
{
	int n = snprintf(buf, len, "%s/%s-XXXXXX", check_tmp_root[0] ? check_tmp_root : "/tmp", prefix);
	if (n < 0 || (size_t)n >= len)
		return NULL;
	return mkdtemp(buf);
}

static inline int check_run(Suite *s)
{
	const char *tmp = getenv("TMPDIR");
	int n = snprintf(check_tmp_root, sizeof(check_tmp_root), "%s/samsa-unit-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (n < 0 || (size_t)n >= sizeof(check_tmp_root) || !mkdtemp(check_tmp_root)) {
		perror("check_run: cannot make the run's temporary directory");
		return EXIT_FAILURE;
	}
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (failed) {
		fprintf(stderr, "unit test work directory kept: %s\n", check_tmp_root);
	} else {
		char cmd[sizeof(check_tmp_root) + 16];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", check_tmp_root);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", check_tmp_root);
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
